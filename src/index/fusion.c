/* fusion.c - reciprocal rank fusion of ranked id lists (Cormack et al. 2009): sum of 1/(k + rank). */
#include "index/dense.h"
#include "core/util.h"

typedef struct entry { int64_t id; int list, rank; } entry;

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  if (x->list != y->list) return x->list - y->list;
  return x->rank - y->rank;
}

static int best_rank(const ar_fused *f) {
  int b = 0;
  for (int i = 0; i < AR_RRF_MAX_LISTS; i++)
    if (f->rank[i] && (!b || f->rank[i] < b)) b = f->rank[i];
  return b;
}

static int cmp_fused(const void *a, const void *b) {
  const ar_fused *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  int bx = best_rank(x), by = best_rank(y);
  if (bx != by) return bx < by ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

ar_status ar_rrf_fuse(const int64_t *const *lists, const size_t *lens, int n_lists, int rrf_k, ar_fused **out,
                      size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  if (n_lists < 0 || n_lists > AR_RRF_MAX_LISTS)
    return ar_fail(err, AR_ERR_INVALID, "fusion: %d lists (at most %d)", n_lists, AR_RRF_MAX_LISTS);
  if (rrf_k < 0) return ar_fail(err, AR_ERR_INVALID, "fusion: rrf_k must be >= 0, not %d", rrf_k);
  size_t total = 0;
  for (int l = 0; l < n_lists; l++) total += lens[l];
  entry *e = ar_malloc((total ? total : 1) * sizeof *e);
  ar_fused *f = ar_calloc(total ? total : 1, sizeof *f);
  if (!e || !f) {
    ar_free(e); ar_free(f);
    return ar_fail(err, AR_ERR_NOMEM, "fusion: out of memory");
  }
  size_t n = 0;
  for (int l = 0; l < n_lists; l++)
    for (size_t r = 0; r < lens[l]; r++) e[n++] = (entry){lists[l][r], l, (int)r + 1};
  qsort(e, n, sizeof *e, cmp_entry);
  size_t nf = 0;
  for (size_t i = 0; i < n;) {  /* one run of equal ids -> one fused item */
    ar_fused *o = &f[nf++];
    o->id = e[i].id;
    for (; i < n && e[i].id == o->id; i++)
      if (!o->rank[e[i].list]) o->rank[e[i].list] = e[i].rank;   /* sorted: first is the best rank */
    /* summed in list order so the same inputs always give the same bits */
    for (int l = 0; l < n_lists; l++)
      if (o->rank[l]) o->score += 1.0 / (double)(rrf_k + o->rank[l]);
  }
  ar_free(e);
  qsort(f, nf, sizeof *f, cmp_fused);
  *out = f;
  *n_out = nf;
  return AR_OK;
}
