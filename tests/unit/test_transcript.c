/* test_transcript.c - the cue parsers: formats, cleanup, rolling captions, repairs, encodings. */
#include "test.h"
#include "core/util.h"

static ar_status parse(const char *name, const char *s, ar_cues *c, ar_error *e) {
  return ar_transcript_parse(name, s, strlen(s), AR_FORMAT_AUTO, c, e);
}

TEST(srt_real_world_shapes) {
  /* BOM, CRLF, multi-line text, dot milliseconds, numbering gap, blank and space-only cues,
   * missing final newline. */
  const char *s = "\xEF\xBB\xBF" "1\r\n00:00:00,000 --> 00:00:03,760\r\n \r\n\r\n"
                  "2\r\n00:00:03,760 --> 00:00:05,860\r\nOlá,   pessoal\r\nde novo\r\n\r\n"
                  "7\r\n00:00:06.5 --> 00:00:08.250\r\n\t \r\n\r\n"
                  "9\r\n01:02:03,004 --> 01:02:04,000\r\núltima linha";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("a.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "Olá, pessoal de novo");
  ASSERT_NEAR(c.v[0].start_s, 3.76, 1e-9);
  ASSERT_NEAR(c.v[0].end_s, 5.86, 1e-9);
  ASSERT_EQ_INT(c.v[0].line, 6);
  ASSERT_STREQ(c.v[1].text, "última linha");
  ASSERT_NEAR(c.v[1].start_s, 3723.004, 1e-9);
  ASSERT_EQ_INT(c.v[1].line, 15);
  ar_cues_free(&c);
}

TEST(srt_text_after_blank_line_and_digit_text_kept) {
  /* A blank line inside the text does not end the cue; a line of digits that is not followed by a
   * timing line is text. Cues without blank lines between them still split at the number. */
  const char *s = "1\n00:00:01,000 --> 00:00:02,000\nprimeira\n\ncontinua\n42\n"
                  "2\n00:00:02,000 --> 00:00:03,000\nsegunda\n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("b.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "primeira continua 42");
  ASSERT_STREQ(c.v[1].text, "segunda");
  ar_cues_free(&c);
}

TEST(srt_tags_and_entities) {
  const char *s = "1\n00:00:01,000 --> 00:00:02,000\n<i>Olá</i> &amp; {\\an8}<font color=\"#fff\">mundo</font>&nbsp;!\n\n"
                  "2\n00:00:02,000 --> 00:00:03,000\nse a<b e c>d, &lt;i&gt; &#231;&#xE3;o &bogus; &#0; 5 &amp 6\n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("t.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "Olá & mundo !");
  ASSERT_STREQ(c.v[1].text, "se a<b e c>d, <i> ção &bogus; &#0; 5 &amp 6");
  ar_cues_free(&c);
}

TEST(srt_unicode_spaces_and_invisible_chars) {
  /* no-break space, ideographic space and tabs are spaces; zero-width space (found in the 3b1b data
   * right after words) is dropped; control bytes become spaces. */
  const char *s = "1\n00:00:01,000 --> 00:00:02,000\n  vari\xC3\xA1veis \xE2\x80\x8B\xE2\x80\x8Bx\xC2\xA0y\t\tz\x01w\xE3\x80\x80!  \n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("u.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_STREQ(c.v[0].text, "variáveis x y z w !");
  ar_cues_free(&c);
}

TEST(vtt_blocks_ids_settings_hourless) {
  const char *s = "WEBVTT - aula 1\nKind: captions\nLanguage: pt\n\n"
                  "NOTE isto é um comentário\nque ocupa duas linhas --> com seta\n\n"
                  "STYLE\n::cue { color: yellow }\n\n"
                  "REGION\nid:fred width:40%\n\n"
                  "intro\n00:01.000 --> 00:04.500 align:start position:10%\n<v Prof>Bom dia,</v> <b>turma</b>\n\n"
                  "00:00:05.000 --> 00:00:07.000\nsegunda &amp; última\n\n"
                  "NOTE\nfinal\n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("a.vtt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "Bom dia, turma");
  ASSERT_NEAR(c.v[0].start_s, 1.0, 1e-9);
  ASSERT_NEAR(c.v[0].end_s, 4.5, 1e-9);
  ASSERT_EQ_INT(c.v[0].line, 15);
  ASSERT_STREQ(c.v[1].text, "segunda & última");
  ar_cues_free(&c);
}

