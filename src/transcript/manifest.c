/* manifest.c - the course manifest: CSV (RFC 4180) with a header naming file,video_id,title,url.
 *
 * Header required; columns in any order, matched case-insensitively; unknown columns ignored;
 * file and video_id required, title and url optional (title defaults to the video_id, url to "").
 * Optional course and course_title: a course_title needs a course (column and field), and the rows
 * of one course may repeat its title or leave it empty, never disagree (an error naming both lines:
 * a silent "last wins" would hide a typo in a catalog of many courses).
 * Fields may be quoted ("" escapes a quote; commas and newlines allowed inside); spaces around
 * fields are trimmed; CRLF and a UTF-8 BOM are fine; blank lines are skipped. */
#include "core/util.h"
#include <limits.h>
#include <strings.h>

enum { COL_FILE, COL_ID, COL_TITLE, COL_URL, COL_COURSE, COL_COURSE_TITLE, N_COLS };
static const char *const col_names[N_COLS] = {"file", "video_id", "title", "url", "course", "course_title"};

typedef struct csv {
  const char *name, *p, *end;
  int line;              /* current line */
} csv;

typedef struct record {
  char **f;
  int n, cap;
  int line;              /* where the record starts */
} record;

static void record_clear(record *r) {
  for (int i = 0; i < r->n; i++) ar_free(r->f[i]);
  r->n = 0;
}
static void record_free(record *r) {
  record_clear(r);
  ar_free(r->f);
  *r = (record){0};
}

/* Reads one record. Returns 1 if one was read, 0 at end of data, or a negative ar_status. */
static int read_record(csv *c, record *r, ar_error *err) {
  record_clear(r);
  if (c->p >= c->end) return 0;
  r->line = c->line;
  ar_buf f = {0};
  for (;;) {
    f.n = 0;
    if (f.p) f.p[0] = 0;
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
    if (c->p < c->end && *c->p == '"') {
      int open_line = c->line;
      c->p++;
      for (;;) {
        if (c->p >= c->end) {
          ar_buf_free(&f);
          return ar_fail(err, AR_ERR_PARSE, "%s:%d: unterminated quoted field (the quote opened here is never closed)",
                         c->name, open_line);
        }
        char ch = *c->p++;
        if (ch == '"') {
          if (c->p < c->end && *c->p == '"') { c->p++; ar_buf_append(&f, "\"", 1); continue; }
          break;
        }
        if (ch == '\n' || (ch == '\r' && !(c->p < c->end && *c->p == '\n'))) c->line++;
        ar_buf_append(&f, &ch, 1);
      }
      while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
      if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
        ar_buf_free(&f);
        return ar_fail(err, AR_ERR_PARSE, "%s:%d: expected ',' or the end of the line after a quoted field", c->name, c->line);
      }
    } else {
      const char *s = c->p;
      while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') c->p++;
      size_t n = (size_t)(c->p - s);
      while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
      ar_buf_append(&f, s, n);
    }
    if (r->n == r->cap) {
      int cap = r->cap ? r->cap * 2 : 8;
      char **v = ar_realloc(r->f, (size_t)cap * sizeof *v);
      if (!v) { ar_buf_free(&f); return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", c->name); }
      r->f = v;
      r->cap = cap;
    }
    char *val = f.oom ? NULL : ar_strndup(f.p ? f.p : "", f.n);
    if (!val) { ar_buf_free(&f); return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", c->name); }
    r->f[r->n++] = val;
    if (c->p < c->end && *c->p == ',') { c->p++; continue; }
    /* end of line or data */
    if (c->p < c->end && *c->p == '\r') c->p++;
    if (c->p < c->end && *c->p == '\n') c->p++;
    c->line++;
    break;
  }
  ar_buf_free(&f);
  return 1;
}

static int blank_record(const record *r) { return r->n == 1 && r->f[0][0] == 0; }

/* manifest dir + file, with "./" segments and doubled slashes removed. */
static char *resolve(const char *manifest, const char *file) {
  ar_buf b = {0};
  if (file[0] != '/') {
    const char *slash = strrchr(manifest, '/');
    if (slash) ar_buf_append(&b, manifest, (size_t)(slash - manifest) + 1);
  }
  const char *s = file;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (!(n == 0 && b.n) && !(n == 1 && s[0] == '.')) {
      ar_buf_append(&b, s, n);
      if (e) ar_buf_append(&b, "/", 1);
    } else if (n == 0 && !b.n) {
      ar_buf_append(&b, "/", 1);
    }
    if (!e) break;
    s = e + 1;
  }
  if (b.oom) { ar_buf_free(&b); return NULL; }
  if (!b.n) ar_buf_puts(&b, ".");
  return ar_buf_steal(&b);
}

/* String -> first row index, for the duplicate and course checks: a catalog manifest has tens of
 * thousands of rows, so comparing each row with all earlier ones (seconds) is not an option. Keys are
 * the rows' own strings. Open addressing, kept at most half full. */
