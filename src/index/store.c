/* store.c - the SQLite index file: open/create, schema, videos and segments, meta, LLM cache. */
#include "index/index.h"
#include "index/vectors.h"
#include "index/postings.h"
#include "core/util.h"
#include <math.h>
#include <sys/stat.h>
#include <time.h>

ar_status ar_index_db_fail(ar_index *ix, ar_error *err, const char *what) {
  int code = sqlite3_extended_errcode(ix->db);
  ar_status st = (code & 0xff) == SQLITE_NOMEM ? AR_ERR_NOMEM : AR_ERR_DB;
  /* I/O failures: the OS's reason too ("disk I/O error" alone does not say the disk is full) */
  int sys = sqlite3_system_errno(ix->db), io = (code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_FULL ||
                                               (code & 0xff) == SQLITE_CANTOPEN;
  if (io && sys) return ar_fail(err, st, "%s: %s: %s (%s)", ix->path, what, sqlite3_errmsg(ix->db), strerror(sys));
  return ar_fail(err, st, "%s: %s: %s", ix->path, what, sqlite3_errmsg(ix->db));
}

static ar_status exec(ar_index *ix, const char *sql, ar_error *err) {
  if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, sql);
  return AR_OK;
}

ar_index_params ar_index_default_params(void) {
  ar_index_params p = {0};
  p.create = 1;
  p.lang = NULL;  /* new index: "pt"; existing index: whatever it was created with */
  return p;
}

/* One statement per line of the schema (the lexical postings' tables come from postings.c).
 * segments.id is AUTOINCREMENT so a corpus id is never reused after a video is replaced or removed.
 * Schema 1 also had an FTS5 table kept in step by triggers; schema 2 has aularag's own postings
 * instead (lexical search no longer reads FTS5, and it cost ingest time and space). */
static const char *schema_tables[] = {
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  "CREATE TABLE videos(id INTEGER PRIMARY KEY, video_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,"
  " url TEXT NOT NULL DEFAULT '', source_path TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL,"
  " n_segments INTEGER NOT NULL DEFAULT 0, ingested TEXT NOT NULL DEFAULT '')",
  "CREATE TABLE segments(id INTEGER PRIMARY KEY AUTOINCREMENT,"
  " video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE, ord INTEGER NOT NULL,"
  " start REAL NOT NULL, end REAL NOT NULL, text TEXT NOT NULL)",
  "CREATE INDEX segments_video ON segments(video, ord)",
  "CREATE TABLE vectors(segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,"
  " blob BLOB NOT NULL)",
  "CREATE TABLE llm_cache(key TEXT PRIMARY KEY, value TEXT NOT NULL, created INTEGER NOT NULL)",
  NULL
};

static void now_iso(char out[32]) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static ar_status create_schema(ar_index *ix, const char *lang, ar_error *err) {
  ar_status st;
  char sql[512];
  if ((st = exec(ix, "BEGIN IMMEDIATE", err))) return st;
  /* another process may have created it while we waited for the lock */
  sqlite3_stmt *q = NULL;
  int n = 0;
  if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  if (n > 0) return exec(ix, "COMMIT", err);
  for (int i = 0; schema_tables[i]; i++)
    if ((st = exec(ix, schema_tables[i], err))) goto fail;
  if ((st = ar_lex_create(ix, err))) goto fail;
  char created[32];
  now_iso(created);
  const char *kv[][2] = {{"format", "aularag"}, {"version", AR_VERSION}, {"lang", lang},
                         {"created", created}, {"analyzer", AR_ANALYZER_VERSION},
                         {"model", ""}, {"dim", "0"}};
  for (size_t i = 0; i < AR_ARRAY_LEN(kv); i++)
    if ((st = ar_index_meta_set(ix, kv[i][0], kv[i][1], err))) goto fail;
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", AR_SCHEMA_VERSION);
  if ((st = exec(ix, sql, err))) goto fail;
  return exec(ix, "COMMIT", err);
fail:
  sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
  return st;
}