/* The shape of YouTube auto-captions: each cue shows the line already said, then the new line with
 * karaoke tags; a 10 ms cue repeats the last line alone. */
static const char *yt_auto =
  "WEBVTT\nKind: captions\nLanguage: pt\n\n"
  "00:00:00.000 --> 00:00:02.590 align:start position:0%\n \nolá<00:00:00.560><c> pessoal</c><00:00:01.120><c> hoje</c>\n\n"
  "00:00:02.590 --> 00:00:02.600 align:start position:0%\nolá pessoal hoje\n \n\n"
  "00:00:02.600 --> 00:00:05.000 align:start position:0%\nolá pessoal hoje\nvamos<00:00:03.000><c> falar</c><00:00:03.500><c> de</c>\n\n"
  "00:00:05.000 --> 00:00:05.010 align:start position:0%\nvamos falar de\n \n\n"
  "00:00:05.010 --> 00:00:08.000 align:start position:0%\nvamos falar de\nGPUs<00:00:06.000><c> no</c><00:00:07.000><c> TensorFlow</c>\n";

TEST(vtt_youtube_auto_captions_rolling_lines) {
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("auto.vtt", yt_auto, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 3);
  ASSERT_STREQ(c.v[0].text, "olá pessoal hoje");
  ASSERT_STREQ(c.v[1].text, "vamos falar de");
  ASSERT_NEAR(c.v[1].start_s, 2.6, 1e-9);
  ASSERT_STREQ(c.v[2].text, "GPUs no TensorFlow");
  ar_cues_free(&c);
}

TEST(srt_rolling_lines_without_tags) {
  /* Auto-captions converted to SRT lose the tags but keep the rolling lines: recognised by shape. */
  const char *s = "1\n00:00:00,000 --> 00:00:02,000\num\n\n2\n00:00:02,000 --> 00:00:04,000\num\ndois\n\n"
                  "3\n00:00:04,000 --> 00:00:06,000\ndois\ntrês\n\n4\n00:00:06,000 --> 00:00:08,000\ntrês\nquatro\n\n"
                  "5\n00:00:08,000 --> 00:00:10,000\nquatro\ncinco\n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("r.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 5);
  const char *want[] = {"um", "dois", "três", "quatro", "cinco"};
  for (int i = 0; i < 5; i++) ASSERT_STREQ(c.v[i].text, want[i]);
  ar_cues_free(&c);
}

TEST(srt_human_repeats_are_kept) {
  /* A speaker saying the same thing twice is not a rolling caption: both cues stay. */
  const char *s = "1\n00:00:00,000 --> 00:00:01,000\nNão.\n\n2\n00:00:01,000 --> 00:00:02,000\nNão.\n\n"
                  "3\n00:00:02,000 --> 00:00:03,000\nIsso mesmo.\n\n4\n00:00:03,000 --> 00:00:04,000\nCerto?\nCerto.\n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("h.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 4);
  ASSERT_STREQ(c.v[1].text, "Não.");
  ASSERT_STREQ(c.v[3].text, "Certo? Certo.");
  ar_cues_free(&c);
}

