/* server.h - what the server's files share: daemon state, the worker pool, request helpers. */
#ifndef AR_SERVER_H
#define AR_SERVER_H
#include "core/util.h"
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

/* MHD's polling threads: they run the quick requests; long ones run on request threads (request.c). */
#define AR_SRV_POLL_THREADS 2

/* A worker: one index connection (SQLite handles are per thread), borrowed for one request. */
typedef struct ar_worker {
  ar_index *ix;
  ar_index *next;              /* a handle on a newer snapshot (reload.c), swapped in when next taken */
  struct ar_worker *next_free;
} ar_worker;

typedef struct ar_srv_cache ar_srv_cache;

/* A set of workers (index connections, not threads): a request's own thread waits for a free one. */
typedef struct ar_srv_workers {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ar_worker *workers, *free_list;
  int n;
} ar_srv_workers;

typedef struct ar_srv {
  const char *index_path;
  ar_server_params p;
  atomic_int has_vectors;      /* the index holds vectors: auto mode means hybrid with a model */
  /* Two pools, so answers waiting on an LLM for seconds never hold up searches. */
  ar_srv_workers search, answer;
  /* The queries' embedder: the caller's (p.ask.search.embedder, e.g. an embeddings server) or the
   * model_dir encoder's; both are thread-safe (the encoder keeps a state per concurrent call). */
  ar_model *model;
  ar_embedder emb;
  int has_emb;
  ar_srv_cache *cache;         /* search responses; NULL when off */
  atomic_int active;           /* requests between first callback and completion */
  atomic_int producers;        /* streaming threads and request jobs still running */
  pthread_mutex_t streams_mu;  /* guards streams */
  struct ar_srv_stream *streams; /* open event streams, for their keep-alives (stream.c) */
  atomic_long served;
  struct ar_reload *reload;    /* watches the index file for a new snapshot (reload.c) */
  /* A second route table (the annotation page, src/annotate/): when set, requests that passed the
   * body checks go to it instead of the student page's routes, and no index is opened. */
  enum MHD_Result (*route)(struct ar_srv *s, struct MHD_Connection *c, const char *url, const char *method,
                           const char *body, size_t len, int too_big);
  void *route_ctx;
  const char *banner;          /* what the "listening on" line names (default: the index and workers) */
  const struct ar_web_asset *assets;  /* the page's files; NULL: the student page's */
  size_t n_assets;
} ar_srv;

/* ---- server.c: the daemon's life for a filled ar_srv (ar_server_run and ar_annotate_run) ---- */
ar_status ar_srv_serve(ar_srv *s, volatile int *stop, ar_error *err);

/* ---- workers.c ---- */
ar_status ar_srv_workers_open(ar_srv *s, ar_error *err);
void ar_srv_workers_close(ar_srv *s);
ar_worker *ar_srv_worker_get(ar_srv_workers *p);     /* blocks until one is free */
void ar_srv_worker_put(ar_srv_workers *p, ar_worker *w);

/* ---- cache.c: search responses by (mode, k, question), dropped when the index file changes ---- */
ar_srv_cache *ar_srv_cache_new(const char *index_path, size_t cap);   /* NULL when cap is 0 */
void ar_srv_cache_free(ar_srv_cache *c);
/* A malloc'd copy of the cached JSON, or NULL; *gen is the cache generation to hand to put. */
char *ar_srv_cache_get(ar_srv_cache *c, const char *key, unsigned long *gen);
void ar_srv_cache_put(ar_srv_cache *c, const char *key, const char *json, unsigned long gen);
/* Drops every entry and bumps the generation (the workers switched to another index file). */
void ar_srv_cache_flush(ar_srv_cache *c);

/* ---- reload.c: a replaced index file (a new snapshot) is checked, then served between requests ---- */
/* Before the pools open: notes which file the index path names and how to open it (immutable when it is
 * a snapshot). */
ar_status ar_srv_reload_init(ar_srv *s, ar_error *err);
/* The open parameters of a worker's handle on the current file. */
ar_index_params ar_srv_index_params(const ar_srv *s);
/* Starts the watcher thread (after the cache exists: a switch flushes it); free joins it. */
void ar_srv_reload_start(ar_srv *s);
void ar_srv_reload_free(ar_srv *s);

