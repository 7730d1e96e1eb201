/* test_transcript_fuzz.c - deterministic mutation fuzzing of the parsers and the segmenter: valid
 * VTT/SRT/JSON bytes are mutated a few thousand times; no crash (ASan/UBSan), and every result either
 * is a clean AR_ERR_PARSE naming the file, or cues/segments that keep the invariants. */
#include "test.h"
#include "core/util.h"

static uint32_t rng = 2463534242u;
static uint32_t next_rand(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

static const char *seeds[][2] = {
  {"f.vtt", "WEBVTT\nKind: captions\n\nNOTE x\n\n1\n00:00:01.000 --> 00:00:04.000 align:start\n<v A>Olá <c.x>mundo</c> &amp; "
            "tudo</v>\n\n00:04.000 --> 00:06.500\nsegunda\nlinha\n\n00:00:06.500 --> 00:00:09.000\n"
            "segunda<00:00:07.000><c> linha</c>\nterceira\n"},
  {"f.srt", "\xEF\xBB\xBF" "1\r\n00:00:00,000 --> 00:00:02,500\r\n<i>Primeira</i> frase,\r\ncom duas linhas\r\n\r\n"
            "2\r\n00:00:02,500 --> 00:00:05,000\r\n  \r\n\r\n3\r\n00:00:05,000 --> 00:00:07,250\r\nção &lt;3 — fim"},
  {"f.json", "{\"segments\":[{\"start\":0.0,\"end\":1.5,\"text\":\" Olá\"},{\"start\":1.5,\"end\":3,\"text\":\" GPUs e CPUs\"}]}"},
  {"g.json", "[{\"text\":\"um &#39;dois&#39;\",\"start\":0.5,\"duration\":1.25},{\"text\":\"três\\nquatro\",\"start\":2,\"duration\":2}]"},
};

static const char *const tokens[] = {"\n", "\r\n", "\n\n", " --> ", "-->", ":", ",", ".", "00:", "99:", "<", ">", "&",
                                     "&amp;", "<c>", "</c>", "<00:00:01.000>", "\"", "{", "}", "[", "]", "WEBVTT", "NOTE",
                                     "1\n", "\xC3", "\xA9", "\xFF", "\xE2\x80", " ", "\t", "-", "1e308", "\\u00e9"};

static int valid_utf8(const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    if (!l) return 0;
    i += (size_t)l;
  }
  return 1;
}

/* A tokenizer stand-in: 2 specials + one unit per 3 bytes. */
static int count3(const char *t, size_t n, void *ud) {
  (void)t; (void)ud;
  return 2 + (int)((n + 2) / 3);
}

static size_t mutate(char *buf, size_t n, size_t cap) {
  int ops = 1 + (int)(next_rand() % 4);
  for (int o = 0; o < ops; o++) {
    uint32_t r = next_rand();
    size_t at = n ? next_rand() % (n + 1) : 0;
    switch (r % 6) {
    case 0: if (n) buf[at % n] = (char)next_rand(); break;                          /* flip a byte */
    case 1: {                                                                      /* insert a token */
      const char *t = tokens[next_rand() % AR_ARRAY_LEN(tokens)];
      size_t l = strlen(t);
      if (n + l <= cap) { memmove(buf + at + l, buf + at, n - at); memcpy(buf + at, t, l); n += l; }
      break;
    }
    case 2: if (n) { size_t l = next_rand() % 16; if (at + l > n) l = n - at; memmove(buf + at, buf + at + l, n - at - l); n -= l; } break;
    case 3: if (n) n = at; break;                                                  /* truncate */
    case 4: {                                                                      /* duplicate a range */
      size_t l = next_rand() % 32;
      if (at + l > n) l = n - at;
      if (n + l <= cap) { memmove(buf + at + l, buf + at, n - at); memcpy(buf + at + l, buf + at, l); n += l; }
      break;
    }
    default: if (n) buf[at % n] = (char)('0' + next_rand() % 10); break;           /* a digit */
    }
  }
  return n;
}

