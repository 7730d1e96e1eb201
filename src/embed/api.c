/* api.c - ar_embed_api: texts -> unit vectors from an OpenAI-compatible embeddings server, in batches,
 * several requests in flight, retried with the LLM client's policy (core/http.c). */
#include "embed/embed.h"
#include "core/http.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

enum { MAX_IDLE = 16 };   /* kept-alive curl handles (each holds its connection) */

struct ar_embed_api {
  ar_embed_api_params p;
  char *model, *endpoint, *fingerprint;
  int dim;                 /* fixed at open: every reply must have it */
  struct curl_slist *hdr;  /* read-only once built, shared by all requests */
  pthread_mutex_t mu;      /* guards idle */
  CURL *idle[MAX_IDLE];
  int n_idle;
};

ar_embed_api_params ar_embed_api_default_params(void) {
  ar_embed_api_params p;
  memset(&p, 0, sizeof p);
  p.batch = 32;
  p.concurrency = 4;
  AR_HTTP_DEFAULT_RETRY(&p);
  return p;
}

void ar_embed_api_params_from_env(ar_embed_api_params *p) {
  if (!p->base_url) p->base_url = ar_env("AULARAG_EMBED_URL");
  if (!p->model) p->model = ar_env("AULARAG_EMBED_MODEL");
  if (!p->api_key) p->api_key = ar_env("AULARAG_EMBED_API_KEY");
}

/* ---- one request, retried ---- */
static CURL *handle_get(ar_embed_api *a) {
  pthread_mutex_lock(&a->mu);
  CURL *h = a->n_idle ? a->idle[--a->n_idle] : NULL;
  pthread_mutex_unlock(&a->mu);
  return h ? h : curl_easy_init();
}

static void handle_put(ar_embed_api *a, CURL *h) {
  pthread_mutex_lock(&a->mu);
  if (a->n_idle < MAX_IDLE) { a->idle[a->n_idle++] = h; h = NULL; }
  pthread_mutex_unlock(&a->mu);
  if (h) curl_easy_cleanup(h);
}

/* One batch's reply: n vectors of *dim (as for ar_embed_parse_reply) into *vec. */
typedef struct batch {
  const char *endpoint;
  int n, *dim;
  float **vec;
} batch;

static ar_http_verdict classify(void *ud, const ar_http_reply *r, ar_http_verdict v, ar_error *e) {
  batch *b = ud;
  /* Decision: unlike an answer a user waits for, an embedding batch that timed out is tried again */
  if (r->timed_out) return AR_HTTP_RETRY;
  if (v != AR_HTTP_DONE) return v;
  return ar_embed_parse_reply(r->body, r->len, b->n, b->dim, b->vec, b->endpoint, e) ? AR_HTTP_FAIL : AR_HTTP_DONE;
}

/* POSTs req for n inputs; on success *vec holds n x a->dim normalised vectors (malloc'd). *dim: as for
 * ar_embed_parse_reply. HTTP failures worth it are retried; a reply that is wrong is not. */
static ar_status post(ar_embed_api *a, const char *req, int n, int *dim, float **vec, ar_error *err) {
  *vec = NULL;
  CURL *h = handle_get(a);
  if (!h) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  batch b = {a->endpoint, n, dim, vec};
  ar_http_req q = {.url = a->endpoint, .what = "embeddings endpoint", .headers = a->hdr, .body = req, .curl = h,
                   .connect_timeout_ms = a->p.connect_timeout_ms, .timeout_ms = a->p.timeout_ms,
                   .max_retries = a->p.max_retries, .retry_base_ms = a->p.retry_base_ms,
                   .retry_max_ms = a->p.retry_max_ms, .classify = classify, .user_data = &b};
  ar_status st = ar_http_post(&q, err);
  handle_put(a, h);
  return st;
}

/* ---- a call: its batches shared out to up to `concurrency` threads ---- */
typedef struct job {
  ar_embed_api *a;
  ar_embed_kind kind;
  const char *const *texts;
  int n, n_batches;
  float *out;
  atomic_int next, failed;
  pthread_mutex_t mu;      /* guards st/err */
  ar_status st;
  int err_batch;           /* the failed batch with the smallest index gives the message */
  ar_error err;
} job;

