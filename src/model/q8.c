/* q8.c - int8 linear layers (--precision int8): weight quantization at load, activation quantization
 * per row at run time, the product's loop order and epilogue, and the choice of kernel.
 *
 * Weights: symmetric per output channel, w ~ ws[n] * q, q in [-127, 127] (no -128, so negating one is
 * safe). Activations: symmetric per row, x ~ sa[m] * q, q in [-127, 127]. Symmetric activations keep
 * every kernel on the same integers: vpdpbusd multiplies u8 by s8, so the VNNI kernels feed q + 128 and
 * subtract 128 * sum_k w (comp, exact in int32); AVX2's vpmaddubsw moves the activation's sign onto the
 * weight (|q| <= 127, so a pair sum is at most 2 * 127 * 127 < 2^15: no int16 saturation). The int32
 * sums are exact in every kernel, so every kernel gives the same bits. The cost of symmetric over
 * asymmetric activations is one bit at most, on rows whose values are one-sided (GELU's output).
 *
 * Outliers: BERT-family checkpoints have a few hidden channels that every LayerNorm makes large (its
 * gamma/beta there are tens of times the others). One such channel sets a row's scale and leaves the
 * other channels a few levels of resolution. For layers whose input is a LayerNorm's output (QKV and
 * FFN1), the channels whose gamma/beta mark them as large are picked at load and kept out of the int8
 * product: their contribution is added in fp32 in the epilogue (LLM.int8()'s decomposition, with the
 * channels known in advance instead of found per batch). The attention output and FFN2 take inputs no
 * LayerNorm shapes (attention's weighted values, GELU's output) and have no such fixed channels. */
#include "model/model.h"
#include "core/util.h"
#include <math.h>
#include <stdlib.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define NR 16 /* columns per panel */

ar_q8_kernel ar_q8_best_kernel(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) return AR_Q8_AVX512VNNI;
#if defined(__GNUC__) && __GNUC__ >= 11
  if (__builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2")) return AR_Q8_AVXVNNI;
#endif
  if (__builtin_cpu_supports("avx2")) return AR_Q8_AVX2;
#endif
  return AR_Q8_SCALAR;
}

const char *ar_q8_kernel_name(ar_q8_kernel k) {
  static const char *n[] = {"scalar", "avx2", "avx-vnni", "avx512-vnni"};
  return (unsigned)k < AR_Q8_KERNELS ? n[k] : "?";
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Outlier channels of a LayerNorm's output: the normalized value is O(1) (|z| <= ~4 on real rows), so
 * channel j's magnitude is about 4 |g_j| + |b_j|; a channel 6x the median is one that would set the
 * row's int8 scale. At most K/16 of them (the largest), so the fp32 side stays small. */
static int pick_outliers(const float *g, const float *b, int K, int *oc) {
  float *s = ar_malloc((size_t)K * 2 * sizeof(float));
  if (!s) return -1;
  float *sorted = s + K;
  for (int j = 0; j < K; j++) sorted[j] = s[j] = 4.0f * fabsf(g[j]) + fabsf(b[j]);
  qsort(sorted, (size_t)K, sizeof(float), cmp_float);
  float thr = 6.0f * sorted[K / 2];
  int n = 0, cap = K / 16;
  while (n < cap) { /* largest first */
    int best = -1;
    for (int j = 0; j < K; j++)
      if (s[j] > thr && (best < 0 || s[j] > s[best])) best = j;
    if (best < 0) break;
    oc[n++] = best;
    s[best] = -1.0f;
  }
  ar_free(s);
  /* ascending order: the fp32 side reads them in address order */
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && oc[j - 1] > oc[j]; j--) { int t = oc[j]; oc[j] = oc[j - 1]; oc[j - 1] = t; }
  return n;
}

/* The largest |x[k]| over [k0, k1). Exact in any order, so the vector loop gives the scalar bits. A
 * plain `fmaxf` loop is not vectorized (its NaN rule) and costs a call per element: as much as the
 * int8 product itself on 448-token passages. */
static float amax_range(const float *x, int k0, int k1) {
  float m = 0.0f;
  int k = k0;
#if defined(__AVX2__)
  __m256 vm = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
  for (; k + 8 <= k1; k += 8) /* max(|x|, m): |x| first so a NaN is skipped, as in the scalar loop */
    vm = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), vm);
  float t[8];
  _mm256_storeu_ps(t, vm);
  for (int j = 0; j < 8; j++) m = t[j] > m ? t[j] : m;
