/* http.c - one POST with its retries, and the retry policy and small libcurl helpers behind it, shared by
 * the LLM, embeddings and transcription clients. */
#include "core/http.h"
#include <ctype.h>
#include <strings.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void ar_http_init(void) { pthread_once(&curl_once, curl_init); }

int ar_http_retryable_status(long s) { return s == 429 || s == 408 || s >= 500; }

int ar_http_retryable_curl(int code) {
  switch ((CURLcode)code) {
  case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    return 1;
  default:
    return 0;
  }
}

void ar_http_error_detail(const char *body, size_t len, char out[240]) {
  out[0] = 0;
  if (!len) return;
  json_t *o = json_loadb(body, len, 0, NULL);
  json_t *e = json_object_get(o, "error");
  json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
  if (json_is_string(m)) snprintf(out, 240, ": %s", json_string_value(m));
  else {
    size_t k = ar_utf8_clip(body, AR_MIN(len, (size_t)200));
    snprintf(out, 240, ": %.*s%s", (int)k, body, k < len ? "..." : "");
    for (char *q = out; *q; q++) if (*q == '\n' || *q == '\r') *q = ' ';
  }
  json_decref(o);
}

double ar_http_retry_after_s(const char *v) {
  if (!v) return -1;
  while (*v == ' ' || *v == '\t') v++;
  if (!isdigit((unsigned char)*v)) return -1;  /* the HTTP-date form is not honoured: backoff instead */
  char *end;
  double s = strtod(v, &end);
  while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
  return *end ? -1 : s;
}

/* backoff jitter: a per-thread generator, no global rand() state shared with the caller */
static double jitter01(void) {
  static _Thread_local uint64_t x;
  if (!x) x = (uint64_t)(ar_now_s() * 1e9) ^ (uint64_t)(uintptr_t)&x;
  return ar_rng_unit(&x);
}

double ar_http_backoff_ms(int attempt, double retry_after_s, int base_ms, int max_ms) {
  double cap = max_ms > 0 ? max_ms : 30000;
  double wait = retry_after_s >= 0 ? retry_after_s * 1000
                                   : (base_ms > 0 ? base_ms : 0) * (double)(1u << AR_MIN(attempt - 1, 16)) *
                                         (0.5 + 0.5 * jitter01());
  return AR_MIN(wait, cap);
}

void ar_http_sleep_ms(double ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
  while (nanosleep(&ts, &ts) != 0) {}
}

int ar_http_head_line(const char *b, size_t len, long *status, int *in_headers, char *retry_after,
                      size_t retry_after_size, size_t *e_out) {
  size_t e = len;
  while (e && (b[e - 1] == '\r' || b[e - 1] == '\n')) e--;
  *e_out = e;
  if (e == 0) { *in_headers = 0; return 0; }   /* the blank line that ends a response's head */
  if (!*in_headers) {
    if (e < 5 || memcmp(b, "HTTP/", 5)) return 0;
    *in_headers = 1;
    const char *sp = memchr(b, ' ', e);
    long st = 0;
    for (const char *q = sp ? sp + 1 : b + e; q < b + e && *q >= '0' && *q <= '9' && st < 1000; q++)
      st = st * 10 + (*q - '0');
    *status = st;
    retry_after[0] = 0;
    return AR_HTTP_STATUS_LINE;
  }
  if (e > 12 && !strncasecmp(b, "retry-after:", 12)) {
    size_t k = AR_MIN(e - 12, retry_after_size - 1);
    memcpy(retry_after, b + 12, k);
    retry_after[k] = 0;
  }
  return AR_HTTP_FIELD;
}

struct curl_slist *ar_http_headers(const char *content_type, const char *accept, const char *api_key) {
  size_t n = api_key && *api_key ? strlen(api_key) + 32 : 0;
  char ct[128], ac[128], *auth = n ? ar_malloc(n) : NULL;
  if (n && !auth) return NULL;
  const char *lines[4];
  int k = 0;
  if (content_type) { snprintf(ct, sizeof ct, "Content-Type: %s", content_type); lines[k++] = ct; }
  snprintf(ac, sizeof ac, "Accept: %s", accept);
  lines[k++] = ac;
  lines[k++] = "Expect:";
  if (auth) { snprintf(auth, n, "Authorization: Bearer %s", api_key); lines[k++] = auth; }
  struct curl_slist *l = NULL;
  for (int i = 0; i < k; i++) {
    struct curl_slist *t = curl_slist_append(l, lines[i]);  /* NULL on failure, l kept */
    if (!t) { curl_slist_free_all(l); l = NULL; break; }
    l = t;
  }
  if (auth) { memset(auth, 0, n); ar_free(auth); }
  return l;
}

