/* test_eval_stats.c - agreement statistics, Spearman, bootstrap and retrieval metrics: hand-worked
 * examples, then random labels checked against scikit-learn / scipy (Debian's python3). */
#include "test.h"
#include "core/util.h"
#include "eval/eval.h"
#include <unistd.h>

/* manual C C C P P I I I C P vs automated C C P P I I I C C P (C=0, P=1, I=2) */
static const int MAN[10] = {0, 0, 0, 1, 1, 2, 2, 2, 0, 1};
static const int AUT[10] = {0, 0, 1, 1, 2, 2, 2, 0, 0, 1};

TEST(eval_stats_agreement_hand_worked) {
  ar_agreement a;
  ar_agreement_compute(MAN, AUT, 10, 3, &a);
  ASSERT_EQ_INT(a.n, 10);
  long want[3][3] = {{3, 1, 0}, {0, 2, 1}, {1, 0, 2}};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) ASSERT_EQ_INT(a.confusion[i][j], want[i][j]);
  ASSERT_NEAR(a.accuracy, 0.7, 1e-12);
  /* p_e = (4*4 + 3*3 + 3*3) / 100 = 0.34; kappa = 0.36 / 0.66 */
  ASSERT_NEAR(a.kappa, 0.36 / 0.66, 1e-12);
  /* sum w*O = 6, sum w*E = 13.8 (w = (i-j)^2) */
  ASSERT_NEAR(a.kappa_quadratic, 1 - 6 / 13.8, 1e-12);
  ASSERT_NEAR(a.macro_f1, (0.75 + 2.0 / 3 + 2.0 / 3) / 3, 1e-12);
  ASSERT_NEAR(a.precision[0], 0.75, 1e-12);
  ASSERT_NEAR(a.recall[2], 2.0 / 3, 1e-12);
}

TEST(eval_stats_missing_labels_and_degenerate_cases) {
  int m[4] = {0, -1, 1, 0}, x[4] = {0, 1, -1, 0};
  ar_agreement a;
  ar_agreement_compute(m, x, 4, 3, &a);
  ASSERT_EQ_INT(a.n, 2);
  ASSERT_NEAR(a.accuracy, 1.0, 0);
  ASSERT(isnan(a.kappa));  /* every pair on one label: chance agreement is total */
  ar_agreement_compute(m, x, 0, 3, &a);
  ASSERT(isnan(a.accuracy) && isnan(a.macro_f1));
}

TEST(eval_stats_spearman_ties_hand_worked) {
  double x[4] = {1, 2, 2, 3}, y[4] = {1, 1, 2, 2}, r[4];
  ar_rank_average(x, 4, r);
  ASSERT_NEAR(r[0], 1, 0); ASSERT_NEAR(r[1], 2.5, 0); ASSERT_NEAR(r[2], 2.5, 0); ASSERT_NEAR(r[3], 4, 0);
  ASSERT_NEAR(ar_spearman(x, y, 4), 3 / sqrt(18), 1e-12);
  double c[3] = {1, 1, 1};
  ASSERT(isnan(ar_spearman(c, y, 3)));
  ASSERT(isnan(ar_spearman(x, y, 1)));
}

static double mean_stat(const size_t *idx, size_t n, void *ctx) {
  const double *v = ctx;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += v[idx[i]];
  return s / (double)n;
}

TEST(eval_stats_bootstrap_deterministic_and_sane) {
  double v[40];
  for (int i = 0; i < 40; i++) v[i] = i % 2;  /* mean 0.5 */
  double lo, hi, lo2, hi2;
  ar_bootstrap_ci(mean_stat, v, 40, 2000, 7, &lo, &hi);
  ar_bootstrap_ci(mean_stat, v, 40, 2000, 7, &lo2, &hi2);
  ASSERT(lo == lo2 && hi == hi2);
  /* normal approx: 0.5 +- 1.96 * sqrt(.25/40) = [0.345, 0.655] */
  ASSERT(lo > 0.30 && lo < 0.40);
  ASSERT(hi > 0.60 && hi < 0.70);
  ar_bootstrap_ci(mean_stat, v, 0, 100, 7, &lo, &hi);
  ASSERT(isnan(lo) && isnan(hi));
}

TEST(eval_retrieval_hand_worked) {
  ar_span gold[1] = {{"v1", 100, 110}};
  ar_span ret[4] = {{"v2", 0, 120}, {"v1", 0, 90}, {"v1", 95, 215}, {"v1", 180, 300}};
  ar_retrieval r;
  ar_retrieval_compute(ret, 4, gold, 1, AR_MATCH_OVERLAP, 0, &r);
  ASSERT_EQ_INT(r.first_rank, 3);
  ASSERT_NEAR(r.hit[0], 0, 0); ASSERT_NEAR(r.hit[1], 1, 0); ASSERT_NEAR(r.hit[2], 1, 0);
  ASSERT_NEAR(r.mrr10, 1.0 / 3, 1e-12);
  ASSERT_NEAR(r.ndcg10, 0.5, 1e-12);  /* 1/log2(4) over 1/log2(2) */
  /* a 15 s tolerance lets rank 2 (ends at 90) reach the gold span (starts at 100) */
  ar_retrieval_compute(ret, 4, gold, 1, AR_MATCH_OVERLAP, 15, &r);
  ASSERT_EQ_INT(r.first_rank, 2);
  ar_retrieval_compute(ret, 4, gold, 1, AR_MATCH_CONTAIN, 0, &r);
  ASSERT_EQ_INT(r.first_rank, 3);
  ar_span g2[1] = {{"v1", 80, 120}};  /* no v1 segment holds all of it ([0,120] is another video) */
  ar_retrieval_compute(ret, 4, g2, 1, AR_MATCH_CONTAIN, 0, &r);
  ASSERT_EQ_INT(r.first_rank, 0);
  ASSERT_NEAR(r.ndcg10, 0, 0);
  ar_retrieval_compute(ret, 4, g2, 1, AR_MATCH_CONTAIN, 15, &r);  /* [95,215] holds [95,105] */
  ASSERT_EQ_INT(r.first_rank, 3);
}

