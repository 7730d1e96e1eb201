/* forward.c - the encoder forward pass over a batch of unpadded sequences, concatenated:
 * embeddings -> L post-LN blocks -> pooling (mean, CLS or last token) -> L2 normalisation (when the model's
 * files ask for it; the classifier head of a reranker takes the CLS row as it is).
 * Work is split over the model's thread pool: linear layers by 16-column panels (the model's
 * kernel, m->gemm_fn, over packed weights, or OpenBLAS sgemm), attention by (sequence, head),
 * row-wise kernels by token ranges. No output depends on the batch it shares or on the thread count. */
#include "model/model.h"
#include "core/util.h"
#include <cblas.h>
#include <math.h>

#define AR_CHUNK_TOKENS 4096 /* tokens per forward chunk: big enough for GEMM efficiency, small enough for RSS */
#define AR_ATT_ROWS 12       /* query rows per attention step: their scores stay in L1 */
#define ROW_TILE 12          /* rows of the AVX-512 kernel's register tile (the AVX2 kernel's 6 divides it) */
#define BLOCK_ROWS 48        /* rows per product task: 4 tiles, the kernel's few-rows loop order */

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; } /* floats: whole 64-byte lines */
static float *align64(void *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

static void run_state_free(ar_run_state *rs) {
  ar_free(rs->act); ar_free(rs->att);
  ar_q8_state_free(&rs->q8);
  memset(rs, 0, sizeof *rs);
}

static void state_free(ar_model_state *st) {
  if (!st) return;
  run_state_free(&st->rs);
  ar_free(st->row);
  ar_free(st->rowraw);
  ar_free(st);
}

void ar_model_states_free(ar_model *m) {
  while (m->free_states) {
    ar_model_state *st = m->free_states;
    m->free_states = st->next;
    state_free(st);
  }
}

/* An idle state from the free list, or a new one (NULL when out of memory). */
static ar_model_state *state_take(ar_model *m) {
  pthread_mutex_lock(&m->states_mu);
  ar_model_state *st = m->free_states;
  if (st) m->free_states = st->next;
  pthread_mutex_unlock(&m->states_mu);
  if (st) return st;
  st = ar_calloc(1, sizeof *st);
  if (!st) return NULL;
  st->row = ar_malloc((size_t)m->n_threads * m->c.hidden * sizeof(float));
  st->rowraw = ar_malloc((size_t)m->n_threads * m->c.hidden * 4);
  if (!st->row || !st->rowraw) { state_free(st); return NULL; }
  return st;
}

static void state_give(ar_model *m, ar_model_state *st) {
  pthread_mutex_lock(&m->states_mu);
  st->next = m->free_states;
  m->free_states = st;
  pthread_mutex_unlock(&m->states_mu);
}

/* Per-worker attention scratch, in floats: packed keys [n, d] and values [n, d] and AR_ATT_ROWS rows
 * of scores (packed), or one [n, n] score matrix (OpenBLAS). */
static size_t att_floats(const ar_model *m, int T) {
  /* no sequence is longer than the chunk: a long-context model (8k positions) need not pay n^2 per worker */
  int n = AR_MIN(m->max_tokens, T), d = m->c.hidden / m->c.heads;
  if (m->gemm == AR_GEMM_OPENBLAS) return (size_t)n * n;
  if (m->att_bf16) return (ar_attention_bf16_bytes(n, d) + 3) / 4;
  return ar_pack_size(d, n) + ar_pack_size(n, d) + (size_t)AR_ATT_ROWS * n;
}

static ar_status ensure_state(const ar_model *m, ar_run_state *rs, int T, ar_error *err) {
  if (T <= rs->cap_tokens) return AR_OK;
  run_state_free(rs);
  size_t H = (size_t)m->c.hidden, F = (size_t)m->c.inter, t = (size_t)T;
  /* one block, each array on a 64-byte boundary (whole cache lines: the kernel may stream into them) */
  size_t nx = up16(t * H), nq = up16(t * 3 * H), nf = up16(t * F);
  rs->act = ar_malloc((3 * nx + nq + nf) * sizeof(float) + 64);
  if (rs->act) {
    rs->x = align64(rs->act);  /* [T, H] */
    rs->qkv = rs->x + nx;   /* [T, 3H] */
    rs->ctx = rs->qkv + nq; /* [T, H] */
    rs->a = rs->ctx + nx;   /* [T, H] */
    rs->ff = rs->a + nx;    /* [T, F] */
  }
  rs->att_stride = up16(att_floats(m, T));
  rs->att = ar_malloc((size_t)m->n_threads * rs->att_stride * sizeof(float) + 64);
  if (!rs->act || !rs->att) {
    run_state_free(rs);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory for %d tokens of activations", T);
  }
  if (m->precision == AR_PRECISION_INT8 && ar_q8_state_reserve(&rs->q8, T, AR_MAX(H, F), err)) {
    run_state_free(rs);
    return AR_ERR_NOMEM;
  }
  rs->cap_tokens = T;
  return AR_OK;
}

/* One row of an embedding table, widened to fp32 in dst; -1 if it holds NaN/Inf or cannot be read.
 * raw: H * 4 bytes of scratch. */
static int table_row(const ar_model *m, uint8_t *raw, const ar_emb_table *e, int r, float *dst) {
  const ar_st_tensor *t = e->t;
  size_t n = (size_t)e->cols, el = t->dtype == AR_ST_F32 ? 4 : 2;
  if (ar_st_read(&m->st, t, (size_t)r * n * el, raw, n * el)) return -1;
  if (t->dtype == AR_ST_F32) memcpy(dst, raw, n * 4);
  else if (t->dtype == AR_ST_F16) ar_widen_f16(raw, dst, n);
  else ar_widen_bf16(raw, dst, n);
  uint32_t bad = 0, u;
  for (size_t i = 0; i < n; i++) { memcpy(&u, dst + i, 4); bad |= (u & 0x7F800000u) == 0x7F800000u; }
  return bad ? -1 : 0;
}

/* The embedding lookups, spread over the pool in pieces of up to EMB_PIECE tokens of one sequence:
 * three reads from the file per token (word, type, position), serial work that left the other cores
 * idle for a tenth of an int8 passage batch. A piece that meets a bad row records its first token;
 * the lowest is reported, as a one-thread loop would. */
#define EMB_PIECE 64
typedef struct emb_job {
  const ar_model *m;
  ar_model_state *st;
  const int32_t *const *ids, *const *types;
  const int *n_ids, *off;      /* per sequence of the chunk: length, first row */
  int s0;
  float *x;
  int *piece;                  /* [pieces][2]: sequence (from s0), first token */
  int *bad;                    /* [pieces]: the first bad token's table (1 word, 2 type, 3 position) and row */
} emb_job;

static void embed_task(void *ctx, int task, int worker) {
  emb_job *e = ctx;
  const ar_model *m = e->m;
  const ar_model_config *c = &m->c;
  int H = c->hidden, s = e->piece[2 * task], i0 = e->piece[2 * task + 1];
  const int32_t *ids = e->ids[e->s0 + s], *types = e->types ? e->types[e->s0 + s] : NULL;
  int n = e->n_ids[e->s0 + s], i1 = AR_MIN(n, i0 + EMB_PIECE);
  float *row = e->st->row + (size_t)worker * H;
  uint8_t *raw = e->st->rowraw + (size_t)worker * H * 4;
  /* positions: BERT 0..n-1; XLM-R counts non-pad tokens from pad+1 (a literal <pad> gets pad) */
  int count = 0;
  for (int i = 0; c->pos_offset && i < i0; i++) count += ids[i] != c->pad_id;
  e->bad[2 * task] = 0;
  for (int i = i0; i < i1; i++) {
    float *xi = e->x + (size_t)(e->off[s] + i) * H;
    int p = c->pos_offset == 0 ? i : ids[i] != c->pad_id ? ++count + c->pad_id : c->pad_id;
    int ty = types ? types[i] : 0; /* token types: a BERT pair's second sequence is type 1 */
    int which = table_row(m, raw, &m->word, ids[i], xi) ? 1 : table_row(m, raw, &m->type, ty, row) ? 2 : 0;
    if (!which) {
      for (int k = 0; k < H; k++) xi[k] += row[k];
      if (table_row(m, raw, &m->pos, p, row)) which = 3;
    }
    if (which) {
      e->bad[2 * task] = which;
      e->bad[2 * task + 1] = which == 1 ? ids[i] : which == 2 ? ty : p;
      return;
    }
    for (int k = 0; k < H; k++) xi[k] += row[k];
    ar_layernorm(xi, m->emb_ln_g, m->emb_ln_b, H, c->eps);
  }
}

static ar_status embed_tokens(const ar_model *m, ar_model_state *st, ar_pool *pool, const int32_t *const *ids,
                              const int32_t *const *types, const int *n_ids, int s0, int s1, const int *off, float *x,
                              ar_error *err) {
  int pieces = 0;
  for (int s = s0; s < s1; s++) pieces += (n_ids[s] + EMB_PIECE - 1) / EMB_PIECE;
  int *buf = ar_malloc((size_t)pieces * 4 * sizeof(int));
  if (!buf) return ar_fail(err, AR_ERR_NOMEM, "embed: out of memory");
  emb_job e = {.m = m, .st = st, .ids = ids, .types = types, .n_ids = n_ids, .off = off, .s0 = s0, .x = x,
               .piece = buf, .bad = buf + 2 * pieces};
  for (int s = s0, k = 0; s < s1; s++)
    for (int i = 0; i < n_ids[s]; i += EMB_PIECE, k++) { buf[2 * k] = s - s0; buf[2 * k + 1] = i; }
  ar_pool_run(pool, pieces, embed_task, &e); /* a NULL pool: on this thread, in order */
  ar_status rc = AR_OK;
  for (int t = 0; t < pieces && !rc; t++) /* pieces are in token order: the first bad one is the lowest */
    if (e.bad[2 * t]) {
      const ar_emb_table *tb = e.bad[2 * t] == 1 ? &m->word : e.bad[2 * t] == 2 ? &m->type : &m->pos;
      rc = ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': row %d holds NaN or Inf (or cannot be read)", m->st.path,
                   tb->t->name, e.bad[2 * t + 1]);
    }
  ar_free(buf);
  return rc;
}

