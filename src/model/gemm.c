/* gemm.c - the encoder's matrix product: C = epilogue(alpha * A B + bias), B pre-packed; the packing
 * and the AVX2 kernel (gemm_avx512.c and gemm_scalar.c hold the others, kernel.c picks one).
 *
 * Why our own and not sgemm: the weights never change, so they are packed once at load into
 * 16-column panels and every product skips sgemm's per-call packing of B and its beta pass over C;
 * the bias (and GELU) are applied while the tile is still in registers; and the same kernel serves
 * one 24-token query and 4096-token batches with no size threshold. Each output is one fixed chain
 * of FMAs over k, whatever the tile shape or the thread that computes it, so results do not depend
 * on the batch or the thread count.
 *
 * Layout of a packed B [K, N] (N output columns): ceil(N/16) panels, panel p holds columns
 * 16p..16p+15 as P[p][k][16] (zero past N). A is read in place (row stride lda) and broadcast one
 * value at a time: the 6x16 register tile needs 6 broadcasts and 2 panel loads per 12 FMAs. */
#include "model/model.h"
#include <string.h>

#define MR 6     /* rows per register tile */
#define NR AR_PANEL /* columns per panel (16) */
#define KC 256   /* k per pass: a panel slice (16 KB) stays in L1 */
#define SMALL_M 48 /* at most this many rows: the query loop order (below) */
#define NC 24    /* panels per pass: their slices (NC x 16 KB) stay in L2 */

size_t ar_pack_size(int K, int N) { return (size_t)((N + NR - 1) / NR) * NR * (size_t)K; }

#if defined(__AVX2__)
#include <immintrin.h>
/* r[i] <- column i of the 8x8 block whose rows were r[0..7] */
static inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}
#endif

/* The attention packs its keys with this per (sequence, head): whole panels go through 8x8 register
 * transposes, ~4x fewer instructions than the element loop, which stays for the edges. */
void ar_pack_rows(const float *W, int N, int K, size_t ldw, float *P) {
  for (int p = 0; p < (N + NR - 1) / NR; p++) {
    float *d = P + (size_t)p * NR * K;
    int nr = N - p * NR < NR ? N - p * NR : NR, k0 = 0;
#if defined(__AVX2__)
    if (nr == NR)
      for (; k0 + 8 <= K; k0 += 8)
        for (int h = 0; h < NR; h += 8) {
          __m256 r[8];
          for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(W + (size_t)(p * NR + h + i) * ldw + k0);
          transpose8(r);
          for (int i = 0; i < 8; i++) _mm256_storeu_ps(d + (size_t)(k0 + i) * NR + h, r[i]);
        }
#endif
    for (int j = 0; j < nr; j++) { /* row j of the panel: read in order, written every 16th float */
      const float *w = W + (size_t)(p * NR + j) * ldw;
      for (int k = k0; k < K; k++) d[(size_t)k * NR + j] = w[k];
    }
    for (int j = nr; j < NR; j++)
      for (int k = k0; k < K; k++) d[(size_t)k * NR + j] = 0.0f;
  }
}

void ar_pack_cols(const float *V, int K, int N, size_t ldv, float *P) {
  for (int p = 0; p < (N + NR - 1) / NR; p++) {
    float *d = P + (size_t)p * NR * K;
    int nr = N - p * NR < NR ? N - p * NR : NR;
    for (int k = 0; k < K; k++) {
      const float *s = V + (size_t)k * ldv + (size_t)p * NR;
      float *o = d + (size_t)k * NR;
      if (nr == NR) memcpy(o, s, NR * sizeof *o);
      else for (int j = 0; j < NR; j++) o[j] = j < nr ? s[j] : 0.0f;
    }
  }
}

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

typedef struct epi {    /* what happens to C after the last pass (the bias, per panel, comes apart) */
  float alpha;          /* 1: skipped */
  int gelu;
} epi;

/* C[m, 0:nr] (+)= A[m, 0:kc] B[0:kc, 0:16] for m < mr. first: start from zero, else from C.
 * last: then apply the epilogue. pf: a panel to prefetch alongside B, one line per k.
 * mr and nr are compile-time constants after inlining. */
