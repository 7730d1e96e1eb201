/* charsmap.c - sentencepiece's precompiled_charsmap: a darts-clone double array over UTF-8 keys whose
 * values point into a blob of NUL-separated replacement strings (nmt_nfkc lives here). */
#include "tokenizer/tok_internal.h"

ar_status tok_charsmap_init(tok_charsmap *cm, const uint8_t *blob, size_t n, const char *what, ar_error *err) {
  memset(cm, 0, sizeof *cm);
  if (n <= 4) return ar_fail(err, AR_ERR_MODEL, "%s: precompiled_charsmap too short (%zu bytes)", what, n);
  uint32_t trie_bytes = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                        (uint32_t)blob[3] << 24;
  if (trie_bytes >= n - 4 + 1 || trie_bytes < 4 || trie_bytes % 4)
    return ar_fail(err, AR_ERR_MODEL, "%s: precompiled_charsmap trie size %u does not fit the %zu-byte blob",
                   what, trie_bytes, n);
  if ((size_t)trie_bytes + 4 > n || n - 4 - trie_bytes > UINT32_MAX - 1)
    return ar_fail(err, AR_ERR_MODEL, "%s: precompiled_charsmap is malformed", what);
  cm->n_units = trie_bytes / 4;
  cm->repl_len = (uint32_t)(n - 4 - trie_bytes);
  cm->units = ar_malloc(trie_bytes);
  cm->repl = ar_malloc((size_t)cm->repl_len + 1);
  if (!cm->units || !cm->repl) {
    tok_charsmap_free(cm);
    return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory for the charsmap", what);
  }
  for (uint32_t i = 0; i < cm->n_units; i++) {
    const uint8_t *p = blob + 4 + 4 * (size_t)i;
    cm->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  }
  memcpy(cm->repl, blob + 4 + trie_bytes, cm->repl_len);
  cm->repl[cm->repl_len] = 0;  /* a corrupt last string still ends inside the buffer */
  return AR_OK;
}

void tok_charsmap_free(tok_charsmap *cm) {
  ar_free(cm->units);
  ar_free(cm->repl);
  memset(cm, 0, sizeof *cm);
}

/* darts-clone unit accessors */
static inline uint32_t u_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static inline uint32_t u_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static inline int u_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t u_value(uint32_t u) { return u & ((1u << 31) - 1); }

int tok_charsmap_search(const tok_charsmap *cm, const uint8_t *key, size_t len, uint32_t *lens, uint32_t *vals,
                        int max) {
  const uint32_t *a = cm->units;
  uint32_t n = cm->n_units, pos = 0;
  int found = 0;
  pos ^= u_offset(a[0]);
  for (size_t i = 0; i < len; i++) {
    pos ^= key[i];
    if (pos >= n) return found;  /* corrupt array: treat as no match rather than read out of bounds */
    uint32_t u = a[pos];
    if (u_label(u) != key[i]) return found;
    pos ^= u_offset(u);
    if (pos >= n) return found;
    if (u_has_leaf(u)) {
      uint32_t v = u_value(a[pos]);
      if (v >= cm->repl_len) return found;  /* out-of-range value: corrupt, ignore */
      if (found < max) { lens[found] = (uint32_t)(i + 1); vals[found] = v; }
      found++;
      if (found >= max) return found;
    }
  }
  return found;
}
