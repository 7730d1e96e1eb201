/* snapshot.c - `aularag snapshot`: a consistent, compacted, checked copy of a live index for serve replicas.
 *
 * The copy is made by VACUUM INTO, which reads the source in one read transaction: an ingest committing
 * meanwhile is either wholly in it or not at all (the lexical postings live in the same file, so they
 * agree with the segments). The copy is then made a snapshot: migrated like any writable open, stamped
 * (meta 'snapshot_of', 'snapshot_at'), given its vector section (INDEX.vec is a cache stamped with meta
 * 'vectors_uid'/'vectors_gen', which VACUUM INTO copied, so the section written here matches exactly this
 * state), switched to rollback-journal mode (replicas open it immutable: no -wal/-shm that a later file of
 * the same name could inherit), synced, checked as `info --check` checks, and only then renamed into
 * place. Everything is written under OUT.tmp-PID first, so a failure or a kill leaves OUT as it was. */
#include "index/index.h"
#include "index/vectors.h"
#include "core/util.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *ar_snapshot_uri(const char *path) {
  ar_buf b = {0};
  /* "file:///abs" or "file:rel": an authority ("file://host/...") is never formed */
  ar_buf_puts(&b, path[0] == '/' ? "file://" : "file:");
  for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
    if (isalnum(*c) || strchr("/-._~", *c)) ar_buf_append(&b, (const char *)c, 1);
    else ar_buf_printf(&b, "%%%02X", *c);
  }
  ar_buf_puts(&b, "?immutable=1");
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

int ar_index_is_snapshot(const char *path) {
  /* the header first: bytes 18-19 are 1 in rollback-journal mode, 2 in WAL mode (a live index) */
  unsigned char h[100];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = pread(fd, h, sizeof h, 0);
  close(fd);
  if (n != (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) || h[18] != 1 || h[19] != 1) return 0;
  char *uri = ar_snapshot_uri(path);
  sqlite3 *db = NULL;
  sqlite3_stmt *q = NULL;
  int yes = 0;
  if (uri && sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key='snapshot_at'", -1, &q, NULL) == SQLITE_OK)
    yes = sqlite3_step(q) == SQLITE_ROW;
  sqlite3_finalize(q);
  sqlite3_close(db);
  ar_free(uri);
  return yes;
}

/* The files a snapshot in the making may leave: the copy, its journals and its vector section. */
static void remove_tmp(const char *tmp) {
  static const char *suf[] = {"", "-journal", "-wal", "-shm", ".vec"};
  char p[PATH_MAX + 16];
  for (size_t i = 0; i < AR_ARRAY_LEN(suf); i++) {
    snprintf(p, sizeof p, "%s%s", tmp, suf[i]);
    unlink(p);
  }
}

/* Leftovers of snapshots killed mid-way (OUT.tmp-PID* whose process is gone): nobody reads them. */
static void remove_stale_tmp(const char *out) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", out);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : out;
  if (slash) slash[slash == dir] = 0;
  else strcpy(dir, ".");
  char prefix[NAME_MAX + 8];
  snprintf(prefix, sizeof prefix, "%s.tmp-", base);
  size_t pl = strlen(prefix);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, pl) || !isdigit((unsigned char)e->d_name[pl])) continue;
    long pid = strtol(e->d_name + pl, NULL, 10);
    if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char p[PATH_MAX + NAME_MAX + 2];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
}

