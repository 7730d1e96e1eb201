/* test_text.c - lexical analysis: word splitting, case/accent folding, stop words, stemming. */
#include "test.h"
#include "core/util.h"
#include "text/analyze.h"

struct terms { char buf[2048]; int n; int starts[64], ends[64]; };

static int collect(void *ud, const char *t, int len, int start, int end) {
  struct terms *c = ud;
  size_t used = strlen(c->buf);
  if (c->n) c->buf[used++] = ' ';
  memcpy(c->buf + used, t, (size_t)len);
  c->buf[used + (size_t)len] = 0;
  if (c->n < 64) { c->starts[c->n] = start; c->ends[c->n] = end; }
  c->n++;
  return 0;
}

/* analysis of s as one space-joined string of terms */
static const char *an(ar_analyzer *a, const char *s, struct terms *t) {
  memset(t, 0, sizeof *t);
  ar_analyze(a, s, strlen(s), collect, t);
  return t->buf;
}

TEST(analyze_pt_folds_case_and_accents) {
  ar_analyzer *a;
  ASSERT_EQ_INT(ar_analyzer_new("pt", 0, &a, NULL), AR_OK);
  struct terms t1, t2, t3;
  /* the same word in three spellings is one term */
  an(a, "Retropropagação", &t1);
  an(a, "RETROPROPAGAÇÃO", &t2);
  an(a, "retropropagação", &t3);
  ASSERT_EQ_INT(t1.n, 1);
  ASSERT_STREQ(t1.buf, t2.buf);
  ASSERT_STREQ(t1.buf, t3.buf);
  /* no accent survives in a term */
  for (const char *p = t1.buf; *p; p++) ASSERT((unsigned char)*p < 128);
  /* decomposed input (e + combining acute) folds like the composed one */
  an(a, "matem\xC3\xA1tica", &t1);
  an(a, "matema\xCC\x81tica", &t2);
  ASSERT_STREQ(t1.buf, t2.buf);
  ar_analyzer_free(a);
}

TEST(analyze_pt_stems_and_drops_stop_words) {
  ar_analyzer *a;
  ASSERT_EQ_INT(ar_analyzer_new("pt", 0, &a, NULL), AR_OK);
  struct terms t1, t2;
  /* plural and singular meet */
  an(a, "dispositivos", &t1);
  an(a, "dispositivo", &t2);
  ASSERT_STREQ(t1.buf, t2.buf);
  an(a, "gradientes", &t1);
  an(a, "gradiente", &t2);
  ASSERT_STREQ(t1.buf, t2.buf);
  /* function words and spoken fillers go; topic words stay */
  an(a, "Quais são os dispositivos visíveis para o TensorFlow, né?", &t1);
  ASSERT_EQ_INT(t1.n, 3);
  an(a, "de da do não nao é e a gente", &t1);
  ASSERT_EQ_INT(t1.n, 0);
  ar_analyzer_free(a);
}

TEST(analyze_en_stems) {
  ar_analyzer *a;
  ASSERT_EQ_INT(ar_analyzer_new("en", 0, &a, NULL), AR_OK);
  struct terms t1, t2;
  an(a, "The layers are running", &t1);
  ASSERT_STREQ(t1.buf, "layer run");
  an(a, "Layer RUNS", &t2);
  ASSERT_STREQ(t2.buf, "layer run");
  ar_analyzer_free(a);
  ASSERT(ar_analyzer_new("xx", 0, &a, NULL) == AR_ERR_INVALID);
}

TEST(analyze_splits_and_reports_offsets) {
  ar_analyzer *a;
  ASSERT_EQ_INT(ar_analyzer_new("en", AR_AN_NOSTEM, &a, NULL), AR_OK);
  struct terms t;
  const char *s = "tf.data(prefetch)-GPU:0 \"quoted\" x*y";
  an(a, s, &t);
  ASSERT_STREQ(t.buf, "tf data prefetch gpu 0 quoted x y");
  ASSERT_EQ_INT(t.starts[2], 8);
  ASSERT_EQ_INT(t.ends[2], 16);
  /* invalid UTF-8 bytes separate words and never reach a term */
  an(a, "abc\xFF\xFE" "def\xC3", &t);
  ASSERT_STREQ(t.buf, "abc def");
  /* a 'word' longer than 128 code points (a hash, base64) is not indexed */
  char big[400];
  memset(big, 'a', 300);
  strcpy(big + 300, " word");
  an(a, big, &t);
  ASSERT_STREQ(t.buf, "word");
  ar_analyzer_free(a);
}

