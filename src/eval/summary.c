/* summary.c - the run's aggregate numbers (agreement, AR, retrieval, usage) and the stdout summary. */
#include "core/util.h"
#include "eval/eval.h"
#include <math.h>
#include <strings.h>

#define BOOT_SEED 20240601u

int ar_label_index(const char *label, char *const *labels, int n_labels) {
  if (!label) return -1;
  for (int i = 0; i < n_labels; i++)
    if (!strcasecmp(label, labels[i])) return i;
  return -1;
}

int ar_eval_item_retrieval(const ar_eval_item *it, ar_match m, double tol_s, ar_retrieval *out) {
  memset(out, 0, sizeof *out);
  if (!it->q.n_gold) return 0;
  ar_span ret[64];
  size_t n = it->n_hits < 64 ? it->n_hits : 64;
  for (size_t i = 0; i < n; i++) {
    ret[i].video_id = it->hits[i].video_id;
    ret[i].start_s = it->hits[i].start_s;
    ret[i].end_s = it->hits[i].end_s;
  }
  ar_retrieval_compute(ret, n, it->q.gold, it->q.n_gold, m, tol_s, out);
  return 1;
}

/* bootstrap contexts */
typedef struct pairs { const int *a, *b; int k; const double *x, *y; } pairs;

static double boot_accuracy(const size_t *idx, size_t n, void *c) {
  const pairs *p = c;
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) ok += p->a[idx[i]] == p->b[idx[i]];
  return n ? (double)ok / (double)n : NAN;
}

static void gather(const pairs *p, const size_t *idx, size_t n, int *a, int *b) {
  for (size_t i = 0; i < n; i++) { a[i] = p->a[idx[i]]; b[i] = p->b[idx[i]]; }
}

