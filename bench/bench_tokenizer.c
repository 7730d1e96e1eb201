/* bench_tokenizer.c - in-process tokenizer timings for bench/bench_tokenizer.sh.
 *   bench_tokenizer encode MODEL TEXT_FILE REPS   encode every line REPS times -> JSON medians
 *   bench_tokenizer load MODEL REPS               load time median and resident memory of one handle */
#include "aularag.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}

int main(int argc, char **argv) {
  ar_error err;
  ar_tokenizer *t;
  if (argc >= 4 && !strcmp(argv[1], "load")) {
    int reps = atoi(argv[3]);
    double w[64], c[64];
    long rss0 = rss_kb(), rss1 = 0;
    if (reps < 1 || reps > 64) reps = 5;
    for (int r = 0; r < reps; r++) {
      double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
      if (ar_tokenizer_load(argv[2], &t, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
      w[r] = now(CLOCK_MONOTONIC) - t0;
      c[r] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
      if (r == 0) rss1 = rss_kb();
      if (r < reps - 1) ar_tokenizer_free(t);
    }
    qsort(w, (size_t)reps, sizeof *w, cmp_d);
    qsort(c, (size_t)reps, sizeof *c, cmp_d);
    printf("{\"load_median_s\": %.6f, \"load_min_s\": %.6f, \"load_cpu_median_s\": %.6f, \"rss_delta_mb\": %.1f, "
           "\"vocab\": %d}\n", w[reps / 2], w[0], c[reps / 2], (rss1 - rss0) / 1024.0, ar_tokenizer_vocab_size(t));
    ar_tokenizer_free(t);
    return 0;
  }
  if (argc < 5 || strcmp(argv[1], "encode")) {
    fprintf(stderr, "usage: bench_tokenizer encode MODEL TEXT_FILE REPS | load MODEL REPS\n");
    return 2;
  }
  if (ar_tokenizer_load(argv[2], &t, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  FILE *f = fopen(argv[3], "rb");
  if (!f) { perror(argv[3]); return 1; }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "read failed\n"); return 1; }
  fclose(f);
  text[n] = 0;
  int reps = atoi(argv[4]);
  if (reps < 1 || reps > 64) reps = 5;
  double w[64], c[64];
  long ids_total = 0;
  int32_t ids[4096];
  for (int r = 0; r < reps; r++) {
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    ids_total = 0;
    for (char *p = text, *e; p < text + n; p = e + 1) {
      e = memchr(p, '\n', (size_t)(text + n - p));
      if (!e) e = text + n;
      int k = ar_tokenizer_encode(t, p, (size_t)(e - p), ids, 4096, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE);
      ids_total += k;
    }
    w[r] = now(CLOCK_MONOTONIC) - t0;
    c[r] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
  }
  qsort(w, (size_t)reps, sizeof *w, cmp_d);
  qsort(c, (size_t)reps, sizeof *c, cmp_d);
  printf("{\"median_s\": %.6f, \"cpu_median_s\": %.6f, \"bytes\": %ld, \"ids\": %ld, \"mb_per_s\": %.2f}\n", w[reps / 2],
         c[reps / 2], n, ids_total, n / 1e6 / w[reps / 2]);
  free(text);
  ar_tokenizer_free(t);
  return 0;
}
