/* http.h - the libcurl pieces the LLM and embeddings clients share: one-time init, which failures are
 * worth another try, an error reply's detail, and the wait between tries. */
#ifndef AR_HTTP_H
#define AR_HTTP_H
#include "core/util.h"

/* curl_global_init, once per process (safe from any thread). */
void ar_http_init(void);
/* Rate limits and server-side trouble (429, 408, 5xx) are worth another try; other statuses are not. */
int ar_http_retryable_status(long status);
/* Connection-level failures (a CURLcode) worth another try: refused, reset, nothing received. */
int ar_http_retryable_curl(int curl_code);
/* ": <error.message>" of an OpenAI-style error body, else ": <the start of the body>"; "" when empty. */
void ar_http_error_detail(const char *body, size_t len, char out[240]);
/* Seconds from a Retry-After header value (seconds form only); -1 when absent or not a number. */
double ar_http_retry_after_s(const char *value);
/* Milliseconds to wait after failed try number `attempt` (1-based): the server's Retry-After when it
 * gave one (retry_after_s >= 0), else base_ms doubling per try with jitter; capped at max_ms. */
double ar_http_backoff_ms(int attempt, double retry_after_s, int base_ms, int max_ms);
void ar_http_sleep_ms(double ms);

/* The timeouts and retry policy both clients' params start from (ar_llm_params, ar_embed_api_params
 * have these five fields): connect 10 s, 120 s a request, 4 retries waiting 0.5 s doubling, 30 s at most. */
#define AR_HTTP_DEFAULT_RETRY(p)                                                                      \
  ((p)->connect_timeout_ms = 10000, (p)->timeout_ms = 120000, (p)->max_retries = 4, (p)->retry_base_ms = 500, \
   (p)->retry_max_ms = 30000)
#endif
