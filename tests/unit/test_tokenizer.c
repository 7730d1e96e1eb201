/* test_tokenizer.c - tokenizer API contract, load errors, corrupt-file fuzzing, OOM, threads.
 * Id parity with the references lives in tests/integration/test_tokenizer.py; these tests check the
 * protocol (truncation, counting, flags) against the tokenizer's own untruncated output. */
#include "test.h"
#include "core/util.h"
#include "tokenizer/tok_internal.h"
#include "charsmap_build.h"
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

/* A small real model trained once per run: tests/tools/make_tokenizer.py (spm_train, cached in /tmp). */
static const char *fixture(void) {
  static char dir[600];
  static int state;  /* 0 not tried, 1 ok, -1 failed */
  if (state) return state > 0 ? dir : NULL;
  state = -1;
  const char *data = test_data_dir();
  if (!data) return NULL;
  const char *root = getenv("AULARAG_ROOT");
  if (!root || !*root) root = ".";
  static char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", test_tmpdir());
  snprintf(dir, sizeof dir, "%s/model", tmp);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 '%s/tests/tools/cue_lines.py' '%s/transcripts-pt-3b1b' 2>/dev/null | head -n 20000 > '%s/text.txt' && "
           "/usr/bin/python3 '%s/tests/tools/make_tokenizer.py' --text '%s/text.txt' --vocab 500 --out '%s'",
           root, data, tmp, root, tmp, dir);
  if (system(cmd) != 0) { fprintf(stderr, "  fixture: make_tokenizer.py failed\n"); return NULL; }
  state = 1;
  return dir;
}

static ar_tokenizer *load_or_null(const char *path) {
  ar_tokenizer *t = NULL;
  ar_error err = {0};
  if (ar_tokenizer_load(path, &t, &err) != AR_OK) { fprintf(stderr, "  load %s: %s\n", path, err.msg); return NULL; }
  return t;
}

