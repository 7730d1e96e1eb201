/* test_asr.c - the speech path's pure parts: the verbose_json reply parser (times, trimming, clamping,
 * a reply without segments, every malformed shape a clear error), silencedetect's log, the chunk
 * planner (checked against a brute-force search of each window for silence), the WAV header, the
 * endpoint and transcript names. */
#include "test.h"
#include "asr/asr.h"

static ar_status parse(const char *body, double chunk_s, ar_asr_segs *out, int *no_segs, ar_error *e) {
  return ar_asr_parse_reply(body, strlen(body), chunk_s, out, no_segs, "http://asr/v1/audio/transcriptions", e);
}

TEST(asr_reply_verbose_json) {
  const char *body =
      "{\"task\":\"transcribe\",\"language\":\"portuguese\",\"duration\":30.0,\"text\":\" Olá. Tudo bem?\","
      "\"segments\":[{\"id\":0,\"seek\":0,\"start\":0.0,\"end\":2.5,\"text\":\" Olá.\",\"tokens\":[1,2]},"
      "{\"id\":1,\"start\":2.5,\"end\":2.9,\"text\":\"   \"},"
      "{\"id\":2,\"start\":3,\"end\":31.25,\"text\":\" Tudo bem? \\n\"}]}";
  ar_asr_segs s;
  int no = -1;
  ar_error e;
  ASSERT_EQ_INT(parse(body, 30.0, &s, &no, &e), AR_OK);
  ASSERT_EQ_INT(no, 0);
  ASSERT_EQ_INT(s.n, 2);   /* the blank one dropped */
  ASSERT_STREQ(s.v[0].text, "Olá.");
  ASSERT_NEAR(s.v[0].start, 0, 0);
  ASSERT_NEAR(s.v[0].end, 2.5, 0);
  ASSERT_STREQ(s.v[1].text, "Tudo bem?");
  ASSERT_NEAR(s.v[1].start, 3, 0);
  ASSERT_NEAR(s.v[1].end, 30, 0);   /* timed past the chunk: clamped to it */
  ar_asr_segs_free(&s);
  ASSERT_EQ_INT(parse("{\"text\":\"\",\"segments\":[]}", 5, &s, &no, &e), AR_OK);   /* silence */
  ASSERT_EQ_INT(s.n, 0);
  ar_asr_segs_free(&s);
}

TEST(asr_reply_without_segments) {
  ar_asr_segs s;
  int no = 0;
  ar_error e;
  ASSERT_EQ_INT(parse("{\"text\":\" só o texto \"}", 42.5, &s, &no, &e), AR_OK);
  ASSERT_EQ_INT(no, 1);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_STREQ(s.v[0].text, "só o texto");
  ASSERT_NEAR(s.v[0].start, 0, 0);
  ASSERT_NEAR(s.v[0].end, 42.5, 0);
  ar_asr_segs_free(&s);
  ASSERT_EQ_INT(parse("{\"text\":\"x\",\"segments\":null}", 1, &s, &no, &e), AR_OK);
  ASSERT_EQ_INT(no, 1);
  ar_asr_segs_free(&s);
}

