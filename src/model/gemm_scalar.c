/* gemm_scalar.c - ar_gemm in portable C: the kernel of builds without x86 SIMD (aarch64: the
 * compiler turns the 16-lane loops into NEON), and AULARAG_KERNEL=scalar on x86 (tests).
 *
 * Same packed weights and contract as gemm.c. Each output is the same chain as in the SIMD kernels,
 * fmaf over k from zero, then alpha, then the bias, then ar_gelu, so on one machine it gives their
 * bits; it is simply slower (no register tiling beyond 4 rows, no cache blocking). */
#include "model/model.h"
#include <math.h>

#define NR AR_PANEL
#define MR 4

void ar_gemm_scalar(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                    size_t ldc, float alpha, const float *bias, int epi) {
  for (int p = p0; p < p1; p++) {
    const float *b = P + (size_t)p * NR * K;
    int nr = N - p * NR < NR ? N - p * NR : NR;
    for (int m = 0; m < M; m += MR) {
      int mr = M - m < MR ? M - m : MR;
      float c[MR][NR] = {{0}};
      for (int k = 0; k < K; k++)
        for (int r = 0; r < mr; r++) {
          float x = A[(size_t)(m + r) * lda + k];
          for (int j = 0; j < NR; j++) c[r][j] = fmaf(x, b[(size_t)k * NR + j], c[r][j]);
        }
      for (int r = 0; r < mr; r++) {
        float *o = C + (size_t)(m + r) * ldc + (size_t)p * NR;
        for (int j = 0; j < nr; j++) {
          float v = c[r][j];
          if (alpha != 1.0f) v *= alpha;
          if (bias) v += bias[p * NR + j];
          o[j] = v;
        }
        if (epi & AR_EPI_GELU) ar_gelu(o, nr);
      }
    }
  }
}
