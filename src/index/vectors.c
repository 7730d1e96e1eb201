/* vectors.c - segment vectors in the index: fp32 blobs with the model's fingerprint and dim in meta,
 * embedding of pending segments in committed batches, and the cached matrix dense search scans. */
#include "index/vectors.h"
#include "index/dense.h"
#include "index/vecfile.h"
#include "core/util.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

/* Process-wide: the current matrix of each index file (by device and inode). cur is not a reference:
 * the last handle to release a matrix frees it and clears cur. */
typedef struct reg_entry {
  dev_t dev;
  ino_t ino;
  ar_vcache *cur;
  struct reg_entry *next;
} reg_entry;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static reg_entry *reg;

static void vcache_destroy(ar_vcache *c) {
  ar_pool_free(c->pool);
  if (c->map.base) ar_vecfile_unmap(&c->map);
  else ar_dense_release(&c->m);
  ar_free(c->v);
  ar_free(c->ids);
  ar_free(c->check);
  ar_free(c);
}

void ar_vcache_free(ar_vcache *c) {
  if (!c) return;
  pthread_mutex_lock(&reg_mu);
  int last = --c->refs == 0;
  if (last)
    for (reg_entry *e = reg; e; e = e->next)
      if (e->cur == c) e->cur = NULL;
  pthread_mutex_unlock(&reg_mu);
  if (last) vcache_destroy(c);
}

void ar_vectors_invalidate(ar_index *ix) {
  ar_vcache_free(ix->vcache);
  ix->vcache = NULL;
}

/* ---- the embedder ---------------------------------------------------------------------------- */

const ar_embedder *ar_embedder_pick(const ar_embedder *e, ar_model *m, ar_embedder *tmp) {
  if (e) return e;
  if (!m) return NULL;
  *tmp = ar_model_embedder(m);
  return tmp;
}

int ar_vectors_count_passage_tokens(const char *text, size_t len, void *embedder) {
  const ar_embedder *e = embedder;
  return e->count_tokens(e->ctx, AR_EMBED_PASSAGE, text, len);
}

/* ---- meta and blobs -------------------------------------------------------------------------- */

