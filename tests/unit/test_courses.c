/* test_courses.c - courses in the index: the table and a video's course (moves, titles, listing), the
 * migration of an index made before courses, and scoped search: lexical, dense and hybrid results of a
 * course equal references computed independently (the complete global ranking filtered afterwards, a
 * brute-force cosine over the course's segments, an index holding only the course). The embedder is
 * a stand-in (a hash of the text), so no model files are needed. */
#include "test.h"
#include "core/util.h"
#include "index/vectors.h"
#include <math.h>
#include <stdint.h>

enum { DIM = 16 };

static void text_vec(const char *t, float *v) {
  double s = 0;
  for (int i = 0; i < DIM; i++) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(i * 7919 + 1);
    for (const char *p = t; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    v[i] = (float)((double)(h >> 11) / 9007199254740992.0 - 0.5);
    s += (double)v[i] * v[i];
  }
  for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(s));
}

static ar_status fake_embed(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out, ar_error *err) {
  (void)ctx; (void)kind; (void)err;
  for (int i = 0; i < n; i++) text_vec(texts[i], out + (size_t)i * DIM);
  return AR_OK;
}
static const ar_embedder fake = {.fingerprint = "fake:courses", .dim = DIM, .embed = fake_embed};

static const char *const vocab[] = {"alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                                    "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "quebec",
                                    "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray", "zulu"};
enum { NV = sizeof vocab / sizeof *vocab };

/* Videos: "<course>-<i>" (course "" = none), each of n segments of random vocabulary words. */
static const struct { const char *course; int videos, segs; } layout[] = {{"ml", 5, 9}, {"db", 4, 7}, {"", 3, 8}};

static char dir[512];    /* the running test's folder (test_tmpdir gives a new one per call) */
static void new_dir(void) { snprintf(dir, sizeof dir, "%s", test_tmpdir()); }

static ar_index *open_ix(const char *name, int read_only) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  ar_index_params ip = ar_index_default_params();
  ip.read_only = read_only;
  ar_index *ix = NULL;
  ar_error err;
  if (ar_index_open(path, ip, &ix, &err) != AR_OK) { fprintf(stderr, "  open: %s\n", err.msg); return NULL; }
  return ix;
}

static int put(ar_index *ix, const char *vid, const char *course, const char *ctitle, int n, uint64_t seed) {
  ar_segments s = {0};
  s.v = calloc((size_t)n, sizeof *s.v);
  s.n = s.cap = (size_t)n;
  uint64_t r = seed;
  for (int i = 0; i < n; i++) {
    char buf[256] = "";
    int words = 3 + (int)(ar_rng_next(&r) % 10);
    for (int w = 0; w < words; w++) {
      strcat(buf, vocab[ar_rng_next(&r) % NV]);
      strcat(buf, " ");
    }
    s.v[i] = (ar_segment){30.0 * i, 30.0 * i + 40, strdup(buf), (size_t)i, 1};
  }
  ar_video v = {vid, vid, "", "test", course, ctitle};
  ar_error err;
  ar_status st = ar_index_put_video(ix, &v, &s, &err);
  if (st) fprintf(stderr, "  put_video: %s\n", err.msg);
  for (int i = 0; i < n; i++) free(s.v[i].text);
  free(s.v);
  return st == AR_OK;
}

/* The layout's videos (only `only`'s when set), embedded. */
static ar_index *build(const char *name, const char *only) {
  ar_index *ix = open_ix(name, 0);
  if (!ix) return NULL;
  for (size_t c = 0; c < sizeof layout / sizeof *layout; c++) {
    if (only && strcmp(only, layout[c].course) != 0) continue;
    for (int i = 0; i < layout[c].videos; i++) {
      char vid[32];
      snprintf(vid, sizeof vid, "%s-%d", *layout[c].course ? layout[c].course : "none", i);
      if (!put(ix, vid, layout[c].course, NULL, layout[c].segs, 1000 * c + (uint64_t)i + 1)) { ar_index_close(ix); return NULL; }
    }
  }
  ar_error err;
  int64_t n;
  if (ar_vectors_embed_pending_with(ix, &fake, 8, NULL, NULL, &n, &err) != AR_OK) {
    fprintf(stderr, "  embed: %s\n", err.msg);
    ar_index_close(ix);
    return NULL;
  }
  return ix;
}

