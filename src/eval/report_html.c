/* report_html.c - report.html: one self-contained page (inline CSS and SVG charts, no scripts, no CDN). */
#include "core/util.h"
#include "eval/eval.h"
#include <math.h>

static void esc(ar_buf *b, const char *s) {
  if (!s) return;
  for (; *s; s++) {
    switch (*s) {
    case '&': ar_buf_puts(b, "&amp;"); break;
    case '<': ar_buf_puts(b, "&lt;"); break;
    case '>': ar_buf_puts(b, "&gt;"); break;
    case '"': ar_buf_puts(b, "&quot;"); break;
    case '\'': ar_buf_puts(b, "&#39;"); break;
    default: ar_buf_append(b, s, 1);
    }
  }
}

/* Only http(s) links become clickable (a question set cannot smuggle javascript: URLs in). */
static int safe_url(const char *u) {
  return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8));
}

static void fmt3(ar_buf *b, double x) {
  if (isnan(x)) ar_buf_puts(b, "n/a");
  else ar_buf_printf(b, "%.3f", x);
}

static void card(ar_buf *b, const char *name, const ar_ci *c, const char *note) {
  ar_buf_printf(b, "<div class=card><div class=k>%s</div><div class=v>", name);
  fmt3(b, c->value);
  ar_buf_puts(b, "</div><div class=ci>");
  if (!isnan(c->lo)) ar_buf_printf(b, "IC 95%% [%.3f, %.3f]", c->lo, c->hi);
  else ar_buf_puts(b, "&nbsp;");
  if (note) { ar_buf_puts(b, "<br>"); esc(b, note); }
  ar_buf_puts(b, "</div></div>\n");
}

/* Horizontal bars: values in [0, vmax]; one colour per series. */
typedef struct bar { const char *label; double v[2]; } bar;

static void bars_svg(ar_buf *b, const char *title, const bar *rows, int n, int series, const char *const *snames,
                     double vmax, int as_int) {
  const char *col[2] = {"#3b6ea8", "#d08a2e"};
  int rowh = 18 * series + 10, w = 460, left = 130, top = 28;
  int h = top + n * rowh + (series > 1 ? 22 : 6);
  ar_buf_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' aria-label='", w, h);
  esc(b, title);
  ar_buf_printf(b, "'><text x='0' y='16' class=t>");
  esc(b, title);
  ar_buf_puts(b, "</text>\n");
  for (int i = 0; i < n; i++) {
    int y0 = top + i * rowh;
    ar_buf_printf(b, "<text x='%d' y='%d' text-anchor='end' class=l>", left - 6, y0 + 9 * series + 4);
    esc(b, rows[i].label);
    ar_buf_puts(b, "</text>");
    for (int s = 0; s < series; s++) {
      double v = rows[i].v[s];
      double frac = isnan(v) || vmax <= 0 ? 0 : v / vmax;
      if (frac > 1) frac = 1;
      int bw = (int)lround(frac * (w - left - 60));
      ar_buf_printf(b, "<rect x='%d' y='%d' width='%d' height='16' fill='%s'/>", left, y0 + s * 18, bw, col[s]);
      ar_buf_printf(b, "<text x='%d' y='%d' class=l>", left + bw + 4, y0 + s * 18 + 12);
      if (isnan(v)) ar_buf_puts(b, "n/a");
      else if (as_int) ar_buf_printf(b, "%.0f", v);
      else ar_buf_printf(b, "%.2f", v);
      ar_buf_puts(b, "</text>");
    }
    ar_buf_puts(b, "\n");
  }
  if (series > 1)
    for (int s = 0; s < series; s++) {
      ar_buf_printf(b, "<rect x='%d' y='%d' width='12' height='12' fill='%s'/><text x='%d' y='%d' class=l>", left + s * 150,
                    h - 14, col[s], left + s * 150 + 16, h - 4);
      esc(b, snames[s]);
      ar_buf_puts(b, "</text>");
    }
  ar_buf_puts(b, "</svg></figure>\n");
}

