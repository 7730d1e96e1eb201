/* rerank.c - a cross-encoder over the first stage's hits: (question, segment) pairs in the tokenizer's pair
 * template, one forward batch, the classifier head on each pair's first token, hits re-ordered by the score. */
#include "model/model.h"
#include "core/util.h"
#include <math.h>

int ar_model_num_labels(const ar_model *m) { return m->head.n_labels; }

float ar_rerank_score(const ar_model *m, const float *logits) {
  return m->head.n_labels == 1 ? logits[0] : logits[1];
}

/* Content ids of text (no specials), malloc'd into *out; the count, or -1 on failure. */
static int content_ids(const ar_tokenizer *t, const char *text, int32_t **out) {
  size_t len = strlen(text);
  int n = ar_tokenizer_count(t, text, len, 0);
  if (n < 0) return -1;
  *out = ar_malloc((size_t)(n + 1) * sizeof **out);
  if (!*out) return -1;
  return ar_tokenizer_encode(t, text, len, *out, n, 0) == n ? n : -1;
}

/* Hugging Face tokenizers' LongestFirst for a pair over `budget` content tokens: when both do not fit, the
 * shorter keeps what it has if the longer can fill the rest; else each gets half (the second the odd one). */
static void longest_first(int *a, int *b, int budget) {
  if (*a + *b <= budget) return;
  int n1 = *a, n2 = *b, swap = n1 > n2;
  if (swap) { n1 = *b; n2 = *a; }
  n2 = n1 > budget ? n1 : AR_MAX(n1, budget - n1);
  if (n1 + n2 > budget) { n1 = budget / 2; n2 = n1 + budget % 2; }
  if (swap) { int t = n1; n1 = n2; n2 = t; }
  *a = AR_MIN(*a, n1);
  *b = AR_MIN(*b, n2);
}

ar_status ar_model_score_pairs(ar_model *m, const char *query, const char *const *passages, int n, float *out,
                               ar_error *err) {
  const ar_head *h = &m->head;
  if (!h->n_labels)
    return ar_fail(err, AR_ERR_MODEL, "%s: not a cross-encoder (config.json architectures has no "
                   "*ForSequenceClassification)", m->st.path);
  if (!m->tok) return ar_fail(err, AR_ERR_MODEL, "rerank: the model was loaded without its tokenizer (ids_only)");
  if (!query || n < 0 || (n && (!passages || !out))) return ar_fail(err, AR_ERR_INVALID, "rerank: bad arguments");
  if (!n) return AR_OK;
  /* the specials of the single template, <s> A </s> or [CLS] A [SEP]: the pair template reuses them */
  int32_t sp[8];
  if (ar_tokenizer_encode(m->tok, "", 0, sp, 8, AR_TOK_ADD_SPECIAL) != 2)
    return ar_fail(err, AR_ERR_MODEL, "%s: the tokenizer's template is not <s> A </s> / [CLS] A [SEP] (needed for "
                   "pairs)", m->st.path);
  int32_t cls = sp[0], sep = sp[1];
  int specials = h->token_types ? 3 : 4, budget = m->max_tokens - specials;
  int32_t *q = NULL, **ids = ar_calloc((size_t)n, sizeof *ids), **types = ar_calloc((size_t)n, sizeof *types);
  int *n_ids = ar_calloc((size_t)n, sizeof *n_ids);
  float *pooled = ar_malloc((size_t)n * (size_t)m->c.hidden * sizeof(float));
  float *tmp = ar_malloc((size_t)m->c.hidden * sizeof(float));
  ar_status s = AR_OK;
  int nq = ids && types && n_ids && pooled && tmp ? content_ids(m->tok, query, &q) : -1;
  if (nq < 0) s = ar_fail(err, AR_ERR_NOMEM, "rerank: out of memory tokenizing the question");
  for (int i = 0; i < n && !s; i++) {
    int32_t *p = NULL;
    int np = content_ids(m->tok, passages[i] ? passages[i] : "", &p);
    if (np < 0) { s = ar_fail(err, AR_ERR_NOMEM, "rerank: out of memory tokenizing passage %d", i); break; }
    int la = nq, lb = np;
    longest_first(&la, &lb, budget);
    int len = la + lb + specials;
    ids[i] = ar_malloc((size_t)len * sizeof **ids);
    types[i] = ar_calloc((size_t)len, sizeof **types);
    if (!ids[i] || !types[i]) { ar_free(p); s = ar_fail(err, AR_ERR_NOMEM, "rerank: out of memory"); break; }
    int w = 0;
    ids[i][w++] = cls;
    memcpy(ids[i] + w, q, (size_t)la * sizeof *q);
    w += la;
    ids[i][w++] = sep;
    if (!h->token_types) ids[i][w++] = sep;   /* </s></s> between the two */
    int b0 = w;
    memcpy(ids[i] + w, p, (size_t)lb * sizeof *p);
    w += lb;
    ids[i][w++] = sep;
    if (h->token_types)
      for (int j = b0; j < w; j++) types[i][j] = 1;
    n_ids[i] = w;
    ar_free(p);
  }
  if (!s)
    s = ar_model_forward(m, (const int32_t *const *)ids, h->token_types ? (const int32_t *const *)types : NULL, n_ids,
                         n, AR_POOL_CLS, 0, pooled, err);
  for (int i = 0; i < n && !s; i++)
    ar_head_apply(h, m->c.hidden, pooled + (size_t)i * m->c.hidden, tmp, out + (size_t)i * h->n_labels);
  for (int i = 0; ids && i < n; i++) ar_free(ids[i]);
  for (int i = 0; types && i < n; i++) ar_free(types[i]);
  ar_free(ids); ar_free(types); ar_free(n_ids); ar_free(q); ar_free(pooled); ar_free(tmp);
  return s;
}

