/* test_answer.c - citations, references, the prompt budget, the extractive answer, the ask JSON,
 * and the LLM cache in a real index (against tests/llm_server.py). */
#include "test.h"
#include "answer/answer.h"
#include "llm_test_server.h"
#include <jansson.h>

typedef struct { const char *vid, *title, *url, *text; double s, e; } hit_spec;

static void make_results(ar_results *r, const hit_spec *h, size_t n) {
  memset(r, 0, sizeof *r);
  r->hits = ar_calloc(n ? n : 1, sizeof *r->hits);
  r->n = n;
  r->mode = AR_MODE_LEXICAL;
  r->query = ar_strdup("q");
  for (size_t i = 0; i < n; i++) {
    ar_hit *x = &r->hits[i];
    x->rank = (int)i + 1;
    x->corpus_id = 100 + (int64_t)i;
    x->score = 10.0 - (double)i;
    x->lexical_score = x->score;
    x->lexical_rank = x->rank;
    x->dense_score = NAN;
    x->video_id = ar_strdup(h[i].vid);
    x->title = ar_strdup(h[i].title);
    x->url = ar_strdup(h[i].url);
    x->text = ar_strdup(h[i].text);
    x->start_s = h[i].s;
    x->end_s = h[i].e;
  }
}

TEST(answer_citations_forms) {
  int c[16];
  int n = ar_citations("A [2] e B [1, 3]; C [2][4] D [5-7] E [1 e 8] [9] [x] [] [0] [3a] [ 4 ]", 8, c);
  int want[] = {2, 1, 3, 4, 5, 6, 7, 8};
  ASSERT_EQ_INT(n, 8);
  for (int i = 0; i < n; i++) ASSERT_EQ_INT(c[i], want[i]);
  n = ar_citations("como diz o [Trecho 4] e os [segmentos 2 e 1], não [trecho] nem [Trechox 3]", 8, c);
  ASSERT_EQ_INT(n, 3);
  ASSERT_EQ_INT(c[0], 4); ASSERT_EQ_INT(c[1], 2); ASSERT_EQ_INT(c[2], 1);
  ASSERT_EQ_INT(ar_citations("sem citações", 5, c), 0);
  ASSERT_EQ_INT(ar_citations("[12]", 10, c), 0);  /* out of range: not a segment we gave it */
  ASSERT_EQ_INT(ar_citations("unterminated [1", 5, c), 0);
  ASSERT_EQ_INT(ar_citations(NULL, 5, c), 0);
}

TEST(answer_references_merge_overlapping_and_adjacent) {
  hit_spec h[] = {
    {"v1", "Aula 1", "https://www.youtube.com/watch?v=abc", "t", 110, 239},   /* [1] */
    {"v2", "Aula 2", "https://example.org/a2.mp4", "t", 600, 720},            /* [2] */
    {"v1", "Aula 1", "https://www.youtube.com/watch?v=abc", "t", 8, 145},     /* [3] overlaps [1] */
    {"v1", "Aula 1", "https://www.youtube.com/watch?v=abc", "t", 1000, 1100}, /* [4] far away */
    {"v2", "Aula 2", "https://example.org/a2.mp4", "t", 720.5, 800},          /* [5] adjacent to [2] */
    {"v3", "Aula 3", "", "t", 5, 10},                                           /* [6] no url */
  };
  ar_results r;
  make_results(&r, h, 6);
  int idx[] = {1, 0, 3, 2, 4, 5, 0};
  ar_reference *refs;
  size_t n;
  ASSERT_EQ_INT(ar_references_build(&r, idx, 7, &refs, &n, NULL), AR_OK);
  ASSERT_EQ_INT(n, 4);
  ASSERT_STREQ(refs[0].video_id, "v2");
  ASSERT_NEAR(refs[0].start_s, 600, 0); ASSERT_NEAR(refs[0].end_s, 800, 0);
  ASSERT_STREQ(refs[0].link, "https://example.org/a2.mp4#t=600");
  ASSERT_STREQ(refs[1].video_id, "v1");
  ASSERT_NEAR(refs[1].start_s, 8, 0); ASSERT_NEAR(refs[1].end_s, 239, 0);
  ASSERT_STREQ(refs[1].link, "https://www.youtube.com/watch?v=abc&t=8");
  ASSERT_NEAR(refs[2].start_s, 1000, 0);
  ASSERT_STREQ(refs[2].link, "https://www.youtube.com/watch?v=abc&t=1000");
  ASSERT_STREQ(refs[3].link, "");
  ASSERT_STREQ(refs[3].title, "Aula 3");
  ar_references_free(refs, n);
  ar_results_free(&r);
}

