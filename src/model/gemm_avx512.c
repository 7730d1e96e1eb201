/* gemm_avx512.c - ar_gemm with AVX-512 (chosen at run time: the build targets x86-64-v3, so each
 * function carries its own target attribute and runs only where __builtin_cpu_supports says so).
 *
 * Same packed weights (16-column panels, see gemm.c) and the same contract as the AVX2 kernel: one
 * panel is one zmm. The register tile is 12 rows x 2 panels (24 of the 32 zmm accumulate; per k two
 * panel loads and 12 broadcasts, folded into the FMAs, for 24 FMAs of 16 lanes), against 6 x 16 in
 * ymm. Each output is still one chain of FMAs over k starting from zero, then alpha, then the bias,
 * then GELU: the AVX2 kernel's operations in its order, so the results are bitwise the same as it
 * gives (tests/unit/test_gemm.c checks this, and the double reference). With AR_EPI_STREAM, whole
 * 64-byte lines of C go out with streaming stores: a product whose output is too big to stay in cache
 * (FFN1's [T, 4H]) then neither reads each line for ownership nor evicts the weights and A rows. */
#include "model/model.h"

#if defined(__x86_64__) || defined(__i386__)
#include "model/simd_avx512.h"

#define T512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define MR 12    /* rows per register tile */
#define NR AR_PANEL
#define KC 256   /* k per pass: 12 rows of A (12 KB) stay in L1 */
#define SMALL_M 48
#define NC 24    /* panels per pass (even: whole 2-panel tiles): their slices stay in L2 */

typedef struct epi { float alpha; int gelu, stream; } epi;

/* C[m, 0:np*16] (+)= A[m, 0:kc] B[0:kc, panels] for m < mr, np (1 or 2) panels at B0 and B1 = B0 +
 * 16 K. mask1: the valid columns of the last panel (the first, when np is 2, is whole). first, last,
 * pf: as in gemm.c. mr and np are compile-time constants after inlining. */
static inline __attribute__((always_inline)) T512 void tile(const int mr, const int np, const float *A, size_t lda,
                                                            const float *B0, size_t pstride, int kc, float *C,
                                                            size_t ldc, __mmask16 mlast, int first, int last,
                                                            const epi *e, const float *bias, const float *pf) {
  __m512 c0[MR], c1[MR];
  const __mmask16 m0 = np == 2 ? (__mmask16)0xFFFF : mlast, m1 = mlast;
  const float *B1 = B0 + pstride;
#pragma GCC unroll 12
  for (int r = 0; r < mr; r++) {
    if (first) {
      c0[r] = _mm512_setzero_ps();
      if (np == 2) c1[r] = _mm512_setzero_ps();
    } else {
      c0[r] = load16(C + r * ldc, m0);
      if (np == 2) c1[r] = load16(C + r * ldc + NR, m1);
    }
  }
  /* rows r = 4g + i are read as a[g][i * lda]: three row pointers and three strides, so the 12 row
   * addresses fit in registers (12 pointers would spill to the stack) */
  const float *a[3] = {A, A + 4 * lda, A + 8 * lda};
  const size_t off[4] = {0, lda, 2 * lda, 3 * lda};
#pragma GCC unroll 2
  for (int k = 0; k < kc; k++) {
    _mm_prefetch((const char *)(pf + (size_t)k * NR), _MM_HINT_T0);
    if (np == 2) _mm_prefetch((const char *)(pf + pstride + (size_t)k * NR), _MM_HINT_T0);
    __m512 b0 = _mm512_loadu_ps(B0 + (size_t)k * NR), b1 = b0;
    if (np == 2) b1 = _mm512_loadu_ps(B1 + (size_t)k * NR);
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
      __m512 x = _mm512_set1_ps(a[r / 4][off[r % 4] + k]);
      c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
      if (np == 2) c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
    }
  }
  if (last) {
    __m512 al = _mm512_set1_ps(e->alpha), bb0 = _mm512_setzero_ps(), bb1 = bb0;
    if (bias) {
      bb0 = _mm512_maskz_loadu_ps(m0, bias);
      if (np == 2) bb1 = _mm512_maskz_loadu_ps(m1, bias + NR);
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
      if (e->alpha != 1.0f) {
        c0[r] = _mm512_mul_ps(c0[r], al);
        if (np == 2) c1[r] = _mm512_mul_ps(c1[r], al);
      }
      if (bias) {
        c0[r] = _mm512_add_ps(c0[r], bb0);
        if (np == 2) c1[r] = _mm512_add_ps(c1[r], bb1);
      }
    }
  }
  if (last && e->stream && m1 == 0xFFFF) { /* whole lines past the cache: no read for ownership, no eviction */
    if (e->gelu) { /* GELU from a stored copy, as below: on the live accumulators it spilled them */
      float t[MR * 2 * NR] __attribute__((aligned(64)));
#pragma GCC unroll 12
      for (int r = 0; r < mr; r++) {
        _mm512_store_ps(t + r * 2 * NR, c0[r]);
        if (np == 2) _mm512_store_ps(t + r * 2 * NR + NR, c1[r]);
      }
      for (int r = 0; r < mr; r++) {
        _mm512_stream_ps(C + r * ldc, gelu16(_mm512_load_ps(t + r * 2 * NR)));
        if (np == 2) _mm512_stream_ps(C + r * ldc + NR, gelu16(_mm512_load_ps(t + r * 2 * NR + NR)));
      }
      return;
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
      _mm512_stream_ps(C + r * ldc, c0[r]);
      if (np == 2) _mm512_stream_ps(C + r * ldc + NR, c1[r]);
    }
    return;
  }
