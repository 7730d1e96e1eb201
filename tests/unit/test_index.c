/* test_index.c - the SQLite index: schema, replace/unchanged semantics, FTS sync, lexical search,
 * query safety, results JSON/text, LLM cache, refusing foreign files. */
#include "test.h"
#include "core/util.h"
#include "index/index.h"
#include <jansson.h>

static char *tmp_path(const char *name) {
  static char p[4][512];
  static int i;
  i = (i + 1) % 4;
  snprintf(p[i], sizeof p[i], "%s/%s", test_tmpdir(), name);
  remove(p[i]);
  return p[i];
}

/* segments from (start, end, text) triples */
static ar_segments segs_of(int n, const double *t, const char *const *text) {
  ar_segments s = {0};
  s.v = ar_calloc((size_t)n, sizeof *s.v);
  s.n = s.cap = (size_t)n;
  for (int i = 0; i < n; i++) {
    s.v[i].start_s = t[2 * i];
    s.v[i].end_s = t[2 * i + 1];
    s.v[i].text = ar_strdup(text[i]);
  }
  return s;
}
static void segs_free(ar_segments *s) {
  for (size_t i = 0; i < s->n; i++) ar_free(s->v[i].text);
  ar_free(s->v);
}

static ar_index *open_new(const char *path, const char *lang) {
  ar_index_params p = ar_index_default_params();
  p.lang = lang;
  ar_index *ix = NULL;
  ar_error e;
  if (ar_index_open(path, p, &ix, &e) != AR_OK) { fprintf(stderr, "  open: %s\n", e.msg); return NULL; }
  return ix;
}

static const double T2[] = {0, 100, 70, 190};
static const char *const GPU[] = {
  "Quais são os dispositivos visíveis para o TensorFlow? Aqui a CPU e a GPU aparecem na lista.",
  "O prefetch do tf.data prepara o próximo lote na CPU enquanto a GPU treina."};
static const char *const BACKPROP[] = {
  "A retropropagação calcula o gradiente da função de custo em relação aos pesos.",
  "A regra da cadeia aparece em cada camada da rede neural."};

static ar_status put(ar_index *ix, const char *id, const char *url, const char *const *text, int *changed) {
  ar_segments s = segs_of(2, T2, text);
  ar_video v = {id, id, url, "mem", NULL, NULL};
  ar_error e;
  ar_status st = ar_index_put_video_ex(ix, &v, &s, changed, &e);
  if (st) fprintf(stderr, "  put: %s\n", e.msg);
  segs_free(&s);
  return st;
}

static int64_t top_id(ar_index *ix, const char *q, double *score) {
  ar_search_params sp = ar_search_default_params();
  ar_results r;
  ar_error e;
  if (ar_search(ix, q, &sp, &r, &e) != AR_OK) { fprintf(stderr, "  search: %s\n", e.msg); return -2; }
  int64_t id = r.n ? r.hits[0].corpus_id : -1;
  if (score && r.n) *score = r.hits[0].score;
  ar_results_free(&r);
  return id;
}