TEST(eval_retrieval_each_gold_counted_once) {
  ar_span gold[2] = {{"v1", 100, 110}, {"v1", 500, 510}};
  ar_span ret[3] = {{"v1", 90, 200}, {"v1", 95, 215}, {"v1", 480, 600}};
  ar_retrieval r;
  ar_retrieval_compute(ret, 3, gold, 2, AR_MATCH_OVERLAP, 0, &r);
  ASSERT_NEAR(r.recall[0], 0.5, 0);
  ASSERT_NEAR(r.recall[1], 1.0, 0);
  ASSERT_NEAR(r.recall[2], 1.0, 0);
  /* dcg = 1 + 0 (same gold again) + 1/log2(4); idcg = 1 + 1/log2(3) */
  ASSERT_NEAR(r.ndcg10, 1.5 / (1 + 1 / log2(3)), 1e-12);
  ASSERT(r.ndcg10 <= 1.0);
  ASSERT_NEAR(r.mrr10, 1, 0);
}

/* Random labels: our numbers vs sklearn's cohen_kappa_score (plain and quadratic), f1_score(macro),
 * accuracy_score and scipy.stats.spearmanr. */
TEST(eval_stats_match_sklearn_scipy_on_random_labels) {
  if (access("/usr/bin/python3", X_OK) != 0) { fprintf(stderr, "  /usr/bin/python3 missing\n"); test_failed_current = 1; return; }
  const char *dir = test_tmpdir();
  char in[512], cmd[1200];
  snprintf(in, sizeof in, "%s/labels.txt", dir);
  FILE *f = fopen(in, "w");
  ASSERT(f);
  uint64_t st = 12345;
  enum { TRIALS = 25 };
  double ours[TRIALS][5];
  for (int t = 0; t < TRIALS; t++) {
    int n = 8 + (int)(ar_rng_next(&st) % 60), k = 3;
    int a[80], b[80];
    double x[80], y[80];
    for (int i = 0; i < n; i++) {
      a[i] = (int)(ar_rng_next(&st) % k);
      /* correlated with a most of the time, so kappa is not always ~0 */
      b[i] = ar_rng_next(&st) % 3 ? a[i] : (int)(ar_rng_next(&st) % k);
      x[i] = (double)(ar_rng_next(&st) % 4) / 3.0 + (b[i] == 0 ? 0.34 : 0);
      y[i] = (double)(k - 1 - a[i]);
    }
    ar_agreement ag;
    ar_agreement_compute(a, b, (size_t)n, k, &ag);
    ours[t][0] = ag.accuracy; ours[t][1] = ag.kappa; ours[t][2] = ag.kappa_quadratic; ours[t][3] = ag.macro_f1;
    ours[t][4] = ar_spearman(x, y, (size_t)n);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? " " : "", a[i]);
    fputc('\n', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? " " : "", b[i]);
    fputc('\n', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? " " : "", x[i]);
    fputc('\n', f);
  }
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c '\n"
           "import sys\n"
           "from sklearn.metrics import cohen_kappa_score, f1_score, accuracy_score\n"
           "from scipy.stats import spearmanr\n"
           "L = open(sys.argv[1]).read().split(\"\\n\")\n"
           "for t in range(len(L) // 3):\n"
           "    a = [int(v) for v in L[3*t].split()]; b = [int(v) for v in L[3*t+1].split()]\n"
           "    x = [float(v) for v in L[3*t+2].split()]; y = [2 - v for v in a]\n"
           "    print(\"%%.12f %%.12f %%.12f %%.12f %%.12f\" %% (accuracy_score(a, b), cohen_kappa_score(a, b, labels=[0,1,2]),\n"
           "          cohen_kappa_score(a, b, labels=[0,1,2], weights=\"quadratic\"), f1_score(a, b, average=\"macro\"),\n"
           "          spearmanr(x, y).correlation))\n"
           "' %s 2>/dev/null",
           in);
  FILE *p = popen(cmd, "r");
  ASSERT(p);
  int got = 0;
  double ref[5];
  const char *names[5] = {"accuracy", "kappa", "quadratic kappa", "macro-F1", "spearman"};
  while (got < TRIALS && fscanf(p, "%lf %lf %lf %lf %lf", &ref[0], &ref[1], &ref[2], &ref[3], &ref[4]) == 5) {
    for (int m = 0; m < 5; m++)
      ASSERT_MSG(fabs(ours[got][m] - ref[m]) < 1e-9, "trial %d %s: ours %.12f, reference %.12f", got, names[m],
                 ours[got][m], ref[m]);
    got++;
  }
  int rc = pclose(p);
  ASSERT_MSG(got == TRIALS && rc == 0, "reference script gave %d of %d rows (exit %d): sklearn/scipy installed?", got,
             TRIALS, rc);
}
