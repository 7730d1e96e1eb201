/* test_lexsearch.c - the exact lexical top-k (src/index/lexsearch.c, postings.c) against an
 * independent exhaustive BM25 written here from the segments' text and ar_analyze, on random
 * indexes (Zipf vocabulary, random lengths, re-ingested and emptied videos, enough segments for
 * merges and bound blocks) and random queries; plus `info --check` catching damage and the
 * schema-1 upgrade. */
#include "test.h"
#include "core/util.h"
#include "index/index.h"
#include "index/postings.h"
#include <sqlite3.h>

/* ---- the reference: every segment scored, in query-term order -------------------------------- */

typedef struct { char *term; int doc, tf; } ref_post;
typedef struct {
  int64_t *ids;
  int *dl;
  int n_docs;
  ref_post *p;
  size_t n_p, cap_p;
  int64_t total;
} ref_index;

typedef struct { char **t; int n, cap; } strlist;

static int collect(void *ud, const char *term, int len, int start, int end) {
  (void)start; (void)end;
  strlist *l = ud;
  if (l->n == l->cap) { l->cap = l->cap ? 2 * l->cap : 64; l->t = realloc(l->t, (size_t)l->cap * sizeof *l->t); }
  l->t[l->n++] = strndup(term, (size_t)len);
  return 0;
}
static void strlist_free(strlist *l) { for (int i = 0; i < l->n; i++) free(l->t[i]); free(l->t); }
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_post(const void *a, const void *b) {
  const ref_post *x = a, *y = b;
  int c = strcmp(x->term, y->term);
  return c ? c : x->doc - y->doc;
}

static void ref_build(ar_index *ix, ref_index *r) {
  memset(r, 0, sizeof *r);
  ar_analyzer *an = NULL;
  ar_analyzer_new("pt", 0, &an, NULL);
  sqlite3_stmt *q = NULL;
  sqlite3_prepare_v2(ix->db, "SELECT id, text FROM segments ORDER BY id", -1, &q, NULL);
  int cap = 0;
  while (sqlite3_step(q) == SQLITE_ROW) {
    if (r->n_docs == cap) {
      cap = cap ? 2 * cap : 256;
      r->ids = realloc(r->ids, (size_t)cap * sizeof *r->ids);
      r->dl = realloc(r->dl, (size_t)cap * sizeof *r->dl);
    }
    const char *text = (const char *)sqlite3_column_text(q, 1);
    strlist l = {0};
    ar_analyze(an, text, strlen(text), collect, &l);
    if (l.n) qsort(l.t, (size_t)l.n, sizeof *l.t, cmp_str);
    int d = r->n_docs++;
    r->ids[d] = sqlite3_column_int64(q, 0);
    r->dl[d] = l.n;
    r->total += l.n;
    for (int i = 0; i < l.n;) {
      int j = i;
      while (j < l.n && !strcmp(l.t[i], l.t[j])) j++;
      if (r->n_p == r->cap_p) { r->cap_p = r->cap_p ? 2 * r->cap_p : 1024; r->p = realloc(r->p, r->cap_p * sizeof *r->p); }
      r->p[r->n_p++] = (ref_post){strdup(l.t[i]), d, j - i};
      i = j;
    }
    strlist_free(&l);
  }
  sqlite3_finalize(q);
  qsort(r->p, r->n_p, sizeof *r->p, cmp_post);
  ar_analyzer_free(an);
}

static void ref_free(ref_index *r) {
  for (size_t i = 0; i < r->n_p; i++) free(r->p[i].term);
  free(r->p); free(r->ids); free(r->dl);
}

