/* test_dense_vectors.c - vectors in the index: embedding pending segments in committed batches (resume
 * after an interruption), model fingerprint checks, the cached matrix and its invalidation. The
 * embedder here is a stand-in (a hash of the text), so these tests need no model files. */
#include "test.h"
#include "core/util.h"
#include "index/vectors.h"
#include "index/dense.h"
#include "index/vecfile.h"
#include <stdint.h>

enum { DIM = 12 };

/* Deterministic unit vector from the text (FNV-1a seeded per component). */
static void text_vec(const char *t, float *v) {
  double s = 0;
  for (int i = 0; i < DIM; i++) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(i * 7919);
    for (const char *p = t; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    v[i] = (float)((double)(h >> 11) / 9007199254740992.0 - 0.5);
    s += (double)v[i] * v[i];
  }
  for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(s));
}

typedef struct fake { int calls, fail_at, texts; } fake;

static ar_status fake_embed(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out, ar_error *err) {
  (void)kind;
  fake *f = ctx;
  if (f->fail_at && ++f->calls >= f->fail_at) return ar_fail(err, AR_ERR_MODEL, "fake: interrupted");
  for (int i = 0; i < n; i++) text_vec(texts[i], out + (size_t)i * DIM);
  f->texts += n;
  return AR_OK;
}

static ar_index *open_tmp(char *path_out) {
  snprintf(path_out, 512, "%s/ix.db", test_tmpdir());
  ar_index *ix = NULL;
  ar_error err;
  if (ar_index_open(path_out, ar_index_default_params(), &ix, &err) != AR_OK) {
    fprintf(stderr, "  open: %s\n", err.msg);
    return NULL;
  }
  return ix;
}

/* A video of n segments whose texts are "<tag> segment i". */
static int put_video(ar_index *ix, const char *vid, const char *tag, int n) {
  ar_segments s = {0};
  s.v = calloc((size_t)n, sizeof *s.v);
  s.n = s.cap = (size_t)n;
  char buf[64];
  for (int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, "%s segment %d about topic %d", tag, i, i % 7);
    s.v[i] = (ar_segment){30.0 * i, 30.0 * i + 40, strdup(buf), (size_t)i, 1};
  }
  ar_video v = {vid, vid, "", "test", NULL, NULL};
  ar_error err;
  ar_status st = ar_index_put_video(ix, &v, &s, &err);
  if (st) fprintf(stderr, "  put_video: %s\n", err.msg);
  for (int i = 0; i < n; i++) free(s.v[i].text);
  free(s.v);
  return st == AR_OK;
}

static int64_t count(ar_index *ix, const char *sql) {
  sqlite3_stmt *q;
  int64_t n = -1;
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

static int abort_after_two(const ar_progress *p, void *ud) {
  (void)ud;
  return p->done >= 10;   /* batch 5: stop after the second batch */
}

TEST(vectors_embed_pending_batches_and_meta) {
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 23));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n = 0;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 5, NULL, NULL, &n, &err) == AR_OK);
  ASSERT_EQ_INT(n, 23);
  ASSERT_EQ_INT(f.texts, 23);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 23);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors WHERE length(blob) != 48"), 0);
  ar_index_info info;
  ASSERT(ar_index_info_get(ix, &info, &err) == AR_OK);
  ASSERT_STREQ(info.model, "fake:v1");
  ASSERT_EQ_INT(info.dim, DIM);
  ASSERT_EQ_INT(info.n_vectors, 23);
  /* the stored blob is the embedder's vector, fp32 little-endian */
  sqlite3_stmt *q;
  ASSERT(sqlite3_prepare_v2(ix->db, "SELECT s.text, v.blob FROM segments s JOIN vectors v ON v.segment_id = s.id"
                            " ORDER BY s.id LIMIT 1", -1, &q, NULL) == SQLITE_OK);
  ASSERT(sqlite3_step(q) == SQLITE_ROW);
  float want[DIM];
  text_vec((const char *)sqlite3_column_text(q, 0), want);
  const unsigned char *b = sqlite3_column_blob(q, 1);
  for (int i = 0; i < DIM; i++) {
    uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                 (uint32_t)b[4 * i + 3] << 24;
    float x;
    memcpy(&x, &u, 4);
    ASSERT(x == want[i]);
  }
  sqlite3_finalize(q);
  /* nothing pending: a second run embeds nothing */
  f.texts = 0;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 5, NULL, NULL, &n, &err) == AR_OK);
  ASSERT_EQ_INT(n, 0);
  ASSERT_EQ_INT(f.texts, 0);
  ar_index_close(ix);
}