static char *file_in(const char *dir, const char *name) {
  static char p[3][700];
  static int k;
  k = (k + 1) % 3;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

TEST(tokenizer_load_dir_prefers_json) {
  const char *d = fixture();
  ASSERT(d);
  ar_tokenizer *a = load_or_null(d), *b = load_or_null(file_in(d, "sentencepiece.bpe.model"));
  ASSERT(a && b);
  ASSERT_EQ_INT(a->hf, 1);
  ASSERT_EQ_INT(b->hf, 0);
  /* 500 spm pieces -> <s> <pad> </s> <unk> + 497 + <mask> */
  ASSERT_EQ_INT(ar_tokenizer_vocab_size(a), 502);
  ASSERT_EQ_INT(ar_tokenizer_vocab_size(b), 502);
  /* the JSON scores (python repr of the model's float32) parse to exactly the .model's values */
  for (int i = 4; i < 501; i++) ASSERT_MSG(a->score[i] == b->score[i], "id %d: %.17g vs %.17g", i, a->score[i], b->score[i]);
  ar_tokenizer_free(a);
  ar_tokenizer_free(b);
}

TEST(tokenizer_encode_protocol) {
  const char *d = fixture();
  ASSERT(d);
  const char *paths[2] = {d, file_in(d, "sentencepiece.bpe.model")};
  const char *text = "Então, o que são redes neurais? Vamos ver   isso <mask> agora.";
  for (int m = 0; m < 2; m++) {
    ar_tokenizer *t = load_or_null(paths[m]);
    ASSERT(t);
    int32_t full[256], ids[256], raw[256];
    int n = ar_tokenizer_encode(t, text, strlen(text), full, 256, AR_TOK_ADD_SPECIAL);
    ASSERT(n > 6);
    ASSERT_EQ_INT(full[0], 0);
    ASSERT_EQ_INT(full[n - 1], 2);
    ASSERT_EQ_INT(ar_tokenizer_count(t, text, strlen(text), AR_TOK_ADD_SPECIAL), n);
    ASSERT_EQ_INT(ar_tokenizer_count(t, text, strlen(text), 0), n - 2);
    int nr = ar_tokenizer_encode(t, text, strlen(text), raw, 256, 0);
    ASSERT_EQ_INT(nr, n - 2);
    ASSERT(!memcmp(raw, full + 1, (size_t)nr * sizeof *raw));
    /* too small without TRUNCATE: -(needed) */
    ASSERT_EQ_INT(ar_tokenizer_encode(t, text, strlen(text), ids, n - 1, AR_TOK_ADD_SPECIAL), -n);
    ASSERT_EQ_INT(ar_tokenizer_encode(t, text, strlen(text), ids, n, AR_TOK_ADD_SPECIAL), n);
    ASSERT(!memcmp(ids, full, (size_t)n * sizeof *ids));
    /* TRUNCATE keeps the first k-1 ids and </s> last */
    for (int k = 2; k < n; k++) {
      memset(ids, 0x7f, sizeof ids);
      ASSERT_EQ_INT(ar_tokenizer_encode(t, text, strlen(text), ids, k, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE), k);
      ASSERT(!memcmp(ids, full, (size_t)(k - 1) * sizeof *ids));
      ASSERT_EQ_INT(ids[k - 1], 2);
      ASSERT_EQ_INT(ids[k], 0x7f7f7f7f);  /* nothing written past n_max */
    }
    ASSERT_EQ_INT(ar_tokenizer_encode(t, text, strlen(text), ids, 1, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE), 1);
    ASSERT_EQ_INT(ids[0], 0);
    ASSERT_EQ_INT(ar_tokenizer_encode(t, text, strlen(text), ids, 0, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE), 0);
    ASSERT_EQ_INT(ar_tokenizer_encode(t, text, strlen(text), ids, 3, AR_TOK_TRUNCATE), 3);
    ASSERT(!memcmp(ids, raw, 3 * sizeof *ids));
    /* empty / NULL text: just the specials (HF gives [0, 2]) */
    ASSERT_EQ_INT(ar_tokenizer_encode(t, NULL, 0, ids, 8, AR_TOK_ADD_SPECIAL), 2);
    ASSERT_EQ_INT(ids[0] * 10 + ids[1], 2);
    ASSERT_EQ_INT(ar_tokenizer_count(t, "   ", 3, AR_TOK_ADD_SPECIAL), 2);
    ASSERT_EQ_INT(ar_tokenizer_encode(t, NULL, 5, ids, 8, 0), INT_MIN);
    /* the length is honoured (no reading up to a NUL) */
    ASSERT_EQ_INT(ar_tokenizer_count(t, text, 5, 0), ar_tokenizer_count(t, "Ent\xc3\xa3", 5, 0));
    ASSERT(ar_tokenizer_count(t, text, 5, 0) != ar_tokenizer_count(t, text, 6, 0) ||
           ar_tokenizer_encode(t, text, 5, ids, 8, 0) != ar_tokenizer_encode(t, text, 6, raw, 8, 0) ||
           memcmp(ids, raw, 8) != 0);
    ar_tokenizer_free(t);
  }
}

TEST(tokenizer_truncate_512) {
  const char *d = fixture();
  ASSERT(d);
  ar_tokenizer *t = load_or_null(d);
  ASSERT(t);
  ar_buf b = {0};
  for (int i = 0; i < 400; i++) ar_buf_printf(&b, "palavra%d e outra coisa, ", i);
  int n = ar_tokenizer_count(t, b.p, b.n, AR_TOK_ADD_SPECIAL);
  ASSERT(n > 1500);
  int32_t *full = malloc((size_t)n * sizeof *full), ids[512];
  ASSERT(full);
  ASSERT_EQ_INT(ar_tokenizer_encode(t, b.p, b.n, full, n, AR_TOK_ADD_SPECIAL), n);
  ASSERT_EQ_INT(ar_tokenizer_encode(t, b.p, b.n, ids, 512, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE), 512);
  ASSERT(!memcmp(ids, full, 511 * sizeof *ids));
  ASSERT_EQ_INT(ids[511], 2);
  free(full);
  ar_buf_free(&b);
  ar_tokenizer_free(t);
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(p, 1, n, f);
  fclose(f);
}

static ar_status load_status(const char *path, ar_error *err) {
  ar_tokenizer *t = NULL;
  ar_status s = ar_tokenizer_load(path, &t, err);
  ar_tokenizer_free(t);
  return s;
}

TEST(tokenizer_load_errors) {
  ar_error err = {0};
  const char *tmp = test_tmpdir();
  ASSERT_EQ_INT(load_status("/nonexistent/tok", &err), AR_ERR_IO);
  ASSERT(strstr(err.msg, "/nonexistent/tok"));
  ASSERT_EQ_INT(load_status(tmp, &err), AR_ERR_IO);
  ASSERT(strstr(err.msg, "neither tokenizer.json nor sentencepiece.bpe.model"));
  struct { const char *json, *needle; } cases[] = {
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}", "model.type \"BPE\" is not supported"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"normalizer\":{\"type\":\"NFD\"}}",
     "normalizer.type \"NFD\" is not supported"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"normalizer\":{\"type\":\"Sequence\","
     "\"normalizers\":[{\"type\":\"Lowercase\"}]}}", "normalizer.normalizers[0].type \"Lowercase\""},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}",
     "pre_tokenizer.type \"ByteLevel\" is not supported"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"normalizer\":{\"type\":\"Replace\","
     "\"pattern\":{\"Regex\":\"\\\\s+\"},\"content\":\" \"}}", "Regex \"\\s+\" is not supported"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"normalizer\":{\"type\":\"Precompiled\","
     "\"precompiled_charsmap\":\"!!!\"}}", "invalid base64"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"normalizer\":{\"type\":\"Precompiled\","
     "\"precompiled_charsmap\":\"AAEAAA==\"}}", "precompiled_charsmap"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":7,\"vocab\":[[\"a\",-1.0]]}}", "model.unk_id"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",\"x\"]]}}", "model.vocab[0]"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]],\"byte_fallback\":true}}", "byte_fallback"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"added_tokens\":[{\"id\":99,\"content\":\"\"}]}",
     "added_tokens[0].content"},
    {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0]]},\"post_processor\":{\"type\":\"TemplateProcessing\","
     "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}}],\"special_tokens\":{}}}", "post_processor.single[0]"},
    {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [", "byte"},
    {"[1,2]", "top"},
  };
  char path[600];
  snprintf(path, sizeof path, "%s/tokenizer.json", tmp);
  for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
    write_file(path, cases[i].json, strlen(cases[i].json));
    memset(&err, 0, sizeof err);
    ar_status s = load_status(path, &err);
    ASSERT_MSG(s != AR_OK, "case %zu loaded", i);
    ASSERT_MSG(strstr(err.msg, cases[i].needle) && strstr(err.msg, "tokenizer.json"), "case %zu: %s", i, err.msg);
  }
  /* a minimal valid file loads, and unknown characters become <unk> (fused) */
  const char *ok = "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"\\u2581a\",-1.0],[\"a\",-2.0]]},"
                   "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"add_prefix_space\":true}}";
  write_file(path, ok, strlen(ok));
  ar_tokenizer *t = load_or_null(path);
  ASSERT(t);
  int32_t ids[8];
  ASSERT_EQ_INT(ar_tokenizer_encode(t, "aaxyz", 5, ids, 8, AR_TOK_ADD_SPECIAL), 3);  /* no template: none added */
  ASSERT_EQ_INT(ids[0], 1);
  ASSERT_EQ_INT(ids[1], 2);
  ASSERT_EQ_INT(ids[2], 0);
  ar_tokenizer_free(t);
  /* sentencepiece files */
  snprintf(path, sizeof path, "%s/x.model", tmp);
  write_file(path, "", 0);
  ASSERT_EQ_INT(load_status(path, &err), AR_ERR_MODEL);
  ASSERT(strstr(err.msg, "x.model: empty file"));
  write_file(path, "\x0a\xff\xff\xff\x0f", 5);
  ASSERT_EQ_INT(load_status(path, &err), AR_ERR_MODEL);
  ASSERT(strstr(err.msg, "malformed model file at byte 0"));
  /* a BPE-type model: pieces <unk> <s> </s> a, trainer_spec.model_type=2 */
  const char bpe[] = "\x0a\x09\x0a\x05<unk>\x18\x02" "\x0a\x07\x0a\x03<s>\x18\x03" "\x0a\x08\x0a\x04</s>\x18\x03"
                     "\x0a\x08\x0a\x01" "a\x15\x00\x00\x80\xbf" "\x12\x02\x18\x02";
  write_file(path, bpe, sizeof bpe - 1);
  ASSERT_EQ_INT(load_status(path, &err), AR_ERR_MODEL);
  ASSERT_MSG(strstr(err.msg, "model_type is 2"), "%s", err.msg);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull; /* deterministic */
