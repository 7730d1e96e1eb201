/* test_manifest.c - manifest CSV: quoting, header handling, path resolution, errors with file:line. */
#include "test.h"
#include "core/util.h"
#include <sys/stat.h>

static const char *write_tmp(const char *dir, const char *name, const char *content) {
  static char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (ar_write_file_atomic(path, content, strlen(content), NULL) != AR_OK) return NULL;
  return path;
}

TEST(manifest_rfc4180_quoting_any_column_order) {
  const char *dir = test_tmpdir();
  char sub[600];
  snprintf(sub, sizeof sub, "%s/aulas", dir);
  ASSERT(mkdir(sub, 0700) == 0);
  ASSERT(write_tmp(sub, "a 1.vtt", "WEBVTT\n"));
  const char *csv = "\xEF\xBB\xBF" "url, Video_ID ,extra,title,file\r\n"
                    "https://www.youtube.com/watch?v=x1,aula1,\"ignored, really\",\"Aula 1: \"\"GPUs\"\", CPUs\",aulas/a 1.vtt\r\n"
                    "\r\n"
                    ",aula2,,\"Título com\r\nduas linhas\",./aulas//b.srt\r\n"
                    "https://example.org/c.mp4,aula3,x,,/abs/c.srt";
  const char *path = write_tmp(dir, "m.csv", csv);
  ASSERT(path);
  char mpath[700];
  snprintf(mpath, sizeof mpath, "%s", path);
  ar_manifest m;
  ar_error e;
  ASSERT_MSG(ar_manifest_load(mpath, &m, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(m.n, 3);
  ASSERT_STREQ(m.rows[0].video_id, "aula1");
  ASSERT_STREQ(m.rows[0].title, "Aula 1: \"GPUs\", CPUs");
  ASSERT_STREQ(m.rows[0].url, "https://www.youtube.com/watch?v=x1");
  ASSERT_STREQ(m.rows[0].file, "aulas/a 1.vtt");
  ASSERT_EQ_INT(m.rows[0].line, 2);
  char want[800];
  snprintf(want, sizeof want, "%s/aulas/a 1.vtt", dir);
  ASSERT_STREQ(m.rows[0].path, want);
  ASSERT(m.rows[0].real != NULL);
  ASSERT_STREQ(m.rows[1].title, "Título com\r\nduas linhas");
  ASSERT_STREQ(m.rows[1].url, "");
  ASSERT_EQ_INT(m.rows[1].line, 4);
  snprintf(want, sizeof want, "%s/aulas/b.srt", dir);
  ASSERT_STREQ(m.rows[1].path, want);
  ASSERT(m.rows[1].real == NULL);
  ASSERT_STREQ(m.rows[2].title, "aula3");   /* empty title -> video_id */
  ASSERT_STREQ(m.rows[2].path, "/abs/c.srt");
  ASSERT_EQ_INT(m.rows[2].line, 6);
  /* find by realpath: another spelling of the same file */
  char other[800];
  snprintf(other, sizeof other, "%s/aulas/../aulas/./a 1.vtt", dir);
  const ar_manifest_row *r = ar_manifest_find(&m, other);
  ASSERT(r && strcmp(r->video_id, "aula1") == 0);
  ASSERT(ar_manifest_find(&m, mpath) == NULL);
  ASSERT(ar_manifest_find(&m, "/abs/c.srt") == &m.rows[2]);   /* missing file: by normalised path */
  ar_manifest_free(&m);
}

static void expect_manifest_error(const char *csv, const char *want) {
  const char *dir = test_tmpdir();
  const char *path = write_tmp(dir, "bad.csv", csv);
  ASSERT(path);
  char full[800];
  snprintf(full, sizeof full, "%s:%s", path, want);
  ar_manifest m;
  ar_error e;
  ar_status st = ar_manifest_load(path, &m, &e);
  ASSERT_MSG(st == AR_ERR_PARSE, "status %d for: %s", st, want);
  ASSERT_MSG(strncmp(e.msg, full, strlen(full)) == 0, "got: %s\n    want: %s", e.msg, full);
  ASSERT(m.n == 0 && m.rows == NULL);
}
#define EXPECT_MANIFEST_ERROR(csv, want) do { expect_manifest_error(csv, want); if (test_failed_current) return; } while (0)

TEST(manifest_errors_name_file_and_line) {
  EXPECT_MANIFEST_ERROR("file,video_id,title,url\na.srt,a,\"Sem fim,\nb.srt,b,x,y\n", "2: unterminated quoted field");
  EXPECT_MANIFEST_ERROR("file,title,url\na.srt,x,y\n", "1: missing column 'video_id'");
  EXPECT_MANIFEST_ERROR("\n\nvideo_id,title\na,x\n", "3: missing column 'file'");
  EXPECT_MANIFEST_ERROR("file,video_id\na.srt,a\nb.srt,\n", "3: empty 'video_id'");
  EXPECT_MANIFEST_ERROR("file,video_id\na.srt,a\n\"b\nc.srt\",b\nd.srt,a\n", "5: duplicate video_id 'a' (first on line 2)");
  EXPECT_MANIFEST_ERROR("file,video_id\na.srt,a\n./a.srt,b\n", "3: file './a.srt' is listed twice");
  EXPECT_MANIFEST_ERROR("file,video_id,title\na.srt,a\n", "2: expected 3 fields like the header, got 2");
  EXPECT_MANIFEST_ERROR("file,video_id\n\"a.srt\"x,a\n", "2: expected ',' or the end of the line after a quoted field");
  EXPECT_MANIFEST_ERROR("", "1: empty manifest");
  EXPECT_MANIFEST_ERROR("file,video_id\na.srt,T\xEDtulo\n", "2: invalid UTF-8 at byte offset 21");
  EXPECT_MANIFEST_ERROR("file,video_id,file\na,b,c\n", "1: column 'file' appears twice");
}

TEST(manifest_missing_file_and_header_only) {
  ar_manifest m;
  ar_error e;
  ASSERT_EQ_INT(ar_manifest_load("/nonexistent/m.csv", &m, &e), AR_ERR_IO);
  ASSERT_MSG(strstr(e.msg, "/nonexistent/m.csv") != NULL, "%s", e.msg);
  const char *path = write_tmp(test_tmpdir(), "h.csv", "file,video_id,title,url\n");
  ASSERT_EQ_INT(ar_manifest_load(path, &m, &e), AR_OK);
  ASSERT_EQ_INT(m.n, 0);
  ar_manifest_free(&m);
}

TEST(manifest_out_of_memory_paths) {
  const char *path = write_tmp(test_tmpdir(), "o.csv", "file,video_id,title,url\na.srt,a,\"A, a\",u\nb.srt,b,B,\n");
  ASSERT(path);
  char p[700];
  snprintf(p, sizeof p, "%s", path);
  for (long k = 0; k < 200; k++) {
    ar_manifest m;
    ar_error e;
    ar_alloc_fail_after(k);
    ar_status st = ar_manifest_load(p, &m, &e);
    ar_alloc_fail_after(-1);
    if (st == AR_OK) { ASSERT_EQ_INT(m.n, 2); ar_manifest_free(&m); return; }
    ASSERT_MSG(st == AR_ERR_NOMEM, "k=%ld st=%d %s", k, st, e.msg);
  }
  ASSERT_MSG(0, "never succeeded");
}

TEST(manifest_fuzz_no_crash) {
  /* Mutated manifests: either a clean AR_ERR_PARSE naming file:line, or rows with a file and an id. */
  const char *seed = "file,video_id,title,url\r\na.srt,a,\"A, \"\"um\"\"\nb\",https://x/y\r\n\"b c.vtt\",b,B,\r\n";
  const char *dir = test_tmpdir();
  char path[700];
  snprintf(path, sizeof path, "%s/f.csv", dir);
  uint32_t x = 99;
  char buf[512];
  for (int it = 0; it < 1500; it++) {
    size_t n = strlen(seed);
    memcpy(buf, seed, n);
    for (int k = 0; k < 1 + it % 3; k++) {
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      size_t at = x % n;
      const char sym[] = ",\"\r\n a\xC3";
      if (x & 256) buf[at] = sym[(x >> 9) % (sizeof sym - 1)];
      else if (n > 1) { memmove(buf + at, buf + at + 1, n - at - 1); n--; }
    }
    FILE *f = fopen(path, "wb");   /* not ar_write_file_atomic: 1500 fsyncs are slow */
    ASSERT(f && fwrite(buf, 1, n, f) == n && fclose(f) == 0);
    ar_manifest m;
    ar_error e;
    ar_status st = ar_manifest_load(path, &m, &e);
    if (st != AR_OK) {
      ASSERT_MSG(st == AR_ERR_PARSE && strncmp(e.msg, path, strlen(path)) == 0 && e.msg[strlen(path)] == ':',
                 "iteration %d: %d %s", it, st, e.msg);
      continue;
    }
    for (size_t i = 0; i < m.n; i++) ASSERT(m.rows[i].file[0] && m.rows[i].video_id[0] && m.rows[i].line >= 2);
    ar_manifest_free(&m);
  }
}

TEST(manifest_courses) {
  const char *csv = "file,video_id,course,course_title,title\n"
                    "a.srt,a,ml,,A\n"
                    "b.srt,b,ml,\"Machine Learning, 2024\",B\n"
                    "c.srt,c,,,C\n"
                    "d.srt,d,db,,D\n";
  const char *path = write_tmp(test_tmpdir(), "c.csv", csv);
  ASSERT(path);
  ar_manifest m;
  ar_error e;
  ASSERT_MSG(ar_manifest_load(path, &m, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(m.n, 4);
  ASSERT_STREQ(m.rows[0].course, "ml");
  /* the course's title reaches every row of the course, whichever is ingested */
  ASSERT_STREQ(m.rows[0].course_title, "Machine Learning, 2024");
  ASSERT_STREQ(m.rows[1].course_title, "Machine Learning, 2024");
  ASSERT(m.rows[2].course == NULL && m.rows[2].course_title == NULL);   /* empty field: no course */
  ASSERT_STREQ(m.rows[3].course, "db");
  ASSERT(m.rows[3].course_title == NULL);                                /* untitled: the store keeps/uses the id */
  ar_manifest_free(&m);
  /* no course column: no course */
  path = write_tmp(test_tmpdir(), "n.csv", "file,video_id\na.srt,a\n");
  ASSERT(ar_manifest_load(path, &m, &e) == AR_OK);
  ASSERT(m.n == 1 && m.rows[0].course == NULL && m.rows[0].course_title == NULL);
  ar_manifest_free(&m);
}

TEST(manifest_course_errors) {
  EXPECT_MANIFEST_ERROR("file,video_id,course_title\na.srt,a,X\n", "1: column 'course_title' without a 'course' column");
  EXPECT_MANIFEST_ERROR("file,video_id,course,course_title\na.srt,a,ml,ML\nb.srt,b,,Orphan\n",
                        "3: course_title 'Orphan' on a row without a course");
  EXPECT_MANIFEST_ERROR("file,video_id,course,course_title\na.srt,a,ml,ML\nb.srt,b,db,DB\nc.srt,c,ml,\nd.srt,d,ml,Ml\n",
                        "5: course 'ml' is titled 'Ml' here but 'ML' on line 2");
  EXPECT_MANIFEST_ERROR("file,video_id,course,Course\na.srt,a,x,y\n", "1: column 'course' appears twice");
}

/* A catalog-sized manifest: duplicates and course titles are found however far apart their rows are. */
TEST(manifest_catalog_scale) {
  enum { N = 20000 };
  ar_buf b = {0};
  ar_buf_puts(&b, "file,video_id,course,course_title\n");
  for (int i = 0; i < N; i++)   /* course c<i/100>; each course's title only on its last row */
    ar_buf_printf(&b, "d%d/f%d.srt,v%d,c%d,%s\n", i % 7, i, i, i / 100, i % 100 == 99 ? "Título" : "");
  size_t ok_len = b.n;
  const char *path = write_tmp(test_tmpdir(), "big.csv", b.p);
  ASSERT(path);
  char p[700];
  snprintf(p, sizeof p, "%s", path);
  ar_manifest m;
  ar_error e;
  ASSERT_MSG(ar_manifest_load(p, &m, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(m.n, N);
  for (size_t i = 0; i < m.n; i++) ASSERT(m.rows[i].course_title && !strcmp(m.rows[i].course_title, "Título"));
  ar_manifest_free(&m);
  const char *tails[][2] = {{"x.srt,v3,c1,\n", "duplicate video_id 'v3' (first on line 5)"},
                            {"d0/./f0.srt,new,c1,\n", "file 'd0/./f0.srt' is listed twice (first on line 2)"},
                            {"y.srt,new,c150,Outro\n", "course 'c150' is titled 'Outro' here but 'Título' on line 15101"}};
  for (size_t t = 0; t < 3; t++) {
    b.n = ok_len;
    ar_buf_puts(&b, tails[t][0]);
    ASSERT(write_tmp(test_tmpdir(), "big.csv", b.p));
    snprintf(p, sizeof p, "%s", path);
    ASSERT_EQ_INT(ar_manifest_load(p, &m, &e), AR_ERR_PARSE);
    char want[200];
    snprintf(want, sizeof want, ":%d: %s", N + 2, tails[t][1]);
    ASSERT_MSG(strstr(e.msg, want), "got: %s\n    want: %s", e.msg, want);
  }
  ar_buf_free(&b);
}
