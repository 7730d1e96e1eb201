/* postings.h - aularag's own BM25 postings in the index file (src/index/postings.c) and the exact
 * top-k that reads them (src/index/lexsearch.c). Internal to src/index/.
 *
 * Layout, LSM style: each write transaction adds one *run* (lex_runs row) holding the postings of
 * the segments it inserted and *tombstones* for the segments it deleted; runs of one level are
 * merged into one run of the next level when AR_LEX_FANOUT of them exist, inside the transaction
 * that made the last one. Levels are ordered by age (a higher level holds older segments; within a
 * level, a smaller run id is older), and ids grow with age, so reading runs in that order yields
 * ascending corpus ids. A run is stored as pages (lex_pages rows keyed by the page's first term),
 * each a sequence of (term, list) in term order; a list is
 *   varint n_pos, varint n_neg, n_pos x (varint id delta, varint tf, varint dl), n_neg x varint id delta
 * where dl is the segment's length in analysed terms (what FTS5 counted). lex_stats holds the live
 * segment count and their total length. A tombstone cancels its segment's posting in an older run:
 * the live postings of a term are its positives minus its negatives over all runs. */
#ifndef AR_POSTINGS_H
#define AR_POSTINGS_H
#include "index/index.h"
#include <math.h>

#define AR_LEX_FANOUT 8

/* One posting, decoded. */
typedef struct ar_posting {
  int64_t id;
  uint32_t tf, dl;
} ar_posting;

/* Creates the lex_* tables and the stats row (inside the caller's transaction). */
ar_status ar_lex_create(ar_index *ix, ar_error *err);

/* The postings changes of one write transaction. */
typedef struct ar_lex_batch ar_lex_batch;
ar_lex_batch *ar_lex_batch_new(void);
void ar_lex_batch_free(ar_lex_batch *b);
/* Analyses `text` (segment `id`) with the index's analysis: deleted = 0 adds its postings, 1 adds
 * tombstones for them (the segment is being deleted). */
ar_status ar_lex_batch_add(ar_index *ix, ar_lex_batch *b, int64_t id, const char *text, int deleted, ar_error *err);
/* Writes the batch as a new run, updates lex_stats, runs the merges it triggers. Inside the
 * caller's transaction; the batch is emptied. */
ar_status ar_lex_batch_write(ar_index *ix, ar_lex_batch *b, ar_error *err);

/* Drops every run and rebuilds them from segments (schema upgrade, analysis change). Inside the
 * caller's transaction. */
ar_status ar_lex_rebuild(ar_index *ix, ar_error *err);

/* `info --check`: recomputes every term's live postings and the statistics from the segments' text
 * and compares them with the runs; the first difference is named in err. */
ar_status ar_lex_check(ar_index *ix, ar_error *err);

/* Reading (postings.c): live statistics, and one term's live postings (ascending ids) over all
 * runs listed in `runs` (ids in age order, from ar_lex_runs). *out malloc'd. */
ar_status ar_lex_stats(ar_index *ix, int64_t *n_docs, int64_t *n_tokens, ar_error *err);
ar_status ar_lex_runs(ar_index *ix, int64_t **runs, int *n_runs, ar_error *err);
ar_status ar_lex_term_postings(ar_index *ix, const int64_t *runs, int n_runs, const char *term, int len,
                               ar_posting **out, size_t *n_out, ar_error *err);

/* The exact top-n for m distinct query terms (in query order: the order scores are summed in).
 * *out malloc'd, best first, ties by smaller id; NULL when nothing matched. */
ar_status ar_lex_search_terms(ar_index *ix, char **terms, const int *lens, int m, int n, const ar_idfilter *filter,
                              ar_cand **out, size_t *n_out, ar_error *err);

/* Per-process cache of decoded postings (lexsearch.c), dropped when the index changes. */
void ar_lex_invalidate(ar_index *ix);
void ar_lex_cache_free(struct ar_lcache *c);
/* Test hook: the cache's budget in bytes (0: the default); process-wide, set it before searching. */
void ar_lex_test_cache_budget(size_t bytes);

/* The canonical BM25 term weight, written once so the engine, the check and the bounds agree. */
static inline double ar_lex_idf(int64_t n_docs, int64_t df) {
  double r = ((double)n_docs - (double)df + 0.5) / ((double)df + 0.5);
  return log1p(r) <= 0.0 ? 1e-6 : log1p(r);
}
/* Length normalisation and one term's share, in ar_bm25's exact expression order (fts_bm25.c), so
 * a sum over the query's terms in query order is bit-identical to it (the build has no FP
 * contraction). */
static inline double ar_lex_norm(uint32_t dl, double avgdl) {
  return AR_BM25_K1 * (1 - AR_BM25_B + AR_BM25_B * (double)dl / avgdl);
}
static inline double ar_lex_share(double idf, uint32_t tf, double norm) {
  double f = (double)tf;
  return idf * f * (AR_BM25_K1 + 1) / (f + norm);
}
#endif
