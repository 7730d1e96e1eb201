/* kernels.c - the encoder's fused element-wise kernels (AVX2): dtype widening, bias+GELU,
 * bias+residual+LayerNorm, softmax. Everything that is not a matrix product.
 * Builds without AVX2 (aarch64) get the portable C versions at the end: same formulas, but sums in
 * another order and the C library's erff, so their vectors differ in the last bits. */
#include "model/model.h"
#include <math.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

void ar_widen_f16(const uint8_t *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128((const __m128i *)(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; i++) {
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    dst[i] = _cvtsh_ss(h);
  }
}

void ar_widen_bf16(const uint8_t *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128((const __m128i *)(src + 2 * i));
    __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
  }
  for (; i < n; i++) {
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    uint32_t u = (uint32_t)h << 16;
    memcpy(dst + i, &u, 4);
  }
}

/* Mean and biased variance in double: cheap next to the GEMMs, and keeps us well under 1e-5. */
static void ln_stats(const float *x, int n, double *mean, double *rstd, float eps) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  double t[4], s = 0;
  _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
  s = t[0] + t[1] + t[2] + t[3];
  for (; i < n; i++) s += x[i];
  double mu = s / n;
  __m256d m = _mm256_set1_pd(mu);
  s0 = _mm256_setzero_pd(); s1 = _mm256_setzero_pd();
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m);
    __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(a, a));
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(b, b));
  }
  _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
  double ss = t[0] + t[1] + t[2] + t[3];
  for (; i < n; i++) ss += (x[i] - mu) * (x[i] - mu);
  *mean = mu;
  *rstd = 1.0 / sqrt(ss / n + (double)eps);
}

static void ln_apply(float *x, const float *g, const float *b, int n, double mean, double rstd) {
  __m256 m = _mm256_set1_ps((float)mean), r = _mm256_set1_ps((float)rstd);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), r);
    _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_mul_ps(v, _mm256_loadu_ps(g + i)), _mm256_loadu_ps(b + i)));
  }
  for (; i < n; i++) x[i] = (float)((x[i] - mean) * rstd) * g[i] + b[i];
}

void ar_layernorm(float *x, const float *g, const float *b, int n, float eps) {
  double mean, rstd;
  ln_stats(x, n, &mean, &rstd, eps);
  ln_apply(x, g, b, n, mean, rstd);
}

void ar_add_residual_layernorm(float *y, const float *x, const float *g, const float *b, int n, float eps) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
  for (; i < n; i++) y[i] = y[i] + x[i];
  ar_layernorm(y, g, b, n, eps);
}

void ar_add_bias(float *y, const float *bias, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(bias + i)));
  for (; i < n; i++) y[i] += bias[i];
}

/* exp(x) for x <= 0, 8 lanes: 2^n e^r with n = round(x / ln 2) and |r| <= ln2 / 2. n comes from the
 * "magic number" addition (1.5 * 2^23 leaves n in the low mantissa bits, ready to shift into the
 * exponent); ln 2 is split in two so that n * ln2_hi is exact; e^r is a degree-6 polynomial fitted
 * (least squares at Chebyshev nodes, relative) on that interval: < 1e-7 relative, evaluated in float.
 * x is clamped at -87, so anything smaller gives e^-87 ~ 1.6e-38 next to the row maximum's 1: a
 * weight nothing can notice. Several times cheaper than libmvec's expf, which handles every input. */