/* ---- parallel jobs ---- */
typedef struct job {
  const ar_model *m;
  ar_run_state *rs;            /* this call's activations */
  ar_pool *pool;               /* the model's pool, or NULL: this thread alone (another call has the pool) */
  int nt;                      /* threads working on the call */
  int T;                       /* tokens in the chunk */
  int ns;                      /* sequences in the chunk */
  const int *off, *len;        /* per sequence: first token row, length */
  /* linear: Y[T, out] = gelu?(X[T, in] W^T + B) */
  const float *X, *W, *B;
  float *Y;
  int out, in, epi;           /* epi: AR_EPI_* */
  int panels_per;              /* tasks are panel ranges over all rows (few rows) ... */
  int blocks;                  /* ... or row blocks over all panels (many rows): tasks [0, blocks) split */
  int head;                    /* rows [0, head) in whole tiles, later tasks take one tile each up to T */
  int rows_per;                /* residual_ln's blocks */
  /* rows: y = LN(y + res) */
  float *ry;
  const float *rres, *rg, *rb;
} job;

/* Runs the tasks on the call's pool, or one after another on this thread. */
static void run_tasks(job *j, int n_tasks, ar_task_fn fn) {
  if (j->pool) ar_pool_run(j->pool, n_tasks, fn, j);
  else
    for (int t = 0; t < n_tasks; t++) fn(j, t, 0);
}

