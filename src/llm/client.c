/* client.c - ar_llm_chat: one chat completion over libcurl, streamed or not, with timeouts,
 * retries (exponential backoff + jitter, Retry-After) and the index-backed response cache. */
#include "llm/llm.h"
#include "core/http.h"
#include <curl/curl.h>
#include <jansson.h>

ar_llm_params ar_llm_default_params(void) {
  ar_llm_params p;
  memset(&p, 0, sizeof p);
  p.temperature = 0;
  p.seed = 42;
  p.connect_timeout_ms = 10000;
  p.timeout_ms = 120000;
  p.max_retries = 4;
  p.retry_base_ms = 500;
  p.retry_max_ms = 30000;
  p.use_cache = 1;
  return p;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

void ar_llm_params_from_env(ar_llm_params *p) {
  if (!p->base_url) p->base_url = env("AULARAG_LLM_URL");
  if (!p->model) p->model = env("AULARAG_LLM_MODEL");
  if (!p->api_key) p->api_key = env("AULARAG_LLM_API_KEY");
  if (!p->api_key) p->api_key = env("OPENAI_API_KEY");
}

void ar_llm_reply_free(ar_llm_reply *r) {
  if (!r) return;
  ar_free(r->content);
  r->content = NULL;
}

/* ---- one HTTP exchange ---- */
typedef struct call {
  const ar_llm_params *p;
  int stream;            /* we asked for SSE */
  int is_sse;            /* the server answered with SSE */
  long status;
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
} call;

static size_t on_header(char *b, size_t size, size_t n, void *ud) {
  call *c = ud;
  size_t len = size * n;
  if (len >= 5 && !strncmp(b, "HTTP/", 5)) {  /* a new response (after a redirect or 100) */
    const char *sp = memchr(b, ' ', len);
    c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    c->is_sse = 0;
    c->retry_after[0] = 0;
  } else if (len > 12 && !strncasecmp(b, "content-type:", 13) && len < 200) {
    char v[200];
    memcpy(v, b, len);
    v[len] = 0;
    c->is_sse = strstr(v, "text/event-stream") != NULL;
  } else if (len > 12 && !strncasecmp(b, "retry-after:", 12)) {
    size_t k = AR_MIN(len - 12, sizeof c->retry_after - 1);
    memcpy(c->retry_after, b + 12, k);
    c->retry_after[k] = 0;
  }
  return len;
}

static void emit(const char *s, size_t n, void *ud) {
  call *c = ud;
  c->emitted += n;
  c->p->on_token(s, n, c->p->user_data);
}

static int on_event(const char *data, size_t len, void *ud) {
  call *c = ud;
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

static size_t on_write(char *b, size_t size, size_t n, void *ud) {
  call *c = ud;
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

typedef enum { TRY_OK, TRY_RETRY, TRY_FAIL } try_result;

static try_result try_once(CURL *h, call *c, const char *endpoint, ar_llm_reply *out, ar_error *err,
                           double *wait_hint_s) {
  char errbuf[CURL_ERROR_SIZE] = "";
  c->status = 0;
  c->body.n = 0;
  c->content.n = 0;
  c->done = 0;
  c->is_sse = 0;
  c->retry_after[0] = 0;
  c->cb_status = AR_OK;
  c->hold.n = 0;
  ar_sse_free(&c->sse);
  ar_sse_init(&c->sse, on_event, c);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK && c->stream && c->is_sse) ar_sse_finish(&c->sse);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
  *wait_hint_s = ar_http_retry_after_s(c->retry_after);
  if (c->cb_status != AR_OK) {
    ar_fail(err, c->cb_status, "%s", c->cb_err.msg);
    return TRY_FAIL;
  }
  const int can_retry = c->emitted == 0;  /* text already shown cannot be taken back */
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    double connect_s = 0;
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, &connect_s);
    if (connect_s <= 0) {
      ar_fail(err, AR_ERR_TIMEOUT, "LLM endpoint %s: could not connect within %.1f s", endpoint,
              c->p->connect_timeout_ms / 1000.0);
      return can_retry ? TRY_RETRY : TRY_FAIL;
    }
    /* The total timeout bounds the user's wait: not retried. */
    ar_fail(err, AR_ERR_TIMEOUT, "LLM endpoint %s: no complete reply within %.1f s (timeout)", endpoint,
            c->p->timeout_ms / 1000.0);
    return TRY_FAIL;
  }
  if (rc != CURLE_OK) {
    ar_fail(err, AR_ERR_HTTP, "LLM endpoint %s: %s", endpoint, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return ar_http_retryable_curl(rc) && can_retry ? TRY_RETRY : TRY_FAIL;
  }
  if (c->status / 100 != 2) {
    char detail[240];
    ar_http_error_detail(c->body.p, c->body.n, detail);
    ar_fail(err, AR_ERR_HTTP, "LLM endpoint %s answered HTTP %ld%s", endpoint, c->status, detail);
    return ar_http_retryable_status(c->status) ? TRY_RETRY : TRY_FAIL;
  }
  /* SSE sent without its content type (a misconfigured proxy): parse it as a stream all the same. */
  if (c->stream && !c->is_sse && c->body.n >= 5 && !strncmp(c->body.p + strspn(c->body.p, " \r\n"), "data:", 5)) {
    c->is_sse = 1;
    int frc = ar_sse_feed(&c->sse, c->body.p, c->body.n);
    if (!frc) frc = ar_sse_finish(&c->sse);
    if (c->cb_status != AR_OK) { ar_fail(err, c->cb_status, "%s", c->cb_err.msg); return TRY_FAIL; }
    if (frc) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return TRY_FAIL; }
  }
  if (c->stream && c->is_sse) {
    if (!c->done) {
      ar_fail(err, AR_ERR_HTTP, "LLM endpoint %s: the stream ended before the reply was complete (%zu bytes of "
              "text received, no [DONE])", endpoint, c->content.n);
      return can_retry ? TRY_RETRY : TRY_FAIL;
    }
    if (c->content.oom) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return TRY_FAIL; }
    ar_free(out->content);
    out->content = ar_strndup(c->content.p ? c->content.p : "", c->content.n);
    if (!out->content) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return TRY_FAIL; }
    out->prompt_tokens = c->prompt_tokens;
    out->completion_tokens = c->completion_tokens;
    if (c->hold.n && c->p->on_token) emit(c->hold.pend, c->hold.n, c);  /* invalid tail: pass it on */
    return TRY_OK;
  }
  /* Plain JSON (also when a server ignores "stream": true). */
  if (ar_llm_parse_completion(c->body.p ? c->body.p : "", c->body.n, endpoint, out, err) != AR_OK)
    return TRY_FAIL;
  if (c->stream && c->p->on_token && out->content[0]) emit(out->content, strlen(out->content), c);
  return TRY_OK;
}