static int in_course(const char *video_id, const char *course) {
  size_t n = strlen(course);
  return !strncmp(video_id, course, n) && video_id[n] == '-';
}

static ar_status search(ar_index *ix, const char *q, ar_search_mode mode, int k, const char *course, ar_results *r,
                        ar_error *err) {
  ar_search_params sp = ar_search_default_params();
  sp.mode = mode;
  sp.k = k;
  sp.course = course;
  sp.embedder = &fake;
  return ar_search(ix, q, &sp, r, err);
}

/* Reference lexical ranking of a course: the complete global ranking (every match), then filtered. */
static size_t lexical_ref(ar_index *ix, const char *q, const char *course, int64_t *ids, size_t cap) {
  ar_results all;
  ar_error err;
  if (search(ix, q, AR_MODE_LEXICAL, 10000, NULL, &all, &err) != AR_OK) return 0;
  size_t n = 0;
  for (size_t i = 0; i < all.n && n < cap; i++)
    if (in_course(all.hits[i].video_id, course)) ids[n++] = all.hits[i].corpus_id;
  ar_results_free(&all);
  return n;
}

/* Reference dense ranking of a course: brute-force cosine over its segments' texts (ties: smaller id). */
typedef struct { int64_t id; double s; } scored;
static int by_score(const void *a, const void *b) {
  const scored *x = a, *y = b;
  return x->s > y->s ? -1 : x->s < y->s ? 1 : (x->id > y->id) - (x->id < y->id);
}
static size_t dense_ref(ar_index *ix, const char *q, const char *course, int64_t *ids, size_t cap) {
  float qv[DIM], v[DIM];
  text_vec(q, qv);
  scored *s = calloc(4096, sizeof *s);
  size_t n = 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(ix->db, "SELECT s.id, s.text, v.video_id FROM segments s JOIN videos v ON v.id = s.video", -1,
                         &st, NULL) != SQLITE_OK) { free(s); return 0; }
  while (sqlite3_step(st) == SQLITE_ROW && n < 4096) {
    if (!in_course((const char *)sqlite3_column_text(st, 2), course)) continue;
    text_vec((const char *)sqlite3_column_text(st, 1), v);
    double d = 0;
    for (int i = 0; i < DIM; i++) d += (double)qv[i] * v[i];
    s[n++] = (scored){sqlite3_column_int64(st, 0), d};
  }
  sqlite3_finalize(st);
  qsort(s, n, sizeof *s, by_score);
  if (n > cap) n = cap;
  for (size_t i = 0; i < n; i++) ids[i] = s[i].id;
  free(s);
  return n;
}

static const char *const queries[] = {"alfa bravo", "zulu", "tango sierra romeo kilo", "hotel india juliett golf"};

