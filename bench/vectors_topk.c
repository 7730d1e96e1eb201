/* vectors_topk.c - bench driver: single-query exact top-k latency of ar_dense_topk (int8 scan + fp32
 * rescoring, and the plain fp32 scan) over a raw float32 file of n x dim rows.
 *   vectors_topk ROWS.f32 N DIM QUERIES.f32 NQ K THREADS IDS_OUT
 * Prints "int8 <median ms> <min ms>" and "fp32 <median ms> <min ms>"; writes the int8 path's ids
 * (NQ lines of K) to IDS_OUT so the caller can compare with FAISS. */
#include "core/util.h"
#include "index/dense.h"
#include <stdio.h>

static float *read_f32(const char *path, size_t count) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); return NULL; }
  float *v = malloc(count * sizeof *v);
  if (!v || fread(v, sizeof *v, count, f) != count) { fprintf(stderr, "%s: short read\n", path); free(v); v = NULL; }
  fclose(f);
  return v;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s ROWS.f32 N DIM QUERIES.f32 NQ K THREADS IDS_OUT\n", argv[0]);
    return 2;
  }
  size_t n = strtoull(argv[2], NULL, 10), nq = strtoull(argv[5], NULL, 10), k = strtoull(argv[6], NULL, 10);
  int dim = atoi(argv[3]), threads = atoi(argv[7]);
  float *m = read_f32(argv[1], n * dim), *q = read_f32(argv[4], nq * dim);
  if (!m || !q) return 1;
  ar_dense_matrix dm = {.v = m, .n = n, .dim = dim};
  if (threads <= 0) threads = ar_n_cores();
  ar_pool *pool = threads > 1 ? ar_pool_new(threads) : NULL;  /* as the index: one pool for every query */
  ar_error err;
  double t0 = ar_now_s();
  if (ar_dense_prepare(&dm, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  fprintf(stderr, "int8 copy built in %.2f s\n", ar_now_s() - t0);
  ar_dense_hit *h = malloc(k * sizeof *h), *h2 = malloc(k * sizeof *h2);
  double *ms = malloc(nq * sizeof *ms);
  FILE *ids = fopen(argv[8], "w");
  if (!ids) { perror(argv[8]); return 1; }
  int mismatches = 0;
  for (int path = 1; path >= 0; path--) {
    size_t nh;
    ar_dense_topk_path(&dm, q, k, pool, NULL, path, h, &nh, &err);   /* warm-up */
    for (size_t i = 0; i < nq; i++) {
      double a = ar_now_s();
      if (ar_dense_topk_path(&dm, q + i * dim, k, pool, NULL, path, h, &nh, &err) != AR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
      }
      ms[i] = (ar_now_s() - a) * 1e3;
      if (path == 1) {
        for (size_t j = 0; j < nh; j++) fprintf(ids, "%lld%c", (long long)h[j].id, j + 1 < nh ? ' ' : '\n');
      } else {  /* check the two paths agree on this query */
        size_t n2;
        ar_dense_topk_path(&dm, q + i * dim, k, pool, NULL, 1, h2, &n2, &err);
        for (size_t j = 0; j < nh; j++) mismatches += h[j].id != h2[j].id || h[j].score != h2[j].score;
      }
    }
    qsort(ms, nq, sizeof *ms, cmp_d);
    printf("%s %.4f %.4f\n", path ? "int8" : "fp32", ms[nq / 2], ms[0]);
  }
  printf("path_mismatches %d\n", mismatches);
  fclose(ids);
  ar_dense_release(&dm);
  free(m); free(q); free(h); free(h2); free(ms);
  return mismatches != 0;
}