static void confusion_svg(ar_buf *b, const ar_eval_summary *s, const ar_eval_run_info *info) {
  int k = info->n_labels, cell = 46, left = 110, top = 60;
  long mx = 0;
  for (int i = 0; i < k; i++)
    for (int j = 0; j < k; j++) mx = AR_MAX(mx, s->agree.confusion[i][j]);
  int w = left + k * cell + 20, h = top + k * cell + 10;
  ar_buf_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' "
                   "aria-label='matriz de confusão'><text x='0' y='16' class=t>Matriz de confusão</text>"
                   "<text x='0' y='32' class=l>linhas: manual · colunas: automatizada</text>\n", AR_MAX(w, 300), h);
  for (int j = 0; j < k; j++) {
    ar_buf_printf(b, "<text x='%d' y='%d' text-anchor='middle' class=l>", left + j * cell + cell / 2, top - 8);
    esc(b, info->labels[j]);
    ar_buf_puts(b, "</text>");
  }
  for (int i = 0; i < k; i++) {
    ar_buf_printf(b, "<text x='%d' y='%d' text-anchor='end' class=l>", left - 8, top + i * cell + cell / 2 + 4);
    esc(b, info->labels[i]);
    ar_buf_puts(b, "</text>");
    for (int j = 0; j < k; j++) {
      long v = s->agree.confusion[i][j];
      double a = mx ? 0.08 + 0.85 * (double)v / (double)mx : 0.05;
      ar_buf_printf(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='%s' fill-opacity='%.2f' stroke='#999'/>",
                    left + j * cell, top + i * cell, cell, cell, i == j ? "#2e8b57" : "#c0392b", a);
      ar_buf_printf(b, "<text x='%d' y='%d' text-anchor='middle' class=n>%ld</text>\n", left + j * cell + cell / 2,
                    top + i * cell + cell / 2 + 5, v);
    }
  }
  ar_buf_puts(b, "</svg></figure>\n");
}

static void judged(ar_buf *b, const ar_judgement *j, const char *ok_text) {
  if (j->status == AR_JUDGE_OK) esc(b, ok_text);
  else if (j->status == AR_JUDGE_FAILED) ar_buf_puts(b, "<span class=bad>falhou</span>");
  else ar_buf_puts(b, "<span class=muted>não avaliado</span>");
}

