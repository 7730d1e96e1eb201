/* ingest_manifest.c - TEMPORARY manifest reader for ingest until wt/transcripts ships
 * ar_manifest_load/find/free; then ingest.c calls those and this file goes. Internal names, so
 * the two can never collide at link time. CSV per RFC 4180 (quotes, "" escapes, CRLF). */
#include "index/index.h"
#include "core/util.h"
#include <stdlib.h>

void ix_manifest_free(ar_manifest *m) {
  for (size_t i = 0; i < m->n; i++) {
    ar_manifest_row *r = &m->rows[i];
    ar_free(r->file); ar_free(r->path); ar_free(r->video_id); ar_free(r->title); ar_free(r->url);
  }
  ar_free(m->rows);
  memset(m, 0, sizeof *m);
}

/* Reads one CSV record starting at *pp into fields (malloc'd); advances *pp and *line. */
static int csv_record(const char **pp, const char *end, int *line, char **f, int max_f, int *nf) {
  const char *p = *pp;
  ar_buf b = {0};
  *nf = 0;
  for (;;) {
    int quoted = 0;
    b.n = 0;
    ar_buf_reserve(&b, 1);
    if (b.p) b.p[0] = 0;
    if (p < end && *p == '"') {
      quoted = 1;
      p++;
      for (;;) {
        if (p >= end) { ar_buf_free(&b); return -1; }  /* unterminated quote */
        if (*p == '"') {
          if (p + 1 < end && p[1] == '"') { ar_buf_append(&b, "\"", 1); p += 2; continue; }
          p++;
          break;
        }
        if (*p == '\n') (*line)++;
        ar_buf_append(&b, p, 1);
        p++;
      }
    }
    while (p < end && *p != ',' && *p != '\n' && *p != '\r') {
      if (quoted) { ar_buf_free(&b); return -1; }  /* text after a closing quote */
      ar_buf_append(&b, p, 1);
      p++;
    }
    if (b.oom) { ar_buf_free(&b); return -2; }
    if (*nf < max_f) f[(*nf)++] = ar_strndup(b.p ? b.p : "", b.n);
    if (p < end && *p == ',') { p++; continue; }
    if (p < end && *p == '\r') p++;
    if (p < end && *p == '\n') p++;
    break;
  }
  ar_buf_free(&b);
  *pp = p;
  return 0;
}

static char *trim_dup(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  return ar_strndup(s, n);
}

ar_status ix_manifest_load(const char *path, ar_manifest *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  char *data;
  size_t len;
  ar_status st = ar_read_file(path, &data, &len, err);
  if (st) return st;
  const char *p = data, *end = data + len;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  const char *slash = strrchr(path, '/');
  size_t dlen = slash ? (size_t)(slash - path + 1) : 0;
  int line = 1, header = 1;
  while (p < end && !st) {
    int rec_line = line;
    char *f[5] = {0};
    int nf = 0;
    int rc = csv_record(&p, end, &line, f, 5, &nf);
    line++;
    if (rc == -1) st = ar_fail(err, AR_ERR_PARSE, "%s:%d: unterminated or misplaced quote", path, rec_line);
    else if (rc) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    int blank = nf == 1 && f[0] && !f[0][0];
    if (!st && header) {
      header = 0;
      if (nf < 4 || strcmp(f[0], "file") || strcmp(f[1], "video_id") || strcmp(f[2], "title") || strcmp(f[3], "url"))
        st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected the header file,video_id,title,url", path, rec_line);
    } else if (!st && !blank) {
      if (nf != 4) st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected 4 fields (file,video_id,title,url), got %d",
                                path, rec_line, nf);
      else if (!f[0][0] || !f[1][0]) st = ar_fail(err, AR_ERR_PARSE, "%s:%d: empty file or video_id", path, rec_line);
      else {
        ar_manifest_row *nr = ar_realloc(out->rows, (out->n + 1) * sizeof *nr);
        if (!nr) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
        else {
          out->rows = nr;
          ar_manifest_row *r = &out->rows[out->n++];
          memset(r, 0, sizeof *r);
          r->file = trim_dup(f[0]);
          ar_buf b = {0};
          if (r->file && r->file[0] == '/') ar_buf_puts(&b, r->file);
          else { ar_buf_append(&b, path, dlen); ar_buf_puts(&b, r->file ? r->file : ""); }
          r->path = b.oom ? NULL : ar_buf_steal(&b);
          r->video_id = trim_dup(f[1]);
          r->title = trim_dup(f[2][0] ? f[2] : f[1]);
          r->url = trim_dup(f[3]);
          r->line = rec_line;
          if (!r->file || !r->path || !r->video_id || !r->title || !r->url) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
        }
      }
    }
    for (int i = 0; i < nf; i++) ar_free(f[i]);
  }
  if (!st && header) st = ar_fail(err, AR_ERR_PARSE, "%s:1: empty manifest (expected the header file,video_id,title,url)", path);
  ar_free(data);
  if (st) ix_manifest_free(out);
  return st;
}

const ar_manifest_row *ix_manifest_find(const ar_manifest *m, const char *path) {
  char *rp = realpath(path, NULL);
  const ar_manifest_row *found = NULL;
  for (size_t i = 0; rp && i < m->n && !found; i++) {
    char *r = realpath(m->rows[i].path, NULL);
    if (r && !strcmp(r, rp)) found = &m->rows[i];
    free(r);
  }
  free(rp);
  return found;
}
