/* test_eval_judge.c - the judges against tests/llm_server.py with scripted (and malformed) replies;
 * the requests-per-minute pacer. */
#include "test.h"
#include "core/util.h"
#include "eval/eval.h"
#include "eval/judge.h"
#include "llm_test_server.h"

static char *labels3[] = {"C", "P", "I"};

static const char *SCRIPT =
  "{\"replies\":["
  "{\"match\":\"PROMPT: Para que serve a GPU?\",\"content\":\"Criteria: relevance.\\nSupporting Evidence: it answers."
  "\\n\\nScore: 2\"},"
  "{\"match\":\"STUDENT ANSWER\",\"content\":\"It is correct but misses the TPU part.\\nLabel: P\"},"
  "{\"match\":\"SEARCH RESULT: trecho um\",\"content\":\"Criteria: x\\nSupporting Evidence: y\\nScore: 3\"},"
  "{\"match\":\"SEARCH RESULT: trecho dois\",\"content\":\"I would rate this on a scale of 0 to 3.\"},"
  "{\"match\":\"STATEMENT: A GPU acelera o treino.\",\"content\":\"Criteria: c\\nSupporting Evidence: [1]\\nScore: 3\"},"
  "{\"match\":\"STATEMENT: O Sr. Silva usa TPU.\",\"content\":\"Criteria: c\\nSupporting Evidence: NOTHING FOUND\\nScore: 0\"}"
  "],\"default\":{\"status\":500}}";

static ar_eval_item make_item(void) {
  ar_eval_item it = {0};
  it.q.id = ar_strdup("1");
  it.q.question = ar_strdup("Para que serve a GPU?");
  it.answer = ar_strdup("A GPU acelera o treino. O Sr. Silva usa TPU.");
  it.n_hits = 2;
  it.hits = ar_calloc(2, sizeof *it.hits);
  it.hits[0].text = ar_strdup("trecho um sobre GPU");
  it.hits[0].video_id = ar_strdup("aula1");
  it.hits[1].text = ar_strdup("trecho dois sobre TPU");
  it.hits[1].video_id = ar_strdup("aula2");
  return it;
}

TEST(eval_judge_all_judges_with_scripted_replies) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, SCRIPT) == 0);
  ar_llm_params lp = ar_llm_default_params();
  lp.base_url = s.url;
  lp.model = "juiz";
  lp.max_retries = 0;
  ar_pacer pacer;
  ar_pacer_init(&pacer, 0);
  ar_judge_ctx c = {&lp, &pacer, labels3, 3, 1, 1, 0};
  ar_eval_item it = make_item();
  ar_judge_item(&c, &it);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ar_pacer_destroy(&pacer);
  ASSERT_EQ_INT(json_array_size(log), 6);
  json_t *body = json_object_get(json_array_get(log, 0), "body");
  ASSERT_STREQ(json_string_value(json_object_get(body, "model")), "juiz");
  ASSERT_EQ_INT(it.ar.status, AR_JUDGE_OK);
  ASSERT_EQ_INT(it.ar.score, 2);
  ASSERT(strstr(it.ar.raw, "Supporting Evidence: it answers."));
  ASSERT_EQ_INT(it.label.status, AR_JUDGE_OK);
  ASSERT_EQ_INT(it.label.score, 1);
  ASSERT_EQ_INT(it.n_ctx, 2);
  ASSERT_EQ_INT(it.ctx[0].status, AR_JUDGE_OK);
  ASSERT_EQ_INT(it.ctx[0].score, 3);
  ASSERT_EQ_INT(it.ctx[1].status, AR_JUDGE_FAILED);  /* a scale statement, no score */
  ASSERT_NEAR(ar_judgements_mean(it.ctx, it.n_ctx, 3), 1.0, 1e-12);  /* the failed one is not a 0 */
  ASSERT_EQ_INT(it.n_ground, 2);  /* "Sr." does not end a sentence */
  ASSERT_STREQ(it.ground[1].subject, "O Sr. Silva usa TPU.");
  ASSERT_NEAR(ar_judgements_mean(it.ground, it.n_ground, 3), 0.5, 1e-12);
  ASSERT_EQ_INT(it.judge_usage.calls, 6);
  ASSERT_EQ_INT(it.judge_usage.failed_calls, 0);
  ASSERT(it.judge_usage.prompt_tokens > 0);
  json_decref(log);
  ar_eval_item_free(&it);
}

