/* eval_stats.c - bench driver: the statistics of an eval run (agreement, kappas, macro-F1, Spearman,
 * retrieval metrics, 6 bootstrap intervals) over N synthetic questions. Prints the median of R runs in ms.
 * Usage: eval_stats N DRAWS REPEATS [labels-out-file]   (the labels file feeds the Python comparison) */
#include "core/util.h"
#include "eval/eval.h"
#include <math.h>

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 200;
  int draws = argc > 2 ? atoi(argv[2]) : 1000, reps = argc > 3 ? atoi(argv[3]) : 7;
  char *labels[3] = {"C", "P", "I"};
  ar_eval_item *items = calloc(n, sizeof *items);
  uint64_t st = 99;
  FILE *lf = argc > 4 ? fopen(argv[4], "w") : NULL;
  for (size_t i = 0; i < n; i++) {
    ar_eval_item *it = &items[i];
    int m = (int)(ar_rng_next(&st) % 3), a = ar_rng_next(&st) % 3 ? m : (int)(ar_rng_next(&st) % 3);
    int ar = (int)(ar_rng_next(&st) % 4);
    it->q.id = "x";
    it->q.manual = labels[m];
    it->label.status = AR_JUDGE_OK;
    it->label.score = a;
    it->ar.status = AR_JUDGE_OK;
    it->ar.score = ar;
    if (lf) fprintf(lf, "%d %d %d\n", m, a, ar);
  }
  if (lf) fclose(lf);
  ar_eval_run_info info = {0};
  info.labels = labels;
  info.n_labels = 3;
  info.bootstrap = draws;
  info.answer_model = info.judge_model = info.answer_url = info.judge_url = "";
  double *t = calloc((size_t)reps, sizeof *t);
  ar_eval_summary s;
  for (int r = 0; r < reps; r++) {
    double t0 = ar_now_s();
    ar_eval_summarize(items, n, &info, &s);
    t[r] = (ar_now_s() - t0) * 1000;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_d);
  printf("%.3f kappa=%.6f qwk=%.6f f1=%.6f spearman=%.6f\n", t[reps / 2], s.kappa.value, s.kappa_quadratic.value,
         s.macro_f1.value, s.spearman.value);
  free(t);
  free(items);
  return 0;
}
