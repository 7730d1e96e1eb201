/* request.c - the OpenAI chat-completions wire format: endpoint URL, request body, cache key,
 * parsing a completion, Retry-After. */
#include "llm/llm.h"
#include <ctype.h>
#include <jansson.h>

char *ar_llm_endpoint(const char *base_url) {
  ar_buf b = {0};
  size_t n = strlen(base_url);
  while (n && base_url[n - 1] == '/') n--;
  ar_buf_append(&b, base_url, n);
  static const char route[] = "/chat/completions";
  size_t rn = sizeof route - 1;
  if (!(b.n >= rn && !strcmp(b.p + b.n - rn, route))) {
    /* "http://host:11434" and "http://host:11434/v1" both name the same API root. */
    if (!(b.n >= 3 && !strcmp(b.p + b.n - 3, "/v1"))) ar_buf_puts(&b, "/v1");
    ar_buf_puts(&b, route);
  }
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

static json_t *body_json(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs) {
  json_t *o = json_object(), *arr = json_array();
  if (!o || !arr) { json_decref(o); json_decref(arr); return NULL; }
  json_object_set_new(o, "model", json_string(p->model && *p->model ? p->model : "default"));
  for (int i = 0; i < n_msgs; i++) {
    json_t *m = json_pack("{s:s, s:s}", "role", msgs[i].role, "content", msgs[i].content ? msgs[i].content : "");
    if (!m) { json_decref(o); json_decref(arr); return NULL; }
    json_array_append_new(arr, m);
  }
  json_object_set_new(o, "messages", arr);
  json_object_set_new(o, "temperature", json_real(p->temperature));
  json_object_set_new(o, "seed", json_integer(p->seed));
  if (p->max_tokens > 0) json_object_set_new(o, "max_tokens", json_integer(p->max_tokens));
  return o;
}

char *ar_llm_request_body(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, int stream) {
  json_t *o = body_json(p, msgs, n_msgs);
  if (!o) return NULL;
  if (stream) {
    json_object_set_new(o, "stream", json_true());
    /* Ask for the usage numbers in the last chunk (OpenAI, vLLM; others ignore it). */
    json_object_set_new(o, "stream_options", json_pack("{s:b}", "include_usage", 1));
  }
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!s) return NULL;
  char *r = ar_strdup(s);
  free(s);
  return r;
}

ar_status ar_llm_cache_key(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, char key[65],
                           ar_error *err) {
  char *endpoint = ar_llm_endpoint(p->base_url ? p->base_url : "");
  json_t *o = body_json(p, msgs, n_msgs);
  if (!endpoint || !o) { ar_free(endpoint); json_decref(o); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  json_object_set_new(o, "endpoint", json_string(endpoint));
  json_object_set_new(o, "cache_format", json_integer(1));  /* bump when the cached value changes shape */
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  ar_free(endpoint);
  if (!s) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_sha256_hex(s, strlen(s), key);
  free(s);
  return AR_OK;
}

/* The first 160 bytes of a body, on one line, for error messages. */
static void snippet(const char *body, size_t len, char out[200]) {
  size_t n = ar_utf8_clip(body, AR_MIN(len, (size_t)160)), k = 0;
  for (size_t i = 0; i < n; i++) out[k++] = (body[i] == '\n' || body[i] == '\r') ? ' ' : body[i];
  if (n < len) { memcpy(out + k, "...", 3); k += 3; }
  out[k] = 0;
}

ar_status ar_llm_parse_completion(const char *body, size_t len, const char *where, ar_llm_reply *out,
                                  ar_error *err) {
  json_error_t je;
  char snip[200];
  json_t *o = json_loadb(body, len, 0, &je);
  if (!o) {
    snippet(body, len, snip);
    return ar_fail(err, AR_ERR_PARSE, "%s: reply is not valid JSON (byte %d: %s): %s", where, je.position,
                   je.text, snip);
  }
  json_t *content = json_object_get(json_array_get(json_object_get(o, "choices"), 0), "message");
  content = json_object_get(content, "content");
  if (!json_is_string(content)) {
    snippet(body, len, snip);
    json_decref(o);
    return ar_fail(err, AR_ERR_PARSE, "%s: reply has no choices[0].message.content: %s", where, snip);
  }
  char *c = ar_strndup(json_string_value(content), json_string_length(content));
  if (!c) { json_decref(o); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  ar_free(out->content);
  out->content = c;
  json_t *usage = json_object_get(o, "usage");
  json_t *pt = json_object_get(usage, "prompt_tokens"), *ct = json_object_get(usage, "completion_tokens");
  if (json_is_integer(pt)) out->prompt_tokens = (int)json_integer_value(pt);
  if (json_is_integer(ct)) out->completion_tokens = (int)json_integer_value(ct);
  json_decref(o);
  return AR_OK;
}