static void linear_task(void *ctx, int task, int worker) {
  (void)worker;
  job *j = ctx;
  int np = (j->out + AR_PANEL - 1) / AR_PANEL;
  if (j->blocks) {
    int r0, r1;
    if (task < j->blocks) ar_row_block(j->head, ROW_TILE, j->blocks, task, &r0, &r1);
    else r0 = j->head + (task - j->blocks) * ROW_TILE, r1 = AR_MIN(j->T, r0 + ROW_TILE);
    if (r1 <= r0) return;
    j->m->gemm_fn(j->X + (size_t)r0 * j->in, (size_t)j->in, r1 - r0, j->W, j->in, j->out, 0, np,
                  j->Y + (size_t)r0 * j->out, (size_t)j->out, 1.0f, j->B, j->epi);
    return;
  }
  int p0 = task * j->panels_per, p1 = AR_MIN(np, p0 + j->panels_per);
  if (p0 >= p1) return;
  if (j->m->gemm == AR_GEMM_PACKED) {
    j->m->gemm_fn(j->X, (size_t)j->in, j->T, j->W, j->in, j->out, p0, p1, j->Y, (size_t)j->out, 1.0f, j->B,
                  j->epi & AR_EPI_GELU); /* a query's outputs are read again at once: no streaming */
    return;
  }
  int n0 = p0 * AR_PANEL, n1 = AR_MIN(j->out, p1 * AR_PANEL);
  /* OpenBLAS: one product per sequence, so a sequence's rounding never depends on its batch */
  for (int s = 0; s < j->ns; s++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->len[s], n1 - n0, j->in, 1.0f,
                j->X + (size_t)j->off[s] * j->in, j->in, j->W + (size_t)n0 * j->in, j->in, 0.0f,
                j->Y + (size_t)j->off[s] * j->out + n0, j->out);
  for (int t = 0; t < j->T; t++) {
    float *y = j->Y + (size_t)t * j->out + n0;
    ar_add_bias(y, j->B + n0, n1 - n0);
    if (j->epi & AR_EPI_GELU) ar_gelu(y, n1 - n0);
  }
}