TEST(course_scoped_lexical_and_dense_equal_references) {
  new_dir();
  ar_index *ix = build("scoped.db", NULL);
  ASSERT(ix);
  static const int ks[] = {1, 3, 10, 1000};
  int64_t want[4096];
  for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++)
    for (size_t ci = 0; ci < 2; ci++)
      for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        const char *course = layout[ci].course;
        int k = ks[ki];
        for (int dense = 0; dense < 2; dense++) {
          size_t nw = dense ? dense_ref(ix, queries[qi], course, want, 4096) : lexical_ref(ix, queries[qi], course, want, 4096);
          ASSERT(nw > 0);
          if (dense) ASSERT_EQ_INT(nw, layout[ci].videos * layout[ci].segs);   /* every course segment has a vector */
          ar_results r;
          ar_error err;
          ASSERT_MSG(search(ix, queries[qi], dense ? AR_MODE_DENSE : AR_MODE_LEXICAL, k, course, &r, &err) == AR_OK,
                     "%s", err.msg);
          /* min(k, matches in the course): never fewer because other courses rank higher */
          ASSERT_MSG(r.n == (nw < (size_t)k ? nw : (size_t)k), "%s q='%s' course %s k=%d: %zu hits, %zu matches",
                     dense ? "dense" : "lexical", queries[qi], course, k, r.n, nw);
          for (size_t i = 0; i < r.n; i++) {
            ASSERT_MSG(r.hits[i].corpus_id == want[i], "%s q='%s' course %s k=%d rank %zu: %lld, want %lld",
                       dense ? "dense" : "lexical", queries[qi], course, k, i + 1, (long long)r.hits[i].corpus_id,
                       (long long)want[i]);
            ASSERT(in_course(r.hits[i].video_id, course));
          }
          ar_results_free(&r);
        }
      }
  ar_index_close(ix);
}

TEST(course_scoped_dense_equals_an_index_of_the_course_alone) {
  new_dir();
  ar_index *ix = build("all.db", NULL), *only = build("ml-only.db", "ml");
  ASSERT(ix && only);
  for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
    ar_results a, b;
    ar_error err;
    ASSERT(search(ix, queries[qi], AR_MODE_DENSE, 12, "ml", &a, &err) == AR_OK);
    ASSERT(search(only, queries[qi], AR_MODE_DENSE, 12, NULL, &b, &err) == AR_OK);
    ASSERT_EQ_INT(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
      ASSERT_STREQ(a.hits[i].video_id, b.hits[i].video_id);
      ASSERT(a.hits[i].start_s == b.hits[i].start_s && a.hits[i].score == b.hits[i].score);
    }
    ar_results_free(&a);
    ar_results_free(&b);
  }
  ar_index_close(ix);
  ar_index_close(only);
}

/* Hybrid: reciprocal rank fusion (rrf_k 60) of the two filtered reference lists, each cut at the
 * fusion depth; ties by the better best rank, then the smaller id. */
typedef struct { int64_t id; double s; int best; } fused;
static int by_fused(const void *a, const void *b) {
  const fused *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  if (x->best != y->best) return x->best < y->best ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

TEST(course_scoped_hybrid_fuses_the_filtered_lists) {
  new_dir();
  ar_index *ix = build("hybrid.db", NULL);
  ASSERT(ix);
  enum { DEPTH = 50, K = 10 };
  for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++)
    for (size_t ci = 0; ci < 2; ci++) {
      const char *course = layout[ci].course;
      int64_t lex[DEPTH], den[DEPTH];
      size_t nl = lexical_ref(ix, queries[qi], course, lex, DEPTH), nd = dense_ref(ix, queries[qi], course, den, DEPTH);
      fused f[2 * DEPTH];
      size_t nf = 0;
      for (int list = 0; list < 2; list++)
        for (size_t i = 0; i < (list ? nd : nl); i++) {
          int64_t id = list ? den[i] : lex[i];
          size_t j = 0;
          while (j < nf && f[j].id != id) j++;
          if (j == nf) f[nf++] = (fused){id, 0, 1 << 30};
          f[j].s += 1.0 / (60 + (double)(i + 1));
          if ((int)i + 1 < f[j].best) f[j].best = (int)i + 1;
        }
      qsort(f, nf, sizeof *f, by_fused);
      ar_results r;
      ar_error err;
      ASSERT_MSG(search(ix, queries[qi], AR_MODE_HYBRID, K, course, &r, &err) == AR_OK, "%s", err.msg);
      ASSERT_EQ_INT(r.n, nf < K ? nf : K);
      for (size_t i = 0; i < r.n; i++)
        ASSERT_MSG(r.hits[i].corpus_id == f[i].id, "q='%s' course %s rank %zu: %lld, want %lld", queries[qi], course,
                   i + 1, (long long)r.hits[i].corpus_id, (long long)f[i].id);
      ar_results_free(&r);
    }
  ar_index_close(ix);
}

