/* simd_avx512.h - element-wise AVX-512 helpers shared by kernels_avx512.c and attention_bf16.c,
 * inlined into their callers (whose target attributes include AR_T512's). x86 only. */
#ifndef AR_SIMD_AVX512_H
#define AR_SIMD_AVX512_H
#include <immintrin.h>
#include <math.h>

#define AR_T512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

/* TILE(R, NP) with R = mr (1..12) as a compile-time constant, so the register tile it names unrolls
 * on it: the AVX-512 tiles (gemm_avx512.c, attention_bf16.c) define TILE, then switch with this. */
#define AR_ROWS12(mr, NP)                                                                                     \
  switch (mr) {                                                                                               \
  case 12: TILE(12, NP); break; case 11: TILE(11, NP); break; case 10: TILE(10, NP); break;                 \
  case 9: TILE(9, NP); break; case 8: TILE(8, NP); break; case 7: TILE(7, NP); break;                       \
  case 6: TILE(6, NP); break; case 5: TILE(5, NP); break; case 4: TILE(4, NP); break;                       \
  case 3: TILE(3, NP); break; case 2: TILE(2, NP); break; case 1: TILE(1, NP); break;                       \
  default: break;                                                                                             \
  }

/* The first n of 16 lanes: all for n >= 16, none for n <= 0 (a row's tail) */
static inline __attribute__((always_inline)) __mmask16 mask16(int n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* Masked store and load, plain when the mask is whole: a masked load cannot take its data from a
 * store still in flight, nor a load from a masked store, and then waits for the store to retire. */
static inline __attribute__((always_inline)) AR_T512 void store16(float *p, __mmask16 m, __m512 v) {
  if (m == 0xFFFF) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, m, v);
}
static inline __attribute__((always_inline)) AR_T512 __m512 load16(const float *p, __mmask16 m) {
  return m == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

/* exp(x) for x <= 0: kernels.c's exp8_nonpos (see there for the method and constants), 16 lanes */
static inline __attribute__((always_inline)) AR_T512 __m512 exp16_nonpos(__m512 x) {
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic);
  __m512 n = _mm512_sub_ps(t, magic);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
  __m512 p = _mm512_set1_ps(0.0013829420786350965f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.008374771103262901f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.0416683591902256f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.1666642129421234f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.49999991059303284f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  __m512i e = _mm512_add_epi32(_mm512_slli_epi32(_mm512_castps_si512(t), 23), _mm512_set1_epi32(127 << 23));
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* max of x[0..n), n >= 1: whole vectors unmasked (the scores were just stored, and a masked load
 * cannot take its data from a store still in flight), the tail masked */
static inline __attribute__((always_inline)) AR_T512 float row_max16(const float *x, int n) {
  __m512 vm = _mm512_set1_ps(-INFINITY);
  int f = n & ~15;
  for (int i = 0; i < f; i += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + i));
  if (f < n) vm = _mm512_mask_max_ps(vm, mask16(n - f), vm, _mm512_maskz_loadu_ps(mask16(n - f), x + f));
  return _mm512_reduce_max_ps(vm);
}

/* kernels.c's gelu8, operation for operation (see there for the erf formula and its error) */
static inline __attribute__((always_inline)) AR_T512 __m512 gelu16(__m512 x) {
  __m512 u = _mm512_mul_ps(x, _mm512_set1_ps((float)M_SQRT1_2));
  u = _mm512_min_ps(_mm512_max_ps(u, _mm512_set1_ps(-3.92f)), _mm512_set1_ps(3.92f)); /* erf is +-1 in float beyond */
  __m512 z = _mm512_mul_ps(u, u);
  __m512 p = _mm512_fmadd_ps(z, _mm512_set1_ps(2.034749514e-06f), _mm512_set1_ps(2.874793718e-04f));
  __m512 q = _mm512_fmadd_ps(z, _mm512_set1_ps(3.807078610e-05f), _mm512_set1_ps(1.188109396e-03f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(3.868299769e-03f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.517224219e-02f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(5.306040496e-02f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.150843352e-01f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.927633435e-01f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(5.041637421e-01f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.128378987e+00f));
  q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.0f));
  __m512 erf = _mm512_div_ps(_mm512_mul_ps(u, p), q);
  erf = _mm512_min_ps(_mm512_max_ps(erf, _mm512_set1_ps(-1.0f)), _mm512_set1_ps(1.0f));
  return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

#endif
