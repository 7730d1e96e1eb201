/* stats.c - agreement (accuracy, Cohen's kappa, weighted kappa, macro-F1), Spearman, bootstrap, retrieval metrics. */
#include "core/util.h"
#include "eval/eval.h"
#include <math.h>

double ar_mean(const double *x, size_t n) {
  if (!n) return NAN;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s / (double)n;
}

static int valid(int a, int k) { return a >= 0 && a < k; }

double ar_kappa(const int *a, const int *b, size_t n, int k, int weights) {
  if (k < 1 || k > AR_MAX_LABELS) return NAN;
  double o[AR_MAX_LABELS][AR_MAX_LABELS] = {{0}}, ra[AR_MAX_LABELS] = {0}, cb[AR_MAX_LABELS] = {0};
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!valid(a[i], k) || !valid(b[i], k)) continue;
    o[a[i]][b[i]] += 1; ra[a[i]] += 1; cb[b[i]] += 1; m += 1;
  }
  if (m == 0) return NAN;
  /* kappa_w = 1 - sum w*O / sum w*E, E = row*col/N; unweighted: w = 1 off the diagonal */
  double num = 0, den = 0;
  for (int i = 0; i < k; i++)
    for (int j = 0; j < k; j++) {
      double d = (double)(i > j ? i - j : j - i);
      double w = weights == 0 ? (i != j) : weights == 1 ? d : d * d;
      num += w * o[i][j];
      den += w * ra[i] * cb[j] / m;
    }
  if (den == 0) return NAN;  /* all mass on one label: chance agreement is total */
  return 1.0 - num / den;
}

double ar_macro_f1(const int *truth, const int *pred, size_t n, int k) {
  double tp[AR_MAX_LABELS] = {0}, np[AR_MAX_LABELS] = {0}, nt[AR_MAX_LABELS] = {0};
  for (size_t i = 0; i < n; i++) {
    if (!valid(truth[i], k) || !valid(pred[i], k)) continue;
    nt[truth[i]] += 1; np[pred[i]] += 1;
    if (truth[i] == pred[i]) tp[truth[i]] += 1;
  }
  double s = 0;
  int present = 0;
  for (int c = 0; c < k; c++) {
    if (nt[c] == 0 && np[c] == 0) continue;
    present++;
    double p = np[c] ? tp[c] / np[c] : 0, r = nt[c] ? tp[c] / nt[c] : 0;
    s += p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
  return present ? s / present : NAN;
}

void ar_agreement_compute(const int *manual, const int *autom, size_t n, int k, ar_agreement *out) {
  memset(out, 0, sizeof *out);
  out->k = k;
  double agree = 0;
  for (size_t i = 0; i < n; i++) {
    if (!valid(manual[i], k) || !valid(autom[i], k)) continue;
    out->confusion[manual[i]][autom[i]]++;
    out->n++;
    agree += manual[i] == autom[i];
  }
  out->accuracy = out->n ? agree / (double)out->n : NAN;
  out->kappa = ar_kappa(manual, autom, n, k, 0);
  out->kappa_quadratic = ar_kappa(manual, autom, n, k, 2);
  out->macro_f1 = out->n ? ar_macro_f1(manual, autom, n, k) : NAN;
  for (int c = 0; c < k; c++) {
    long tp = out->confusion[c][c], rows = 0, cols = 0;
    for (int j = 0; j < k; j++) { rows += out->confusion[c][j]; cols += out->confusion[j][c]; }
    out->precision[c] = cols ? (double)tp / cols : NAN;
    out->recall[c] = rows ? (double)tp / rows : NAN;
    double p = cols ? (double)tp / cols : 0, r = rows ? (double)tp / rows : 0;
    out->f1[c] = (rows || cols) ? (p + r > 0 ? 2 * p * r / (p + r) : 0) : NAN;
  }
}

/* ---- ranks and correlation ---- */
typedef struct { double v; size_t i; } vi;
static int cmp_vi(const void *a, const void *b) {
  const vi *x = a, *y = b;
  if (x->v < y->v) return -1;
  if (x->v > y->v) return 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

void ar_rank_average(const double *x, size_t n, double *ranks) {
  vi *t = ar_malloc(n * sizeof *t);
  if (!t) { for (size_t i = 0; i < n; i++) ranks[i] = NAN; return; }
  for (size_t i = 0; i < n; i++) { t[i].v = x[i]; t[i].i = i; }
  qsort(t, n, sizeof *t, cmp_vi);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && t[j + 1].v == t[i].v) j++;
    double r = (double)(i + j) / 2.0 + 1.0;  /* average of 1-based ranks i+1..j+1 */
    for (size_t m = i; m <= j; m++) ranks[t[m].i] = r;
    i = j + 1;
  }
  ar_free(t);
}