static uint64_t rnd(void) { return ar_rng_next(&rng_state); }

static const char *probe[] = {"Olá mundo, ação e reação!", "  <mask> x </s>", "ＡＢＣ e\xcc\x81 \xf0\x9f\x91\x8d\t\x01",
                              "\xff\xfe bad", "a\xc2\x85" "b", ""};

/* Loads a mutated file; if it loads, every id it produces must be inside the vocabulary. */
static int fuzz_one(const char *path, const uint8_t *data, size_t n) {
  write_file(path, data, n);
  ar_tokenizer *t = NULL;
  ar_error err = {0};
  if (ar_tokenizer_load(path, &t, &err) != AR_OK) return err.msg[0] != 0;  /* errors must say something */
  int ok = 1;
  for (size_t i = 0; i < AR_ARRAY_LEN(probe); i++) {
    int32_t ids[256];
    int k = ar_tokenizer_encode(t, probe[i], strlen(probe[i]), ids, 256, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE);
    if (k < 0) ok = 0;
    for (int j = 0; j < k; j++) if (ids[j] < 0 || ids[j] >= ar_tokenizer_vocab_size(t)) ok = 0;
  }
  ar_tokenizer_free(t);
  return ok;
}

static void fuzz_file(const char *src, const char *dst, int rounds, int *bad) {
  char *data;
  size_t n;
  ar_error err;
  if (ar_read_file(src, &data, &n, &err) != AR_OK) { (*bad)++; return; }
  uint8_t *m = malloc(n + 64);
  if (!m) { free(data); (*bad)++; return; }
  for (int r = 0; r < rounds; r++) {
    memcpy(m, data, n);
    size_t len = n;
    switch (r % 4) {
    case 0: len = (size_t)(rnd() % n); break;                                      /* truncation */
    case 1: for (int k = 0; k < 1 + (int)(rnd() % 8); k++) m[rnd() % n] ^= (uint8_t)(1 + rnd() % 255); break;
    case 2: { size_t at = rnd() % n; for (int k = 0; k < 16 && at + k < n; k++) m[at + k] = (uint8_t)rnd(); break; }
    case 3: for (int k = 0; k < 4; k++) m[n - 1 - rnd() % (n < 300000 ? n : 300000)] = (uint8_t)rnd(); break;
    }
    if (!fuzz_one(dst, m, len)) (*bad)++;
  }
  free(m);
  free(data);
}