#pragma GCC unroll 12
  for (int r = 0; r < mr; r++) {
    store16(C + r * ldc, m0, c0[r]);
    if (np == 2) store16(C + r * ldc + NR, m1, c1[r]);
  }
  /* GELU after the stores, from L1 (whole vectors take their data from the store queue): applied to
   * the 24 live accumulators it made the compiler spill them, ~2x its cost here */
  if (last && e->gelu)
    for (int r = 0; r < mr; r++) {
      store16(C + r * ldc, m0, gelu16(load16(C + r * ldc, m0)));
      if (np == 2) store16(C + r * ldc + NR, m1, gelu16(load16(C + r * ldc + NR, m1)));
    }
}

#define TILE(R, NP) tile(R, NP, A, lda, B, pstride, kc, C, ldc, mlast, first, last, e, bias, pf)

static T512 void tile_any(int mr, int np, const float *A, size_t lda, const float *B, size_t pstride, int kc, float *C,
                          size_t ldc, __mmask16 mlast, int first, int last, const epi *e, const float *bias,
                          const float *pf) {
  if (np == 2) { AR_ROWS12(mr, 2) }
  else { AR_ROWS12(mr, 1) }
}

/* The loop order of gemm.c's ar_gemm, with panels taken two at a time. */
T512 void ar_gemm_avx512(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                         size_t ldc, float alpha, const float *bias, int flags) {
  /* streaming needs every row's panels on 64-byte lines */
  epi e = {alpha, flags & AR_EPI_GELU, (flags & AR_EPI_STREAM) && ((uintptr_t)C & 63) == 0 && ldc % 16 == 0};
  int small = M <= SMALL_M, nc = small ? 2 : NC;
  size_t pstride = (size_t)NR * K;
  for (int k0 = 0, kc; k0 < K; k0 += kc) {
    kc = K - k0 < KC ? K - k0 : KC;
    if (K - k0 > KC && K - k0 < 2 * KC) kc = (K - k0 + 1) / 2; /* no thin last pass */
    if (small) kc = K;
    int first = k0 == 0, last = k0 + kc == K;
    for (int q0 = p0; q0 < p1; q0 += nc) {
      int q1 = p1 - q0 < nc ? p1 : q0 + nc;
      for (int m = 0; m < M; m += MR) {
        int mr = M - m < MR ? M - m : MR;
        for (int p = q0; p < q1; p += 2) {
          int np = q1 - p >= 2 ? 2 : 1, pl = p + np - 1; /* pl: the last panel of the tile */
          int nr = N - pl * NR < NR ? N - pl * NR : NR;
          __mmask16 mlast = mask16(nr);
          const float *b = P + (size_t)p * pstride + (size_t)k0 * NR;
          /* few rows: the first row tile of a panel pair prefetches the next pair (see gemm.c; a
           * prefetch past the last panel never faults) */
          const float *pf = small && m == 0 && p + 2 < p1 ? b + 2 * pstride : b;
          tile_any(mr, np, A + (size_t)m * lda + k0, lda, b, pstride, kc, C + (size_t)m * ldc + (size_t)p * NR, ldc,
                   mlast, first, last, &e, bias ? bias + p * NR : NULL, pf);
        }
      }
    }
  }
  if (e.stream) _mm_sfence(); /* streamed stores are weakly ordered: visible before the pool's hand-off */
}
#endif