/* Two moments that only touch once a third segment widens one of them become one. */
TEST(answer_references_transitive_merge) {
  hit_spec h[] = {{"v", "A", "", "t", 0, 100}, {"v", "A", "", "t", 200, 300}, {"v", "A", "", "t", 90, 210}};
  ar_results r;
  make_results(&r, h, 3);
  int idx[] = {0, 1, 2};
  ar_reference *refs;
  size_t n;
  ASSERT_EQ_INT(ar_references_build(&r, idx, 3, &refs, &n, NULL), AR_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_NEAR(refs[0].start_s, 0, 0);
  ASSERT_NEAR(refs[0].end_s, 300, 0);
  ar_references_free(refs, n);
  ar_results_free(&r);
}

TEST(answer_prompt_numbers_segments_and_keeps_budget) {
  /* 3 segments of 399 code points each ("ção " = 4 code points, 6 bytes) */
  char big[2000] = "";
  for (int i = 0; i < 100; i++) strcat(big, "ção ");
  big[strlen(big) - 1] = 0;
  hit_spec h[] = {{"v1", "Aula 1", "", big, 110, 239}, {"v2", "", "", big, 3600, 3725}, {"v3", "C", "", big, 0, 1}};
  ar_results r;
  make_results(&r, h, 3);
  char *u;
  int used;
  /* 250 tokens = 1000 code points: two whole segments (800) and 200 of the third */
  ASSERT_EQ_INT(ar_prompt_user("Qual é a pergunta?", &r, 250, &u, &used, NULL), AR_OK);
  ASSERT_EQ_INT(used, 3);
  ASSERT(strstr(u, "[1] Vídeo: Aula 1 (00:01:50 a 00:03:59)\n"));
  ASSERT(strstr(u, "[2] Vídeo: v2 (01:00:00 a 01:02:05)\n"));  /* no title: the video id */
  ASSERT(strstr(u, "[3] Vídeo: C"));
  ASSERT(strstr(u, " […]\n"));
  ASSERT(strstr(u, "\nPergunta: Qual é a pergunta?"));
  /* the cut keeps whole words: the third segment is "ção ção ... ção" */
  const char *third = strstr(u, "[3] Vídeo: C (00:00:00 a 00:00:01)\n") + strlen("[3] Vídeo: C (00:00:00 a 00:00:01)\n");
  const char *end = strstr(third, " […]");
  /* 200 code points left = 50 words of 5 bytes ("ção") and 49 spaces */
  ASSERT_MSG(end && end - third == 299, "%d", end ? (int)(end - third) : -1);
  ASSERT(ar_approx_tokens(third, (size_t)(end - third)) <= 50);
  ar_free(u);
  /* A tiny budget still gives the best segment (cut), and never a later one. */
  ASSERT_EQ_INT(ar_prompt_user("q", &r, 10, &u, &used, NULL), AR_OK);
  ASSERT_EQ_INT(used, 1);
  ASSERT(!strstr(u, "[2]"));
  ar_free(u);
  ar_results_free(&r);
}

TEST(answer_prompt_never_cuts_utf8) {
  /* one long "word" of 2-byte characters: the cut falls inside it */
  char big[3000] = "";
  for (int i = 0; i < 600; i++) strcat(big, "é");
  hit_spec h[] = {{"v", "T", "", big, 0, 1}};
  ar_results r;
  make_results(&r, h, 1);
  for (int budget = 1; budget < 40; budget++) {
    char *u;
    int used;
    ASSERT_EQ_INT(ar_prompt_user("q", &r, budget, &u, &used, NULL), AR_OK);
    size_t n = strlen(u);
    for (size_t i = 0; i < n;) {
      int l = ar_utf8_len((const unsigned char *)u + i, n - i);
      ASSERT_MSG(l > 0, "budget %d: invalid UTF-8 at byte %zu", budget, i);
      i += (size_t)l;
    }
    ar_free(u);
  }
  ar_results_free(&r);
}

TEST(answer_extractive_picks_matching_sentences_in_order) {
  hit_spec h[] = {
    {"v1", "A1", "", "Bom dia a todos. Hoje falamos de redes neurais. A GPU acelera o treinamento das redes neurais "
                     "de forma notável. Depois do intervalo voltamos.", 0, 100},
    {"v2", "A2", "", "O processador central também executa operações. A GPU tem milhares de núcleos.", 100, 200},
    {"v3", "A3", "", "Nada relacionado aqui.", 200, 300},
  };
  ar_results r;
  make_results(&r, h, 3);
  char *t;
  int *used, n;
  ASSERT_EQ_INT(ar_extractive_answer("Por que a GPU acelera o treinamento?", &r, "pt", &t, &used, &n, NULL), AR_OK);
  ASSERT(!strncmp(t, AR_EXTRACTIVE_LABEL "\n", strlen(AR_EXTRACTIVE_LABEL) + 1));
  ASSERT_MSG(strstr(t, "- A GPU acelera o treinamento das redes neurais de forma notável. [1]"), "%s", t);
  ASSERT(strstr(t, "- A GPU tem milhares de núcleos. [2]"));
  ASSERT(!strstr(t, "Bom dia"));
  ASSERT(!strstr(t, "Nada relacionado"));
  /* reading order: segment 1 before segment 2 */
  ASSERT(strstr(t, "[1]") < strstr(t, "[2]"));
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_INT(used[0], 0);
  ASSERT_EQ_INT(used[1], 1);
  ar_free(t);
  ar_free(used);
  /* stemming: "treinamentos" still matches "treinamento" (the light stemmer leaves verb forms such as
   * "acelerar"/"acelera" apart, and 1 of 2 terms is enough coverage) */
  ASSERT_EQ_INT(ar_extractive_answer("acelerar treinamentos", &r, "pt", &t, &used, &n, NULL), AR_OK);
  ASSERT_MSG(strstr(t, "A GPU acelera o treinamento"), "%s", t);
  ar_free(t);
  ar_free(used);
  ASSERT_EQ_INT(ar_extractive_answer("fotossíntese clorofila", &r, "pt", &t, &used, &n, NULL), AR_OK);
  ASSERT(strstr(t, AR_EXTRACTIVE_NONE));
  ASSERT_EQ_INT(n, 0);
  ar_free(t);
  ar_free(used);
  ar_results_free(&r);
}

TEST(answer_extractive_says_not_covered_below_the_coverage_threshold) {
  /* a question whose terms the top segments barely share gets "not covered", not a quote of the
   * best-ranked segment; the threshold is AR_EXTRACTIVE_MIN_COVERAGE of its distinct terms */
  hit_spec h[] = {{"v1", "A1", "", "A GPU acelera o treinamento das redes neurais.", 0, 100},
                  {"v2", "A2", "", "A GPU tem milhares de núcleos.", 100, 200}};
  ar_results r;
  make_results(&r, h, 2);
  char *t;
  int *used, n;
  double cov = -1;
  /* 1 of 3 terms (gpu; not fotossíntese, clorofila): below 0.4 */
  ASSERT_EQ_INT(ar_extractive_answer_cov("GPU fotossíntese clorofila", &r, "pt", AR_EXTRACTIVE_MIN_COVERAGE, &t, &used,
                                         &n, &cov, NULL), AR_OK);
  ASSERT_NEAR(cov, 1.0 / 3, 1e-12);
  ASSERT_MSG(strstr(t, AR_EXTRACTIVE_NONE) && n == 0, "%s", t);
  ar_free(t);
  ar_free(used);
  /* the same with the threshold off quotes the GPU sentence: the threshold is what abstained */
  ASSERT_EQ_INT(ar_extractive_answer_cov("GPU fotossíntese clorofila", &r, "pt", 0, &t, &used, &n, NULL, NULL), AR_OK);
  ASSERT_MSG(strstr(t, "GPU") && n > 0, "%s", t);
  ar_free(t);
  ar_free(used);
  /* 2 of 3 (gpu, núcleos; not clorofila) in segment 2: quoted */
  ASSERT_EQ_INT(ar_extractive_answer("GPU núcleos clorofila", &r, "pt", &t, &used, &n, NULL), AR_OK);
  ASSERT_MSG(strstr(t, "A GPU tem milhares de núcleos. [2]"), "%s", t);
  ar_free(t);
  ar_free(used);
  ar_results_free(&r);
}

TEST(answer_extractive_windows_unpunctuated_transcripts) {
  char big[4000] = "";
  for (int i = 0; i < 40; i++) strcat(big, "palavra ");
  strcat(big, "tensor GPU dispositivo ");
  for (int i = 0; i < 40; i++) strcat(big, "outra ");
  hit_spec h[] = {{"v", "T", "", big, 0, 100}};
  ar_results r;
  make_results(&r, h, 1);
  char *t;
  int *used, n;
  ASSERT_EQ_INT(ar_extractive_answer("dispositivo GPU", &r, "pt", &t, &used, &n, NULL), AR_OK);
  ASSERT_MSG(strstr(t, "tensor GPU dispositivo") && strlen(t) < 400, "%s", t);
  ASSERT(strstr(t, "…"));  /* a window cut mid-run is marked */
  ar_free(t);
  ar_free(used);
  ar_results_free(&r);
}

TEST(answer_json_fields_and_hidden_urls) {
  hit_spec h[] = {{"v1", "Aula 1", "https://youtu.be/abc", "texto", 110.5, 239}};
  ar_answer a;
  memset(&a, 0, sizeof a);
  make_results(&a.results, h, 1);
  a.text = ar_strdup("Resposta [1].");
  int idx[] = {0};
  ASSERT_EQ_INT(ar_references_build(&a.results, idx, 1, &a.refs, &a.n_refs, NULL), AR_OK);
  a.llm.attempts = 2;
  a.llm.prompt_tokens = a.llm.completion_tokens = -1;
  for (int hide = 0; hide < 2; hide++) {
    char *s = ar_answer_to_json(&a, hide);
    json_t *o = json_loads(s, 0, NULL);
    ASSERT(o);
    ASSERT_STREQ(json_string_value(json_object_get(o, "answer")), "Resposta [1].");
    ASSERT_STREQ(json_string_value(json_object_get(o, "answer_kind")), "llm");
    ASSERT_EQ_INT(json_array_size(json_object_get(o, "segments")), 1);
    json_t *r = json_array_get(json_object_get(o, "references"), 0);
    ASSERT_STREQ(json_string_value(json_object_get(r, "video_id")), "v1");
    ASSERT_STREQ(json_string_value(json_object_get(r, "title")), "Aula 1");
    ASSERT_NEAR(json_number_value(json_object_get(r, "start")), 110.5, 0);
    ASSERT_NEAR(json_number_value(json_object_get(r, "end")), 239, 0);
    ASSERT_STREQ(json_string_value(json_object_get(r, "start_hms")), "00:01:50");
    ASSERT_STREQ(json_string_value(json_object_get(r, "end_hms")), "00:03:59");
    if (hide) {
      ASSERT(json_is_null(json_object_get(r, "url")) && json_is_null(json_object_get(r, "link")));
      ASSERT(!strstr(s, "youtu"));
    } else {
      ASSERT_STREQ(json_string_value(json_object_get(r, "link")), "https://youtu.be/abc?t=110");
    }
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(o, "llm"), "attempts")), 2);
    json_decref(o);
    ar_free(s);
  }
  a.extractive = 1;
  char *s = ar_answer_to_json(&a, 0);
  ASSERT(strstr(s, "\"answer_kind\":\"extractive\"") && !strstr(s, "\"llm\""));
  ar_free(s);
  ar_answer_free(&a);
}

