/* test_gemm_q8.c - the int8 linear layer (q8.c, gemm_q8.c): every kernel this CPU has gives the same
 * bits as the scalar one (the int32 sums are exact), and the result is within the quantization error
 * bound of a double-precision product of the unquantized inputs; outlier channels are picked from the
 * LayerNorm and computed exactly; every tile shape and partial panel; nothing written past N. */
#include "test.h"
#include "core/util.h"
#include "model/model.h"
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) { return (float)(ar_rng_unit(&rng_state) * 2.0 - 1.0); } /* [-1, 1) */

static int kernel_available(ar_q8_kernel k) {
  if (k == AR_Q8_SCALAR) return 1;
#if defined(__x86_64__)
  if (k == AR_Q8_AVX2) return __builtin_cpu_supports("avx2");
#if defined(__GNUC__) && __GNUC__ >= 11
  if (k == AR_Q8_AVXVNNI) return __builtin_cpu_supports("avxvnni");
#endif
  if (k == AR_Q8_AVX512VNNI) return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#endif
  return 0;
}

/* Y for kernel k; ldy > N, the gap holds a sentinel. Returns NULL on allocation failure. */
static float *run(ar_q8_kernel k, const ar_q8 *q, const float *X, int M, const float *bias, int gelu, size_t ldy) {
  int u8 = k == AR_Q8_AVXVNNI || k == AR_Q8_AVX512VNNI, npairs = ((q->N + 15) / 16 + 1) / 2;
  uint8_t *qa = malloc((size_t)M * q->Kp + 1);
  float *sa = malloc((size_t)M * sizeof(float)), *xo = malloc(((size_t)M * q->no + 1) * sizeof(float));
  float *Y = malloc((size_t)M * ldy * sizeof(float));
  if (!qa || !sa || !xo || !Y) { free(qa); free(sa); free(xo); free(Y); return NULL; }
  for (size_t i = 0; i < (size_t)M * ldy; i++) Y[i] = 12345.0f;
  ar_q8_quantize(q, u8, X, (size_t)q->K, M, qa, sa, xo);
  /* in two calls over panel pairs, as the thread pool splits it */
  ar_q8_gemm(k, q, qa, sa, xo, M, 0, npairs / 2, bias, Y, ldy, gelu);
  ar_q8_gemm(k, q, qa, sa, xo, M, npairs / 2, npairs, bias, Y, ldy, gelu);
  free(qa); free(sa); free(xo);
  return Y;
}

