/* report_json.c - report.json: run settings, every statistic with its interval, failures, all items. */
#include "core/util.h"
#include "eval/eval.h"
#include <jansson.h>
#include <math.h>

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *ci_json(const ar_ci *c) {
  json_t *o = json_object();
  json_object_set_new(o, "value", jnum(c->value));
  json_object_set_new(o, "ci95", isfinite(c->lo) ? json_pack("[f,f]", c->lo, c->hi) : json_null());
  return o;
}

static json_t *usage_json(const ar_usage *u) {
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "calls", (json_int_t)u->calls, "cached", (json_int_t)u->cached,
                   "failed_calls", (json_int_t)u->failed_calls, "prompt_tokens", (json_int_t)u->prompt_tokens,
                   "completion_tokens", (json_int_t)u->completion_tokens, "latency_ms_sum", u->latency_ms);
}

static json_t *retrieval_json(const ar_retrieval *r) {
  json_t *o = json_object();
  const char *hk[3] = {"hit@1", "hit@5", "hit@10"}, *rk[3] = {"recall@1", "recall@5", "recall@10"};
  for (int j = 0; j < 3; j++) {
    json_object_set_new(o, hk[j], jnum(r->hit[j]));
    json_object_set_new(o, rk[j], jnum(r->recall[j]));
  }
  json_object_set_new(o, "mrr@10", jnum(r->mrr10));
  json_object_set_new(o, "ndcg@10", jnum(r->ndcg10));
  return o;
}

/* Every failure, in question order: question-level errors, then each failed judgement. */
static json_t *failures_json(const ar_eval_item *items, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    const ar_eval_item *it = &items[i];
#define FAIL(stage, idx, msg) json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:s}", "id", it->q.id, "stage", stage, \
                                                                  "item", (idx) < 0 ? json_null() : json_integer(idx), \
                                                                  "error", (msg) ? (msg) : "unknown"))
    if (it->error) FAIL("answer", -1, it->error);
    if (it->ar.status == AR_JUDGE_FAILED) FAIL("answer_relevance", -1, it->ar.error);
    if (it->label.status == AR_JUDGE_FAILED) FAIL("automated_label", -1, it->label.error);
    for (size_t j = 0; j < it->n_ctx; j++)
      if (it->ctx[j].status == AR_JUDGE_FAILED) FAIL("context_relevance", (json_int_t)j, it->ctx[j].error);
    for (size_t j = 0; j < it->n_ground; j++)
      if (it->ground[j].status == AR_JUDGE_FAILED) FAIL("groundedness", (json_int_t)j, it->ground[j].error);
#undef FAIL
  }
  return a;
}