TEST(vectors_interrupted_run_resumes) {
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 17));
  ASSERT(put_video(ix, "b", "beta", 9));
  fake f = {0, 3, 0};   /* the third batch fails: two batches (8 vectors) are committed */
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n = 0;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 4, NULL, NULL, &n, &err) == AR_ERR_MODEL);
  ASSERT_EQ_INT(n, 8);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 8);
  /* progress can stop a run too (after the callback sees 10 done) */
  fake g = {0};
  e.ctx = &g;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 5, abort_after_two, NULL, &n, &err) == AR_ERR_ABORTED);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 18);
  /* the rest, and only the rest, is embedded by the next run */
  fake h = {0};
  e.ctx = &h;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 4, NULL, NULL, &n, &err) == AR_OK);
  ASSERT_EQ_INT(n, 8);
  ASSERT_EQ_INT(h.texts, 8);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM segments s WHERE NOT EXISTS"
                          " (SELECT 1 FROM vectors v WHERE v.segment_id = s.id)"), 0);
  ar_index_close(ix);
}

TEST(vectors_other_model_refused) {
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 6));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n;
  /* no vectors yet: any model may start */
  ASSERT(ar_vectors_check_model(ix, "fake:other", 99, &err) == AR_OK);
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 16, NULL, NULL, &n, &err) == AR_OK);
  ASSERT(put_video(ix, "b", "beta", 3));
  ar_embedder other = {.fingerprint = "fake:v2", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ASSERT(ar_vectors_embed_pending_with(ix, &other, 16, NULL, NULL, &n, &err) == AR_ERR_MISMATCH);
  ASSERT(strstr(err.msg, "fake:v1") && strstr(err.msg, "fake:v2"));
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 6);
  /* querying with another model is refused too, naming both */
  float q[DIM];
  text_vec("alpha", q);
  ar_cand *c;
  size_t nc;
  ASSERT(ar_vectors_search(ix, "fake:v2", q, DIM, 3, NULL, &c, &nc, &err) == AR_ERR_MISMATCH);
  ASSERT(strstr(err.msg, "fake:v1") && strstr(err.msg, "fake:v2"));
  ASSERT(ar_vectors_search(ix, "fake:v1", q, DIM - 1, 3, NULL, &c, &nc, &err) == AR_ERR_MISMATCH);
  ar_index_close(ix);
}

TEST(vectors_search_cache_follows_changes) {
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 8));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 3, NULL, NULL, &n, &err) == AR_OK);
  /* the query is segment 3's own vector: it comes first with cosine 1 */
  float q[DIM];
  text_vec("alpha segment 3 about topic 3", q);
  ar_cand *c;
  size_t nc;
  ASSERT(ar_vectors_search(ix, "fake:v1", q, DIM, 5, NULL, &c, &nc, &err) == AR_OK);
  ASSERT_EQ_INT(nc, 5);
  int64_t old_id = c[0].id;
  ASSERT_NEAR(c[0].score, 1.0, 1e-6);
  ASSERT_EQ_INT(old_id, count(ix, "SELECT id FROM segments WHERE text = 'alpha segment 3 about topic 3'"));
  for (size_t i = 1; i < nc; i++) ASSERT(c[i].score <= c[i - 1].score);
  ar_free(c);
  /* cosines by id agree with the search scores; a missing id is NAN */
  int64_t ids[2] = {old_id, 999999};
  double cs[2];
  ASSERT(ar_vectors_cosines(ix, "fake:v1", q, DIM, ids, 2, cs, &err) == AR_OK);
  ASSERT_NEAR(cs[0], 1.0, 1e-6);
  ASSERT(isnan(cs[1]));
  /* re-ingest the video with other text through this handle: the cached matrix must not keep the
   * old ids (their segments are gone) */
  ASSERT(put_video(ix, "a", "gamma", 8));
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 3, NULL, NULL, &n, &err) == AR_OK);
  ASSERT(ar_vectors_search(ix, "fake:v1", q, DIM, 8, NULL, &c, &nc, &err) == AR_OK);
  ASSERT_EQ_INT(nc, 8);
  for (size_t i = 0; i < nc; i++) ASSERT(c[i].id != old_id);
  ar_free(c);
  /* another connection adds a video: this handle sees it on its next query */
  ar_index *ix2 = NULL;
  ASSERT(ar_index_open(path, ar_index_default_params(), &ix2, &err) == AR_OK);
  ASSERT(put_video(ix2, "b", "delta", 4));
  ASSERT(ar_vectors_embed_pending_with(ix2, &e, 3, NULL, NULL, &n, &err) == AR_OK);
  ar_index_close(ix2);
  text_vec("delta segment 2 about topic 2", q);
  ASSERT(ar_vectors_search(ix, "fake:v1", q, DIM, 1, NULL, &c, &nc, &err) == AR_OK);
  ASSERT_EQ_INT(c[0].id, count(ix, "SELECT id FROM segments WHERE text = 'delta segment 2 about topic 2'"));
  ar_free(c);
  ar_index_close(ix);
}