/* A real index as the cache: the second identical ask makes no request and gives the same answer;
 * --no-cache (use_cache = 0) asks again; a different question is a different key. */
TEST(answer_llm_cache_in_index) {
  char path[600];
  snprintf(path, sizeof path, "%s/c.db", test_tmpdir());
  ar_index *ix;
  ar_error e = {0};
  ASSERT_EQ_INT(ar_index_open(path, ar_index_default_params(), &ix, &e), AR_OK);
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"content\":\"primeira [1]\"},{\"content\":\"segunda [1]\"},"
                           "{\"content\":\"terceira\"}]}") == 0);
  hit_spec h[] = {{"v1", "Aula", "", "A GPU acelera.", 0, 10}};
  ar_ask_params p = ar_ask_default_params();
  p.llm.base_url = s.url;
  p.llm.model = "m";
  const char *answers[4];
  int cached[4];
  char *texts[4];
  for (int i = 0; i < 4; i++) {
    ar_answer a;
    memset(&a, 0, sizeof a);
    make_results(&a.results, h, 1);
    p.llm.use_cache = i != 2;
    ar_status st = ar_answer_from_results(ix, i == 3 ? "outra pergunta" : "O que a GPU faz?", &p, &a, &e);
    ASSERT_MSG(st == AR_OK, "%s", e.msg);
    texts[i] = ar_strdup(a.text);
    answers[i] = texts[i];
    cached[i] = a.llm.cached;
    if (i == 1) ASSERT_EQ_INT(a.n_refs, 1);  /* references come back with a cached answer too */
    ar_answer_free(&a);
  }
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ar_index_close(ix);
  ASSERT_STREQ(answers[0], "primeira [1]");
  ASSERT_STREQ(answers[1], "primeira [1]");
  ASSERT_EQ_INT(cached[0], 0);
  ASSERT_EQ_INT(cached[1], 1);
  ASSERT_STREQ(answers[2], "segunda [1]");  /* no cache: asked again */
  ASSERT_EQ_INT(cached[2], 0);
  ASSERT_STREQ(answers[3], "terceira");
  ASSERT_EQ_INT(json_array_size(log), 3);
  json_decref(log);
  for (int i = 0; i < 4; i++) ar_free(texts[i]);
}