static double boot_kappa_w(const size_t *idx, size_t n, void *c, int w) {
  const pairs *p = c;
  int *a = ar_malloc(2 * n * sizeof *a);
  if (!a) return NAN;
  gather(p, idx, n, a, a + n);
  double r = ar_kappa(a, a + n, n, p->k, w);
  ar_free(a);
  return r;
}
static double boot_kappa(const size_t *idx, size_t n, void *c) { return boot_kappa_w(idx, n, c, 0); }
static double boot_qwk(const size_t *idx, size_t n, void *c) { return boot_kappa_w(idx, n, c, 2); }
static double boot_f1(const size_t *idx, size_t n, void *c) {
  const pairs *p = c;
  int *a = ar_malloc(2 * n * sizeof *a);
  if (!a) return NAN;
  gather(p, idx, n, a, a + n);
  double r = ar_macro_f1(a, a + n, n, p->k);
  ar_free(a);
  return r;
}
static double boot_spearman(const size_t *idx, size_t n, void *c) {
  const pairs *p = c;
  double *x = ar_malloc(2 * n * sizeof *x);
  if (!x) return NAN;
  for (size_t i = 0; i < n; i++) { x[i] = p->x[idx[i]]; x[n + i] = p->y[idx[i]]; }
  double r = ar_spearman(x, x + n, n);
  ar_free(x);
  return r;
}
static double boot_mean(const size_t *idx, size_t n, void *c) {
  const pairs *p = c;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += p->x[idx[i]];
  return n ? s / (double)n : NAN;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, size_t n) {
  if (!n) return NAN;
  qsort(v, n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage_add(ar_usage *to, const ar_usage *u) {
  to->calls += u->calls; to->cached += u->cached; to->failed_calls += u->failed_calls;
  to->prompt_tokens += u->prompt_tokens; to->completion_tokens += u->completion_tokens;
  to->latency_ms += u->latency_ms;
}

void ar_eval_summarize(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, ar_eval_summary *s) {
  memset(s, 0, sizeof *s);
  int k = info->n_labels;
  s->n_questions = n;
  int *man = ar_calloc(n ? n : 1, sizeof *man), *aut = ar_calloc(n ? n : 1, sizeof *aut);
  int *pa = ar_calloc(n ? n : 1, sizeof *pa), *pb = ar_calloc(n ? n : 1, sizeof *pb);
  double *arv = ar_calloc(n ? n : 1, sizeof *arv), *sx = ar_calloc(n ? n : 1, sizeof *sx);
  double *sy = ar_calloc(n ? n : 1, sizeof *sy);
  double *t1 = ar_calloc(n ? n : 1, sizeof *t1), *t2 = ar_calloc(n ? n : 1, sizeof *t2);
  double *t3 = ar_calloc(n ? n : 1, sizeof *t3);
  if (!man || !aut || !pa || !pb || !arv || !sx || !sy || !t1 || !t2 || !t3) goto done;
  size_t np = 0, nar = 0, nsp = 0, nctx = 0, ngr = 0;
  double ctx_sum = 0, gr_sum = 0, by_sum[AR_MAX_LABELS] = {0};
  ar_retrieval rs[2];
  memset(rs, 0, sizeof rs);
  for (size_t i = 0; i < n; i++) {
    const ar_eval_item *it = &items[i];
    if (it->error) s->n_failed_questions++;
    else s->n_answered++;
    man[i] = ar_label_index(it->q.manual, info->labels, k);
    s->manual_count[man[i] < 0 ? k : man[i]]++;
    aut[i] = it->label.status == AR_JUDGE_OK ? it->label.score : -1;
    s->auto_count[aut[i] < 0 ? k : aut[i]]++;
    if (it->label.status == AR_JUDGE_FAILED) s->auto_failed++;
    if (it->label.status == AR_JUDGE_SKIPPED) s->auto_skipped++;
    if (man[i] >= 0 && aut[i] >= 0) { pa[np] = man[i]; pb[np] = aut[i]; np++; }
    if (it->ar.status == AR_JUDGE_OK) {
      s->ar_ok++;
      double a = it->ar.score / 3.0;
      arv[nar++] = a;
      if (man[i] >= 0) {
        sx[nsp] = a;
        sy[nsp] = (double)(k - 1 - man[i]);  /* best label highest */
        nsp++;
        by_sum[man[i]] += a;
        s->n_ar_by_manual[man[i]]++;
      }
    } else if (it->ar.status == AR_JUDGE_FAILED) s->ar_failed++;
    else s->ar_skipped++;
    double c = ar_judgements_mean(it->ctx, it->n_ctx, 3), g = ar_judgements_mean(it->ground, it->n_ground, 3);
    if (!isnan(c)) { ctx_sum += c; nctx++; }
    if (!isnan(g)) { gr_sum += g; ngr++; }
    for (int m = 0; m < 2; m++) {
      ar_retrieval r;
      if (!ar_eval_item_retrieval(it, (ar_match)m, info->tolerance_s, &r)) continue;
      if (m == 0) s->n_gold++;
      for (int j = 0; j < 3; j++) { rs[m].hit[j] += r.hit[j]; rs[m].recall[j] += r.recall[j]; }
      rs[m].mrr10 += r.mrr10;
      rs[m].ndcg10 += r.ndcg10;
    }
    usage_add(&s->answer_usage, &it->answer_usage);
    usage_add(&s->judge_usage, &it->judge_usage);
    t1[i] = it->retrieve_ms; t2[i] = it->answer_ms; t3[i] = it->judge_ms;
    s->retrieve_ms_sum += it->retrieve_ms; s->answer_ms_sum += it->answer_ms; s->judge_ms_sum += it->judge_ms;
  }
  for (int m = 0; m < 2; m++) {
    double d = s->n_gold ? (double)s->n_gold : NAN;
    for (int j = 0; j < 3; j++) { s->retr[m].hit[j] = rs[m].hit[j] / d; s->retr[m].recall[j] = rs[m].recall[j] / d; }
    s->retr[m].mrr10 = rs[m].mrr10 / d;
    s->retr[m].ndcg10 = rs[m].ndcg10 / d;
  }
  s->retrieve_ms_p50 = median(t1, n);
  s->answer_ms_p50 = median(t2, n);
  s->judge_ms_p50 = median(t3, n);
  s->mean_context = nctx ? ctx_sum / (double)nctx : NAN;
  s->mean_ground = ngr ? gr_sum / (double)ngr : NAN;
  for (int c = 0; c < k; c++) s->mean_ar_by_manual[c] = s->n_ar_by_manual[c] ? by_sum[c] / s->n_ar_by_manual[c] : NAN;

  ar_agreement_compute(pa, pb, np, k, &s->agree);
  pairs ctx = {pa, pb, k, NULL, NULL};
  int draws = info->bootstrap;
  s->accuracy.value = s->agree.accuracy;
  s->kappa.value = s->agree.kappa;
  s->kappa_quadratic.value = s->agree.kappa_quadratic;
  s->macro_f1.value = s->agree.macro_f1;
  ar_bootstrap_ci(boot_accuracy, &ctx, np, draws, BOOT_SEED, &s->accuracy.lo, &s->accuracy.hi);
  ar_bootstrap_ci(boot_kappa, &ctx, np, draws, BOOT_SEED + 1, &s->kappa.lo, &s->kappa.hi);
  ar_bootstrap_ci(boot_qwk, &ctx, np, draws, BOOT_SEED + 2, &s->kappa_quadratic.lo, &s->kappa_quadratic.hi);
  ar_bootstrap_ci(boot_f1, &ctx, np, draws, BOOT_SEED + 3, &s->macro_f1.lo, &s->macro_f1.hi);
  pairs sp = {NULL, NULL, k, sx, sy};
  s->spearman_n = nsp;
  s->spearman.value = ar_spearman(sx, sy, nsp);
  ar_bootstrap_ci(boot_spearman, &sp, nsp, draws, BOOT_SEED + 4, &s->spearman.lo, &s->spearman.hi);
  pairs mp = {NULL, NULL, k, arv, NULL};
  s->mean_ar.value = ar_mean(arv, nar);
  ar_bootstrap_ci(boot_mean, &mp, nar, draws, BOOT_SEED + 5, &s->mean_ar.lo, &s->mean_ar.hi);
  if (info->abstention) ar_abstention_compute(items, n, draws, &s->abst);
done:
  ar_free(man); ar_free(aut); ar_free(pa); ar_free(pb); ar_free(arv); ar_free(sx); ar_free(sy);
  ar_free(t1); ar_free(t2); ar_free(t3);
}

/* ---- the stdout summary ---- */
static void fmt_ci(ar_buf *b, const char *name, const ar_ci *c) {
  if (isnan(c->value)) { ar_buf_printf(b, "  %-22s n/a\n", name); return; }
  if (isnan(c->lo)) ar_buf_printf(b, "  %-22s %.3f\n", name, c->value);
  else ar_buf_printf(b, "  %-22s %.3f  [95%% CI %.3f, %.3f]\n", name, c->value, c->lo, c->hi);
}

char *ar_report_summary(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s) {
  ar_buf b = {0};
  int k = info->n_labels;
  ar_buf_printf(&b, "aularag eval: %zu questions, %zu answered, %zu failed (%.1f s)\n", s->n_questions,
                s->n_answered, s->n_failed_questions, info->wall_s);
  ar_buf_printf(&b, "  answers: %s; judge: %s\n", *info->answer_model ? info->answer_model : "extractive (no LLM)",
                *info->judge_model || *info->judge_url ? info->judge_model : "none (judges skipped)");
  ar_buf_printf(&b, "  manual labels:   ");
  for (int c = 0; c <= k; c++) ar_buf_printf(&b, "%s=%ld ", c < k ? info->labels[c] : "none", s->manual_count[c]);
  ar_buf_printf(&b, "\n  automated labels: ");
  for (int c = 0; c < k; c++) ar_buf_printf(&b, "%s=%ld ", info->labels[c], s->auto_count[c]);
  ar_buf_printf(&b, "failed=%ld skipped=%ld\n", s->auto_failed, s->auto_skipped);
  if (s->agree.n) {
    ar_buf_printf(&b, "  agreement over %zu questions with both labels:\n", s->agree.n);
    fmt_ci(&b, "accuracy", &s->accuracy);
    fmt_ci(&b, "Cohen's kappa", &s->kappa);
    fmt_ci(&b, "quadratic kappa", &s->kappa_quadratic);
    fmt_ci(&b, "macro-F1", &s->macro_f1);
  }
  ar_buf_printf(&b, "  answer relevance: ok=%ld failed=%ld skipped=%ld\n", s->ar_ok, s->ar_failed, s->ar_skipped);
  if (s->ar_ok) {
    fmt_ci(&b, "mean AR", &s->mean_ar);
    for (int c = 0; c < k; c++)
      if (s->n_ar_by_manual[c]) {
        char name[48];
        snprintf(name, sizeof name, "mean AR | manual %s", info->labels[c]);
        ar_buf_printf(&b, "  %-22s %.3f (n=%ld)\n", name, s->mean_ar_by_manual[c], s->n_ar_by_manual[c]);
      }
    if (s->spearman_n) fmt_ci(&b, "Spearman AR~manual", &s->spearman);
  }
  if (info->abstention) ar_abstention_summary(&b, &s->abst);
  if (!isnan(s->mean_context)) ar_buf_printf(&b, "  %-22s %.3f\n", "context relevance", s->mean_context);
  if (!isnan(s->mean_ground)) ar_buf_printf(&b, "  %-22s %.3f\n", "groundedness", s->mean_ground);
  if (s->n_gold) {
    const ar_retrieval *r = &s->retr[AR_MATCH_OVERLAP];
    ar_buf_printf(&b, "  retrieval (%zu questions with gold, overlap ±%gs): Hit@1 %.3f Hit@5 %.3f Hit@10 %.3f "
                      "R@1 %.3f R@5 %.3f R@10 %.3f MRR@10 %.3f nDCG@10 %.3f\n",
                  s->n_gold, info->tolerance_s, r->hit[0], r->hit[1], r->hit[2], r->recall[0], r->recall[1],
                  r->recall[2], r->mrr10, r->ndcg10);
  }
  ar_buf_printf(&b, "  LLM calls: answer %lld (%lld cached), judge %lld (%lld cached); tokens: prompt %lld, completion %lld\n",
                (long long)s->answer_usage.calls, (long long)s->answer_usage.cached, (long long)s->judge_usage.calls,
                (long long)s->judge_usage.cached,
                (long long)(s->answer_usage.prompt_tokens + s->judge_usage.prompt_tokens),
                (long long)(s->answer_usage.completion_tokens + s->judge_usage.completion_tokens));
  ar_buf_printf(&b, "  latency p50 per question: retrieve %.1f ms, answer %.1f ms, judge %.1f ms\n", s->retrieve_ms_p50,
                s->answer_ms_p50, s->judge_ms_p50);
  size_t nf = 0;
  for (size_t i = 0; i < n; i++) {
    const ar_eval_item *it = &items[i];
    const char *why = it->error ? it->error
                    : it->ar.status == AR_JUDGE_FAILED ? it->ar.error
                    : it->label.status == AR_JUDGE_FAILED ? it->label.error : NULL;
    if (!why) continue;
    if (!nf++) ar_buf_printf(&b, "  failures:\n");
    ar_buf_printf(&b, "    question %s: %s%s\n", it->q.id,
                  it->error ? "" : it->ar.status == AR_JUDGE_FAILED ? "answer relevance: " : "automated label: ", why);
  }
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}