TEST(tokenizer_fuzz_corrupt_files) {
  const char *d = fixture();
  ASSERT(d);
  const char *tmp = test_tmpdir();
  int bad = 0, rounds = test_slow() ? 3000 : 200;
  char dst[600];
  snprintf(dst, sizeof dst, "%s/m.model", tmp);
  fuzz_file(file_in(d, "sentencepiece.bpe.model"), dst, rounds, &bad);
  ASSERT_EQ_INT(bad, 0);
  snprintf(dst, sizeof dst, "%s/tokenizer.json", tmp);
  fuzz_file(file_in(d, "tokenizer.json"), dst, rounds / 4, &bad);
  ASSERT_EQ_INT(bad, 0);
}

/* Random bytes inside the charsmap's double array: lookups must stay in bounds. */
TEST(tokenizer_fuzz_charsmap) {
  const char *d = fixture();
  ASSERT(d);
  ar_tokenizer *t = load_or_null(file_in(d, "sentencepiece.bpe.model"));
  ASSERT(t && t->has_cm);
  size_t n = 4 + (size_t)t->cm.n_units * 4 + t->cm.repl_len;
  uint8_t *blob = malloc(n);
  ASSERT(blob);
  uint32_t tb = t->cm.n_units * 4;
  memcpy(blob, &tb, 4);
  memcpy(blob + 4, t->cm.units, tb);
  memcpy(blob + 4 + tb, t->cm.repl, t->cm.repl_len);
  int rounds = test_slow() ? 2000 : 200;
  for (int r = 0; r < rounds; r++) {
    tok_charsmap cm;
    uint8_t *m = malloc(n);
    ASSERT(m);
    memcpy(m, blob, n);
    for (int k = 0; k < 64; k++) m[4 + rnd() % tb] = (uint8_t)rnd();
    ASSERT(tok_charsmap_init(&cm, m, n, "fuzz", NULL) == AR_OK);
    uint32_t lens[32], vals[32];
    for (int k = 0; k < 200; k++) {
      uint8_t key[8];
      for (int j = 0; j < 8; j++) key[j] = (uint8_t)rnd();
      int c = tok_charsmap_search(&cm, key, 8, lens, vals, 32);
      for (int j = 0; j < c && j < 32; j++) ASSERT(vals[j] < cm.repl_len && lens[j] <= 8);
    }
    tok_charsmap_free(&cm);
    free(m);
  }
  free(blob);
  ar_tokenizer_free(t);
}

