/* test_agreement.c - inter-annotator agreement: the textbook examples (Fleiss 1971 as worked on
 * Wikipedia; Krippendorff 2011's 4 observers x 12 units), then random labels against scikit-learn's
 * cohen_kappa_score and an independent Python computation of Fleiss' kappa and Krippendorff's alpha. */
#include "test.h"
#include "core/util.h"
#include "eval/agreement.h"
#include <unistd.h>

/* Wikipedia's Fleiss example: 10 subjects, 14 raters, 5 categories; published kappa 0.210. Counts per
 * subject become a subjects x raters matrix (which rater gave which label does not matter to Fleiss). */
TEST(agreement_fleiss_textbook) {
  static const int counts[10][5] = {{0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0}, {2, 2, 8, 1, 1},
                                    {7, 7, 0, 0, 0}, {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2}, {6, 5, 2, 1, 0}, {0, 2, 2, 3, 7}};
  int r[10 * 14];
  for (int u = 0; u < 10; u++) {
    int j = 0;
    for (int c = 0; c < 5; c++)
      for (int t = 0; t < counts[u][c]; t++) r[u * 14 + j++] = c;
    ASSERT_EQ_INT(j, 14);
  }
  /* P-bar = 0.378, P-bar_e = 0.213 -> (0.378 - 0.213) / (1 - 0.213) = 0.210 */
  ASSERT_NEAR(ar_fleiss_kappa(r, 10, 14, 5), 0.210, 0.0006);
  /* a unit some rater left out is not used */
  r[0] = -1;
  double without_first = ar_fleiss_kappa(r + 14, 9, 14, 5);
  ASSERT_NEAR(ar_fleiss_kappa(r, 10, 14, 5), without_first, 1e-12);
}

/* Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with missing data:
 * nominal 0.743, ordinal 0.815 (published to three decimals). */
TEST(agreement_krippendorff_textbook) {
  static const int obs[4][12] = {{1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0},
                                 {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3},
                                 {0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0},
                                 {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0}};  /* 0 = missing */
  int r[12 * 4];
  for (int u = 0; u < 12; u++)
    for (int o = 0; o < 4; o++) r[u * 4 + o] = obs[o][u] - 1;  /* values 1..5 -> labels 0..4, missing -> -1 */
  ASSERT_NEAR(ar_krippendorff_alpha(r, 12, 4, 5, 0), 0.743, 0.0005);
  ASSERT_NEAR(ar_krippendorff_alpha(r, 12, 4, 5, 1), 0.815, 0.0005);
  ar_irr irr;
  ar_irr_compute(r, 12, 4, 5, 500, 7, &irr);
  ASSERT_EQ_INT(irr.n_pairable, 11);   /* unit 12 has one value */
  ASSERT_EQ_INT(irr.n_complete, 8);    /* units 2-9: every observer coded them */
  ASSERT_NEAR(irr.alpha.value, 0.815, 0.0005);
  ASSERT(irr.alpha.lo <= irr.alpha.value && irr.alpha.value <= irr.alpha.hi);
  ASSERT(isnan(irr.cohen.value));      /* four raters: no Cohen */
}

TEST(agreement_degenerate_cases) {
  int same[6] = {0, 0, 0, 0, 0, 0};
  ASSERT(isnan(ar_krippendorff_alpha(same, 3, 2, 3, 1)));  /* one value only: no expected disagreement */
  ASSERT(isnan(ar_fleiss_kappa(same, 2, 3, 3)));
  int lone[4] = {0, -1, -1, 1};
  ASSERT(isnan(ar_krippendorff_alpha(lone, 2, 2, 3, 1)));   /* nothing pairable */
  int perfect[8] = {0, 0, 1, 1, 2, 2, 0, 0};
  ASSERT_NEAR(ar_krippendorff_alpha(perfect, 4, 2, 3, 1), 1.0, 1e-12);
  ar_irr irr;
  ar_irr_compute(perfect, 4, 2, 3, 200, 1, &irr);
  ASSERT_NEAR(irr.cohen.value, 1.0, 1e-12);
  ASSERT_EQ_INT(irr.n_pairs, 4);
  ASSERT(isnan(irr.fleiss.value));     /* two raters: Cohen instead */
  ar_irr irr2;
  ar_irr_compute(perfect, 4, 2, 3, 200, 1, &irr2);
  ASSERT(irr.cohen.lo == irr2.cohen.lo && irr.alpha.hi == irr2.alpha.hi);  /* seeded */
}

/* Random label matrices (missing labels included): Cohen against sklearn, Fleiss and alpha against
 * a direct Python transcription of their definitions (pairwise disagreement, not a coincidence matrix). */