/* Y = gelu?(X W^T + B), W [out, in] (packed or not), spread over the pool.
 * Many rows: blocks of at most 48 rows (4 AVX-512 tiles), each over every panel, so the kernel takes its
 * few-rows loop order (all of K per tile, the next panel pair prefetched while this one is in use): on
 * e5-base that ran the products ~7% faster than 96-row blocks in the many-rows order (K in passes of
 * 256, each pass reloading C); ~19 blocks per thread balance a noisy machine.
 * Few rows (a query): panel ranges, so each thread streams only its share of the weights. */
static void linear(job *j, const float *X, const float *W, const ar_q8 *Q, const float *B, float *Y, int out, int in,
                   int epi) {
  if (Q) { /* int8 (q8.c) */
    ar_q8_linear(j->pool, j->nt, j->m->q8k, Q, &j->rs->q8, X, j->T, B, Y, epi & AR_EPI_GELU);
    return;
  }
  int nt = j->nt, np = (out + AR_PANEL - 1) / AR_PANEL, tasks;
  j->X = X; j->W = W; j->B = B; j->Y = Y;
  j->out = out; j->in = in; j->epi = epi;
  j->blocks = j->panels_per = 0;
  if (j->m->gemm == AR_GEMM_PACKED && j->T >= 64 * nt) {
    /* the last 2 nt tasks are single tiles: a thread that finds nothing left waits for at most one
     * tile instead of a block (with equal blocks, timers showed 1.25% of the products' thread time idle) */
    j->head = ROW_TILE * ((j->T + ROW_TILE - 1) / ROW_TILE - 2 * nt);
    j->blocks = nt * AR_MAX(1, (j->head + BLOCK_ROWS * nt - 1) / (BLOCK_ROWS * nt)); /* a multiple of nt */
    tasks = j->blocks + 2 * nt;
  } else {
    tasks = AR_MIN(np, nt == 1 ? 1 : 4 * nt);
    j->panels_per = (np + tasks - 1) / tasks;
    tasks = (np + j->panels_per - 1) / j->panels_per;
  }
  run_tasks(j, tasks, linear_task);
}