static ar_status sync_file(const char *path, ar_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ar_fail(err, AR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  int bad = fsync(fd);
  int e = errno;
  close(fd);
  return bad ? ar_fail(err, AR_ERR_IO, "%s: cannot sync: %s", path, strerror(e)) : AR_OK;
}

static void sync_dir(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) slash[slash == dir] = 0;
  else strcpy(dir, ".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) { fsync(fd); close(fd); }
}

/* The stamp the copy's vector section must carry (meta: vectors_uid, vectors_gen, model, dim). */
static ar_status copy_stamp(ar_index *ix, ar_vecstamp *st, ar_error *err) {
  memset(st, 0, sizeof *st);
  st->gen = -1;
  char *u = NULL, *g = NULL, *m = NULL, *d = NULL;
  ar_status s = ar_index_meta_get(ix, "vectors_uid", &u, err);
  if (!s) s = ar_index_meta_get(ix, "vectors_gen", &g, err);
  if (!s) s = ar_index_meta_get(ix, "model", &m, err);
  if (!s) s = ar_index_meta_get(ix, "dim", &d, err);
  if (!s && u && g) {
    st->uid = strtoull(u, NULL, 10);
    st->gen = strtoll(g, NULL, 10);
    snprintf(st->model, sizeof st->model, "%s", m ? m : "");
    st->dim = d ? atoi(d) : 0;
  }
  ar_free(u); ar_free(g); ar_free(m); ar_free(d);
  return s;
}

/* Step 2: the copy becomes a snapshot (migrated, stamped, its vector section, rollback journal). */
static ar_status finish_copy(const char *tmp, const char *source, ar_error *err) {
  ar_index_params wp = ar_index_default_params();
  wp.create = 0;
  ar_index *w = NULL;
  ar_status st = ar_index_open(tmp, wp, &w, err);
  if (st) return st;
  char when[32], src[PATH_MAX];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!realpath(source, src)) snprintf(src, sizeof src, "%s", source);
  if ((st = ar_index_meta_set(w, "snapshot_of", src, err)) || (st = ar_index_meta_set(w, "snapshot_at", when, err)))
    goto out;
  /* written as <tmp>.vec, the name the section of the file at <tmp> has; renamed with it at the end */
  if ((st = ar_vectors_refresh(w, err))) goto out;
  sqlite3_stmt *q = NULL;
  const char *mode = NULL;
  if (sqlite3_prepare_v2(w->db, "PRAGMA journal_mode=DELETE", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    mode = (const char *)sqlite3_column_text(q, 0);
  if (!mode || strcmp(mode, "delete") != 0) st = ar_index_db_fail(w, err, "leaving WAL mode");
  sqlite3_finalize(q);
out:
  ar_index_close(w);
  return st;
}

/* Step 3: the copy as a replica will open it (immutable), checked as `info --check` checks, plus its
 * vector section's checksums. Fills the counts. */
static ar_status verify(const char *tmp, ar_snapshot_stats *stats, ar_error *err) {
  if (!ar_index_is_snapshot(tmp)) return ar_fail(err, AR_ERR_DB, "%s: the copy did not become a snapshot", tmp);
  ar_index_params rp = ar_index_default_params();
  rp.read_only = 1;
  rp.create = 0;
  rp.immutable = 1;
  ar_index *r = NULL;
  ar_status st = ar_index_open(tmp, rp, &r, err);
  if (st) return st;
  ar_index_info info;
  ar_vecstamp stamp;
  if (!(st = ar_index_check(r, err)) && !(st = ar_index_info_get(r, &info, err)) && !(st = copy_stamp(r, &stamp, err))) {
    stats->n_videos = info.n_videos;
    stats->n_segments = info.n_segments;
    stats->n_vectors = info.n_vectors;
    stats->bytes = info.file_bytes;
    if (info.n_vectors > 0) {
      char vec[PATH_MAX + 8];
      snprintf(vec, sizeof vec, "%s.vec", tmp);
      ar_vecmap vm;
      if (stamp.gen < 0) st = ar_fail(err, AR_ERR_DB, "%s: the copy's vectors carry no generation", tmp);
      else if ((st = ar_vecfile_map(vec, &stamp, &vm, err)) == AR_ERR_NOTFOUND)
        st = ar_fail(err, AR_ERR_IO, "%s: the vector section could not be written (disk full or read-only?)", vec);
      else if (!st) ar_vecfile_unmap(&vm);
    }
  }
  ar_index_close(r);
  return st;
}

ar_status ar_index_snapshot(const char *index_path, const char *out_path, ar_snapshot_stats *stats, ar_error *err) {
  ar_snapshot_stats dummy;
  if (!stats) stats = &dummy;
  memset(stats, 0, sizeof *stats);
  double t0 = ar_now_s();
  if (!index_path || !*index_path) return ar_fail(err, AR_ERR_INVALID, "no index path given (-i INDEX or AULARAG_INDEX)");
  if (!out_path || !*out_path) return ar_fail(err, AR_ERR_INVALID, "no snapshot path given");
  if (strlen(out_path) > PATH_MAX - 64) return ar_fail(err, AR_ERR_INVALID, "%s: path too long", out_path);
  struct stat si, so;
  if (stat(out_path, &so) == 0) {
    if (S_ISDIR(so.st_mode)) return ar_fail(err, AR_ERR_INVALID, "%s is a directory, not a snapshot file", out_path);
    if (stat(index_path, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
      return ar_fail(err, AR_ERR_INVALID, "%s is the index itself; a snapshot needs another path", out_path);
  }
  ar_index_params ip = ar_index_default_params();
  ip.read_only = 1;   /* also snapshots an index in a read-only place */
  ip.create = 0;
  ar_index *src = NULL;
  ar_status st = ar_index_open(index_path, ip, &src, err);
  if (st) return st;

  remove_stale_tmp(out_path);
  char tmp[PATH_MAX], tmpvec[PATH_MAX + 8], outvec[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out_path, (long)getpid());
  snprintf(tmpvec, sizeof tmpvec, "%s.vec", tmp);
  snprintf(outvec, sizeof outvec, "%s.vec", out_path);
  remove_tmp(tmp);

  /* Step 1: one read transaction of the source, copied and compacted */
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(src->db, "VACUUM INTO ?1", -1, &q, NULL) != SQLITE_OK) {
    st = ar_index_db_fail(src, err, "VACUUM INTO");
  } else {
    sqlite3_bind_text(q, 1, tmp, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
      int sys = sqlite3_system_errno(src->db);
      st = ar_fail(err, AR_ERR_IO, "%s: cannot write the snapshot of %s: %s%s%s%s", tmp, index_path,
                   sqlite3_errmsg(src->db), sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
    }
  }
  sqlite3_finalize(q);
  ar_index_close(src);
  if (!st) st = finish_copy(tmp, index_path, err);
  if (!st) st = sync_file(tmp, err);
  if (!st && access(tmpvec, F_OK) == 0) st = sync_file(tmpvec, err);
  if (!st) st = verify(tmp, stats, err);
  /* Step 4: into place, the section first: a replica opening the old file meanwhile finds a section
   * stamped for another state and does not use it (the stamps, not the order, keep readers right) */
  if (!st && stats->n_vectors > 0 && rename(tmpvec, outvec))
    st = ar_fail(err, AR_ERR_IO, "%s: cannot rename into place: %s", outvec, strerror(errno));
  if (!st && rename(tmp, out_path)) st = ar_fail(err, AR_ERR_IO, "%s: cannot rename into place: %s", out_path, strerror(errno));
  if (st) {
    remove_tmp(tmp);
    return st;
  }
  if (stats->n_vectors == 0) unlink(outvec);   /* an older snapshot's section: its stamp matches nothing now */
  sync_dir(out_path);
  stats->seconds = ar_now_s() - t0;
  return AR_OK;
}
