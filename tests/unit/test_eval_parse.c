/* test_eval_parse.c - judges' reply parsing: score after the last "Score:", label lines, sentences. */
#include "test.h"
#include "core/util.h"
#include "eval/eval.h"

static int score(const char *s) { return ar_parse_score(s, 3, NULL); }

TEST(eval_score_plain_template) {
  ASSERT_EQ_INT(score("Criteria: x\nSupporting Evidence: y\n\nScore: 3"), 3);
  ASSERT_EQ_INT(score("Score: 0"), 0);
  ASSERT_EQ_INT(score("Score: 2."), 2);
  ASSERT_EQ_INT(score("Score: 2.0"), 2);
  ASSERT_EQ_INT(score("**Score:** 1"), 1);
  ASSERT_EQ_INT(score("**Score**: 1"), 1);
  ASSERT_EQ_INT(score("score: 2\n"), 2);
}

TEST(eval_score_last_score_line_wins) {
  ASSERT_EQ_INT(score("Score: 3\nSupporting Evidence: on reflection...\nScore: 1"), 1);
  /* the template echoed first, the real score last */
  ASSERT_EQ_INT(score("Score: <The score based on the given criteria>\n...\nScore: 2"), 2);
  /* the last one is unparsable: failed, no fallback to an earlier one */
  const char *why = NULL;
  ASSERT_EQ_INT(ar_parse_score("Score: 2\nScore: N/A", 3, &why), -1);
  ASSERT(why != NULL);
}

TEST(eval_score_scale_statement_is_never_the_score) {
  const char *why = NULL;
  ASSERT_EQ_INT(ar_parse_score("Score: 0 to 3", 3, &why), -1);
  ASSERT(why && strstr(why, "scale"));
  ASSERT_EQ_INT(score("Score: On a scale of 0 to 3, I rate this 3"), 3);  /* TruLens would say 0 */
  ASSERT_EQ_INT(score("Score: 2 out of 3"), 2);
  ASSERT_EQ_INT(score("Score: 2/3"), 2);
  ASSERT_EQ_INT(score("Score: 1 / 3"), 1);
  ASSERT_EQ_INT(score("Score: numa escala de 0 a 3, nota 2"), 2);
  ASSERT_EQ_INT(score("Score (0-3): 2"), -1);   /* no "Score:" label at all */
  ASSERT_EQ_INT(score("Score: 0-3 scale; 1"), 1);
}

TEST(eval_score_missing_or_out_of_range_is_failed_not_zero) {
  const char *why = NULL;
  ASSERT_EQ_INT(ar_parse_score("Criteria: x\nSupporting Evidence: y", 3, &why), -1);
  ASSERT(why && strstr(why, "Score"));
  ASSERT_EQ_INT(score("Score: 5"), -1);
  ASSERT_EQ_INT(score("Score: -1"), -1);
  ASSERT_EQ_INT(score("Score: 2.5"), -1);
  ASSERT_EQ_INT(score("Score: high"), -1);
  ASSERT_EQ_INT(score(""), -1);
  ASSERT_EQ_INT(ar_parse_score(NULL, 3, &why), -1);
}

TEST(eval_score_on_next_line_when_score_line_is_empty) {
  ASSERT_EQ_INT(score("Supporting Evidence: ok\nScore:\n2\n"), 2);
  ASSERT_EQ_INT(score("Score: **\n\n 3"), 3);
}

TEST(eval_label_last_line_only) {
  char *labels[] = {"C", "P", "I"};
  const char *why = NULL;
  ASSERT_EQ_INT(ar_parse_label("Reasoning: the answer is right.\nLabel: C", labels, 3, &why), 0);
  ASSERT_EQ_INT(ar_parse_label("Label: P\nmore thoughts\nLabel: I\n", labels, 3, NULL), 2);
  ASSERT_EQ_INT(ar_parse_label("**Label:** p.", labels, 3, NULL), 1);
  ASSERT_EQ_INT(ar_parse_label("Rótulo: \"C\"", labels, 3, NULL), 0);
  /* the last label line is garbage: failed even though an earlier one was fine */
  ASSERT_EQ_INT(ar_parse_label("Label: C\nLabel: correct-ish", labels, 3, &why), -1);
  ASSERT(why != NULL);
  ASSERT_EQ_INT(ar_parse_label("The answer is C.", labels, 3, &why), -1);
  ASSERT(why && strstr(why, "Label"));
  ASSERT_EQ_INT(ar_parse_label("Label: C or P", labels, 3, NULL), -1);
  ASSERT_EQ_INT(ar_parse_label("Label: P (parcialmente correta)", labels, 3, NULL), 1);
  ASSERT_EQ_INT(ar_parse_label("Label: I - incorreta", labels, 3, NULL), 2);
  ASSERT_EQ_INT(ar_parse_label("Label: I — incorreta", labels, 3, NULL), 2);
  ASSERT_EQ_INT(ar_parse_label("Label: Incorrect", labels, 3, NULL), -1);  /* not "I" + gloss */
  ASSERT_EQ_INT(ar_parse_label("Label: C(correta)", labels, 3, NULL), -1);
  ASSERT_EQ_INT(ar_parse_label(NULL, labels, 3, NULL), -1);
}