#endif
  for (; k < k1; k++) {
    float a = fabsf(x[k]);
    m = a > m ? a : m;
  }
  return m;
}

/* The rounding rule of weights and activations alike: clamp(round-half-away(x * inv), -127, 127). The
 * vector loop in quantize_row does the same float operations (one multiply, one add of +-0.5,
 * truncation), so it gives these bits. */
static inline int q8_round(float x, float inv) {
  float v = x * inv;
  int qi = (int)(v + (v >= 0 ? 0.5f : -0.5f));
  return qi > 127 ? 127 : qi < -127 ? -127 : qi;
}

ar_status ar_q8_make(const float *W, int N, int K, const float *ln_g, const float *ln_b, ar_q8 *q, ar_error *err) {
  memset(q, 0, sizeof *q);
  int np = (N + NR - 1) / NR, Kp = (K + 3) & ~3;
  q->N = N; q->K = K; q->Kp = Kp;
  q->w = ar_calloc((size_t)np * NR * Kp, 1);
  q->ws = ar_calloc((size_t)np * NR, sizeof(float));
  q->comp = ar_calloc((size_t)np * NR, sizeof(int32_t));
  q->oc = ar_malloc((size_t)(K / 16 + 1) * sizeof(int));
  if (!q->w || !q->ws || !q->comp || !q->oc) goto nomem;
  if (ln_g && ln_b && (q->no = pick_outliers(ln_g, ln_b, K, q->oc)) < 0) goto nomem;
  if (q->no) {
    if (!(q->wo = ar_malloc((size_t)q->no * N * sizeof(float)))) goto nomem;
    for (int o = 0; o < q->no; o++)
      for (int n = 0; n < N; n++) q->wo[(size_t)o * N + n] = W[(size_t)n * K + q->oc[o]];
  }
  for (int n = 0; n < N; n++) {
    const float *w = W + (size_t)n * K;
    float amax = amax_range(w, 0, K);
    float inv = amax > 0 ? 127.0f / amax : 0.0f;
    q->ws[n] = amax / 127.0f;
    int8_t *d = q->w + (size_t)(n / NR) * NR * Kp + (size_t)(n % NR) * 4;
    int32_t sum = 0;
    for (int k = 0; k < K; k++) {
      int qi = q8_round(w[k], inv);
      d[(size_t)(k / 4) * NR * 4 + k % 4] = (int8_t)qi;
      sum += qi;
    }
    q->comp[n] = 128 * sum;
  }
  return AR_OK;
nomem:
  ar_q8_free(q);
  return ar_fail(err, AR_ERR_NOMEM, "out of memory quantizing a [%d, %d] layer", N, K);
}

void ar_q8_free(ar_q8 *q) {
  if (!q) return;
  ar_free(q->w); ar_free(q->ws); ar_free(q->comp); ar_free(q->oc); ar_free(q->wo);
  memset(q, 0, sizeof *q);
}

ar_status ar_q8_state_reserve(ar_q8_state *s, int rows, int max_k, ar_error *err) {
  if (rows <= s->cap_rows && max_k <= s->cap_k) return AR_OK;
  ar_q8_state_free(s);
  int Kp = (max_k + 3) & ~3;
  s->qa = ar_malloc((size_t)rows * Kp + 64);
  s->sa = ar_malloc((size_t)rows * sizeof(float));
  s->xo = ar_malloc((size_t)rows * (max_k / 16 + 1) * sizeof(float));
  if (!s->qa || !s->sa || !s->xo) {
    ar_q8_state_free(s);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory for %d rows of int8 activations", rows);
  }
  s->cap_rows = rows; s->cap_k = max_k;
  return AR_OK;
}

void ar_q8_state_free(ar_q8_state *s) {
  ar_free(s->qa); ar_free(s->sa); ar_free(s->xo);
  memset(s, 0, sizeof *s);
}

/* One row: d[k] = q8_round(x[k], inv) + off. The vector loop does the same
 * float operations (one multiply, one add of +-0.5, truncation), so it gives the scalar bits. */