/* ---- ar_http_post ---- */
typedef struct xfer {
  ar_buf body;
  long status;
  int in_headers;
  char retry_after[32];
} xfer;

static size_t on_header(char *b, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  size_t e;
  ar_http_head_line(b, size * n, &x->status, &x->in_headers, x->retry_after, sizeof x->retry_after, &e);
  return size * n;
}

static size_t on_write(char *b, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  return ar_buf_append(&x->body, b, size * n) ? 0 : size * n;
}

/* The verdict before the caller's classifier, with its message in e. */
static ar_http_verdict default_verdict(const ar_http_req *q, const ar_http_reply *r, const char *errbuf, ar_error *e) {
  if (r->timed_out) {
    ar_fail(e, AR_ERR_TIMEOUT, "%s %s: no complete reply within %.1f s (timeout)", q->what, q->url,
            q->timeout_ms / 1000.0);
    return AR_HTTP_FAIL;
  }
  if (r->curl_code != CURLE_OK) {
    ar_fail(e, AR_ERR_HTTP, "%s %s: %s", q->what, q->url,
            errbuf[0] ? errbuf : curl_easy_strerror((CURLcode)r->curl_code));
    return ar_http_retryable_curl(r->curl_code) ? AR_HTTP_RETRY : AR_HTTP_FAIL;
  }
  if (r->status / 100 != 2) {
    char detail[240];
    ar_http_error_detail(r->body, r->len, detail);
    ar_fail(e, AR_ERR_HTTP, "%s %s answered HTTP %ld%s", q->what, q->url, r->status, detail);
    return ar_http_retryable_status(r->status) ? AR_HTTP_RETRY : AR_HTTP_FAIL;
  }
  return AR_HTTP_DONE;
}

ar_status ar_http_post(const ar_http_req *q, ar_error *err) {
  ar_http_init();
  CURL *h = q->curl ? q->curl : curl_easy_init();
  if (!h) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  xfer x;
  memset(&x, 0, sizeof x);
  if (q->curl) curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, q->url);
  if (q->form) curl_easy_setopt(h, CURLOPT_MIMEPOST, q->form);
  else {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->headers);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "aularag/" AR_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  /* threads: no SIGALRM for DNS timeouts */
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(q->connect_timeout_ms > 0 ? q->connect_timeout_ms : 10000));
  if (q->timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, q->on_header ? q->on_header : on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, q->on_header ? q->cb_data : (void *)&x);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, q->on_write ? q->on_write : on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, q->on_write ? q->cb_data : (void *)&x);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  const char *retry_after = q->on_header ? q->retry_after : x.retry_after;
  int max_tries = 1 + (q->max_retries > 0 ? q->max_retries : 0);
  ar_error e = {AR_OK, ""};  /* our own: the status must survive a caller's NULL err */
  ar_http_verdict v;
  for (int attempt = 1;; attempt++) {
    char errbuf[CURL_ERROR_SIZE] = "";
    x.body.n = 0;
    x.retry_after[0] = 0;
    x.in_headers = 0;
    if (q->on_try) q->on_try(q->user_data, attempt);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(h);
    ar_http_reply r = {.attempt = attempt, .curl_code = rc, .timed_out = rc == CURLE_OPERATION_TIMEDOUT,
                       .body = x.body.p ? x.body.p : "", .len = x.body.n};
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, &r.connect_s);
    double hint_s = ar_http_retry_after_s(retry_after);
    if (x.body.oom) { ar_fail(&e, AR_ERR_NOMEM, "out of memory"); v = AR_HTTP_FAIL; break; }
    e.status = AR_OK;
    e.msg[0] = 0;
    v = default_verdict(q, &r, errbuf, &e);
    if (q->classify) v = q->classify(q->user_data, &r, v, &e);
    if (v == AR_HTTP_DONE) break;
    if (v == AR_HTTP_FAIL || attempt >= max_tries) {
      if (v == AR_HTTP_RETRY) {  /* say how hard we tried */
        size_t l = strlen(e.msg);
        snprintf(e.msg + l, sizeof e.msg - l, " (gave up after %d attempts)", attempt);
      }
      break;
    }
    ar_http_sleep_ms(ar_http_backoff_ms(attempt, hint_s, q->retry_base_ms, q->retry_max_ms));
  }
  if (q->curl) curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);   /* errbuf is gone; the handle lives on */
  else curl_easy_cleanup(h);
  ar_buf_free(&x.body);
  if (v != AR_HTTP_DONE) return ar_fail(err, e.status ? e.status : AR_ERR_HTTP, "%s", e.msg);
  return AR_OK;
}
