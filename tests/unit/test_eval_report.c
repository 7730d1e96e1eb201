/* test_eval_report.c - report.md reproduces the seed byte for byte from the seed's own field values;
 * JSON round trip of an item (the resume journal). */
#include "test.h"
#include "core/util.h"
#include "eval/eval.h"
#include <libgen.h>

static double hms(const char *s) {
  int h, m, x;
  if (sscanf(s, "%d:%d:%d", &h, &m, &x) != 3) return -1;
  return h * 3600 + m * 60 + x;
}

static const char *after(const char *line, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(line, prefix, n) ? NULL : line + n;
}

/* Reads the seed's fields back into an item (the inputs), so that rendering it must give the seed. */
static int seed_item(const char *text, ar_eval_item *it) {
  memset(it, 0, sizeof *it);
  char *copy = ar_strdup(text), *save = NULL;
  it->hits = ar_calloc(16, sizeof *it->hits);
  it->refs = ar_calloc(8, sizeof *it->refs);
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    const char *v;
    ar_hit *h = it->n_hits ? &it->hits[it->n_hits - 1] : NULL;
    if ((v = after(line, "**Pergunta "))) {
      const char *e = strstr(v, "**: ");
      it->q.id = ar_strndup(v, (size_t)(e - v));
      it->q.question = ar_strdup(e + 4);
    } else if ((v = after(line, "- *Corpus ID:* "))) {
      h = &it->hits[it->n_hits++];
      h->rank = (int)it->n_hits;
      h->corpus_id = atoll(v);
    } else if ((v = after(line, "- *Score:* "))) h->score = strtod(v, NULL);
    else if ((v = after(line, "- *URL:* "))) h->url = ar_strdup("https://www.youtube.com/watch?v=seed");
    else if ((v = after(line, "- *Início:* "))) h->start_s = hms(v) + 0.62;  /* fractions are floored */
    else if ((v = after(line, "- *Fim:* "))) h->end_s = hms(v) + 0.99;
    else if ((v = after(line, "- *Transcrição:* "))) h->text = ar_strdup(v);
    else if ((v = after(line, "**Resposta gerada pelo LLM**: "))) it->answer = ar_strdup(v);
    else if ((v = after(line, "- [Vídeo de referência oculto]()"))) {
      ar_reference *r = &it->refs[it->n_refs++];
      r->video_id = ar_strdup("seed");
      r->link = ar_strdup("https://www.youtube.com/watch?v=seed&t=110");
    } else if ((v = after(line, "**Anotação manual**: "))) it->q.manual = ar_strdup(v);
    else if ((v = after(line, "**Answer Relevance (AR)**: "))) {
      it->ar.status = AR_JUDGE_OK;
      it->ar.score = (int)(strtod(v, NULL) * 3 + 0.5);
    } else if ((v = after(line, "**Anotação automatizada**: "))) {
      it->label.status = AR_JUDGE_OK;
      it->label.score = !strcmp(v, "C") ? 0 : !strcmp(v, "P") ? 1 : 2;
    } else if ((v = after(line, "**Raciocínio (AR CoT)**: "))) {
      /* the judge's reply as it came: a preamble, one line per template field, a blank line before Score */
      ar_buf b = {0};
      ar_buf_puts(&b, "Here is my evaluation.\n");
      const char *se = strstr(v, " Supporting Evidence:"), *sc = strstr(v, "  Score:");
      ar_buf_append(&b, v, (size_t)(se - v));
      ar_buf_puts(&b, "\n");
      ar_buf_append(&b, se + 1, (size_t)(sc - se - 1));
      ar_buf_puts(&b, "\n\n");
      ar_buf_puts(&b, sc + 2);
      ar_buf_puts(&b, "\n");
      it->ar.raw = ar_buf_steal(&b);
    }
  }
  ar_free(copy);
  return it->q.id && it->n_hits == 10 && it->n_refs == 2 && it->ar.raw;
}

static char *read_seed(void) {
  const char *data = test_data_dir();
  if (!data) return NULL;
  char path[1200];
  snprintf(path, sizeof path, "%s/../seed/000_7fa0df52cd56cf63.txt", data);
  char *text;
  size_t len;
  ar_error err;
  if (ar_read_file(path, &text, &len, &err) != AR_OK) { fprintf(stderr, "  %s\n", err.msg); return NULL; }
  return text;
}

static char *labels3[] = {"C", "P", "I"};

static ar_eval_run_info seed_info(int hide) {
  ar_eval_run_info info = {0};
  info.labels = labels3;
  info.n_labels = 3;
  info.hide_urls = hide;
  info.answer_model = info.judge_model = info.answer_url = info.judge_url = "";
  info.mode = "dense";
  return info;
}