static void quantize_row(const float *x, int K, float inv, uint8_t off, uint8_t *d) {
  int k = 0;
#if defined(__AVX2__)
  const __m256 vinv = _mm256_set1_ps(inv), half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f),
               zero = _mm256_setzero_ps();
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127), perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i voff = _mm256_set1_epi8((char)off);
  for (; k + 32 <= K; k += 32) {
    __m256i q[4];
    for (int j = 0; j < 4; j++) {
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vinv);
      __m256 r = _mm256_add_ps(v, _mm256_blendv_ps(mhalf, half, _mm256_cmp_ps(v, zero, _CMP_GE_OQ)));
      q[j] = _mm256_min_epi32(hi, _mm256_max_epi32(lo, _mm256_cvttps_epi32(r)));
    }
    /* packs work within 128-bit lanes: the permute puts the 32 bytes back in order */
    __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    b = _mm256_permutevar8x32_epi32(b, perm);
    _mm256_storeu_si256((__m256i *)(d + k), _mm256_add_epi8(b, voff));
  }
#endif
  for (; k < K; k++) d[k] = (uint8_t)(q8_round(x[k], inv) + off);
}

/* Rows of X -> qa [M, Kp] (s8, or u8 = s8 + 128), sa [M], xo [M, no] (outlier values, left out of qa). */
void ar_q8_quantize(const ar_q8 *q, int u8, const float *X, size_t ldx, int M, uint8_t *qa, float *sa, float *xo) {
  int K = q->K, Kp = q->Kp, no = q->no;
  uint8_t off = u8 ? 128 : 0;
  for (int m = 0; m < M; m++) {
    const float *x = X + (size_t)m * ldx;
    uint8_t *d = qa + (size_t)m * Kp;
    float amax = 0;
    int k0 = 0;
    for (int o = 0; o < no; o++) { /* the gaps between the (ascending) outlier channels */
      float a = amax_range(x, k0, q->oc[o]);
      amax = a > amax ? a : amax;
      xo[(size_t)m * no + o] = x[q->oc[o]];
      k0 = q->oc[o] + 1;
    }
    float a = amax_range(x, k0, K);
    amax = a > amax ? a : amax;
    float inv = amax > 0 ? 127.0f / amax : 0.0f;
    sa[m] = amax / 127.0f;
    quantize_row(x, K, inv, off, d);
    for (int k = K; k < Kp; k++) d[k] = off;
    for (int o = 0; o < no; o++) d[q->oc[o]] = off;
  }
}

/* Loop order: groups of panel pairs whose weights (~512 KB) stay in L2 while every 8-row tile of the
 * quantized input sweeps across them; a query's few row tiles reuse each pair while it is in cache.
 * The epilogue is plain C shared by every kernel (one fmaf per output; the AVX-512 VNNI kernel has the
 * same operations in intrinsics, gemm_q8.c), so the kernels agree bitwise. */
void ar_q8_gemm(ar_q8_kernel k, const ar_q8 *q, const uint8_t *qa, const float *sa, const float *xo, int M, int pp0,
                int pp1, const float *bias, float *Y, size_t ldy, int gelu) {
  ar_q8_tile_fn tile = ar_q8_tile(k);
  int N = q->N, Kp = q->Kp, no = q->no, u8 = k == AR_Q8_AVXVNNI || k == AR_Q8_AVX512VNNI;
  int np = (N + NR - 1) / NR, group = AR_MAX(1, (512 * 1024) / (Kp * 2 * NR));
  int32_t acc[AR_Q8_MR * 2 * NR];
  static const int32_t zero_i[2 * NR];
  static const float zero_f[2 * NR];
  for (int g0 = pp0; g0 < pp1; g0 += group) {
    int g1 = AR_MIN(pp1, g0 + group);
    for (int m0 = 0; m0 < M; m0 += AR_Q8_MR) {
      int mr = AR_MIN(AR_Q8_MR, M - m0);
      for (int pp = g0; pp < g1; pp++) {
        int p = 2 * pp, two = p + 1 < np, n0 = p * NR, nc = AR_MIN(N - n0, (two + 1) * NR);
        tile(qa + (size_t)m0 * Kp, (size_t)Kp, mr, q->w + (size_t)p * NR * Kp, Kp, two + 1, acc);
        /* branch-free so it vectorizes: zeros stand in for a missing bias or compensation */
        const int32_t *cp = u8 ? q->comp + n0 : zero_i;
        const float *bp = bias ? bias + n0 : zero_f, *ws = q->ws + n0;
#if defined(__x86_64__)
        if (k == AR_Q8_AVX512VNNI) {
          ar_q8_epilogue_avx512(acc, mr, nc, cp, bp, ws, sa + m0, xo + (size_t)m0 * no, no, q->wo + n0, (size_t)N,
                                Y + (size_t)m0 * ldy + n0, ldy, gelu);
          continue;
        }
#endif
        for (int r = 0; r < mr; r++) {
          const int32_t *a = acc + r * 2 * NR;
          float *y = Y + (size_t)(m0 + r) * ldy + n0, s = sa[m0 + r];
          for (int c = 0; c < nc; c++) y[c] = fmaf((float)(a[c] - cp[c]), s * ws[c], bp[c]);
          for (int o = 0; o < no; o++) {
            float xv = xo[(size_t)(m0 + r) * no + o];
            const float *wo = q->wo + (size_t)o * N + n0;
            for (int c = 0; c < nc; c++) y[c] = fmaf(xv, wo[c], y[c]);
          }
          if (gelu) ar_gelu(y, nc);
        }
      }
    }
  }
}