/* The d floats of n rows of q, k, v or the output (row stride ld) towards the cache: rows are 3H (or H)
 * floats apart, a stride the hardware prefetchers do not follow across pages, and the QKV product left
 * them in L3. A few percent of the attention's time. */
static void prefetch_rows(const float *x, int n, int d, size_t ld, int write) {
  for (int j = 0; j < n; j++)
    for (int c = 0; c < d; c += 16) {
      if (write) __builtin_prefetch(x + (size_t)j * ld + c, 1);
      else __builtin_prefetch(x + (size_t)j * ld + c);
    }
}

/* Self-attention of one (sequence, head): unpadded, so no mask. q, k, v: [n, d] with row stride 3H. */
static void attention_task(void *ctx, int task, int worker) {
  job *j = ctx;
  const ar_model *m = j->m;
  ar_run_state *rs = j->rs;
  int H = m->c.hidden, nh = m->c.heads, d = H / nh;
  int s = task / nh, h = task % nh, t0 = j->off[s], n = j->len[s];
  size_t ld = 3 * (size_t)H;
  float scale = 1.0f / sqrtf((float)d);
  const float *q = rs->qkv + (size_t)t0 * ld + h * d, *k = q + H, *v = q + 2 * H;
  float *o = rs->ctx + (size_t)t0 * H + h * d; /* [n, d] with row stride H */
  float *w = align64(rs->att) + (size_t)worker * rs->att_stride;
  if (m->gemm == AR_GEMM_OPENBLAS) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, ld, k, ld, 0.0f, w, n);
    for (int i = 0; i < n; i++) ar_softmax(w + (size_t)i * n, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, w, n, v, ld, 0.0f, o, H);
    return;
  }
  prefetch_rows(k, n, d, ld, 0);
  prefetch_rows(v, n, d, ld, 0);
  if (m->att_bf16) {
    ar_attention_bf16(q, k, v, ld, n, d, scale, o, (size_t)H, w);
    return;
  }
  float *kp = w;                          /* K^T packed: [d, n] */
  float *vp = kp + ar_pack_size(d, n);    /* V packed: [n, d] */
  float *S = vp + ar_pack_size(n, d);     /* [AR_ATT_ROWS, n] scores, then probabilities */
  prefetch_rows(q, AR_MIN(n, AR_ATT_ROWS), d, ld, 0);
  ar_pack_rows(k, n, d, ld, kp);
  ar_pack_cols(v, n, d, ld, vp);
  int np = (n + AR_PANEL - 1) / AR_PANEL, dp = (d + AR_PANEL - 1) / AR_PANEL;
  for (int i0 = 0; i0 < n; i0 += AR_ATT_ROWS) {
    int r = AR_MIN(AR_ATT_ROWS, n - i0);
    float inv[AR_ATT_ROWS];
    if (i0 + r < n) { /* the next block's query rows, and its output rows (written, not read) */
      prefetch_rows(q + (size_t)(i0 + r) * ld, AR_MIN(n - i0 - r, AR_ATT_ROWS), d, ld, 0);
      prefetch_rows(o + (size_t)(i0 + r) * H, AR_MIN(n - i0 - r, AR_ATT_ROWS), d, (size_t)H, 1);
    }
    m->gemm_fn(q + (size_t)i0 * ld, ld, r, kp, d, n, 0, np, S, (size_t)n, scale, NULL, 0);
    for (int i = 0; i < r; i++) inv[i] = 1.0f / m->exp_fn(S + (size_t)i * n, n);
    m->gemm_fn(S, (size_t)n, r, vp, n, d, 0, dp, o + (size_t)i0 * H, (size_t)H, 1.0f, NULL, 0);
    /* softmax's division, on the d outputs of a row instead of its n probabilities */
    for (int i = 0; i < r; i++)
      for (int c = 0; c < d; c++) o[(size_t)(i0 + i) * H + c] *= inv[i];
  }
}