static json_t *ar_summary_json(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s) {
  int k = info->n_labels;
  json_t *o = json_object();
  json_object_set_new(o, "questions", json_integer((json_int_t)s->n_questions));
  json_object_set_new(o, "answered", json_integer((json_int_t)s->n_answered));
  json_object_set_new(o, "failed", json_integer((json_int_t)s->n_failed_questions));
  json_t *md = json_object(), *ad = json_object();
  for (int c = 0; c < k; c++) {
    json_object_set_new(md, info->labels[c], json_integer(s->manual_count[c]));
    json_object_set_new(ad, info->labels[c], json_integer(s->auto_count[c]));
  }
  json_object_set_new(md, "missing", json_integer(s->manual_count[k]));
  json_object_set_new(ad, "failed", json_integer(s->auto_failed));
  json_object_set_new(ad, "skipped", json_integer(s->auto_skipped));
  json_object_set_new(o, "manual_labels", md);
  json_object_set_new(o, "automated_labels", ad);
  json_t *ag = json_object();
  json_object_set_new(ag, "n", json_integer((json_int_t)s->agree.n));
  json_object_set_new(ag, "labels", json_array());
  for (int c = 0; c < k; c++) json_array_append_new(json_object_get(ag, "labels"), json_string(info->labels[c]));
  json_t *cm = json_array();
  for (int i = 0; i < k; i++) {
    json_t *row = json_array();
    for (int j = 0; j < k; j++) json_array_append_new(row, json_integer(s->agree.confusion[i][j]));
    json_array_append_new(cm, row);
  }
  json_object_set_new(ag, "confusion_manual_x_automated", cm);
  json_object_set_new(ag, "accuracy", ci_json(&s->accuracy));
  json_object_set_new(ag, "cohen_kappa", ci_json(&s->kappa));
  json_object_set_new(ag, "quadratic_kappa", ci_json(&s->kappa_quadratic));
  json_object_set_new(ag, "macro_f1", ci_json(&s->macro_f1));
  json_t *pc = json_object();
  for (int c = 0; c < k; c++)
    json_object_set_new(pc, info->labels[c], json_pack("{s:o,s:o,s:o}", "precision", jnum(s->agree.precision[c]),
                                                       "recall", jnum(s->agree.recall[c]), "f1", jnum(s->agree.f1[c])));
  json_object_set_new(ag, "per_label", pc);
  json_object_set_new(o, "agreement", ag);
  json_t *ar = json_object();
  json_object_set_new(ar, "ok", json_integer(s->ar_ok));
  json_object_set_new(ar, "failed", json_integer(s->ar_failed));
  json_object_set_new(ar, "skipped", json_integer(s->ar_skipped));
  json_object_set_new(ar, "mean", ci_json(&s->mean_ar));
  json_t *bm = json_object();
  for (int c = 0; c < k; c++)
    json_object_set_new(bm, info->labels[c], json_pack("{s:o,s:I}", "mean", jnum(s->mean_ar_by_manual[c]), "n",
                                                       (json_int_t)s->n_ar_by_manual[c]));
  json_object_set_new(ar, "mean_by_manual_label", bm);
  json_t *sp = ci_json(&s->spearman);
  json_object_set_new(sp, "n", json_integer((json_int_t)s->spearman_n));
  json_object_set_new(ar, "spearman_vs_manual", sp);
  json_object_set_new(o, "answer_relevance", ar);
  if (info->abstention) {
    /* rates over the judged questions; null when none of a kind was judged */
    const ar_abstention *a = &s->abst;
    json_t *ab = json_object();
    json_object_set_new(ab, "unanswerable", json_integer((json_int_t)a->n_unanswerable));
    json_object_set_new(ab, "answerable", json_integer((json_int_t)a->n_answerable));
    json_object_set_new(ab, "judged_unanswerable", json_integer((json_int_t)a->judged_unanswerable));
    json_object_set_new(ab, "judged_answerable", json_integer((json_int_t)a->judged_answerable));
    json_object_set_new(ab, "failed", json_integer(a->failed));
    json_object_set_new(ab, "skipped", json_integer(a->skipped));
    json_object_set_new(ab, "correct_abstention_rate", ci_json(&a->correct));
    json_object_set_new(ab, "wrong_abstention_rate", ci_json(&a->wrong));
    json_object_set_new(o, "abstention", ab);
  }
  json_object_set_new(o, "context_relevance_mean", jnum(s->mean_context));
  json_object_set_new(o, "groundedness_mean", jnum(s->mean_ground));
  json_t *rt = json_object();
  json_object_set_new(rt, "questions_with_gold", json_integer((json_int_t)s->n_gold));
  json_object_set_new(rt, "tolerance_s", json_real(info->tolerance_s));
  if (s->n_gold) {
    json_object_set_new(rt, "overlap", retrieval_json(&s->retr[AR_MATCH_OVERLAP]));
    json_object_set_new(rt, "contain", retrieval_json(&s->retr[AR_MATCH_CONTAIN]));
  }
  json_object_set_new(o, "retrieval", rt);
  json_object_set_new(o, "usage", json_pack("{s:o,s:o}", "answer", usage_json(&s->answer_usage), "judge",
                                            usage_json(&s->judge_usage)));
  json_object_set_new(o, "latency_ms", json_pack("{s:o,s:o,s:o,s:f,s:f,s:f}", "retrieve_p50", jnum(s->retrieve_ms_p50),
                                                 "answer_p50", jnum(s->answer_ms_p50), "judge_p50", jnum(s->judge_ms_p50),
                                                 "retrieve_sum", s->retrieve_ms_sum, "answer_sum", s->answer_ms_sum,
                                                 "judge_sum", s->judge_ms_sum));
  json_object_set_new(o, "failures", failures_json(items, n));
  return o;
}

char *ar_report_json(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s) {
  json_t *root = json_object();
  json_object_set_new(root, "aularag_version", json_string(AR_VERSION));
  json_t *run = json_object();
  json_object_set_new(run, "index", json_string(info->index_path ? info->index_path : ""));
  json_object_set_new(run, "questions", json_string(info->questions_path ? info->questions_path : ""));
  json_object_set_new(run, "answer_model", json_string(info->answer_model ? info->answer_model : ""));
  json_object_set_new(run, "answer_url", json_string(info->answer_url ? info->answer_url : ""));
  json_object_set_new(run, "judge_model", json_string(info->judge_model ? info->judge_model : ""));
  json_object_set_new(run, "judge_url", json_string(info->judge_url ? info->judge_url : ""));
  json_t *labels = json_array();
  for (int c = 0; c < info->n_labels; c++) json_array_append_new(labels, json_string(info->labels[c]));
  json_object_set_new(run, "labels", labels);
  json_object_set_new(run, "k", json_integer(info->k));
  json_object_set_new(run, "mode", json_string(info->mode ? info->mode : ""));
  json_object_set_new(run, "course", info->course && *info->course ? json_string(info->course) : json_null());
  json_object_set_new(run, "hide_urls", json_boolean(info->hide_urls));
  json_object_set_new(run, "bootstrap", json_integer(info->bootstrap));
  json_object_set_new(run, "concurrency", json_integer(info->concurrency));
  json_object_set_new(run, "rpm", json_integer(info->rpm));
  json_object_set_new(run, "wall_s", json_real(info->wall_s));
  json_object_set_new(run, "resumed_items", json_integer(info->resumed));
  json_object_set_new(root, "run", run);
  json_object_set_new(root, "summary", ar_summary_json(items, n, info, s));
  json_t *qs = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(qs, ar_eval_item_json(&items[i], info->hide_urls, info->labels, info->n_labels));
  json_object_set_new(root, "items", qs);
  char *out = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!out) return NULL;
  ar_buf b = {0};
  ar_buf_puts(&b, out);
  ar_buf_puts(&b, "\n");
  free(out);
  return ar_buf_steal(&b);
}