TEST(index_create_put_search) {
  ar_index *ix = open_new(tmp_path("a.db"), NULL);
  ASSERT(ix);
  int ch = -1;
  ASSERT_EQ_INT(put(ix, "gpu", "https://youtu.be/abc", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(ch, 1);
  ASSERT_EQ_INT(put(ix, "backprop", "", BACKPROP, &ch), AR_OK);
  ar_index_info in;
  ASSERT_EQ_INT(ar_index_info_get(ix, &in, NULL), AR_OK);
  ASSERT_EQ_INT(in.n_videos, 2);
  ASSERT_EQ_INT(in.n_segments, 4);
  ASSERT_EQ_INT(in.schema_version, AR_SCHEMA_VERSION);
  ASSERT_STREQ(in.lang, "pt");
  ASSERT(in.file_bytes > 0);
  /* paraphrase-ish question, different case/accents/inflection */
  ar_search_params sp = ar_search_default_params();
  sp.k = 3;
  ar_results r;
  ASSERT_EQ_INT(ar_search(ix, "quais DISPOSITIVOS sao visiveis no tensorflow", &sp, &r, NULL), AR_OK);
  ASSERT(r.n >= 1);
  ASSERT_EQ_INT(r.hits[0].corpus_id, 1);
  ASSERT_STREQ(r.hits[0].video_id, "gpu");
  ASSERT_STREQ(r.hits[0].url, "https://youtu.be/abc");
  ASSERT_EQ_INT(r.hits[0].rank, 1);
  ASSERT(r.hits[0].score > 0);
  ASSERT(isnan(r.hits[0].dense_score));
  ASSERT_EQ_INT(r.mode, AR_MODE_LEXICAL);
  for (size_t i = 1; i < r.n; i++) ASSERT(r.hits[i - 1].score >= r.hits[i].score);
  ar_results_free(&r);
  ASSERT_EQ_INT(top_id(ix, "Retropropagação do gradiente", NULL), 3);
  ASSERT_EQ_INT(ar_index_check(ix, NULL), AR_OK);
  ar_index_close(ix);
}

TEST(index_reput_unchanged_keeps_ids_changed_replaces) {
  ar_index *ix = open_new(tmp_path("b.db"), "pt");
  ASSERT(ix);
  int ch;
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(put(ix, "backprop", "", BACKPROP, &ch), AR_OK);
  /* same content, new URL: nothing re-inserted, URL refreshed */
  ASSERT_EQ_INT(put(ix, "gpu", "https://youtu.be/new", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(ch, 0);
  ASSERT_EQ_INT(top_id(ix, "dispositivos visíveis", NULL), 1);
  ar_search_params sp = ar_search_default_params();
  ar_results r;
  ASSERT_EQ_INT(ar_search(ix, "dispositivos visíveis", &sp, &r, NULL), AR_OK);
  ASSERT_STREQ(r.hits[0].url, "https://youtu.be/new");
  ar_results_free(&r);
  /* new content for "gpu": old rows and their FTS postings are gone, ids are new (never reused) */
  ASSERT_EQ_INT(put(ix, "gpu", "", BACKPROP, &ch), AR_OK);
  ASSERT_EQ_INT(ch, 1);
  ASSERT_EQ_INT(top_id(ix, "dispositivos visíveis", NULL), -1);
  ASSERT_EQ_INT(top_id(ix, "prefetch", NULL), -1);
  int64_t id = top_id(ix, "retropropagação", NULL);
  ASSERT(id == 3 || id == 5);
  ar_index_info in;
  ASSERT_EQ_INT(ar_index_info_get(ix, &in, NULL), AR_OK);
  ASSERT_EQ_INT(in.n_segments, 4);
  ASSERT_EQ_INT(in.n_videos, 2);
  sqlite3_stmt *q;
  ASSERT_EQ_INT(sqlite3_prepare_v2(ix->db, "SELECT min(s.id) FROM segments s JOIN videos v ON v.id=s.video"
                                   " WHERE v.video_id='gpu'", -1, &q, NULL), SQLITE_OK);
  ASSERT_EQ_INT(sqlite3_step(q), SQLITE_ROW);
  ASSERT_EQ_INT(sqlite3_column_int64(q, 0), 5);
  sqlite3_finalize(q);
  ASSERT_EQ_INT(ar_index_check(ix, NULL), AR_OK);
  ar_index_close(ix);
}

TEST(index_replacing_drops_vectors) {
  ar_index *ix = open_new(tmp_path("v.db"), NULL);
  ASSERT(ix);
  int ch;
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "INSERT INTO vectors SELECT id, x'00000000' FROM segments", 0, 0, 0), SQLITE_OK);
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  ar_index_info in;
  ASSERT_EQ_INT(ar_index_info_get(ix, &in, NULL), AR_OK);
  ASSERT_EQ_INT(in.n_vectors, 2);  /* unchanged: vectors kept */
  ASSERT_EQ_INT(put(ix, "gpu", "", BACKPROP, &ch), AR_OK);
  ASSERT_EQ_INT(ar_index_info_get(ix, &in, NULL), AR_OK);
  ASSERT_EQ_INT(in.n_vectors, 0);  /* replaced: stale vectors gone */
  ar_index_close(ix);
}

TEST(index_queries_with_fts_syntax_never_fail) {
  ar_index *ix = open_new(tmp_path("c.db"), NULL);
  ASSERT(ix);
  int ch;
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  static const char *const nasty[] = {
    "\"", "\"GPU", "GPU\"\"", "(GPU", "GPU)", "GPU AND", "OR GPU", "NOT", "NEAR(GPU CPU, 2)", "GPU*", "*",
    "-GPU", "text:GPU", "^GPU", "GPU + CPU", "{text}: GPU", "'; DROP TABLE segments; --", "a OR b AND c",
    "\xFF\xFE", "é?", "\t\n", "..", "GPU\\", "NEAR/3", "col : x", ":", "\"\"\"\"", "🙂 GPU 🙂"};
  for (size_t i = 0; i < AR_ARRAY_LEN(nasty); i++) {
    ar_search_params sp = ar_search_default_params();
    ar_results r;
    ar_error e = {0};
    ar_status st = ar_search(ix, nasty[i], &sp, &r, &e);
    ASSERT_MSG(st == AR_OK || st == AR_ERR_INVALID, "query <%s>: %s", nasty[i], e.msg);
    if (st == AR_OK) ar_results_free(&r);
  }
  ASSERT_EQ_INT(top_id(ix, "\"GPU\" AND (prefetch*", NULL), 2);
  /* a pasted wall of text: capped at the first 256 distinct terms, still answers */
  ar_buf big = {0};
  for (int i = 0; i < 3000; i++) ar_buf_printf(&big, "palavra%d ", i);
  char *expr = NULL;
  ASSERT_EQ_INT(ar_lexical_query(ix->query_an, big.p, &expr, NULL), AR_OK);
  int ors = 0;
  for (const char *c = expr; (c = strstr(c, " OR ")); c++) ors++;
  ASSERT_EQ_INT(ors, 255);
  ar_free(expr);
  ar_buf_puts(&big, " prefetch");
  ASSERT(top_id(ix, big.p, NULL) == -1);  /* terms past the cap are not searched */
  ar_buf_free(&big);
  /* only stop words: no hits, no error */
  ASSERT_EQ_INT(top_id(ix, "o que é isso?", NULL), -1);
  /* empty question is a usage error */
  ar_search_params sp = ar_search_default_params();
  ar_results r;
  ASSERT_EQ_INT(ar_search(ix, "   ", &sp, &r, NULL), AR_ERR_INVALID);
  sp.k = 0;
  ASSERT_EQ_INT(ar_search(ix, "GPU", &sp, &r, NULL), AR_ERR_INVALID);
  sp = ar_search_default_params();
  sp.mode = AR_MODE_DENSE;
  ar_error e;
  ASSERT(ar_search(ix, "GPU", &sp, &r, &e) != AR_OK);
  ASSERT(strstr(e.msg, "dense") != NULL);
  ar_index_close(ix);
}

TEST(index_refuses_foreign_and_newer_files) {
  ar_error e;
  ar_index *ix = NULL;
  const char *p = tmp_path("junk.db");
  ASSERT_EQ_INT(ar_write_file_atomic(p, "this is not a database, just text........................................"
                                        "...............................................", 120, NULL), AR_OK);
  ASSERT(ar_index_open(p, ar_index_default_params(), &ix, &e) != AR_OK);
  ASSERT(strstr(e.msg, "not an aularag index") && strstr(e.msg, "junk.db"));
  /* a SQLite file of something else */
  p = tmp_path("other.db");
  sqlite3 *db;
  ASSERT_EQ_INT(sqlite3_open(p, &db), SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", 0, 0, 0);
  sqlite3_close(db);
  ASSERT_EQ_INT(ar_index_open(p, ar_index_default_params(), &ix, &e), AR_ERR_MISMATCH);
  ASSERT(strstr(e.msg, "not an aularag index"));
  /* a newer schema */
  p = tmp_path("newer.db");
  ix = open_new(p, NULL);
  ASSERT(ix);
  ar_index_close(ix);
  ASSERT_EQ_INT(sqlite3_open(p, &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version=99", 0, 0, 0);
  sqlite3_close(db);
  ASSERT_EQ_INT(ar_index_open(p, ar_index_default_params(), &ix, &e), AR_ERR_MISMATCH);
  ASSERT(strstr(e.msg, "newer"));
  /* missing file, read-only */
  ar_index_params ro = ar_index_default_params();
  ro.read_only = 1;
  ASSERT_EQ_INT(ar_index_open(tmp_path("missing.db"), ro, &ix, &e), AR_ERR_NOTFOUND);
  /* language fixed at creation */
  p = tmp_path("en.db");
  ix = open_new(p, "en");
  ASSERT(ix);
  ar_index_close(ix);
  ar_index_params pp = ar_index_default_params();
  pp.lang = "pt";
  ASSERT_EQ_INT(ar_index_open(p, pp, &ix, &e), AR_ERR_MISMATCH);
  pp.lang = NULL;
  ASSERT_EQ_INT(ar_index_open(p, pp, &ix, &e), AR_OK);
  ar_index_info in;
  ASSERT_EQ_INT(ar_index_info_get(ix, &in, NULL), AR_OK);
  ASSERT_STREQ(in.lang, "en");
  ar_index_close(ix);
}

TEST(index_stale_analyzer_is_rebuilt) {
  const char *p = tmp_path("stale.db");
  ar_index *ix = open_new(p, NULL);
  ASSERT(ix);
  int ch;
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(ar_index_meta_set(ix, "analyzer", "old", NULL), AR_OK);
  /* simulate postings made by another analysis: wipe them */
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "DELETE FROM lex_pages; DELETE FROM lex_runs", 0, 0, 0), SQLITE_OK);
  ASSERT_EQ_INT(top_id(ix, "dispositivos", NULL), -1);
  ar_index_close(ix);
  /* a read-only open rebuilds through a short-lived writable connection, then reads */
  ar_index_params ro = ar_index_default_params();
  ro.read_only = 1;
  ar_error e;
  ASSERT_EQ_INT(ar_index_open(p, ro, &ix, &e), AR_OK);
  ASSERT_EQ_INT(top_id(ix, "dispositivos", NULL), 1);
  ar_index_close(ix);
  ix = open_new(p, NULL);
  ASSERT(ix);
  ASSERT_EQ_INT(top_id(ix, "dispositivos", NULL), 1);
  ASSERT_EQ_INT(ar_index_check(ix, NULL), AR_OK);
  ar_index_close(ix);
}

TEST(index_made_with_snowball_analysis_is_reanalysed) {
  /* analysis 3 (the light Portuguese stemmer) replaced analysis 2 (Snowball): an index that says
   * analysis 2 is re-analysed at open, and the meta says analysis 3 afterwards */
  const char *p = tmp_path("analysis2.db");
  ar_index *ix = open_new(p, NULL);
  ASSERT(ix);
  int ch;
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(ar_index_meta_set(ix, "analyzer", "aularag-analysis-2", NULL), AR_OK);
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "DELETE FROM lex_pages; DELETE FROM lex_runs", 0, 0, 0), SQLITE_OK);
  ar_index_close(ix);
  ix = open_new(p, NULL);
  ASSERT(ix);
  char *an = NULL;
  ASSERT_EQ_INT(ar_index_meta_get(ix, "analyzer", &an, NULL), AR_OK);
  ASSERT_STREQ(an, AR_ANALYZER_VERSION);
  ar_free(an);
  ASSERT_EQ_INT(top_id(ix, "dispositivos", NULL), 1);
  ar_index_close(ix);
}

TEST(index_llm_cache) {
  ar_index *ix = open_new(tmp_path("cache.db"), NULL);
  ASSERT(ix);
  char *v = (char *)1;
  ASSERT_EQ_INT(ar_index_cache_get(ix, "k1", &v, NULL), AR_OK);
  ASSERT(v == NULL);
  ASSERT_EQ_INT(ar_index_cache_put(ix, "k1", "{\"a\":1}", NULL), AR_OK);
  ASSERT_EQ_INT(ar_index_cache_put(ix, "k1", "{\"a\":2}", NULL), AR_OK);
  ASSERT_EQ_INT(ar_index_cache_get(ix, "k1", &v, NULL), AR_OK);
  ASSERT_STREQ(v, "{\"a\":2}");
  ar_free(v);
  ar_index_close(ix);
}

TEST(index_put_rejects_bad_segments) {
  ar_index *ix = open_new(tmp_path("bad.db"), NULL);
  ASSERT(ix);
  double t[] = {10, 5};
  const char *txt[] = {"x"};
  ar_segments s = segs_of(1, t, txt);
  ar_video v = {"v", "v", "", "src.srt", NULL, NULL};
  ar_error e;
  ASSERT_EQ_INT(ar_index_put_video(ix, &v, &s, &e), AR_ERR_INVALID);
  ASSERT(strstr(e.msg, "src.srt"));
  segs_free(&s);
  ar_video nov = {"", "", "", "", NULL, NULL};
  ar_segments none = {0};
  ASSERT_EQ_INT(ar_index_put_video(ix, &nov, &none, &e), AR_ERR_INVALID);
  ar_index_close(ix);
}

TEST(results_json_and_text_formats) {
  char b[32];
  ar_format_double(0.8849621415138245, b);
  ASSERT_STREQ(b, "0.8849621415138245");
  ar_format_double(0.1, b);
  ASSERT_STREQ(b, "0.1");
  ar_format_double(7.0, b);
  ASSERT_STREQ(b, "7");
  ar_hit h[2];
  memset(h, 0, sizeof h);
  h[0] = (ar_hit){1, 6844, 0.8849621415138245, 0.8849621415138245, NAN, 1, 0,
                  "v1", "Aula 1", "https://www.youtube.com/watch?v=abc", "Quais são os devices", 110.5, 239.9, 0, 0};
  h[1] = (ar_hit){2, 7, 0.5, 0.5, NAN, 2, 0, "v2", "Aula 2", "", "bad \xFF byte", 0, 61, 0, 0};
  ar_results r = {h, 2, AR_MODE_LEXICAL, "q?"};
  char *t = ar_results_to_text(&r, 0);
  ASSERT_STREQ(t, "- *Corpus ID:* 6844\n- *Score:* 0.8849621415138245\n"
                  "- *URL:* https://www.youtube.com/watch?v=abc&t=110\n- *Início:* 00:01:50\n- *Fim:* 00:03:59\n"
                  "- *Transcrição:* Quais são os devices\n\n- *Corpus ID:* 7\n- *Score:* 0.5\n- *URL:* \n"
                  "- *Início:* 00:00:00\n- *Fim:* 00:01:01\n- *Transcrição:* bad \xFF byte\n");
  free(t);
  t = ar_results_to_text(&r, 1);
  ASSERT(strstr(t, "- *URL:* oculto\n"));
  free(t);
  char *j = ar_results_to_json(&r, 0);
  ASSERT(j);
  json_error_t je;
  json_t *o = json_loads(j, 0, &je);
  ASSERT_MSG(o, "%s", je.text);
  ASSERT_STREQ(json_string_value(json_object_get(o, "query")), "q?");
  ASSERT_STREQ(json_string_value(json_object_get(o, "mode")), "lexical");
  json_t *s0 = json_array_get(json_object_get(o, "segments"), 0);
  ASSERT_EQ_INT(json_integer_value(json_object_get(s0, "rank")), 1);
  ASSERT_EQ_INT(json_integer_value(json_object_get(s0, "corpus_id")), 6844);
  ASSERT(json_real_value(json_object_get(s0, "score")) == 0.8849621415138245);
  ASSERT(json_real_value(json_object_get(s0, "lexical_score")) == 0.8849621415138245);
  ASSERT(json_object_get(s0, "dense_score") == NULL);
  ASSERT_STREQ(json_string_value(json_object_get(s0, "start_hms")), "00:01:50");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "end_hms")), "00:03:59");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "link")), "https://www.youtube.com/watch?v=abc&t=110");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "title")), "Aula 1");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "video_id")), "v1");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "text")), "Quais são os devices");
  ASSERT_NEAR(json_real_value(json_object_get(s0, "start")), 110.5, 0);
  json_t *s1 = json_array_get(json_object_get(o, "segments"), 1);
  ASSERT_STREQ(json_string_value(json_object_get(s1, "text")), "bad \xEF\xBF\xBD byte");
  json_decref(o);
  free(j);
  j = ar_results_to_json(&r, 1);
  o = json_loads(j, 0, &je);
  s0 = json_array_get(json_object_get(o, "segments"), 0);
  ASSERT(json_is_null(json_object_get(s0, "url")) && json_is_null(json_object_get(s0, "link")));
  json_decref(o);
  free(j);
}