static void rows_task(void *ctx, int task, int worker) {
  (void)worker;
  job *j = ctx;
  int H = j->m->c.hidden, t1 = AR_MIN(j->T, (task + 1) * j->rows_per);
  for (int t = task * j->rows_per; t < t1; t++)
    ar_add_residual_layernorm(j->ry + (size_t)t * H, j->rres + (size_t)t * H, j->rg, j->rb, H,
                                   j->m->c.eps);
}

/* y = LayerNorm(y + res) row by row */
static void residual_ln(job *j, float *y, const float *res, const float *g, const float *b) {
  j->ry = y; j->rres = res; j->rg = g; j->rb = b;
  int tasks = AR_MIN(j->T, 4 * j->nt);
  j->rows_per = (j->T + tasks - 1) / tasks;
  run_tasks(j, (j->T + j->rows_per - 1) / j->rows_per, rows_task);
}

/* Forward of sequences [s0, s1) whose total length is T <= cap. */
static ar_status forward_chunk(const ar_model *m, ar_model_state *st, ar_pool *pool, const int32_t *const *ids,
                               const int32_t *const *types, const int *n_ids, int s0, int s1, int T,
                               ar_pooling pooling, int normalize, float *out, int *off, ar_error *err) {
  const ar_model_config *c = &m->c;
  ar_run_state *rs = &st->rs;
  int H = c->hidden, F = c->inter;
  ar_status s;
  for (int i = s0, t = 0; i < s1; t += n_ids[i], i++) off[i - s0] = t;
  if ((s = embed_tokens(m, st, pool, ids, types, n_ids, s0, s1, off, rs->x, err))) return s;
  job j = {.m = m, .rs = rs, .pool = pool, .nt = pool ? ar_pool_threads(pool) : 1, .T = T, .ns = s1 - s0,
           .off = off, .len = n_ids + s0};
  for (int l = 0; l < c->layers; l++) {
    const ar_layer *w = &m->layer[l];
    linear(&j, rs->x, w->wqkv, w->qqkv, w->bqkv, rs->qkv, 3 * H, H, 0);   /* [T, 3H] */
    run_tasks(&j, j.ns * c->heads, attention_task);                        /* [T, H] */
    linear(&j, rs->ctx, w->wo, w->qo, w->bo, rs->a, H, H, 0);             /* [T, H] */
    residual_ln(&j, rs->a, rs->x, w->ln1_g, w->ln1_b);
    /* [T, F]: streamed past the cache, FFN2 reads it from memory anyway (T F floats; e5-base passages
     * ran ~3% faster without the read for ownership and the evictions its stores caused) */
    linear(&j, rs->a, w->wi, w->qi, w->bi, rs->ff, F, H, AR_EPI_GELU | AR_EPI_STREAM);
    linear(&j, rs->ff, w->wout, w->qout, w->bout, rs->x, H, F, 0);          /* [T, H] */
    residual_ln(&j, rs->x, rs->a, w->ln2_g, w->ln2_b);
  }
  /* pooling: mean over every token (the mask is all ones: no padding), the first token (CLS / <s>), or
   * the last; then, when asked, v / max(|v|, 1e-12) (sentence-transformers' Normalize) */
  for (int i = s0, t = 0; i < s1; t += n_ids[i], i++) {
    float *o = out + (size_t)(i - s0) * H;
    if (pooling == AR_POOL_MEAN) {
      for (int jj = 0; jj < H; jj++) {
        double acc = 0;
        for (int r = 0; r < n_ids[i]; r++) acc += rs->x[(size_t)(t + r) * H + jj];
        o[jj] = (float)(acc / n_ids[i]);
      }
    } else {
      int r = pooling == AR_POOL_CLS ? 0 : n_ids[i] - 1;
      memcpy(o, rs->x + (size_t)(t + r) * H, (size_t)H * sizeof(float));
    }
    if (!normalize) continue;
    double nn = 0;
    for (int jj = 0; jj < H; jj++) nn += (double)o[jj] * o[jj];
    double norm = sqrt(nn);
    if (norm < 1e-12) norm = 1e-12;
    for (int jj = 0; jj < H; jj++) o[jj] = (float)(o[jj] / norm);
  }
  return AR_OK;
}