typedef struct strmap {
  const char **key;
  size_t *row;
  size_t cap, n;
} strmap;

static size_t str_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)(h ^ (h >> 29));
}

/* The row already stored under key, or SIZE_MAX after storing `row` under it; SIZE_MAX - 1 when out of memory. */
static size_t strmap_add(strmap *m, const char *key, size_t row) {
  if (2 * (m->n + 1) > m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    strmap g = {ar_calloc(cap, sizeof *g.key), ar_calloc(cap, sizeof *g.row), cap, 0};
    if (!g.key || !g.row) { ar_free(g.key); ar_free(g.row); return SIZE_MAX - 1; }
    for (size_t i = 0; i < m->cap; i++)
      if (m->key[i]) {
        size_t j = str_hash(m->key[i]) & (cap - 1);
        while (g.key[j]) j = (j + 1) & (cap - 1);
        g.key[j] = m->key[i];
        g.row[j] = m->row[i];
        g.n++;
      }
    ar_free(m->key);
    ar_free(m->row);
    *m = g;
  }
  size_t j = str_hash(key) & (m->cap - 1);
  for (; m->key[j]; j = (j + 1) & (m->cap - 1))
    if (!strcmp(m->key[j], key)) return m->row[j];
  m->key[j] = key;
  m->row[j] = row;
  m->n++;
  return SIZE_MAX;
}

static void strmap_free(strmap *m) {
  ar_free(m->key);
  ar_free(m->row);
  *m = (strmap){0};
}

static void rows_free(ar_manifest_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ar_free(rows[i].file); ar_free(rows[i].path); ar_free(rows[i].real);
    ar_free(rows[i].video_id); ar_free(rows[i].title); ar_free(rows[i].url);
    ar_free(rows[i].course); ar_free(rows[i].course_title);
  }
  ar_free(rows);
}

