/* charsmap_build.h - writes a sentencepiece precompiled_charsmap (darts-clone double array + NUL-separated
 * replacements) from (key, replacement) pairs, so tests and fuzz targets can make valid charsmaps with
 * any content: a harness that only flips bytes of a real one almost never produces a valid trie. */
#ifndef AR_CHARSMAP_BUILD_H
#define AR_CHARSMAP_BUILD_H
#include <stddef.h>
#include <stdint.h>

typedef struct cm_entry {
  const uint8_t *key; size_t key_len;    /* no NUL bytes; keys distinct */
  const uint8_t *repl; size_t repl_len;  /* no NUL bytes */
} cm_entry;

/* malloc'd blob in *out (length *out_len); 0 on success, -1 on bad input or out of memory. */
int cm_build(const cm_entry *e, int n, uint8_t **out, size_t *out_len);
/* Standard base64 of n bytes, malloc'd and NUL-terminated. */
char *cm_base64(const uint8_t *p, size_t n);
#endif