double ar_pearson(const double *x, const double *y, size_t n) {
  if (n < 2) return NAN;
  double mx = ar_mean(x, n), my = ar_mean(y, n), sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) {
    double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return NAN;
  return sxy / sqrt(sxx * syy);
}

double ar_spearman(const double *x, const double *y, size_t n) {
  if (n < 2) return NAN;
  double *rx = ar_malloc(2 * n * sizeof *rx);
  if (!rx) return NAN;
  double *ry = rx + n;
  ar_rank_average(x, n, rx);
  ar_rank_average(y, n, ry);
  double r = ar_pearson(rx, ry, n);
  ar_free(rx);
  return r;
}

/* ---- bootstrap ---- */
static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* numpy's default (linear) percentile of sorted v */
static double percentile(const double *v, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)floor(pos);
  if (i + 1 >= n) return v[n - 1];
  double f = pos - (double)i;
  return v[i] + f * (v[i + 1] - v[i]);
}

void ar_bootstrap_ci(ar_stat_fn fn, void *ctx, size_t n, int draws, uint64_t seed, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (n == 0 || draws <= 0) return;
  size_t *idx = ar_malloc(n * sizeof *idx);
  double *rep = ar_malloc((size_t)draws * sizeof *rep);
  if (!idx || !rep) { ar_free(idx); ar_free(rep); return; }
  uint64_t st = seed;
  size_t m = 0;
  for (int d = 0; d < draws; d++) {
    for (size_t i = 0; i < n; i++) idx[i] = (size_t)(ar_rng_next(&st) % n);
    double v = fn(idx, n, ctx);
    if (!isnan(v)) rep[m++] = v;
  }
  if (m) {
    qsort(rep, m, sizeof *rep, cmp_d);
    *lo = percentile(rep, m, 0.025);
    *hi = percentile(rep, m, 0.975);
  }
  ar_free(idx);
  ar_free(rep);
}

/* ---- retrieval against gold spans ---- */
const int ar_retrieval_ks[3] = {1, 5, 10};

int ar_span_matches(const ar_span *r, const ar_span *g, ar_match m, double tol_s) {
  if (!r->video_id || !g->video_id || strcmp(r->video_id, g->video_id)) return 0;
  if (m == AR_MATCH_CONTAIN) {
    /* the segment holds the whole gold span, allowing tol_s of timestamp jitter at either end */
    return r->start_s <= g->start_s + tol_s && g->end_s - tol_s <= r->end_s;
  }
  return r->start_s < g->end_s + tol_s && g->start_s - tol_s < r->end_s;
}

void ar_retrieval_compute(const ar_span *ret, size_t n_ret, const ar_span *gold, size_t n_gold, ar_match m,
                          double tol_s, ar_retrieval *out) {
  memset(out, 0, sizeof *out);
  if (!n_gold) return;
  unsigned char covered[256] = {0};
  if (n_gold > sizeof covered) n_gold = sizeof covered;
  size_t n_cov = 0;
  double dcg = 0, idcg = 0;
  size_t kmax = n_ret < 10 ? n_ret : 10;
  for (size_t i = 0; i < kmax; i++) {
    int gain = 0, any = 0;
    for (size_t g = 0; g < n_gold; g++) {
      if (!ar_span_matches(&ret[i], &gold[g], m, tol_s)) continue;
      any = 1;
      if (!covered[g]) { covered[g] = 1; n_cov++; gain = 1; }
    }
    if (any && !out->first_rank) out->first_rank = (int)i + 1;
    if (gain) dcg += 1.0 / log2((double)i + 2.0);
    for (int j = 0; j < 3; j++)
      if ((int)i + 1 == ar_retrieval_ks[j]) {
        out->hit[j] = out->first_rank ? 1 : 0;
        out->recall[j] = (double)n_cov / (double)n_gold;
      }
  }
  /* fewer than k retrieved: the value at k is the value at the last rank */
  for (int j = 0; j < 3; j++)
    if ((size_t)ar_retrieval_ks[j] > kmax) {
      out->hit[j] = out->first_rank ? 1 : 0;
      out->recall[j] = (double)n_cov / (double)n_gold;
    }
  for (size_t i = 0; i < n_gold && i < 10; i++) idcg += 1.0 / log2((double)i + 2.0);
  out->mrr10 = out->first_rank ? 1.0 / out->first_rank : 0;
  out->ndcg10 = idcg > 0 ? dcg / idcg : 0;
}