TEST(vectors_search_large_uses_int8_and_matches_scan) {
  /* past 4096 rows the cache builds the int8 copy; results must equal a plain fp32 scan */
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "big", "omega", 5000));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 256, NULL, NULL, &n, &err) == AR_OK);
  float q[DIM];
  text_vec("a question", q);
  ar_cand *c;
  size_t nc;
  ASSERT(ar_vectors_search(ix, "fake:v1", q, DIM, 10, NULL, &c, &nc, &err) == AR_OK);
  ASSERT(ix->vcache != NULL);
  /* reference: every vector scored with the same kernel */
  sqlite3_stmt *st;
  ASSERT(sqlite3_prepare_v2(ix->db, "SELECT segment_id, blob FROM vectors", -1, &st, NULL) == SQLITE_OK);
  int better = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    float v[DIM];
    memcpy(v, sqlite3_column_blob(st, 1), sizeof v);
    float s = ar_dense_dot(v, q, DIM);
    int64_t id = sqlite3_column_int64(st, 0);
    if (s > c[9].score || (s == c[9].score && id < c[9].id)) better++;
  }
  sqlite3_finalize(st);
  ASSERT_EQ_INT(better, 9);   /* exactly the 9 hits above the 10th */
  ar_free(c);
  ar_index_close(ix);
}

TEST(vectors_bad_blob_is_a_clear_error) {
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 3));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n;
  ASSERT(ar_vectors_embed_pending_with(ix, &e, 3, NULL, NULL, &n, &err) == AR_OK);
  ASSERT(sqlite3_exec(ix->db, "UPDATE vectors SET blob = x'00010203' WHERE segment_id = (SELECT min(id) FROM segments)",
                      NULL, NULL, NULL) == SQLITE_OK);
  ar_vectors_invalidate(ix);
  float q[DIM];
  text_vec("x", q);
  ar_cand *c;
  size_t nc;
  ASSERT(ar_vectors_search(ix, "fake:v1", q, DIM, 3, NULL, &c, &nc, &err) == AR_ERR_DB);
  ASSERT(strstr(err.msg, "4 bytes, expected 48") != NULL);
  ar_index_close(ix);
}

TEST(vectors_search_modes_without_model_or_vectors) {
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 3));
  ar_search_params sp = ar_search_default_params();
  ar_results r;
  ar_error err;
  sp.mode = AR_MODE_DENSE;
  ASSERT(ar_search(ix, "alpha", &sp, &r, &err) == AR_ERR_INVALID);
  /* what is missing, in the library's terms; the CLI names --model (test_dense.py) */
  ASSERT(strstr(err.msg, "dense") && strstr(err.msg, "embedder") && !strstr(err.msg, "--"));
  sp.mode = AR_MODE_HYBRID;
  ASSERT(ar_search(ix, "alpha", &sp, &r, &err) == AR_ERR_INVALID);
  /* AUTO without a model is lexical */
  sp.mode = AR_MODE_AUTO;
  ASSERT(ar_search(ix, "alpha", &sp, &r, &err) == AR_OK);
  ASSERT(r.mode == AR_MODE_LEXICAL);
  ASSERT(r.n > 0 && isnan(r.hits[0].dense_score));
  ar_results_free(&r);
  ar_index_close(ix);
}

TEST(vectors_out_of_memory_paths) {
  /* embedding and searching with each of our allocations failing in turn: AR_ERR_NOMEM, and what was
   * committed before stays consistent (a later clean run completes the job) */
  char path[512];
  ar_index *ix = open_tmp(path);
  ASSERT(ix);
  ASSERT(put_video(ix, "a", "alpha", 10));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n;
  float q[DIM];
  text_vec("alpha segment 1 about topic 1", q);
  int saw_fail = 0;
  for (long k = 0; k < 60; k++) {
    ar_vectors_invalidate(ix);
    ar_alloc_fail_after(k);
    ar_status st = ar_vectors_embed_pending_with(ix, &e, 3, NULL, NULL, &n, &err);
    ar_cand *c = NULL;
    size_t nc = 0;
    if (st == AR_OK) st = ar_vectors_search(ix, "fake:v1", q, DIM, 4, NULL, &c, &nc, &err);
    ar_alloc_fail_after(-1);
    ASSERT(st == AR_OK || st == AR_ERR_NOMEM);
    saw_fail |= st == AR_ERR_NOMEM;
    ar_free(c);
    if (st == AR_OK) { ASSERT_EQ_INT(nc, 4); break; }
  }
  ASSERT(saw_fail);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 10);
  ar_index_close(ix);
}