int ar_vectors_any(ar_index *ix) {
  sqlite3_stmt *q = NULL;
  int r = -1;
  if (sqlite3_prepare_v2(ix->db, "SELECT EXISTS(SELECT 1 FROM vectors)", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    r = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return r;
}

/* Reads meta 'model' and 'dim' (model "" and dim 0 when absent). */
static ar_status read_model_meta(ar_index *ix, char model[256], int *dim, ar_error *err) {
  char *m = NULL, *d = NULL;
  ar_status st = ar_index_meta_get(ix, "model", &m, err);
  if (!st) st = ar_index_meta_get(ix, "dim", &d, err);
  if (!st) {
    snprintf(model, 256, "%s", m ? m : "");
    *dim = d ? atoi(d) : 0;
  }
  ar_free(m);
  ar_free(d);
  return st;
}

ar_status ar_vectors_check_model(ar_index *ix, const char *fingerprint, int dim, ar_error *err) {
  char model[256];
  int mdim;
  ar_status st = read_model_meta(ix, model, &mdim, err);
  if (st) return st;
  int any = ar_vectors_any(ix);
  if (any < 0) return ar_index_db_fail(ix, err, "reading vectors");
  if (!any) return AR_OK;   /* nothing to be consistent with */
  if (strcmp(model, fingerprint) != 0 || mdim != dim)
    return ar_fail(err, AR_ERR_MISMATCH,
                   "%s: its vectors were made with model %s (dim %d), not with %s (dim %d); use that model, or "
                   "ingest into a new index", ix->path, *model ? model : "(unknown)", mdim, fingerprint, dim);
  return AR_OK;
}

/* Blobs are fp32 little-endian whatever the host, so an index file can move between machines. */
static void to_le(const float *v, int dim, unsigned char *out) {
  for (int i = 0; i < dim; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    out[4 * i] = (unsigned char)u; out[4 * i + 1] = (unsigned char)(u >> 8);
    out[4 * i + 2] = (unsigned char)(u >> 16); out[4 * i + 3] = (unsigned char)(u >> 24);
  }
}

static void from_le(const unsigned char *b, int dim, float *v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(v, b, (size_t)dim * 4);
#else
  for (int i = 0; i < dim; i++) {
    uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                 (uint32_t)b[4 * i + 3] << 24;
    memcpy(&v[i], &u, 4);
  }
#endif
}

static ar_status put_blob(ar_index *ix, sqlite3_stmt *ins, int64_t id, const float *v, int dim,
                          unsigned char *scratch, ar_error *err) {
  for (int i = 0; i < dim; i++)
    if (!isfinite(v[i]))
      return ar_fail(err, AR_ERR_MODEL, "%s: the model gave a non-finite vector for segment %lld", ix->path,
                     (long long)id);
  to_le(v, dim, scratch);
  sqlite3_bind_int64(ins, 1, id);
  sqlite3_bind_blob(ins, 2, scratch, dim * 4, SQLITE_STATIC);
  int rc = sqlite3_step(ins);
  sqlite3_reset(ins);
  return rc == SQLITE_DONE ? AR_OK : ar_index_db_fail(ix, err, "writing a vector");
}

/* A segment deleted meanwhile (another process re-ingested its video) gets no vector. */
static const char *INSERT_SQL =
    "INSERT OR REPLACE INTO vectors(segment_id, blob) SELECT ?1, ?2 WHERE EXISTS(SELECT 1 FROM segments WHERE id=?1)";

ar_status ar_vectors_put(ar_index *ix, int64_t segment_id, const float *v, int dim, ar_error *err) {
  sqlite3_stmt *ins = NULL;
  unsigned char *b = ar_malloc((size_t)dim * 4);
  if (!b) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_status st = sqlite3_prepare_v2(ix->db, INSERT_SQL, -1, &ins, NULL) == SQLITE_OK
                     ? put_blob(ix, ins, segment_id, v, dim, b, err)
                     : ar_index_db_fail(ix, err, "writing a vector");
  sqlite3_finalize(ins);
  ar_free(b);
  ar_vectors_invalidate(ix);
  return st;
}

/* ---- embedding at ingest ---------------------------------------------------------------------- */

static int64_t count_pending(ar_index *ix) {
  sqlite3_stmt *q = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM segments s WHERE NOT EXISTS"
                         " (SELECT 1 FROM vectors v WHERE v.segment_id = s.id)", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

/* One batch inside BEGIN IMMEDIATE: re-check the model (another process may have embedded
 * meanwhile), record it, write the vectors, commit. */
static ar_status commit_batch(ar_index *ix, const ar_embedder *e, const int64_t *ids, const float *vec, int n,
                              unsigned char *scratch, ar_error *err) {
  if (sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "starting an embedding batch");
  sqlite3_stmt *ins = NULL;
  ar_status st = ar_vectors_check_model(ix, e->fingerprint, e->dim, err);
  char dim[16];
  snprintf(dim, sizeof dim, "%d", e->dim);
  if (!st) st = ar_index_meta_set(ix, "model", e->fingerprint, err);
  if (!st) st = ar_index_meta_set(ix, "dim", dim, err);
  if (!st && e->precision) { /* what the vectors were made with: fp32, int8, or mixed */
    char *was = NULL;
    st = ar_index_meta_get(ix, "precision", &was, err);
    const char *now = !was || !strcmp(was, e->precision) || !ar_vectors_any(ix) ? e->precision : "mixed";
    if (!st && (!was || strcmp(was, now))) st = ar_index_meta_set(ix, "precision", now, err);
    ar_free(was);
  }
  if (!st && sqlite3_prepare_v2(ix->db, INSERT_SQL, -1, &ins, NULL) != SQLITE_OK)
    st = ar_index_db_fail(ix, err, "writing vectors");
  for (int i = 0; i < n && !st; i++) st = put_blob(ix, ins, ids[i], vec + (size_t)i * e->dim, e->dim, scratch, err);
  sqlite3_finalize(ins);
  if (!st && sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    st = ar_index_db_fail(ix, err, "committing vectors");
  if (st) sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
  return st;
}

ar_status ar_vectors_embed_pending_with(ar_index *ix, const ar_embedder *e, int batch, ar_progress_fn progress,
                                        void *user_data, int64_t *embedded, ar_error *err) {
  if (embedded) *embedded = 0;
  if (ix->read_only) return ar_fail(err, AR_ERR_INVALID, "%s is open read-only", ix->path);
  if (e->dim <= 0) return ar_fail(err, AR_ERR_MODEL, "model %s reports dim %d", e->fingerprint, e->dim);
  if (batch < 1) batch = 16;
  ar_status st = ar_vectors_check_model(ix, e->fingerprint, e->dim, err);
  if (st) return st;
  int64_t total = count_pending(ix), done = 0;
  if (total < 0) return ar_index_db_fail(ix, err, "counting segments to embed");
  int64_t *ids = ar_malloc((size_t)batch * sizeof *ids);
  char **texts = ar_calloc((size_t)batch, sizeof *texts);
  float *vec = ar_malloc((size_t)batch * e->dim * sizeof *vec);
  unsigned char *scratch = ar_malloc((size_t)e->dim * 4);
  sqlite3_stmt *q = NULL;
  if (!ids || !texts || !vec || !scratch) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  if (sqlite3_prepare_v2(ix->db, "SELECT s.id, s.text FROM segments s WHERE s.id > ?1 AND NOT EXISTS"
                         " (SELECT 1 FROM vectors v WHERE v.segment_id = s.id) ORDER BY s.id LIMIT ?2",
                         -1, &q, NULL) != SQLITE_OK) {
    st = ar_index_db_fail(ix, err, "reading segments to embed");
    goto done;
  }
  if (progress) {
    ar_progress pr = {"embed", NULL, 0, total};
    if (progress(&pr, user_data)) { st = ar_fail(err, AR_ERR_ABORTED, "embedding aborted"); goto done; }
  }
  int64_t last = 0;
  for (;;) {
    /* read a batch (autocommit read), embed it without holding any lock, then commit it */
    int n = 0, rc;
    sqlite3_bind_int64(q, 1, last);
    sqlite3_bind_int(q, 2, batch);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      ids[n] = sqlite3_column_int64(q, 0);
      if (!(texts[n] = ar_strdup((const char *)sqlite3_column_text(q, 1)))) break;
      n++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
      st = rc == SQLITE_ROW ? ar_fail(err, AR_ERR_NOMEM, "out of memory") : ar_index_db_fail(ix, err, "reading segments");
      goto done;
    }
    if (n == 0) break;
    last = ids[n - 1];
    if ((st = e->embed(e->ctx, AR_EMBED_PASSAGE, (const char *const *)texts, n, vec, err))) goto done;
    if ((st = commit_batch(ix, e, ids, vec, n, scratch, err))) goto done;
    ar_vectors_invalidate(ix);
    for (int i = 0; i < n; i++) { ar_free(texts[i]); texts[i] = NULL; }
    done += n;
    if (embedded) *embedded = done;
    if (progress) {
      ar_progress pr = {"embed", NULL, done, total > done ? total : done};
      if (progress(&pr, user_data)) { st = ar_fail(err, AR_ERR_ABORTED, "embedding aborted"); goto done; }
    }
  }
done:
  sqlite3_finalize(q);
  if (texts)
    for (int i = 0; i < batch; i++) ar_free(texts[i]);
  ar_free(texts); ar_free(ids); ar_free(vec); ar_free(scratch);
  return st;
}

/* ---- the stamp: which state of the vectors a matrix holds --------------------------------------- */

/* Triggers bump meta 'vectors_gen' in every transaction that changes a vector, atomically with the
 * change; 'vectors_uid' tells this index from any other (a copied or re-created file). Run at every
 * writable open; writes only when something is missing. */
ar_status ar_vectors_migrate(ar_index *ix, ar_error *err) {
  sqlite3_stmt *q = NULL;
  int have = -1;
  if (sqlite3_prepare_v2(ix->db, "SELECT (SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE "
                         "'vectors_gen_%') + (SELECT count(*) FROM meta WHERE key IN ('vectors_gen','vectors_uid'))",
                         -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    have = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  if (have < 0) return ar_index_db_fail(ix, err, "reading the vectors generation");
  if (have == 5) return AR_OK;
  static const char *bump = " BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_gen'; END";
  char sql[1024];
  uint64_t seed = (uint64_t)getpid() << 32 ^ (uint64_t)(ar_now_s() * 1e9) ^ (uint64_t)(uintptr_t)ix;
  snprintf(sql, sizeof sql,
           "BEGIN IMMEDIATE;"
           "CREATE TRIGGER IF NOT EXISTS vectors_gen_ai AFTER INSERT ON vectors%s;"
           "CREATE TRIGGER IF NOT EXISTS vectors_gen_ad AFTER DELETE ON vectors%s;"
           "CREATE TRIGGER IF NOT EXISTS vectors_gen_au AFTER UPDATE ON vectors%s;"
           "INSERT OR IGNORE INTO meta(key, value) VALUES('vectors_gen', '1');"
           "INSERT OR IGNORE INTO meta(key, value) VALUES('vectors_uid', '%llu');"
           "COMMIT", bump, bump, bump, (unsigned long long)(ar_rng_next(&seed) >> 1));
  if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
    ar_status st = ar_index_db_fail(ix, err, "adding the vectors generation");
    sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
  }
  return AR_OK;
}

/* The index's current stamp (gen -1 when it has none: an index not yet opened for writing by this
 * version), model and dim from meta. */
static ar_status read_stamp(ar_index *ix, ar_vecstamp *st, ar_error *err) {
  memset(st, 0, sizeof *st);
  st->gen = -1;
  ar_status s = read_model_meta(ix, st->model, &st->dim, err);
  char *g = NULL, *u = NULL;
  if (!s) s = ar_index_meta_get(ix, "vectors_gen", &g, err);
  if (!s) s = ar_index_meta_get(ix, "vectors_uid", &u, err);
  if (!s && g && u) {
    st->gen = strtoll(g, NULL, 10);
    st->uid = strtoull(u, NULL, 10);
  }
  ar_free(g);
  ar_free(u);
  return s;
}

static int stamp_eq(const ar_vecstamp *a, const ar_vecstamp *b) {
  return a->uid == b->uid && a->gen == b->gen && a->dim == b->dim && strcmp(a->model, b->model) == 0;
}

/* ---- loading ----------------------------------------------------------------------------------- */

static int64_t data_version(ar_index *ix) {
  sqlite3_stmt *q = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2(ix->db, "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

/* Every vector row through SQLite, in one read transaction with the stamp it matches. */
static ar_status load_rows(ar_index *ix, ar_vcache *c, ar_error *err) {
  if (sqlite3_exec(ix->db, "SAVEPOINT load_vectors", NULL, NULL, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "reading vectors");
  c->data_version = data_version(ix);
  ar_status st = read_stamp(ix, &c->stamp, err);
  sqlite3_stmt *q = NULL;
  size_t cap = 0;
  int dim = c->stamp.dim;
  if (!st && sqlite3_prepare_v2(ix->db, "SELECT segment_id, blob FROM vectors ORDER BY segment_id", -1, &q, NULL) !=
                 SQLITE_OK)
    st = ar_index_db_fail(ix, err, "reading vectors");
  int rc = SQLITE_DONE;
  while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(q, 0);
    const unsigned char *b = sqlite3_column_blob(q, 1);
    int bytes = sqlite3_column_bytes(q, 1);
    if (dim <= 0 || bytes != dim * 4) {
      st = ar_fail(err, AR_ERR_DB, "%s: the vector of segment %lld has %d bytes, expected %d (dim %d in meta)",
                   ix->path, (long long)id, bytes, dim * 4, dim);
      break;
    }
    if (c->m.n == cap) {
      cap = cap ? 2 * cap : 1024;
      float *v = ar_realloc(c->v, cap * (size_t)dim * sizeof *v);
      if (v) c->v = v;
      int64_t *ids = ar_realloc(c->ids, cap * sizeof *ids);
      if (ids) c->ids = ids;
      if (!v || !ids) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory loading %zu vectors", c->m.n); break; }
    }
    float *row = c->v + c->m.n * (size_t)dim;
    from_le(b, dim, row);
    double s = 0;
    for (int i = 0; i < dim; i++) s += (double)row[i] * row[i];
    if (!isfinite(s) || s == 0) {
      st = ar_fail(err, AR_ERR_DB, "%s: the vector of segment %lld is %s", ix->path, (long long)id,
                   s == 0 ? "zero" : "not finite");
      break;
    }
    if (fabs(s - 1) > 1e-6) {   /* stored normalised by the encoder; older or foreign rows are fixed here */
      float inv = (float)(1 / sqrt(s));
      for (int i = 0; i < dim; i++) row[i] *= inv;
    }
    c->ids[c->m.n++] = id;
  }
  if (!st && rc != SQLITE_DONE) st = ar_index_db_fail(ix, err, "reading vectors");
  sqlite3_finalize(q);
  sqlite3_exec(ix->db, "RELEASE load_vectors", NULL, NULL, NULL);
  c->m.v = c->v;
  c->m.ids = c->ids;
  c->m.dim = dim;
  return st;
}

static const char *section_path(ar_index *ix, char *buf, size_t size) {
  snprintf(buf, size, "%s.vec", ix->path);
  return buf;
}

/* A matrix for the index's state `want`: its mapped section when that is current and intact; else
 * the rows from SQLite, written out as a new section (then mapped) when the index is stamped. A
 * section that cannot be written (read-only folder) is bypassed: the heap copy serves. */
static ar_status open_matrix(ar_index *ix, const ar_vecstamp *want, ar_vcache **out, ar_error *err) {
  *out = NULL;
  char path[4200];
  section_path(ix, path, sizeof path);
  ar_vcache *c = ar_calloc(1, sizeof *c);
  if (!c) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  c->refs = 1;
  if (want->gen >= 0 && ar_vecfile_map(path, want, &c->map, NULL) == AR_OK) {
    c->stamp = *want;
    c->m = c->map.m;
    *out = c;
    return AR_OK;
  }
  ar_status st = load_rows(ix, c, err);
  if (!st && c->m.n) {
    /* the int8 copy only pays off past a few thousand rows, but a section always carries it */
    int section = c->stamp.gen >= 0;
    if (section || c->m.n >= 4096) st = ar_dense_prepare(&c->m, err);
    if (!st && section) {
      c->check = ar_malloc(c->m.n * sizeof *c->check);
      if (!c->check) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      for (size_t r = 0; !st && r < c->m.n; r++) c->check[r] = ar_dense_row_check(c->v + r * (size_t)c->m.dim, c->m.dim);
      c->m.check = c->check;
      ar_vecmap vm;
      if (!st && ar_vecfile_write(path, &c->m, &c->stamp, NULL) == AR_OK &&
          ar_vecfile_map(path, &c->stamp, &vm, NULL) == AR_OK) {
        /* serve from the mapping: the fp32 rows stay on disk until a query rescores them */
        ar_dense_release(&c->m);
        ar_free(c->v); ar_free(c->ids); ar_free(c->check);
        c->v = NULL; c->ids = NULL; c->check = NULL;
        c->map = vm;
        c->m = vm.m;
      }
    }
  }
  if (st) { vcache_destroy(c); return st; }
  *out = c;
  return AR_OK;
}

/* Points ix->vcache at the matrix of the index's current state: the handle's own when still current,
 * else the process's shared one for this file, else a new one (shared from then on). */
static ar_status current_matrix(ar_index *ix, ar_error *err) {
  ar_vecstamp want;
  ar_status st = read_stamp(ix, &want, err);
  if (st) return st;
  ar_vcache *c = ix->vcache;
  if (c && !atomic_load(&c->bad) &&
      (want.gen >= 0 ? stamp_eq(&c->stamp, &want) : c->stamp.gen < 0 && c->data_version == data_version(ix)))
    return AR_OK;
  ar_vectors_invalidate(ix);
  if (want.gen < 0) return open_matrix(ix, &want, &ix->vcache, err);   /* unstamped: private */
  struct stat sb;
  if (stat(ix->path, &sb)) return ar_fail(err, AR_ERR_IO, "%s: %s", ix->path, strerror(errno));
  pthread_mutex_lock(&reg_mu);
  reg_entry *e = reg;
  while (e && !(e->dev == sb.st_dev && e->ino == sb.st_ino)) e = e->next;
  if (!e && (e = ar_calloc(1, sizeof *e))) {
    e->dev = sb.st_dev;
    e->ino = sb.st_ino;
    e->next = reg;
    reg = e;
  }
  if (!e) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  else if (e->cur && !atomic_load(&e->cur->bad) && stamp_eq(&e->cur->stamp, &want)) {
    e->cur->refs++;
    ix->vcache = e->cur;
  } else if (!(st = open_matrix(ix, &want, &ix->vcache, err)) && ix->vcache->stamp.gen >= 0) {
    e->cur = ix->vcache;   /* the one before stays alive for the searches still holding it */
  }
  pthread_mutex_unlock(&reg_mu);
  return st;
}

/* The current matrix, checked against the query's model. */
static ar_status get_matrix(ar_index *ix, const char *fingerprint, int dim, ar_vcache **out, ar_error *err) {
  ar_status st = current_matrix(ix, err);
  if (st) return st;
  ar_vcache *c = ix->vcache;
  if (c->m.n == 0)
    return ar_fail(err, AR_ERR_NOTFOUND, "%s has no vectors: ingest with a model first", ix->path);
  if (strcmp(c->stamp.model, fingerprint) != 0 || c->stamp.dim != dim)
    return ar_fail(err, AR_ERR_MISMATCH,
                   "%s: its vectors were made with model %s (dim %d), not with %s (dim %d); query with that model",
                   ix->path, *c->stamp.model ? c->stamp.model : "(unknown)", c->stamp.dim, fingerprint, dim);
  *out = c;
  return AR_OK;
}

/* A mapped row failed its checksum: the section is corrupt. Drop it (file and matrix) so the next
 * attempt rebuilds from SQLite. */
static void drop_corrupt(ar_index *ix) {
  char path[4200];
  if (ix->vcache && ix->vcache->map.base) {
    atomic_store(&ix->vcache->bad, 1);
    unlink(section_path(ix, path, sizeof path));
  }
  ar_vectors_invalidate(ix);
}

ar_status ar_vectors_refresh(ar_index *ix, ar_error *err) {
  int any = ar_vectors_any(ix);
  if (any < 0) return ar_index_db_fail(ix, err, "reading vectors");
  if (!any) return AR_OK;
  ar_vecstamp want;
  char path[4200];
  ar_status st = read_stamp(ix, &want, err);
  if (st || want.gen < 0 || ar_vecfile_current(section_path(ix, path, sizeof path), &want)) return st;
  return current_matrix(ix, err);
}

/* The matrix's scan pool, started by the first query that can use it. */
static ar_pool *scan_pool(ar_vcache *c) {
  if (c->m.n < AR_DENSE_PAR_MIN_ROWS) return NULL;
  pthread_mutex_lock(&reg_mu);
  if (!c->pool) c->pool = ar_pool_new(AR_MIN(ar_n_cores(), 64));  /* NULL (no threads): scans run alone */
  ar_pool *p = c->pool;
  pthread_mutex_unlock(&reg_mu);
  return p;
}

static ar_status search_once(ar_index *ix, const char *fingerprint, const float *q, int dim, int n,
                             const ar_idfilter *filter, ar_cand **out, size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  ar_vcache *c = NULL;
  ar_status st = get_matrix(ix, fingerprint, dim, &c, err);
  if (st) return st;
  for (int i = 0; i < dim; i++)
    if (!isfinite(q[i])) return ar_fail(err, AR_ERR_MODEL, "the query vector is not finite");
  size_t k = (size_t)(n > 0 ? n : 0);
  if (k > c->m.n) k = c->m.n;
  ar_dense_hit *h = ar_malloc((k ? k : 1) * sizeof *h);
  ar_cand *cand = ar_malloc((k ? k : 1) * sizeof *cand);
  size_t nc = 0;
  if (!h || !cand) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  if (!st) st = ar_dense_topk(&c->m, q, k, scan_pool(c), filter, h, &nc, err);
  if (st) { ar_free(h); ar_free(cand); return st; }
  for (size_t i = 0; i < nc; i++) cand[i] = (ar_cand){h[i].id, h[i].score};
  ar_free(h);
  *out = cand;
  *n_out = nc;
  return AR_OK;
}

ar_status ar_vectors_search(ar_index *ix, const char *fingerprint, const float *q, int dim, int n,
                            const ar_idfilter *filter, ar_cand **out, size_t *n_out, ar_error *err) {
  ar_status st = search_once(ix, fingerprint, q, dim, n, filter, out, n_out, err);
  if (st == AR_ERR_DB && ix->vcache && ix->vcache->map.base) {   /* a corrupt section: rebuild, once */
    drop_corrupt(ix);
    st = search_once(ix, fingerprint, q, dim, n, filter, out, n_out, err);
  }
  return st;
}

static ar_status cosines_once(ar_index *ix, const char *fingerprint, const float *q, int dim, const int64_t *ids,
                              size_t n, double *out, ar_error *err) {
  ar_vcache *c = NULL;
  ar_status st = get_matrix(ix, fingerprint, dim, &c, err);
  if (st) return st;
  const ar_dense_matrix *m = &c->m;
  for (size_t i = 0; i < n; i++) {
    size_t lo = 0, hi = m->n;   /* ids ascending: bisect */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (m->ids[mid] < ids[i]) lo = mid + 1;
      else hi = mid;
    }
    out[i] = NAN;
    if (lo == m->n || m->ids[lo] != ids[i]) continue;
    const float *row = m->v + lo * (size_t)dim;
    if (m->check && ar_dense_row_check(row, dim) != m->check[lo])
      return ar_fail(err, AR_ERR_DB, "%s: the vector of segment %lld does not match its checksum", ix->path,
                     (long long)ids[i]);
    out[i] = ar_dense_dot(row, q, dim);
  }
  return AR_OK;
}

ar_status ar_vectors_cosines(ar_index *ix, const char *fingerprint, const float *q, int dim, const int64_t *ids,
                             size_t n, double *out, ar_error *err) {
  ar_status st = cosines_once(ix, fingerprint, q, dim, ids, n, out, err);
  if (st == AR_ERR_DB && ix->vcache && ix->vcache->map.base) {
    drop_corrupt(ix);
    st = cosines_once(ix, fingerprint, q, dim, ids, n, out, err);
  }
  return st;
}