static void first_diff(const char *a, const char *b) {
  size_t i = 0, line = 1;
  while (a[i] && a[i] == b[i]) { if (a[i] == '\n') line++; i++; }
  fprintf(stderr, "  first difference at byte %zu (line %zu): got \"%.40s\" expected \"%.40s\"\n", i, line, a + i, b + i);
}

TEST(eval_report_md_reproduces_seed_byte_for_byte) {
  char *seed = read_seed();
  ASSERT(seed);
  ar_eval_item it;
  ASSERT(seed_item(seed, &it));
  ar_eval_run_info info = seed_info(1);
  char *md = ar_report_md(&it, 1, &info);
  ASSERT(md);
  if (strcmp(md, seed)) first_diff(md, seed);
  ASSERT(strcmp(md, seed) == 0);
  free(md);
  ar_eval_item_free(&it);
  free(seed);
}

TEST(eval_report_json_round_trip_gives_the_same_report) {
  char *seed = read_seed();
  ASSERT(seed);
  ar_eval_item it, back;
  ASSERT(seed_item(seed, &it));
  it.q.n_gold = 1;
  it.q.gold = ar_calloc(1, sizeof *it.q.gold);
  it.q.gold[0].video_id = ar_strdup("seed");
  it.q.gold[0].start_s = 115; it.q.gold[0].end_s = 130;
  it.hits[3].video_id = ar_strdup("seed");
  it.q.unanswerable = 1;  /* the abstention fields survive the journal too */
  it.abstain.status = AR_JUDGE_OK;
  it.abstain.score = AR_ABSTAINS;
  it.abstain.raw = ar_strdup("It abstains.\nLabel: ABSTAINS");
  char *js = ar_eval_item_to_json(&it, 0);
  ASSERT(js && !strchr(js, '\n'));
  ar_error err;
  ASSERT_EQ_INT(ar_eval_item_from_json(js, &back, &err), AR_OK);
  ar_eval_run_info info = seed_info(0);
  char *a = ar_report_md(&it, 1, &info), *b = ar_report_md(&back, 1, &info);
  ASSERT_STREQ(a, b);
  ASSERT(strstr(a, "- *URL:* https://www.youtube.com/watch?v=seed\n"));
  ASSERT(strstr(a, "- [seed (00:00:00–00:00:00)](https://www.youtube.com/watch?v=seed&t=110)\n"));
  char *js2 = ar_eval_item_to_json(&back, 0);
  ASSERT_STREQ(js, js2);
  ar_retrieval r;
  ASSERT_EQ_INT(ar_eval_item_retrieval(&back, AR_MATCH_OVERLAP, 0, &r), 1);
  ASSERT_EQ_INT(r.first_rank, 4);
  ASSERT(back.q.unanswerable);
  ASSERT_EQ_INT(back.abstain.status, AR_JUDGE_OK);
  ASSERT_EQ_INT(back.abstain.score, AR_ABSTAINS);
  free(a); free(b);
  /* with abstention measured, report.md gains the per-question line and the closing block */
  info.abstention = 1;
  a = ar_report_md(&it, 1, &info);
  b = ar_report_md(&back, 1, &info);
  ASSERT_STREQ(a, b);
  ASSERT(strstr(a, "**Abstenção (pergunta sem resposta nas aulas)**: sim\n"));
  ASSERT(strstr(a, "\n## Abstenção\n\n- Abstenção correta (perguntas sem resposta nas aulas): 1.000"));
  free(a); free(b); free(js); free(js2);
  ar_eval_item_free(&it);
  ar_eval_item_free(&back);
  free(seed);
}

TEST(eval_report_md_failed_and_skipped_are_shown_not_zero) {
  ar_eval_item it = {0};
  it.q.id = "7"; it.q.question = "Pergunta?";
  it.answer = "Resposta.";
  it.ar.status = AR_JUDGE_FAILED; it.ar.score = -1;
  it.ar.raw = "Criteria: x\nScore: 0 to 3"; it.ar.error = "only a scale statement after \"Score:\"";
  it.label.status = AR_JUDGE_SKIPPED; it.label.score = -1;
  ar_eval_run_info info = seed_info(0);
  char *md = ar_report_md(&it, 1, &info);
  ASSERT(strstr(md, "**Answer Relevance (AR)**: falhou\n"));
  ASSERT(strstr(md, "**Anotação automatizada**: não avaliado\n"));
  ASSERT(strstr(md, "**Anotação manual**: -\n"));
  ASSERT(strstr(md, "**Raciocínio (AR CoT)**: (falhou: only a scale statement after \"Score:\") Criteria: x Score: 0 to 3\n"));
  ASSERT(!strstr(md, "0.00"));
  free(md);
}

