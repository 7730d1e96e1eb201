/* agreement.h - inter-annotator agreement: Cohen's kappa (two annotators), Fleiss' kappa and
 * Krippendorff's alpha (ordinal) for any number, each with a bootstrap interval over the questions. */
#ifndef AR_AGREEMENT_H
#define AR_AGREEMENT_H
#include "eval/eval.h"

/* Ratings are a units x raters matrix, row-major: r[u * m + j] is rater j's label of unit u, labels
 * 0..k-1 in the label set's order (an ordinal scale: C=0, P=1, I=2), -1 = not labelled. */

/* Fleiss' kappa over the units every one of the m raters labelled (the statistic assumes a fixed
 * number of ratings per unit). NAN when fewer than one such unit, m < 2, or chance agreement is 1. */
double ar_fleiss_kappa(const int *r, size_t n, int m, int k);
/* Krippendorff's alpha; ordinal: 1 ordinal metric, 0 nominal. Units with fewer than two labels are not
 * pairable and are skipped (missing labels are allowed). NAN when nothing is pairable or every pairable
 * label is the same (no expected disagreement). */
double ar_krippendorff_alpha(const int *r, size_t n, int m, int k, int ordinal);

typedef struct ar_irr {
  int raters;
  size_t n_pairs;      /* Cohen: units both raters labelled (raters == 2) */
  size_t n_complete;   /* Fleiss: units every rater labelled */
  size_t n_pairable;   /* alpha: units with two or more labels */
  ar_ci cohen;         /* NAN unless raters == 2 */
  ar_ci fleiss;        /* NAN unless raters >= 3 */
  ar_ci alpha;         /* ordinal; any raters >= 2 */
} ar_irr;

/* All three with percentile-bootstrap 95% intervals (ar_bootstrap_ci, seeded: same input, same interval). */
void ar_irr_compute(const int *r, size_t n, int m, int k, int draws, uint64_t seed, ar_irr *out);
#endif