TEST(whisper_json_segments) {
  const char *s = "{\"text\":\" Olá. Tudo bem?\",\"segments\":[{\"id\":0,\"start\":0.0,\"end\":2.5,\"text\":\" Olá.\"},"
                  "{\"id\":1,\"start\":2.5,\"end\":4,\"text\":\"  Tudo\\n bem? &amp; \"},{\"start\":4,\"end\":5,\"text\":\"   \"}],"
                  "\"language\":\"pt\"}";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("w.json", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "Olá.");
  ASSERT_STREQ(c.v[1].text, "Tudo bem? &amp;");   /* Whisper text is plain: no entity decoding */
  ASSERT_NEAR(c.v[1].end_s, 4.0, 1e-12);
  ASSERT_EQ_INT(c.v[1].line, 0);
  ar_cues_free(&c);
  const char *cpp = "{\"transcription\":[{\"timestamps\":{\"from\":\"00:00:00,000\",\"to\":\"00:00:01,500\"},"
                    "\"offsets\":{\"from\":0,\"to\":1500},\"text\":\" Bom dia\"}]}";
  ASSERT_EQ_INT(parse("cpp.json", cpp, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_NEAR(c.v[0].end_s, 1.5, 1e-12);
  ASSERT_STREQ(c.v[0].text, "Bom dia");
  ar_cues_free(&c);
}

TEST(youtube_json) {
  const char *s = "[{\"text\":\"it&#39;s a\\nGPU\",\"start\":1.5,\"duration\":2.25},{\"text\":\"[Música]\",\"start\":3,\"duration\":1}]";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(ar_transcript_parse("yt", s, strlen(s), AR_FORMAT_YOUTUBE_JSON, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "it's a GPU");
  ASSERT_NEAR(c.v[0].end_s, 3.75, 1e-12);
  ASSERT_STREQ(c.v[1].text, "[Música]");
  ar_cues_free(&c);
}

TEST(json_errors_name_position_and_field) {
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("bad.json", "{\"segments\": [\n {\"start\": 1, \"end\": 2, \"text\": \"x\"},\n {\"start\": }\n]}", &c, &e),
                AR_ERR_PARSE);
  ASSERT_MSG(strncmp(e.msg, "bad.json:3:", 11) == 0, "%s", e.msg);
  ASSERT_EQ_INT(parse("bad.json", "{\"segments\":[{\"start\":1,\"end\":2,\"text\":\"a\"},{\"start\":\"1\",\"end\":2,\"text\":\"b\"}]}", &c, &e),
                AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "bad.json: segments[1]: expected \"start\"") != NULL, "%s", e.msg);
  ASSERT_EQ_INT(parse("y.json", "[{\"text\":\"a\",\"start\":1}]", &c, &e), AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "[0]: expected \"duration\"") != NULL, "%s", e.msg);
  ASSERT_EQ_INT(parse("big.json", "[{\"text\":\"a\",\"start\":1e308,\"duration\":1e308}]", &c, &e), AR_ERR_PARSE);
  ASSERT_EQ_INT(parse("back.json", "{\"segments\":[{\"start\":1e300,\"end\":1e300,\"text\":\"a\"},{\"start\":0,\"end\":1,\"text\":\"b\"}]}", &c, &e),
                AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "before the previous cue") != NULL, "%s", e.msg);
  ASSERT_EQ_INT(parse("n.json", "{\"foo\": 1}", &c, &e), AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "\"segments\"") != NULL, "%s", e.msg);
  ASSERT_EQ_INT(parse("t.json", "[{\"text\":\"a\",\"start\":1,\"dur", &c, &e), AR_ERR_PARSE);  /* truncated */
  ASSERT_MSG(strncmp(e.msg, "t.json:1:", 9) == 0, "%s", e.msg);
}

static void expect_error(const char *name, const char *s, size_t len, const char *want_prefix, const char *want_sub) {
  ar_cues c = {0};
  ar_error e = {0};
  ar_status st = ar_transcript_parse(name, s, len, AR_FORMAT_AUTO, &c, &e);
  ASSERT_MSG(st == AR_ERR_PARSE, "%s: status %d (%zu cues)", name, st, c.n);
  ASSERT_MSG(strncmp(e.msg, want_prefix, strlen(want_prefix)) == 0, "got: %s", e.msg);
  ASSERT_MSG(!want_sub || strstr(e.msg, want_sub), "got: %s", e.msg);
  ASSERT_EQ_INT(c.n, 0);
  ASSERT(c.v == NULL);
}
#define EXPECT_ERROR(name, s, pre, sub) do { expect_error(name, s, strlen(s), pre, sub); if (test_failed_current) return; } while (0)

