/* request.c - the MHD access handler: body limits, method checks, routing, the access log, and the
 * jobs: requests that can take long (an LLM, the encoder) run on a thread of their own while their
 * connection is suspended, so MHD's few polling threads are never held for long and an idle connection
 * costs a socket and its buffer, not a thread. */
#include "server/server.h"

typedef struct req {
  ar_buf body;
  int too_big;
  size_t max_body;  /* this route's limit */
  double t0;
  char what[200];   /* "METHOD /path" for the access log */
  /* the job: the request handed to a thread, its connection suspended until the response is queued */
  int job;
  ar_srv *s;
  struct MHD_Connection *c;
  const char *url, *method;   /* MHD's, valid for the request's life */
} req;

static int is(const char *a, const char *b) { return !strcmp(a, b); }

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow) {
  char *body = ar_strdup("{\"error\": \"method not allowed\"}");
  struct MHD_Response *r = body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE) : NULL;
  if (!r) { free(body); return MHD_NO; }
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "Allow", allow);
  ar_srv_add_common_headers(r);
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result route(ar_srv *s, struct MHD_Connection *c, const char *url, const char *method, req *q) {
  int get = is(method, "GET") || is(method, "HEAD"), post = is(method, "POST");
  if (is(url, "/v1/embeddings"))   /* OpenAI-compatible (embeddings.c) */
    return post ? ar_srv_api_embeddings(s, c, q->body.p ? q->body.p : "", q->body.n, q->too_big)
                : method_not_allowed(c, "POST");
  if (is(url, "/v1/models")) return get ? ar_srv_api_models(s, c) : method_not_allowed(c, "GET, HEAD");
  if (!strncmp(url, "/api/", 5) || is(url, "/healthz")) {
    if (is(url, "/api/ask")) {
      if (!post) return method_not_allowed(c, "POST");
      if (q->too_big)
        return ar_srv_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes",
                                 s->p.max_body);
      return ar_srv_api_ask(s, c, q->body.p ? q->body.p : "", q->body.n);
    }
    /* a HEAD would start an answer nobody reads (and maybe pay for an LLM call) */
    if (is(url, "/api/ask/stream")) return is(method, "GET") ? ar_srv_api_stream(s, c) : method_not_allowed(c, "GET");
    if (!get) return method_not_allowed(c, "GET, HEAD");
    if (is(url, "/api/search")) return ar_srv_api_search(s, c);
    if (is(url, "/api/videos")) return ar_srv_api_videos(s, c);
    if (is(url, "/api/courses")) return ar_srv_api_courses(s, c);
    if (is(url, "/healthz")) return ar_srv_api_health(s, c);
    return ar_srv_send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %s", url);
  }
  if (!get) return method_not_allowed(c, "GET, HEAD");
  return ar_srv_static(s, c, url);
}

static void *run_job(void *arg) {
  req *q = arg;
  ar_srv *s = q->s;
  struct MHD_Connection *c = q->c;
  route(s, c, q->url, q->method, q);   /* queues the response (allowed while suspended), or fails */
  MHD_resume_connection(c);            /* from here on q may be freed: nothing of it is touched */
  atomic_fetch_sub(&s->producers, 1);
  return NULL;
}

/* Requests that can take long: an LLM answer, the encoder (embeddings, and searches once the server has
 * an embedder: auto mode is then hybrid). The rest (lexical searches, health, lists, the page, a stream,
 * which only starts its producer) take a millisecond or so and run on the polling thread: a job's thread
 * and suspend/resume would cost more than they do (3x the requests/s of lexical searches, measured). */
static int blocks(const ar_srv *s, const char *url) {
  return is(url, "/api/ask") || is(url, "/v1/embeddings") || (is(url, "/api/search") && s->has_emb);
}

static enum MHD_Result start_job(ar_srv *s, struct MHD_Connection *c, const char *url, const char *method, req *q) {
  q->job = 1;
  q->s = s;
  q->c = c;
  q->url = url;
  q->method = method;
  atomic_fetch_add(&s->producers, 1);   /* the drain waits for jobs as for streams */
  MHD_suspend_connection(c);
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &at, run_job, q);
  pthread_attr_destroy(&at);
  if (rc) {   /* no thread: close this connection (the handler is called again, and says no) */
    ar_srv_log(s, "cannot start a request thread: %s", strerror(rc));
    atomic_fetch_sub(&s->producers, 1);
    MHD_resume_connection(c);
  }
  return MHD_YES;
}

enum MHD_Result ar_srv_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx) {
  ar_srv *s = cls;
  req *q = *ctx;
  if (!q) { /* headers are in; the body (if any) comes in the next calls */
    q = ar_calloc(1, sizeof *q);
    if (!q) return MHD_NO;
    q->t0 = ar_now_s();
    if (s->p.verbose) { /* control bytes from a decoded URL must not forge log lines */
      snprintf(q->what, sizeof q->what, "%s %s", method, url);
      for (char *p = q->what; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    *ctx = q;
    atomic_fetch_add(&s->active, 1);
    q->max_body = is(url, "/v1/embeddings") ? AR_MAX(s->p.max_body, AR_SRV_EMBED_MAX_BODY) : s->p.max_body;
    /* Refuse an announced oversized body before reading it (no 100-continue, connection closed). */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > q->max_body) {
      q->too_big = 1;
      if (is(url, "/v1/embeddings")) return ar_srv_api_embeddings(s, c, NULL, 0, 1);
      return ar_srv_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes",
                               s->p.max_body);
    }
    return MHD_YES;
  }
  if (*upload_size) { /* chunked or announced bodies: keep at most max_body bytes */
    if (!q->too_big && q->body.n + *upload_size <= q->max_body) {
      if (ar_buf_append(&q->body, upload, *upload_size)) return MHD_NO;
    } else {
      q->too_big = 1;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  /* called again after a job only when it queued no response: close the connection */
  if (q->job) return MHD_NO;
  /* the annotation page's routes are quick (a file read, one appended line): on the polling thread */
  if (s->route) return s->route(s, c, url, method, q->body.p ? q->body.p : "", q->body.n, q->too_big);
  if (blocks(s, url)) return start_job(s, c, url, method, q);
  return route(s, c, url, method, q);
}

void ar_srv_on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe) {
  ar_srv *s = cls;
  req *q = *ctx;
  if (!q) return;
  if (s->p.verbose) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    ar_srv_log(s, "%s %u %.1f ms%s", q->what, ci ? ci->http_status : 0, (ar_now_s() - q->t0) * 1e3,
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
  }
  ar_buf_free(&q->body);
  ar_free(q);
  *ctx = NULL;
  atomic_fetch_add(&s->served, 1);
  atomic_fetch_sub(&s->active, 1);
}
