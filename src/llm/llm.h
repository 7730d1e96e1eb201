/* llm.h - internals of the LLM client shared by its files and tests: SHA-256, SSE parsing, request body. */
#ifndef AR_LLM_H
#define AR_LLM_H
#include "core/util.h"
#include <stdint.h>

/* ---- sha256.c ---- */
typedef struct ar_sha256 {
  uint32_t h[8];
  uint64_t n_bytes;
  unsigned char block[64];
  size_t fill;
} ar_sha256;
void ar_sha256_init(ar_sha256 *s);
void ar_sha256_update(ar_sha256 *s, const void *data, size_t len);
void ar_sha256_final(ar_sha256 *s, unsigned char out[32]);
/* Hex digest of data (65 bytes with the NUL). */
void ar_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- sse.c: Server-Sent Events, fed arbitrary byte pieces ---- */
/* Called once per complete event with its joined "data:" lines. Return non-zero to stop. */
typedef int (*ar_sse_event_fn)(const char *data, size_t len, void *user_data);
typedef struct ar_sse {
  ar_buf line;           /* the current, unfinished line */
  ar_buf data;           /* data lines of the current event, joined by '\n' */
  int has_data;
  int after_cr;          /* last byte was '\r': a following '\n' ends nothing */
  ar_sse_event_fn on_event;
  void *user_data;
} ar_sse;
void ar_sse_init(ar_sse *s, ar_sse_event_fn fn, void *user_data);
/* Returns 0, -1 on out of memory, or the callback's non-zero value. */
int ar_sse_feed(ar_sse *s, const char *p, size_t n);
/* End of stream: dispatches a last event that lacked its blank line. */
int ar_sse_finish(ar_sse *s);
void ar_sse_free(ar_sse *s);

/* ---- utf8 hold: passes on only whole UTF-8 sequences ---- */
typedef struct ar_utf8_hold {
  char pend[4];
  size_t n;
} ar_utf8_hold;
/* Emits the longest whole-sequence prefix of (pending + p) through fn and keeps the rest. */
void ar_utf8_hold_feed(ar_utf8_hold *h, const char *p, size_t n,
                       void (*fn)(const char *, size_t, void *), void *ud);

/* ---- request.c ---- */
/* "{base}/v1/chat/completions" whether or not base ends in "/v1" (or already names the route). */
char *ar_llm_endpoint(const char *base_url);
/* The JSON request body. stream adds "stream": true. malloc'd, NULL on OOM. */
char *ar_llm_request_body(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, int stream);
/* Cache key: SHA-256 hex of endpoint + the body without "stream" (so a streamed and a plain call
 * share the cached answer). */
ar_status ar_llm_cache_key(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, char key[65],
                           ar_error *err);
/* Parses a non-streamed completion; fills content and token counts. where: for messages. */
ar_status ar_llm_parse_completion(const char *body, size_t len, const char *where, ar_llm_reply *out,
                                  ar_error *err);

/* ---- reply.c: one exchange's reply as libcurl hands it over ---- */
typedef struct ar_llm_call {
  const ar_llm_params *p;
  int stream;            /* we asked for SSE */
  int is_sse;            /* the server answered with SSE */
  long status;
  int in_headers;        /* past a status line, before the blank line that ends the headers */
  char retry_after[32];
  ar_buf body;           /* non-SSE body (reply or error) */
  ar_sse sse;
  ar_buf content;        /* streamed text so far */
  ar_utf8_hold hold;
  int done;              /* [DONE] or a finish_reason seen */
  size_t emitted;        /* bytes handed to on_token: once > 0 a retry would repeat them */
  int prompt_tokens, completion_tokens;
  ar_status cb_status;   /* an error found inside a callback (curl only sees "write error") */
  ar_error cb_err;
  const char *where;
} ar_llm_call;
typedef enum { AR_TRY_OK, AR_TRY_RETRY, AR_TRY_FAIL } ar_llm_try;
/* Before each attempt (c zeroed once, then p, stream, where set). */
void ar_llm_call_start(ar_llm_call *c);
/* CURLOPT_HEADERFUNCTION / CURLOPT_WRITEFUNCTION with c as their data. */
size_t ar_llm_on_header(char *b, size_t size, size_t n, void *c);
size_t ar_llm_on_write(char *b, size_t size, size_t n, void *c);
/* After a transfer that completed (curl said OK): the reply in out, or the error in err and whether
 * another attempt may help. */
ar_llm_try ar_llm_call_reply(ar_llm_call *c, const char *endpoint, ar_llm_reply *out, ar_error *err);
void ar_llm_call_free(ar_llm_call *c);

/* ---- cache.c: the response cache in the index; value {"content","prompt_tokens","completion_tokens"} ---- */
/* 1 on a hit (out->content filled); errors count as a miss. */
int ar_llm_cache_lookup(const ar_llm_params *p, const char *key, ar_llm_reply *out);
/* Best effort: a read-only index just does not cache. */
void ar_llm_cache_store(const ar_llm_params *p, const char *key, const ar_llm_reply *r);
#endif