/* ---- request.c: the MHD callbacks ---- */
enum MHD_Result ar_srv_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx);
void ar_srv_on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe);

/* ---- respond.c ---- */
/* Queues `body` (malloc'd, taken over; NULL means out of memory -> 503) with a content type. */
enum MHD_Result ar_srv_send(struct MHD_Connection *c, unsigned status, const char *type, char *body);
/* {"error": msg} with the given status. */
enum MHD_Result ar_srv_send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The HTTP status for a library failure (400 for bad input, 502 for the LLM, 500 otherwise). */
unsigned ar_srv_status_for(ar_status s);
void ar_srv_log(const ar_srv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ar_srv_add_common_headers(struct MHD_Response *r);

/* ---- api.c: request options shared by search, ask and stream ---- */
typedef struct ar_srv_query {
  char *question;              /* malloc'd, validated UTF-8, length-checked */
  int k;
  ar_search_mode mode;
  int use_model;               /* the request needs the embedder */
  char *course;                /* malloc'd scope, NULL = every course */
} ar_srv_query;
/* Validates q/k/mode/course (from the URL or a JSON body); on failure fills msg and returns 400/413.
 * course NULL (not given): the server's default scope; "": every course. */
unsigned ar_srv_query_make(const ar_srv *s, const char *q, const char *k, const char *mode, const char *course,
                           ar_srv_query *out, char *msg, size_t msg_size);
void ar_srv_query_free(ar_srv_query *q);
/* Search params for a query (embedder set when the query needs it). */
ar_search_params ar_srv_search_params(const ar_srv *s, const ar_srv_query *q);

/* Retrieves (a search worker, the encoder when the query needs it), calls on_results (may be NULL),
 * then answers with an answer worker. out is always filled enough for ar_answer_free. */
ar_status ar_srv_answer(ar_srv *s, const ar_srv_query *q, const ar_llm_params *llm,
                        void (*on_results)(const ar_results *r, void *user_data), void *user_data,
                        ar_answer *out, ar_error *err);

enum MHD_Result ar_srv_api_search(ar_srv *s, struct MHD_Connection *c);
enum MHD_Result ar_srv_api_ask(ar_srv *s, struct MHD_Connection *c, const char *body, size_t len);
enum MHD_Result ar_srv_api_videos(ar_srv *s, struct MHD_Connection *c);
enum MHD_Result ar_srv_api_courses(ar_srv *s, struct MHD_Connection *c);
enum MHD_Result ar_srv_api_health(ar_srv *s, struct MHD_Connection *c);

/* ---- stream.c ---- */
enum MHD_Result ar_srv_api_stream(ar_srv *s, struct MHD_Connection *c);
/* Wakes the streams whose client has heard nothing for a while, so they send a keep-alive comment
 * (a stream waiting for its producer is suspended, not polled). Called by the serving loop. */
void ar_srv_streams_tick(ar_srv *s);

/* ---- embeddings.c: POST /v1/embeddings, GET /v1/models (OpenAI-compatible; the served --model) ---- */
#define AR_SRV_EMBED_MAX_BODY ((size_t)4 << 20)   /* request bytes: 256 inputs of a few KB each */
#define AR_SRV_EMBED_MAX_INPUTS 256               /* strings per request (OpenAI allows 2048) */
/* too_big: the body went over AR_SRV_EMBED_MAX_BODY (answers 413 in OpenAI's error shape). */
enum MHD_Result ar_srv_api_embeddings(ar_srv *s, struct MHD_Connection *c, const char *body, size_t len, int too_big);
enum MHD_Result ar_srv_api_models(ar_srv *s, struct MHD_Connection *c);

/* ---- assets.c ---- */
enum MHD_Result ar_srv_static(ar_srv *s, struct MHD_Connection *c, const char *url);

/* ---- videos.c ---- */
/* {"videos":[{"video_id","title","url","segments"}...]} read from the index file. */
ar_status ar_srv_videos_json(const char *index_path, char **json, ar_error *err);
#endif