static inline __attribute__((always_inline)) void tile(const int mr, const float *A, size_t lda, const float *B,
                                                       int kc, float *C, size_t ldc, int nr, int first, int last,
                                                       const epi *e, const float *bias, const float *pf) {
  __m256 c0[MR], c1[MR];
  __m256i m0 = _mm256_setzero_si256(), m1 = m0;
  if (nr < NR) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
    m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++) {
    if (first) {
      c0[r] = c1[r] = _mm256_setzero_ps();
    } else if (nr == NR) {
      c0[r] = _mm256_loadu_ps(C + r * ldc);
      c1[r] = _mm256_loadu_ps(C + r * ldc + 8);
    } else {
      c0[r] = _mm256_maskload_ps(C + r * ldc, m0);
      c1[r] = _mm256_maskload_ps(C + r * ldc + 8, m1);
    }
  }
  const float *a[MR];
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++) a[r] = A + r * lda;
#pragma GCC unroll 4
  for (int k = 0; k < kc; k++) {
    _mm_prefetch((const char *)(pf + (size_t)k * NR), _MM_HINT_T0);
    __m256 b0 = _mm256_load_ps(B + (size_t)k * NR), b1 = _mm256_load_ps(B + (size_t)k * NR + 8);
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
      __m256 x = _mm256_broadcast_ss(a[r] + k);
      c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
    }
  }
  if (last) {
    __m256 al = _mm256_set1_ps(e->alpha), bb0 = _mm256_setzero_ps(), bb1 = bb0;
    if (bias) {
      if (nr == NR) { bb0 = _mm256_loadu_ps(bias); bb1 = _mm256_loadu_ps(bias + 8); }
      else { bb0 = _mm256_maskload_ps(bias, m0); bb1 = _mm256_maskload_ps(bias + 8, m1); }
    }
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
      if (e->alpha != 1.0f) { c0[r] = _mm256_mul_ps(c0[r], al); c1[r] = _mm256_mul_ps(c1[r], al); }
      if (bias) { c0[r] = _mm256_add_ps(c0[r], bb0); c1[r] = _mm256_add_ps(c1[r], bb1); }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++) {
    if (nr == NR) {
      _mm256_storeu_ps(C + r * ldc, c0[r]);
      _mm256_storeu_ps(C + r * ldc + 8, c1[r]);
    } else {
      _mm256_maskstore_ps(C + r * ldc, m0, c0[r]);
      _mm256_maskstore_ps(C + r * ldc + 8, m1, c1[r]);
    }
  }
  if (last && e->gelu) /* after the stores: the libmvec call would spill the live accumulators */
    for (int r = 0; r < mr; r++) ar_gelu(C + r * ldc, nr);
}

static void tile_any(int mr, const float *A, size_t lda, const float *B, int kc, float *C, size_t ldc, int nr,
                     int first, int last, const epi *e, const float *bias, const float *pf) {
  switch (mr) {
  case 6:
    if (nr == NR) tile(6, A, lda, B, kc, C, ldc, NR, first, last, e, bias, pf);
    else tile(6, A, lda, B, kc, C, ldc, nr, first, last, e, bias, pf);
    break;
  case 5: tile(5, A, lda, B, kc, C, ldc, nr, first, last, e, bias, pf); break;
  case 4: tile(4, A, lda, B, kc, C, ldc, nr, first, last, e, bias, pf); break;
  case 3: tile(3, A, lda, B, kc, C, ldc, nr, first, last, e, bias, pf); break;
  case 2: tile(2, A, lda, B, kc, C, ldc, nr, first, last, e, bias, pf); break;
  case 1: tile(1, A, lda, B, kc, C, ldc, nr, first, last, e, bias, pf); break;
  default: break;
  }
}

/* Loop order. Many rows (passages): K in passes of KC; a group of NC panels (NC x 16 KB) stays in
 * L2 while every 6-row slice of A (6 KB, in L1) sweeps across it. Few rows (a query): one pass over
 * K and one panel at a time, all row tiles on it while it is in L1/L2, so the weights stream from
 * memory once, in address order. */
void ar_gemm_avx2(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C, size_t ldc,
             float alpha, const float *bias, int flags) {
  epi e = {alpha, flags & AR_EPI_GELU}; /* AR_EPI_STREAM is a hint: this kernel writes through the cache */
  int small = M <= SMALL_M, nc = small ? 1 : NC;
  for (int k0 = 0, kc; k0 < K; k0 += kc) {
    kc = K - k0 < KC ? K - k0 : KC;
    if (K - k0 > KC && K - k0 < 2 * KC) kc = (K - k0 + 1) / 2; /* no thin last pass */
    if (small) kc = K;
    int first = k0 == 0, last = k0 + kc == K;
    for (int q0 = p0; q0 < p1; q0 += nc) {
      int q1 = p1 - q0 < nc ? p1 : q0 + nc;
      for (int m = 0; m < M; m += MR) {
        int mr = M - m < MR ? M - m : MR;
        for (int p = q0; p < q1; p++) {
          int nr = N - p * NR < NR ? N - p * NR : NR;
          const float *b = P + (size_t)p * NR * K + (size_t)k0 * NR;
          /* few rows: the first row tile of a panel prefetches the next panel, which then comes
           * from cache instead of memory (elsewhere pf = b, already in cache) */
          const float *pf = small && m == 0 && p + 1 < p1 ? b + (size_t)NR * K : b;
          tile_any(mr, A + (size_t)m * lda + k0, lda, b, kc, C + (size_t)m * ldc + (size_t)p * NR, ldc, nr, first, last,
                   &e, bias ? bias + p * NR : NULL, pf);
        }
      }
    }
  }
}
#endif