static int check_case(int M, int N, int K, int outliers, int gelu) {
  float *W = malloc((size_t)N * K * sizeof(float)), *X = malloc((size_t)M * K * sizeof(float));
  float *bias = malloc((size_t)N * sizeof(float)), *g = malloc((size_t)K * sizeof(float));
  float *b = malloc((size_t)K * sizeof(float));
  int bad = !W || !X || !bias || !g || !b;
  int oc[2] = {K / 3, K - 1}; /* the LayerNorm makes these two channels ~40x the others */
  for (int n = 0; !bad && n < N; n++) {
    bias[n] = frand();
    for (int k = 0; k < K; k++) W[(size_t)n * K + k] = frand() * (1.0f + (n % 7)); /* scales differ by row */
  }
  for (int k = 0; !bad && k < K; k++) { g[k] = 1.0f + 0.1f * frand(); b[k] = 0.1f * frand(); }
  if (outliers && !bad) { g[oc[0]] = 40.0f; b[oc[1]] = -45.0f; }
  for (int m = 0; !bad && m < M; m++)
    for (int k = 0; k < K; k++) {
      float z = frand() * 2.0f;
      X[(size_t)m * K + k] = g[k] * z + b[k];
    }
  ar_q8 q;
  if (!bad && ar_q8_make(W, N, K, outliers ? g : NULL, outliers ? b : NULL, &q, NULL)) bad = 1;
  if (bad) { free(W); free(X); free(bias); free(g); free(b); return 1; }
  int want_no = outliers && K >= 32 ? 2 : 0; /* at most K/16 outliers */
  if (q.no != want_no || (want_no && (q.oc[0] != oc[0] || q.oc[1] != oc[1]))) {
    fprintf(stderr, "  M%d N%d K%d: %d outlier channels (%d, %d), expected %d\n", M, N, K, q.no, q.no ? q.oc[0] : -1,
            q.no > 1 ? q.oc[1] : -1, want_no);
    bad = 1;
  }
  size_t ldy = (size_t)N + 3;
  float *ref = bad ? NULL : run(AR_Q8_SCALAR, &q, X, M, bias, gelu, ldy);
  if (!ref) bad = 1;
  for (int m = 0; !bad && m < M; m++) {
    const float *x = X + (size_t)m * K;
    double amax = 0;
    for (int k = 0; k < K; k++)
      if (!(q.no && (k == oc[0] || k == oc[1]))) amax = fmax(amax, fabs(x[k]));
    double sa = amax / 127;
    for (size_t n = 0; n < ldy; n++) {
      float got = ref[(size_t)m * ldy + n];
      if (n >= (size_t)N) {
        if (got != 12345.0f) { fprintf(stderr, "  M%d N%d K%d: Y[%d,%zu] overwritten\n", M, N, K, m, n); bad = 1; }
        continue;
      }
      /* x = sa qx + ex, |ex| <= sa/2 (0 for outliers); w = ws qw + ew, |ew| <= ws/2 */
      const float *w = W + n * (size_t)K;
      double wmax = 0, exact = bias[n], bound = 1e-5 * (1 + fabs(bias[n]));
      for (int k = 0; k < K; k++) wmax = fmax(wmax, fabs(w[k]));
      double ws = wmax / 127;
      for (int k = 0; k < K; k++) {
        int out = q.no && (k == oc[0] || k == oc[1]);
        exact += (double)x[k] * w[k];
        bound += out ? fabs(x[k] * w[k]) * 1e-6 : (sa / 2) * fabs(w[k]) + fabs(x[k]) * ws / 2 + sa * ws / 4;
        bound += fabs(x[k] * w[k]) * 1e-6; /* the float epilogue */
      }
      if (gelu) { /* gelu is 1.13-Lipschitz */
        exact = exact * 0.5 * (1 + erf(exact / sqrt(2)));
        bound *= 1.13;
        bound += 1e-5 * fabs(exact);
      }
      if (fabs(got - exact) > bound) {
        fprintf(stderr, "  M%d N%d K%d out%d: Y[%d,%zu] = %.6g, exact %.6g, bound %.3g\n", M, N, K, outliers, m, n, got,
                exact, bound);
        bad = 1;
        break;
      }
    }
  }
  for (int k = AR_Q8_AVX2; !bad && k < AR_Q8_KERNELS; k++) {
    if (!kernel_available((ar_q8_kernel)k)) continue;
    float *Y = run((ar_q8_kernel)k, &q, X, M, bias, gelu, ldy);
    if (!Y || memcmp(Y, ref, (size_t)M * ldy * sizeof(float))) {
      fprintf(stderr, "  M%d N%d K%d: kernel %s differs from scalar\n", M, N, K, ar_q8_kernel_name((ar_q8_kernel)k));
      bad = 1;
    }
    free(Y);
  }
  free(ref);
  ar_q8_free(&q);
  free(W); free(X); free(bias); free(g); free(b);
  return bad;
}

TEST(gemm_q8_kernels_agree_and_bound) {
  static const int Ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 24};
  static const int NKs[][2] = {{5, 3}, {16, 8}, {17, 60}, {32, 64}, {48, 100}, {100, 96}, {33, 384}};
  for (size_t i = 0; i < AR_ARRAY_LEN(Ms); i++)
    for (size_t j = 0; j < AR_ARRAY_LEN(NKs); j++)
      for (int out = 0; out < 2; out++)
        ASSERT_MSG(!check_case(Ms[i], NKs[j][0], NKs[j][1], out, (int)(i + j) % 2), "M %d N %d K %d outliers %d", Ms[i],
                   NKs[j][0], NKs[j][1], out);
}

TEST(gemm_q8_saturation_extremes) {
  /* every activation and weight at +-full scale: AVX2's pair sums reach 2 * 127 * 127, the most the
   * int16 lanes of vpmaddubsw may hold; the kernels must still agree exactly */
  ASSERT(!check_case(9, 48, 1536, 0, 0));
  int M = 3, N = 32, K = 3072;
  float *W = malloc((size_t)N * K * sizeof(float)), *X = malloc((size_t)M * K * sizeof(float));
  ASSERT(W && X);
  for (size_t i = 0; i < (size_t)N * K; i++) W[i] = (i % 3) ? 1.0f : -1.0f;
  for (size_t i = 0; i < (size_t)M * K; i++) X[i] = (i % 5) ? -2.0f : 2.0f;
  ar_q8 q;
  ASSERT(!ar_q8_make(W, N, K, NULL, NULL, &q, NULL));
  float *ref = run(AR_Q8_SCALAR, &q, X, M, NULL, 0, (size_t)N);
  for (int k = AR_Q8_AVX2; ref && k < AR_Q8_KERNELS; k++) {
    if (!kernel_available((ar_q8_kernel)k)) continue;
    float *Y = run((ar_q8_kernel)k, &q, X, M, NULL, 0, (size_t)N);
    int same = Y && !memcmp(Y, ref, (size_t)M * N * sizeof(float));
    free(Y);
    if (!same) { fprintf(stderr, "  kernel %s\n", ar_q8_kernel_name((ar_q8_kernel)k)); test_failed_current = 1; }
  }
  for (int m = 0; ref && m < M; m++) /* +-1 and +-2 are exact in int8: the product is exact */
    for (int n = 0; n < N; n++) {
      double e = 0;
      for (int k = 0; k < K; k++) e += (double)X[(size_t)m * K + k] * W[(size_t)n * K + k];
      if (fabs(ref[m * N + n] - e) > 1e-3) { fprintf(stderr, "  Y[%d,%d] %g != %g\n", m, n, ref[m * N + n], e); test_failed_current = 1; break; }
    }
  free(ref);
  ar_q8_free(&q);
  free(W); free(X);
}