/* ---- ar_ingest through the library ---- */
static void write_file(const char *dir, const char *name, const char *text) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  if (f) { fputs(text, f); fclose(f); }
}

static const char *ingest_dir(void) {
  static char d[512];
  snprintf(d, sizeof d, "%s/ingest_in", test_tmpdir());
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/sub'", d);
  if (system(cmd) != 0) return NULL;
  write_file(d, "a.srt", "1\n00:00:01,000 --> 00:00:05,000\nOs dispositivos visíveis do TensorFlow.\n\n"
                         "2\n00:00:06,000 --> 00:00:09,000\nA GPU aparece na lista.\n");
  write_file(d, "sub/b.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nA retropropagação calcula gradientes.\n");
  write_file(d, "sub/c.srt", "1\n00:00:01,000 --> garbage\nnope\n");
  write_file(d, "notes.txt", "ignored");
  return d;
}

struct cb { int warns, progress, abort_at; char last_warn[1024]; };
static void on_warn(const ar_error *e, void *ud) {
  struct cb *c = ud;
  c->warns++;
  snprintf(c->last_warn, sizeof c->last_warn, "%s", e->msg);
}
static int on_progress(const ar_progress *p, void *ud) {
  struct cb *c = ud;
  c->progress++;
  return c->abort_at && c->progress >= c->abort_at;
}