static ar_status check_schema(ar_index *ix, const ar_index_params *p, ar_error *err) {
  sqlite3_stmt *q = NULL;
  int uv = -1;
  if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "reading the schema version");
  if (sqlite3_step(q) == SQLITE_ROW) uv = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  char *fmt = NULL, *lang = NULL, *an = NULL;
  ar_error e2;
  if (ar_index_meta_get(ix, "format", &fmt, &e2) != AR_OK || !fmt || strcmp(fmt, "aularag") != 0 || uv < 1) {
    ar_free(fmt);
    return ar_fail(err, AR_ERR_MISMATCH, "%s is not an aularag index (a SQLite file without aularag's meta table)",
                   ix->path);
  }
  ar_free(fmt);
  if (uv > AR_SCHEMA_VERSION)
    return ar_fail(err, AR_ERR_MISMATCH, "%s was made by a newer aularag (schema %d; this build reads up to %d)",
                   ix->path, uv, AR_SCHEMA_VERSION);
  ar_status st = ar_index_meta_get(ix, "lang", &lang, err);
  if (st) return st;
  if (!lang || !ar_stopwords(lang)) {
    ar_free(lang);
    return ar_fail(err, AR_ERR_DB, "%s: meta 'lang' is missing or unknown", ix->path);
  }
  snprintf(ix->lang, sizeof ix->lang, "%s", lang);
  ar_free(lang);
  /* the index's analysis: queries, and segments when the lexical postings are (re)built */
  if ((st = ar_analyzer_new(ix->lang, 0, &ix->query_an, err))) return st;
  if (p->lang && strcmp(p->lang, ix->lang) != 0)
    return ar_fail(err, AR_ERR_MISMATCH, "%s was created for language %s; the language of an index is fixed (asked for %s)",
                   ix->path, ix->lang, p->lang);
  if ((st = ar_index_meta_get(ix, "analyzer", &an, err))) return st;
  int stale = !an || strcmp(an, AR_ANALYZER_VERSION) != 0;
  ar_free(an);
  int old_schema = uv < AR_SCHEMA_VERSION;  /* schema 1: FTS5 only, no lex_* postings yet */
  if ((stale || old_schema) && p->read_only && p->immutable)   /* a snapshot is never written */
    return ar_fail(err, AR_ERR_MISMATCH, "%s is a snapshot made by an older aularag; make a new one with"
                   " `aularag snapshot`", ix->path);
  if ((stale || old_schema) && ix->read_only) {
    /* A read-only user (search, ask, serve) of an index made by an older aularag: rebuild the
     * postings through a short-lived writable connection, then read on as asked. */
    ar_index_params wp = ar_index_default_params();
    wp.create = 0;
    ar_index *w = NULL;
    ar_error we;
    if (ar_index_open(ix->path, wp, &w, &we) != AR_OK)
      return ar_fail(err, AR_ERR_MISMATCH, "%s was indexed by an older aularag and cannot be rebuilt here"
                     " (%s); open it once for writing", ix->path, we.msg);
    ar_index_close(w);
    return AR_OK;
  }
  if (stale || old_schema) {
    /* The postings were made by another analysis, or the lexical postings do not exist yet:
     * rebuild them from segments (and drop schema 1's FTS5 table and its triggers). */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", AR_SCHEMA_VERSION);
    if ((st = exec(ix, "BEGIN IMMEDIATE", err))) return st;
    if ((old_schema && (st = exec(ix, "DROP TRIGGER IF EXISTS segments_ai; DROP TRIGGER IF EXISTS segments_ad;"
                                  " DROP TRIGGER IF EXISTS segments_au; DROP TABLE IF EXISTS fts", err))) ||
        (st = ar_index_meta_set(ix, "analyzer", AR_ANALYZER_VERSION, err)) ||
        (st = ar_lex_rebuild(ix, err)) || (st = exec(ix, sql, err))) {
      sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
      return st;
    }
    if ((st = exec(ix, "COMMIT", err))) return st;
  }
  return AR_OK;
}

