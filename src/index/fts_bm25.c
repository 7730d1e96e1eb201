/* fts_bm25.c - ar_bm25(fts, k1, b [, idf]): FTS5's BM25 with tunable k1 and b, so the bench can
 * compare parameter choices on the same index (FTS5's built-in bm25() fixes k1=1.2, b=0.75). With
 * idf 0 (default) it is bm25()'s formula: idf = ln((N - n + 0.5) / (n + 0.5)) clamped to 1e-6;
 * idf 1 is Lucene's ln(1 + (N - n + 0.5) / (n + 0.5)), never ~0 for common words in small
 * courses. Returns -score (lower = better), like bm25(). */
#include "index/index.h"
#include "core/util.h"
#include <math.h>

/* Aux data is shared by every ar_bm25 call of one query (even with other arguments), so it holds
 * both idf variants. */
typedef struct bm25_query {
  int n_phrase;
  double avgdl;
  double *idf;    /* 2 x n_phrase: FTS5's idf, then Lucene's */
  double *freq;   /* n_phrase, per-row scratch */
} bm25_query;

static void bm25_query_free(void *p) {
  bm25_query *q = p;
  if (!q) return;
  ar_free(q->idf);
  ar_free(q->freq);
  ar_free(q);
}

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *ud) {
  (void)api; (void)fts;
  (*(sqlite3_int64 *)ud)++;
  return SQLITE_OK;
}

/* Per-query statistics, computed at the first row and kept as aux data for the rest. */
static int bm25_query_get(const Fts5ExtensionApi *api, Fts5Context *fts, bm25_query **out) {
  bm25_query *q = api->xGetAuxdata(fts, 0);
  if (q) { *out = q; return SQLITE_OK; }
  int np = api->xPhraseCount(fts);
  q = ar_calloc(1, sizeof *q);
  if (!q || !(q->idf = ar_calloc(2 * (size_t)np + 1, sizeof *q->idf)) || !(q->freq = ar_calloc((size_t)np + 1, sizeof *q->freq))) {
    bm25_query_free(q);
    return SQLITE_NOMEM;
  }
  q->n_phrase = np;
  sqlite3_int64 n_row = 0, n_tok = 0;
  int rc = api->xRowCount(fts, &n_row);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &n_tok);
  q->avgdl = n_row > 0 ? (double)n_tok / (double)n_row : 1.0;
  for (int i = 0; rc == SQLITE_OK && i < np; i++) {
    sqlite3_int64 n_hit = 0;
    rc = api->xQueryPhrase(fts, i, &n_hit, count_row);
    double r = ((double)n_row - (double)n_hit + 0.5) / ((double)n_hit + 0.5);
    q->idf[i] = log(r) <= 0.0 ? 1e-6 : log(r);
    q->idf[np + i] = log1p(r) <= 0.0 ? 1e-6 : log1p(r);
  }
  if (rc == SQLITE_OK) rc = api->xSetAuxdata(fts, q, bm25_query_free);
  if (rc != SQLITE_OK) { bm25_query_free(q); return rc; }
  *out = q;
  return SQLITE_OK;
}

static void bm25_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int n_val, sqlite3_value **val) {
  double k1 = n_val > 0 ? sqlite3_value_double(val[0]) : 1.2;
  double b = n_val > 1 ? sqlite3_value_double(val[1]) : 0.75;
  int idf_kind = n_val > 2 ? sqlite3_value_int(val[2]) : 0;
  bm25_query *q = NULL;
  int rc = bm25_query_get(api, fts, &q);
  int n_inst = 0, dl = 0;
  if (rc == SQLITE_OK) rc = api->xInstCount(fts, &n_inst);
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &dl);
  if (rc != SQLITE_OK) { sqlite3_result_error_code(ctx, rc); return; }
  memset(q->freq, 0, (size_t)q->n_phrase * sizeof *q->freq);
  for (int i = 0; i < n_inst; i++) {
    int phrase, col, off;
    if (api->xInst(fts, i, &phrase, &col, &off) == SQLITE_OK && phrase >= 0 && phrase < q->n_phrase) q->freq[phrase] += 1;
  }
  double score = 0, norm = k1 * (1 - b + b * (double)dl / q->avgdl);
  const double *idf = q->idf + (idf_kind ? q->n_phrase : 0);
  for (int i = 0; i < q->n_phrase; i++) score += idf[i] * q->freq[i] * (k1 + 1) / (q->freq[i] + norm);
  sqlite3_result_double(ctx, -score);
}

ar_status ar_fts_register_bm25(sqlite3 *db, fts5_api *api, ar_error *err) {
  if (api->xCreateFunction(api, "ar_bm25", NULL, bm25_fn, NULL) != SQLITE_OK)
    return ar_fail(err, AR_ERR_DB, "cannot register ar_bm25: %s", sqlite3_errmsg(db));
  return AR_OK;
}