/* A reasoning model's "<think>" block is not part of the answer (nor are its citations). */
TEST(answer_strips_think_block) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"default\":{\"content\":\"<think>talvez [1]? ou [2]</think>\\n\\nA resposta [2].\"}}") == 0);
  hit_spec h[] = {{"v1", "A", "", "um", 0, 10}, {"v2", "B", "", "dois", 0, 10}};
  ar_ask_params p = ar_ask_default_params();
  p.llm.base_url = s.url;
  ar_answer a;
  memset(&a, 0, sizeof a);
  make_results(&a.results, h, 2);
  ar_error e = {0};
  ar_status st = ar_answer_from_results(NULL, "q", &p, &a, &e);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(a.text, "A resposta [2].");
  ASSERT_EQ_INT(a.n_refs, 1);
  ASSERT_STREQ(a.refs[0].video_id, "v2");
  ar_answer_free(&a);
}

/* With no citation in the answer the references are the best segments the LLM was given. */
TEST(answer_uncited_llm_answer_references_top_segments) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"default\":{\"content\":\"As aulas não tratam disso.\"}}") == 0);
  hit_spec h[] = {{"v1", "A", "", "um", 0, 10}, {"v2", "B", "", "dois", 0, 10}, {"v3", "C", "", "três", 0, 10},
                  {"v4", "D", "", "quatro", 0, 10}};
  ar_ask_params p = ar_ask_default_params();
  p.llm.base_url = s.url;
  ar_answer a;
  memset(&a, 0, sizeof a);
  make_results(&a.results, h, 4);
  ar_error e = {0};
  ar_status st = ar_answer_from_results(NULL, "q", &p, &a, &e);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(a.n_refs, 3);
  ASSERT_STREQ(a.refs[0].video_id, "v1");
  ASSERT_STREQ(a.refs[2].video_id, "v3");
  ar_answer_free(&a);
}