TEST(eval_judge_http_error_is_failed_and_no_llm_is_skipped) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[],\"default\":{\"status\":400}}") == 0);
  ar_llm_params lp = ar_llm_default_params();
  lp.base_url = s.url;
  lp.max_retries = 0;
  ar_judge_ctx c = {&lp, NULL, labels3, 3, 0, 0, 0};
  ar_eval_item it = make_item();
  ar_judge_item(&c, &it);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(it.ar.status, AR_JUDGE_FAILED);
  ASSERT(it.ar.error && *it.ar.error);
  ASSERT_EQ_INT(it.label.status, AR_JUDGE_FAILED);
  ASSERT_EQ_INT(it.judge_usage.failed_calls, 2);
  ASSERT_EQ_INT(it.n_ctx, 0);
  ar_eval_item_free(&it);

  ar_judge_ctx none = {NULL, NULL, labels3, 3, 1, 1, 0};
  it = make_item();
  ar_judge_item(&none, &it);
  ASSERT_EQ_INT(it.ar.status, AR_JUDGE_SKIPPED);
  ASSERT_EQ_INT(it.label.status, AR_JUDGE_SKIPPED);
  ASSERT(strstr(it.ar.error, "no judge"));
  ar_eval_item_free(&it);
}

TEST(eval_pacer_spaces_requests) {
  ar_pacer p;
  ar_pacer_init(&p, 1200);  /* one request every 50 ms */
  double t0 = ar_now_s();
  for (int i = 0; i < 5; i++) ar_pacer_wait(&p);
  double dt = ar_now_s() - t0;
  ar_pacer_destroy(&p);
  ASSERT_MSG(dt >= 0.195 && dt < 2.0, "5 requests at 1200 rpm took %.3f s", dt);
  ar_pacer_init(&p, 0);
  t0 = ar_now_s();
  for (int i = 0; i < 100; i++) ar_pacer_wait(&p);
  ASSERT(ar_now_s() - t0 < 0.05);
  ar_pacer_destroy(&p);
}

/* Abstention: the judge's own prompt decides (the answer quotes a segment while abstaining, and
 * another says "não sei" in words no fixed list would hold); AR's prompt says such a reply scores 0
 * and the parsed 0 is what the item carries. */