TEST(agreement_matches_sklearn_and_python_on_random_labels) {
  if (access("/usr/bin/python3", X_OK) != 0) { fprintf(stderr, "  /usr/bin/python3 missing\n"); test_failed_current = 1; return; }
  const char *dir = test_tmpdir();
  char in[512], cmd[3000];
  snprintf(in, sizeof in, "%s/irr.txt", dir);
  FILE *f = fopen(in, "w");
  ASSERT(f);
  uint64_t st = 4242;
  enum { TRIALS = 30 };
  double ours[TRIALS][3];
  for (int t = 0; t < TRIALS; t++) {
    int n = 6 + (int)(ar_rng_next(&st) % 40), m = 2 + (int)(ar_rng_next(&st) % 4), k = 3 + (int)(ar_rng_next(&st) % 2);
    int r[50 * 6];
    for (int u = 0; u < n; u++) {
      int truth = (int)(ar_rng_next(&st) % (uint64_t)k);
      for (int j = 0; j < m; j++) {
        int v = ar_rng_next(&st) % 3 ? truth : (int)(ar_rng_next(&st) % (uint64_t)k);
        if (m > 2 && ar_rng_next(&st) % 7 == 0) v = -1;  /* some missing (Fleiss skips, alpha keeps) */
        r[u * m + j] = v;
      }
    }
    ar_irr irr;
    ar_irr_compute(r, (size_t)n, m, k, 0, 1, &irr);
    ours[t][0] = m == 2 ? irr.cohen.value : NAN;
    ours[t][1] = ar_fleiss_kappa(r, (size_t)n, m, k);
    ours[t][2] = irr.alpha.value;
    fprintf(f, "%d %d %d", n, m, k);
    for (int i = 0; i < n * m; i++) fprintf(f, " %d", r[i]);
    fputc('\n', f);
  }
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c '\n"
           "import sys, math\n"
           "from sklearn.metrics import cohen_kappa_score\n"
           "for line in open(sys.argv[1]):\n"
           "    v = [int(x) for x in line.split()]; n, m, k = v[:3]; R = [v[3+u*m:3+u*m+m] for u in range(n)]\n"
           "    ck = float(\"nan\")\n"
           "    if m == 2:\n"
           "        P = [(a, b) for a, b in R if a >= 0 and b >= 0]\n"
           "        ck = cohen_kappa_score([a for a, b in P], [b for a, b in P], labels=list(range(k)))\n"
           "    full = [row for row in R if all(x >= 0 for x in row)]\n"
           "    fk = float(\"nan\")\n"
           "    if full:\n"
           "        N = len(full); cnt = [[row.count(c) for c in range(k)] for row in full]\n"
           "        Pi = [(sum(x*x for x in c) - m) / (m*(m-1)) for c in cnt]\n"
           "        pj = [sum(c[j] for c in cnt) / (N*m) for j in range(k)]\n"
           "        Pe = sum(p*p for p in pj)\n"
           "        fk = (sum(Pi)/N - Pe) / (1 - Pe) if Pe < 1 else float(\"nan\")\n"
           "    units = [[x for x in row if x >= 0] for row in R]; units = [u for u in units if len(u) >= 2]\n"
           "    vals = [x for u in units for x in u]; nv = len(vals); fr = {c: vals.count(c) for c in range(k)}\n"
           "    def d(a, b):\n"
           "        if a == b: return 0.0\n"
           "        lo, hi = min(a, b), max(a, b); s = sum(fr[g] for g in range(lo, hi+1)) - (fr[a]+fr[b])/2\n"
           "        return s*s\n"
           "    Do = sum(sum(d(a, b) for i, a in enumerate(u) for j, b in enumerate(u) if i != j)/(len(u)-1) for u in units)\n"
           "    De = sum(d(a, b) for i, a in enumerate(vals) for j, b in enumerate(vals) if i != j)\n"
           "    al = 1 - (nv-1)*Do/De if De > 0 else float(\"nan\")\n"
           "    print(\"%%.12f %%.12f %%.12f\" %% (ck, fk, al))\n"
           "' %s 2>&1",
           in);
  FILE *p = popen(cmd, "r");
  ASSERT(p);
  int got = 0;
  char line[400];
  const char *names[3] = {"Cohen", "Fleiss", "alpha"};
  while (got < TRIALS && fgets(line, sizeof line, p)) {
    double ref[3];
    char a[3][64];
    if (sscanf(line, "%63s %63s %63s", a[0], a[1], a[2]) != 3) { fprintf(stderr, "  %s", line); continue; }
    for (int j = 0; j < 3; j++) {
      ref[j] = strcmp(a[j], "nan") ? strtod(a[j], NULL) : NAN;
      ASSERT_MSG((isnan(ours[got][j]) && isnan(ref[j])) || fabs(ours[got][j] - ref[j]) < 1e-9,
                 "trial %d %s: ours %.12f, reference %.12f", got, names[j], ours[got][j], ref[j]);
    }
    got++;
  }
  int rc = pclose(p);
  ASSERT_MSG(got == TRIALS && rc == 0, "reference script gave %d of %d rows (exit %d): sklearn installed?", got, TRIALS, rc);
}