/* Higher score first; ties (and the unscored tail, NAN) keep the first stage's order. */
static int by_score(const void *a, const void *b) {
  const ar_hit *x = a, *y = b;
  int xs = !isnan(x->rerank_score), ys = !isnan(y->rerank_score);
  if (xs != ys) return ys - xs;
  if (xs && x->rerank_score != y->rerank_score) return x->rerank_score < y->rerank_score ? 1 : -1;
  return x->first_stage_rank - y->first_stage_rank;
}

ar_status ar_rerank_results(ar_model *m, const char *query, int top, int k, ar_results *r, ar_error *err) {
  if (top < 1 || k < 1) return ar_fail(err, AR_ERR_INVALID, "rerank: top and k must be >= 1 (got %d, %d)", top, k);
  int n = (int)AR_MIN((size_t)top, r->n), nl = m->head.n_labels;
  const char **texts = ar_malloc((size_t)(n + 1) * sizeof *texts);
  float *logits = ar_malloc((size_t)(n + 1) * (size_t)(nl ? nl : 1) * sizeof(float));
  if (!texts || !logits) { ar_free(texts); ar_free(logits); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  for (int i = 0; i < n; i++) texts[i] = r->hits[i].text;
  ar_status s = ar_model_score_pairs(m, query, texts, n, logits, err);
  if (!s) {
    for (size_t i = 0; i < r->n; i++) {
      ar_hit *h = &r->hits[i];
      h->first_stage_rank = h->rank;
      h->rerank_score = (int)i < n ? ar_rerank_score(m, logits + (size_t)i * nl) : NAN;
    }
    if (r->n) qsort(r->hits, r->n, sizeof *r->hits, by_score);
    for (size_t i = (size_t)k; i < r->n; i++) {
      ar_hit *h = &r->hits[i];
      ar_free(h->video_id); ar_free(h->title); ar_free(h->url); ar_free(h->text);
    }
    if (r->n > (size_t)k) r->n = (size_t)k;
    for (size_t i = 0; i < r->n; i++) r->hits[i].rank = (int)i + 1;
  }
  ar_free(texts);
  ar_free(logits);
  return s;
}
