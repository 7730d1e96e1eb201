/* courses.c - courses in the index: the migration that adds them to an existing file, a video's
 * course (set inside the store's video transaction), the listing, and the allowed-id filter of one
 * course that scoped search hands to the retrievers. */
#include "index/index.h"
#include "core/util.h"

/* Filters of recently asked courses, per handle. A server worker may alternate between a few
 * courses, so a handful of entries; each is at most one bit per corpus id (363k segments: 45 KB). */
#define CCACHE_SLOTS 8

typedef struct cfilter {
  char *course;          /* NULL: empty slot */
  uint64_t *bits;
  ar_idfilter f;
} cfilter;

struct ar_ccache {
  int64_t data_version;  /* PRAGMA data_version when filled: another connection's commit changes it */
  cfilter slot[CCACHE_SLOTS];
  int next;              /* round-robin victim */
};

void ar_ccache_free(ar_ccache *c) {
  if (!c) return;
  for (int i = 0; i < CCACHE_SLOTS; i++) { ar_free(c->slot[i].course); ar_free(c->slot[i].bits); }
  ar_free(c);
}

void ar_courses_invalidate(ar_index *ix) {
  ar_ccache_free(ix->ccache);
  ix->ccache = NULL;
}

static int64_t one_int(ar_index *ix, const char *sql) {
  sqlite3_stmt *q = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

/* 1 when the file has the course column (and table), 0 when it predates courses, -1 on error. It is
 * asked each time rather than remembered at open: a long-lived read-only connection (serve) may see
 * an ingest migrate the file under it. */
static int has_courses(ar_index *ix) {
  return (int)one_int(ix, "SELECT count(*) FROM pragma_table_info('videos') WHERE name='course'");
}

ar_status ar_courses_migrate(ar_index *ix, ar_error *err) {
  int has = has_courses(ix);
  if (has < 0) return ar_index_db_fail(ix, err, "reading the videos table");
  if (has || ix->read_only) return AR_OK;  /* read-only: an index without courses simply has none */
  static const char *steps[] = {
    "BEGIN IMMEDIATE",
    "ALTER TABLE videos ADD COLUMN course TEXT",  /* NULL: in no course */
    "CREATE TABLE IF NOT EXISTS courses(id TEXT PRIMARY KEY, title TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS videos_course ON videos(course)",
    "COMMIT",
  };
  for (size_t i = 0; i < AR_ARRAY_LEN(steps); i++) {
    /* another process may have migrated it while we waited for the lock */
    if (i == 1 && has_courses(ix) == 1) return sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
                                               ? AR_OK : ar_index_db_fail(ix, err, "adding courses");
    if (sqlite3_exec(ix->db, steps[i], NULL, NULL, NULL) != SQLITE_OK) {
      ar_status st = ar_index_db_fail(ix, err, "adding courses to the index");
      sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
      return st;
    }
  }
  return AR_OK;
}

static ar_status step_done(ar_index *ix, sqlite3_stmt *q, const char *what, ar_error *err) {
  ar_status st = sqlite3_step(q) == SQLITE_DONE ? AR_OK : ar_index_db_fail(ix, err, what);
  sqlite3_finalize(q);
  return st;
}

ar_status ar_courses_set_video(ar_index *ix, int64_t vid, const ar_video *v, ar_error *err) {
  const char *course = v->course && *v->course ? v->course : NULL;
  const char *what = v->source_path ? v->source_path : v->video_id;
  sqlite3_stmt *q = NULL;
  char *old = NULL;
  ar_status st = AR_OK;
  if (sqlite3_prepare_v2(ix->db, "SELECT course FROM videos WHERE id=?1", -1, &q, NULL)) return ar_index_db_fail(ix, err, what);
  sqlite3_bind_int64(q, 1, vid);
  if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL &&
      !(old = ar_strdup((const char *)sqlite3_column_text(q, 0))))
    st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  sqlite3_finalize(q);
  if (st) return st;
  if (course) {
    /* a title given replaces the stored one; none keeps it (a new course is titled by its id) */
    if (sqlite3_prepare_v2(ix->db, "INSERT INTO courses(id, title) VALUES (?1, coalesce(?2, ?1))"
                           " ON CONFLICT(id) DO UPDATE SET title=coalesce(?2, title)", -1, &q, NULL))
      st = ar_index_db_fail(ix, err, what);
    else {
      sqlite3_bind_text(q, 1, course, -1, SQLITE_STATIC);
      if (v->course_title && *v->course_title) sqlite3_bind_text(q, 2, v->course_title, -1, SQLITE_STATIC);
      st = step_done(ix, q, what, err);
    }
  }
  if (!st && (!old != !course || (old && strcmp(old, course) != 0))) {
    if (sqlite3_prepare_v2(ix->db, "UPDATE videos SET course=?2 WHERE id=?1", -1, &q, NULL)) st = ar_index_db_fail(ix, err, what);
    else {
      sqlite3_bind_int64(q, 1, vid);
      if (course) sqlite3_bind_text(q, 2, course, -1, SQLITE_STATIC);
      st = step_done(ix, q, what, err);
    }
    /* the video moved out of `old`: a course with no videos left is gone */
    if (!st && old) {
      if (sqlite3_prepare_v2(ix->db, "DELETE FROM courses WHERE id=?1 AND NOT EXISTS (SELECT 1 FROM videos WHERE course=?1)",
                             -1, &q, NULL))
        st = ar_index_db_fail(ix, err, what);
      else {
        sqlite3_bind_text(q, 1, old, -1, SQLITE_STATIC);
        st = step_done(ix, q, what, err);
      }
    }
  }
  ar_free(old);
  ar_courses_invalidate(ix);  /* this connection's own commits do not change its data_version */
  return st;
}

