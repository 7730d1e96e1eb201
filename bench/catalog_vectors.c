/* catalog_vectors.c - fills a catalog index with one random unit vector per segment, stamped with a
 * model's fingerprint, for bench_catalog.sh: embedding 363k segments with the encoder takes ~16 h on two
 * cores, and the search cost does not depend on what the vectors mean. Deterministic: each vector is
 * drawn from a generator seeded by the segment text, so re-runs give the same index.
 * usage: catalog_vectors INDEX MODEL_DIR */
#include "aularag.h"
#include "core/util.h"
#include "index/vectors.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static ar_status random_unit(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out,
                             ar_error *err) {
  (void)kind; (void)err;
  int dim = *(int *)ctx;
  for (int i = 0; i < n; i++) {
    uint64_t s = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)texts[i]; *c; c++) s = (s ^ *c) * 1099511628211ull;
    float *v = out + (size_t)i * dim;
    double norm = 0;
    for (int j = 0; j < dim; j++) {
      /* sum of uniforms ~ normal enough for directions on the sphere */
      double g = ar_rng_unit(&s) + ar_rng_unit(&s) + ar_rng_unit(&s) - 1.5;
      v[j] = (float)g;
      norm += g * g;
    }
    for (int j = 0; j < dim; j++) v[j] = (float)(v[j] / sqrt(norm));
  }
  return AR_OK;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s INDEX MODEL_DIR\n", argv[0]); return 2; }
  ar_blas_single_thread();
  ar_error err;
  ar_model *m = NULL;
  ar_model_params mp = ar_model_default_params();
  mp.ids_only = 1;
  if (ar_model_load(argv[2], mp, &m, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  int dim = ar_model_dim(m);
  ar_embedder e = {.fingerprint = ar_model_fingerprint(m), .dim = dim, .embed = random_unit, .ctx = &dim};
  ar_index *ix = NULL;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  if (ar_index_open(argv[1], ip, &ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  int64_t n = 0;
  double t0 = ar_now_s();
  ar_status st = ar_vectors_embed_pending_with(ix, &e, 4096, NULL, NULL, &n, &err);
  if (st) fprintf(stderr, "%s\n", err.msg);
  else printf("%lld vectors (dim %d, %s) in %.1f s\n", (long long)n, dim, e.fingerprint, ar_now_s() - t0);
  ar_index_close(ix);
  ar_model_free(m);
  return st ? 1 : 0;
}
