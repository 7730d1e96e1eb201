/* stream.c - GET /api/ask/stream: Server-Sent Events (segments, answer tokens, references, done).
 * A producer thread runs the search and the answer and appends events to a buffer; MHD's reader
 * callback (on a polling thread, which must never wait) drains it, and when it is empty suspends the
 * connection until the producer resumes it with more, or the serving loop's tick for a keep-alive. */
#include "server/server.h"
#include <errno.h>
#include <jansson.h>
#include <time.h>

typedef struct ar_srv_stream stream;
struct ar_srv_stream {
  pthread_mutex_t mu;
  ar_buf out;           /* events not yet sent; bytes before `off` are sent */
  size_t off;
  int done;             /* the producer wrote its last event */
  int gone;             /* the client went away: stop producing what nobody reads */
  int refs;             /* producer + response */
  int tokens;           /* answer tokens streamed so far */
  int suspended;        /* the reader suspended the connection: the next writer resumes it */
  double last_sent;     /* when the reader last gave MHD bytes */
  struct MHD_Connection *c;
  stream *next;         /* in srv->streams while the response lives */
  ar_srv *srv;
  ar_srv_query q;
};

/* Called with st->mu held: takes the duty to resume, which the caller does once it has unlocked. */
static int take_resume(stream *st) {
  if (!st->suspended || st->gone) return 0;
  st->suspended = 0;
  return 1;
}

static void stream_unref(stream *st) {
  pthread_mutex_lock(&st->mu);
  int left = --st->refs;
  pthread_mutex_unlock(&st->mu);
  if (left) return;
  ar_buf_free(&st->out);
  ar_srv_query_free(&st->q);
  pthread_mutex_destroy(&st->mu);
  ar_free(st);
}

/* Appends "event: NAME\ndata: JSON\n\n" (JSON is one line: no newline can end the event early). */
static void emit(stream *st, const char *event, const char *json) {
  pthread_mutex_lock(&st->mu);
  if (!st->gone) ar_buf_printf(&st->out, "event: %s\ndata: %s\n\n", event, json);
  int wake = take_resume(st);
  pthread_mutex_unlock(&st->mu);
  if (wake) MHD_resume_connection(st->c);
}

static void emit_obj(stream *st, const char *event, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (s) emit(st, event, s);
  else emit(st, "error", "{\"error\":\"out of memory\"}");
  free(s);
}

static void on_token(const char *text, size_t len, void *user_data) {
  stream *st = user_data;
  st->tokens++;
  emit_obj(st, "token", json_pack("{s:s%}", "text", text, len));
}

static void fail(stream *st, ar_status s, const ar_error *err) {
  if (ar_srv_status_for(s) >= 500) ar_srv_log(st->srv, "stream failed: %s", err->msg);
  emit_obj(st, "error", json_pack("{s:s, s:i}", "error", err->msg[0] ? err->msg : ar_strerror(s), "status",
                                  (int)ar_srv_status_for(s)));
}

static void on_results(const ar_results *r, void *user_data) {
  char *json = ar_results_to_json(r, 0);
  if (json) emit(user_data, "segments", json);
  else emit(user_data, "error", "{\"error\":\"out of memory\"}");
  free(json);
}

static void *produce(void *arg) {
  stream *st = arg;
  ar_srv *s = st->srv;
  ar_error err = {0};
  ar_answer ans;
  ar_llm_params llm = s->p.ask.llm;
  llm.stream = 1;
  llm.on_token = on_token;
  llm.user_data = st;
  /* segments first (the page shows them while the LLM thinks), then tokens as they come */
  ar_status rc = ar_srv_answer(s, &st->q, &llm, on_results, st, &ans, &err);
  if (rc) {
    fail(st, rc, &err);
  } else {
    /* Extractive and cached answers arrive whole: send them as one token. */
    if (!st->tokens && ans.text) emit_obj(st, "token", json_pack("{s:s}", "text", ans.text));
    char *json = ar_answer_to_json(&ans, 0);
    json_t *full = json ? json_loads(json, 0, NULL) : NULL;
    free(json);
    json_t *refs = full ? json_object_get(full, "references") : NULL;
    json_t *kind = full ? json_object_get(full, "answer_kind") : NULL;
    emit_obj(st, "references", json_pack("{s:O?, s:O?, s:s?}", "references", refs, "answer_kind", kind, "answer",
                                         ans.text));
    json_decref(full);
  }
  ar_answer_free(&ans);
  emit(st, "done", "{}");
  pthread_mutex_lock(&st->mu);
  st->done = 1;
  int wake = take_resume(st);
  pthread_mutex_unlock(&st->mu);
  if (wake) MHD_resume_connection(st->c);
  stream_unref(st);
  atomic_fetch_sub(&s->producers, 1);
  return NULL;
}

