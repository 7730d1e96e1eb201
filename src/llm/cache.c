/* cache.c - the LLM response cache kept in the index (placeholder: no-ops until the index's cache
 * table lands from wt/index; ar_llm_chat already computes the keys). */
#include "llm/llm.h"

int ar_llm_cache_lookup(const ar_llm_params *p, const char *key, ar_llm_reply *out) {
  (void)p; (void)key; (void)out;
  return 0;
}

void ar_llm_cache_store(const ar_llm_params *p, const char *key, const ar_llm_reply *r) {
  (void)p; (void)key; (void)r;
}