static ar_status chat_http(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, ar_llm_reply *out,
                           ar_error *err) {
  ar_http_init();
  char *endpoint = ar_llm_endpoint(p->base_url);
  char *body = ar_llm_request_body(p, msgs, n_msgs, p->stream);
  char *auth = NULL;
  struct curl_slist *hdr = NULL;
  CURL *h = curl_easy_init();
  ar_status st = AR_OK;
  call c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.stream = p->stream;
  c.where = endpoint;
  if (!endpoint || !body || !h) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  hdr = curl_slist_append(hdr, p->stream ? "Accept: text/event-stream" : "Accept: application/json");
  hdr = curl_slist_append(hdr, "Expect:");
  if (p->api_key && *p->api_key) {
    size_t n = strlen(p->api_key) + 32;
    auth = ar_malloc(n);
    if (!auth) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    snprintf(auth, n, "Authorization: Bearer %s", p->api_key);
    hdr = curl_slist_append(hdr, auth);
  }
  curl_easy_setopt(h, CURLOPT_URL, endpoint);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "aularag/" AR_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  /* threads: no SIGALRM for DNS timeouts */
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->connect_timeout_ms > 0 ? p->connect_timeout_ms : 10000));
  if (p->timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  double t0 = ar_now_s();
  int max_tries = 1 + (p->max_retries > 0 ? p->max_retries : 0);
  ar_error e = {AR_OK, ""};  /* our own: the status must survive a caller's NULL err */
  for (int attempt = 1;; attempt++) {
    double hint_s = -1;
    out->attempts = attempt;
    try_result r = try_once(h, &c, endpoint, out, &e, &hint_s);
    if (r == TRY_OK) break;
    if (r == TRY_FAIL || attempt >= max_tries) {
      if (r == TRY_RETRY) {  /* say how hard we tried */
        size_t l = strlen(e.msg);
        snprintf(e.msg + l, sizeof e.msg - l, " (gave up after %d attempts)", attempt);
      }
      st = ar_fail(err, e.status, "%s", e.msg);
      break;
    }
    ar_http_sleep_ms(ar_http_backoff_ms(attempt, hint_s, p->retry_base_ms, p->retry_max_ms));
  }
  out->latency_ms = (ar_now_s() - t0) * 1000;
done:
  if (st != AR_OK) { ar_free(out->content); out->content = NULL; }
  curl_slist_free_all(hdr);
  if (auth) { memset(auth, 0, strlen(auth)); ar_free(auth); }
  if (h) curl_easy_cleanup(h);
  ar_sse_free(&c.sse);
  ar_buf_free(&c.body);
  ar_buf_free(&c.content);
  ar_free(body);
  ar_free(endpoint);
  return st;
}

ar_status ar_llm_chat(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, ar_llm_reply *out,
                      ar_error *err) {
  memset(out, 0, sizeof *out);
  out->prompt_tokens = out->completion_tokens = -1;
  if (!p || !p->base_url || !*p->base_url) return ar_fail(err, AR_ERR_INVALID, "no LLM endpoint configured");
  if (n_msgs <= 0 || !msgs) return ar_fail(err, AR_ERR_INVALID, "no messages to send to the LLM");
  char key[65];
  int cache = p->use_cache && p->cache_index && ar_llm_cache_key(p, msgs, n_msgs, key, NULL) == AR_OK;
  if (cache) {
    double t0 = ar_now_s();
    if (ar_llm_cache_lookup(p, key, out)) {
      out->cached = 1;
      out->latency_ms = (ar_now_s() - t0) * 1000;
      if (p->on_token && out->content[0]) p->on_token(out->content, strlen(out->content), p->user_data);
      return AR_OK;
    }
  }
  ar_status st = chat_http(p, msgs, n_msgs, out, err);
  if (st == AR_OK && cache) ar_llm_cache_store(p, key, out);
  return st;
}