/* The documented rule, written independently of q8.c: sa = max |x| over the non-outlier channels / 127,
 * q = clamp(round half away from zero (x * (127 / max)), -127, 127) (+128 for the u8 kernels); outlier
 * channels and the padding hold the zero point. */
static void quantize_ref(const ar_q8 *q, int u8, const float *x, uint8_t *d, float *sa, float *xo) {
  float amax = 0;
  for (int k = 0; k < q->K; k++) {
    int out = 0;
    for (int o = 0; o < q->no; o++) out |= q->oc[o] == k;
    if (!out && fabsf(x[k]) > amax) amax = fabsf(x[k]);
  }
  float inv = amax > 0 ? 127.0f / amax : 0.0f;
  *sa = amax / 127.0f;
  for (int k = 0; k < q->Kp; k++) {
    float v = k < q->K ? x[k] * inv : 0.0f;
    float r = v >= 0 ? v + 0.5f : v - 0.5f;
    int qi = (int)r;
    qi = qi > 127 ? 127 : qi < -127 ? -127 : qi;
    d[k] = (uint8_t)(qi + (u8 ? 128 : 0));
  }
  for (int o = 0; o < q->no; o++) { xo[o] = x[q->oc[o]]; d[q->oc[o]] = u8 ? 128 : 0; }
}

TEST(gemm_q8_quantize_matches_rule) {
  /* lengths around the 8- and 32-wide vector steps; rows with exact .5 ties (max 127 makes the scale 1)
   * and with outlier channels in and out of the vector blocks */
  static const int Ks[] = {1, 7, 8, 31, 32, 33, 64, 95, 100, 384};
  for (size_t i = 0; i < AR_ARRAY_LEN(Ks); i++)
    for (int variant = 0; variant < 3; variant++) {
      int K = Ks[i], N = 4;
      float *W = malloc((size_t)N * K * sizeof(float)), *g = malloc((size_t)K * sizeof(float));
      float *b = malloc((size_t)K * sizeof(float)), *x = malloc((size_t)K * sizeof(float));
      ASSERT(W && g && b && x);
      for (int k = 0; k < N * K; k++) W[k] = frand();
      for (int k = 0; k < K; k++) { g[k] = 1.0f; b[k] = 0.0f; }
      if (variant == 2 && K >= 32) { g[K / 5] = 50.0f; b[K - 2] = 60.0f; }
      ar_q8 q;
      ASSERT(ar_q8_make(W, N, K, variant == 2 ? g : NULL, variant == 2 ? b : NULL, &q, NULL) == AR_OK);
      for (int k = 0; k < K; k++)
        x[k] = variant == 1 ? (float)((k % 255) - 127) + ((k % 3) ? 0.5f : -0.5f) : frand() * 3.0f;
      if (variant == 1) x[0] = 127.0f;  /* max 127: x * inv == x, so the halves are exact ties */
      for (int o = 0; o < q.no; o++) x[q.oc[o]] = 900.0f * (o + 1);
      for (int u8 = 0; u8 < 2; u8++) {
        uint8_t *got = malloc((size_t)q.Kp), *want = malloc((size_t)q.Kp);
        float sa_got, sa_want, xo_got[64], xo_want[64];
        ASSERT(got && want && q.no < 64);
        ar_q8_quantize(&q, u8, x, (size_t)K, 1, got, &sa_got, xo_got);
        quantize_ref(&q, u8, x, want, &sa_want, xo_want);
        ASSERT_MSG(!memcmp(got, want, (size_t)q.Kp) && sa_got == sa_want &&
                   !memcmp(xo_got, xo_want, (size_t)q.no * sizeof(float)),
                   "K %d variant %d u8 %d", K, variant, u8);
        free(got); free(want);
      }
      ar_q8_free(&q);
      free(W); free(g); free(b); free(x);
    }
}
