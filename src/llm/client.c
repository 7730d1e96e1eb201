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

/* One exchange: the reply's state (the callbacks' data) and where the answer goes. */
typedef struct chat {
  ar_llm_call c;
  const char *endpoint;
  ar_llm_reply *out;
} chat;

static void on_try(void *ud, int attempt) {
  chat *ch = ud;
  ch->out->attempts = attempt;
  ar_llm_call_start(&ch->c);
}

/* What a try came to; what the reply means is ar_llm_call_reply's (reply.c). */
static ar_http_verdict classify(void *ud, const ar_http_reply *r, ar_http_verdict v, ar_error *err) {
  chat *ch = ud;
  ar_llm_call *c = &ch->c;
  c->status = r->status;
  if (c->cb_status != AR_OK) {
    ar_fail(err, c->cb_status, "%s", c->cb_err.msg);
    return AR_HTTP_FAIL;
  }
  const int can_retry = c->emitted == 0;  /* text already shown cannot be taken back */
  if (r->timed_out && r->connect_s <= 0) {
    ar_fail(err, AR_ERR_TIMEOUT, "LLM endpoint %s: could not connect within %.1f s", ch->endpoint,
            c->p->connect_timeout_ms / 1000.0);
    return can_retry ? AR_HTTP_RETRY : AR_HTTP_FAIL;
  }
  /* The total timeout bounds the user's wait: not retried (as decided in core/http.c). */
  if (r->curl_code) return v == AR_HTTP_RETRY && can_retry ? AR_HTTP_RETRY : AR_HTTP_FAIL;
  ar_llm_try t = ar_llm_call_reply(c, ch->endpoint, ch->out, err);
  return t == AR_TRY_OK ? AR_HTTP_DONE : t == AR_TRY_RETRY ? AR_HTTP_RETRY : AR_HTTP_FAIL;
}

static ar_status chat_http(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, ar_llm_reply *out,
                           ar_error *err) {
  char *endpoint = ar_llm_endpoint(p->base_url);
  char *body = ar_llm_request_body(p, msgs, n_msgs, p->stream);
  struct curl_slist *hdr = NULL;
  ar_status st = AR_OK;
  chat ch;
  memset(&ch, 0, sizeof ch);
  ch.c.p = p;
  ch.c.stream = p->stream;
  ch.c.where = ch.endpoint = endpoint;
  ch.out = out;
  if (!endpoint || !body) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  hdr = ar_http_headers("application/json", p->stream ? "text/event-stream" : "application/json", p->api_key);
  if (!hdr) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  ar_http_req q = {.url = endpoint, .what = "LLM endpoint", .headers = hdr, .body = body,
                   .connect_timeout_ms = p->connect_timeout_ms, .timeout_ms = p->timeout_ms,
                   .max_retries = p->max_retries, .retry_base_ms = p->retry_base_ms, .retry_max_ms = p->retry_max_ms,
                   .on_try = on_try, .classify = classify, .user_data = &ch, .on_header = ar_llm_on_header,
                   .on_write = ar_llm_on_write, .cb_data = &ch.c, .retry_after = ch.c.retry_after};
  double t0 = ar_now_s();
  st = ar_http_post(&q, err);
  out->latency_ms = (ar_now_s() - t0) * 1000;
done:
  if (st != AR_OK) { ar_free(out->content); out->content = NULL; }
  curl_slist_free_all(hdr);
  ar_llm_call_free(&ch.c);
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
