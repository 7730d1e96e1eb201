/* filter.h - which corpus ids a search may return (e.g. one course's segments). Retrievers take it
 * inside their top-k (a filtered top-k, never a post-filter of a global top-k). Internal to src/index/. */
#ifndef AR_FILTER_H
#define AR_FILTER_H
#include <stdint.h>

typedef struct ar_idfilter {
  const uint64_t *bits;  /* bit i (bits[i >> 6] >> (i & 63)) set: corpus id i is allowed */
  int64_t n_bits;        /* ids >= n_bits are not allowed */
} ar_idfilter;

/* NULL filter: every id is allowed. */
static inline int ar_idfilter_has(const ar_idfilter *f, int64_t id) {
  return !f || (id >= 0 && id < f->n_bits && ((f->bits[id >> 6] >> (id & 63)) & 1));
}
#endif
