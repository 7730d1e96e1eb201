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
  AR_HTTP_DEFAULT_RETRY(&p);
  p.use_cache = 1;
  return p;
}

void ar_llm_params_from_env(ar_llm_params *p) {
  if (!p->base_url) p->base_url = ar_env("AULARAG_LLM_URL");
  if (!p->model) p->model = ar_env("AULARAG_LLM_MODEL");
  if (!p->api_key) p->api_key = ar_env("AULARAG_LLM_API_KEY");
  if (!p->api_key) p->api_key = ar_env("OPENAI_API_KEY");
}

void ar_llm_reply_free(ar_llm_reply *r) {
  if (!r) return;
  ar_free(r->content);
  r->content = NULL;
}

/* One transfer; what the reply means is ar_llm_call_reply's (reply.c). */
static ar_llm_try try_once(CURL *h, ar_llm_call *c, const char *endpoint, ar_llm_reply *out, ar_error *err,
                           double *wait_hint_s) {
  char errbuf[CURL_ERROR_SIZE] = "";
  ar_llm_call_start(c);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
  *wait_hint_s = ar_http_retry_after_s(c->retry_after);
  if (c->cb_status != AR_OK) {
    ar_fail(err, c->cb_status, "%s", c->cb_err.msg);
    return AR_TRY_FAIL;
  }
  const int can_retry = c->emitted == 0;  /* text already shown cannot be taken back */
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    double connect_s = 0;
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, &connect_s);
    if (connect_s <= 0) {
      ar_fail(err, AR_ERR_TIMEOUT, "LLM endpoint %s: could not connect within %.1f s", endpoint,
              c->p->connect_timeout_ms / 1000.0);
      return can_retry ? AR_TRY_RETRY : AR_TRY_FAIL;
    }
    /* The total timeout bounds the user's wait: not retried. */
    ar_fail(err, AR_ERR_TIMEOUT, "LLM endpoint %s: no complete reply within %.1f s (timeout)", endpoint,
            c->p->timeout_ms / 1000.0);
    return AR_TRY_FAIL;
  }
  if (rc != CURLE_OK) {
    ar_fail(err, AR_ERR_HTTP, "LLM endpoint %s: %s", endpoint, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return ar_http_retryable_curl(rc) && can_retry ? AR_TRY_RETRY : AR_TRY_FAIL;
  }
  return ar_llm_call_reply(c, endpoint, out, err);
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
  ar_llm_call c;
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
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, ar_llm_on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ar_llm_on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  double t0 = ar_now_s();
  int max_tries = 1 + (p->max_retries > 0 ? p->max_retries : 0);
  ar_error e = {AR_OK, ""};  /* our own: the status must survive a caller's NULL err */
  for (int attempt = 1;; attempt++) {
    double hint_s = -1;
    out->attempts = attempt;
    ar_llm_try r = try_once(h, &c, endpoint, out, &e, &hint_s);
    if (r == AR_TRY_OK) break;
    if (r == AR_TRY_FAIL || attempt >= max_tries) {
      if (r == AR_TRY_RETRY) {  /* say how hard we tried */
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
  ar_llm_call_free(&c);
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
  int cache = p->use_cache && p->cache.get && ar_llm_cache_key(p, msgs, n_msgs, key, NULL) == AR_OK;
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