ar_status ar_index_open(const char *path, ar_index_params p, ar_index **out, ar_error *err) {
  *out = NULL;
  if (!path || !*path) return ar_fail(err, AR_ERR_INVALID, "no index path given");
  if (p.lang && !ar_stopwords(p.lang))
    return ar_fail(err, AR_ERR_INVALID, "unsupported language '%s' (expected pt or en)", p.lang);
  struct stat sb;
  int exists = stat(path, &sb) == 0;
  if (exists && S_ISDIR(sb.st_mode)) return ar_fail(err, AR_ERR_IO, "%s is a directory, not an index file", path);
  if (!exists && (p.read_only || !p.create))
    return ar_fail(err, AR_ERR_NOTFOUND, "%s: no such index (ingesting transcripts creates it)", path);
  /* A snapshot is read by serve replicas and never written (ingest is refused, the LLM cache not filled):
   * a writable open would put it in WAL mode and change the file under them. */
  if (exists && !p.read_only && ar_index_is_snapshot(path)) p.read_only = p.immutable = 1;
  ar_index *ix = ar_calloc(1, sizeof *ix);
  if (!ix || !(ix->path = ar_strdup(path))) {
    ar_free(ix);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory opening %s", path);
  }
  ix->read_only = p.read_only;
  int flags = p.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (p.create ? SQLITE_OPEN_CREATE : 0);
  ar_status st;
  char *uri = p.read_only && p.immutable ? ar_snapshot_uri(path) : NULL;   /* a snapshot: src/index/snapshot.c */
  if (p.read_only && p.immutable && !uri) { ar_index_close(ix); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  int orc = sqlite3_open_v2(uri ? uri : path, &ix->db, flags | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0), NULL);
  ar_free(uri);
  if (orc != SQLITE_OK) {
    st = ix->db ? ar_index_db_fail(ix, err, "cannot open") : ar_fail(err, AR_ERR_NOMEM, "out of memory opening %s", path);
    ar_index_close(ix);
    return st;
  }
  sqlite3_extended_result_codes(ix->db, 1);
  sqlite3_busy_timeout(ix->db, 10000);
  if ((st = ar_fts_register(ix->db, err))) { ar_index_close(ix); return st; }
  /* Reading sqlite_master is the first real read: a file that is not SQLite fails here. */
  sqlite3_stmt *q = NULL;
  int n_tables = -1;
  if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    n_tables = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  if (n_tables < 0) {
    int code = sqlite3_errcode(ix->db);
    st = code == SQLITE_NOTADB ? ar_fail(err, AR_ERR_MISMATCH, "%s is not an aularag index (not a SQLite database)", path)
                               : ar_index_db_fail(ix, err, "cannot read");
    ar_index_close(ix);
    return st;
  }
  if (!p.read_only) {
    /* WAL: readers never block the writer, and a killed writer leaves the last committed state.
     * synchronous=NORMAL is crash-safe for process kills in WAL mode (only power loss may drop
     * the latest commits), and much faster than FULL for ingest. */
    if ((st = exec(ix, "PRAGMA journal_mode=WAL", err)) || (st = exec(ix, "PRAGMA synchronous=NORMAL", err))) {
      ar_index_close(ix);
      return st;
    }
  }
  exec(ix, "PRAGMA foreign_keys=ON", NULL);
  if (n_tables == 0) {
    if (p.read_only || !p.create) {
      ar_index_close(ix);
      return ar_fail(err, AR_ERR_MISMATCH, "%s is an empty SQLite file, not an aularag index", path);
    }
    if ((st = create_schema(ix, p.lang ? p.lang : "pt", err))) { ar_index_close(ix); return st; }
  }
  if ((st = check_schema(ix, &p, err))) { ar_index_close(ix); return st; }
  if ((st = ar_courses_migrate(ix, err))) { ar_index_close(ix); return st; }
  if (!p.read_only && (st = ar_vectors_migrate(ix, err))) { ar_index_close(ix); return st; }
  *out = ix;
  return AR_OK;
}

void ar_index_close(ar_index *ix) {
  if (!ix) return;
  if (ix->db) sqlite3_close_v2(ix->db);
  ar_analyzer_free(ix->query_an);
  ar_vcache_free(ix->vcache);
  ar_ccache_free(ix->ccache);
  ar_lex_cache_free(ix->lcache);
  ar_free(ix->path);
  ar_free(ix);
}

