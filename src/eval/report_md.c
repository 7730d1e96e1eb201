/* report_md.c - report.md in the evaluation report format (docs/report-format.md): Portuguese headings,
 * one block per question, `---`; segments and references as src/present/ writes them everywhere. */
#include "core/util.h"
#include "eval/eval.h"
#include "present/present.h"

/* The value of a judged field: the result, or why there is none (never a silent 0). */
static const char *status_text(const ar_judgement *j) {
  return j->status == AR_JUDGE_FAILED ? "falhou" : "não avaliado";
}

static void put_line(ar_buf *b, const char *s) {
  char *one = ar_one_line(s);
  if (!one) { b->oom = 1; return; }  /* the whole report fails rather than silently missing a field */
  ar_buf_puts(b, one);
  ar_free(one);
}

static void item_md(ar_buf *b, const ar_eval_item *it, const ar_eval_run_info *info) {
  ar_buf_printf(b, "**Pergunta %s**: ", it->q.id);
  put_line(b, it->q.question);
  /* the item keeps its mode by name (it round-trips through the resume journal) */
  ar_search_mode mode = AR_MODE_DENSE;
  if (it->mode) ar_search_mode_parse(it->mode, &mode, NULL);
  ar_buf_printf(b, "\n\n%s\n", ar_results_heading(mode));
  ar_present_opts o = {info->hide_urls, 0};
  for (size_t i = 0; i < it->n_hits; i++) {
    ar_present_segments(b, &it->hits[i], 1, mode, &o);  /* one at a time: report.md's blank lines */
    ar_buf_puts(b, "\n");
  }
  ar_buf_puts(b, "\n" AR_PRESENT_ANSWER_LLM " ");
  if (it->error) {
    ar_buf_puts(b, "(falhou: ");
    put_line(b, it->error);
    ar_buf_puts(b, ")");
  } else {
    put_line(b, it->answer);
  }
  ar_buf_puts(b, "\n\n" AR_PRESENT_REFERENCES "\n");
  ar_present_references(b, it->refs, it->n_refs, info->hide_urls, NULL);
  ar_buf_printf(b, "\n**Anotação manual**: %s\n\n", it->q.manual ? it->q.manual : "-");
  if (it->ar.status == AR_JUDGE_OK) ar_buf_printf(b, "**Answer Relevance (AR)**: %.2f\n\n", it->ar.score / 3.0);
  else ar_buf_printf(b, "**Answer Relevance (AR)**: %s\n\n", status_text(&it->ar));
  if (it->label.status == AR_JUDGE_OK && it->label.score >= 0 && it->label.score < info->n_labels)
    ar_buf_printf(b, "**Anotação automatizada**: %s\n\n", info->labels[it->label.score]);
  else ar_buf_printf(b, "**Anotação automatizada**: %s\n\n", status_text(&it->label));
  if (info->abstention) {
    /* only for sets with unanswerable questions: the seed's format (and its golden file) otherwise */
    const char *v = it->abstain.status != AR_JUDGE_OK ? status_text(&it->abstain)
                  : it->abstain.score == AR_ABSTAINS ? "sim" : "não";
    ar_buf_printf(b, "**Abstenção (pergunta %s nas aulas)**: %s\n\n", it->q.unanswerable ? "sem resposta" : "com resposta", v);
  }
  ar_buf_puts(b, "**Raciocínio (AR CoT)**: ");
  if (it->ar.status == AR_JUDGE_OK) {
    char *cot = ar_cot_text(it->ar.raw);
    if (!cot) b->oom = 1;
    else ar_buf_puts(b, cot);
    ar_free(cot);
  } else if (it->ar.status == AR_JUDGE_FAILED) {
    ar_buf_puts(b, "(falhou: ");
    put_line(b, it->ar.error ? it->ar.error : "sem motivo");
    ar_buf_puts(b, ")");
    if (it->ar.raw && *it->ar.raw) {
      ar_buf_puts(b, " ");
      put_line(b, it->ar.raw);
    }
  } else {
    ar_buf_puts(b, "(não avaliado: ");
    put_line(b, it->ar.error ? it->ar.error : "nenhum LLM juiz configurado");
    ar_buf_puts(b, ")");
  }
  ar_buf_puts(b, "\n\n\n---\n");
}

char *ar_report_md(const ar_eval_item *items, size_t n, const ar_eval_run_info *info) {
  ar_buf b = {0};
  for (size_t i = 0; i < n; i++) {
    if (i) ar_buf_puts(&b, "\n");  /* a blank line between one question's `---` and the next */
    item_md(&b, &items[i], info);
  }
  if (info->abstention) {
    ar_abstention a;
    ar_abstention_compute(items, n, info->bootstrap, &a);
    ar_abstention_md(&b, &a);
  }
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}
