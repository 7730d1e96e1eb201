/* forward.c - the encoder forward pass over a batch of unpadded sequences, concatenated:
 * embeddings -> L post-LN blocks -> masked mean pooling -> L2 normalisation.
 * Work is split over the model's thread pool: linear layers by output columns (OpenBLAS sgemm,
 * single-threaded inside each task, or our small-T kernel), attention by (sequence, head),
 * row-wise kernels by token ranges. */
#include "model/model.h"
#include "core/util.h"
#include <cblas.h>
#include <math.h>

#define AR_CHUNK_TOKENS 4096 /* tokens per forward chunk: big enough for GEMM efficiency, small enough for RSS */
#ifndef AR_SMALL_T
#define AR_SMALL_T 32 /* at most this many tokens: our unpacked kernel, no sgemm packing */
#endif

void ar_run_state_free(ar_run_state *rs) {
  ar_free(rs->x); ar_free(rs->q); ar_free(rs->k); ar_free(rs->v);
  ar_free(rs->ctx); ar_free(rs->a); ar_free(rs->ff); ar_free(rs->att);
  memset(rs, 0, sizeof *rs);
}

static ar_status ensure_state(ar_model *m, int T, ar_error *err) {
  ar_run_state *rs = &m->rs;
  if (T <= rs->cap_tokens) return AR_OK;
  ar_run_state_free(rs);
  size_t H = (size_t)m->c.hidden, F = (size_t)m->c.inter, t = (size_t)T, n = (size_t)m->max_tokens;
  rs->x = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->q = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->k = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->v = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->ctx = ar_malloc(t * H * sizeof(float));  /* [T, H] */
  rs->a = ar_malloc(t * H * sizeof(float));    /* [T, H] */
  rs->ff = ar_malloc(t * F * sizeof(float));   /* [T, F] */
  rs->att_cap = (int)n;
  rs->att = ar_malloc((size_t)m->n_threads * n * n * sizeof(float)); /* [threads, n, n] */
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

/* ---- parallel jobs ---- */
typedef struct job {
  ar_model *m;
  int T;                       /* tokens in the chunk */
  int ns;                      /* sequences in the chunk */
  const int *off, *len;        /* per sequence: first token row, length */
  /* linear: Y[m][T, out] = X[T, in] W[m]^T + B[m] (then GELU if gelu), m < nmat */
  const float *X;
  const float *W[3], *B[3];
  float *Y[3];
  int nmat, out, in, gelu, per_mat, cols;
  /* rows: y = LN(y + bias + res) */
  float *ry;
  const float *rres, *rbias, *rg, *rb;
  int rows_per;
} job;

static void linear_task(void *ctx, int task, int worker) {
  (void)worker;
  job *j = ctx;
  int mi = task / j->per_mat, n0 = (task % j->per_mat) * j->cols, n1 = AR_MIN(j->out, n0 + j->cols);
  if (n0 >= n1) return;
  const float *W = j->W[mi] + (size_t)n0 * j->in;
  float *Y = j->Y[mi];
  /* One product per sequence, with the kernel chosen by that sequence's length alone: a sequence's
   * rounding then never depends on what else shares the batch (batched == one-by-one, bitwise).
   * Re-packing the weight slice per sequence costs ~1/len of the product. */
  for (int s = 0; s < j->ns; s++) {
    const float *X = j->X + (size_t)j->off[s] * j->in;
    float *Ys = Y + (size_t)j->off[s] * j->out + n0;
    int n = j->len[s];
    if (n <= AR_SMALL_T && j->in % 8 == 0)
      ar_gemm_small(X, n, W, n1 - n0, j->in, Ys, j->out);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n1 - n0, j->in, 1.0f, X, j->in, W, j->in, 0.0f, Ys,
                  j->out);
  }
  for (int t = 0; t < j->T; t++) {
    float *y = Y + (size_t)t * j->out + n0;
    if (j->gelu) ar_add_bias_gelu(y, j->B[mi] + n0, n1 - n0);
    else ar_add_bias(y, j->B[mi] + n0, n1 - n0);
  }
}

/* Y[i] = X W[i]^T + B[i] for i < nmat (all [out, in]); column slices spread over the pool. */
static void linear(job *j, const float *X, int nmat, const float *const *W, const float *const *B, float *const *Y,
                   int out, int in, int gelu) {
  int nt = j->m->n_threads;
  /* a few column slices per thread (load balance on a busy machine), at least 32 columns each */
  int per = j->T <= AR_SMALL_T ? 4 * nt : 2 * nt;
  if (per * nmat > 4 * nt) per = AR_MAX(1, (4 * nt + nmat - 1) / nmat);
  int cols = (out + per - 1) / per;
  cols = AR_MAX(32, (cols + 15) & ~15);
  j->X = X;
  for (int i = 0; i < nmat; i++) { j->W[i] = W[i]; j->B[i] = B[i]; j->Y[i] = Y[i]; }
  j->nmat = nmat; j->out = out; j->in = in; j->gelu = gelu;
  j->cols = cols;
  j->per_mat = (out + cols - 1) / cols;
  ar_pool_run(j->m->pool, nmat * j->per_mat, linear_task, j);
}

