/* forward.c - the encoder forward pass over a batch of unpadded sequences, concatenated:
 * embeddings -> L post-LN blocks -> masked mean pooling -> L2 normalisation. */
#include "model/model.h"
#include "core/util.h"
#include <cblas.h>
#include <math.h>

#define AR_CHUNK_TOKENS 4096 /* tokens per forward chunk: big enough for GEMM efficiency, small enough for RSS */

void ar_run_state_free(ar_run_state *rs) {
  ar_free(rs->x); ar_free(rs->q); ar_free(rs->k); ar_free(rs->v);
  ar_free(rs->ctx); ar_free(rs->a); ar_free(rs->ff); ar_free(rs->att);
  memset(rs, 0, sizeof *rs);
}

static ar_status ensure_state(ar_model *m, int T, ar_error *err) {
  ar_run_state *rs = &m->rs;
  if (T <= rs->cap_tokens) return AR_OK;
  ar_run_state_free(rs);
  size_t H = (size_t)m->c.hidden, F = (size_t)m->c.inter, t = (size_t)T;
  rs->x = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->q = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->k = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->v = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->ctx = ar_malloc(t * H * sizeof(float));  /* [T, H] */
  rs->a = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->ff = ar_malloc(t * F * sizeof(float));   /* [T, F] */
  rs->att_cap = m->max_tokens;
  rs->att = ar_malloc((size_t)rs->att_cap * (size_t)rs->att_cap * sizeof(float)); /* [n, n] */
  if (!rs->x || !rs->q || !rs->k || !rs->v || !rs->ctx || !rs->a || !rs->ff || !rs->att) {
    ar_run_state_free(rs);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory for %d tokens of activations", T);
  }
  rs->cap_tokens = T;
  return AR_OK;
}

/* One row of an embedding table, widened to fp32 in dst; -1 if it holds NaN/Inf or cannot be read. */
static int table_row(ar_model *m, const ar_emb_table *e, int r, float *dst) {
  const ar_st_tensor *t = e->t;
  size_t n = (size_t)e->cols, el = t->dtype == AR_ST_F32 ? 4 : 2;
  if (ar_st_read(&m->st, t, (size_t)r * n * el, m->rowraw, n * el)) return -1;
  if (t->dtype == AR_ST_F32) memcpy(dst, m->rowraw, n * 4);
  else if (t->dtype == AR_ST_F16) ar_widen_f16(m->rowraw, dst, n);
  else ar_widen_bf16(m->rowraw, dst, n);
  uint32_t bad = 0, u;
  for (size_t i = 0; i < n; i++) { memcpy(&u, dst + i, 4); bad |= (u & 0x7F800000u) == 0x7F800000u; }
  return bad ? -1 : 0;
}

static ar_status embed_tokens(ar_model *m, const int32_t *ids, int n, float *x, ar_error *err) {
  const ar_model_config *c = &m->c;
  int H = c->hidden;
  const ar_emb_table *bad = NULL;
  int bad_row = 0, count = 0;
  for (int i = 0; i < n; i++) {
    float *xi = x + (size_t)i * H;
    /* positions: BERT 0..n-1; XLM-R counts non-pad tokens from pad+1 (a literal <pad> gets pad) */
    int p;
    if (c->pos_offset == 0) p = i;
    else if (ids[i] != c->pad_id) p = ++count + c->pad_id;
    else p = c->pad_id;
    if (table_row(m, &m->word, ids[i], xi)) { bad = &m->word; bad_row = ids[i]; break; }
    if (table_row(m, &m->type, 0, m->row)) { bad = &m->type; bad_row = 0; break; }
    for (int j = 0; j < H; j++) xi[j] += m->row[j];
    if (table_row(m, &m->pos, p, m->row)) { bad = &m->pos; bad_row = p; break; }
    for (int j = 0; j < H; j++) xi[j] += m->row[j];
    ar_layernorm(xi, m->emb_ln_g, m->emb_ln_b, H, c->eps);
  }
  if (bad)
    return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': row %d holds NaN or Inf (or cannot be read)", m->st.path,
                   bad->t->name, bad_row);
  return AR_OK;
}

/* Y[T, out] = X[T, in] W[out, in]^T */
static void linear(const float *X, const float *W, float *Y, int T, int out, int in) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1.0f, X, in, W, in, 0.0f, Y, out);
}