TEST(ingest_reports_bad_files_and_goes_on) {
  const char *d = ingest_dir();
  ASSERT(d);
  ar_index *ix = open_new(tmp_path("ing.db"), NULL);
  ASSERT(ix);
  struct cb c = {0};
  ar_ingest_params p = ar_ingest_default_params();
  p.warn = on_warn;
  p.progress = on_progress;
  p.user_data = &c;
  ar_ingest_stats s;
  ar_error e;
  const char *paths[] = {d};
  ASSERT_EQ_INT(ar_ingest(ix, paths, 1, &p, &s, &e), AR_ERR_PARSE);
  ASSERT_EQ_INT(s.files_ok, 2);
  ASSERT_EQ_INT(s.files_failed, 1);
  ASSERT_EQ_INT(s.cues, 3);
  ASSERT_EQ_INT(c.warns, 1);
  ASSERT_MSG(strstr(c.last_warn, "c.srt:2"), "%s", c.last_warn);
  ASSERT(c.progress >= 3);
  ASSERT_EQ_INT(top_id(ix, "retropropagação", NULL), 2);  /* a.srt -> 1, sub/b.vtt -> 2: sorted walk */
  /* again: unchanged */
  c = (struct cb){0};
  ASSERT_EQ_INT(ar_ingest(ix, paths, 1, &p, &s, &e), AR_ERR_PARSE);
  ASSERT_EQ_INT(s.files_unchanged, 2);
  ASSERT_EQ_INT(s.files_ok, 0);
  /* abort from the progress callback */
  c = (struct cb){0};
  c.abort_at = 2;
  ASSERT_EQ_INT(ar_ingest(ix, paths, 1, &p, &s, &e), AR_ERR_ABORTED);
  /* read-only and nothing-to-do are errors */
  const char *none[] = {NULL};
  ASSERT_EQ_INT(ar_ingest(ix, none, 0, &p, &s, &e), AR_ERR_INVALID);
  ASSERT_EQ_INT(ar_index_check(ix, NULL), AR_OK);
  ar_index_close(ix);
}