TEST(fuzz_parsers_and_segmenter) {
  enum { CAP = 4096 };
  const int ITER = test_slow() ? 200000 : 4000;   /* AULARAG_SLOW=1: a longer run */
  char *buf = malloc(CAP + 1);
  ASSERT(buf);
  int ok = 0, errs = 0;
  for (int it = 0; it < ITER; it++) {
    const char *name = seeds[it % AR_ARRAY_LEN(seeds)][0], *seed = seeds[it % AR_ARRAY_LEN(seeds)][1];
    size_t n = strlen(seed);
    memcpy(buf, seed, n);
    n = mutate(buf, n, CAP);
    ar_cues c;
    ar_error e = {0};
    ar_format fmt = it % 7 == 0 ? (ar_format)(1 + it / 7 % 4) : AR_FORMAT_AUTO;   /* sometimes a forced format */
    ar_status st = ar_transcript_parse(it % 5 == 0 ? "noext" : name, buf, n, fmt, &c, &e);
    if (st != AR_OK) {
      ASSERT_MSG(st == AR_ERR_PARSE, "iteration %d: status %d (%s)", it, st, e.msg);
      ASSERT_MSG(c.n == 0 && c.v == NULL, "iteration %d: cues left after an error", it);
      ASSERT_MSG(e.msg[0] && strlen(e.msg) < 400, "iteration %d: bad message", it);
      ASSERT_MSG(strncmp(e.msg, it % 5 == 0 ? "noext" : name, 5) == 0, "iteration %d: message does not name the file: %s", it, e.msg);
      errs++;
      continue;
    }
    ok++;
    for (size_t i = 0; i < c.n; i++) {
      const ar_cue *q = &c.v[i];
      size_t l = strlen(q->text);
      ASSERT_MSG(l > 0 && q->text[0] != ' ' && q->text[l - 1] != ' ' && !strstr(q->text, "  "), "iteration %d cue %zu: \"%s\"", it, i, q->text);
      ASSERT_MSG(valid_utf8(q->text), "iteration %d cue %zu: invalid UTF-8", it, i);
      ASSERT_MSG(isfinite(q->start_s) && isfinite(q->end_s) && q->start_s >= 0 && q->start_s <= q->end_s,
                 "iteration %d cue %zu: times %g %g", it, i, q->start_s, q->end_s);
      ASSERT_MSG(i == 0 || q->start_s >= c.v[i - 1].start_s, "iteration %d cue %zu: start goes back", it, i);
    }
    ar_segment_params p = ar_segment_default_params();
    p.window_s = 3;
    p.overlap_s = 1;
    p.max_units = 3;
    ar_segments s;
    st = ar_segment_cues(&c, &p, &s, &e);
    ASSERT_MSG(st == AR_OK, "iteration %d: segmenter: %s", it, e.msg);
    for (size_t i = 0; i < s.n; i++) {
      const ar_segment *g = &s.v[i];
      int words = 1;
      for (const char *t = g->text; *t; t++) words += *t == ' ';
      ASSERT_MSG(words <= 3 && valid_utf8(g->text), "iteration %d segment %zu: \"%s\"", it, i, g->text);
      ASSERT_MSG(g->start_s <= g->end_s, "iteration %d segment %zu: end before start", it, i);
      ASSERT_MSG(i == 0 || g->start_s >= s.v[i - 1].start_s, "iteration %d segment %zu: start goes back", it, i);
    }
    ar_segments_free(&s);
    p.count = count3;   /* the same under a counting callback: every segment fits the cap exactly */
    p.max_units = 6;
    st = ar_segment_cues(&c, &p, &s, &e);
    ASSERT_MSG(st == AR_OK, "iteration %d: segmenter (callback): %s", it, e.msg);
    for (size_t i = 0; i < s.n; i++)
      ASSERT_MSG(count3(s.v[i].text, strlen(s.v[i].text), NULL) <= 6 && valid_utf8(s.v[i].text) && s.v[i].text[0],
                 "iteration %d segment %zu: \"%s\"", it, i, s.v[i].text);
    ar_segments_free(&s);
    ar_cues_free(&c);
  }
  free(buf);
  if (getenv("AULARAG_VERBOSE")) fprintf(stderr, "  fuzz: %d parsed, %d rejected\n", ok, errs);
  /* the mutations must exercise both outcomes */
  ASSERT_MSG(ok > ITER / 10 && errs > ITER / 10, "ok %d, errors %d", ok, errs);
}
