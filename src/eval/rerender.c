/* rerender.c - `aularag report DIR`: report.md/json/html again from report.json plus the annotations
 * (RUN/annotations/NAME.jsonl), without any LLM call. The manual label of a question becomes the
 * annotators' (one: theirs; several: the majority, a tie left unlabelled and listed); the question
 * file's labels count as the annotator "question-set". With no annotation file the three files come
 * out exactly as `eval` wrote them. */
#include "core/util.h"
#include "annotate/annotate.h"
#include "eval/agreement.h"
#include <jansson.h>
#include <math.h>

#define IRR_SEED 20240611u

typedef struct rater {
  const char *name;
  ar_ann_state st;   /* unused for the question set (its labels come from the run) */
  int is_qs;
} rater;

static const char *jstr_or(json_t *o, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : dflt;
}

static void info_from(const ar_ann_run *r, ar_eval_run_info *info) {
  json_t *run = json_object_get(r->report, "run");
  memset(info, 0, sizeof *info);
  info->index_path = jstr_or(run, "index", "");
  info->questions_path = jstr_or(run, "questions", "");
  info->answer_model = jstr_or(run, "answer_model", "");
  info->answer_url = jstr_or(run, "answer_url", "");
  info->judge_model = jstr_or(run, "judge_model", "");
  info->judge_url = jstr_or(run, "judge_url", "");
  info->labels = r->labels;
  info->n_labels = r->n_labels;
  info->k = (int)json_integer_value(json_object_get(run, "k"));
  info->mode = jstr_or(run, "mode", "");
  info->course = json_string_value(json_object_get(run, "course"));
  info->hide_urls = json_is_true(json_object_get(run, "hide_urls"));
  info->bootstrap = (int)json_integer_value(json_object_get(run, "bootstrap"));
  if (info->bootstrap < 0 || info->bootstrap > 1000000) info->bootstrap = 1000;
  info->concurrency = (int)json_integer_value(json_object_get(run, "concurrency"));
  info->rpm = (int)json_integer_value(json_object_get(run, "rpm"));
  info->wall_s = json_number_value(json_object_get(run, "wall_s"));
  info->resumed = (int)json_integer_value(json_object_get(run, "resumed_items"));
  json_t *tol = json_object_get(json_object_get(json_object_get(r->report, "summary"), "retrieval"), "tolerance_s");
  info->tolerance_s = json_is_number(tol) ? json_number_value(tol) : 5;
}

static json_t *ci_json(const ar_ci *c, size_t n) {
  json_t *o = json_object();
  json_object_set_new(o, "value", isfinite(c->value) ? json_real(c->value) : json_null());
  json_object_set_new(o, "ci95", isfinite(c->lo) ? json_pack("[f,f]", c->lo, c->hi) : json_null());
  json_object_set_new(o, "n", json_integer((json_int_t)n));
  return o;
}