TEST(analyze_variants_keep_what_they_say) {
  ar_analyzer *a;
  struct terms t;
  ASSERT_EQ_INT(ar_analyzer_new("pt", AR_AN_NOSTOP | AR_AN_NOSTEM, &a, NULL), AR_OK);
  an(a, "Os Dispositivos", &t);
  ASSERT_STREQ(t.buf, "os dispositivos");
  ar_analyzer_free(a);
  ASSERT_EQ_INT(ar_analyzer_new("pt", AR_AN_NOSTEM | AR_AN_KEEPACCENT, &a, NULL), AR_OK);
  an(a, "Ação", &t);
  ASSERT_STREQ(t.buf, "ação");
  ar_analyzer_free(a);
}

TEST(analyze_pt_typed_without_accents_meets_accented) {
  /* students often type without accents: both spellings must reach the same term, and the
   * Portuguese suffix rules must still conflate singular and plural */
  ar_analyzer *a;
  ASSERT_EQ_INT(ar_analyzer_new("pt", 0, &a, NULL), AR_OK);
  static const char *const pairs[][2] = {
    {"retropropagação", "retropropagacao"}, {"transformações", "transformacoes"},
    {"transformação", "transformações"}, {"informação", "INFORMACAO"}, {"multiplicação", "multiplicacao"},
    {"dimensões", "dimensoes"}, {"frequência", "frequencia"}, {"possível", "possivel"}, {"álgebra", "algebra"},
    {"cálculo", "calculo"}};
  for (size_t i = 0; i < AR_ARRAY_LEN(pairs); i++) {
    struct terms t1, t2;
    an(a, pairs[i][0], &t1);
    an(a, pairs[i][1], &t2);
    ASSERT_MSG(t1.n == 1 && !strcmp(t1.buf, t2.buf), "%s -> %s, %s -> %s", pairs[i][0], t1.buf, pairs[i][1], t2.buf);
  }
  ar_analyzer_free(a);
}

TEST(analyze_pt_light_stemmer_keeps_words_apart) {
  /* Portuguese uses the light stemmer (stem_pt.c): number and gender meet, but words Snowball
   * merged on 3b1b-pt-dev stay apart ("camada" vs "cama"), and derivation
   * ("derivar" vs "derivada") is not undone. */
  ar_analyzer *a;
  ASSERT_EQ_INT(ar_analyzer_new("pt", 0, &a, NULL), AR_OK);
  static const char *const same[][2] = {
    {"camadas", "camada"}, {"redes", "rede"}, {"derivadas", "derivado"}, {"vetores", "vetor"},
    {"ações", "ação"}, {"neurais", "neural"}, {"níveis", "nível"}, {"nuvens", "nuvem"}, {"vezes", "vez"}};
  static const char *const apart[][2] = {{"camada", "cama"}, {"derivar", "derivada"}, {"cálculo", "calcular"}};
  struct terms t1, t2;
  for (size_t i = 0; i < AR_ARRAY_LEN(same); i++) {
    an(a, same[i][0], &t1);
    an(a, same[i][1], &t2);
    ASSERT_MSG(t1.n == 1 && !strcmp(t1.buf, t2.buf), "%s -> %s, %s -> %s", same[i][0], t1.buf, same[i][1], t2.buf);
  }
  for (size_t i = 0; i < AR_ARRAY_LEN(apart); i++) {
    an(a, apart[i][0], &t1);
    an(a, apart[i][1], &t2);
    ASSERT_MSG(strcmp(t1.buf, t2.buf) != 0, "%s and %s both -> %s", apart[i][0], apart[i][1], t1.buf);
  }
  /* short words and acronyms are kept as folded */
  an(a, "GPU", &t1);
  ASSERT_STREQ(t1.buf, "gpu");
  ar_analyzer_free(a);
  /* the bench's Snowball variant is still there, and does merge camada/cama */
  ASSERT_EQ_INT(ar_analyzer_new("pt", AR_AN_SNOWBALL, &a, NULL), AR_OK);
  an(a, "camada", &t1);
  an(a, "cama", &t2);
  ASSERT_STREQ(t1.buf, t2.buf);
  ar_analyzer_free(a);
}
