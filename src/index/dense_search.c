/* dense_search.c - dense (E5 cosine) and hybrid (RRF of BM25 and dense) retrieval for ar_search. */
#include "index/vectors.h"
#include "index/dense.h"
#include "core/util.h"
#include <math.h>

ar_search_mode ar_search_auto_mode(ar_index *ix, const ar_search_params *p) {
  return (p->embedder || p->model) && ar_vectors_any(ix) == 1 ? AR_MODE_HYBRID : AR_MODE_LEXICAL;
}

ar_status ar_search_dense_check(ar_index *ix, const ar_search_params *p, ar_search_mode mode, ar_error *err) {
  if (!p->embedder && !p->model)
    return ar_fail(err, AR_ERR_INVALID, "%s search needs an embedder (a model or an embeddings server) to embed the "
                   "query", ar_search_mode_name(mode));
  int any = ar_vectors_any(ix);
  if (any < 0) return ar_index_db_fail(ix, err, "reading vectors");
  if (!any)
    return ar_fail(err, AR_ERR_NOTFOUND, "%s has no vectors for %s search: ingest with a model first",
                   ix->path, ar_search_mode_name(mode));
  return AR_OK;
}

ar_status ar_search_dense(ar_index *ix, const char *query, const ar_search_params *p, ar_search_mode mode,
                          const ar_idfilter *filter, ar_results *out, ar_error *err) {
  ar_embedder tmp;
  const ar_embedder *e = ar_embedder_pick(p->embedder, p->model, &tmp);
  int dim = e->dim, k = p->k;
  const char *fp = e->fingerprint;
  /* fusion depth: each retriever's top `cand`, at least k */
  int cand = p->candidates > 0 ? p->candidates : AR_MAX(50, k);
  if (cand < k) cand = k;
  float *qv = ar_malloc((size_t)dim * sizeof *qv);
  ar_cand *lc = NULL, *dc = NULL;
  ar_fused *f = NULL;
  int64_t *ids = NULL;
  double *cos = NULL;
  size_t ln = 0, dn = 0, nf = 0;
  ar_status st = qv ? AR_OK : ar_fail(err, AR_ERR_NOMEM, "out of memory");
  if (!st) st = e->embed(e->ctx, AR_EMBED_QUERY, &query, 1, qv, err);
  if (!st) st = ar_vectors_search(ix, fp, qv, dim, mode == AR_MODE_DENSE ? k : cand, filter, &dc, &dn, err);
  if (st) goto done;
  if (mode == AR_MODE_DENSE) {
    size_t n = dn;
    if (n && !(out->hits = ar_calloc(n, sizeof *out->hits))) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < n; i++) {
      ar_hit *h = &out->hits[i];
      h->rank = h->dense_rank = (int)i + 1;
      h->corpus_id = dc[i].id;
      h->score = h->dense_score = dc[i].score;
      h->lexical_score = NAN;
    }
    out->n = n;
  } else {
    if ((st = ar_lexical_search(ix, query, cand, filter, &lc, &ln, err))) goto done;
    int64_t *lists[2];
    if (!(lists[0] = ar_malloc((ln ? ln : 1) * sizeof(int64_t))) ||
        !(lists[1] = ar_malloc((dn ? dn : 1) * sizeof(int64_t)))) {
      ar_free(lists[0]);
      st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < ln; i++) lists[0][i] = lc[i].id;
    for (size_t i = 0; i < dn; i++) lists[1][i] = dc[i].id;
    size_t lens[2] = {ln, dn};
    st = ar_rrf_fuse((const int64_t *const *)lists, lens, 2, p->rrf_k, &f, &nf, err);
    ar_free(lists[0]);
    ar_free(lists[1]);
    if (st) goto done;
    size_t n = AR_MIN(nf, (size_t)k);
    ids = ar_malloc((n ? n : 1) * sizeof *ids);
    cos = ar_malloc((n ? n : 1) * sizeof *cos);
    if (!ids || !cos || (n && !(out->hits = ar_calloc(n, sizeof *out->hits)))) {
      st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n; i++) ids[i] = f[i].id;
    /* the cosine of every hit, also those only BM25 found: the report format's Score is the E5 cosine */
    if ((st = ar_vectors_cosines(ix, fp, qv, dim, ids, n, cos, err))) goto done;
    for (size_t i = 0; i < n; i++) {
      ar_hit *h = &out->hits[i];
      h->rank = (int)i + 1;
      h->corpus_id = f[i].id;
      h->score = f[i].score;
      h->lexical_rank = f[i].rank[0];
      h->lexical_score = f[i].rank[0] ? lc[f[i].rank[0] - 1].score : NAN;
      h->dense_rank = f[i].rank[1];
      h->dense_score = cos[i];
    }
    out->n = n;
  }
  st = ar_hits_load(ix, out->hits, out->n, err);
done:
  ar_free(qv); ar_free(lc); ar_free(dc); ar_free(f); ar_free(ids); ar_free(cos);
  return st;
}
