/* test_segment.c - the segmenter: windows, overlap, cap, splitting of over-long cues, validation. */
#include "test.h"
#include "test_segment_check.h"
#include "core/util.h"

/* n cues of `dur` seconds each, back to back, text "w<i>a w<i>b ..." with `words` words. */
static void make_cues(ar_cues *c, size_t n, double dur, int words) {
  c->v = calloc(n, sizeof *c->v);
  c->n = c->cap = n;
  for (size_t i = 0; i < n; i++) {
    ar_buf b = {0};
    for (int k = 0; k < words; k++) ar_buf_printf(&b, "%sw%zu%c", k ? " " : "", i, 'a' + k % 26);
    c->v[i] = (ar_cue){(double)i * dur, (double)(i + 1) * dur, ar_buf_steal(&b), (int)i + 1};
  }
}

TEST(segment_defaults_and_validation) {
  ar_segment_params p = ar_segment_default_params();
  ASSERT_NEAR(p.window_s, 120, 0);
  ASSERT_NEAR(p.overlap_s, 30, 0);
  ASSERT_EQ_INT(p.max_units, 350);
  ASSERT(p.count == NULL);
  ar_cues c;
  make_cues(&c, 3, 5, 2);
  ar_segments s;
  ar_error e;
  struct { double w, o; int cap; } bad[] = {{0, 0, 10}, {-1, 0, 10}, {NAN, 0, 10}, {INFINITY, 0, 10}, {10, 10, 10},
                                            {10, -1, 10}, {10, NAN, 10}, {10, 11, 10}, {10, 2, 0}, {10, 2, -5}};
  for (size_t i = 0; i < AR_ARRAY_LEN(bad); i++) {
    ar_segment_params q = p;
    q.window_s = bad[i].w;
    q.overlap_s = bad[i].o;
    q.max_units = bad[i].cap;
    ASSERT_MSG(ar_segment_cues(&c, &q, &s, &e) == AR_ERR_INVALID, "case %zu accepted", i);
    ASSERT_EQ_INT(s.n, 0);
  }
  ASSERT_EQ_INT(ar_segment_cues(&c, NULL, &s, &e), AR_OK);   /* NULL params = defaults */
  ASSERT_EQ_INT(s.n, 1);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

TEST(segment_window_and_overlap_exact) {
  /* 100 cues of 5 s: windows of 24 cues (120 s); the next starts at end - 30 s. */
  ar_cues c;
  make_cues(&c, 100, 5, 3);
  ar_segment_params p = ar_segment_default_params();
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  ASSERT_NEAR(s.v[0].start_s, 0, 0);
  ASSERT_NEAR(s.v[0].end_s, 120, 0);
  ASSERT_EQ_INT(s.v[0].n_cues, 24);
  ASSERT_NEAR(s.v[1].start_s, 90, 0);
  ASSERT_NEAR(s.v[1].end_s, 210, 0);
  ASSERT_EQ_INT(s.v[1].first_cue, 18);
  /* (500 - 120) / 90 = 4.2 more windows -> 6 in all, the last one shorter */
  ASSERT_EQ_INT(s.n, 6);
  ASSERT_NEAR(s.v[5].end_s, 500, 0);
  ASSERT_STREQ(s.v[0].text + strlen(s.v[0].text) - 14, "w23a w23b w23c");
  size_t near;
  const char *why = check_unsplit_segments(&c, &s, &p, &near);
  ASSERT_MSG(why == NULL, "%s", why);
  ASSERT_EQ_INT(near, s.n - 1);
  ar_segments_free(&s);
  /* overlap 0: a partition */
  p.overlap_s = 0;
  p.window_s = 50;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  ASSERT_EQ_INT(s.n, 10);
  for (size_t i = 1; i < s.n; i++) ASSERT_NEAR(s.v[i].start_s, s.v[i - 1].end_s, 0);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

TEST(segment_word_cap) {
  /* 7 words per cue, cap 20 words: 2 cues per segment even though the window would take more. */
  ar_cues c;
  make_cues(&c, 30, 2, 7);
  ar_segment_params p = ar_segment_default_params();
  p.max_units = 20;
  p.overlap_s = 3;
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  for (size_t i = 0; i < s.n; i++) {
    int words = 1;
    for (const char *t = s.v[i].text; *t; t++) words += *t == ' ';
    ASSERT_MSG(words <= 20, "segment %zu has %d words", i, words);
    ASSERT_EQ_INT(s.v[i].n_cues, 2);
  }
  size_t near;
  const char *why = check_unsplit_segments(&c, &s, &p, &near);
  ASSERT_MSG(why == NULL, "%s", why);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

TEST(segment_splits_overlong_cue_with_interpolated_times) {
  /* One 25-word cue from 10 s to 35 s, cap 10 words: three pieces of 10, 10, 5 words. Each word is
   * "wNNx" or similar; times follow the code point position. */
  ar_cues c = {0};
  c.v = calloc(2, sizeof *c.v);
  c.n = c.cap = 2;
  ar_buf b = {0};
  for (int k = 0; k < 25; k++) ar_buf_printf(&b, "%sé%02d", k ? " " : "", k);   /* 3 code points per word */
  c.v[0] = (ar_cue){10, 35, ar_buf_steal(&b), 1};
  c.v[1] = (ar_cue){35, 36, ar_strdup("fim"), 5};
  ar_segment_params p = ar_segment_default_params();
  p.max_units = 10;
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  ASSERT_EQ_INT(s.n, 3);   /* 10 | 10 | 5 + "fim" */
  ASSERT_STREQ(s.v[0].text, "é00 é01 é02 é03 é04 é05 é06 é07 é08 é09");
  ASSERT_STREQ(s.v[2].text, "é20 é21 é22 é23 é24 fim");
  /* the cue has 25*3 + 24 = 99 code points; piece 2 starts at code point 40, ends at 79 */
  ASSERT_NEAR(s.v[0].start_s, 10, 1e-9);
  ASSERT_NEAR(s.v[0].end_s, 10 + 25.0 * 39 / 99, 1e-9);
  ASSERT_NEAR(s.v[1].start_s, 10 + 25.0 * 40 / 99, 1e-9);
  ASSERT_NEAR(s.v[1].end_s, 10 + 25.0 * 79 / 99, 1e-9);
  ASSERT_NEAR(s.v[2].start_s, 10 + 25.0 * 80 / 99, 1e-9);
  ASSERT_NEAR(s.v[2].end_s, 36, 1e-9);
  ASSERT_EQ_INT(s.v[2].first_cue, 2);
  ASSERT_EQ_INT(s.v[2].n_cues, 2);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

/* A stand-in for the encoder's token count: 2 specials + ceil(bytes / 4) over the whole text, so
 * counts are not additive over joined pieces (the segmenter must check the joined text). */
static int count_fake(const char *t, size_t n, void *ud) {
  (void)t;
  int *calls = ud;
  if (calls) (*calls)++;
  return 2 + (int)((n + 3) / 4);
}

static int count_of(const char *t) { return count_fake(t, strlen(t), NULL); }

TEST(segment_callback_cap_and_long_word) {
  ar_cues c = {0};
  c.v = calloc(40, sizeof *c.v);
  c.n = c.cap = 40;
  for (size_t i = 0; i < 40; i++) {
    ar_buf b = {0};
    if (i == 20) {   /* one "word" of 600 two-byte code points: must be cut at code points */
      for (int k = 0; k < 600; k++) ar_buf_puts(&b, "ã");
    } else {
      ar_buf_printf(&b, "cue %zu has some words in it", i);
    }
    c.v[i] = (ar_cue){(double)i * 3, (double)i * 3 + 3, ar_buf_steal(&b), (int)i};
  }
  int calls = 0;
  ar_segment_params p = ar_segment_default_params();
  p.max_units = 40;
  p.count = count_fake;
  p.count_user_data = &calls;
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  size_t long_bytes = 0;
  for (size_t i = 0; i < s.n; i++) {
    ASSERT_MSG(count_of(s.v[i].text) <= 40, "segment %zu counts %d", i, count_of(s.v[i].text));
    ASSERT_MSG(ar_utf8_clip(s.v[i].text, strlen(s.v[i].text)) == strlen(s.v[i].text), "segment %zu cut a code point", i);
    ASSERT(s.v[i].start_s <= s.v[i].end_s);
    if (i) ASSERT(s.v[i].start_s >= s.v[i - 1].start_s);
    const char *a = strstr(s.v[i].text, "ã");
    if (a && s.v[i].n_cues == 1) long_bytes += strlen(s.v[i].text);
  }
  ASSERT_EQ_INT(long_bytes, 1200);   /* all 600 code points, each in exactly one single-piece segment */
  for (size_t i = 0; i < 40; i++) {
    if (i == 20) continue;
    int found = 0;
    for (size_t k = 0; k < s.n && !found; k++) found = strstr(s.v[k].text, c.v[i].text) != NULL;
    ASSERT_MSG(found, "cue %zu lost", i);
  }
  ar_segments_free(&s);
  /* a cap no text fits */
  p.max_units = 2;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_ERR_INVALID);
  ASSERT_MSG(strstr(e.msg, "empty text already counts 2") != NULL, "%s", e.msg);
  ar_cues_free(&c);
}

TEST(segment_never_zero_progress) {
  /* window 10, overlap 9: after [0..8] the overlap rule points at cue 1, but a 10 s cue follows;
   * the next segment must still reach past cue 8, so it is the long cue alone. */
  ar_cues c = {0};
  c.v = calloc(12, sizeof *c.v);
  c.n = c.cap = 12;
  for (size_t i = 0; i < 9; i++) c.v[i] = (ar_cue){(double)i, (double)i + 1, ar_strdup("x"), 0};
  c.v[9] = (ar_cue){9, 19, ar_strdup("longa"), 0};
  c.v[10] = (ar_cue){19, 20, ar_strdup("y"), 0};
  c.v[11] = (ar_cue){20, 40, ar_strdup("z"), 0};
  ar_segment_params p = ar_segment_default_params();
  p.window_s = 10;
  p.overlap_s = 9;
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  ASSERT_EQ_INT(s.n, 4);
  ASSERT_EQ_INT(s.v[0].n_cues, 9);
  ASSERT_EQ_INT(s.v[1].first_cue, 9);
  ASSERT_EQ_INT(s.v[1].n_cues, 1);   /* longa alone: with y it would span 11 s */
  ASSERT_EQ_INT(s.v[2].first_cue, 10);
  ASSERT_EQ_INT(s.v[3].first_cue, 11);
  size_t near;
  const char *why = check_unsplit_segments(&c, &s, &p, &near);
  ASSERT_MSG(why == NULL, "%s", why);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

TEST(segment_empty_input_and_blank_cues) {
  ar_cues c = {0};
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, NULL, &s, &e), AR_OK);
  ASSERT_EQ_INT(s.n, 0);
  ar_segments_free(&s);
  c.v = calloc(3, sizeof *c.v);
  c.n = c.cap = 3;
  c.v[0] = (ar_cue){0, 1, ar_strdup("  "), 0};
  c.v[1] = (ar_cue){1, 2, ar_strdup(" a "), 0};
  c.v[2] = (ar_cue){2, 1, ar_strdup("b"), 0};   /* end before start: rejected */
  ASSERT_EQ_INT(ar_segment_cues(&c, NULL, &s, &e), AR_ERR_INVALID);
  ASSERT_MSG(strstr(e.msg, "cue 2") != NULL, "%s", e.msg);
  c.v[2].end_s = 3;
  ASSERT_EQ_INT(ar_segment_cues(&c, NULL, &s, &e), AR_OK);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_STREQ(s.v[0].text, "a b");
  ASSERT_NEAR(s.v[0].start_s, 1, 0);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

TEST(segment_ten_megabyte_cue) {
  /* A 10 MB cue of words: split near-linearly, with words and with a counting callback. */
  size_t big = 10u << 20;
  ar_cues c = {0};
  c.v = calloc(1, sizeof *c.v);
  c.n = c.cap = 1;
  char *t = malloc(big + 1);
  ASSERT(t);
  for (size_t i = 0; i < big; i++) t[i] = (i % 8 == 7) ? ' ' : 'a' + (char)(i % 8);
  t[big - 1] = 'z';
  t[big] = 0;
  c.v[0] = (ar_cue){0, 3600, t, 1};
  double t0 = ar_now_s();
  ar_segments s;
  ar_error e;
  ar_segment_params p = ar_segment_default_params();
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  size_t words = big / 8;
  ASSERT_EQ_INT(s.n, (words + 349) / 350);
  ASSERT_NEAR(s.v[s.n - 1].end_s, 3600, 1e-9);
  ar_segments_free(&s);
  p.count = count_fake;
  p.count_user_data = NULL;
  p.max_units = 512;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  size_t total = 0;
  for (size_t i = 0; i < s.n; i++) {
    ASSERT(count_of(s.v[i].text) <= 512);
    total += strlen(s.v[i].text) + 1;
  }
  ASSERT_EQ_INT(total, big + 1);   /* pieces + the spaces between them = the whole text */
  ASSERT_MSG(ar_now_s() - t0 < 10 * test_time_scale(), "took %.1f s", ar_now_s() - t0);
  ar_segments_free(&s);
  ar_cues_free(&c);
}

TEST(segment_out_of_memory_paths) {
  ar_cues c;
  make_cues(&c, 50, 5, 3);
  ar_segment_params p = ar_segment_default_params();
  p.max_units = 2;   /* forces splits too */
  for (long k = 0; k < 500; k++) {
    ar_segments s;
    ar_error e;
    ar_alloc_fail_after(k);
    ar_status st = ar_segment_cues(&c, &p, &s, &e);
    ar_alloc_fail_after(-1);
    if (st == AR_OK) { ASSERT(s.n > 0); ar_segments_free(&s); ar_cues_free(&c); return; }
    ASSERT_MSG(st == AR_ERR_NOMEM, "k=%ld st=%d %s", k, st, e.msg);
    ASSERT_EQ_INT(s.n, 0);
  }
  ar_cues_free(&c);
  ASSERT_MSG(0, "never succeeded");
}

TEST(segment_split_cue_overlapping_next_cue_keeps_order) {
  /* Regression (found by the fuzz test): the last pieces of a split 0-100 s cue started after the
   * next cue (50 s), so segment starts went back in time. Piece starts are now non-decreasing. */
  ar_cues c = {0};
  c.v = calloc(2, sizeof *c.v);
  c.n = c.cap = 2;
  ar_buf b = {0};
  for (int k = 0; k < 30; k++) ar_buf_printf(&b, "%sp%02d", k ? " " : "", k);
  c.v[0] = (ar_cue){0, 100, ar_buf_steal(&b), 1};
  c.v[1] = (ar_cue){50, 60, ar_strdup("depois"), 5};
  ar_segment_params p = ar_segment_default_params();
  p.max_units = 10;
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  ASSERT_EQ_INT(s.n, 4);
  for (size_t i = 1; i < s.n; i++) ASSERT_MSG(s.v[i].start_s >= s.v[i - 1].start_s, "segment %zu starts before %zu", i, i - 1);
  for (size_t i = 0; i < s.n; i++) ASSERT(s.v[i].start_s <= s.v[i].end_s);
  ASSERT_STREQ(s.v[3].text, "depois");
  ar_segments_free(&s);
  ar_cues_free(&c);
}

/* Like a tokenizer, reads every byte it is given; user_data accumulates the bytes read. */
static int count_scan(const char *t, size_t n, void *ud) {
  size_t *read = ud, bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += (unsigned char)t[i] != 0;
  *read += n;
  return 2 + (int)((bytes + 3) / 4);
}

TEST(segment_long_unbroken_word_is_linear) {
  /* Regression: a 2 MB line without spaces made the counter read the whole rest of the word for
   * every piece (about 1000 x 2 MB). Now the bytes read stay a small multiple of the text. */
  size_t big = 2u << 20;
  ar_cues c = {0};
  c.v = calloc(1, sizeof *c.v);
  c.n = c.cap = 1;
  char *t = malloc(big + 1);
  ASSERT(t);
  memset(t, 'x', big);
  t[big] = 0;
  c.v[0] = (ar_cue){0, 10, t, 1};
  size_t read = 0;
  ar_segment_params p = ar_segment_default_params();
  p.count = count_scan;
  p.count_user_data = &read;
  p.max_units = 512;
  ar_segments s;
  ar_error e;
  ASSERT_EQ_INT(ar_segment_cues(&c, &p, &s, &e), AR_OK);
  size_t total = 0;
  for (size_t i = 0; i < s.n; i++) {
    size_t r0 = read;
    ASSERT(count_scan(s.v[i].text, strlen(s.v[i].text), &r0) <= 512);
    total += strlen(s.v[i].text);
  }
  ASSERT_EQ_INT(total, big);
  ASSERT_MSG(read < 40 * big, "the counter read %zu bytes for a %zu-byte text", read, big);
  ar_segments_free(&s);
  ar_cues_free(&c);
}