TEST(ingest_and_search_survive_allocation_failures) {
  const char *d = ingest_dir();
  ASSERT(d);
  const char *paths[] = {d};
  int ok_at = -1;
  for (long n = 0; n < 2000 && ok_at < 0; n += (n < 200 ? 1 : 7)) {
    ar_index *ix = open_new(tmp_path("oom.db"), NULL);
    ASSERT(ix);
    ar_ingest_params p = ar_ingest_default_params();
    ar_ingest_stats s;
    ar_error e;
    ar_alloc_fail_after(n);
    ar_status st = ar_ingest(ix, paths, 1, &p, &s, &e);
    ar_results r;
    ar_search_params sp = ar_search_default_params();
    ar_status st2 = ar_search(ix, "dispositivos visíveis GPU", &sp, &r, &e);
    ar_alloc_fail_after(-1);
    if (st2 == AR_OK) ar_results_free(&r);
    ASSERT_MSG(st == AR_OK || st == AR_ERR_PARSE || st == AR_ERR_NOMEM || st == AR_ERR_DB, "n=%ld st=%d", n, st);
    /* whatever failed, the file is consistent */
    ASSERT_MSG(ar_index_check(ix, &e) == AR_OK, "n=%ld: %s", n, e.msg);
    if (st == AR_ERR_PARSE && st2 == AR_OK) ok_at = (int)n;
    ar_index_close(ix);
  }
  ASSERT(ok_at > 0);
  if (getenv("AR_DEBUG_OOM")) fprintf(stderr, "  first success at allocation %d\n", ok_at);
}