/* One text value by key (meta or the LLM cache): *value is malloc'd, or NULL when absent. */
static ar_status get_by_key(ar_index *ix, const char *sql, const char *key, char **value, const char *what,
                            ar_error *err) {
  *value = NULL;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, what);
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  ar_status st = AR_OK;
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(q, 0);
    if (!(*value = ar_strdup(v ? v : ""))) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  } else if (rc != SQLITE_DONE) {
    st = ar_index_db_fail(ix, err, what);
  }
  sqlite3_finalize(q);
  return st;
}

ar_status ar_index_meta_get(ar_index *ix, const char *key, char **value, ar_error *err) {
  return get_by_key(ix, "SELECT value FROM meta WHERE key=?1", key, value, "reading meta", err);
}

ar_status ar_index_meta_set(ar_index *ix, const char *key, const char *value, ar_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "writing meta");
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
  ar_status st = sqlite3_step(q) == SQLITE_DONE ? AR_OK : ar_index_db_fail(ix, err, "writing meta");
  sqlite3_finalize(q);
  return st;
}

static int64_t count_rows(ar_index *ix, const char *sql) {
  sqlite3_stmt *q = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

ar_status ar_index_info_get(ar_index *ix, ar_index_info *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  /* one read transaction so the counts agree with each other while an ingest runs */
  if (sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, "info");
  out->n_videos = count_rows(ix, "SELECT count(*) FROM videos");
  out->n_segments = count_rows(ix, "SELECT count(*) FROM segments");
  out->n_vectors = count_rows(ix, "SELECT count(*) FROM vectors");
  out->schema_version = (int)count_rows(ix, "PRAGMA user_version");
  char *model = NULL, *dim = NULL;
  ar_status st = ar_index_meta_get(ix, "model", &model, err);
  if (!st) st = ar_index_meta_get(ix, "dim", &dim, err);
  sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL);
  if (st) { ar_free(model); ar_free(dim); return st; }
  if (out->n_videos < 0 || out->n_segments < 0 || out->n_vectors < 0)
    return ar_index_db_fail(ix, err, "counting rows");
  snprintf(out->lang, sizeof out->lang, "%s", ix->lang);
  snprintf(out->model, sizeof out->model, "%s", model ? model : "");
  out->dim = dim ? atoi(dim) : 0;
  ar_free(model);
  ar_free(dim);
  struct stat sb;
  if (stat(ix->path, &sb) == 0) out->file_bytes = sb.st_size;
  return AR_OK;
}

/* Content hash of a video's segments: two independent 64-bit FNV-1a streams over times (as
 * exact bits) and texts. It decides "unchanged, keep the corpus ids", so it covers everything
 * that a segment row stores. */
