/* attention_bf16.c - one (sequence, head) of self-attention with its two products in bfloat16, for
 * --precision int8 on CPUs with AVX512_BF16 (chosen at load, see load.c).
 *
 * Why: with the linear layers in int8, the attention's fp32 products (scores Q K^T and the weighted sum
 * P V) become a fifth of the time. vdpbf16ps does 32 multiply-adds per instruction against an FMA's 16,
 * each product of two bfloat16 (8-bit mantissa) exact in fp32, the sums in fp32. The rounding is 2^-9
 * relative per operand, far under the int8 layers' own (1/254 of a row's largest value); softmax stays
 * fp32 (kernels_avx512.c), and so does everything around. ONNX Runtime's int8 model keeps attention in
 * fp32; we measured the trade in the README's int8 section.
 *
 * Layout (the fp32 kernel's, with k in pairs): B operands are panels of 16 columns, each k-pair one
 * 64-byte row of 16 dwords holding (B[2kp][c], B[2kp+1][c]); A rows are bf16 in k order, so a dword of
 * A is the pair that one broadcast multiplies with a panel row. An odd k count gets a zero pair half.
 * Rounding fp32 -> bf16 is to nearest even (vcvtne2ps2bf16, or rne() where pairs of rows interleave). */
#include "model/model.h"

#if defined(__x86_64__) && defined(__GNUC__) && __GNUC__ >= 10
#include "model/simd_avx512.h"

#define TBF __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))
#define NR 16
#define MR 12 /* rows per register tile: 24 accumulators, as the fp32 AVX-512 kernel */

int ar_attention_bf16_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

/* fp32 -> bf16 bits (in the high half of each dword), round to nearest even */
static inline __attribute__((always_inline)) TBF __m512i rne(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
}

static inline __attribute__((always_inline)) __mmask32 words(int n) {
  return n >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1);
}

/* n floats -> n bf16 at d (as pairs in dwords), a zero after them when n is odd. vcvtne2ps2bf16: to
 * nearest even, as rne() (inputs here are never subnormal enough to tell its flush-to-zero apart). */