TEST(eval_label_custom_set) {
  char **labels; int n; ar_error err;
  ASSERT_EQ_INT(ar_labels_parse("perfeita, aceitável ,errada", &labels, &n, &err), AR_OK);
  ASSERT_EQ_INT(n, 3);
  ASSERT_STREQ(labels[1], "aceitável");
  ASSERT_EQ_INT(ar_parse_label("Label: Errada", labels, n, NULL), 2);
  ar_labels_free(labels, n);
  ASSERT_EQ_INT(ar_labels_parse("C,,I", &labels, &n, &err), AR_ERR_INVALID);
  ASSERT_EQ_INT(ar_labels_parse("C", &labels, &n, &err), AR_ERR_INVALID);
  ASSERT_EQ_INT(ar_labels_parse("C,c", &labels, &n, &err), AR_ERR_INVALID);
  ASSERT_EQ_INT(ar_labels_parse(NULL, &labels, &n, &err), AR_OK);
  ASSERT_EQ_INT(n, 3);
  ASSERT_STREQ(labels[2], "I");
  ar_labels_free(labels, n);
}

TEST(eval_cot_text_one_line_like_seed) {
  char *t = ar_cot_text("Sure.\nCriteria: A.\nSupporting Evidence: B.\n\nScore: 3\n");
  ASSERT_STREQ(t, "Criteria: A. Supporting Evidence: B.  Score: 3");
  free(t);
  t = ar_one_line("  a\r\nb  ");
  ASSERT_STREQ(t, "a b");
  free(t);
}

static void check_split(const char *text, int n_expected, const char *const *expected) {
  char **v;
  size_t n = ar_split_sentences(text, &v);
  if ((int)n != n_expected) {
    fprintf(stderr, "  split \"%s\": %zu sentences, wanted %d\n", text, n, n_expected);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "    [%zu] %s\n", i, v[i]);
    test_failed_current = 1;
  } else {
    for (int i = 0; i < n_expected; i++)
      if (strcmp(v[i], expected[i])) {
        fprintf(stderr, "  split \"%s\"[%d]: \"%s\" != \"%s\"\n", text, i, v[i], expected[i]);
        test_failed_current = 1;
      }
  }
  ar_strings_free(v, n);
}

TEST(eval_sentences_portuguese) {
  { const char *e[] = {"O Sr. Silva e a Dra. Souza deram a aula.", "Depois houve pausa."};
    check_split("O Sr. Silva e a Dra. Souza deram a aula. Depois houve pausa.", 2, e); }
  { const char *e[] = {"Use p.ex. a GPU, a TPU etc. para treinar.", "Fim."};
    check_split("Use p.ex. a GPU, a TPU etc. para treinar. Fim.", 2, e); }
  { const char *e[] = {"A acurácia foi 3.5 ou 3,5 pontos.", "Ok?", "Sim!"};
    check_split("A acurácia foi 3.5 ou 3,5 pontos. Ok? Sim!", 3, e); }
  { const char *e[] = {"Então... a GPU é usada.", "Mas nem sempre…", "Depois."};
    check_split("Então... a GPU é usada. Mas nem sempre… Depois.", 3, e); }
  { const char *e[] = {"Ele disse \"use a GPU.\"", "Certo."};
    check_split("Ele disse \"use a GPU.\" Certo.", 2, e); }
  { const char *e[] = {"Linha um", "- item dois [1]."};
    check_split("Linha um\n- item dois [1].", 2, e); }
  { const char *e[] = {"Veja o cap. 3 e a fig. 2.", "Ok."};
    check_split("Veja o cap. 3 e a fig. 2. Ok.", 2, e); }
  { const char *e[] = {"sem ponto final"};
    check_split("  sem ponto final  ", 1, e); }
  check_split("", 0, NULL);
  check_split("   \n  ", 0, NULL);
}

TEST(eval_format_double_like_python_repr) {
  char b[40];
  ar_format_real((double)0.8849621415138245f, b);
  ASSERT_STREQ(b, "0.8849621415138245");
  ar_format_real(0.1, b);  ASSERT_STREQ(b, "0.1");
  ar_format_real(12, b);   ASSERT_STREQ(b, "12.0");
  ar_format_real(1e-05, b); ASSERT_STREQ(b, "1e-05");
  ar_format_real(0.016129032258064516, b); ASSERT_STREQ(b, "0.016129032258064516");
}

/* issue 12 finding 4: a score beyond long's range was converted with (long)x (undefined; the test build
 * now has -fsanitize=float-cast-overflow, which stops here before the fix). */
TEST(eval_score_huge_number_is_out_of_range) {
  const char *why = NULL;
  ASSERT_EQ_INT(ar_parse_score("Score: 99999999999999999999", 3, &why), -1);
  ASSERT_STREQ(why, "the score is out of range");
  ASSERT_EQ_INT(ar_parse_score("Score: -1e300", 3, &why), -1);
  ASSERT_EQ_INT(ar_parse_score("Score: 2.5", 3, &why), -1);
  ASSERT_STREQ(why, "the score is not a whole number");
}