/* Self-attention of one (sequence, head): unpadded, so no mask. */
static void attention_task(void *ctx, int task, int worker) {
  job *j = ctx;
  ar_model *m = j->m;
  ar_run_state *rs = &m->rs;
  int H = m->c.hidden, nh = m->c.heads, d = H / nh;
  int s = task / nh, h = task % nh, t0 = j->off[s], n = j->len[s];
  float scale = 1.0f / sqrtf((float)d);
  const float *q = rs->q + (size_t)t0 * H + h * d;   /* [n, d] with row stride H */
  const float *k = rs->k + (size_t)t0 * H + h * d;
  const float *v = rs->v + (size_t)t0 * H + h * d;
  float *o = rs->ctx + (size_t)t0 * H + h * d;
  float *S = rs->att + (size_t)worker * rs->att_cap * rs->att_cap; /* [n, n] */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, H, k, H, 0.0f, S, n);
  for (int i = 0; i < n; i++) ar_softmax(S + (size_t)i * n, n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, S, n, v, H, 0.0f, o, H);
}

static void rows_task(void *ctx, int task, int worker) {
  (void)worker;
  job *j = ctx;
  int H = j->m->c.hidden, t1 = AR_MIN(j->T, (task + 1) * j->rows_per);
  for (int t = task * j->rows_per; t < t1; t++)
    ar_add_bias_residual_layernorm(j->ry + (size_t)t * H, j->rres + (size_t)t * H, j->rbias, j->rg, j->rb, H,
                                   j->m->c.eps);
}

/* y = LayerNorm(y + bias + res) row by row */
static void residual_ln(job *j, float *y, const float *res, const float *bias, const float *g, const float *b) {
  j->ry = y; j->rres = res; j->rbias = bias; j->rg = g; j->rb = b;
  int tasks = AR_MIN(j->T, 4 * j->m->n_threads);
  j->rows_per = (j->T + tasks - 1) / tasks;
  ar_pool_run(j->m->pool, (j->T + j->rows_per - 1) / j->rows_per, rows_task, j);
}

/* Forward of sequences [s0, s1) whose total length is T <= cap. */
static ar_status forward_chunk(ar_model *m, const int32_t *const *ids, const int *n_ids, int s0, int s1, int T,
                               float *out, int *off, ar_error *err) {
  const ar_model_config *c = &m->c;
  ar_run_state *rs = &m->rs;
  int H = c->hidden, F = c->inter;
  ar_status s;
  for (int i = s0, t = 0; i < s1; t += n_ids[i], i++) {
    off[i - s0] = t;
    if ((s = embed_tokens(m, ids[i], n_ids[i], rs->x + (size_t)t * H, err))) return s;
  }
  job j = {.m = m, .T = T, .ns = s1 - s0, .off = off, .len = n_ids + s0};
  for (int l = 0; l < c->layers; l++) {
    const ar_layer *w = &m->layer[l];
    linear(&j, rs->x, 3, (const float *[]){w->wq, w->wk, w->wv}, (const float *[]){w->bq, w->bk, w->bv},
           (float *[]){rs->q, rs->k, rs->v}, H, H, 0);
    ar_pool_run(m->pool, j.ns * c->heads, attention_task, &j);
    linear(&j, rs->ctx, 1, &w->wo, &w->bo, &rs->a, H, H, 0);
    residual_ln(&j, rs->a, rs->x, NULL, w->ln1_g, w->ln1_b);
    linear(&j, rs->a, 1, &w->wi, &w->bi, &rs->ff, F, H, 1);
    linear(&j, rs->ff, 1, &w->wout, &w->bout, &rs->x, H, F, 0);
    residual_ln(&j, rs->x, rs->a, NULL, w->ln2_g, w->ln2_b);
  }
  /* mean over every token (the mask is all ones: no padding), then v / max(|v|, 1e-12) */
  for (int i = s0, t = 0; i < s1; t += n_ids[i], i++) {
    float *o = out + (size_t)(i - s0) * H;
    for (int jj = 0; jj < H; jj++) {
      double acc = 0;
      for (int r = 0; r < n_ids[i]; r++) acc += rs->x[(size_t)(t + r) * H + jj];
      o[jj] = (float)(acc / n_ids[i]);
    }
    double nn = 0;
    for (int jj = 0; jj < H; jj++) nn += (double)o[jj] * o[jj];
    double norm = sqrt(nn);
    if (norm < 1e-12) norm = 1e-12;
    for (int jj = 0; jj < H; jj++) o[jj] = (float)(o[jj] / norm);
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
  int *off = ar_malloc((size_t)(n + 1) * sizeof *off);
  if (!off) return ar_fail(err, AR_ERR_NOMEM, "embed: out of memory");
  ar_status s = AR_OK;
  for (int s0 = 0; s0 < n && s == AR_OK;) {
    int s1 = s0, T = 0;
    while (s1 < n && (s1 == s0 || T + n_ids[s1] <= AR_CHUNK_TOKENS)) T += n_ids[s1++];
    s = ensure_state(m, AR_MAX(T, AR_MIN(AR_CHUNK_TOKENS, T * 2)), err);
    if (s == AR_OK) s = forward_chunk(m, ids, n_ids, s0, s1, T, out + (size_t)s0 * m->c.hidden, off, err);
    s0 = s1;
  }
  ar_free(off);
  return s;
}