TEST(tokenizer_out_of_memory) {
  const char *d = fixture();
  ASSERT(d);
  const char *paths[2] = {file_in(d, "tokenizer.json"), file_in(d, "sentencepiece.bpe.model")};
  for (int m = 0; m < 2; m++) {
    int loaded = 0;
    for (long k = 0; k < 400 && !loaded; k++) {
      ar_tokenizer *t = NULL;
      ar_error err = {0};
      ar_alloc_fail_after(k);
      ar_status s = ar_tokenizer_load(paths[m], &t, &err);
      ar_alloc_fail_after(-1);
      if (s == AR_OK) { loaded = 1; ar_tokenizer_free(t); }
      else ASSERT_MSG(s == AR_ERR_NOMEM || s == AR_ERR_IO, "k=%ld: %s", k, err.msg);
    }
    ASSERT(loaded);
    ar_tokenizer *t = load_or_null(paths[m]);
    ASSERT(t);
    /* long enough to outgrow the on-stack scratch, so the allocations under test happen */
    ar_buf b = {0};
    for (int i = 0; i < 300; i++) ar_buf_puts(&b, "  Olá <mask> mundo ＡＢＣ \xff e\xcc\x81 palavra");
    for (int i = 0; i < 3000; i++) ar_buf_puts(&b, "x");
    static int32_t ids[20000];
    int want = ar_tokenizer_encode(t, b.p, b.n, ids, 20000, AR_TOK_ADD_SPECIAL), fails = 0;
    ASSERT(want > 0);
    for (long k = 0; k < 30; k++) {
      ar_alloc_fail_after(k);
      int got = ar_tokenizer_encode(t, b.p, b.n, ids, 20000, AR_TOK_ADD_SPECIAL);
      ar_alloc_fail_after(-1);
      ASSERT(got == want || got == INT_MIN);
      fails += got == INT_MIN;
    }
    ASSERT(fails > 0);
    ar_buf_free(&b);
    ar_tokenizer_free(t);
  }
}

typedef struct { const ar_tokenizer *t; const char *const *lines; int n; long sum; } thr_arg;
static void *thr_main(void *p) {
  thr_arg *a = p;
  int32_t ids[512];
  for (int r = 0; r < 20; r++)
    for (int i = 0; i < a->n; i++) {
      int k = ar_tokenizer_encode(a->t, a->lines[i], strlen(a->lines[i]), ids, 512, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE);
      for (int j = 0; j < k; j++) a->sum += ids[j] * (j + 1);
    }
  return NULL;
}

TEST(tokenizer_shared_between_threads) {
  const char *d = fixture();
  ASSERT(d);
  ar_tokenizer *t = load_or_null(d);
  ASSERT(t);
  static const char *lines[] = {"O que é uma rede neural?", "Backpropagation, gradiente e ＡＢＣ.", "<s> x </s>",
                                "e\xcc\x81\xcc\x81 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "linha\tcom\ttabs  e   espaços"};
  thr_arg one = {t, lines, 5, 0};
  thr_main(&one);
  pthread_t th[4];
  thr_arg a[4];
  for (int i = 0; i < 4; i++) { a[i] = (thr_arg){t, lines, 5, 0}; pthread_create(&th[i], NULL, thr_main, &a[i]); }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) ASSERT_EQ_INT(a[i].sum, one.sum);
  ar_tokenizer_free(t);
}

