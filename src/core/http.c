/* http.c - retry policy and small libcurl helpers shared by the LLM and embeddings clients. */
#include "core/http.h"
#include <ctype.h>
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