static void *run_batches(void *arg) {
  job *j = arg;
  ar_embed_api *a = j->a;
  int bs = a->p.batch;
  for (;;) {
    int b = atomic_fetch_add(&j->next, 1);
    if (b >= j->n_batches || atomic_load(&j->failed)) break;
    int first = b * bs, cnt = AR_MIN(bs, j->n - first);
    ar_error e = {AR_OK, ""};
    ar_status st = AR_OK;
    char *req = ar_embed_request_body(a->model, j->kind, j->texts + first, cnt, a->p.base64);
    float *v = NULL;
    int dim = a->dim;
    if (!req) st = ar_fail(&e, AR_ERR_NOMEM, "out of memory");
    else st = post(a, req, cnt, &dim, &v, &e);
    ar_free(req);
    if (!st) memcpy(j->out + (size_t)first * a->dim, v, (size_t)cnt * a->dim * sizeof *v);
    ar_free(v);
    if (st) {
      pthread_mutex_lock(&j->mu);
      if (!j->st || b < j->err_batch) { j->st = st; j->err = e; j->err_batch = b; }
      pthread_mutex_unlock(&j->mu);
      atomic_store(&j->failed, 1);
    }
  }
  return NULL;
}

static ar_status api_embed(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out, ar_error *err) {
  ar_embed_api *a = ctx;
  if (n <= 0) return AR_OK;
  job j = {.a = a, .kind = kind, .texts = texts, .n = n, .n_batches = (n + a->p.batch - 1) / a->p.batch, .out = out};
  atomic_init(&j.next, 0);
  atomic_init(&j.failed, 0);
  pthread_mutex_init(&j.mu, NULL);
  int nt = AR_MIN(a->p.concurrency, j.n_batches), started = 0;
  pthread_t *th = nt > 1 ? ar_malloc((size_t)(nt - 1) * sizeof *th) : NULL;
  for (int i = 0; th && i < nt - 1; i++, started++)
    if (pthread_create(&th[i], NULL, run_batches, &j)) break;   /* fewer threads: this one does the rest */
  run_batches(&j);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  ar_free(th);
  pthread_mutex_destroy(&j.mu);
  if (j.st) return ar_fail(err, j.st, "%s", j.err.msg);
  return AR_OK;
}

/* ---- the handle ---- */
void ar_embed_api_free(ar_embed_api *a) {
  if (!a) return;
  for (int i = 0; i < a->n_idle; i++) curl_easy_cleanup(a->idle[i]);
  curl_slist_free_all(a->hdr);
  pthread_mutex_destroy(&a->mu);
  ar_free(a->model);
  ar_free(a->endpoint);
  ar_free(a->fingerprint);
  ar_free(a);
}

ar_status ar_embed_api_open(const ar_embed_api_params *params, ar_embed_api **out, ar_error *err) {
  *out = NULL;
  ar_embed_api_params d = ar_embed_api_default_params();
  const ar_embed_api_params *p = params ? params : &d;
  if (!p->base_url || !*p->base_url) return ar_fail(err, AR_ERR_INVALID, "no embeddings endpoint given");
  if (!p->model || !*p->model)
    return ar_fail(err, AR_ERR_INVALID, "no embeddings model given for %s (the index records vectors by model name)",
                   p->base_url);
  if (p->dim < 0 || p->batch < 1 || p->concurrency < 1)
    return ar_fail(err, AR_ERR_INVALID, "embeddings: dim must be >= 0, batch and concurrency >= 1");
  ar_http_init();
  ar_embed_api *a = ar_calloc(1, sizeof *a);
  if (!a) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&a->mu, NULL);
  a->p = *p;
  a->p.base_url = a->p.model = a->p.api_key = NULL;   /* the copies below are what the handle keeps */
  a->dim = p->dim;
  a->model = ar_strdup(p->model);
  a->endpoint = ar_embed_endpoint(p->base_url);
  size_t fl = strlen(p->model) + 5;
  a->fingerprint = ar_malloc(fl);
  if (a->fingerprint) snprintf(a->fingerprint, fl, "api:%s", p->model);
  a->hdr = ar_http_headers("application/json", "application/json", p->api_key);
  if (!a->model || !a->endpoint || !a->fingerprint || !a->hdr) {
    ar_embed_api_free(a);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  if (!a->dim) {   /* the first reply fixes the dimension for the handle's whole life */
    const char *probe = "aularag";
    int dim = 0;
    float *v = NULL;
    char *req = ar_embed_request_body(a->model, AR_EMBED_QUERY, &probe, 1, a->p.base64);
    ar_status st = req ? post(a, req, 1, &dim, &v, err) : ar_fail(err, AR_ERR_NOMEM, "out of memory");
    ar_free(req);
    ar_free(v);
    if (st) { ar_embed_api_free(a); return st; }
    a->dim = dim;
  }
  *out = a;
  return AR_OK;
}

ar_embedder ar_embed_api_embedder(ar_embed_api *a) {
  return (ar_embedder){.fingerprint = a->fingerprint, .dim = a->dim, .embed = api_embed, .count_tokens = NULL,
                       .max_tokens = 0, .ctx = a};
}