TEST(course_unknown_is_notfound_naming_it) {
  new_dir();
  ar_index *ix = build("unknown.db", NULL);
  ASSERT(ix);
  ar_results r;
  ar_error err;
  for (int mode = AR_MODE_LEXICAL; mode <= AR_MODE_HYBRID; mode++) {
    ASSERT_EQ_INT(search(ix, "alfa", (ar_search_mode)mode, 5, "nope", &r, &err), AR_ERR_NOTFOUND);
    /* the library names the course; the CLI adds how to list them (test_courses.py) */
    ASSERT_MSG(strstr(err.msg, "'nope'") && !strstr(err.msg, "aularag info"), "%s", err.msg);
    ASSERT(r.n == 0 && r.hits == NULL);
  }
  /* "" is every course, as NULL */
  ASSERT(search(ix, "alfa", AR_MODE_LEXICAL, 1000, "", &r, &err) == AR_OK);
  size_t all = r.n;
  ar_results_free(&r);
  ASSERT(search(ix, "alfa", AR_MODE_LEXICAL, 1000, NULL, &r, &err) == AR_OK);
  ASSERT_EQ_INT(r.n, all);
  ar_results_free(&r);
  ar_index_close(ix);
}

TEST(course_moves_titles_listing_and_other_connections) {
  new_dir();
  ar_index *ix = open_ix("moves.db", 0);
  ASSERT(ix);
  ASSERT(put(ix, "a", "ml", "Machine Learning", 4, 1));
  ASSERT(put(ix, "b", "ml", NULL, 3, 2));            /* no title: keeps the course's */
  ASSERT(put(ix, "c", "db", NULL, 5, 3));            /* new course without title: titled by its id */
  ASSERT(put(ix, "d", NULL, NULL, 2, 4));
  ar_courses cs;
  ar_error err;
  ASSERT(ar_index_courses(ix, &cs, &err) == AR_OK);
  ASSERT_EQ_INT(cs.n, 2);
  ASSERT_STREQ(cs.v[0].id, "db");                    /* ordered by id */
  ASSERT_STREQ(cs.v[0].title, "db");
  ASSERT(cs.v[0].n_videos == 1 && cs.v[0].n_segments == 5);
  ASSERT_STREQ(cs.v[1].title, "Machine Learning");
  ASSERT(cs.v[1].n_videos == 2 && cs.v[1].n_segments == 7);
  ar_courses_free(&cs);

  /* a reader on another connection caches the course's filter... */
  ar_index *rd = open_ix("moves.db", 1);
  ASSERT(rd);
  ar_results r;
  ASSERT(search(rd, "alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar"
                    " quebec romeo sierra tango uniform victor whiskey xray zulu", AR_MODE_LEXICAL, 100, "db", &r, &err) == AR_OK);
  ASSERT_EQ_INT(r.n, 5);
  ar_results_free(&r);
  /* ...then video c moves to ml with the same segments (corpus ids kept), and db has no video left */
  ASSERT(put(ix, "c", "ml", "ML", 5, 3));
  ASSERT(ar_index_courses(ix, &cs, &err) == AR_OK);
  ASSERT_EQ_INT(cs.n, 1);
  ASSERT_STREQ(cs.v[0].title, "ML");                 /* a given title replaces the stored one */
  ASSERT(cs.v[0].n_videos == 3 && cs.v[0].n_segments == 12);
  ar_courses_free(&cs);
  ASSERT_EQ_INT(search(rd, "alfa", AR_MODE_LEXICAL, 10, "db", &r, &err), AR_ERR_NOTFOUND);
  ASSERT(search(rd, "alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar"
                    " quebec romeo sierra tango uniform victor whiskey xray zulu", AR_MODE_LEXICAL, 100, "ml", &r, &err) == AR_OK);
  ASSERT_EQ_INT(r.n, 12);                            /* the reader's cached filter was dropped */
  ar_results_free(&r);
  /* the writer's own cache too (its commits do not change its data_version) */
  ASSERT(search(ix, "alfa", AR_MODE_LEXICAL, 100, "ml", &r, &err) == AR_OK);
  ar_results_free(&r);
  ASSERT(put(ix, "d", "ml", NULL, 2, 4));
  ASSERT(search(ix, "alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar"
                    " quebec romeo sierra tango uniform victor whiskey xray zulu", AR_MODE_LEXICAL, 100, "ml", &r, &err) == AR_OK);
  ASSERT_EQ_INT(r.n, 14);
  ar_results_free(&r);
  /* out of every course */
  ASSERT(put(ix, "a", NULL, NULL, 4, 1));
  ASSERT(ar_index_courses(ix, &cs, &err) == AR_OK);
  ASSERT(cs.n == 1 && cs.v[0].n_videos == 3);
  ar_courses_free(&cs);
  ASSERT_MSG(ar_index_check(ix, &err) == AR_OK, "%s", err.msg);
  ar_index_close(rd);
  ar_index_close(ix);
}