void ar_courses_free(ar_courses *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) { ar_free(c->v[i].id); ar_free(c->v[i].title); }
  ar_free(c->v);
  c->v = NULL;
  c->n = 0;
}

ar_status ar_index_courses(ar_index *ix, ar_courses *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  int has = has_courses(ix);
  if (has < 0) return ar_index_db_fail(ix, err, "listing courses");
  if (!has) return AR_OK;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "SELECT c.id, c.title, count(v.id), coalesce(sum(v.n_segments), 0) FROM courses c"
                         " LEFT JOIN videos v ON v.course = c.id GROUP BY c.id ORDER BY c.id", -1, &q, NULL))
    return ar_index_db_fail(ix, err, "listing courses");
  ar_status st = AR_OK;
  size_t cap = 0;
  int rc;
  while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (out->n == cap) {
      size_t nc = cap ? cap * 2 : 8;
      ar_course *nv = ar_realloc(out->v, nc * sizeof *nv);
      if (!nv) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      out->v = nv;
      cap = nc;
    }
    ar_course *c = &out->v[out->n++];
    c->id = ar_strdup((const char *)sqlite3_column_text(q, 0));
    c->title = ar_strdup((const char *)sqlite3_column_text(q, 1));
    c->n_videos = sqlite3_column_int64(q, 2);
    c->n_segments = sqlite3_column_int64(q, 3);
    if (!c->id || !c->title) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  if (!st && rc != SQLITE_DONE) st = ar_index_db_fail(ix, err, "listing courses");
  sqlite3_finalize(q);
  if (st) ar_courses_free(out);
  return st;
}

/* Reads the course's corpus ids into a bitmap sized to its largest id. */
static ar_status build(ar_index *ix, const char *course, cfilter *f, ar_error *err) {
  sqlite3_stmt *q = NULL;
  int64_t *ids = NULL, max = -1;
  size_t n = 0, cap = 0;
  ar_status st = AR_OK;
  /* videos_course, then segments_video (video, ord), which holds the corpus id: no table rows read */
  if (sqlite3_prepare_v2(ix->db, "SELECT s.id FROM videos v JOIN segments s ON s.video = v.id WHERE v.course = ?1",
                         -1, &q, NULL))
    return ar_index_db_fail(ix, err, "reading the course's segments");
  sqlite3_bind_text(q, 1, course, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 1024;
      int64_t *nv = ar_realloc(ids, nc * sizeof *nv);
      if (!nv) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      ids = nv;
      cap = nc;
    }
    ids[n] = sqlite3_column_int64(q, 0);
    if (ids[n] > max) max = ids[n];
    n++;
  }
  if (!st && rc != SQLITE_DONE) st = ar_index_db_fail(ix, err, "reading the course's segments");
  sqlite3_finalize(q);
  size_t words = (size_t)(max + 64) / 64;
  if (!st && !(f->bits = ar_calloc(words ? words : 1, sizeof *f->bits))) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  if (!st && !(f->course = ar_strdup(course))) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  if (!st) {
    for (size_t i = 0; i < n; i++) f->bits[ids[i] >> 6] |= 1ull << (ids[i] & 63);
    f->f.bits = f->bits;
    f->f.n_bits = max + 1;
  }
  ar_free(ids);
  if (st) { ar_free(f->bits); ar_free(f->course); memset(f, 0, sizeof *f); }
  return st;
}

ar_status ar_course_filter(ar_index *ix, const char *course, const ar_idfilter **out, ar_error *err) {
  *out = NULL;
  int64_t dv = one_int(ix, "PRAGMA data_version");
  if (ix->ccache && ix->ccache->data_version != dv) ar_courses_invalidate(ix);
  if (ix->ccache)
    for (int i = 0; i < CCACHE_SLOTS; i++)
      if (ix->ccache->slot[i].course && !strcmp(ix->ccache->slot[i].course, course)) {
        *out = &ix->ccache->slot[i].f;
        return AR_OK;
      }
  /* not cached: first make sure the course exists, so a typo is an error and not an empty result */
  int has = has_courses(ix), known = 0;
  if (has < 0) return ar_index_db_fail(ix, err, "reading courses");
  if (has) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(ix->db, "SELECT 1 FROM courses WHERE id=?1", -1, &q, NULL))
      return ar_index_db_fail(ix, err, "reading courses");
    sqlite3_bind_text(q, 1, course, -1, SQLITE_STATIC);
    known = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
  }
  if (!known)
    return ar_fail(err, AR_ERR_NOTFOUND, "%s has no course '%s'", ix->path, course);
  if (!ix->ccache) {
    if (!(ix->ccache = ar_calloc(1, sizeof *ix->ccache))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
    ix->ccache->data_version = dv;
  }
  ar_ccache *c = ix->ccache;
  cfilter *f = &c->slot[c->next];
  c->next = (c->next + 1) % CCACHE_SLOTS;
  ar_free(f->course);
  ar_free(f->bits);
  memset(f, 0, sizeof *f);
  ar_status st = build(ix, course, f, err);
  if (!st) *out = &f->f;
  return st;
}