ar_status ar_model_forward(ar_model *m, const int32_t *const *ids, const int32_t *const *types, const int *n_ids,
                           int n, ar_pooling pooling, int normalize, float *out, ar_error *err) {
  if (n < 0 || (n > 0 && (!ids || !n_ids || !out))) return ar_fail(err, AR_ERR_INVALID, "embed: bad arguments");
  for (int i = 0; i < n; i++) {
    if (n_ids[i] < 1 || n_ids[i] > m->max_tokens)
      return ar_fail(err, AR_ERR_INVALID, "embed: sequence %d has %d tokens (1..%d allowed)", i, n_ids[i],
                     m->max_tokens);
    for (int j = 0; j < n_ids[i]; j++)
      if (ids[i][j] < 0 || ids[i][j] >= m->c.vocab)
        return ar_fail(err, AR_ERR_INVALID, "embed: sequence %d token %d: id %d outside the vocabulary (0..%d)", i, j,
                       ids[i][j], m->c.vocab - 1);
    for (int j = 0; types && j < n_ids[i]; j++)
      if (types[i][j] < 0 || types[i][j] >= m->c.type_vocab)
        return ar_fail(err, AR_ERR_INVALID, "embed: sequence %d token %d: token type %d outside 0..%d", i, j,
                       types[i][j], m->c.type_vocab - 1);
  }
  int *off = ar_malloc((size_t)(n + 1) * sizeof *off);
  ar_model_state *st = off ? state_take(m) : NULL;
  if (!st) { ar_free(off); return ar_fail(err, AR_ERR_NOMEM, "embed: out of memory"); }
  /* The pool serves one call at a time. A call that finds it busy runs on its own thread: with as
   * many pool threads as cores, concurrent calls then fill the cores without piling threads on them. */
  ar_pool *pool = pthread_mutex_trylock(&m->pool_mu) == 0 ? m->pool : NULL;
  ar_status s = AR_OK;
  for (int s0 = 0; s0 < n && s == AR_OK;) {
    int s1 = s0, T = 0;
    while (s1 < n && (s1 == s0 || T + n_ids[s1] <= AR_CHUNK_TOKENS)) T += n_ids[s1++];
    s = ensure_state(m, &st->rs, AR_MAX(T, AR_MIN(AR_CHUNK_TOKENS, T * 2)), err);
    if (s == AR_OK) s = forward_chunk(m, st, pool, ids, types, n_ids, s0, s1, T, pooling, normalize,
                                    out + (size_t)s0 * m->c.hidden, off, err);
    s0 = s1;
  }
  if (pool) pthread_mutex_unlock(&m->pool_mu);
  state_give(m, st);
  ar_free(off);
  return s;
}

ar_status ar_model_embed_ids(ar_model *m, const int32_t *const *ids, const int *n_ids, int n, float *out,
                             ar_error *err) {
  return ar_model_forward(m, ids, NULL, n_ids, n, m->pooling, m->normalize, out, err);
}