typedef struct { int64_t id; double score; } ref_hit;
static int cmp_hit(const void *a, const void *b) {
  const ref_hit *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* top-k of BM25 (k1 1.2, b 0.75, Lucene idf) over every segment, as ar_bm25 computes it */
static size_t ref_search(const ref_index *r, const char *question, int k, const ar_idfilter *f, ref_hit *out) {
  static ar_analyzer *an;
  if (!an) ar_analyzer_new("pt", 0, &an, NULL);
  strlist all = {0};
  ar_analyze(an, question, strlen(question), collect, &all);
  char *terms[256];
  int m = 0;
  for (int i = 0; i < all.n && m < 256; i++) {
    int dup = 0;
    for (int j = 0; j < m; j++) dup |= !strcmp(terms[j], all.t[i]);
    if (!dup) terms[m++] = all.t[i];
  }
  double *score = calloc((size_t)r->n_docs + 1, sizeof *score);
  char *hit = calloc((size_t)r->n_docs + 1, 1);
  double avgdl = r->n_docs ? (double)r->total / r->n_docs : 1.0, k1 = 1.2, b = 0.75;
  for (int i = 0; i < m; i++) {
    size_t lo = 0, hi = r->n_p;
    while (lo < hi) { size_t mid = (lo + hi) / 2; if (strcmp(r->p[mid].term, terms[i]) < 0) lo = mid + 1; else hi = mid; }
    size_t end = lo;
    while (end < r->n_p && !strcmp(r->p[end].term, terms[i])) end++;
    double n_hit = (double)(end - lo), x = ((double)r->n_docs - n_hit + 0.5) / (n_hit + 0.5);
    double idf = log1p(x) <= 0.0 ? 1e-6 : log1p(x);
    for (size_t p = lo; p < end; p++) {
      int d = r->p[p].doc;
      double freq = r->p[p].tf, norm = k1 * (1 - b + b * (double)r->dl[d] / avgdl);
      score[d] += idf * freq * (k1 + 1) / (freq + norm);
      hit[d] = 1;
    }
  }
  ref_hit *all_hits = malloc(((size_t)r->n_docs + 1) * sizeof *all_hits);
  size_t n = 0;
  for (int d = 0; d < r->n_docs; d++)
    if (hit[d] && ar_idfilter_has(f, r->ids[d])) all_hits[n++] = (ref_hit){r->ids[d], score[d]};
  qsort(all_hits, n, sizeof *all_hits, cmp_hit);
  if (n > (size_t)k) n = (size_t)k;
  memcpy(out, all_hits, n * sizeof *out);
  free(all_hits); free(score); free(hit);
  strlist_free(&all);
  return n;
}

/* ---- random courses ---------------------------------------------------------------------------- */

typedef struct { char **w; int n; double *cdf; } vocab;

static void vocab_make(vocab *v, int n, uint64_t *rng) {
  v->n = n;
  v->w = malloc((size_t)n * sizeof *v->w);
  v->cdf = malloc((size_t)n * sizeof *v->cdf);
  double acc = 0;
  for (int i = 0; i < n; i++) {
    int len = 3 + (int)(ar_rng_next(rng) % 8);
    v->w[i] = malloc((size_t)len + 1);
    for (int c = 0; c < len; c++) v->w[i][c] = (char)('a' + ar_rng_next(rng) % 26);
    v->w[i][len] = 0;
    v->cdf[i] = acc += 1.0 / pow(i + 1, 1.05);  /* Zipf */
  }
  /* a few real words, stop words among them, and an accented one */
  const char *real[] = {"de", "que", "o", "derivada", "função", "funções", "matriz", "vetor", "não"};
  for (size_t i = 0; i < sizeof real / sizeof *real && (int)i < n; i++) { free(v->w[i * 7]); v->w[i * 7] = strdup(real[i]); }
}
static const char *vocab_pick(const vocab *v, uint64_t *rng) {
  double u = ar_rng_unit(rng) * v->cdf[v->n - 1];
  int lo = 0, hi = v->n - 1;
  while (lo < hi) { int mid = (lo + hi) / 2; if (v->cdf[mid] < u) lo = mid + 1; else hi = mid; }
  return v->w[lo];
}
static void vocab_free(vocab *v) { for (int i = 0; i < v->n; i++) free(v->w[i]); free(v->w); free(v->cdf); }

static char *random_text(const vocab *v, int words, uint64_t *rng) {
  ar_buf b = {0};
  for (int i = 0; i < words; i++) {
    ar_buf_puts(&b, vocab_pick(v, rng));
    ar_buf_puts(&b, i % 9 == 8 ? ". " : " ");
  }
  return ar_buf_steal(&b);
}

static int put_random_video(ar_index *ix, const char *id, int n_segs, const vocab *v, uint64_t *rng) {
  ar_segments s = {0};
  s.v = ar_calloc((size_t)n_segs + 1, sizeof *s.v);
  s.n = s.cap = (size_t)n_segs;
  for (int i = 0; i < n_segs; i++) {
    s.v[i].start_s = i * 90.0;
    s.v[i].end_s = i * 90.0 + 120;
    int words = ar_rng_next(rng) % 10 == 0 ? (int)(ar_rng_next(rng) % 4) : 5 + (int)(ar_rng_next(rng) % 160);
    s.v[i].text = random_text(v, words, rng);
  }
  ar_video vid = {.video_id = id, .title = id, .url = "", .source_path = "mem"};
  ar_error e;
  ar_status st = ar_index_put_video(ix, &vid, &s, &e);
  if (st) fprintf(stderr, "  put: %s\n", e.msg);
  for (int i = 0; i < n_segs; i++) ar_free(s.v[i].text);
  ar_free(s.v);
  return st == AR_OK;
}

static ar_index *open_path(const char *path, int read_only) {
  ar_index_params p = ar_index_default_params();
  p.read_only = read_only;
  ar_index *ix = NULL;
  ar_error e;
  if (ar_index_open(path, p, &ix, &e) != AR_OK) { fprintf(stderr, "  open: %s\n", e.msg); return NULL; }
  return ix;
}

/* builds a course of n_videos, re-ingesting or emptying some of them as it goes */
static ar_index *random_course(const char *path, int n_videos, const vocab *v, uint64_t *rng) {
  remove(path);
  ar_index *ix = open_path(path, 0);
  if (!ix) return NULL;
  char id[32];
  for (int i = 0; i < n_videos; i++) {
    snprintf(id, sizeof id, "v%d", i);
    if (!put_random_video(ix, id, 1 + (int)(ar_rng_next(rng) % 30), v, rng)) { ar_index_close(ix); return NULL; }
    if (i > 3 && ar_rng_next(rng) % 5 == 0) {
      /* replace an earlier video, or empty it (a video with no segments) */
      snprintf(id, sizeof id, "v%d", (int)(ar_rng_next(rng) % (uint64_t)i));
      int n = ar_rng_next(rng) % 4 == 0 ? 0 : 1 + (int)(ar_rng_next(rng) % 30);
      if (!put_random_video(ix, id, n, v, rng)) { ar_index_close(ix); return NULL; }
    }
  }
  return ix;
}

/* One question compared at several k, with and without filters: same ids, same order,
 * bit-identical scores. Returns 0 and says why on a difference. */
static int same_as_reference(ar_index *ix, const ref_index *r, const char *question, const ar_idfilter *f) {
  static const int ks[] = {1, 10, 50, 100000};
  ref_hit *want = malloc(((size_t)r->n_docs + 1) * sizeof *want);
  int ok = 1;
  for (size_t ki = 0; ok && ki < sizeof ks / sizeof *ks; ki++) {
    size_t nw = ref_search(r, question, ks[ki], f, want);
    ar_cand *got = NULL;
    size_t ng = 0;
    ar_error e;
    if (ar_lexical_search(ix, question, ks[ki], f, &got, &ng, &e) != AR_OK) {
      fprintf(stderr, "  search failed: %s\n", e.msg);
      ok = 0;
    } else if (ng != nw) {
      fprintf(stderr, "  k=%d filter=%d: %zu hits, reference %zu for \"%.60s\"\n", ks[ki], f != NULL, ng, nw, question);
      ok = 0;
    } else {
      for (size_t i = 0; ok && i < ng; i++)
        if (got[i].id != want[i].id || memcmp(&got[i].score, &want[i].score, sizeof(double)) != 0) {
          fprintf(stderr, "  k=%d filter=%d rank %zu: id %lld score %.17g, reference id %lld score %.17g (\"%.60s\")\n",
                  ks[ki], f != NULL, i, (long long)got[i].id, got[i].score, (long long)want[i].id, want[i].score, question);
          ok = 0;
        }
    }
    ar_free(got);
  }
  free(want);
  return ok;
}

TEST(lexsearch_equals_exhaustive_bm25_on_random_courses) {
  uint64_t rng = 20261205;
  vocab v;
  vocab_make(&v, 4000, &rng);
  char path[512];
  snprintf(path, sizeof path, "%s/lexrand.db", test_tmpdir());
  int rounds = test_slow() ? 4 : 1;
  /* a tiny cache budget: terms are evicted (least recently used) between most queries */
  ar_lex_test_cache_budget(64 << 10);
  for (int round = 0; round < rounds; round++) {
    ar_index *ix = random_course(path, test_slow() ? 260 : 150, &v, &rng);
    ASSERT(ix);
    ref_index r;
    ref_build(ix, &r);
    ASSERT(r.n_docs > 1200);
    int64_t *runs = NULL;
    int n_runs = 0;
    ASSERT_EQ_INT(ar_lex_runs(ix, &runs, &n_runs, NULL), AR_OK);
    ar_free(runs);
    ASSERT(n_runs < 150 / 4);  /* merges happened */
    /* filters: about a third of the ids, and one video's ids */
    int64_t max_id = r.ids[r.n_docs - 1] + 1;
    uint64_t *bits = calloc((size_t)(max_id / 64 + 1), 8), *one = calloc((size_t)(max_id / 64 + 1), 8);
    for (int d = 0; d < r.n_docs; d++)
      if (ar_rng_next(&rng) % 3 == 0) bits[r.ids[d] >> 6] |= 1ull << (r.ids[d] & 63);
    for (int d = r.n_docs / 2; d < r.n_docs / 2 + 12 && d < r.n_docs; d++) one[r.ids[d] >> 6] |= 1ull << (r.ids[d] & 63);
    ar_idfilter fa = {bits, max_id}, fb = {one, max_id};
    int n_q = test_slow() ? 300 : 35;
    for (int qi = 0; qi < n_q; qi++) {
      char *question;
      switch (qi % 7) {
      case 0: question = strdup(vocab_pick(&v, &rng)); break;                                   /* one term */
      case 1: question = random_text(&v, 600, &rng); break;                                     /* > 256 terms */
      case 2: question = strdup("de que o não, que de?"); break;                                 /* stop words */
      case 3: { const char *w = vocab_pick(&v, &rng), *x = v.w[ar_rng_next(&rng) % (uint64_t)v.n];
                ar_buf b = {0}; ar_buf_printf(&b, "%s %s %s %s zzqxw", w, x, w, w); question = ar_buf_steal(&b); break; }
      case 4: question = strdup("qqqzzz xxyyzz"); break;                                         /* absent */
      case 5: question = strdup(v.w[v.n - 1 - (int)(ar_rng_next(&rng) % 500)]); break;         /* rare */
      default: question = random_text(&v, 2 + (int)(ar_rng_next(&rng) % 12), &rng); break;
      }
      int ok = same_as_reference(ix, &r, question, NULL) && same_as_reference(ix, &r, question, &fa) &&
               same_as_reference(ix, &r, question, &fb);
      free(question);
      ASSERT(ok);
    }
    /* the FTS5 path (the exhaustive scorer before schema 2) gives the same scores, rank by rank */
    ASSERT_EQ_INT(ar_fts_build(ix, NULL), AR_OK);
    for (int qi = 0; qi < 20; qi++) {
      char *question = random_text(&v, 1 + qi % 8, &rng);
      ar_cand *a = NULL, *b = NULL;
      size_t na = 0, nb = 0;
      ASSERT_EQ_INT(ar_lexical_search(ix, question, 30, NULL, &a, &na, NULL), AR_OK);
      ASSERT_EQ_INT(ar_lexical_search_fts(ix, question, 30, NULL, &b, &nb, NULL), AR_OK);
      ASSERT_EQ_INT(na, nb);
      for (size_t i = 0; i < na; i++) ASSERT_MSG(a[i].score == b[i].score, "rank %zu: %.17g vs FTS5 %.17g", i, a[i].score, b[i].score);
      ar_free(a); ar_free(b); free(question);
    }
    ASSERT_EQ_INT(sqlite3_exec(ix->db, "DROP TABLE fts", 0, 0, 0), SQLITE_OK);
    ar_error e;
    ASSERT_MSG(ar_index_check(ix, &e) == AR_OK, "%s", e.msg);
    free(bits); free(one);
    ref_free(&r);
    ar_index_close(ix);
  }
  ar_lex_test_cache_budget(0);
  vocab_free(&v);
}

TEST(lexsearch_check_names_damage) {
  uint64_t rng = 77;
  vocab v;
  vocab_make(&v, 500, &rng);
  char path[512];
  snprintf(path, sizeof path, "%s/lexcheck.db", test_tmpdir());
  ar_index *ix = random_course(path, 20, &v, &rng);
  ASSERT(ix);
  ar_error e;
  ASSERT_MSG(ar_index_check(ix, &e) == AR_OK, "%s", e.msg);
  /* statistics off by one */
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "UPDATE lex_stats SET n_tokens = n_tokens + 1", 0, 0, 0), SQLITE_OK);
  ASSERT(ar_index_check(ix, &e) != AR_OK);
  ASSERT(strstr(e.msg, "lexical statistics"));
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "UPDATE lex_stats SET n_tokens = n_tokens - 1", 0, 0, 0), SQLITE_OK);
  ASSERT_MSG(ar_index_check(ix, &e) == AR_OK, "%s", e.msg);
  /* a lost page: some term's postings are missing */
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "DELETE FROM lex_pages WHERE rowid = (SELECT max(rowid) FROM lex_pages)", 0, 0, 0), SQLITE_OK);
  ASSERT(ar_index_check(ix, &e) != AR_OK);
  ASSERT(strstr(e.msg, "lexical term"));
  ar_index_close(ix);
  vocab_free(&v);
}

