/* encoder_bench.c - times ar_model_embed_ids on fixed token ids, or OpenBLAS sgemm's peak.
 *
 *   encoder_bench embed MODEL_DIR IDS.jsonl BATCH REPS THREADS   -> median s/batch, tokens/s, GFLOP/s, max RSS
 *     (ENC_GEMM=openblas: the OpenBLAS backend instead of our packed kernel; AULARAG_KERNEL picks the packed one;
 *      ENC_PRECISION=int8: int8)
 *   encoder_bench peak M N K REPS THREADS                         -> median GFLOP/s of one sgemm
 * IDS.jsonl: one JSON array of ids per sequence; the first BATCH sequences form the batch. */
#include "aularag.h"
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmpd);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
static long max_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static int peak(int M, int N, int K, int reps, int threads) {
  openblas_set_num_threads(threads);
  float *a = malloc((size_t)M * K * 4), *b = malloc((size_t)N * K * 4), *c = malloc((size_t)M * N * 4);
  for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
  for (size_t i = 0; i < (size_t)N * K; i++) b[i] = (float)(i % 5) * 0.1f;
  double t[64];
  if (reps > 64) reps = 64;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N); /* warm-up */
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
    t[r] = now() - t0;
  }
  double s = median(t, reps);
  printf("peak sgemm %dx%dx%d threads %d: median %.4f s, %.1f GFLOP/s\n", M, N, K, threads, s,
         2.0 * M * N * K / s * 1e-9);
  free(a); free(b); free(c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 7 && !strcmp(argv[1], "peak"))
    return peak(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  if (argc != 7 || strcmp(argv[1], "embed")) {
    fprintf(stderr, "usage: encoder_bench embed MODEL_DIR IDS.jsonl BATCH REPS THREADS | peak M N K REPS THREADS\n");
    return 2;
  }
  int batch = atoi(argv[4]), reps = atoi(argv[5]), threads = atoi(argv[6]);
  FILE *f = fopen(argv[3], "r");
  if (!f) { perror(argv[3]); return 1; }
  int32_t **ids = calloc((size_t)batch, sizeof *ids);
  int *n_ids = calloc((size_t)batch, sizeof *n_ids);
  char line[65536];
  long tokens = 0, sq = 0;
  for (int i = 0; i < batch; i++) {
    if (!fgets(line, sizeof line, f)) { fprintf(stderr, "%s: fewer than %d lines\n", argv[3], batch); return 1; }
    json_t *a = json_loads(line, 0, NULL);
    n_ids[i] = (int)json_array_size(a);
    ids[i] = malloc((size_t)n_ids[i] * sizeof **ids);
    for (int j = 0; j < n_ids[i]; j++) ids[i][j] = (int32_t)json_integer_value(json_array_get(a, (size_t)j));
    json_decref(a);
    tokens += n_ids[i];
    sq += (long)n_ids[i] * n_ids[i];
  }
  fclose(f);
  ar_model_params p = ar_model_default_params();
  p.n_threads = threads;
  p.ids_only = 1; /* ids in: the generated bench models have no tokenizer */
  const char *g = getenv("ENC_GEMM");
  p.gemm = g && !strcmp(g, "openblas") ? AR_GEMM_OPENBLAS : AR_GEMM_PACKED;
  const char *pr = getenv("ENC_PRECISION");
  if (pr && ar_precision_parse(pr) >= 0) p.precision = (ar_precision)ar_precision_parse(pr);
  ar_model *m;
  ar_error err;
  double t0 = now();
  ar_blas_single_thread();
  if (ar_model_load(argv[2], p, &m, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  double load_s = now() - t0;
  int H = ar_model_dim(m);
  float *out = malloc((size_t)batch * H * sizeof(float));
  if (ar_model_embed_ids(m, (const int32_t *const *)ids, n_ids, batch, out, &err) != AR_OK) { /* warm-up */
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  double t[256];
  if (reps > 256) reps = 256;
  for (int r = 0; r < reps; r++) {
    t0 = now();
    ar_model_embed_ids(m, (const int32_t *const *)ids, n_ids, batch, out, NULL);
    t[r] = now() - t0;
  }
  double best = t[0];
  for (int r = 1; r < reps; r++) best = t[r] < best ? t[r] : best;
  double s = median(t, reps);
  /* FLOPs from the config: linear layers 2*T*(4H^2 + 2HF) per layer, attention 4*n^2*H per sequence */
  char cfgp[4096];
  snprintf(cfgp, sizeof cfgp, "%s/config.json", argv[2]);
  json_t *cfg = json_load_file(cfgp, 0, NULL);
  double L = (double)json_integer_value(json_object_get(cfg, "num_hidden_layers"));
  double F = (double)json_integer_value(json_object_get(cfg, "intermediate_size"));
  json_decref(cfg);
  double flops = L * (2.0 * tokens * (4.0 * H * H + 2.0 * H * F) + 4.0 * (double)sq * H);
  printf("c kernel %s%s batch %d tokens %ld threads %d: median %.5f s (min %.5f), %.1f tokens/s, %.1f GFLOP/s, load %.3f s, max RSS %ld KB\n",
         ar_model_kernel(m), p.precision == AR_PRECISION_INT8 ? "(int8)" : "", batch, tokens, threads, s, best, tokens / s, flops / s * 1e-9, load_s, max_rss_kb());
  ar_model_free(m);
  for (int i = 0; i < batch; i++) free(ids[i]);
  free(ids); free(n_ids); free(out);
  return 0;
}