static void segments_hash(const ar_segments *segs, char out[33]) {
  uint64_t h1 = 14695981039346656037ull, h2 = 0x84222325cbf29ce4ull ^ 0x9e3779b97f4a7c15ull;
#define MIX(b) do { h1 = (h1 ^ (b)) * 1099511628211ull; h2 = (h2 ^ ((b) + 0x5b)) * 0x100000001b3ull; h2 ^= h2 >> 29; } while (0)
  for (size_t i = 0; i < segs->n; i++) {
    const ar_segment *s = &segs->v[i];
    double t[2] = {s->start_s, s->end_s};
    const unsigned char *tb = (const unsigned char *)t;
    for (size_t k = 0; k < sizeof t; k++) MIX(tb[k]);
    for (const unsigned char *c = (const unsigned char *)s->text; *c; c++) MIX(*c);
    MIX(0u);
  }
#undef MIX
  snprintf(out, 33, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

ar_status ar_index_put_video(ar_index *ix, const ar_video *v, const ar_segments *segs, ar_error *err) {
  return ar_index_put_video_ex(ix, v, segs, NULL, err);
}

ar_status ar_index_put_video_ex(ar_index *ix, const ar_video *v, const ar_segments *segs, int *changed,
                                ar_error *err) {
  if (changed) *changed = 0;
  if (ix->read_only) return ar_fail(err, AR_ERR_INVALID, "%s is open read-only", ix->path);
  if (!v || !v->video_id || !*v->video_id) return ar_fail(err, AR_ERR_INVALID, "a video needs a non-empty video_id");
  const char *src = v->source_path ? v->source_path : v->video_id;
  for (size_t i = 0; i < segs->n; i++) {
    const ar_segment *s = &segs->v[i];
    if (!s->text || !isfinite(s->start_s) || !isfinite(s->end_s) || s->start_s < 0 || s->end_s < s->start_s)
      return ar_fail(err, AR_ERR_INVALID, "%s: segment %zu has no text or bad times (%g..%g)", src, i + 1,
                     s->start_s, s->end_s);
  }
  char hash[33], when[32];
  segments_hash(segs, hash);
  now_iso(when);
  const char *title = v->title && *v->title ? v->title : v->video_id, *url = v->url ? v->url : "";
  ar_status st;
  sqlite3_stmt *q = NULL;
  ar_lex_batch *lb = NULL;
  if ((st = exec(ix, "BEGIN IMMEDIATE", err))) return st;
  if (sqlite3_prepare_v2(ix->db, "SELECT id, content_hash FROM videos WHERE video_id=?1", -1, &q, NULL) != SQLITE_OK)
    goto dbfail;
  sqlite3_bind_text(q, 1, v->video_id, -1, SQLITE_STATIC);
  int64_t vid = 0;
  int same = 0, rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    vid = sqlite3_column_int64(q, 0);
    const char *old = (const char *)sqlite3_column_text(q, 1);
    same = old && !strcmp(old, hash);
  } else if (rc != SQLITE_DONE) goto dbfail;
  sqlite3_finalize(q);
  q = NULL;

  if (vid && same) {
    /* same segments: refresh what the manifest may have changed, keep the corpus ids */
    if (sqlite3_prepare_v2(ix->db, "UPDATE videos SET title=?2, url=?3, source_path=?4 WHERE id=?1", -1, &q, NULL))
      goto dbfail;
    sqlite3_bind_int64(q, 1, vid);
    sqlite3_bind_text(q, 2, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, url, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, v->source_path ? v->source_path : "", -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    q = NULL;
    if ((st = ar_courses_set_video(ix, vid, v, err))) goto fail;
    return exec(ix, "COMMIT", err);
  }
  if (!(lb = ar_lex_batch_new())) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto fail; }
  if (vid) {
    /* tombstones in the lexical postings for the segments about to go */
    if (sqlite3_prepare_v2(ix->db, "SELECT id, text FROM segments WHERE video=?1", -1, &q, NULL)) goto dbfail;
    sqlite3_bind_int64(q, 1, vid);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
      if ((st = ar_lex_batch_add(ix, lb, sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1), 1, err)))
        goto fail;
    if (rc != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    /* explicit deletes (not only the FK cascade) */
    if (sqlite3_prepare_v2(ix->db, "DELETE FROM vectors WHERE segment_id IN (SELECT id FROM segments WHERE video=?1)",
                           -1, &q, NULL))
      goto dbfail;
    sqlite3_bind_int64(q, 1, vid);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(ix->db, "DELETE FROM segments WHERE video=?1", -1, &q, NULL)) goto dbfail;
    sqlite3_bind_int64(q, 1, vid);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(ix->db, "UPDATE videos SET title=?2, url=?3, source_path=?4, content_hash=?5,"
                           " n_segments=?6, ingested=?7 WHERE id=?1", -1, &q, NULL))
      goto dbfail;
    sqlite3_bind_int64(q, 1, vid);
  } else {
    if (sqlite3_prepare_v2(ix->db, "INSERT INTO videos(video_id, title, url, source_path, content_hash, n_segments,"
                           " ingested) VALUES (?8, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &q, NULL))
      goto dbfail;
    sqlite3_bind_text(q, 8, v->video_id, -1, SQLITE_STATIC);
  }
  sqlite3_bind_text(q, 2, title, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, url, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, v->source_path ? v->source_path : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 6, (sqlite3_int64)segs->n);
  sqlite3_bind_text(q, 7, when, -1, SQLITE_STATIC);
  if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
  sqlite3_finalize(q);
  if (!vid) vid = sqlite3_last_insert_rowid(ix->db);
  if (sqlite3_prepare_v2(ix->db, "INSERT INTO segments(video, ord, start, end, text) VALUES (?1, ?2, ?3, ?4, ?5)",
                         -1, &q, NULL))
    goto dbfail;
  for (size_t i = 0; i < segs->n; i++) {
    sqlite3_bind_int64(q, 1, vid);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
    sqlite3_bind_double(q, 3, segs->v[i].start_s);
    sqlite3_bind_double(q, 4, segs->v[i].end_s);
    sqlite3_bind_text(q, 5, segs->v[i].text, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) goto dbfail;
    sqlite3_reset(q);
    if ((st = ar_lex_batch_add(ix, lb, sqlite3_last_insert_rowid(ix->db), segs->v[i].text, 0, err))) goto fail;
  }
  sqlite3_finalize(q);
  q = NULL;
  if ((st = ar_courses_set_video(ix, vid, v, err))) goto fail;
  if ((st = ar_lex_batch_write(ix, lb, err))) goto fail;
  ar_lex_batch_free(lb);
  lb = NULL;
  if ((st = exec(ix, "COMMIT", err))) goto fail;
  ar_vectors_invalidate(ix);  /* dense: the loaded matrix may hold this video's old vectors */
  ar_lex_invalidate(ix);
  if (changed) *changed = 1;
  return AR_OK;
dbfail:
  st = ar_index_db_fail(ix, err, src);
fail:
  sqlite3_finalize(q);
  ar_lex_batch_free(lb);
  sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
  ar_lex_invalidate(ix);
  return st;
}

ar_status ar_index_cache_get(ar_index *ix, const char *key, char **value, ar_error *err) {
  return get_by_key(ix, "SELECT value FROM llm_cache WHERE key=?1", key, value, "reading the LLM cache", err);
}

ar_status ar_index_cache_put(ar_index *ix, const char *key, const char *value, ar_error *err) {
  if (ix->read_only) return ar_fail(err, AR_ERR_INVALID, "%s is open read-only", ix->path);
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "INSERT OR REPLACE INTO llm_cache(key, value, created) VALUES (?1, ?2, ?3)", -1, &q,
                         NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "writing the LLM cache");
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
  ar_status st = sqlite3_step(q) == SQLITE_DONE ? AR_OK : ar_index_db_fail(ix, err, "writing the LLM cache");
  sqlite3_finalize(q);
  return st;
}