/* Self-attention of one sequence (n tokens starting at row t0), all heads; unpadded, so no mask. */
static void attention(ar_model *m, int t0, int n) {
  const ar_model_config *c = &m->c;
  ar_run_state *rs = &m->rs;
  int H = c->hidden, nh = c->heads, d = H / nh;
  float scale = 1.0f / sqrtf((float)d);
  for (int h = 0; h < nh; h++) {
    const float *q = rs->q + (size_t)t0 * H + h * d;   /* [n, d] with row stride H */
    const float *k = rs->k + (size_t)t0 * H + h * d;
    const float *v = rs->v + (size_t)t0 * H + h * d;
    float *o = rs->ctx + (size_t)t0 * H + h * d;
    float *S = rs->att;                                /* [n, n] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, H, k, H, 0.0f, S, n);
    for (int i = 0; i < n; i++) ar_softmax(S + (size_t)i * n, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, S, n, v, H, 0.0f, o, H);
  }
}

/* Forward of sequences [s0, s1) whose total length is T <= cap. */
static ar_status forward_chunk(ar_model *m, const int32_t *const *ids, const int *n_ids, int s0, int s1, int T,
                               float *out, ar_error *err) {
  const ar_model_config *c = &m->c;
  ar_run_state *rs = &m->rs;
  int H = c->hidden, F = c->inter;
  ar_status s;
  for (int i = s0, t = 0; i < s1; t += n_ids[i], i++)
    if ((s = embed_tokens(m, ids[i], n_ids[i], rs->x + (size_t)t * H, err))) return s;
  for (int l = 0; l < c->layers; l++) {
    const ar_layer *w = &m->layer[l];
    linear(rs->x, w->wq, rs->q, T, H, H);
    linear(rs->x, w->wk, rs->k, T, H, H);
    linear(rs->x, w->wv, rs->v, T, H, H);
    for (int t = 0; t < T; t++) {
      ar_add_bias(rs->q + (size_t)t * H, w->bq, H);
      ar_add_bias(rs->k + (size_t)t * H, w->bk, H);
      ar_add_bias(rs->v + (size_t)t * H, w->bv, H);
    }
    for (int i = s0, t = 0; i < s1; t += n_ids[i], i++) attention(m, t, n_ids[i]);
    linear(rs->ctx, w->wo, rs->a, T, H, H);
    for (int t = 0; t < T; t++)
      ar_add_bias_residual_layernorm(rs->a + (size_t)t * H, rs->x + (size_t)t * H, w->bo, w->ln1_g, w->ln1_b, H,
                                     c->eps);
    linear(rs->a, w->wi, rs->ff, T, F, H);
    for (int t = 0; t < T; t++) ar_add_bias_gelu(rs->ff + (size_t)t * F, w->bi, F);
    linear(rs->ff, w->wout, rs->x, T, H, F);
    for (int t = 0; t < T; t++)
      ar_add_bias_residual_layernorm(rs->x + (size_t)t * H, rs->a + (size_t)t * H, w->bout, w->ln2_g, w->ln2_b, H,
                                     c->eps);
  }
  /* mean over every token (the mask is all ones: no padding), then v / max(|v|, 1e-12) */
  for (int i = s0, t = 0; i < s1; t += n_ids[i], i++) {
    float *o = out + (size_t)(i - s0) * H;
    for (int j = 0; j < H; j++) {
      double acc = 0;
      for (int r = 0; r < n_ids[i]; r++) acc += rs->x[(size_t)(t + r) * H + j];
      o[j] = (float)(acc / n_ids[i]);
    }
    double nn = 0;
    for (int j = 0; j < H; j++) nn += (double)o[j] * o[j];
    double norm = sqrt(nn);
    if (norm < 1e-12) norm = 1e-12;
    for (int j = 0; j < H; j++) o[j] = (float)(o[j] / norm);
  }
  return AR_OK;
}

ar_status ar_model_embed_ids(ar_model *m, const int32_t *const *ids, const int *n_ids, int n, float *out,
                             ar_error *err) {
  if (n < 0 || (n > 0 && (!ids || !n_ids || !out))) return ar_fail(err, AR_ERR_INVALID, "embed: bad arguments");
  for (int i = 0; i < n; i++) {
    if (n_ids[i] < 1 || n_ids[i] > m->max_tokens)
      return ar_fail(err, AR_ERR_INVALID, "embed: sequence %d has %d tokens (1..%d allowed)", i, n_ids[i],
                     m->max_tokens);
    for (int j = 0; j < n_ids[i]; j++)
      if (ids[i][j] < 0 || ids[i][j] >= m->c.vocab)
        return ar_fail(err, AR_ERR_INVALID, "embed: sequence %d token %d: id %d outside the vocabulary (0..%d)", i, j,
                       ids[i][j], m->c.vocab - 1);
  }
  int s0 = 0;
  while (s0 < n) {
    int s1 = s0, T = 0;
    while (s1 < n && (s1 == s0 || T + n_ids[s1] <= AR_CHUNK_TOKENS)) T += n_ids[s1++];
    ar_status s = ensure_state(m, AR_MAX(T, AR_MIN(AR_CHUNK_TOKENS, T * 2)), err);
    if (s) return s;
    if ((s = forward_chunk(m, ids, n_ids, s0, s1, T, out + (size_t)s0 * m->c.hidden, err))) return s;
    s0 = s1;
  }
  return AR_OK;
}