ar_status ar_manifest_load(const char *path, ar_manifest *out, ar_error *err) {
  if (!path || !out) return ar_fail(err, AR_ERR_INVALID, "ar_manifest_load: NULL argument");
  *out = (ar_manifest){0};
  char *data;
  size_t len;
  ar_status st = ar_read_file(path, &data, &len, err);
  if (st) return st;
  const char *p = data;
  if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) { p += 3; len -= 3; }
  csv c = {path, p, p + len, 1};
  record r = {0};
  ar_manifest_row *rows = NULL;
  size_t n = 0, cap = 0;
  int col[N_COLS] = {-1, -1, -1, -1, -1, -1}, n_header = 0;
  strmap ids = {0}, paths = {0}, reals = {0}, titled = {0};   /* titled: course -> first row giving its title */
  size_t at;
  const char *nul = memchr(p, 0, len);
  if (nul) {
    int line = 1;
    for (const char *q = p; q < nul; q++) line += *q == '\n';
    st = ar_fail(err, AR_ERR_PARSE, "%s:%d: binary data (NUL byte at byte offset %zu); expected a CSV manifest", path, line,
                 (size_t)(nul - data));
    goto out;
  }
  for (size_t i = 0; i < len;) {
    int l = ar_utf8_len((const unsigned char *)p + i, len - i);
    if (!l) {
      int line = 1;
      for (size_t k = 0; k < i; k++) line += p[k] == '\n';
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: invalid UTF-8 at byte offset %zu; save the manifest as UTF-8", path, line,
                   i + (size_t)(p - data));
      goto out;
    }
    i += (size_t)l;
  }
  /* header */
  int rc;
  while ((rc = read_record(&c, &r, err)) == 1 && blank_record(&r)) {}
  if (rc < 0) { st = (ar_status)rc; goto out; }
  if (rc == 0) {
    st = ar_fail(err, AR_ERR_PARSE, "%s:1: empty manifest; expected a header line: file,video_id,title,url", path);
    goto out;
  }
  n_header = r.n;
  for (int i = 0; i < r.n; i++)
    for (int k = 0; k < N_COLS; k++)
      if (strcasecmp(r.f[i], col_names[k]) == 0) {
        if (col[k] >= 0) {
          st = ar_fail(err, AR_ERR_PARSE, "%s:%d: column '%s' appears twice in the header", path, r.line, col_names[k]);
          goto out;
        }
        col[k] = i;
      }
  for (int k = 0; k < 2; k++)
    if (col[k] < 0) {
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: missing column '%s' in the header; expected file,video_id,title,url", path,
                   r.line, col_names[k]);
      goto out;
    }
  if (col[COL_COURSE_TITLE] >= 0 && col[COL_COURSE] < 0) {
    st = ar_fail(err, AR_ERR_PARSE, "%s:%d: column 'course_title' without a 'course' column", path, r.line);
    goto out;
  }
  /* rows */
  while ((rc = read_record(&c, &r, err)) == 1) {
    if (blank_record(&r)) continue;
    if (r.n != n_header) {
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected %d fields like the header, got %d", path, r.line, n_header, r.n);
      goto out;
    }
    const char *file = r.f[col[COL_FILE]], *id = r.f[col[COL_ID]];
    if (!*file) { st = ar_fail(err, AR_ERR_PARSE, "%s:%d: empty 'file'", path, r.line); goto out; }
    if (!*id) { st = ar_fail(err, AR_ERR_PARSE, "%s:%d: empty 'video_id' (file %s)", path, r.line, file); goto out; }
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      ar_manifest_row *v = ar_realloc(rows, nc * sizeof *v);
      if (!v) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto out; }
      rows = v;
      cap = nc;
    }
    ar_manifest_row *row = &rows[n++];
    *row = (ar_manifest_row){0};
    row->line = r.line;
    const char *title = col[COL_TITLE] >= 0 ? r.f[col[COL_TITLE]] : "";
    row->file = ar_strdup(file);
    row->video_id = ar_strdup(id);
    row->title = ar_strdup(*title ? title : id);
    row->url = ar_strdup(col[COL_URL] >= 0 ? r.f[col[COL_URL]] : "");
    row->path = resolve(path, file);
    const char *course = col[COL_COURSE] >= 0 ? r.f[col[COL_COURSE]] : "";
    const char *ctitle = col[COL_COURSE_TITLE] >= 0 ? r.f[col[COL_COURSE_TITLE]] : "";
    if (*ctitle && !*course) {
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: course_title '%s' on a row without a course", path, r.line, ctitle);
      goto out;
    }
    if ((*course && !(row->course = ar_strdup(course))) || (*ctitle && !(row->course_title = ar_strdup(ctitle)))) {
      st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
      goto out;
    }
    if (!row->file || !row->video_id || !row->title || !row->url || !row->path) {
      st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
      goto out;
    }
    if ((at = strmap_add(&ids, row->video_id, n - 1)) < SIZE_MAX - 1) {
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: duplicate video_id '%s' (first on line %d)", path, r.line, id, rows[at].line);
      goto out;
    }
    if (at == SIZE_MAX - 1) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    if (*ctitle && (at = strmap_add(&titled, row->course, n - 1)) < SIZE_MAX - 1 &&
        strcmp(rows[at].course_title, ctitle) != 0) {
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: course '%s' is titled '%s' here but '%s' on line %d", path, r.line,
                   course, ctitle, rows[at].course_title, rows[at].line);
      goto out;
    }
    if (at == SIZE_MAX - 1) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    char buf[PATH_MAX];
    if (realpath(row->path, buf) && !(row->real = ar_strdup(buf))) {
      st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
      goto out;
    }
    /* the same file twice: by its normalised path, or by its real path (another spelling of it) */
    size_t by_path = strmap_add(&paths, row->path, n - 1), by_real = row->real ? strmap_add(&reals, row->real, n - 1) : SIZE_MAX;
    if (by_path == SIZE_MAX - 1 || by_real == SIZE_MAX - 1) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    if (by_path < SIZE_MAX - 1 || by_real < SIZE_MAX - 1) {
      at = by_path < by_real ? by_path : by_real;
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: file '%s' is listed twice (first on line %d)", path, r.line, file,
                   rows[at].line);
      goto out;
    }
  }
  if (rc < 0) { st = (ar_status)rc; goto out; }
  /* a course titled on one row is titled on all of its rows, whichever of them is ingested */
  for (size_t i = 0; i < n; i++) {
    if (!rows[i].course || rows[i].course_title) continue;
    if ((at = strmap_add(&titled, rows[i].course, i)) == SIZE_MAX - 1) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto out; }
    if (at == SIZE_MAX) continue;   /* no row titles it (it is now in the map as its own first row: harmless) */
    if (rows[at].course_title && !(rows[i].course_title = ar_strdup(rows[at].course_title))) {
      st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
      goto out;
    }
  }
  out->rows = rows;
  out->n = n;
  rows = NULL;
out:
  strmap_free(&ids); strmap_free(&paths); strmap_free(&reals); strmap_free(&titled);
  if (rows) rows_free(rows, n);
  record_free(&r);
  ar_free(data);
  return st;
}

const ar_manifest_row *ar_manifest_find(const ar_manifest *m, const char *path) {
  if (!m || !path) return NULL;
  char buf[PATH_MAX];
  const char *real = realpath(path, buf);
  for (size_t i = 0; i < m->n; i++) {
    const ar_manifest_row *r = &m->rows[i];
    if (real ? (r->real && strcmp(r->real, real) == 0) : strcmp(r->path, path) == 0) return r;
  }
  return NULL;
}

void ar_manifest_free(ar_manifest *m) {
  if (!m) return;
  rows_free(m->rows, m->n);
  *m = (ar_manifest){0};
}