/* The vocabulary's fast number parser must agree with strtod bit for bit. */
TEST(tokenizer_json_number_exact) {
  char buf[64];
  const char *fmts[] = {"%.17g", "%.16g", "%.9g", "%.15g", "%.6f", "%.20f"};
  for (int i = 0; i < (test_slow() ? 2000000 : 200000); i++) {
    uint32_t bits = (uint32_t)rnd();
    float f;
    memcpy(&f, &bits, 4);
    double d = (i & 1) ? (double)f : (double)(int32_t)bits / (double)(1 + (rnd() % 1000000));
    if (!isfinite(d)) continue;
    snprintf(buf, sizeof buf, fmts[i % 6], d);
    char *e1, *e2;
    double a = tok_json_number(buf, buf + strlen(buf), &e1), b = strtod(buf, &e2);
    ASSERT_MSG(memcmp(&a, &b, sizeof a) == 0 && e1 == e2, "%s: %.17g vs %.17g", buf, a, b);
  }
}

/* issue 12 finding 1: the Precompiled normalizer's ASCII fast path reserved 64 bytes + 3 per input byte,
 * then copied the byte's replacement (up to 255 bytes): "a" -> 200 x "b" on 16 x "a" overflowed the
 * scratch buffer (ASan here; malloc() abort in the release build). A replacement of 256+ bytes was
 * dropped instead of applied. The expected ids: the same tokenizer on the replaced text written out. */
TEST(tokenizer_precompiled_long_ascii_replacement) {
  char b200[201], b300[301];
  memset(b200, 'b', 200); b200[200] = 0;
  memset(b300, 'b', 300); b300[300] = 0;
  cm_entry e[] = {{(const uint8_t *)"a", 1, (const uint8_t *)b200, 200},
                  {(const uint8_t *)"c", 1, (const uint8_t *)b300, 300}};
  uint8_t *blob;
  size_t blen;
  ASSERT(cm_build(e, 2, &blob, &blen) == 0);
  char *b64 = cm_base64(blob, blen);
  free(blob);
  ASSERT(b64);
  size_t jl = strlen(b64) + 512;
  char *json = malloc(jl);
  ASSERT(json);
  snprintf(json, jl, "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"b\",-2.0],"
           "[\"bbb\",-1.0]]},\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"%s\"},"
           "\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"}}", b64);
  free(b64);
  char path[600];
  snprintf(path, sizeof path, "%s/tokenizer.json", test_tmpdir());
  write_file(path, json, strlen(json));
  free(json);
  ar_tokenizer *t = load_or_null(path);
  ASSERT(t);
  char in[64], want[4096];
  int32_t got_ids[2048], want_ids[2048];
  struct { int ch, rep, times; } cases[] = {{'a', 200, 16}, {'a', 200, 1}, {'c', 300, 1}, {'c', 300, 5}};
  for (size_t k = 0; k < AR_ARRAY_LEN(cases); k++) {
    memset(in, cases[k].ch, (size_t)cases[k].times);
    size_t wn = (size_t)cases[k].rep * (size_t)cases[k].times;
    memset(want, 'b', wn);
    int n = ar_tokenizer_encode(t, in, (size_t)cases[k].times, got_ids, 2048, 0);
    int m = ar_tokenizer_encode(t, want, wn, want_ids, 2048, 0);
    ASSERT_MSG(m > 0 && n == m, "case %zu: %d ids, expected %d", k, n, m);
    ASSERT(!memcmp(got_ids, want_ids, (size_t)n * sizeof *got_ids));
  }
  ar_tokenizer_free(t);
}

/* Found by tests/fuzz/fuzz_tokenizer_json.c: a tokenizer.json that ends right after "vocab": (and
 * whitespace) made the vocab scanner read one byte past the buffer. The bytes sit in a block of exactly
 * their size so ASan sees the read. */
TEST(tokenizer_json_ends_after_vocab_key) {
  const char *docs[] = {"{\"model\":{\"type\":\"Unigram\",\"vocab\":\r\r\r", "{\"model\":{\"vocab\":", "{\"model\":"};
  for (size_t i = 0; i < AR_ARRAY_LEN(docs); i++) {
    size_t n = strlen(docs[i]);
    char *b = malloc(n);
    ASSERT(b);
    memcpy(b, docs[i], n);
    ar_tokenizer *t = NULL;
    ar_error err = {0};
    ar_status s = tok_load_buffer("tokenizer.json", b, n, &t, &err);
    free(b);
    ar_tokenizer_free(t);
    ASSERT_MSG(s != AR_OK && strstr(err.msg, "tokenizer.json"), "case %zu: %s", i, err.msg);
  }
}