TEST(eval_report_html_json_self_contained_and_escaped) {
  char *seed = read_seed();
  ASSERT(seed);
  ar_eval_item it[2];
  ASSERT(seed_item(seed, &it[0]));
  ASSERT(seed_item(seed, &it[1]));
  free(it[1].q.id);
  it[1].q.id = ar_strdup("23");
  free(it[1].answer);
  it[1].answer = ar_strdup("<script>alert(1)</script> & mais");
  it[1].refs[0].link = (free(it[1].refs[0].link), ar_strdup("javascript:alert(1)"));
  it[1].label.status = AR_JUDGE_FAILED;
  it[1].label.error = ar_strdup("no \"Label:\" line in the reply");
  ar_eval_run_info info = seed_info(0);
  info.bootstrap = 200;
  ar_eval_summary s;
  ar_eval_summarize(it, 2, &info, &s);
  ASSERT_EQ_INT(s.agree.n, 1);
  ASSERT_EQ_INT(s.auto_failed, 1);
  ASSERT_NEAR(s.mean_ar.value, 1.0, 1e-12);
  char *html = ar_report_html(it, 2, &info, &s);
  ASSERT(html);
  ASSERT(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; mais"));
  ASSERT(!strstr(html, "<script"));
  ASSERT(!strstr(html, "javascript:"));
  ASSERT(!strstr(html, "<link") && !strstr(html, "src="));
  ASSERT(strstr(html, "<svg"));
  ASSERT(strstr(html, "href='https://www.youtube.com/watch?v=seed&amp;t=110'"));
  ASSERT(strstr(html, "Pergunta 23</a>: anotação automatizada"));
  char *js = ar_report_json(it, 2, &info, &s);
  ASSERT(js && strstr(js, "\"automated_label\""));
  ASSERT(strstr(js, "\"stage\": \"automated_label\""));
  char *sum = ar_report_summary(it, 2, &info, &s);
  ASSERT(sum && strstr(sum, "question 23: automated label: no \"Label:\" line"));
  free(html); free(js); free(sum);
  ar_eval_item_free(&it[0]);
  ar_eval_item_free(&it[1]);
  free(seed);
}

/* Every allocation failing in turn: a clean NULL/NOMEM or the full result, never a crash or a leak. */
TEST(eval_out_of_memory_paths) {
  char *seed = read_seed();
  ASSERT(seed);
  ar_eval_item it;
  ASSERT(seed_item(seed, &it));
  ar_eval_run_info info = seed_info(0);
  char *full = ar_report_md(&it, 1, &info);
  ASSERT(full);
  for (long k = 0; k < 400; k++) {
    ar_alloc_fail_after(k);
    char *md = ar_report_md(&it, 1, &info);
    ar_alloc_fail_after(-1);
    ASSERT_MSG(!md || !strcmp(md, full), "allocation %ld failed: partial report", k);
    free(md);
  }
  free(full);
  const char *qs = "{\"id\": 1, \"question\": \"a?\", \"manual\": \"C\", \"reference_answer\": \"r\","
                   " \"gold\": [{\"video_id\": \"v\", \"start\": 1, \"end\": 2}]}\n{\"id\": \"x\", \"question\": \"b?\"}\n";
  for (long k = 0; k < 40; k++) {
    ar_question_set s;
    ar_error err;
    ar_alloc_fail_after(k);
    ar_status st = ar_questions_parse("q.jsonl", qs, strlen(qs), &s, &err);
    ar_alloc_fail_after(-1);
    if (st == AR_OK) {
      ASSERT_EQ_INT(s.n, 2);
      ASSERT_STREQ(s.v[0].manual, "C");
      ASSERT_STREQ(s.v[0].reference_answer, "r");
      ASSERT_STREQ(s.v[0].gold[0].video_id, "v");
      ar_questions_free(&s);
    } else {
      ASSERT_EQ_INT(st, AR_ERR_NOMEM);
    }
  }
  for (long k = 0; k < 20; k++) {
    char **v;
    ar_alloc_fail_after(k);
    size_t n = ar_split_sentences("Um. Dois! Três?", &v);
    ar_alloc_fail_after(-1);
    ASSERT(n == 0 || n == 3);
    ar_strings_free(v, n);
  }
  ar_eval_item_free(&it);
  free(seed);
}

/* Found by tests/fuzz/fuzz_judge.c: numbers outside an integer field's range in a stored item were
 * converted with a cast (undefined); they now read as the field's default. */
TEST(eval_item_from_json_out_of_range_numbers) {
  ar_eval_item it;
  ar_error err;
  const char *js = "{\"index\":-3,\"id\":\"q1\",\"question\":\"q\",\"segments\":[{\"rank\":1e300,\"corpus_id\":-1e30}],"
                   "\"usage\":{\"calls\":1e40}}";
  ASSERT_EQ_INT(ar_eval_item_from_json(js, &it, &err), AR_OK);
  ASSERT_EQ_INT(it.index, 0);
  ASSERT(it.hits);
  ASSERT_EQ_INT(it.hits[0].rank, 1);
  ASSERT_EQ_INT(it.hits[0].corpus_id, 0);
  ar_eval_item_free(&it);
}