/* Seconds of silence before a keep-alive: well within the idle timeout and proxies' read timeouts. */
static double keepalive_s(const ar_srv *s) { return AR_MAX(1, AR_MIN(5, s->p.timeout_s / 2)); }

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
  stream *st = cls;
  (void)pos;
  pthread_mutex_lock(&st->mu);
  ssize_t n;
  if (st->out.n > st->off) {
    n = (ssize_t)AR_MIN(max, st->out.n - st->off);
    memcpy(buf, st->out.p + st->off, (size_t)n);
    st->off += (size_t)n;
    if (st->off == st->out.n) st->off = st->out.n = 0;
  } else if (st->done) {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  } else if (ar_now_s() - st->last_sent >= keepalive_s(st->srv)) {
    /* a comment line keeps proxies and the idle timeout from closing a slow answer */
    static const char ka[] = ": keep-alive\n\n";
    n = (ssize_t)AR_MIN(max, sizeof ka - 1);
    memcpy(buf, ka, (size_t)n);
  } else {   /* nothing yet: sleep off the polling thread until a writer or the tick resumes us */
    st->suspended = 1;
    MHD_suspend_connection(st->c);
    n = 0;
  }
  if (n > 0) st->last_sent = ar_now_s();
  pthread_mutex_unlock(&st->mu);
  return n;
}

void ar_srv_streams_tick(ar_srv *s) {
  double now = ar_now_s();
  pthread_mutex_lock(&s->streams_mu);   /* holds every listed stream alive (see reader_free) */
  for (stream *st = s->streams; st; st = st->next) {
    pthread_mutex_lock(&st->mu);
    int wake = now - st->last_sent >= keepalive_s(s) && take_resume(st);
    pthread_mutex_unlock(&st->mu);
    if (wake) MHD_resume_connection(st->c);
  }
  pthread_mutex_unlock(&s->streams_mu);
}

static void reader_free(void *cls) {
  stream *st = cls;
  ar_srv *s = st->srv;
  pthread_mutex_lock(&s->streams_mu);
  for (stream **p = &s->streams; *p; p = &(*p)->next)
    if (*p == st) { *p = st->next; break; }
  pthread_mutex_unlock(&s->streams_mu);
  pthread_mutex_lock(&st->mu);
  st->gone = 1;
  pthread_mutex_unlock(&st->mu);
  stream_unref(st);
}

enum MHD_Result ar_srv_api_stream(ar_srv *s, struct MHD_Connection *c) {
  stream *st = ar_calloc(1, sizeof *st);
  if (!st) return ar_srv_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
  char msg[256];
  unsigned code = ar_srv_query_make(s, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q"),
                                    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k"),
                                    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mode"),
                                    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "course"), &st->q, msg,
                                    sizeof msg);
  if (code) { ar_free(st); return ar_srv_send_error(c, code, "%s", msg); }
  pthread_mutex_init(&st->mu, NULL);
  st->srv = s;
  st->c = c;
  st->last_sent = ar_now_s();
  st->refs = 2;
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, st, reader_free);
  if (!r) { st->refs = 1; stream_unref(st); return MHD_NO; }
  MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Accel-Buffering", "no");
  ar_srv_add_common_headers(r);

  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  atomic_fetch_add(&s->producers, 1);
  if (pthread_create(&t, &at, produce, st)) {
    atomic_fetch_sub(&s->producers, 1);
    pthread_attr_destroy(&at);
    MHD_destroy_response(r);   /* drops the response's reference */
    stream_unref(st);          /* and the producer's */
    return ar_srv_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot start the answer thread");
  }
  pthread_attr_destroy(&at);
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  if (ret == MHD_YES) {   /* listed for the keep-alive tick until reader_free */
    pthread_mutex_lock(&s->streams_mu);
    st->next = s->streams;
    s->streams = st;
    pthread_mutex_unlock(&s->streams_mu);
  }
  MHD_destroy_response(r);
  return ret;
}