/* Every allocation failing in turn: NOMEM or success, never a crash or a leak (ASan checks). */
TEST(answer_out_of_memory_paths) {
  hit_spec h[] = {{"v1", "A", "https://youtu.be/x", "A GPU acelera o treino. Outra frase aqui.", 0, 10},
                  {"v1", "A", "https://youtu.be/x", "A GPU tem núcleos.", 5, 20}};
  ar_results r;
  make_results(&r, h, 2);
  int idx[] = {1, 0};
  for (long n = 0; n < 200; n++) {
    ar_error e = {0};
    ar_reference *refs = NULL;
    size_t nr = 0;
    char *u = NULL, *t = NULL;
    int used_n = 0, *used = NULL;
    ar_alloc_fail_after(n);
    ar_status s1 = ar_references_build(&r, idx, 2, &refs, &nr, &e);
    ar_alloc_fail_after(n);
    ar_status s2 = ar_prompt_user("GPU?", &r, 100, &u, &used_n, &e);
    ar_alloc_fail_after(n);
    ar_status s3 = ar_extractive_answer("GPU acelera", &r, "pt", &t, &used, &used_n, &e);
    ar_alloc_fail_after(-1);
    ASSERT(s1 == AR_OK || s1 == AR_ERR_NOMEM);
    ASSERT(s2 == AR_OK || s2 == AR_ERR_NOMEM);
    ASSERT(s3 == AR_OK || s3 == AR_ERR_NOMEM);
    if (s1 == AR_OK) { ASSERT_EQ_INT(nr, 1); ar_references_free(refs, nr); }
    if (s2 == AR_OK) { ASSERT(strstr(u, "Pergunta: GPU?")); ar_free(u); }
    if (s3 == AR_OK) { ASSERT(strstr(t, "[1]")); ar_free(t); ar_free(used); }
  }
  ar_results_free(&r);
}

/* A rare question term outweighs two that are in every sentence (rarity weighting, not a count). */
TEST(answer_extractive_prefers_rare_terms) {
  hit_spec h[] = {
    {"v1", "A", "", "O TensorFlow treina o modelo. O TensorFlow salva o modelo. O TensorFlow carrega o modelo.", 0, 10},
    {"v2", "B", "", "O TensorFlow avalia o modelo. O cache guarda os dados lidos.", 10, 20},
  };
  ar_results r;
  make_results(&r, h, 2);
  char *t;
  int *used, n;
  ASSERT_EQ_INT(ar_extractive_answer("modelo TensorFlow cache", &r, "pt", &t, &used, &n, NULL), AR_OK);
  ASSERT_MSG(strstr(t, "- O cache guarda os dados lidos. [2]"), "%s", t);
  ar_free(t);
  ar_free(used);
  ar_results_free(&r);
}