TEST(course_migration_of_an_index_made_before_courses) {
  new_dir();
  ar_index *ix = open_ix("old.db", 0);
  ASSERT(ix);
  ASSERT(put(ix, "a", NULL, NULL, 4, 1));
  /* back to the v1 layout: no course column, no courses table */
  ASSERT(sqlite3_exec(ix->db, "DROP INDEX videos_course; ALTER TABLE videos DROP COLUMN course; DROP TABLE courses",
                      NULL, NULL, NULL) == SQLITE_OK);
  ar_index_close(ix);
  /* read-only: nothing is written, and the index simply has no courses */
  ar_index *rd = open_ix("old.db", 1);
  ASSERT(rd);
  ar_courses cs;
  ar_error err;
  ASSERT(ar_index_courses(rd, &cs, &err) == AR_OK && cs.n == 0);
  ar_results r;
  ASSERT_EQ_INT(search(rd, "alfa bravo", AR_MODE_LEXICAL, 5, "ml", &r, &err), AR_ERR_NOTFOUND);
  ASSERT(search(rd, "alfa bravo charlie delta", AR_MODE_LEXICAL, 5, NULL, &r, &err) == AR_OK);
  ar_results_free(&r);
  sqlite3_stmt *q;
  ASSERT(sqlite3_prepare_v2(rd->db, "SELECT count(*) FROM pragma_table_info('videos') WHERE name='course'", -1, &q, NULL) == 0);
  ASSERT(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0);
  sqlite3_finalize(q);
  /* a writer migrates it, twice is the same, the data is kept, and the reader sees courses appear */
  for (int i = 0; i < 2; i++) {
    ix = open_ix("old.db", 0);
    ASSERT(ix);
    ar_index_info info;
    ASSERT(ar_index_info_get(ix, &info, &err) == AR_OK && info.n_videos == 1 && info.n_segments == 4);
    if (i) ASSERT(put(ix, "b", "ml", "ML", 3, 2));
    ar_index_close(ix);
  }
  ASSERT(ar_index_courses(rd, &cs, &err) == AR_OK);
  ASSERT(cs.n == 1 && !strcmp(cs.v[0].id, "ml") && cs.v[0].n_videos == 1);
  ar_courses_free(&cs);
  ASSERT(search(rd, "alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar"
                    " quebec romeo sierra tango uniform victor whiskey xray zulu", AR_MODE_LEXICAL, 50, "ml", &r, &err) == AR_OK);
  ASSERT_EQ_INT(r.n, 3);
  for (size_t i = 0; i < r.n; i++) ASSERT_STREQ(r.hits[i].video_id, "b");
  ar_results_free(&r);
  ar_index_close(rd);
}