/* ---- the shared matrix and its vector section (INDEX.vec) ---------------------------------------- */

/* Top-k by scoring every SQLite blob with the scan's kernel (the independent reference). */
static int ref_topk(ar_index *ix, const float *q, size_t k, ar_cand *out) {
  sqlite3_stmt *st;
  size_t n = 0;
  if (sqlite3_prepare_v2(ix->db, "SELECT segment_id, blob FROM vectors", -1, &st, NULL) != SQLITE_OK) return -1;
  while (sqlite3_step(st) == SQLITE_ROW) {
    float v[DIM];
    memcpy(v, sqlite3_column_blob(st, 1), sizeof v);
    ar_cand c = {sqlite3_column_int64(st, 0), ar_dense_dot(v, q, DIM)};
    /* insertion into the sorted top k: higher score first, then smaller id */
    size_t i = n < k ? n++ : k;
    while (i > 0 && (out[i - 1].score < c.score || (out[i - 1].score == c.score && out[i - 1].id > c.id))) {
      if (i < k) out[i] = out[i - 1];
      i--;
    }
    if (i < k) out[i] = c;
  }
  sqlite3_finalize(st);
  return (int)n;
}

static int same_as_ref(ar_index *ix, const float *q, size_t k) {
  ar_cand want[16], *got = NULL;
  size_t ng = 0;
  ar_error err = {0};
  int nw = ref_topk(ix, q, k, want);
  if (ar_vectors_search(ix, "fake:v1", q, DIM, (int)k, NULL, &got, &ng, &err) != AR_OK) {
    fprintf(stderr, "  search: %s\n", err.msg);
    return 0;
  }
  int ok = nw == (int)ng;
  for (size_t i = 0; ok && i < ng; i++) ok = got[i].id == want[i].id && (float)got[i].score == (float)want[i].score;
  if (!ok) fprintf(stderr, "  hits differ from the exhaustive scan\n");
  ar_free(got);
  return ok;
}

static void flip_byte(const char *path, long off_from_end, long off_from_start) {
  FILE *f = fopen(path, "r+b");
  if (!f) return;
  fseek(f, 0, SEEK_END);
  long at = off_from_end ? ftell(f) - off_from_end : off_from_start;
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0x40, f);
  fclose(f);
}

static ar_index *embedded_index(char *path, int n_segs) {
  ar_index *ix = open_tmp(path);
  if (!ix || !put_video(ix, "a", "alpha", n_segs)) return NULL;
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  ar_error err;
  int64_t n;
  if (ar_vectors_embed_pending_with(ix, &e, 64, NULL, NULL, &n, &err) != AR_OK) return NULL;
  return ix;
}

TEST(vectors_shared_between_handles_and_mapped) {
  char path[512], sec[600];
  ar_index *ix = embedded_index(path, 300);
  ASSERT(ix);
  snprintf(sec, sizeof sec, "%s.vec", path);
  float q[DIM];
  text_vec("alpha segment 7 about topic 0", q);
  ASSERT(same_as_ref(ix, q, 10));
  ASSERT(ix->vcache && ix->vcache->map.base);            /* written, then served from the mapping */
  ar_index *ix2 = NULL;
  ar_index_params rp = ar_index_default_params();
  rp.read_only = 1;
  ar_error err;
  ASSERT(ar_index_open(path, rp, &ix2, &err) == AR_OK);
  ASSERT(same_as_ref(ix2, q, 10));
  ASSERT(ix2->vcache == ix->vcache);                     /* one matrix per index state per process */
  ASSERT_EQ_INT(ix->vcache->refs, 2);
  /* a search in flight keeps its matrix: ix2 changes the vectors, ix still holds the old one */
  ar_vcache *old = ix->vcache;
  ar_index_close(ix2);
  ASSERT(ar_index_open(path, ar_index_default_params(), &ix2, &err) == AR_OK);
  ASSERT(put_video(ix2, "b", "beta", 5));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  int64_t n;
  ASSERT(ar_vectors_embed_pending_with(ix2, &e, 64, NULL, NULL, &n, &err) == AR_OK);
  text_vec("beta segment 2 about topic 2", q);
  ASSERT(same_as_ref(ix2, q, 5));
  ASSERT(ix2->vcache != old && ix->vcache == old);
  ar_dense_hit h[3];
  size_t nh;
  ASSERT(ar_dense_topk(&old->m, q, 3, NULL, NULL, h, &nh, &err) == AR_OK && nh == 3);   /* still readable */
  ASSERT(same_as_ref(ix, q, 5));                          /* its next query sees the change */
  ASSERT(ix->vcache == ix2->vcache);
  ar_index_close(ix2);
  ar_index_close(ix);
}