TEST(asr_reply_malformed) {
  static const struct { const char *body, *says; } bad[] = {
    {"{\"segments\": [ {\"start\": 1,", "not valid JSON"},
    {"<html>502 Bad Gateway</html>", "not valid JSON"},
    {"[1,2]", "not a JSON object"},
    {"{\"language\":\"pt\"}", "neither \"segments\" nor \"text\""},
    {"{\"segments\":{}}", "\"segments\" is not an array"},
    {"{\"segments\":[3]}", "segments[0] is not an object"},
    {"{\"segments\":[{\"start\":0,\"end\":1,\"text\":\"a\"},{\"end\":2,\"text\":\"b\"}]}", "segments[1]: expected \"start\""},
    {"{\"segments\":[{\"start\":-1,\"end\":1,\"text\":\"a\"}]}", "segments[0]: expected"},
    {"{\"segments\":[{\"start\":\"0\",\"end\":1,\"text\":\"a\"}]}", "segments[0]: expected"},
    {"{\"segments\":[{\"start\":2,\"end\":1,\"text\":\"a\"}]}", "ends (1.000 s) before it starts"},
    {"{\"segments\":[{\"start\":0,\"end\":1,\"text\":7}]}", "segments[0]: expected \"text\""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ar_asr_segs s;
    int no;
    ar_error e = {0};
    ASSERT_EQ_INT(parse(bad[i].body, 10, &s, &no, &e), AR_ERR_PARSE);
    ASSERT_MSG(strstr(e.msg, bad[i].says) && strstr(e.msg, "http://asr/v1/audio/transcriptions"), "%s -> %s",
               bad[i].body, e.msg);
    ASSERT(s.n == 0 && s.v == NULL);
  }
}

TEST(asr_silence_log) {
  const char *log =
      "Input #0, mov,mp4, from 'file:x.mp4':\n"
      "[silencedetect @ 0x5581] silence_start: -0.0213\n"
      "[silencedetect @ 0x5581] silence_end: 1.5 | silence_duration: 1.52\n"
      "size=N/A time=00:00:10.00 bitrate=N/A\n"
      "[silencedetect @ 0x5581] silence_start: 4.25\n"
      "[silencedetect @ 0x5581] silence_end: 6 | silence_duration: 1.75\n"
      "[silencedetect @ 0x5581] silence_start: 9.5\n";
  ar_span *v;
  int n = ar_media_parse_silences(log, 12.0, &v);
  ASSERT_EQ_INT(n, 3);
  ASSERT_NEAR(v[0].start, 0, 0);      /* a start before 0 is 0 */
  ASSERT_NEAR(v[0].end, 1.5, 0);
  ASSERT_NEAR(v[1].start, 4.25, 0);
  ASSERT_NEAR(v[1].end, 6, 0);
  ASSERT_NEAR(v[2].start, 9.5, 0);
  ASSERT_NEAR(v[2].end, 12, 0);       /* still open at the end: runs to the end */
  ar_free(v);
  ASSERT_EQ_INT(ar_media_parse_silences("no silences here\n", 3, &v), 0);
  ar_free(v);
}

TEST(asr_plan_example) {
  const ar_span sil[] = {{3, 4}, {8, 9}, {12, 12.5}, {19, 21}};
  ar_span *c;
  int hard;
  int n = ar_asr_plan_chunks(25, sil, 4, 10, &c, &hard);
  /* (5,10]: [8,9] -> 8.5; (13.5,18.5]: no silence -> a hard cut at 18.5; the rest fits */
  ASSERT_EQ_INT(n, 3);
  ASSERT_EQ_INT(hard, 1);
  ASSERT_NEAR(c[0].end, 8.5, 1e-12);
  ASSERT_NEAR(c[1].end, 18.5, 1e-12);
  ASSERT_NEAR(c[2].end, 25, 0);
  ar_free(c);
  n = ar_asr_plan_chunks(9.5, sil, 4, 10, &c, &hard);   /* short: one chunk */
  ASSERT(n == 1 && hard == 0 && c[0].start == 0 && c[0].end == 9.5);
  ar_free(c);
  n = ar_asr_plan_chunks(30, (const ar_span[]){{9, 14}}, 1, 10, &c, &hard);   /* a silence past the limit */
  ASSERT_EQ_INT(n, 3);
  ASSERT_NEAR(c[0].end, 10, 1e-12);   /* its middle (11.5) is clamped into the window: still silent */
  ASSERT_EQ_INT(hard, 1);             /* (15,20] has none */
  ar_free(c);
}

/* Brute force over random silences: chunks tile [0, D] and stay under max; a cut is in a silence,
 * and it is a hard cut exactly when no silent moment lies in the second half of its window (a 1 ms
 * grid search); a silence cut is no earlier than the latest silence middle inside the window. */
TEST(asr_plan_random) {
  uint64_t rng = 12345;
  for (int trial = 0; trial < 300; trial++) {
    double D = 1 + ar_rng_unit(&rng) * 3000, max = 5 + ar_rng_unit(&rng) * 600;
    int ns = (int)(ar_rng_unit(&rng) * 40);
    ar_span sil[40];
    double t = 0;
    for (int i = 0; i < ns; i++) {
      t += ar_rng_unit(&rng) * D / (ns + 1);
      double len = ar_rng_unit(&rng) * 3;
      sil[i] = (ar_span){t, AR_MIN(t + len, D)};
      t += len;
    }
    while (ns && sil[ns - 1].start >= D) ns--;
    ar_span *c;
    int hard, n = ar_asr_plan_chunks(D, sil, ns, max, &c, &hard);
    ASSERT(n >= 1);
    ASSERT_NEAR(c[0].start, 0, 0);
    ASSERT_NEAR(c[n - 1].end, D, 0);
    int hard_seen = 0;
    for (int i = 0; i < n; i++) {
      ASSERT_MSG(c[i].end > c[i].start && c[i].end - c[i].start <= max + 1e-9, "trial %d chunk %d: %g-%g max %g", trial,
                 i, c[i].start, c[i].end, max);
      if (i) ASSERT(c[i].start == c[i - 1].end);
      if (i == n - 1) break;
      double lo = c[i].start + max / 2, hi = c[i].start + max;
      int any = 0;
      for (double x = lo + 0.001; x <= hi + 1e-9 && !any; x += 0.001)
        for (int k = 0; k < ns && !any; k++) any = x >= sil[k].start && x <= sil[k].end;
      int in = 0;
      for (int k = 0; k < ns && !in; k++) in = c[i].end >= sil[k].start - 1e-9 && c[i].end <= sil[k].end + 1e-9;
      if (!in) hard_seen++;
      ASSERT_MSG(in == any, "trial %d cut %d at %g: in a silence %d, silence in window %d", trial, i,
                 c[i].end, in, any);
    }
    ASSERT_EQ_INT(hard, hard_seen);
    ar_free(c);
  }
}

TEST(asr_wav_header) {
  unsigned char h[AR_ASR_WAV_HEADER];
  ar_wav_header(h, 32000);
#define U32(o) ((uint32_t)h[o] | (uint32_t)h[o + 1] << 8 | (uint32_t)h[o + 2] << 16 | (uint32_t)h[o + 3] << 24)
#define U16(o) ((unsigned)h[o] | (unsigned)h[o + 1] << 8)
  ASSERT(!memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVEfmt ", 8) && !memcmp(h + 36, "data", 4));
  ASSERT_EQ_INT(U32(4), 36 + 32000);
  ASSERT_EQ_INT(U32(16), 16);
  ASSERT_EQ_INT(U16(20), 1);      /* PCM */
  ASSERT_EQ_INT(U16(22), 1);      /* mono */
  ASSERT_EQ_INT(U32(24), 16000);
  ASSERT_EQ_INT(U32(28), 32000);
  ASSERT_EQ_INT(U16(32), 2);
  ASSERT_EQ_INT(U16(34), 16);
  ASSERT_EQ_INT(U32(40), 32000);
#undef U32
#undef U16
}

TEST(asr_names) {
  static const char *const ep[][2] = {
    {"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/audio/transcriptions"},
    {"http://h/v1/", "http://h/v1/audio/transcriptions"},
    {"https://api.openai.com/v1/audio/transcriptions", "https://api.openai.com/v1/audio/transcriptions"},
    {"http://127.0.0.1:8081/inference", "http://127.0.0.1:8081/inference"},
  };
  for (size_t i = 0; i < 4; i++) {
    char *s = ar_asr_endpoint(ep[i][0]);
    ASSERT_STREQ(s, ep[i][1]);
    ar_free(s);
  }
  char out[64];
  ASSERT_EQ_INT(ar_transcript_path_for("a.b/aula 1.mp4", out, sizeof out), strlen("a.b/aula 1.whisper.json"));
  ASSERT_STREQ(out, "a.b/aula 1.whisper.json");
  ar_transcript_path_for("a.b/noext", out, sizeof out);
  ASSERT_STREQ(out, "a.b/noext.whisper.json");
  ar_transcript_path_for(".hidden", out, sizeof out);
  ASSERT_STREQ(out, ".hidden.whisper.json");
  ASSERT(ar_is_media_name("x/Aula.MP4") && ar_is_media_name("a.webm") && ar_is_media_name("b.m4a"));
  ASSERT(!ar_is_media_name("a.whisper.json") && !ar_is_media_name("mp4") && !ar_is_media_name(".mp4") &&
         !ar_is_media_name("dir.mp4/notes"));
}