ar_status ar_index_check(ar_index *ix, ar_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "integrity_check");
  ar_status st = AR_OK;
  if (sqlite3_step(q) != SQLITE_ROW) st = ar_index_db_fail(ix, err, "integrity_check");
  else {
    const char *r = (const char *)sqlite3_column_text(q, 0);
    if (!r || strcmp(r, "ok") != 0) st = ar_fail(err, AR_ERR_DB, "%s: integrity_check: %s", ix->path, r ? r : "?");
  }
  sqlite3_finalize(q);
  if (st) return st;
  int64_t orphans = count_rows(ix, "SELECT (SELECT count(*) FROM segments WHERE video NOT IN (SELECT id FROM videos))"
                                   " + (SELECT count(*) FROM vectors WHERE segment_id NOT IN (SELECT id FROM segments))");
  int64_t bad_n = count_rows(ix, "SELECT count(*) FROM videos v WHERE n_segments !="
                                 " (SELECT count(*) FROM segments s WHERE s.video = v.id)");
  /* a course column exists once migrated; -1 (no column) means no course to check */
  int64_t lost = count_rows(ix, "SELECT count(*) FROM videos WHERE course IS NOT NULL AND course NOT IN (SELECT id FROM courses)");
  if (lost > 0) return ar_fail(err, AR_ERR_DB, "%s: %lld videos in a course missing from the courses table", ix->path, (long long)lost);
  if (orphans != 0) return ar_fail(err, AR_ERR_DB, "%s: %lld orphan segment/vector rows", ix->path, (long long)orphans);
  if (bad_n != 0) return ar_fail(err, AR_ERR_DB, "%s: %lld videos whose segment count disagrees", ix->path, (long long)bad_n);
  /* aularag's postings vs the segments' text, in one snapshot */
  if (sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, "lexical check");
  st = ar_lex_check(ix, err);
  sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL);
  return st;
}
