/* rerank_bench.c - times ar_model_score_pairs (tokenizing, pair template, encoder, head) on one question
 * and a file of passages, as --rerank scores a search's first-stage hits.
 *
 *   rerank_bench MODEL_DIR QUESTION PASSAGES.txt REPS THREADS [--print]
 *     -> median seconds per call over REPS (after one warm-up), the kernel, max RSS;
 *        --print: also each passage's score, one per line (ENC_PRECISION=int8: int8 encoder) */
#include "aularag.h"
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

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: rerank_bench MODEL_DIR QUESTION PASSAGES.txt REPS THREADS [--print]\n");
    return 2;
  }
  int reps = atoi(argv[4]), threads = atoi(argv[5]), print = argc > 6 && !strcmp(argv[6], "--print");
  if (reps < 1 || reps > 1000) reps = 5;
  FILE *f = fopen(argv[3], "r");
  if (!f) { perror(argv[3]); return 1; }
  char *line = NULL, **p = NULL;
  size_t cap = 0;
  ssize_t len;
  int n = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    if (len && line[len - 1] == '\n') line[len - 1] = 0;
    p = realloc(p, (size_t)(n + 1) * sizeof *p);
    p[n++] = strdup(line);
  }
  fclose(f);
  free(line);
  ar_model_params mp = ar_model_default_params();
  mp.n_threads = threads;
  const char *prec = getenv("ENC_PRECISION");
  if (prec && ar_precision_parse(prec) >= 0) mp.precision = (ar_precision)ar_precision_parse(prec);
  ar_model *m;
  ar_error err;
  if (ar_model_load(argv[1], mp, &m, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  int nl = ar_model_num_labels(m);
  float *out = malloc((size_t)n * (size_t)(nl ? nl : 1) * sizeof(float));
  double *t = malloc((size_t)reps * sizeof *t);
  if (ar_model_score_pairs(m, argv[2], (const char *const *)p, n, out, &err) != AR_OK) {  /* warm-up */
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    ar_model_score_pairs(m, argv[2], (const char *const *)p, n, out, &err);
    t[r] = now() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmpd);
  double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  if (print)
    for (int i = 0; i < n; i++) printf("%.9g\n", ar_rerank_score(m, out + (size_t)i * nl));
  printf("rerank %d pairs threads %d kernel %s precision %s: median %.5f s, RSS %ld KB\n", n, threads,
         ar_model_kernel(m), ar_precision_name(ar_model_precision(m)), med, ru.ru_maxrss);
  for (int i = 0; i < n; i++) free(p[i]);
  free(p); free(out); free(t);
  ar_model_free(m);
  return 0;
}
