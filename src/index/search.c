/* search.c - ar_search: picks the retriever for the mode and turns candidates into hits. */
#include "index/index.h"
#include "index/vectors.h"
#include "core/util.h"
#include <math.h>

ar_search_params ar_search_default_params(void) {
  ar_search_params p = {0};
  p.k = 10;
  p.mode = AR_MODE_AUTO;
  p.rrf_k = 60;
  p.candidates = 0;  /* 0: max(50, k) */
  p.rerank_top = 30;
  return p;
}

const char *ar_search_mode_name(ar_search_mode m) {
  switch (m) {
  case AR_MODE_AUTO: return "auto";
  case AR_MODE_LEXICAL: return "lexical";
  case AR_MODE_DENSE: return "dense";
  case AR_MODE_HYBRID: return "hybrid";
  }
  return "unknown";
}

ar_status ar_search_mode_parse(const char *name, ar_search_mode *out, ar_error *err) {
  for (int m = AR_MODE_AUTO; m <= AR_MODE_HYBRID; m++)
    if (name && !strcmp(name, ar_search_mode_name((ar_search_mode)m))) {
      *out = (ar_search_mode)m;
      return AR_OK;
    }
  return ar_fail(err, AR_ERR_INVALID, "unknown search mode '%.40s' (auto, lexical, dense or hybrid)",
                 name ? name : "");
}

void ar_results_free(ar_results *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    ar_hit *h = &r->hits[i];
    ar_free(h->video_id); ar_free(h->title); ar_free(h->url); ar_free(h->text);
  }
  ar_free(r->hits);
  ar_free(r->query);
  memset(r, 0, sizeof *r);
}

ar_status ar_hits_load(ar_index *ix, ar_hit *hits, size_t n, ar_error *err) {
  if (!n) return AR_OK;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "SELECT v.video_id, v.title, v.url, s.start, s.end, s.text FROM segments s"
                         " JOIN videos v ON v.id = s.video WHERE s.id = ?1", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "loading segments");
  ar_status st = AR_OK;
  for (size_t i = 0; i < n && !st; i++) {
    ar_hit *h = &hits[i];
    sqlite3_bind_int64(q, 1, h->corpus_id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      h->video_id = ar_strdup((const char *)sqlite3_column_text(q, 0));
      h->title = ar_strdup((const char *)sqlite3_column_text(q, 1));
      h->url = ar_strdup((const char *)sqlite3_column_text(q, 2));
      h->start_s = sqlite3_column_double(q, 3);
      h->end_s = sqlite3_column_double(q, 4);
      h->text = ar_strdup((const char *)sqlite3_column_text(q, 5));
      if (!h->video_id || !h->title || !h->url || !h->text) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
      st = ar_fail(err, AR_ERR_NOTFOUND, "%s: corpus id %lld not found", ix->path, (long long)h->corpus_id);
    } else {
      st = ar_index_db_fail(ix, err, "loading segments");
    }
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  return st;
}

static ar_status search_lexical(ar_index *ix, const char *query, int k, const ar_idfilter *filter, ar_results *out,
                                ar_error *err) {
  ar_cand *c = NULL;
  size_t n = 0;
  ar_status st = ar_lexical_search(ix, query, k, filter, &c, &n, err);
  if (st) return st;
  if (n && !(out->hits = ar_calloc(n, sizeof *out->hits))) { ar_free(c); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  for (size_t i = 0; i < n; i++) {
    ar_hit *h = &out->hits[i];
    h->rank = (int)i + 1;
    h->corpus_id = c[i].id;
    h->score = h->lexical_score = c[i].score;
    h->lexical_rank = h->rank;
    h->dense_score = NAN;
  }
  out->n = n;
  ar_free(c);
  return ar_hits_load(ix, out->hits, n, err);
}

ar_status ar_search(ar_index *ix, const char *query, const ar_search_params *p, ar_results *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  ar_search_params d = ar_search_default_params();
  if (!p) p = &d;
  if (!query) return ar_fail(err, AR_ERR_INVALID, "no question given");
  const char *s = query;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  if (!*s) return ar_fail(err, AR_ERR_INVALID, "the question is empty");
  if (p->k < 1 || p->k > 10000) return ar_fail(err, AR_ERR_INVALID, "k must be in [1, 10000], got %d", p->k);
  ar_search_mode mode = p->mode;
  /* dense/hybrid (src/index/dense_search.c): AUTO is hybrid when a model is given and the index has
   * vectors; an explicit dense/hybrid without a model or vectors is a clear error */
  if (p->rrf_k < 0) return ar_fail(err, AR_ERR_INVALID, "rrf_k must be >= 0, got %d", p->rrf_k);
  /* a reranker: the first stage fetches its top rerank_top (src/rerank/rerank.c re-orders and keeps k) */
  ar_search_params first;
  ar_model *reranker = p->reranker;
  int k = p->k;
  if (reranker) {
    if (p->rerank_top < 1 || p->rerank_top > 10000)
      return ar_fail(err, AR_ERR_INVALID, "rerank_top must be in [1, 10000], got %d", p->rerank_top);
    if (!ar_model_num_labels(reranker))
      return ar_fail(err, AR_ERR_INVALID, "the reranker is not a cross-encoder (no classifier head)");
    first = *p;
    first.k = AR_MAX(p->k, p->rerank_top);
    first.reranker = NULL;
    p = &first;
  }
  if (mode == AR_MODE_AUTO) mode = ar_search_auto_mode(ix, p);
  ar_status st;
  if (mode != AR_MODE_LEXICAL && (st = ar_search_dense_check(ix, p, mode, err))) return st;
  if (!(out->query = ar_strdup(query))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  out->mode = mode;
  /* one read transaction: candidates and their rows come from the same snapshot, even while
   * another process re-ingests a video */
  int own_txn = sqlite3_get_autocommit(ix->db);
  if (own_txn && sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
    ar_results_free(out);
    return ar_index_db_fail(ix, err, "search");
  }
  /* a course: the retrievers rank only its segments (built inside the snapshot, cached per handle) */
  const ar_idfilter *filter = NULL;
  st = p->course && *p->course ? ar_course_filter(ix, p->course, &filter, err) : AR_OK;
  if (!st)
    st = mode == AR_MODE_LEXICAL ? search_lexical(ix, query, p->k, filter, out, err)
                                 : ar_search_dense(ix, query, p, mode, filter, out, err);
  if (own_txn) sqlite3_exec(ix->db, st ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  if (!st && reranker) st = ar_rerank_results(reranker, query, p->rerank_top, k, out, err);
  if (st) ar_results_free(out);
  return st;
}