static TBF void row_bf16(const float *x, int n, uint32_t *d) {
  int n2 = n + (n & 1);
  for (int i = 0; i < n2; i += 32) {
    __m512 lo = _mm512_maskz_loadu_ps(mask16(n - i), x + i), hi = _mm512_maskz_loadu_ps(mask16(n - i - 16), x + i + 16);
    _mm512_mask_storeu_epi16((uint16_t *)d + i, words(n2 - i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

/* Softmax's numerators: x <- exp(x - max x) as bf16 at d (row_bf16's layout); returns their sum, in
 * fp32 before the rounding to bf16 (as kernels_avx512.c's ar_exp_shifted_avx512 adds them) */
static TBF float exp_row_bf16(const float *x, int n, uint32_t *d) {
  __m512 mx = _mm512_set1_ps(row_max16(x, n)), s0 = _mm512_setzero_ps(), s1 = s0;
  int i, n2 = n + (n & 1);
  for (i = 0; i + 32 <= n; i += 32) { /* whole vectors unmasked, as in row_max16 */
    __m512 e0 = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i), mx));
    __m512 e1 = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mx));
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
    _mm512_storeu_si512(d + i / 2, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
  }
  if (i < n) { /* the tail, masked */
    __mmask16 k0 = mask16(n - i), k1 = mask16(n - i - 16);
    __m512 e0 = _mm512_maskz_mov_ps(k0, exp16_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(k0, x + i), mx)));
    __m512 e1 = _mm512_maskz_mov_ps(k1, exp16_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(k1, x + i + 16), mx)));
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
    _mm512_mask_storeu_epi16((uint16_t *)d + i, words(n2 - i), (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* K [n, d] (row stride ld) -> panels of 16 keys, each [ceil(d/2) pairs][16 dwords]: B = K^T */
static TBF void pack_keys(const float *K, int n, int d, size_t ld, uint32_t *P, uint32_t *tmp) {
  int dp = (d + 1) / 2;
  for (int j = 0; j < n; j++) {
    row_bf16(K + (size_t)j * ld, d, tmp);
    uint32_t *dst = P + (size_t)(j / NR) * NR * dp + j % NR;
    for (int p = 0; p < dp; p++) dst[(size_t)p * NR] = tmp[p];
  }
  for (int j = n; j % NR; j++) /* the last panel's missing keys: zero scores, never read back */
    for (int p = 0; p < dp; p++) P[(size_t)(j / NR) * NR * dp + (size_t)p * NR + j % NR] = 0;
}

/* V [n, d] (row stride ld) -> panels of 16 columns, each [ceil(n/2) pairs][16 dwords]: B = V */
static TBF void pack_values(const float *V, int n, int d, size_t ld, uint32_t *P) {
  int np = (n + 1) / 2;
  for (int c0 = 0; c0 < d; c0 += NR) {
    __mmask16 k = mask16(d - c0);
    uint32_t *dst = P + (size_t)(c0 / NR) * NR * np;
    for (int p = 0; p < np; p++) {
      __m512i lo = rne(_mm512_maskz_loadu_ps(k, V + (size_t)(2 * p) * ld + c0));
      __m512i hi = 2 * p + 1 < n ? rne(_mm512_maskz_loadu_ps(k, V + (size_t)(2 * p + 1) * ld + c0)) : _mm512_setzero_si512();
      __m512i w = _mm512_or_si512(_mm512_srli_epi32(lo, 16), _mm512_and_si512(hi, _mm512_set1_epi32((int)0xFFFF0000u)));
      _mm512_storeu_si512(dst + (size_t)p * NR, w);
    }
  }
}

/* C[r, 0:np*16] = scale[r] * sum_kp A[r, kp] . B[kp, panels] for r < mr; A rows of kp dwords (stride
 * lda dwords), B0 the first panel (the second at B0 + 16 kp). mlast: the valid columns of the last. */
static inline __attribute__((always_inline)) TBF void tile(const int mr, const int np, const uint32_t *A, size_t lda,
                                                           const uint32_t *B0, int kp, float *C, size_t ldc,
                                                           __mmask16 mlast, const float *scale) {
  __m512 c0[MR], c1[MR];
  const __mmask16 m0 = np == 2 ? (__mmask16)0xFFFF : mlast;
  const uint32_t *B1 = B0 + (size_t)NR * kp;
#pragma GCC unroll 12
  for (int r = 0; r < mr; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
#pragma GCC unroll 2
  for (int k = 0; k < kp; k++) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(B0 + (size_t)k * NR), b1 = b0;
    if (np == 2) b1 = (__m512bh)_mm512_loadu_si512(B1 + (size_t)k * NR);
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
      __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[(size_t)r * lda + k]);
      c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
      if (np == 2) c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < mr; r++) {
    __m512 s = _mm512_set1_ps(scale[r]);
    store16(C + r * ldc, m0, _mm512_mul_ps(c0[r], s));
    if (np == 2) store16(C + r * ldc + NR, mlast, _mm512_mul_ps(c1[r], s));
  }
}

#define TILE(R, NP) tile(R, NP, A, lda, B, kp, Cp, ldc, mlast, scale)

/* C [mr, N] = scale[r] * A [mr, 2 kp] B [2 kp, N], B packed (above), mr <= 12 */
static TBF void product(int mr, const uint32_t *A, size_t lda, const uint32_t *P, int kp, int N, float *C, size_t ldc,
                        const float *scale) {
  int panels = (N + NR - 1) / NR;
  for (int p = 0; p < panels; p += 2) {
    int np = panels - p >= 2 ? 2 : 1, pl = p + np - 1;
    int nr = N - pl * NR < NR ? N - pl * NR : NR;
    __mmask16 mlast = mask16(nr);
    const uint32_t *B = P + (size_t)p * NR * kp;
    float *Cp = C + (size_t)p * NR;
    if (np == 2) { AR_ROWS12(mr, 2) }
    else { AR_ROWS12(mr, 1) }
  }
}

size_t ar_attention_bf16_bytes(int n, int d) {
  size_t n16 = (size_t)(n + NR - 1) / NR * NR, d16 = (size_t)(d + NR - 1) / NR * NR;
  size_t n2 = (size_t)(n + 1) / 2 * 2, d2 = (size_t)(d + 1) / 2 * 2;
  return n16 * d2 * 2              /* keys, packed */
         + d16 * n2 * 2            /* values, packed */
         + (size_t)MR * d2 * 2     /* a block of query rows, bf16 */
         + (size_t)MR * n2 * 2     /* their probabilities, bf16 */
         + (size_t)MR * n * 4      /* their scores, fp32 */
         + 5 * 64;                 /* alignment */
}

/* o [n, d] (row stride H) = softmax(scale q k^T) v for one (sequence, head); q, k, v [n, d] with row
 * stride ld. w: ar_attention_bf16_bytes(n, d) of scratch. */
TBF void ar_attention_bf16(const float *q, const float *k, const float *v, size_t ld, int n, int d, float scale,
                           float *o, size_t H, void *w) {
  int dp = (d + 1) / 2, np = (n + 1) / 2;
  uintptr_t at = ((uintptr_t)w + 63) & ~(uintptr_t)63;
#define TAKE(T, count) (T *)at; at = (at + (count) * sizeof(T) + 63) & ~(uintptr_t)63
  uint32_t *kb = TAKE(uint32_t, (size_t)(n + NR - 1) / NR * NR * dp);
  uint32_t *vb = TAKE(uint32_t, (size_t)(d + NR - 1) / NR * NR * np);
  uint32_t *qb = TAKE(uint32_t, (size_t)MR * dp);  /* [MR][dp] pairs */
  uint32_t *pb = TAKE(uint32_t, (size_t)MR * np);  /* [MR][np] pairs */
  float *S = TAKE(float, (size_t)MR * n);
#undef TAKE
  pack_keys(k, n, d, ld, kb, qb); /* qb as the row buffer: it is free until the first block */
  pack_values(v, n, d, ld, vb);
  float sc[MR], inv[MR];
  for (int i = 0; i < MR; i++) sc[i] = scale;
  for (int i0 = 0; i0 < n; i0 += MR) {
    int r = n - i0 < MR ? n - i0 : MR;
    for (int i = 0; i < r; i++) row_bf16(q + (size_t)(i0 + i) * ld, d, qb + (size_t)i * dp);
    product(r, qb, (size_t)dp, kb, dp, n, S, (size_t)n, sc);
    for (int i = 0; i < r; i++) inv[i] = 1.0f / exp_row_bf16(S + (size_t)i * n, n, pb + (size_t)i * np);
    /* softmax's division on the d outputs of a row, in the tile's epilogue */
    product(r, pb, (size_t)np, vb, np, d, o + (size_t)i0 * H, H, inv);
  }
}
#else
int ar_attention_bf16_available(void) { return 0; }
size_t ar_attention_bf16_bytes(int n, int d) { (void)n; (void)d; return 0; }
void ar_attention_bf16(const float *q, const float *k, const float *v, size_t ld, int n, int d, float scale, float *o,
                       size_t H, void *w) {
  (void)q; (void)k; (void)v; (void)ld; (void)n; (void)d; (void)scale; (void)o; (void)H; (void)w;
}
#endif
