/* gemm_q8.c - the int8 tiles: acc[r][c] = sum_k A[r][k] * B[k][c] over one or two 16-column panels
 * (q8.c has the layout, the loop order and the epilogue). Every kernel computes the same exact int32
 * sums (see q8.c), so the kernel changes the speed, never the result.
 *   avx512-vnni: vpdpbusd on 16 lanes, A as u8 (q + 128), an 8-row x 32-column tile in 16 registers
 *   avx-vnni:    vpdpbusd on 8 lanes (the VEX form), A as u8
 *   avx2:        vpmaddubsw(|a|, sign(a) * b) then vpmaddwd with ones, A as s8
 *   scalar:      the reference, and other CPUs
 * The vector kernels are compiled for their ISA with target attributes (the build is x86-64-v3) and
 * picked at run time (ar_q8_best_kernel). */
#include "model/model.h"
#include <string.h>
#if defined(__x86_64__)
#include "model/simd_avx512.h"
#endif

#define NR 16

static inline int32_t load4(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

static void tile_scalar(const uint8_t *A, size_t lda, int mr, const int8_t *B, int Kp, int np, int32_t *acc) {
  memset(acc, 0, sizeof(int32_t) * AR_Q8_MR * 2 * NR);
  for (int p = 0; p < np; p++) {
    const int8_t *b = B + (size_t)p * NR * Kp;
    for (int r = 0; r < mr; r++) {
      const int8_t *a = (const int8_t *)A + (size_t)r * lda;
      int32_t *c = acc + r * 2 * NR + p * NR;
      for (int g = 0; g < Kp / 4; g++)
        for (int j = 0; j < NR; j++) {
          const int8_t *w = b + (size_t)g * 4 * NR + 4 * j;
          c[j] += a[4 * g] * w[0] + a[4 * g + 1] * w[1] + a[4 * g + 2] * w[2] + a[4 * g + 3] * w[3];
        }
    }
  }
}

#if defined(__x86_64__)
/* ---- AVX-512 VNNI ---- */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline __attribute__((always_inline))
T512 void t512(const int mr, const int two, const uint8_t *A, size_t lda, const int8_t *B, int Kp, int32_t *acc) {
  __m512i c0[AR_Q8_MR], c1[AR_Q8_MR];
  const int8_t *B1 = B + (size_t)NR * Kp;
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm512_setzero_si512();
  for (int g = 0; g < Kp / 4; g++) {
    __m512i b0 = _mm512_loadu_si512(B + (size_t)g * 64), b1 = b0;
    if (two) b1 = _mm512_loadu_si512(B1 + (size_t)g * 64);
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
      __m512i a = _mm512_set1_epi32(load4(A + r * lda + 4 * g));
      c0[r] = _mm512_dpbusd_epi32(c0[r], a, b0);
      if (two) c1[r] = _mm512_dpbusd_epi32(c1[r], a, b1);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++) {
    _mm512_storeu_si512(acc + r * 2 * NR, c0[r]);
    if (two) _mm512_storeu_si512(acc + r * 2 * NR + NR, c1[r]);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void tile_avx512vnni(const uint8_t *A, size_t lda, int mr, const int8_t *B, int Kp, int np, int32_t *acc) {
  if (np == 2) {
    switch (mr) {
    case 8: t512(8, 1, A, lda, B, Kp, acc); break;
    case 7: t512(7, 1, A, lda, B, Kp, acc); break;
    case 6: t512(6, 1, A, lda, B, Kp, acc); break;
    case 5: t512(5, 1, A, lda, B, Kp, acc); break;
    case 4: t512(4, 1, A, lda, B, Kp, acc); break;
    case 3: t512(3, 1, A, lda, B, Kp, acc); break;
    case 2: t512(2, 1, A, lda, B, Kp, acc); break;
    default: t512(1, 1, A, lda, B, Kp, acc); break;
    }
  } else {
    for (int r = 0; r < mr; r += 4) {
      int n = mr - r < 4 ? mr - r : 4;
      const uint8_t *a = A + (size_t)r * lda;
      int32_t *c = acc + r * 2 * NR;
      if (n == 4) t512(4, 0, a, lda, B, Kp, c);
      else if (n == 3) t512(3, 0, a, lda, B, Kp, c);
      else if (n == 2) t512(2, 0, a, lda, B, Kp, c);
      else t512(1, 0, a, lda, B, Kp, c);
    }
  }
}

/* q8.c's epilogue for the AVX-512 VNNI kernel, 16 lanes: the same operations per output (so the same
 * bits), but GELU in registers before the one store. After a store, a 16-lane masked load of the same
 * row cannot take its data from the store queue and waits for the store to retire: a tenth of the
 * int8 encoder's time went there. */
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void ar_q8_epilogue_avx512(
    const int32_t *acc, int mr, int nc, const int32_t *cp, const float *bp, const float *ws, const float *sa,
    const float *xo, int no, const float *wo, size_t ldwo, float *Y, size_t ldy, int gelu) {
  for (int r = 0; r < mr; r++) {
    __m512 s = _mm512_set1_ps(sa[r]);
    for (int c = 0; c < nc; c += NR) {
      __mmask16 k = mask16(nc - c);
      /* acc: whole rows of 32, just stored by the tile; an unmasked load can take them from the store queue */
      __m512 a = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(acc + r * 2 * NR + c),
                                                     _mm512_maskz_loadu_epi32(k, cp + c)));
      __m512 y = _mm512_fmadd_ps(a, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, ws + c)), _mm512_maskz_loadu_ps(k, bp + c));
      for (int o = 0; o < no; o++)
        y = _mm512_fmadd_ps(_mm512_set1_ps(xo[(size_t)r * no + o]), _mm512_maskz_loadu_ps(k, wo + (size_t)o * ldwo + c), y);
      if (gelu) y = gelu16(y);
      _mm512_mask_storeu_ps(Y + (size_t)r * ldy + c, k, y);
    }
  }
}