static inline __m256 exp8_nonpos(__m256 x) {
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
  __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
  __m256 p = _mm256_set1_ps(0.0013829420786350965f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.008374771103262901f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.0416683591902256f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.1666642129421234f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.49999991059303284f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(127 << 23));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* gelu(x) = 0.5 x (1 + erf(x / sqrt 2)): the erf form Hugging Face's "gelu" uses. erf(u) = u P(u^2) /
 * Q(u^2), P and Q of degree 5 (our fit: weighted least squares toward minimax on [0, 3.92], error
 * 1.6e-8; evaluated in float, <= 4.1e-7), u clamped to +-3.92 where erf rounds to +-1. So GELU is off by
 * at most 2.1e-7 |x|, next to the 1e-6-relative rounding of the products before it. Element-wise with
 * no table: kernels_avx512.c's 16-lane copy of these operations gives the same bits. */
static inline __m256 gelu8(__m256 x) {
  __m256 u = _mm256_mul_ps(x, _mm256_set1_ps((float)M_SQRT1_2));
  u = _mm256_min_ps(_mm256_max_ps(u, _mm256_set1_ps(-3.92f)), _mm256_set1_ps(3.92f)); /* erf is +-1 in float beyond */
  __m256 z = _mm256_mul_ps(u, u);
  __m256 p = _mm256_fmadd_ps(z, _mm256_set1_ps(2.034749514e-06f), _mm256_set1_ps(2.874793718e-04f));
  __m256 q = _mm256_fmadd_ps(z, _mm256_set1_ps(3.807078610e-05f), _mm256_set1_ps(1.188109396e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(3.868299769e-03f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.517224219e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(5.306040496e-02f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.150843352e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.927633435e-01f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(5.041637421e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.128378987e+00f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.0f));
  __m256 erf = _mm256_div_ps(_mm256_mul_ps(u, p), q);
  erf = _mm256_min_ps(_mm256_max_ps(erf, _mm256_set1_ps(-1.0f)), _mm256_set1_ps(1.0f));
  return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

void ar_gelu(float *y, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(y + i)));
  if (i < n) { /* the tail through the same vector code */
    float t[8] = {0};
    memcpy(t, y + i, (size_t)(n - i) * sizeof(float));
    _mm256_storeu_ps(t, gelu8(_mm256_loadu_ps(t)));
    memcpy(y + i, t, (size_t)(n - i) * sizeof(float));
  }
}

float ar_exp_shifted(float *x, int n) {
  int i = 0;
  __m256 vm = _mm256_set1_ps(-INFINITY);
  for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
  float t[8], mx = -INFINITY;
  _mm256_storeu_ps(t, vm);
  for (int j = 0; j < 8; j++) mx = t[j] > mx ? t[j] : mx;
  for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  vm = _mm256_set1_ps(mx);
  __m256 vs = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 e = exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    vs = _mm256_add_ps(vs, e);
  }
  _mm256_storeu_ps(t, vs);
  double s = (double)t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
  if (i < n) { /* the tail through the same vector code, so every element rounds alike */
    float in[8], out[8];
    for (int j = 0; j < 8; j++) in[j] = i + j < n ? x[i + j] - mx : -INFINITY;
    _mm256_storeu_ps(out, exp8_nonpos(_mm256_loadu_ps(in)));
    for (int j = 0; i + j < n; j++) { x[i + j] = out[j]; s += out[j]; }
  }
  return (float)s;
}

void ar_softmax(float *x, int n) {
  float r = 1.0f / ar_exp_shifted(x, n);
  int i = 0;
  __m256 vr = _mm256_set1_ps(r);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vr));
  for (; i < n; i++) x[i] *= r;
}

#else /* portable C */

/* IEEE half -> float, subnormals, infinities and NaN included */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1F, f = h & 0x3FF, u;
  if (e == 0x1F) u = sign | 0x7F800000u | (f << 13);
  else if (e) u = sign | ((e + 112) << 23) | (f << 13);
  else if (!f) u = sign;
  else { /* subnormal: f * 2^-24, exact in float */
    float v = (float)f * 0x1p-24f;
    memcpy(&u, &v, 4);
    u |= sign;
  }
  float out;
  memcpy(&out, &u, 4);
  return out;
}

void ar_widen_f16(const uint8_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    dst[i] = half_to_float(h);
  }
}

void ar_widen_bf16(const uint8_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    uint32_t u = (uint32_t)h << 16;
    memcpy(dst + i, &u, 4);
  }
}

void ar_layernorm(float *x, const float *g, const float *b, int n, float eps) {
  double s = 0, ss = 0;
  for (int i = 0; i < n; i++) s += x[i];
  double mean = s / n;
  for (int i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
  double rstd = 1.0 / sqrt(ss / n + (double)eps);
  float m = (float)mean, r = (float)rstd;
  for (int i = 0; i < n; i++) x[i] = (x[i] - m) * r * g[i] + b[i];
}

void ar_add_residual_layernorm(float *y, const float *x, const float *g, const float *b, int n, float eps) {
  for (int i = 0; i < n; i++) y[i] += x[i];
  ar_layernorm(y, g, b, n, eps);
}

void ar_add_bias(float *y, const float *bias, int n) {
  for (int i = 0; i < n; i++) y[i] += bias[i];
}

void ar_gelu(float *y, int n) {
  for (int i = 0; i < n; i++) y[i] = y[i] * 0.5f * (1.0f + erff(y[i] * (float)M_SQRT1_2));
}

/* exp(x) for x <= 0: the AVX2 version's method (see there), one lane */
static float exp_nonpos(float x) {
  const float magic = 12582912.0f;
  x = x > -87.0f ? x : -87.0f;
  float t = fmaf(x, 1.44269504088896341f, magic), k = t - magic;
  float r = fmaf(-k, 0.693145751953125f, x);
  r = fmaf(-k, 1.42860682030941723212e-6f, r);
  float p = 0.0013829420786350965f;
  p = fmaf(p, r, 0.008374771103262901f);
  p = fmaf(p, r, 0.0416683591902256f);
  p = fmaf(p, r, 0.1666642129421234f);
  p = fmaf(p, r, 0.49999991059303284f);
  p = fmaf(p, r, 1.0f);
  p = fmaf(p, r, 1.0f);
  int32_t e = (int32_t)k;
  uint32_t u = (uint32_t)(e + 127) << 23;
  float scale;
  memcpy(&scale, &u, 4);
  return p * scale;
}

float ar_exp_shifted(float *x, int n) {
  float mx = -INFINITY;
  for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  double s = 0;
  for (int i = 0; i < n; i++) {
    x[i] = exp_nonpos(x[i] - mx);
    s += x[i];
  }
  return (float)s;
}

void ar_softmax(float *x, int n) {
  float r = 1.0f / ar_exp_shifted(x, n);
  for (int i = 0; i < n; i++) x[i] *= r;
}
#endif