static void item_html(ar_buf *b, const ar_eval_item *it, const ar_eval_run_info *info) {
  ar_buf_puts(b, "<section class=q id='q-");
  esc(b, it->q.id);
  ar_buf_puts(b, "'><h3>Pergunta ");
  esc(b, it->q.id);
  ar_buf_puts(b, ": ");
  esc(b, it->q.question);
  ar_buf_puts(b, "</h3>\n<p class=tags>manual: <b>");
  esc(b, it->q.manual ? it->q.manual : "-");
  ar_buf_puts(b, "</b> · automatizada: <b>");
  judged(b, &it->label, it->label.status == AR_JUDGE_OK && it->label.score < info->n_labels ? info->labels[it->label.score] : "");
  char arb[16];
  snprintf(arb, sizeof arb, "%.2f", it->ar.score / 3.0);
  ar_buf_puts(b, "</b> · AR: <b>");
  judged(b, &it->ar, arb);
  double c = ar_judgements_mean(it->ctx, it->n_ctx, 3), g = ar_judgements_mean(it->ground, it->n_ground, 3);
  if (!isnan(c)) ar_buf_printf(b, "</b> · relevância do contexto: <b>%.2f", c);
  if (!isnan(g)) ar_buf_printf(b, "</b> · fundamentação: <b>%.2f", g);
  ar_buf_puts(b, "</b></p>\n<div class=ans><b>Resposta");
  if (it->extractive) ar_buf_puts(b, " (extrativa)");
  ar_buf_puts(b, ":</b> ");
  if (it->error) { ar_buf_puts(b, "<span class=bad>falhou: "); esc(b, it->error); ar_buf_puts(b, "</span>"); }
  else esc(b, it->answer);
  ar_buf_puts(b, "</div>\n<p><b>Referências:</b></p><ul>");
  for (size_t i = 0; i < it->n_refs; i++) {
    const ar_reference *r = &it->refs[i];
    char s[16];
    ar_format_hms(r->start_s, s);
    ar_buf_puts(b, "<li>");
    if (info->hide_urls) ar_buf_puts(b, "Vídeo de referência oculto");
    else {
      int link = safe_url(r->link);
      if (link) { ar_buf_puts(b, "<a href='"); esc(b, r->link); ar_buf_puts(b, "' target='_blank' rel='noopener'>"); }
      esc(b, r->title && *r->title ? r->title : r->video_id);
      ar_buf_printf(b, " (%s)", s);
      if (link) ar_buf_puts(b, "</a>");
    }
    ar_buf_puts(b, "</li>");
  }
  ar_buf_puts(b, "</ul>\n");
  if (it->ar.raw || it->ar.error) {
    ar_buf_puts(b, "<details><summary>Raciocínio (AR CoT)</summary><pre>");
    if (it->ar.error) { esc(b, it->ar.error); ar_buf_puts(b, "\n\n"); }
    esc(b, it->ar.raw);
    ar_buf_puts(b, "</pre></details>\n");
  }
  if (it->label.raw || it->label.error) {
    ar_buf_puts(b, "<details><summary>Anotação automatizada: raciocínio</summary><pre>");
    if (it->label.error) { esc(b, it->label.error); ar_buf_puts(b, "\n\n"); }
    esc(b, it->label.raw);
    ar_buf_puts(b, "</pre></details>\n");
  }
  ar_buf_printf(b, "<details><summary>Segmentos recuperados (%zu)</summary><ol>", it->n_hits);
  for (size_t i = 0; i < it->n_hits; i++) {
    const ar_hit *h = &it->hits[i];
    char s[16], e[16], sc[40];
    ar_format_hms(h->start_s, s);
    ar_format_hms(h->end_s, e);
    ar_format_real(h->score, sc);
    ar_buf_printf(b, "<li><span class=muted>#%lld · score %s · ", (long long)h->corpus_id, sc);
    char *link = info->hide_urls ? NULL : ar_deep_link(h->url, h->start_s);
    if (safe_url(link)) { ar_buf_puts(b, "<a href='"); esc(b, link); ar_buf_puts(b, "' target='_blank' rel='noopener'>"); }
    esc(b, info->hide_urls ? "oculto" : (h->title && *h->title ? h->title : h->video_id));
    ar_buf_printf(b, " %s–%s", s, e);
    if (safe_url(link)) ar_buf_puts(b, "</a>");
    ar_free(link);
    if (i < it->n_ctx && it->ctx[i].status == AR_JUDGE_OK) ar_buf_printf(b, " · contexto %d/3", it->ctx[i].score);
    ar_buf_puts(b, "</span><br>");
    esc(b, h->text);
    ar_buf_puts(b, "</li>");
  }
  ar_buf_puts(b, "</ol></details></section>\n");
}