TEST(ar_bm25_equals_fts5_bm25_with_fts5_idf) {
  ar_index *ix = open_new(tmp_path("bm25.db"), NULL);
  ASSERT(ix);
  int ch;
  ASSERT_EQ_INT(put(ix, "gpu", "", GPU, &ch), AR_OK);
  ASSERT_EQ_INT(put(ix, "backprop", "", BACKPROP, &ch), AR_OK);
  ASSERT_EQ_INT(ar_fts_build(ix, NULL), AR_OK);
  /* SQLite's own bm25() is the reference */
  sqlite3_stmt *q;
  ASSERT_EQ_INT(sqlite3_prepare_v2(ix->db, "SELECT rowid, bm25(fts), ar_bm25(fts, 1.2, 0.75), ar_bm25(fts, 2.0, 0.3),"
                                   " ar_bm25(fts, 1.2, 0.75, 1) FROM fts WHERE fts MATCH ?1", -1, &q, NULL), SQLITE_OK);
  sqlite3_bind_text(q, 1, "\"gpu\" OR \"cpu\" OR \"gradiente\" OR \"camada\"", -1, SQLITE_STATIC);
  int rows = 0, differ = 0;
  while (sqlite3_step(q) == SQLITE_ROW) {
    rows++;
    ASSERT_NEAR(sqlite3_column_double(q, 2), sqlite3_column_double(q, 1), 1e-12);
    differ |= fabs(sqlite3_column_double(q, 3) - sqlite3_column_double(q, 1)) > 1e-9;
    /* Lucene idf is larger than FTS5's (ln(1 + r) > ln r), so scores are more negative */
    ASSERT(sqlite3_column_double(q, 4) < sqlite3_column_double(q, 2));
  }
  sqlite3_finalize(q);
  ASSERT_EQ_INT(rows, 4);
  ASSERT(differ);  /* other parameters do change the scores */
  ar_index_close(ix);
}

