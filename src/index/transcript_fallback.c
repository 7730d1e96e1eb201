/* transcript_fallback.c - TEMPORARY minimal SRT/VTT parser, manifest reader and segmenter (weak
 * symbols) so ingest can be built and tested before wt/transcripts lands. DELETE this file when
 * merging wt/transcripts: the real implementations replace every function here. */
#include "core/util.h"
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#define WEAK __attribute__((weak))

WEAK const char *ar_format_name(ar_format f) {
  static const char *n[] = {"auto", "vtt", "srt", "whisper-json", "youtube-json"};
  return (unsigned)f < 5 ? n[f] : "unknown";
}

WEAK void ar_cues_free(ar_cues *c) {
  for (size_t i = 0; i < c->n; i++) ar_free(c->v[i].text);
  ar_free(c->v);
  memset(c, 0, sizeof *c);
}

static int parse_ts(const char *s, double *out) {
  int h = 0, m = 0, sec = 0, ms = 0, n = 0;
  if (sscanf(s, "%d:%d:%d%*[,.]%d%n", &h, &m, &sec, &ms, &n) == 4) { *out = h * 3600.0 + m * 60 + sec + ms / 1000.0; return n; }
  if (sscanf(s, "%d:%d%*[,.]%d%n", &m, &sec, &ms, &n) == 3) { *out = m * 60.0 + sec + ms / 1000.0; return n; }
  return 0;
}

WEAK ar_status ar_transcript_parse(const char *name, const char *data, size_t len, ar_format fmt, ar_cues *out,
                                   ar_error *err) {
  (void)fmt;
  memset(out, 0, sizeof *out);
  if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) { data += 3; len -= 3; }
  if (memchr(data, 0, len)) return ar_fail(err, AR_ERR_PARSE, "%s: binary data (NUL byte)", name);
  for (size_t i = 0; i < len;) {
    int l = ar_utf8_len((const unsigned char *)data + i, len - i);
    if (!l) {
      int line = 1;
      for (size_t k = 0; k < i; k++) line += data[k] == '\n';
      return ar_fail(err, AR_ERR_PARSE, "%s:%d: invalid UTF-8 (byte offset %zu)", name, line, i);
    }
    i += (size_t)l;
  }
  const char *p = data, *end = data + len;
  int line = 0;
  ar_buf text = {0};
  double st = 0, en = 0, last_start = -1;
  int in_cue = 0, cue_line = 0;
  while (p <= end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    size_t ll = (size_t)(le - p);
    if (ll && p[ll - 1] == '\r') ll--;
    line++;
    const char *arrow = ll > 5 ? memmem(p, ll, "-->", 3) : NULL;
    int blank = 1;
    for (size_t k = 0; k < ll; k++) blank &= isspace((unsigned char)p[k]) != 0;
    if (arrow) {
      if (in_cue && text.n) goto flush;
    ts:
      if (!parse_ts(p, &st) || !parse_ts(arrow + 3 + strspn(arrow + 3, " "), &en)) {
        ar_buf_free(&text); ar_cues_free(out);
        return ar_fail(err, AR_ERR_PARSE, "%s:%d: bad timestamp line", name, line);
      }
      if (en < st || st < last_start) {
        ar_buf_free(&text); ar_cues_free(out);
        return ar_fail(err, AR_ERR_PARSE, "%s:%d: timestamps go backwards", name, line);
      }
      last_start = st;
      in_cue = 1; cue_line = line; text.n = 0;
    } else if (in_cue && !blank) {
      if (text.n) ar_buf_puts(&text, " ");
      ar_buf_append(&text, p, ll);
    } else if (in_cue && blank) {
      goto flush;
    }
    goto next;
  flush:
    if (text.n) {
      if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 256;
        ar_cue *nv = ar_realloc(out->v, nc * sizeof *nv);
        if (!nv) { ar_buf_free(&text); ar_cues_free(out); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
        out->v = nv; out->cap = nc;
      }
      ar_cue *c = &out->v[out->n++];
      c->start_s = st; c->end_s = en; c->line = cue_line;
      c->text = ar_strndup(text.p, text.n);
    }
    text.n = 0;
    in_cue = 0;
    if (arrow) goto ts;
  next:
    if (!nl) break;
    p = nl + 1;
  }
  if (in_cue && text.n) {
    if (out->n == out->cap) {
      ar_cue *nv = ar_realloc(out->v, (out->cap + 1) * sizeof *nv);
      if (!nv) { ar_buf_free(&text); ar_cues_free(out); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
      out->v = nv; out->cap++;
    }
    ar_cue *c = &out->v[out->n++];
    c->start_s = st; c->end_s = en; c->line = cue_line;
    c->text = ar_strndup(text.p, text.n);
  }
  ar_buf_free(&text);
  if (!out->n) return ar_fail(err, AR_ERR_PARSE, "%s: no cues found", name);
  return AR_OK;
}

WEAK ar_status ar_transcript_load(const char *path, ar_cues *out, ar_error *err) {
  char *data; size_t len;
  memset(out, 0, sizeof *out);
  ar_status st = ar_read_file(path, &data, &len, err);
  if (st) return st;
  st = ar_transcript_parse(path, data, len, AR_FORMAT_AUTO, out, err);
  ar_free(data);
  return st;
}

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

WEAK ar_segment_params ar_segment_default_params(void) {
  ar_segment_params p = {120, 30, 350, NULL, NULL};
  return p;
}

WEAK void ar_segments_free(ar_segments *s) {
  for (size_t i = 0; i < s->n; i++) ar_free(s->v[i].text);
  ar_free(s->v);
  memset(s, 0, sizeof *s);
}

static int n_words(const char *s) {
  int n = 0, in = 0;
  for (; *s; s++) { int sp = isspace((unsigned char)*s); if (!sp && !in) n++; in = !sp; }
  return n;
}

WEAK ar_status ar_segment_cues(const ar_cues *cues, const ar_segment_params *p, ar_segments *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  if (!(p->window_s > 0) || p->overlap_s < 0 || p->overlap_s >= p->window_s)
    return ar_fail(err, AR_ERR_INVALID, "segment window %g s / overlap %g s: need 0 <= overlap < window",
                   p->window_s, p->overlap_s);
  size_t i = 0;
  while (i < cues->n) {
    size_t j = i;
    int words = 0;
    ar_buf b = {0};
    while (j < cues->n && (j == i || (cues->v[j].end_s - cues->v[i].start_s <= p->window_s &&
                                      words + n_words(cues->v[j].text) <= p->max_units))) {
      if (b.n) ar_buf_puts(&b, " ");
      ar_buf_puts(&b, cues->v[j].text);
      words += n_words(cues->v[j].text);
      j++;
    }
    if (out->n == out->cap) {
      size_t nc = out->cap ? out->cap * 2 : 64;
      ar_segment *nv = ar_realloc(out->v, nc * sizeof *nv);
      if (!nv) { ar_buf_free(&b); ar_segments_free(out); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
      out->v = nv; out->cap = nc;
    }
    ar_segment *s = &out->v[out->n++];
    s->start_s = cues->v[i].start_s; s->end_s = cues->v[j - 1].end_s;
    s->text = ar_buf_steal(&b); s->first_cue = i; s->n_cues = j - i;
    if (j >= cues->n) break;
    double next = cues->v[i].start_s + p->window_s - p->overlap_s;
    size_t k = i + 1;
    while (k < j && cues->v[k].start_s < next) k++;
    i = k;
  }
  return AR_OK;
}
