/* lexsearch.c - exact BM25 top-k over the postings of postings.c: block-max MaxScore, documents
 * visited in ascending id, bounds used only to skip, each surviving document scored once in query
 * term order (bit-identical to scoring every matching segment); plus the per-process cache of
 * decoded postings. */
#include "index/postings.h"
#include "core/util.h"

#define BLOCK_SHIFT 7                 /* 128 postings per bound block */
/* Decoded postings kept per connection; past this, the least recently used terms are dropped
 * (between queries) down to 3/4 of it, so a hot vocabulary stays while the long tail cycles. */
#define CACHE_BYTES ((size_t)96 << 20)
static size_t cache_budget = CACHE_BYTES;

void ar_lex_test_cache_budget(size_t bytes) { cache_budget = bytes ? bytes : CACHE_BYTES; }
/* Bounds and sums are rounded differently from the canonical score: a document is skipped only
 * when its bound, inflated by far more than any rounding of <= 256 terms, is still <= the k-th
 * score, so a skipped document could not have entered. */
#define BOUND_SLACK (1 + 1e-9)

/* One term's live postings, decoded, with per-block maxima of tf and minima of dl: the block's
 * BM25 share is at most share(max tf, min dl) whatever avgdl is. */
typedef struct lterm {
  char *term;
  int len;
  ar_posting *p;
  size_t n;
  uint32_t *blk_tf, *blk_dl;
  size_t bytes;
  uint64_t last_use;     /* the cache's query counter when last used */
} lterm;

struct ar_lcache {
  int64_t data_version;
  int64_t *runs;
  int n_runs;
  lterm **slot;          /* open addressing by term */
  size_t cap, n, bytes;
  uint64_t tick;         /* queries served */
};

static void lterm_free(lterm *t) {
  if (!t) return;
  ar_free(t->term);
  ar_free(t->p);
  ar_free(t->blk_tf);
  ar_free(t->blk_dl);
  ar_free(t);
}

void ar_lex_cache_free(struct ar_lcache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->cap; i++) lterm_free(c->slot[i]);
  ar_free(c->slot);
  ar_free(c->runs);
  ar_free(c);
}

void ar_lex_invalidate(ar_index *ix) {
  ar_lex_cache_free(ix->lcache);
  ix->lcache = NULL;
}

static size_t term_hash(const char *s, int n) {
  uint64_t h = 14695981039346656037ull;
  for (int i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 29));
}

static lterm **cache_slot(struct ar_lcache *c, const char *term, int len) {
  size_t h = term_hash(term, len) & (c->cap - 1);
  for (; c->slot[h]; h = (h + 1) & (c->cap - 1))
    if (c->slot[h]->len == len && !memcmp(c->slot[h]->term, term, (size_t)len)) break;
  return &c->slot[h];
}

static int cache_grow(struct ar_lcache *c) {
  if ((c->n + 1) * 2 <= c->cap) return 0;
  size_t nc = c->cap ? c->cap * 2 : 256;
  lterm **ns = ar_calloc(nc, sizeof *ns);
  if (!ns) return -1;
  lterm **old = c->slot;
  size_t oc = c->cap;
  c->slot = ns;
  c->cap = nc;
  for (size_t i = 0; i < oc; i++)
    if (old[i]) *cache_slot(c, old[i]->term, old[i]->len) = old[i];
  ar_free(old);
  return 0;
}

static int older(const void *a, const void *b) {
  uint64_t x = (*(lterm *const *)a)->last_use, y = (*(lterm *const *)b)->last_use;
  return x < y ? -1 : x > y;
}

/* Drops the least recently used terms until the cache holds 3/4 of its budget. Only between
 * queries: a query's terms stay put while it runs. */