TEST(eval_judge_abstention_and_ar_scores_refusal_zero) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":["
                           "{\"match\":\"ANSWER: Nas aulas\",\"times\":0,\"content\":\"It says the lectures do not cover it.\\nLabel: ABSTAINS\"},"
                           "{\"match\":\"ANSWER: A GPU\",\"times\":0,\"content\":\"It answers.\\n**Label:** answers\"},"
                           "{\"match\":\"RESPONSE: Nas aulas\",\"times\":0,\"content\":\"Criteria: c\\nSupporting Evidence: declines.\\nScore: 0\"},"
                           "{\"match\":\"STUDENT ANSWER\",\"times\":0,\"content\":\"r\\nLabel: I\"}"
                           "],\"default\":{\"content\":\"no label here\"}}") == 0);
  ar_llm_params lp = ar_llm_default_params();
  lp.base_url = s.url;
  lp.max_retries = 0;
  ar_judge_ctx c = {&lp, NULL, labels3, 3, 0, 0, 1};
  ar_eval_item it[3] = {make_item(), make_item(), make_item()};
  ar_free(it[0].answer);
  it[0].answer = ar_strdup("Nas aulas não encontrei nada sobre isso; o trecho [1] fala de GPU, não de TPU.");
  it[0].q.unanswerable = 1;
  ar_free(it[2].answer);
  it[2].answer = ar_strdup("Talvez.");  /* the judge's reply has no label: failed, not counted */
  for (int i = 0; i < 3; i++) ar_judge_item(&c, &it[i]);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(it[0].abstain.status, AR_JUDGE_OK);
  ASSERT_EQ_INT(it[0].abstain.score, AR_ABSTAINS);
  ASSERT_EQ_INT(it[1].abstain.status, AR_JUDGE_OK);
  ASSERT_EQ_INT(it[1].abstain.score, AR_ANSWERS);
  ASSERT_EQ_INT(it[2].abstain.status, AR_JUDGE_FAILED);
  ASSERT_EQ_INT(it[0].ar.status, AR_JUDGE_OK);
  ASSERT_EQ_INT(it[0].ar.score, 0);
  /* the prompts: AR states how a refusal is scored; the abstention prompt is its own */
  int saw_ar = 0, saw_abst = 0;
  for (size_t i = 0; i < json_array_size(log); i++) {
    json_t *msgs = json_object_get(json_object_get(json_array_get(log, i), "body"), "messages");
    const char *sys = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
    if (strstr(user, "RESPONSE: ")) saw_ar |= strstr(sys, "\"I don't know\"") && strstr(sys, "declines to answer gets 0");
    if (strstr(user, "ANSWER: ") && !strstr(user, "STUDENT ANSWER")) saw_abst |= strstr(sys, "Label: <ABSTAINS or ANSWERS>") != NULL;
  }
  ASSERT(saw_ar);
  ASSERT(saw_abst);
  json_decref(log);
  /* the rates: 1 of 1 unanswerable abstained, 0 of 1 judged answerable did; the failed one is counted apart */
  ar_abstention a;
  ar_abstention_compute(it, 3, 200, &a);
  ASSERT_EQ_INT((int)a.n_unanswerable, 1);
  ASSERT_EQ_INT((int)a.n_answerable, 2);
  ASSERT_EQ_INT((int)a.judged_answerable, 1);
  ASSERT_EQ_INT((int)a.failed, 1);
  ASSERT_NEAR(a.correct.value, 1.0, 1e-12);
  ASSERT_NEAR(a.wrong.value, 0.0, 1e-12);
  for (int i = 0; i < 3; i++) ar_eval_item_free(&it[i]);
}

TEST(eval_abstention_rates_have_bootstrap_intervals) {
  /* 10 unanswerable (7 abstained) and 20 answerable (2 abstained): the rates and intervals that
   * bracket them, from the shared bootstrap */
  ar_eval_item it[30];
  memset(it, 0, sizeof it);
  for (int i = 0; i < 30; i++) {
    it[i].q.unanswerable = i < 10;
    it[i].abstain.status = AR_JUDGE_OK;
    it[i].abstain.score = (i < 7 || (i >= 10 && i < 12)) ? AR_ABSTAINS : AR_ANSWERS;
  }
  ar_abstention a;
  ar_abstention_compute(it, 30, 1000, &a);
  ASSERT_NEAR(a.correct.value, 0.7, 1e-12);
  ASSERT_NEAR(a.wrong.value, 0.1, 1e-12);
  ASSERT(a.correct.lo < 0.7 && a.correct.hi > 0.7 && a.correct.lo >= 0 && a.correct.hi <= 1);
  ASSERT(a.wrong.lo <= 0.1 && a.wrong.hi > 0.1 && a.wrong.lo >= 0);
  /* the same inputs give the same interval (fixed seed) */
  ar_abstention b;
  ar_abstention_compute(it, 30, 1000, &b);
  ASSERT(a.correct.lo == b.correct.lo && a.wrong.hi == b.wrong.hi);
}