TEST(bad_input_errors_name_file_and_line) {
  EXPECT_ERROR("trunc.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0", "trunc.srt:6: expected a timing line", "after cue number 2");
  EXPECT_ERROR("trunc2.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n", "trunc2.srt:5: cue number 2 is not followed", "truncated");
  EXPECT_ERROR("trunc3.srt", "1\n00:00:01,000 --> 00:00", "trunc3.srt:2: expected a timing line", "an end time");
  EXPECT_ERROR("inv.srt", "1\n00:00:01,000 --> 00:61:02,000\nx\n", "inv.srt:2: expected a timing line 'HH:MM:SS,mmm --> HH:MM:SS,mmm'", "an end time");
  EXPECT_ERROR("inv2.srt", "1\n00:00:01,000 -> 00:00:02,000\nx\n", "inv2.srt:2: expected a timing line", "after cue number 1");
  EXPECT_ERROR("inv3.srt", "1\n00:00:01,000 --> 00:00:02,000x\nx\n", "inv3.srt:2:", "after the end time");
  EXPECT_ERROR("garbage.srt", "isto não é uma legenda\n", "garbage.srt:1: expected a cue number or a timing line", "isto não é");
  EXPECT_ERROR("nohdr.vtt", "00:01.000 --> 00:02.000\nx\n", "nohdr.vtt:1: expected the 'WEBVTT' header", NULL);
  EXPECT_ERROR("cue.vtt", "WEBVTT\n\nsem tempo\nnenhum\n", "cue.vtt:3: expected a cue timing line", "sem tempo");
  EXPECT_ERROR("time.vtt", "WEBVTT\n\n00:01.000 --> 00:0x.000\nx\n", "time.vtt:3: expected a cue timing line", "an end time");
  EXPECT_ERROR("back.srt", "1\n00:10:00,000 --> 00:10:01,000\na\n\n2\n00:01:00,000 --> 00:01:01,000\nb\n",
               "back.srt:6: cue starts at 00:01:00.000, before the previous cue (line 2) at 00:10:00.000", NULL);
  static const char bin[] = "1\n00:00:01,000 --> 00:00:02,000\nok\x00\x01\x02 garbage";
  expect_error("bin.srt", bin, sizeof bin - 1, "bin.srt:3: binary data (NUL byte at byte offset 34)", NULL);
  if (test_failed_current) return;
  char junk[4096];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof junk; i++) { x = x * 1103515245u + 12345u; junk[i] = (char)(1 + (x >> 16) % 255); }
  expect_error("junk.vtt", junk, sizeof junk, "junk.vtt:", "binary data (control byte");
}