/* The hand-written JSON writer escapes what JSON requires and keeps reals real (checked with
 * jansson as an independent parser). */
TEST(results_json_escapes_and_reals) {
  ar_hit h;
  memset(&h, 0, sizeof h);
  h = (ar_hit){1, 3, 1.0 / 3.0, NAN, 0.25, 0, 4, "id\"q", "t\\b", "https://example.org/a.mp4",
               "x\"y\\z\n\t\r\x01\x1f \xC3\xA7 \xE2\x96\x81", 61, 1357.92, 0, 0};
  ar_results r = {&h, 1, AR_MODE_DENSE, "q\x02\"?"};
  char *j = ar_results_to_json(&r, 0);
  ASSERT(j);
  json_error_t je;
  json_t *o = json_loads(j, 0, &je);
  ASSERT_MSG(o, "%s in %s", je.text, j);
  ASSERT_STREQ(json_string_value(json_object_get(o, "query")), "q\x02\"?");
  json_t *s0 = json_array_get(json_object_get(o, "segments"), 0);
  ASSERT_STREQ(json_string_value(json_object_get(s0, "text")), "x\"y\\z\n\t\r\x01\x1f \xC3\xA7 \xE2\x96\x81");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "video_id")), "id\"q");
  ASSERT_STREQ(json_string_value(json_object_get(s0, "title")), "t\\b");
  ASSERT(json_is_real(json_object_get(s0, "start")) && json_real_value(json_object_get(s0, "start")) == 61.0);
  ASSERT(json_real_value(json_object_get(s0, "end")) == 1357.92);
  ASSERT(json_real_value(json_object_get(s0, "score")) == 1.0 / 3.0);
  ASSERT(json_object_get(s0, "lexical_score") == NULL);
  ASSERT(json_real_value(json_object_get(s0, "dense_score")) == 0.25);
  ASSERT_EQ_INT(json_integer_value(json_object_get(s0, "dense_rank")), 4);
  ASSERT_STREQ(json_string_value(json_object_get(s0, "link")), "https://example.org/a.mp4#t=61");
  ASSERT(strstr(j, "\"end\":1357.92,"));   /* shortest round-trip form, not 1357.9200000000001 */
  json_decref(o);
  free(j);
}
