/* http.h - the libcurl pieces the LLM, embeddings and transcription clients share: one POST with its
 * retries (ar_http_post), and the parts it is made of: one-time init, which failures are worth another
 * try, an error reply's detail, a response's head, and the wait between tries. */
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

/* One line of a response's head as libcurl's header callback hands it over (b: len bytes, not
 * NUL-terminated). Keeps *status and retry_after (cleared) from each response's status line (again after
 * a redirect or a 100 Continue), and Retry-After; *in_headers: past a status line, before the blank line
 * that ends the head (a field that merely starts with "HTTP/" is no status line). Returns
 * AR_HTTP_STATUS_LINE, or AR_HTTP_FIELD for a field of the head (*e: its length without CR LF, for the
 * caller's own fields), else 0. */
enum { AR_HTTP_STATUS_LINE = 1, AR_HTTP_FIELD = 2 };
int ar_http_head_line(const char *b, size_t len, long *status, int *in_headers, char *retry_after,
                      size_t retry_after_size, size_t *e);

/* The request headers the clients send: Content-Type when given, Accept, no "Expect: 100-continue" round
 * trip, and "Authorization: Bearer <api_key>" when a key is given (our own copy of that line is wiped).
 * NULL when out of memory; free with curl_slist_free_all. */
struct curl_slist *ar_http_headers(const char *content_type, const char *accept, const char *api_key);

/* ---- ar_http_post: one POST, retried ---- */
typedef enum { AR_HTTP_DONE, AR_HTTP_RETRY, AR_HTTP_FAIL } ar_http_verdict;

/* What one try came to, for the caller's classifier. */
typedef struct ar_http_reply {
  int attempt;            /* 1-based */
  int curl_code;          /* CURLcode: 0 when the transfer completed */
  int timed_out;          /* curl_code is CURLE_OPERATION_TIMEDOUT */
  long status;            /* HTTP status (0: none) */
  double connect_s;       /* time to connect; 0 when it never did */
  const char *body;       /* the body ("" when empty; empty when the caller's on_write took it) */
  size_t len;
} ar_http_reply;

typedef struct ar_http_req {
  const char *url;
  const char *what;       /* names the server in messages: "<what> <url>: ..." ("LLM endpoint") */
  struct curl_slist *headers;
  const char *body;       /* POST fields (strlen bytes), or */
  struct curl_mime *form; /* a multipart form */
  void *curl;             /* a caller-owned CURL handle to reuse (reset here), or NULL: one for this call */
  int connect_timeout_ms, timeout_ms;   /* <= 0: 10 s to connect, no total limit */
  int max_retries, retry_base_ms, retry_max_ms;
  /* Optional, called before each try (attempt is 1-based). */
  void (*on_try)(void *user_data, int attempt);
  /* Optional: the verdict on a try. verdict and err arrive as decided here: a total timeout fails
   * ("no complete reply within N s (timeout)"), connection errors and HTTP statuses are retried when
   * ar_http_retryable_curl/status say so ("answered HTTP N: detail"), a 2xx is done. The classifier may
   * keep them or return its own (with its message in err): it parses a 2xx body, for one. */
  ar_http_verdict (*classify)(void *user_data, const ar_http_reply *r, ar_http_verdict verdict, ar_error *err);
  void *user_data;
  /* Optional: the caller's own libcurl header and body callbacks (with cb_data), for a streamed reply;
   * retry_after then names where its header callback keeps the Retry-After value. Without them the
   * body is collected for the classifier and Retry-After read here. */
  size_t (*on_header)(char *b, size_t size, size_t n, void *cb_data);
  size_t (*on_write)(char *b, size_t size, size_t n, void *cb_data);
  void *cb_data;
  const char *retry_after;
} ar_http_req;

/* POSTs and retries, waiting ar_http_backoff_ms between tries, until the verdict is done or fail or the
 * retries run out (then the message ends "(gave up after N attempts)"). Sets the user agent, no
 * signals, the timeouts and any content encoding. AR_OK when done; else the last try's error. */
ar_status ar_http_post(const ar_http_req *req, ar_error *err);

/* The timeouts and retry policy both clients' params start from (ar_llm_params, ar_embed_api_params
 * have these five fields): connect 10 s, 120 s a request, 4 retries waiting 0.5 s doubling, 30 s at most. */
#define AR_HTTP_DEFAULT_RETRY(p)                                                                      \
  ((p)->connect_timeout_ms = 10000, (p)->timeout_ms = 120000, (p)->max_retries = 4, (p)->retry_base_ms = 500, \
   (p)->retry_max_ms = 30000)
#endif