/* fuzz_postings finding: an empty page (a NULL blob) was read as "term absent" through NULL + 0 (undefined
 * behaviour); it is damage, and the search says so. */
TEST(lexsearch_empty_page_is_damage) {
  uint64_t rng = 78;
  vocab v;
  vocab_make(&v, 200, &rng);
  char path[512];
  snprintf(path, sizeof path, "%s/lexempty.db", test_tmpdir());
  ar_index *ix = random_course(path, 6, &v, &rng);
  ASSERT(ix);
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "UPDATE lex_pages SET data = x''", 0, 0, 0), SQLITE_OK);
  char q[512];
  snprintf(q, sizeof q, "%s %s %s", v.w[0], v.w[1], v.w[2]);
  ar_search_params sp = ar_search_default_params();
  sp.mode = AR_MODE_LEXICAL;
  ar_results res;
  ar_error e;
  ar_status st = ar_search(ix, q, &sp, &res, &e);
  if (st == AR_OK) ar_results_free(&res);
  ASSERT_MSG(st != AR_OK && strstr(e.msg, "malformed page"), "status %d: %s", (int)st, st ? e.msg : "ok");
  ar_index_close(ix);
  vocab_free(&v);
}

TEST(lexsearch_schema1_index_is_upgraded) {
  uint64_t rng = 99;
  vocab v;
  vocab_make(&v, 800, &rng);
  char path[512];
  snprintf(path, sizeof path, "%s/lexold.db", test_tmpdir());
  ar_index *ix = random_course(path, 30, &v, &rng);
  ASSERT(ix);
  ar_cand *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  const char *question = "derivada de uma função";
  ASSERT_EQ_INT(ar_fts_build(ix, NULL), AR_OK);
  ASSERT_EQ_INT(ar_lexical_search_fts(ix, question, 20, NULL, &a, &na, NULL), AR_OK);
  /* what an index made before the lexical postings looks like: FTS5 kept in step by triggers */
  ASSERT_EQ_INT(sqlite3_exec(ix->db, "DROP TABLE lex_pages; DROP TABLE lex_runs; DROP TABLE lex_stats;"
                             "CREATE TRIGGER segments_ai AFTER INSERT ON segments BEGIN"
                             " INSERT INTO fts(rowid, text) VALUES (new.id, new.text); END;"
                             "CREATE TRIGGER segments_ad AFTER DELETE ON segments BEGIN"
                             " INSERT INTO fts(fts, rowid, text) VALUES ('delete', old.id, old.text); END;"
                             " PRAGMA user_version=1", 0, 0, 0), SQLITE_OK);
  ar_index_close(ix);
  /* a read-only open (search) upgrades it through a writable connection */
  ASSERT((ix = open_path(path, 1)));
  ar_index_info info;
  ASSERT_EQ_INT(ar_index_info_get(ix, &info, NULL), AR_OK);
  ASSERT_EQ_INT(info.schema_version, AR_SCHEMA_VERSION);
  sqlite3_stmt *q = NULL;
  ASSERT_EQ_INT(sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM sqlite_master WHERE name IN ('fts', 'segments_ai',"
                                   " 'segments_ad')", -1, &q, NULL), SQLITE_OK);
  ASSERT_EQ_INT(sqlite3_step(q), SQLITE_ROW);
  ASSERT_EQ_INT(sqlite3_column_int(q, 0), 0);  /* schema 1's FTS5 table and triggers are gone */
  sqlite3_finalize(q);
  ASSERT_EQ_INT(ar_lexical_search(ix, question, 20, NULL, &b, &nb, NULL), AR_OK);
  ASSERT(na > 0);
  ASSERT_EQ_INT(na, nb);
  for (size_t i = 0; i < na; i++) ASSERT(a[i].score == b[i].score);
  ar_index_close(ix);
  ASSERT((ix = open_path(path, 0)));
  ar_error e;
  ASSERT_MSG(ar_index_check(ix, &e) == AR_OK, "%s", e.msg);
  ar_index_close(ix);
  ar_free(a); ar_free(b);
  vocab_free(&v);
}