char *ar_report_html(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s) {
  ar_buf b = {0};
  int k = info->n_labels;
  ar_buf_puts(&b, "<!doctype html>\n<html lang='pt'><head><meta charset='utf-8'>"
                  "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Relatório de avaliação — aularag</title>\n"
                  "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:0 auto;padding:1em;color:#222}"
                  "h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1.05em}"
                  ".cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ddd;border-radius:6px;padding:.5em .8em;min-width:9em}"
                  ".card .k{color:#555;font-size:.85em}.card .v{font-size:1.5em;font-weight:600}.card .ci{color:#666;font-size:.8em}"
                  ".charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}svg .t{font:600 13px system-ui}svg .l{font:12px system-ui}"
                  "svg .n{font:600 14px system-ui}.q{border-top:1px solid #eee;padding:.4em 0}.ans{background:#f6f8fa;padding:.6em;border-radius:4px;white-space:pre-wrap}"
                  ".tags{color:#444}.bad{color:#b00020}.muted{color:#777}pre{white-space:pre-wrap;background:#fafafa;padding:.5em}"
                  "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}"
                  "a{color:#1a5fb4}</style></head><body>\n<h1>Relatório de avaliação</h1>\n<p class=muted>");
  ar_buf_printf(&b, "%zu perguntas · modo ", s->n_questions);
  esc(&b, info->mode);
  ar_buf_printf(&b, " · k=%d · respostas: ", info->k);
  esc(&b, info->answer_model && *info->answer_model ? info->answer_model : "extrativas (sem LLM)");
  ar_buf_puts(&b, " · juiz: ");
  esc(&b, info->judge_model && *info->judge_model ? info->judge_model : "nenhum (juízes não executados)");
  ar_buf_printf(&b, " · %.1f s</p>\n<h2>Resumo</h2><div class=cards>\n", info->wall_s);
  char note[64];
  snprintf(note, sizeof note, "n = %zu", s->agree.n);
  card(&b, "Acurácia (manual × automatizada)", &s->accuracy, note);
  card(&b, "κ de Cohen", &s->kappa, NULL);
  card(&b, "κ ponderado quadrático", &s->kappa_quadratic, NULL);
  card(&b, "F1 macro", &s->macro_f1, NULL);
  snprintf(note, sizeof note, "ok %ld · falhou %ld · não avaliado %ld", s->ar_ok, s->ar_failed, s->ar_skipped);
  card(&b, "AR médio", &s->mean_ar, note);
  snprintf(note, sizeof note, "n = %zu", s->spearman_n);
  card(&b, "Spearman AR × manual", &s->spearman, note);
  ar_ci cx = {s->mean_context, NAN, NAN}, gr = {s->mean_ground, NAN, NAN};
  card(&b, "Relevância do contexto", &cx, NULL);
  card(&b, "Fundamentação", &gr, NULL);
  if (info->abstention) {
    snprintf(note, sizeof note, "n = %zu de %zu sem resposta nas aulas", s->abst.judged_unanswerable, s->abst.n_unanswerable);
    card(&b, "Abstenção correta", &s->abst.correct, note);
    snprintf(note, sizeof note, "n = %zu de %zu com resposta nas aulas", s->abst.judged_answerable, s->abst.n_answerable);
    card(&b, "Abstenção indevida", &s->abst.wrong, note);
  }
  ar_buf_puts(&b, "</div>\n<h2>Gráficos</h2><div class=charts>\n");

  bar rows[AR_MAX_LABELS + 2];
  double vmax = 1;
  for (int c = 0; c <= k; c++) {
    rows[c].label = c < k ? info->labels[c] : "ausente/falhou";
    rows[c].v[0] = (double)s->manual_count[c];
    rows[c].v[1] = (double)(c < k ? s->auto_count[c] : s->auto_failed + s->auto_skipped);
    vmax = fmax(vmax, fmax(rows[c].v[0], rows[c].v[1]));
  }
  const char *sn[2] = {"manual", "automatizada"};
  bars_svg(&b, "Distribuição dos rótulos", rows, k + 1, 2, sn, vmax, 1);
  confusion_svg(&b, s, info);
  for (int c = 0; c < k; c++) {
    rows[c].label = info->labels[c];
    rows[c].v[0] = s->mean_ar_by_manual[c];
  }
  bars_svg(&b, "AR médio por rótulo manual", rows, k, 1, NULL, 1, 0);
  if (s->n_gold) {
    const ar_retrieval *r = &s->retr[AR_MATCH_OVERLAP], *rc = &s->retr[AR_MATCH_CONTAIN];
    bar rr[8] = {{"Hit@1", {r->hit[0], rc->hit[0]}}, {"Hit@5", {r->hit[1], rc->hit[1]}},
                 {"Hit@10", {r->hit[2], rc->hit[2]}}, {"Recall@1", {r->recall[0], rc->recall[0]}},
                 {"Recall@5", {r->recall[1], rc->recall[1]}}, {"Recall@10", {r->recall[2], rc->recall[2]}},
                 {"MRR@10", {r->mrr10, rc->mrr10}}, {"nDCG@10", {r->ndcg10, rc->ndcg10}}};
    char title[96];
    snprintf(title, sizeof title, "Recuperação (%zu perguntas com gold, tolerância %gs)", s->n_gold, info->tolerance_s);
    const char *mn[2] = {"sobreposição", "contém"};
    bars_svg(&b, title, rr, 8, 2, mn, 1, 0);
  } else {
    ar_buf_puts(&b, "<p class=muted>Sem trechos gold no conjunto de perguntas: métricas de recuperação não calculadas.</p>\n");
  }
  ar_buf_puts(&b, "</div>\n<h2>Custos e latência</h2><table><tr><th></th><th>chamadas</th><th>em cache</th>"
                  "<th>tokens de prompt</th><th>tokens gerados</th></tr>");
  ar_buf_printf(&b, "<tr><th>respostas</th><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td></tr>",
                (long long)s->answer_usage.calls, (long long)s->answer_usage.cached,
                (long long)s->answer_usage.prompt_tokens, (long long)s->answer_usage.completion_tokens);
  ar_buf_printf(&b, "<tr><th>juiz</th><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td></tr></table>\n",
                (long long)s->judge_usage.calls, (long long)s->judge_usage.cached,
                (long long)s->judge_usage.prompt_tokens, (long long)s->judge_usage.completion_tokens);
  ar_buf_printf(&b, "<p>Latência mediana por pergunta: recuperação %.1f ms, resposta %.1f ms, juiz %.1f ms.</p>\n",
                s->retrieve_ms_p50, s->answer_ms_p50, s->judge_ms_p50);
  ar_buf_puts(&b, "<h2>Falhas</h2>");
  size_t nf = 0;
  for (size_t i = 0; i < n; i++) {
    const ar_eval_item *it = &items[i];
    const char *what[2] = {NULL, NULL}, *why[2] = {NULL, NULL};
    if (it->error) { what[0] = "resposta"; why[0] = it->error; }
    if (it->ar.status == AR_JUDGE_FAILED) { what[0] = what[0] ? what[0] : "AR"; why[0] = why[0] ? why[0] : it->ar.error; }
    if (it->label.status == AR_JUDGE_FAILED) { what[1] = "anotação automatizada"; why[1] = it->label.error; }
    for (int m = 0; m < 2; m++) {
      if (!what[m]) continue;
      if (!nf++) ar_buf_puts(&b, "<ul>");
      ar_buf_puts(&b, "<li><a href='#q-");
      esc(&b, it->q.id);
      ar_buf_puts(&b, "'>Pergunta ");
      esc(&b, it->q.id);
      ar_buf_puts(&b, "</a>: ");
      esc(&b, what[m]);
      ar_buf_puts(&b, " — ");
      esc(&b, why[m] ? why[m] : "sem motivo");
      ar_buf_puts(&b, "</li>");
    }
  }
  ar_buf_puts(&b, nf ? "</ul>\n" : "<p class=muted>Nenhuma.</p>\n");
  ar_buf_puts(&b, "<h2>Perguntas</h2>\n");
  for (size_t i = 0; i < n; i++) item_html(&b, &items[i], info);
  ar_buf_puts(&b, "</body></html>\n");
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}
