/* kernels_avx512.c - the element-wise kernels the AVX-512 paths use (chosen at run time, as in
 * gemm_avx512.c): GELU and softmax's exp, 16 lanes. The same operations as kernels.c's AVX2 versions,
 * so each element comes out the same; but the exp sum adds 16 partial sums, not 8, so the AVX-512
 * kernel's vectors may differ from the AVX2 kernel's in the last bits (README: "Vectors from
 * different kernels ..."). */
#include "model/model.h"
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include "model/simd_avx512.h"

/* the tail through a masked vector, so every element of a row rounds alike */
AR_T512 void ar_gelu_avx512(float *y, int n) {
  for (int i = 0; i < n; i += 16) {
    __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, k, gelu16(_mm512_maskz_loadu_ps(k, y + i)));
  }
}

/* x <- exp(x - max x), returns the sum: ar_exp_shifted, 16 lanes (the tail masked, its sum lanes zero) */
AR_T512 float ar_exp_shifted_avx512(float *x, int n) {
  /* whole vectors unmasked: a masked load cannot take its data from a store still in flight, and
   * the scores were stored just before */
  __m512 vm = _mm512_set1_ps(-INFINITY), vs = _mm512_setzero_ps();
  int i = 0, f = n & ~15;
  __mmask16 k = (__mmask16)((1u << (n - f)) - 1);
  for (; i < f; i += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + i));
  if (k) vm = _mm512_mask_max_ps(vm, k, vm, _mm512_maskz_loadu_ps(k, x + f));
  __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  for (i = 0; i < f; i += 16) {
    __m512 e = exp16_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + i), mx));
    _mm512_storeu_ps(x + i, e);
    vs = _mm512_add_ps(vs, e);
  }
  if (k) {
    __m512 e = exp16_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + f), mx));
    _mm512_mask_storeu_ps(x + f, k, e);
    vs = _mm512_mask_add_ps(vs, k, vs, e);
  }
  /* the 16 partial sums in double, as the AVX2 version adds its 8 */
  __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(vs));
  __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(vs), 1)));
  return (float)_mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}
#endif