/* A reader's cached postings are dropped when another connection commits (PRAGMA data_version). */
TEST(lexsearch_reader_sees_other_connections_commits) {
  uint64_t rng = 5;
  vocab v;
  vocab_make(&v, 300, &rng);
  char path[512];
  snprintf(path, sizeof path, "%s/lexcache.db", test_tmpdir());
  ar_index *w = random_course(path, 12, &v, &rng);
  ASSERT(w);
  ar_index *r = open_path(path, 1);
  ASSERT(r);
  const char *question = "derivada matriz vetor";
  for (int round = 0; round < 3; round++) {
    ar_cand *c = NULL;
    size_t n = 0;
    ASSERT_EQ_INT(ar_lexical_search(r, question, 5, NULL, &c, &n, NULL), AR_OK);  /* fills the reader's cache */
    ar_free(c);
    /* the writer replaces a video and adds one made of the question's words */
    ASSERT(put_random_video(w, "v3", 5, &v, &rng));
    ar_segments s = {0};
    ar_segment seg = {0};
    seg.end_s = 10;
    seg.text = (char *)"derivada derivada matriz vetor";
    s.v = &seg;
    s.n = 1;
    char id[16];
    snprintf(id, sizeof id, "new%d", round);
    ar_video vid = {.video_id = id, .title = id, .url = "", .source_path = "mem"};
    ASSERT_EQ_INT(ar_index_put_video(w, &vid, &s, NULL), AR_OK);
    ref_index ref;
    ref_build(w, &ref);
    ASSERT_MSG(same_as_reference(r, &ref, question, NULL), "round %d", round);
    ref_free(&ref);
  }
  ar_index_close(r);
  ar_index_close(w);
  vocab_free(&v);
}
