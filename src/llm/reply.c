/* reply.c - one LLM exchange's reply as libcurl hands it over: the header and body callbacks (status line,
 * content type, Retry-After; SSE events or a plain body), then what the reply means (ar_llm_call_reply).
 * The fuzz target tests/fuzz/fuzz_llm_reply.c drives these same functions without a network. */
#include "llm/llm.h"
#include "core/http.h"
#include <jansson.h>
#include <strings.h>

static int on_event(const char *data, size_t len, void *ud);

void ar_llm_call_start(ar_llm_call *c) {
  c->status = 0;
  c->in_headers = 0;
  c->body.n = 0;
  c->content.n = 0;
  c->done = 0;
  c->is_sse = 0;
  c->retry_after[0] = 0;
  c->cb_status = AR_OK;
  c->hold.n = 0;
  ar_sse_free(&c->sse);
  ar_sse_init(&c->sse, on_event, c);
}

void ar_llm_call_free(ar_llm_call *c) {
  ar_sse_free(&c->sse);
  ar_buf_free(&c->body);
  ar_buf_free(&c->content);
}

/* libcurl's header callback: the status line and Retry-After as core/http.c reads them; the content type
 * says whether the reply is a stream. */
size_t ar_llm_on_header(char *b, size_t size, size_t n, void *ud) {
  ar_llm_call *c = ud;
  size_t len = size * n, e;
  int k = ar_http_head_line(b, len, &c->status, &c->in_headers, c->retry_after, sizeof c->retry_after, &e);
  if (k == AR_HTTP_STATUS_LINE) c->is_sse = 0;
  else if (k == AR_HTTP_FIELD && e >= 13 && !strncasecmp(b, "content-type:", 13))
    c->is_sse = memmem(b + 13, e - 13, "text/event-stream", 17) != NULL;
  return len;
}

static void emit(const char *s, size_t n, void *ud) {
  ar_llm_call *c = ud;
  c->emitted += n;
  c->p->on_token(s, n, c->p->user_data);
}

static int on_event(const char *data, size_t len, void *ud) {
  ar_llm_call *c = ud;
  if (len == 6 && !memcmp(data, "[DONE]", 6)) { c->done = 1; return 0; }
  json_error_t je;
  json_t *o = json_loadb(data, len, 0, &je);
  if (!o) {
    c->cb_status = ar_fail(&c->cb_err, AR_ERR_PARSE, "%s: stream event is not valid JSON (byte %d: %s)",
                           c->where, je.position, je.text);
    return 1;
  }
  json_t *e = json_object_get(o, "error");
  if (e) {
    json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
    c->cb_status = ar_fail(&c->cb_err, AR_ERR_HTTP, "%s: error in the stream: %s", c->where,
                           json_is_string(m) ? json_string_value(m) : "(no message)");
    json_decref(o);
    return 1;
  }
  json_t *ch = json_array_get(json_object_get(o, "choices"), 0);
  json_t *t = json_object_get(json_object_get(ch, "delta"), "content");
  if (json_is_string(t) && json_string_length(t)) {
    const char *s = json_string_value(t);
    size_t n = json_string_length(t);
    if (ar_buf_append(&c->content, s, n)) {
      json_decref(o);
      c->cb_status = ar_fail(&c->cb_err, AR_ERR_NOMEM, "out of memory");
      return 1;
    }
    if (c->p->on_token) ar_utf8_hold_feed(&c->hold, s, n, emit, c);
  }
  json_t *fr = json_object_get(ch, "finish_reason");
  if (json_is_string(fr)) c->done = 1;
  json_t *usage = json_object_get(o, "usage");
  json_t *pt = json_object_get(usage, "prompt_tokens"), *ct = json_object_get(usage, "completion_tokens");
  if (json_is_integer(pt)) c->prompt_tokens = (int)json_integer_value(pt);
  if (json_is_integer(ct)) c->completion_tokens = (int)json_integer_value(ct);
  json_decref(o);
  return 0;
}

size_t ar_llm_on_write(char *b, size_t size, size_t n, void *ud) {
  ar_llm_call *c = ud;
  size_t len = size * n;
  if (c->stream && c->is_sse && c->status / 100 == 2) {
    int rc = ar_sse_feed(&c->sse, b, len);
    if (rc == -1 && !c->cb_status) c->cb_status = ar_fail(&c->cb_err, AR_ERR_NOMEM, "out of memory");
    return rc ? 0 : len;
  }
  if (ar_buf_append(&c->body, b, len)) {
    c->cb_status = ar_fail(&c->cb_err, AR_ERR_NOMEM, "out of memory");
    return 0;
  }
  return len;
}

ar_llm_try ar_llm_call_reply(ar_llm_call *c, const char *endpoint, ar_llm_reply *out, ar_error *err) {
  if (c->stream && c->is_sse) ar_sse_finish(&c->sse);   /* a last event without its blank line */
  if (c->cb_status != AR_OK) {
    ar_fail(err, c->cb_status, "%s", c->cb_err.msg);
    return AR_TRY_FAIL;
  }
  const int can_retry = c->emitted == 0;  /* text already shown cannot be taken back */
  if (c->status / 100 != 2) {
    char detail[240];
    ar_http_error_detail(c->body.p, c->body.n, detail);
    ar_fail(err, AR_ERR_HTTP, "LLM endpoint %s answered HTTP %ld%s", endpoint, c->status, detail);
    return ar_http_retryable_status(c->status) ? AR_TRY_RETRY : AR_TRY_FAIL;
  }
  /* SSE sent without its content type (a misconfigured proxy): parse it as a stream all the same. */
  if (c->stream && !c->is_sse && c->body.n >= 5 && !strncmp(c->body.p + strspn(c->body.p, " \r\n"), "data:", 5)) {
    c->is_sse = 1;
    int frc = ar_sse_feed(&c->sse, c->body.p, c->body.n);
    if (!frc) frc = ar_sse_finish(&c->sse);
    if (c->cb_status != AR_OK) { ar_fail(err, c->cb_status, "%s", c->cb_err.msg); return AR_TRY_FAIL; }
    if (frc) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return AR_TRY_FAIL; }
  }
  if (c->stream && c->is_sse) {
    if (!c->done) {
      ar_fail(err, AR_ERR_HTTP, "LLM endpoint %s: the stream ended before the reply was complete (%zu bytes of "
              "text received, no [DONE])", endpoint, c->content.n);
      return can_retry ? AR_TRY_RETRY : AR_TRY_FAIL;
    }
    if (c->content.oom) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return AR_TRY_FAIL; }
    ar_free(out->content);
    out->content = ar_strndup(c->content.p ? c->content.p : "", c->content.n);
    if (!out->content) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return AR_TRY_FAIL; }
    out->prompt_tokens = c->prompt_tokens;
    out->completion_tokens = c->completion_tokens;
    if (c->hold.n && c->p->on_token) emit(c->hold.pend, c->hold.n, c);  /* invalid tail: pass it on */
    return AR_TRY_OK;
  }
  /* Plain JSON (also when a server ignores "stream": true). */
  if (ar_llm_parse_completion(c->body.p ? c->body.p : "", c->body.n, endpoint, out, err) != AR_OK)
    return AR_TRY_FAIL;
  if (c->stream && c->p->on_token && out->content[0]) emit(out->content, strlen(out->content), c);
  return AR_TRY_OK;
}