static void esc(ar_buf *b, const char *s) {
  for (; s && *s; s++) {
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

static void card(ar_buf *b, const char *name, const ar_ci *c, size_t n) {
  ar_buf_printf(b, "<div class=card><div class=k>%s</div><div class=v>", name);
  if (isnan(c->value)) ar_buf_puts(b, "n/a");
  else ar_buf_printf(b, "%.3f", c->value);
  ar_buf_puts(b, "</div><div class=ci>");
  if (!isnan(c->lo)) ar_buf_printf(b, "IC 95%% [%.3f, %.3f]<br>", c->lo, c->hi);
  ar_buf_printf(b, "n = %zu</div></div>\n", n);
}

static void fmt_ci(ar_buf *b, const char *name, const ar_ci *c, size_t n) {
  if (isnan(c->value)) { ar_buf_printf(b, "  %-22s n/a (n=%zu)\n", name, n); return; }
  ar_buf_printf(b, "  %-22s %.3f", name, c->value);
  if (!isnan(c->lo)) ar_buf_printf(b, "  [95%% CI %.3f, %.3f]", c->lo, c->hi);
  ar_buf_printf(b, " (n=%zu)\n", n);
}

static ar_status write_out(const char *dir, const char *name, const char *text, ar_error *err) {
  if (!text) return ar_fail(err, AR_ERR_NOMEM, "out of memory writing %s", name);
  ar_buf path = {0};
  ar_buf_printf(&path, "%s/%s", dir, name);
  ar_status st = ar_write_file_atomic(path.p, text, strlen(text), err);
  ar_buf_free(&path);
  return st;
}

ar_status ar_report_rerender(const char *dir, char **summary, ar_error *err) {
  if (summary) *summary = NULL;
  if (!dir) return ar_fail(err, AR_ERR_INVALID, "report needs the folder of an eval run");
  ar_ann_run run;
  ar_status st = ar_ann_run_load(dir, &run, err);
  if (st) return st;
  char **names = NULL;
  size_t n_names = 0;
  rater *rs = NULL;
  int *mat = NULL, *tie = NULL;
  char *md = NULL, *js = NULL, *html = NULL, *sum = NULL;
  ar_buf ex = {0}, out = {0};
  json_t *root = NULL;
  if ((st = ar_ann_list(dir, &names, &n_names, err))) goto done;
  size_t n = run.n;
  int k = run.n_labels;
  rs = ar_calloc(n_names + 1, sizeof *rs);
  if (!rs) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  int m = 0, any_qs = 0, any_file = 0;
  for (size_t i = 0; i < n; i++) any_qs |= run.qs_labels[i] && ar_label_index(run.qs_labels[i], run.labels, k) >= 0;
  if (any_qs) { rs[m].name = AR_QUESTION_SET_ANNOTATOR; rs[m].is_qs = 1; m++; }
  for (size_t a = 0; a < n_names; a++) {
    if ((st = ar_ann_state_load(&run, names[a], &rs[m].st, err))) goto done;
    rs[m].name = names[a];
    if (!rs[m].st.n_records) { ar_ann_state_free(&rs[m].st); continue; }  /* everything retracted or unreadable */
    m++;
    any_file = 1;
  }
  mat = ar_malloc((n ? n : 1) * (size_t)(m ? m : 1) * sizeof *mat);
  tie = ar_calloc(n ? n : 1, sizeof *tie);
  if (!mat || !tie) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  size_t n_ties = 0;
  for (size_t i = 0; i < n; i++) {
    int votes[AR_MAX_LABELS] = {0}, best = 0, n_best = 0;
    for (int j = 0; j < m; j++) {
      int v = rs[j].is_qs ? ar_label_index(run.qs_labels[i], run.labels, k) : rs[j].st.label[i];
      mat[i * (size_t)m + (size_t)j] = v;
      if (v >= 0) votes[v]++;
    }
    for (int c = 0; c < k; c++) best = votes[c] > best ? votes[c] : best;
    for (int c = 0; c < k; c++) n_best += best && votes[c] == best;
    ar_eval_item *it = &run.items[i];
    ar_free(it->q.manual);
    it->q.manual = NULL;
    if (!any_file) {  /* the question file's labels as written (eval's own output, byte for byte) */
      it->q.manual = ar_strdup(run.qs_labels[i]);
    } else if (n_best == 1) {
      for (int c = 0; c < k; c++) if (votes[c] == best) it->q.manual = ar_strdup(run.labels[c]);
    } else if (n_best > 1) {  /* a tie stays unlabelled for the statistics; the reports show it */
      ar_buf t = {0};
      ar_buf_puts(&t, "empate (");
      for (int c = 0, first = 1; c < k; c++)
        if (votes[c] == best) { ar_buf_printf(&t, "%s%s", first ? "" : "/", run.labels[c]); first = 0; }
      ar_buf_puts(&t, ")");
      it->q.manual = t.oom ? NULL : ar_buf_steal(&t);
      ar_buf_free(&t);
      tie[i] = 1;
      n_ties++;
    }
  }

  ar_eval_run_info info;
  info_from(&run, &info);
  ar_eval_summary s;
  ar_eval_summarize(run.items, n, &info, &s);
  md = ar_report_md(run.items, n, &info);
  js = ar_report_json(run.items, n, &info, &s);
  html = ar_report_html(run.items, n, &info, &s);
  sum = ar_report_summary(run.items, n, &info, &s);
  if (!md || !js || !html || !sum) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }

  if (any_file) {
    /* the annotations go into the JSON (per item and in the summary) and the page (a section) */
    ar_irr irr;
    ar_irr_compute(mat, n, m, k, info.bootstrap, IRR_SEED, &irr);
    root = json_loads(js, 0, NULL);
    json_t *items = json_object_get(root, "items"), *sm = json_object_get(root, "summary");
    if (!root || !json_is_array(items) || json_array_size(items) != n || !sm) {
      st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      json_t *o = json_array_get(items, i), *an = json_object();
      json_object_set_new(o, "manual_question_set", run.qs_labels[i] ? json_string(run.qs_labels[i]) : json_null());
      if (tie[i]) {
        json_t *t = json_array();
        int votes[AR_MAX_LABELS] = {0}, best = 0;
        for (int j = 0; j < m; j++) if (mat[i * (size_t)m + (size_t)j] >= 0) votes[mat[i * (size_t)m + (size_t)j]]++;
        for (int c = 0; c < k; c++) best = votes[c] > best ? votes[c] : best;
        for (int c = 0; c < k; c++) if (votes[c] == best) json_array_append_new(t, json_string(run.labels[c]));
        json_object_set_new(o, "manual_tie", t);
      }
      for (int j = 0; j < m; j++) {
        if (rs[j].is_qs) continue;
        const ar_ann_state *a = &rs[j].st;
        if (a->label[i] < 0 && !a->stale[i]) continue;
        json_t *e = json_object();
        json_object_set_new(e, "label", a->label[i] >= 0 ? json_string(run.labels[a->label[i]]) : json_null());
        json_object_set_new(e, "stale", json_boolean(a->stale[i]));
        if (a->stale[i]) json_object_set_new(e, "stale_label", json_string(run.labels[a->stale_label[i]]));
        json_object_set_new(e, "note", a->note[i] ? json_string(a->note[i]) : json_null());
        json_object_set_new(an, rs[j].name, e);
      }
      json_object_set_new(o, "annotations", an);
    }
    json_t *ia = json_object(), *who = json_array(), *ties = json_array();
    for (int j = 0; j < m; j++) {
      size_t cur = 0;
      for (size_t i = 0; i < n; i++) cur += mat[i * (size_t)m + (size_t)j] >= 0;
      json_array_append_new(who, json_pack("{s:s,s:I,s:I,s:I}", "name", rs[j].name, "labelled", (json_int_t)cur, "stale",
                                           (json_int_t)(rs[j].is_qs ? 0 : rs[j].st.n_stale), "unreadable_lines",
                                           (json_int_t)(rs[j].is_qs ? 0 : rs[j].st.n_bad_lines)));
    }
    for (size_t i = 0; i < n; i++) if (tie[i]) json_array_append_new(ties, json_string(run.items[i].q.id));
    json_object_set_new(ia, "annotators", who);
    json_object_set_new(ia, "raters", json_integer(m));
    json_object_set_new(ia, "manual_label", json_string(m == 1 ? "the one annotator's" : "majority; ties left out"));
    json_object_set_new(ia, "ties", ties);
    if (m == 2) json_object_set_new(ia, "cohen_kappa", ci_json(&irr.cohen, irr.n_pairs));
    if (m >= 3) json_object_set_new(ia, "fleiss_kappa", ci_json(&irr.fleiss, irr.n_complete));
    if (m >= 2) json_object_set_new(ia, "krippendorff_alpha_ordinal", ci_json(&irr.alpha, irr.n_pairable));
    json_object_set_new(sm, "inter_annotator", ia);
    char *dumped = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!dumped) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    ar_free(js);
    ar_buf_puts(&out, dumped);
    ar_buf_puts(&out, "\n");
    free(dumped);
    js = ar_buf_steal(&out);

    /* the page: one section after the summary cards, with the ties listed */
    ar_buf_puts(&ex, "<h2>Concordância entre anotadores</h2>\n<p class=muted>Anotadores: ");
    for (int j = 0; j < m; j++) { if (j) ar_buf_puts(&ex, ", "); esc(&ex, rs[j].name); }
    ar_buf_printf(&ex, ". Rótulo manual de cada pergunta: %s.</p>\n<div class=cards>\n",
                  m == 1 ? "o do único anotador" : "a maioria (empates ficam sem rótulo)");
    if (m == 2) card(&ex, "κ de Cohen (entre anotadores)", &irr.cohen, irr.n_pairs);
    if (m >= 3) card(&ex, "κ de Fleiss", &irr.fleiss, irr.n_complete);
    if (m >= 2) card(&ex, "α de Krippendorff (ordinal)", &irr.alpha, irr.n_pairable);
    ar_buf_puts(&ex, "</div>\n<table><tr><th>anotador</th><th>rotuladas</th><th>desatualizadas</th></tr>");
    for (int j = 0; j < m; j++) {
      size_t cur = 0;
      for (size_t i = 0; i < n; i++) cur += mat[i * (size_t)m + (size_t)j] >= 0;
      ar_buf_puts(&ex, "<tr><th>");
      esc(&ex, rs[j].name);
      ar_buf_printf(&ex, "</th><td>%zu</td><td>%zu</td></tr>", cur, rs[j].is_qs ? (size_t)0 : rs[j].st.n_stale);
    }
    ar_buf_printf(&ex, "</table>\n<p>Empates: %zu", n_ties);
    for (size_t i = 0, first = 1; i < n; i++)
      if (tie[i]) {
        ar_buf_puts(&ex, first ? " — " : ", ");
        first = 0;
        ar_buf_puts(&ex, "<a href='#q-");
        esc(&ex, run.items[i].q.id);
        ar_buf_puts(&ex, "'>");
        esc(&ex, run.items[i].q.id);
        ar_buf_puts(&ex, "</a>");
      }
    ar_buf_puts(&ex, "</p>\n");
    /* spliced in before the charts (report_html.c's layout stays its own) */
    const char *at = strstr(html, "<h2>Gráficos</h2>");
    if (!at) at = strstr(html, "</body>");
    size_t pre = at ? (size_t)(at - html) : strlen(html);
    ar_buf_append(&out, html, pre);
    ar_buf_append(&out, ex.p ? ex.p : "", ex.n);
    ar_buf_puts(&out, html + pre);
    if (out.oom || ex.oom) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    ar_free(html);
    html = ar_buf_steal(&out);

    ar_buf_puts(&out, sum);
    ar_buf_printf(&out, "  annotators (%d): ", m);
    for (int j = 0; j < m; j++) ar_buf_printf(&out, "%s%s", j ? ", " : "", rs[j].name);
    ar_buf_puts(&out, "\n");
    if (m == 2) fmt_ci(&out, "Cohen's kappa (IAA)", &irr.cohen, irr.n_pairs);
    if (m >= 3) fmt_ci(&out, "Fleiss' kappa", &irr.fleiss, irr.n_complete);
    if (m >= 2) fmt_ci(&out, "Krippendorff alpha", &irr.alpha, irr.n_pairable);
    for (int j = 0; j < m; j++)
      if (!rs[j].is_qs && rs[j].st.n_stale)
        ar_buf_printf(&out, "  %s: %zu stale label(s) (the answer changed since; not used)\n", rs[j].name, rs[j].st.n_stale);
    if (n_ties) {
      ar_buf_printf(&out, "  ties (no manual label): %zu:", n_ties);
      for (size_t i = 0; i < n; i++) if (tie[i]) ar_buf_printf(&out, " %s", run.items[i].q.id);
      ar_buf_puts(&out, "\n");
    }
    if (out.oom) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    ar_free(sum);
    sum = ar_buf_steal(&out);
  }
  st = write_out(dir, "report.md", md, err);
  if (!st) st = write_out(dir, "report.json", js, err);
  if (!st) st = write_out(dir, "report.html", html, err);
  if (!st && summary) { *summary = sum; sum = NULL; }
done:
  json_decref(root);
  ar_buf_free(&ex);
  ar_buf_free(&out);
  ar_free(md); ar_free(js); ar_free(html); ar_free(sum);
  for (int j = 0; rs && j < (int)n_names + 1; j++) if (!rs[j].is_qs) ar_ann_state_free(&rs[j].st);
  ar_free(rs);
  ar_free(mat);
  ar_free(tie);
  for (size_t a = 0; a < n_names; a++) ar_free(names[a]);
  ar_free(names);
  ar_ann_run_free(&run);
  return st;
}
