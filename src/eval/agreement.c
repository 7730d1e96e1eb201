/* agreement.c - inter-annotator agreement (Cohen, Fleiss, Krippendorff ordinal) with bootstrap intervals. */
#include "core/util.h"
#include "eval/agreement.h"
#include <math.h>

static int ok(int v, int k) { return v >= 0 && v < k; }

double ar_fleiss_kappa(const int *r, size_t n, int m, int k) {
  if (m < 2 || k < 1 || k > AR_MAX_LABELS) return NAN;
  double pj[AR_MAX_LABELS] = {0}, pbar = 0;
  size_t units = 0;
  for (size_t u = 0; u < n; u++) {
    int cnt[AR_MAX_LABELS] = {0}, all = 1;
    for (int j = 0; j < m && all; j++) {
      int v = r[u * (size_t)m + (size_t)j];
      if (ok(v, k)) cnt[v]++;
      else all = 0;
    }
    if (!all) continue;
    double agree = 0;  /* P_i = (sum n_ij^2 - m) / (m (m - 1)) */
    for (int c = 0; c < k; c++) { agree += (double)cnt[c] * cnt[c]; pj[c] += cnt[c]; }
    pbar += (agree - m) / ((double)m * (m - 1));
    units++;
  }
  if (!units) return NAN;
  pbar /= (double)units;
  double pe = 0;
  for (int c = 0; c < k; c++) { double p = pj[c] / ((double)units * m); pe += p * p; }
  if (pe >= 1) return NAN;
  return (pbar - pe) / (1 - pe);
}

double ar_krippendorff_alpha(const int *r, size_t n, int m, int k, int ordinal) {
  if (m < 2 || k < 1 || k > AR_MAX_LABELS) return NAN;
  /* coincidence matrix: each unit with m_u >= 2 labels adds its ordered pairs weighted 1 / (m_u - 1) */
  double o[AR_MAX_LABELS][AR_MAX_LABELS] = {{0}}, nc[AR_MAX_LABELS] = {0}, total = 0;
  for (size_t u = 0; u < n; u++) {
    int cnt[AR_MAX_LABELS] = {0}, mu = 0;
    for (int j = 0; j < m; j++) {
      int v = r[u * (size_t)m + (size_t)j];
      if (ok(v, k)) { cnt[v]++; mu++; }
    }
    if (mu < 2) continue;
    for (int a = 0; a < k; a++)
      for (int b = 0; b < k; b++) {
        double pairs = a == b ? (double)cnt[a] * (cnt[a] - 1) : (double)cnt[a] * cnt[b];
        o[a][b] += pairs / (mu - 1);
      }
  }
  for (int a = 0; a < k; a++) {
    for (int b = 0; b < k; b++) nc[a] += o[a][b];
    total += nc[a];
  }
  if (total < 2) return NAN;
  /* squared distance: nominal 0/1; ordinal (sum of the marginals from a to b - (n_a + n_b) / 2)^2 */
  double dobs = 0, dexp = 0;
  for (int a = 0; a < k; a++)
    for (int b = 0; b < k; b++) {
      if (a == b) continue;
      double d = 1;
      if (ordinal) {
        int lo = a < b ? a : b, hi = a < b ? b : a;
        double s = 0;
        for (int g = lo; g <= hi; g++) s += nc[g];
        s -= (nc[a] + nc[b]) / 2;
        d = s * s;
      }
      dobs += o[a][b] * d;
      dexp += nc[a] * nc[b] * d;
    }
  if (dexp == 0) return NAN;
  return 1.0 - (total - 1) * dobs / dexp;
}

/* bootstrap: a resample picks units (rows) with replacement */
typedef struct rows { const int *r; int m, k, which; } rows;

static double boot(const size_t *idx, size_t n, void *c) {
  const rows *p = c;
  int *s = ar_malloc(n * (size_t)p->m * sizeof *s);
  if (!s) return NAN;
  for (size_t i = 0; i < n; i++) memcpy(s + i * (size_t)p->m, p->r + idx[i] * (size_t)p->m, (size_t)p->m * sizeof *s);
  double v = p->which == 1 ? ar_fleiss_kappa(s, n, p->m, p->k) : ar_krippendorff_alpha(s, n, p->m, p->k, 1);
  ar_free(s);
  return v;
}

/* Cohen's: the resampled 2-wide rows split into the two raters' columns. */
static double boot_cohen(const size_t *idx, size_t n, void *c) {
  const rows *p = c;
  int *s = ar_malloc(2 * n * sizeof *s);
  if (!s) return NAN;
  for (size_t i = 0; i < n; i++) { s[i] = p->r[2 * idx[i]]; s[n + i] = p->r[2 * idx[i] + 1]; }
  double v = ar_kappa(s, s + n, n, p->k, 0);
  ar_free(s);
  return v;
}

void ar_irr_compute(const int *r, size_t n, int m, int k, int draws, uint64_t seed, ar_irr *out) {
  memset(out, 0, sizeof *out);
  out->raters = m;
  out->cohen = out->fleiss = out->alpha = (ar_ci){NAN, NAN, NAN};
  if (m < 2 || !n) return;
  /* the units each statistic uses, so a resample draws only from them */
  int *sub = ar_malloc(n * (size_t)m * sizeof *sub);
  if (!sub) return;
  if (m == 2) {
    size_t np = 0;
    for (size_t u = 0; u < n; u++)
      if (ok(r[2 * u], k) && ok(r[2 * u + 1], k)) { sub[2 * np] = r[2 * u]; sub[2 * np + 1] = r[2 * u + 1]; np++; }
    out->n_pairs = np;
    int *a = ar_malloc(2 * (np ? np : 1) * sizeof *a);
    if (a) {
      for (size_t i = 0; i < np; i++) { a[i] = sub[2 * i]; a[np + i] = sub[2 * i + 1]; }
      out->cohen.value = np ? ar_kappa(a, a + np, np, k, 0) : NAN;
      ar_free(a);
    }
    rows c = {sub, 2, k, 0};
    ar_bootstrap_ci(boot_cohen, &c, np, draws, seed, &out->cohen.lo, &out->cohen.hi);
  } else {
    size_t nc = 0;
    for (size_t u = 0; u < n; u++) {
      int all = 1;
      for (int j = 0; j < m; j++) all &= ok(r[u * (size_t)m + (size_t)j], k);
      if (all) memcpy(sub + nc++ * (size_t)m, r + u * (size_t)m, (size_t)m * sizeof *sub);
    }
    out->n_complete = nc;
    out->fleiss.value = ar_fleiss_kappa(sub, nc, m, k);
    rows c = {sub, m, k, 1};
    ar_bootstrap_ci(boot, &c, nc, draws, seed + 1, &out->fleiss.lo, &out->fleiss.hi);
  }
  size_t np = 0;
  for (size_t u = 0; u < n; u++) {
    int have = 0;
    for (int j = 0; j < m; j++) have += ok(r[u * (size_t)m + (size_t)j], k);
    if (have >= 2) memcpy(sub + np++ * (size_t)m, r + u * (size_t)m, (size_t)m * sizeof *sub);
  }
  out->n_pairable = np;
  out->alpha.value = ar_krippendorff_alpha(sub, np, m, k, 1);
  rows c = {sub, m, k, 2};
  ar_bootstrap_ci(boot, &c, np, draws, seed + 2, &out->alpha.lo, &out->alpha.hi);
  ar_free(sub);
}
