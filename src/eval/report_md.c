/* report_md.c - report.md in the seed's format (Portuguese headings, one block per question, `---`). */
#include "core/util.h"
#include "eval/eval.h"

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
  for (int k = AR_MODE_LEXICAL; k <= AR_MODE_HYBRID; k++)
    if (it->mode && !strcmp(it->mode, ar_search_mode_name((ar_search_mode)k))) mode = (ar_search_mode)k;
  ar_buf_printf(b, "\n\n%s\n", ar_results_heading(mode));
  for (size_t i = 0; i < it->n_hits; i++) {
    const ar_hit *h = &it->hits[i];
    char sc[40], s[16], e[16];
    ar_format_real(h->score, sc);
    ar_format_hms(h->start_s, s);
    ar_format_hms(h->end_s, e);
    ar_buf_printf(b, "- *Corpus ID:* %lld\n- *Score:* %s\n- *URL:* %s\n- *Início:* %s\n- *Fim:* %s\n- *Transcrição:* ",
                  (long long)h->corpus_id, sc, info->hide_urls ? "oculto" : (h->url && *h->url ? h->url : "(sem URL)"),
                  s, e);
    put_line(b, h->text);
    ar_buf_puts(b, "\n\n");
  }
  ar_buf_puts(b, "\n**Resposta gerada pelo LLM**: ");
  if (it->error) {
    ar_buf_puts(b, "(falhou: ");
    put_line(b, it->error);
    ar_buf_puts(b, ")");
  } else {
    put_line(b, it->answer);
  }
  ar_buf_puts(b, "\n\n**Referências**:\n");
  for (size_t i = 0; i < it->n_refs; i++) {
    const ar_reference *r = &it->refs[i];
    if (info->hide_urls) {
      ar_buf_puts(b, "- [Vídeo de referência oculto]()\n");
    } else {
      char s[16], e[16];
      ar_format_hms(r->start_s, s);
      ar_format_hms(r->end_s, e);
      const char *title = r->title && *r->title ? r->title : r->video_id ? r->video_id : "vídeo";
      ar_buf_puts(b, "- [");
      put_line(b, title);
      ar_buf_printf(b, " (%s–%s)](%s)\n", s, e, r->link ? r->link : "");
    }
  }
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
