/* kernels_avx512.c - softmax's exp for the AVX-512 paths (chosen at run time, as in gemm_avx512.c),
 * 16 lanes. The same operations as kernels.c's AVX2 version, so each element comes out the same; but
 * the sum adds 16 partial sums, not 8, so the AVX-512 kernel's vectors may differ from the AVX2
 * kernel's in the last bits (README: "Vectors from different kernels ..."). GELU, 16 lanes, is
 * gelu16 in simd_avx512.h, applied inside the AVX-512 products' epilogues. */
#include "model/model.h"
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include "model/simd_avx512.h"

/* x <- exp(x - max x), returns the sum: ar_exp_shifted, 16 lanes (the tail masked, its sum lanes zero) */
AR_T512 float ar_exp_shifted_avx512(float *x, int n) {
  __m512 mx = _mm512_set1_ps(row_max16(x, n)), vs = _mm512_setzero_ps();
  int f = n & ~15;
  __mmask16 k = mask16(n - f);
  for (int i = 0; i < f; i += 16) { /* whole vectors unmasked, as in row_max16 */
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
