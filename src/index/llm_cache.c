/* llm_cache.c - the index's cache table as the LLM client's cache interface (ar_llm_cache), so
 * llm/ calls two callbacks and depends on nothing of the index. */
#include "aularag.h"

static ar_status get(void *ctx, const char *key, char **value) {
  return ar_index_cache_get(ctx, key, value, NULL);
}

static void put(void *ctx, const char *key, const char *value) {
  ar_index_cache_put(ctx, key, value, NULL);  /* best effort: a read-only index just misses */
}

ar_llm_cache ar_index_llm_cache(ar_index *ix) {
  ar_llm_cache c = {0};
  if (ix) c = (ar_llm_cache){get, put, ix};
  return c;
}