TEST(vectors_section_corrupt_or_foreign_is_rebuilt) {
  char path[512], sec[600];
  ar_index *ix = embedded_index(path, 200);
  ASSERT(ix);
  snprintf(sec, sizeof sec, "%s.vec", path);
  float q[DIM];
  text_vec("alpha segment 11 about topic 4", q);
  ASSERT(same_as_ref(ix, q, 8));
  ar_index_close(ix);                                     /* last handle: the matrix is freed */
  /* a byte of the ids (checked at map time) */
  flip_byte(sec, 0, 4096 + 3);
  ar_error err;
  ASSERT(ar_index_open(path, ar_index_default_params(), &ix, &err) == AR_OK);
  ASSERT(same_as_ref(ix, q, 8));
  ar_vecstamp st = ix->vcache->stamp;
  ar_vecmap vm;
  ASSERT(ar_vecfile_map(sec, &st, &vm, &err) == AR_OK);   /* rewritten intact */
  ar_vecfile_unmap(&vm);
  /* a byte of the first fp32 row, while mapped (checked when a scan reads the row) */
  flip_byte(sec, 200L * DIM * 4, 0);
  ASSERT(same_as_ref(ix, q, 8));
  int64_t first = count(ix, "SELECT min(segment_id) FROM vectors");
  double cs;
  ASSERT(ar_vectors_cosines(ix, "fake:v1", q, DIM, &first, 1, &cs, &err) == AR_OK && !isnan(cs));
  ASSERT(ar_vecfile_map(sec, &st, &vm, &err) == AR_OK);
  ar_vecfile_unmap(&vm);
  /* another index's section (same sizes, other uid) is never used */
  char path2[600];
  snprintf(path2, sizeof path2, "%s/other.db", test_tmpdir());
  ar_index *ix2 = NULL;
  ASSERT(ar_index_open(path2, ar_index_default_params(), &ix2, &err) == AR_OK);
  ASSERT(put_video(ix2, "a", "zeta", 200));
  fake f = {0};
  ar_embedder e = {.fingerprint = "fake:v1", .dim = DIM, .embed = fake_embed, .ctx = &f};
  int64_t n;
  ASSERT(ar_vectors_embed_pending_with(ix2, &e, 64, NULL, NULL, &n, &err) == AR_OK);
  char sec2[700], cmd[1500];
  snprintf(sec2, sizeof sec2, "%s.vec", path2);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", sec, sec2);
  ASSERT(system(cmd) == 0);
  ASSERT(same_as_ref(ix2, q, 8));
  ar_index_close(ix2);
  ar_index_close(ix);
}

TEST(vectors_generation_moves_with_every_change) {
  char path[512];
  ar_index *ix = embedded_index(path, 4);
  ASSERT(ix);
  char *g0 = NULL, *g1 = NULL, *g2 = NULL;
  ar_error err;
  ASSERT(ar_index_meta_get(ix, "vectors_gen", &g0, &err) == AR_OK && g0);
  /* a write that touches no vector leaves it; one that deletes vectors (re-ingest) moves it */
  ASSERT(sqlite3_exec(ix->db, "UPDATE videos SET title = 'x'", NULL, NULL, NULL) == SQLITE_OK);
  ASSERT(ar_index_meta_get(ix, "vectors_gen", &g1, &err) == AR_OK && g1);
  ASSERT_STREQ(g1, g0);
  ASSERT(put_video(ix, "a", "other", 4));
  ASSERT(ar_index_meta_get(ix, "vectors_gen", &g2, &err) == AR_OK && g2);
  ASSERT(strcmp(g2, g0) != 0);
  ar_free(g0); ar_free(g1); ar_free(g2);
  ar_index_close(ix);
}
