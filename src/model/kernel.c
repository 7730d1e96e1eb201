/* kernel.c - which matrix-product kernel runs: what this build compiled and this CPU supports.
 * Resolved once per model at load (load.c); the forward pass calls the model's function pointer. */
#include "model/model.h"
#include <string.h>

static const char *const names[] = {"auto", "scalar", "avx2", "avx512"};

const char *ar_kernel_name(ar_kernel k) {
  return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

int ar_kernel_parse(const char *s, ar_kernel *k) {
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(s, names[i])) { *k = (ar_kernel)i; return 0; }
  return -1;
}

ar_gemm_fn ar_kernel_gemm(ar_kernel k) {
  switch (k) {
  case AR_KERNEL_AUTO: return ar_kernel_gemm(ar_kernel_best());
  case AR_KERNEL_SCALAR: return ar_gemm_scalar;
#if defined(__AVX2__) && defined(__FMA__)
  case AR_KERNEL_AVX2: return ar_gemm_avx2;
#endif
#if defined(__x86_64__) || defined(__i386__)
  /* the OS must save zmm state too: libgcc's cpu model checks XCR0 before it reports avx512f */
  case AR_KERNEL_AVX512:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? ar_gemm_avx512 : NULL;
#endif
  default: return NULL;
  }
}

ar_kernel ar_kernel_best(void) {
  if (ar_kernel_gemm(AR_KERNEL_AVX512)) return AR_KERNEL_AVX512;
  if (ar_kernel_gemm(AR_KERNEL_AVX2)) return AR_KERNEL_AVX2;
  return AR_KERNEL_SCALAR;
}