TEST(timestamp_repairs) {
  /* Documented recoveries seen in the shared data: a slip back of a few seconds is clamped to the
   * previous start (text order is spoken order), an end before its start becomes the start (the
   * "--> 00:00:00,000" closing cues of CS231n), negative times become 0. Overlaps are kept. */
  const char *s = "1\n-00:00:00,485 --> 00:00:05,515\nzero\n\n"
                  "2\n00:00:38,844 --> 00:00:40,860\na\n\n3\n00:00:34,360 --> 00:00:37,692\nb\n\n"
                  "4\n00:00:39,000 --> 00:00:45,000\nc\n\n5\n00:01:08,756 --> 00:00:00,000\nd\n";
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(parse("rep.srt", s, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 5);
  ASSERT_NEAR(c.v[0].start_s, 0, 0);
  ASSERT_STREQ(c.v[2].text, "b");
  ASSERT_NEAR(c.v[2].start_s, 38.844, 1e-9);
  ASSERT_NEAR(c.v[2].end_s, 38.844, 1e-9);
  ASSERT_NEAR(c.v[3].start_s, 39.0, 1e-9);   /* overlaps cue 2's end: kept */
  ASSERT_NEAR(c.v[4].start_s, 68.756, 1e-9);
  ASSERT_NEAR(c.v[4].end_s, 68.756, 1e-9);
  ar_cues_free(&c);
}

TEST(encodings_latin1_utf16_bom) {
  ar_cues c;
  ar_error e;
  /* Not valid UTF-8: read as Windows-1252/Latin-1 and transcoded. */
  const char *l1 = "1\n00:00:01,000 --> 00:00:02,000\nA\xE7\xE3o \x93r\xE1pida\x94 \x85\n";
  ASSERT_EQ_INT(parse("l1.srt", l1, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_STREQ(c.v[0].text, "Ação “rápida” …");
  ar_cues_free(&c);
  /* Mostly UTF-8 with one broken byte: kept as UTF-8, the bad byte becomes U+FFFD (not mojibake). */
  const char *u8bad = "1\n00:00:01,000 --> 00:00:02,000\nAção é \xFF rápida\n";
  ASSERT_EQ_INT(parse("bad8.srt", u8bad, &c, &e), AR_OK);
  ASSERT_STREQ(c.v[0].text, "Ação é \xEF\xBF\xBD rápida");
  ar_cues_free(&c);
  /* UTF-16LE with BOM */
  const char *u8 = "WEBVTT\n\n00:01.000 --> 00:02.000\nOlá 😀\n";
  ar_buf b = {0};
  ar_buf_append(&b, "\xFF\xFE", 2);
  const unsigned char *p = (const unsigned char *)u8;
  for (size_t i = 0; p[i];) {
    unsigned cp;
    int l = ar_utf8_len(p + i, strlen(u8) - i);
    if (l == 1) cp = p[i];
    else if (l == 2) cp = (p[i] & 0x1Fu) << 6 | (p[i + 1] & 0x3Fu);
    else cp = (p[i] & 0x07u) << 18 | (p[i + 1] & 0x3Fu) << 12 | (p[i + 2] & 0x3Fu) << 6 | (p[i + 3] & 0x3Fu);
    i += (size_t)l;
    if (cp >= 0x10000) {
      unsigned hi = 0xD800 + ((cp - 0x10000) >> 10), lo = 0xDC00 + ((cp - 0x10000) & 0x3FF);
      char q[4] = {(char)(hi & 0xFF), (char)(hi >> 8), (char)(lo & 0xFF), (char)(lo >> 8)};
      ar_buf_append(&b, q, 4);
    } else {
      char q[2] = {(char)(cp & 0xFF), (char)(cp >> 8)};
      ar_buf_append(&b, q, 2);
    }
  }
  ASSERT_EQ_INT(ar_transcript_parse("u16.vtt", b.p, b.n, AR_FORMAT_AUTO, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_STREQ(c.v[0].text, "Olá 😀");
  ar_cues_free(&c);
  ASSERT_EQ_INT(ar_transcript_parse("odd.vtt", b.p, b.n - 1, AR_FORMAT_AUTO, &c, &e), AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "odd number of bytes") != NULL, "%s", e.msg);
  ar_buf_free(&b);
}

TEST(empty_transcripts_have_zero_cues) {
  /* 0 bytes (one such SRT is in the 3b1b data), whitespace, a bare header, text-less cues. */
  const char *cases[] = {"", " \r\n\t\n", "\xEF\xBB\xBF", "WEBVTT\n\nNOTE nada\n", "1\n00:00:01,000 --> 00:00:02,000\n  \n", "[]",
                         "{\"segments\":[]}"};
  const char *names[] = {"e.srt", "e.srt", "e.srt", "e.vtt", "e.srt", "e.json", "e.json"};
  for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
    ar_cues c;
    ar_error e;
    ASSERT_MSG(parse(names[i], cases[i], &c, &e) == AR_OK, "case %zu: %s", i, e.msg);
    ASSERT_EQ_INT(c.n, 0);
    ar_cues_free(&c);
  }
}

TEST(sniffing_and_load) {
  const char *dir = test_tmpdir();
  char path[600];
  snprintf(path, sizeof path, "%s/really_vtt.srt", dir);
  ASSERT_EQ_INT(ar_write_file_atomic(path, "WEBVTT\n\n00:01.000 --> 00:02.000\nvtt\n", 36, NULL), AR_OK);
  ar_cues c;
  ar_error e;
  ASSERT_EQ_INT(ar_transcript_load(path, &c, &e), AR_OK);
  ASSERT_STREQ(c.v[0].text, "vtt");
  ar_cues_free(&c);
  snprintf(path, sizeof path, "%s/noext", dir);
  ASSERT_EQ_INT(ar_write_file_atomic(path, "[{\"text\":\"yt\",\"start\":0,\"duration\":1}]", 38, NULL), AR_OK);
  ASSERT_EQ_INT(ar_transcript_load(path, &c, &e), AR_OK);
  ASSERT_STREQ(c.v[0].text, "yt");
  ar_cues_free(&c);
  snprintf(path, sizeof path, "%s/missing.srt", dir);
  ASSERT_EQ_INT(ar_transcript_load(path, &c, &e), AR_ERR_IO);
  ASSERT_MSG(strstr(e.msg, "missing.srt") != NULL, "%s", e.msg);
  ASSERT_STREQ(ar_format_name(AR_FORMAT_WHISPER_JSON), "whisper-json");
  ASSERT_EQ_INT(ar_transcript_parse("x", "a", 1, (ar_format)99, &c, &e), AR_ERR_INVALID);
}

TEST(ten_megabyte_single_line) {
  size_t big = 10u << 20;
  char *s = malloc(big + 64);
  ASSERT(s);
  /* one 10 MB line of words inside a cue: parsed whole */
  int h = snprintf(s, 64, "1\n00:00:01,000 --> 00:00:02,000\n");
  for (size_t i = 0; i < big; i++) s[h + i] = (i % 8 == 7) ? ' ' : 'a' + (char)(i % 8);
  s[h + big] = 0;
  ar_cues c;
  ar_error e;
  double t0 = ar_now_s();
  ASSERT_EQ_INT(ar_transcript_parse("big.srt", s, h + big, AR_FORMAT_AUTO, &c, &e), AR_OK);
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_EQ_INT(strlen(c.v[0].text), big - 1);   /* trailing space trimmed */
  ar_cues_free(&c);
  /* a 10 MB line of junk without any structure: a clear error, quickly */
  memset(s, 'x', big);
  s[big] = 0;
  ASSERT_EQ_INT(ar_transcript_parse("junk.srt", s, big, AR_FORMAT_AUTO, &c, &e), AR_ERR_PARSE);
  ASSERT_MSG(strncmp(e.msg, "junk.srt:1: expected a cue number or a timing line", 50) == 0, "%s", e.msg);
  ASSERT_MSG(strlen(e.msg) < 300, "message too long: %zu", strlen(e.msg));
  ASSERT_MSG(ar_now_s() - t0 < 5 * test_time_scale(), "took %.1f s", ar_now_s() - t0);
  free(s);
}

TEST(parse_out_of_memory_paths) {
  /* Fail each allocation in turn: every failure is reported as AR_ERR_NOMEM, nothing leaks (ASan). */
  const char *s = yt_auto;
  for (long k = 0; k < 200; k++) {
    ar_cues c;
    ar_error e;
    ar_alloc_fail_after(k);
    ar_status st = parse("oom.vtt", s, &c, &e);
    ar_alloc_fail_after(-1);
    if (st == AR_OK) { ASSERT_EQ_INT(c.n, 3); ar_cues_free(&c); break; }
    ASSERT_MSG(st == AR_ERR_NOMEM, "k=%ld st=%d %s", k, st, e.msg);
  }
}

TEST(vtt_sloppy_blank_line_and_cr_line_endings) {
  /* A blank line inside a cue's text keeps the text with the cue; old Mac CR-only line endings. */
  const char *s = "WEBVTT\r\r00:00:01.000 --> 00:00:02.000\rprimeira parte\r\rsegunda parte\r\rid-2\r"
                  "00:00:03.000 --> 00:00:04.000\routra\r";
  ar_cues c;
  ar_error e;
  ASSERT_MSG(parse("cr.vtt", s, &c, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_STREQ(c.v[0].text, "primeira parte segunda parte");
  ASSERT_STREQ(c.v[1].text, "outra");
  ASSERT_EQ_INT(c.v[1].line, 9);   /* its timing line */
  ar_cues_free(&c);
}

/* issue 12 finding 2: rolling-line de-duplication tried every overlap length and walked each cue from
 * its start for every line it compared (cubic): two adjacent cues of 2,000 one-letter lines took 19 s.
 * The lines below make every overlap length almost match (the first cue ends in "b"), so the old code
 * did ~n^3/6 line walks; now it is linear. The karaoke tag switches rolling mode on. */
TEST(rolling_dedup_many_lines_is_fast) {
  int lines = 2000;
  ar_buf b = {0};
  const char *head = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<00:00:01.500>x\n",
             *mid = "b\n\n00:00:02.000 --> 00:00:03.000\n";
  ar_buf_append(&b, head, strlen(head));
  for (int i = 0; i < lines - 1; i++) ar_buf_append(&b, "a\n", 2);
  ar_buf_append(&b, mid, strlen(mid));
  for (int i = 0; i < lines; i++) ar_buf_append(&b, "a\n", 2);
  ASSERT(!b.oom);
  ar_cues c;
  ar_error e;
  double t0 = ar_now_s();
  ASSERT_EQ_INT(ar_transcript_parse("roll.vtt", b.p, b.n, AR_FORMAT_AUTO, &c, &e), AR_OK);
  double dt = ar_now_s() - t0;
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_EQ_INT(strlen(c.v[1].text), 2 * lines - 1);   /* no overlap: "a a ... a" whole */
  ar_cues_free(&c);
  ASSERT_MSG(dt < 2, "took %.1f s", dt);
  /* the same shape as a plain SRT of many 3-line cues: rolling switches on from content alone */
  b.n = 0;
  for (int i = 0; i < 1000; i++) {
    char h[96];
    int k = snprintf(h, sizeof h, "%d\n00:%02d:%02d,000 --> 00:%02d:%02d,500\n", i + 1, i / 60, i % 60, i / 60, i % 60);
    ar_buf_append(&b, h, (size_t)k);
    ar_buf_append(&b, i % 2 ? "a\na\nb\n\n" : "b\na\na\n\n", 7);
  }
  t0 = ar_now_s();
  ASSERT_EQ_INT(ar_transcript_parse("roll.srt", b.p, b.n, AR_FORMAT_AUTO, &c, &e), AR_OK);
  dt = ar_now_s() - t0;
  ar_cues_free(&c);
  ASSERT_MSG(dt < 2, "took %.1f s", dt);
  ar_buf_free(&b);
}

/* The de-duplication against a direct reference on random small cues: lines from a 2-letter alphabet so
 * that partial overlaps are common. Reference: try every overlap length, longest first. */
TEST(rolling_dedup_matches_reference) {
  uint64_t rng = 12;
  for (int round = 0; round < 300; round++) {
    int nc = 2 + (int)(ar_rng_next(&rng) % 6), nl[8];
    char line[8][8][2];
    ar_buf b = {0};
    ar_buf_append(&b, "WEBVTT\n\n", 8);
    for (int i = 0; i < nc; i++) {
      nl[i] = 1 + (int)(ar_rng_next(&rng) % 6);
      char h[80];
      int k = snprintf(h, sizeof h, "00:00:%02d.000 --> 00:00:%02d.000\n%s", i, i + 1, i == 0 ? "<00:00:00.500>" : "");
      ar_buf_append(&b, h, (size_t)k);
      for (int j = 0; j < nl[i]; j++) {
        line[i][j][0] = (char)('p' + ar_rng_next(&rng) % 2);
        line[i][j][1] = 0;
        ar_buf_append(&b, line[i][j], 1);
        ar_buf_append(&b, "\n", 1);
      }
      ar_buf_append(&b, "\n", 1);
    }
    ar_cues c;
    ar_error e;
    ASSERT_EQ_INT(ar_transcript_parse("r.vtt", b.p, b.n, AR_FORMAT_AUTO, &c, &e), AR_OK);
    size_t out = 0;
    for (int i = 0; i < nc; i++) {
      int skip = 0;
      if (i > 0)
        for (int m = AR_MIN(nl[i], nl[i - 1]); m > 0 && !skip; m--) {
          int ok = 1;
          for (int k = 0; k < m && ok; k++) ok = line[i][k][0] == line[i - 1][nl[i - 1] - m + k][0];
          if (ok) skip = m;
        }
      if (skip == nl[i]) continue;
      char want[32];
      size_t w = 0;
      for (int k = skip; k < nl[i]; k++) { if (w) want[w++] = ' '; want[w++] = line[i][k][0]; }
      want[w] = 0;
      ASSERT_MSG(out < c.n, "round %d: too few cues", round);
      ASSERT_STREQ(c.v[out].text, want);
      out++;
    }
    ASSERT_EQ_INT(c.n, out);
    ar_cues_free(&c);
    ar_buf_free(&b);
  }
}

/* issue 12 finding 2b: "{\" (an ASS override) looked for its '}' to the end of the line every time:
 * a 2 MB line of "{\" without one was quadratic (800 KB: 1.3 s). Now one lookup per '}'. */
TEST(override_tags_without_close_are_linear) {
  size_t big = 2u << 20;
  char *s = malloc(big + 64);
  ASSERT(s);
  int h = snprintf(s, 64, "1\n00:00:01,000 --> 00:00:02,000\n");
  for (size_t i = 0; i < big; i += 2) { s[h + i] = '{'; s[h + i + 1] = '\\'; }
  ar_cues c;
  ar_error e;
  double t0 = ar_now_s();
  ASSERT_EQ_INT(ar_transcript_parse("o.srt", s, h + big, AR_FORMAT_AUTO, &c, &e), AR_OK);
  double dt = ar_now_s() - t0;
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_EQ_INT(strlen(c.v[0].text), big);   /* no '}': the text stays */
  ar_cues_free(&c);
  /* overrides that do close are still removed */
  const char *ok = "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}um {\\i1}dois{\\i0} {\\ tr\xc3\xaas\n";
  ASSERT_EQ_INT(parse("o2.srt", ok, &c, &e), AR_OK);
  ASSERT_STREQ(c.v[0].text, "um dois {\\ três");
  ar_cues_free(&c);
  free(s);
  ASSERT_MSG(dt < 2, "took %.1f s", dt);
}