/* ---- over the pool ---- */
typedef struct q8_job {
  ar_q8_kernel k;
  const ar_q8 *q;
  ar_q8_state *s;
  const float *X, *bias;
  float *Y;
  int T, gelu, rows_per, blocks, pairs_per, npairs;
} q8_job;

static void quant_task(void *ctx, int task, int worker) {
  (void)worker;
  q8_job *j = ctx;
  int r0 = task * j->rows_per, r = AR_MIN(j->T - r0, j->rows_per), u8 = j->k == AR_Q8_AVXVNNI || j->k == AR_Q8_AVX512VNNI;
  if (r <= 0) return;
  ar_q8_quantize(j->q, u8, j->X + (size_t)r0 * j->q->K, (size_t)j->q->K, r, j->s->qa + (size_t)r0 * j->q->Kp,
                 j->s->sa + r0, j->s->xo + (size_t)r0 * j->q->no);
}

static void gemm_task(void *ctx, int task, int worker) {
  (void)worker;
  q8_job *j = ctx;
  const ar_q8 *q = j->q;
  if (j->blocks) { /* a block of rows, every panel */
    int r0, r1, r;
    ar_row_block(j->T, AR_Q8_MR, j->blocks, task, &r0, &r1);
    if ((r = r1 - r0) <= 0) return;
    ar_q8_gemm(j->k, q, j->s->qa + (size_t)r0 * q->Kp, j->s->sa + r0, j->s->xo + (size_t)r0 * q->no, r, 0, j->npairs,
               j->bias, j->Y + (size_t)r0 * q->N, (size_t)q->N, j->gelu);
    return;
  }
  int p0 = task * j->pairs_per, p1 = AR_MIN(j->npairs, p0 + j->pairs_per);
  if (p0 < p1)
    ar_q8_gemm(j->k, q, j->s->qa, j->s->sa, j->s->xo, j->T, p0, p1, j->bias, j->Y, (size_t)q->N, j->gelu);
}

void ar_q8_linear(ar_pool *pool, int nt, ar_q8_kernel k, const ar_q8 *q, ar_q8_state *s, const float *X, int T,
                  const float *bias, float *Y, int gelu) {
  q8_job j = {.k = k, .q = q, .s = s, .X = X, .bias = bias, .Y = Y, .T = T, .gelu = gelu};
  j.npairs = ((q->N + NR - 1) / NR + 1) / 2;
  if (T >= 64 * nt) {
    int qt = AR_MIN(T, 4 * nt);
    j.rows_per = (T + qt - 1) / qt;
    ar_pool_run(pool, (T + j.rows_per - 1) / j.rows_per, quant_task, &j);
  } else { /* a query's few rows: quicker here than one more hand-off to the pool */
    j.rows_per = T;
    quant_task(&j, 0, 0);
  }
  if (T >= 64 * nt) { /* passages: row blocks of whole 8-row tiles, a few per thread */
    j.blocks = nt * AR_MAX(1, (T + 96 * nt / 2) / (96 * nt));
    j.pairs_per = 0;
    ar_pool_run(pool, j.blocks, gemm_task, &j);
  } else { /* a query: panel-pair ranges, each thread streams its share of the weights */
    j.blocks = 0;
    int tasks = AR_MIN(j.npairs, nt == 1 ? 1 : 4 * nt);
    j.pairs_per = (j.npairs + tasks - 1) / tasks;
    ar_pool_run(pool, (j.npairs + j.pairs_per - 1) / j.pairs_per, gemm_task, &j);
  }
}
