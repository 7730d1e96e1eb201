/* cache.c - the LLM response cache (kept in the index, reached through p->cache's callbacks): a
 * repeated question costs nothing and gives the same answer. Value: {"content","prompt_tokens",
 * "completion_tokens"}. */
#include "llm/llm.h"
#include <jansson.h>

int ar_llm_cache_lookup(const ar_llm_params *p, const char *key, ar_llm_reply *out) {
  char *v = NULL;
  if (!p->cache.get || p->cache.get(p->cache.ctx, key, &v) != AR_OK || !v) { ar_free(v); return 0; }
  json_t *o = json_loads(v, 0, NULL);
  ar_free(v);
  json_t *c = json_object_get(o, "content");
  int hit = 0;
  if (json_is_string(c) && (out->content = ar_strndup(json_string_value(c), json_string_length(c)))) {
    json_t *pt = json_object_get(o, "prompt_tokens"), *ct = json_object_get(o, "completion_tokens");
    out->prompt_tokens = json_is_integer(pt) ? (int)json_integer_value(pt) : -1;
    out->completion_tokens = json_is_integer(ct) ? (int)json_integer_value(ct) : -1;
    hit = 1;
  }
  json_decref(o);
  return hit;
}

void ar_llm_cache_store(const ar_llm_params *p, const char *key, const ar_llm_reply *r) {
  json_t *o = json_pack("{s:s, s:i, s:i}", "content", r->content, "prompt_tokens", r->prompt_tokens,
                        "completion_tokens", r->completion_tokens);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (s && p->cache.put) p->cache.put(p->cache.ctx, key, s);  /* best effort: a read-only index just misses */
  free(s);
  json_decref(o);
}