static void cache_trim(struct ar_lcache *c) {
  lterm **all = ar_malloc(c->n * sizeof *all + 1);
  size_t n = 0;
  for (size_t i = 0; i < c->cap; i++)
    if (c->slot[i]) { if (all) all[n++] = c->slot[i]; c->slot[i] = NULL; }
  if (!all) {  /* no memory to choose: start over */
    for (size_t i = 0; i < c->cap; i++) lterm_free(c->slot[i]);
    c->n = c->bytes = 0;
    return;
  }
  qsort(all, n, sizeof *all, older);
  size_t i = 0;
  for (; i < n && c->bytes > cache_budget / 4 * 3; i++) { c->bytes -= all[i]->bytes; lterm_free(all[i]); }
  c->n = 0;
  for (; i < n; i++) { *cache_slot(c, all[i]->term, all[i]->len) = all[i]; c->n++; }
  ar_free(all);
}

static int64_t data_version(ar_index *ix) {
  sqlite3_stmt *q = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2(ix->db, "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

static ar_status load_term(ar_index *ix, struct ar_lcache *c, const char *term, int len, lterm **out, ar_error *err) {
  lterm *t = ar_calloc(1, sizeof *t);
  if (!t || !(t->term = ar_strndup(term, (size_t)len))) { lterm_free(t); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  t->len = len;
  ar_status st = ar_lex_term_postings(ix, c->runs, c->n_runs, term, len, &t->p, &t->n, err);
  if (st) { lterm_free(t); return st; }
  size_t nb = (t->n + (1u << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
  if (nb && (!(t->blk_tf = ar_malloc(nb * sizeof *t->blk_tf)) || !(t->blk_dl = ar_malloc(nb * sizeof *t->blk_dl)))) {
    lterm_free(t);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  for (size_t b = 0; b < nb; b++) {
    uint32_t tf = 0, dl = UINT32_MAX;
    size_t end = (b + 1) << BLOCK_SHIFT;
    if (end > t->n) end = t->n;
    for (size_t i = b << BLOCK_SHIFT; i < end; i++) {
      if (t->p[i].tf > tf) tf = t->p[i].tf;
      if (t->p[i].dl < dl) dl = t->p[i].dl;
    }
    t->blk_tf[b] = tf;
    t->blk_dl[b] = dl;
  }
  size_t bytes = t->n * sizeof *t->p + nb * 8 + (size_t)len + 64;
  t->bytes = bytes;
  if (cache_grow(c)) { lterm_free(t); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  *cache_slot(c, term, len) = t;
  c->n++;
  c->bytes += bytes;
  *out = t;
  return AR_OK;
}

/* ---- the top-k ------------------------------------------------------------------------------- */

typedef struct qterm {
  const lterm *t;
  double idf;
  double ub;             /* max over blocks of the block bound */
  double *blk_ub;        /* per block bound */
  size_t pos;            /* cursor into t->p */
} qterm;

/* min-heap on (score, -id): the root is the worst kept hit */
static int worse(const ar_cand *a, const ar_cand *b) {
  return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void heap_push(ar_cand *h, size_t *n, size_t cap, ar_cand c) {
  size_t i;
  if (*n < cap) {
    i = (*n)++;
    while (i > 0 && worse(&c, &h[(i - 1) / 2])) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = c;
    return;
  }
  i = 0;  /* replace the root and sift down */
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const ar_cand *mv = &c;
    if (l < *n && worse(&h[l], mv)) { m = l; mv = &h[l]; }
    if (r < *n && worse(&h[r], mv)) { m = r; mv = &h[r]; }
    if (m == i) break;
    h[i] = h[m];
    i = m;
  }
  h[i] = c;
}

static int cmp_rank(const void *a, const void *b) {
  const ar_cand *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* first position >= pos whose id >= d (galloping, then bisection) */
static size_t seek(const ar_posting *p, size_t n, size_t pos, int64_t d) {
  if (pos >= n || p[pos].id >= d) return pos;
  size_t lo = pos, step = 1, hi = pos + 1;
  while (hi < n && p[hi].id < d) { lo = hi; step *= 2; hi = lo + step; }
  if (hi > n) hi = n;
  while (lo + 1 < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p[mid].id < d) lo = mid; else hi = mid;
  }
  return hi;
}

/* the smallest allowed id >= d, INT64_MAX when none: a scoped search jumps over the ids it may
 * not return instead of visiting them one by one */
static int64_t next_allowed(const ar_idfilter *f, int64_t d) {
  if (d < 0) d = 0;
  if (d >= f->n_bits) return INT64_MAX;
  int64_t w = d >> 6, n_words = (f->n_bits + 63) >> 6;
  uint64_t bits = f->bits[w] & (~0ull << (d & 63));
  while (!bits) {
    if (++w >= n_words) return INT64_MAX;
    bits = f->bits[w];
  }
  int64_t id = (w << 6) + __builtin_ctzll(bits);
  return id < f->n_bits ? id : INT64_MAX;
}

static int below(double bound, double theta) { return bound * BOUND_SLACK <= theta; }

static int qt_by_ub(const void *a, const void *b, void *qv) {
  const qterm *q = qv;
  double x = q[*(const int *)a].ub, y = q[*(const int *)b].ub;
  return x < y ? -1 : x > y;
}

/* Block-max MaxScore. Terms are split by their bounds into non-essential ones (together unable to
 * lift a document over the k-th score) and essential ones; candidates are the essential terms'
 * documents, and non-essential terms are only probed for them. */
static size_t topk(qterm *q, int m, double avgdl, size_t k, const ar_idfilter *filter, ar_cand *heap,
                   int *order, double *prefix, double *share) {
  for (int i = 0; i < m; i++) order[i] = i;
  qsort_r(order, (size_t)m, sizeof *order, qt_by_ub, q);
  double acc = 0;
  for (int j = 0; j < m; j++) prefix[j] = acc += q[order[j]].ub;
  size_t nh = 0;
  double theta = 0;
  int ess = 0;          /* order[0..ess) are non-essential */
  for (;;) {
    int64_t d = INT64_MAX;
    for (int j = ess; j < m; j++) {
      const qterm *t = &q[order[j]];
      if (t->pos < t->t->n && t->t->p[t->pos].id < d) d = t->t->p[t->pos].id;
    }
    if (d == INT64_MAX) break;
    if (filter) {
      int64_t a = next_allowed(filter, d);
      if (a == INT64_MAX) break;
      if (a != d) {
        for (int j = ess; j < m; j++) { qterm *t = &q[order[j]]; t->pos = seek(t->t->p, t->t->n, t->pos, a); }
        continue;
      }
    }
    double non = ess ? prefix[ess - 1] : 0;
    if (nh == k) {
      /* block-max skip: every document up to the first block end is bounded by the blocks' sum */
      double b = non;
      int64_t last = INT64_MAX;
      for (int j = ess; j < m; j++) {
        const qterm *t = &q[order[j]];
        if (t->pos >= t->t->n) continue;
        size_t blk = t->pos >> BLOCK_SHIFT, end = (blk + 1) << BLOCK_SHIFT;
        if (end > t->t->n) end = t->t->n;
        b += t->blk_ub[blk];
        if (t->t->p[end - 1].id < last) last = t->t->p[end - 1].id;
      }
      if (below(b, theta)) {
        for (int j = ess; j < m; j++) { qterm *t = &q[order[j]]; t->pos = seek(t->t->p, t->t->n, t->pos, last + 1); }
        continue;
      }
    }
    /* d is allowed (a scoped search never scores what it may not return) */
    double partial = 0;
    for (int j = ess; j < m; j++) {
      qterm *t = &q[order[j]];
      share[order[j]] = 0;
      if (t->pos < t->t->n && t->t->p[t->pos].id == d) {
        share[order[j]] = ar_lex_share(t->idf, t->t->p[t->pos].tf, ar_lex_norm(t->t->p[t->pos].dl, avgdl));
        partial += share[order[j]];
        t->pos++;
      }
    }
    int pruned = 0;
    for (int j = ess - 1; j >= 0; j--) {
      if (nh == k && below(partial + prefix[j], theta)) { pruned = 1; break; }
      qterm *t = &q[order[j]];
      t->pos = seek(t->t->p, t->t->n, t->pos, d);
      share[order[j]] = 0;
      if (t->pos < t->t->n && t->t->p[t->pos].id == d) {
        share[order[j]] = ar_lex_share(t->idf, t->t->p[t->pos].tf, ar_lex_norm(t->t->p[t->pos].dl, avgdl));
        partial += share[order[j]];
      }
    }
    if (pruned) continue;
    double score = 0;
    for (int i = 0; i < m; i++) score += share[i];  /* query-term order: the canonical sum */
    if (nh == k && !(score > theta)) continue;    /* equal score: the earlier (smaller) id stays */
    heap_push(heap, &nh, k, (ar_cand){d, score});
    if (nh == k) {
      theta = heap[0].score;
      while (ess < m && below(prefix[ess], theta)) ess++;
    }
  }
  qsort(heap, nh, sizeof *heap, cmp_rank);
  return nh;
}

ar_status ar_lex_search_terms(ar_index *ix, char **terms, const int *lens, int m, int n, const ar_idfilter *filter,
                              ar_cand **out, size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  if (n <= 0 || m <= 0) return AR_OK;
  int own_txn = sqlite3_get_autocommit(ix->db);
  /* one read snapshot: statistics, run list and postings agree while an ingest commits */
  if (own_txn && sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "lexical search");
  int64_t n_docs, n_tokens;
  ar_status st = ar_lex_stats(ix, &n_docs, &n_tokens, err);
  qterm *q = ar_calloc((size_t)m, sizeof *q);
  int *order = ar_malloc((size_t)m * sizeof *order);
  double *prefix = ar_malloc((size_t)m * sizeof *prefix), *share = ar_calloc((size_t)m, sizeof *share);
  ar_cand *heap = NULL;
  if (!st && (!q || !order || !prefix || !share)) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  if (!st) {
    int64_t dv = data_version(ix);
    if (ix->lcache && ix->lcache->data_version != dv) ar_lex_invalidate(ix);
    if (!ix->lcache) {
      if (!(ix->lcache = ar_calloc(1, sizeof *ix->lcache))) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      else {
        ix->lcache->data_version = dv;
        if ((st = ar_lex_runs(ix, &ix->lcache->runs, &ix->lcache->n_runs, err))) ar_lex_invalidate(ix);
      }
    }
  }
  /* the cache is only trimmed between queries, so the terms found or loaded below stay valid */
  if (!st && ix->lcache->bytes > cache_budget) cache_trim(ix->lcache);
  size_t total = 0;
  if (!st) ix->lcache->tick++;
  for (int i = 0; !st && i < m; i++) {
    struct ar_lcache *c = ix->lcache;
    lterm *t = c->cap ? *cache_slot(c, terms[i], lens[i]) : NULL;
    if (!t && (st = load_term(ix, c, terms[i], lens[i], &t, err))) break;
    t->last_use = c->tick;
    q[i].t = t;
    total += t->n;
  }
  if (own_txn) sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL);
  if (!st && total) {
    double avgdl = n_docs > 0 ? (double)n_tokens / (double)n_docs : 1.0;
    for (int i = 0; !st && i < m; i++) {
      qterm *t = &q[i];
      const lterm *h = t->t;
      t->idf = ar_lex_idf(n_docs, (int64_t)h->n);
      size_t nb = (h->n + (1u << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
      if (!(t->blk_ub = ar_malloc(nb * sizeof *t->blk_ub + 1))) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      for (size_t b = 0; b < nb; b++) {
        t->blk_ub[b] = ar_lex_share(t->idf, h->blk_tf[b], ar_lex_norm(h->blk_dl[b], avgdl));
        if (t->blk_ub[b] > t->ub) t->ub = t->blk_ub[b];
      }
    }
    size_t k = (size_t)n < total ? (size_t)n : total;
    if (!st && !(heap = ar_malloc(k * sizeof *heap))) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    if (!st) *n_out = topk(q, m, avgdl, k, filter, heap, order, prefix, share);
  }
  for (int i = 0; q && i < m; i++) ar_free(q[i].blk_ub);
  ar_free(q); ar_free(order); ar_free(prefix); ar_free(share);
  if (st || !*n_out) { ar_free(heap); heap = NULL; *n_out = 0; }
  *out = heap;
  return st;
}