/* ---- AVX-VNNI and AVX2: 4 rows x one panel (two 8-lane halves) at a time ----
 * The two differ only in the multiply-accumulate of one row (STEP); the loops around it, and the
 * row loop that calls the kernel with a constant row count (so its loops unroll), are written once
 * and instantiated per ISA: the code generated is the same as two hand-written copies. */
#define T256(isa) __attribute__((target(isa))) static inline __attribute__((always_inline))
#define KERNEL256(name, isa, SETUP, STEP)                                                              \
  T256(isa) void name(const int mr, const uint8_t *A, size_t lda, const int8_t *B, int Kp, int32_t *c) { \
    __m256i lo[4], hi[4];                                                                               \
    SETUP                                                                                               \
    _Pragma("GCC unroll 4") for (int r = 0; r < mr; r++) lo[r] = hi[r] = _mm256_setzero_si256();        \
    for (int g = 0; g < Kp / 4; g++) {                                                                  \
      __m256i b0 = _mm256_loadu_si256((const __m256i *)(B + (size_t)g * 64));                           \
      __m256i b1 = _mm256_loadu_si256((const __m256i *)(B + (size_t)g * 64 + 32));                      \
      _Pragma("GCC unroll 4") for (int r = 0; r < mr; r++) {                                            \
        __m256i a = _mm256_set1_epi32(load4(A + r * lda + 4 * g));                                      \
        STEP                                                                                            \
      }                                                                                                 \
    }                                                                                                   \
    _Pragma("GCC unroll 4") for (int r = 0; r < mr; r++) {                                              \
      _mm256_storeu_si256((__m256i *)(c + r * 2 * NR), lo[r]);                                          \
      _mm256_storeu_si256((__m256i *)(c + r * 2 * NR + 8), hi[r]);                                      \
    }                                                                                                   \
  }
#define TILE256(name, isa, kernel)                                                                     \
  __attribute__((target(isa))) static void name(const uint8_t *A, size_t lda, int mr, const int8_t *B, int Kp, \
                                                int np, int32_t *acc) {                               \
    for (int p = 0; p < np; p++)                                                                        \
      for (int r = 0; r < mr; r += 4) {                                                                 \
        int n = mr - r < 4 ? mr - r : 4;                                                                \
        const uint8_t *a = A + (size_t)r * lda;                                                         \
        const int8_t *b = B + (size_t)p * NR * Kp;                                                      \
        int32_t *c = acc + r * 2 * NR + p * NR;                                                         \
        if (n == 4) kernel(4, a, lda, b, Kp, c);                                                        \
        else if (n == 3) kernel(3, a, lda, b, Kp, c);                                                   \
        else if (n == 2) kernel(2, a, lda, b, Kp, c);                                                   \
        else kernel(1, a, lda, b, Kp, c);                                                               \
      }                                                                                                 \
  }

#if defined(__GNUC__) && __GNUC__ >= 11
/* vpdpbusd: u8 x s8 dot products of 4, added to the int32 lanes */
KERNEL256(t_vnni256, "avx2,avxvnni", ,
          lo[r] = _mm256_dpbusd_avx_epi32(lo[r], a, b0);
          hi[r] = _mm256_dpbusd_avx_epi32(hi[r], a, b1);)
TILE256(tile_avxvnni, "avx2,avxvnni", t_vnni256)
#endif

/* no VNNI: |a| x sign(a)*b in int16 pairs (vpmaddubsw), then pairs summed into int32 (vpmaddwd) */
KERNEL256(t_avx2, "avx2", const __m256i ones = _mm256_set1_epi16(1);,
          __m256i ua = _mm256_abs_epi8(a);
          __m256i p0 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b0, a));
          __m256i p1 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b1, a));
          lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(p0, ones));
          hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(p1, ones));)
TILE256(tile_avx2, "avx2", t_avx2)
#endif

ar_q8_tile_fn ar_q8_tile(ar_q8_kernel k) {
#if defined(__x86_64__)
  if (k == AR_Q8_AVX512VNNI) return tile_avx512vnni;
#if defined(__GNUC__) && __GNUC__ >= 11
  if (k == AR_Q8_AVXVNNI) return tile_avxvnni;
#endif
  if (k == AR_Q8_AVX2) return tile_avx2;
#endif
  (void)k;
  return tile_scalar;
}
