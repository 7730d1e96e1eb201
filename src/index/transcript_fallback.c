/* transcript_fallback.c - TEMPORARY manifest reader (weak symbols) until wt/transcripts commits its own.
 * (wt/eval merge: the parser and segmenter parts were removed here because wt/transcripts' real ones
 * are merged; weak copies in an archive shadow them.) DELETE this file when ar_manifest_load lands. */
#include "core/util.h"
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#define WEAK __attribute__((weak))

WEAK void ar_manifest_free(ar_manifest *m) {
  for (size_t i = 0; i < m->n; i++) {
    ar_manifest_row *r = &m->rows[i];
    ar_free(r->file); ar_free(r->path); ar_free(r->video_id); ar_free(r->title); ar_free(r->url);
  }
  ar_free(m->rows);
  memset(m, 0, sizeof *m);
}

/* naive CSV: no quoted commas */
WEAK ar_status ar_manifest_load(const char *path, ar_manifest *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  char *data; size_t len;
  ar_status st = ar_read_file(path, &data, &len, err);
  if (st) return st;
  const char *slash = strrchr(path, '/');
  size_t dlen = slash ? (size_t)(slash - path + 1) : 0;
  int line = 0;
  char *save = NULL;
  for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    line++;
    size_t ll = strlen(l);
    if (ll && l[ll - 1] == '\r') l[--ll] = 0;
    if (line == 1 || !ll) continue;
    char *f[4] = {0}, *s2 = NULL;
    int nf = 0;
    for (char *c = strtok_r(l, ",", &s2); c && nf < 4; c = strtok_r(NULL, ",", &s2)) f[nf++] = c;
    if (nf < 2) { ar_free(data); ar_manifest_free(out); return ar_fail(err, AR_ERR_PARSE, "%s:%d: expected file,video_id,title,url", path, line); }
    ar_manifest_row *nr = ar_realloc(out->rows, (out->n + 1) * sizeof *nr);
    if (!nr) { ar_free(data); ar_manifest_free(out); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
    out->rows = nr;
    ar_manifest_row *r = &out->rows[out->n++];
    r->file = ar_strdup(f[0]);
    ar_buf b = {0};
    if (f[0][0] == '/') ar_buf_puts(&b, f[0]); else { ar_buf_append(&b, path, dlen); ar_buf_puts(&b, f[0]); }
    r->path = ar_buf_steal(&b);
    r->video_id = ar_strdup(f[1]);
    r->title = ar_strdup(nf > 2 ? f[2] : f[1]);
    r->url = ar_strdup(nf > 3 ? f[3] : "");
    r->line = line;
  }
  ar_free(data);
  return AR_OK;
}

WEAK const ar_manifest_row *ar_manifest_find(const ar_manifest *m, const char *path) {
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
