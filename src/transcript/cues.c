/* cues.c - the cue draft every parser fills: timestamps, line reader, rolling-line de-duplication,
 * timestamp repair and the final ar_cues. */
#include "transcript/tr_internal.h"
#include <math.h>

/* A cue may start this much before the previous one and be repaired (start moved up to the
 * previous start): real captions have such slips (CS231n 2017 lecture 16 goes back 4.5 s). A larger
 * jump means the file is not one transcript in time order, and is an error. */
#define TR_BACK_TOLERANCE_S 30.0

int tr_getline(tr_reader *r, const char **s, size_t *n) {
  if (r->p >= r->end) return 0;
  const char *b = r->p, *e = b;
  while (e < r->end && *e != '\n' && *e != '\r') e++;
  *s = b;
  *n = (size_t)(e - b);
  if (e < r->end && *e == '\r') e++;
  if (e < r->end && *e == '\n') e++;
  r->p = e;
  r->line++;
  return 1;
}

int tr_is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\f' && s[i] != '\v') return 0;
  return 1;
}

static size_t digits(const char *s, size_t n, size_t max, unsigned long long *v) {
  size_t i = 0;
  *v = 0;
  while (i < n && i < max && s[i] >= '0' && s[i] <= '9') *v = *v * 10 + (unsigned)(s[i++] - '0');
  return i;
}

size_t tr_parse_time(const char *s, size_t n, double *out) {
  unsigned long long g[3], frac = 0;
  size_t i = 0, k, ng = 0, fd = 0;
  for (;;) {
    k = digits(s + i, n - i, ng == 0 ? 9 : 2, &g[ng]);
    if (!k || (ng > 0 && k != 2)) return 0;   /* minutes and seconds fields have two digits */
    i += k;
    ng++;
    if (ng < 3 && i + 1 < n && s[i] == ':' && s[i + 1] >= '0' && s[i + 1] <= '9') { i++; continue; }
    break;
  }
  if (ng < 2) return 0;
  if (i + 1 < n && (s[i] == '.' || s[i] == ',') && s[i + 1] >= '0' && s[i + 1] <= '9') {
    i++;
    fd = digits(s + i, n - i, 9, &frac);
    i += fd;
    if (i < n && s[i] >= '0' && s[i] <= '9') return 0;   /* more than 9 fraction digits */
  }
  if (i < n && s[i] >= '0' && s[i] <= '9') return 0;     /* e.g. a 3-digit minutes field */
  double h = 0, m, sec;
  if (ng == 3) { h = (double)g[0]; m = (double)g[1]; sec = (double)g[2]; if (g[1] > 59) return 0; }
  else { m = (double)g[0]; sec = (double)g[1]; }
  if (sec > 59) return 0;
  static const double pow10[10] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  *out = h * 3600 + m * 60 + sec + (double)frac / pow10[fd];
  return i;
}

/* A time that may carry a minus sign: tools that shift subtitles write "-00:00:00,485" (CS231n 2017
 * lecture 7). Negative times are clamped to 0 by tr_draft_finish. */
static size_t signed_time(const char *s, size_t n, double *out, int need_hours) {
  int neg = n > 0 && s[0] == '-';
  size_t k = tr_parse_time(s + neg, n - neg, out);
  if (!k) return 0;
  if (need_hours && memchr(s + neg, ':', k) == memrchr(s + neg, ':', k)) return 0;   /* only MM:SS */
  if (neg) *out = -*out;
  return k + (size_t)neg;
}

int tr_parse_timing(const char *s, size_t n, double *start, double *end, int need_hours, const char **why) {
  size_t i = 0, k;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (!(k = signed_time(s + i, n - i, start, need_hours))) { *why = "a start time"; return -1; }
  i += k;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (n - i < 3 || memcmp(s + i, "-->", 3) != 0) { *why = "'-->' after the start time"; return -1; }
  i += 3;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (!(k = signed_time(s + i, n - i, end, need_hours))) { *why = "an end time"; return -1; }
  i += k;
  if (i < n && s[i] != ' ' && s[i] != '\t') { *why = "a space or the end of the line after the end time"; return -1; }
  return 0;
}

ar_status tr_draft_add(tr_draft *d, double start_s, double end_s, int line, const char *raw, size_t n,
                       int markup, ar_error *err) {
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 256;
    tr_cue *v = ar_realloc(d->v, cap * sizeof *v);
    if (!v) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", d->name);
    d->v = v;
    d->cap = cap;
  }
  tr_cue *c = &d->v[d->n];
  *c = (tr_cue){start_s, end_s, line, d->text.n, 0, 0};
  size_t i = 0;
  while (i <= n) {
    const char *nl = i < n ? memchr(raw + i, '\n', n - i) : NULL;
    size_t e = nl ? (size_t)(nl - raw) : n;
    size_t before = d->text.n;
    if (c->n_lines && ar_buf_append(&d->text, "\n", 1)) goto oom;
    size_t mark = d->text.n;
    int r = tr_clean_line(&d->text, raw + i, e - i, markup);
    if (r < 0) goto oom;
    d->karaoke |= r;
    if (d->text.n == mark) {   /* line empty after cleanup: undo its separator */
      d->text.n = before;
      if (d->text.p) d->text.p[before] = 0;
    } else {
      c->n_lines++;
    }
    if (!nl) break;
    i = e + 1;
  }
  c->len = d->text.n - c->off;
  d->n++;
  return AR_OK;
oom:
  return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", d->name);
}

/* A cue's lines as (start, length) spans into the draft's text: found in one pass, so comparing and
 * joining lines costs no rescan from the cue's start (that made hostile cues of thousands of lines cubic). */
typedef struct span { const char *s; size_t n; } span;

static int cue_lines(const tr_draft *d, const tr_cue *c, span **v, size_t *cap) {
  if ((size_t)c->n_lines > *cap) {
    size_t nc = (size_t)c->n_lines;
    span *nv = ar_realloc(*v, nc * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    *cap = nc;
  }
  const char *p = d->text.p + c->off, *end = p + c->len;
  for (int k = 0; k < c->n_lines; k++) {
    const char *e = memchr(p, '\n', (size_t)(end - p));
    if (!e) e = end;
    (*v)[k] = (span){p, (size_t)(e - p)};
    p = e + 1;
  }
  return 0;
}

static int span_eq(span a, span b) { return a.n == b.n && memcmp(a.s, b.s, a.n) == 0; }

/* How many leading lines of c (lines cl) repeat the trailing lines of p (lines pl) (auto-captions show
 * the line already said above the new one, then briefly alone): the longest prefix of cl that is a
 * suffix of pl, found with Knuth-Morris-Pratt over lines, linear in the lines compared. fail: scratch
 * of c's line count. */
static int rolled_lines(const span *pl, int np, const span *cl, int nc, int *fail) {
  int max = AR_MIN(np, nc);
  if (max == 0) return 0;
  fail[0] = 0;
  for (int i = 1, k = 0; i < max; i++) {
    while (k > 0 && !span_eq(cl[i], cl[k])) k = fail[k - 1];
    if (span_eq(cl[i], cl[k])) k++;
    fail[i] = k;
  }
  int q = 0;
  for (int i = np - max; i < np; i++) {
    while (q > 0 && (q == max || !span_eq(pl[i], cl[q]))) q = fail[q - 1];
    if (span_eq(pl[i], cl[q])) q++;
  }
  return q;
}

/* Last line of cue c (first: c's first line). */
static span last_line(const tr_draft *d, const tr_cue *c) {
  const char *p = d->text.p + c->off, *e = p + c->len, *q = e;
  while (q > p && q[-1] != '\n') q--;
  return (span){q, (size_t)(e - q)};
}
static span first_line(const tr_draft *d, const tr_cue *c) {
  const char *p = d->text.p + c->off, *e = memchr(p, '\n', c->len);
  return (span){p, e ? (size_t)(e - p) : c->len};
}

/* Rolling captions are recognised by their karaoke tags, or (for converted copies without tags) by
 * most cues opening with the previous cue's last line. Human captions essentially never do. */
static int detect_rolling(const tr_draft *d) {
  if (d->karaoke) return 1;
  size_t with_text = 0, rolled = 0;
  const tr_cue *prev = NULL;
  for (size_t i = 0; i < d->n; i++) {
    const tr_cue *c = &d->v[i];
    if (!c->n_lines) continue;
    with_text++;
    if (prev && span_eq(first_line(d, c), last_line(d, prev))) rolled++;
    prev = c;
  }
  return rolled >= 3 && rolled * 2 >= with_text;
}

static void fmt_time(double t, char out[32]) {
  if (!(t < 1e12)) { snprintf(out, 32, "%.6g s", t); return; }   /* absurd JSON values: no overflow */
  long long ms = (long long)llround(t * 1000);
  snprintf(out, 32, "%02lld:%02lld:%02lld.%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

ar_status tr_draft_finish(tr_draft *d, ar_cues *out, ar_error *err) {
  *out = (ar_cues){0};
  int rolling = detect_rolling(d);
  ar_cue *v = ar_calloc(d->n ? d->n : 1, sizeof *v);
  if (!v) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", d->name);
  size_t n = 0;
  span *lines = NULL, *prev_lines = NULL;   /* this cue's and the previous cue's (with lines, before de-dup) */
  size_t cap = 0, prev_cap = 0;
  int n_prev = 0, *fail = NULL;
  ar_buf joined = {0};
  for (size_t i = 0; i < d->n; i++) {
    const tr_cue *c = &d->v[i];
    if (!c->n_lines) continue;
    if (cue_lines(d, c, &lines, &cap)) goto oom;
    int skip = 0;
    if (rolling && n_prev) {
      int *f = ar_realloc(fail, (size_t)c->n_lines * sizeof *f);
      if (!f) goto oom;
      fail = f;
      skip = rolled_lines(prev_lines, n_prev, lines, c->n_lines, fail);
    }
    span *sw = prev_lines; prev_lines = lines; lines = sw;
    size_t cw = prev_cap; prev_cap = cap; cap = cw;
    n_prev = c->n_lines;
    if (skip == c->n_lines) continue;
    joined.n = 0;
    for (int k = skip; k < c->n_lines; k++)
      if ((joined.n && ar_buf_append(&joined, " ", 1)) || ar_buf_append(&joined, prev_lines[k].s, prev_lines[k].n))
        goto oom;
    double st = c->start_s > 0 ? c->start_s : 0, en = c->end_s > 0 ? c->end_s : 0;
    if (n && st < v[n - 1].start_s) {
      if (v[n - 1].start_s - st > TR_BACK_TOLERANCE_S) {
        char a[32], b[32];
        fmt_time(st, a);
        fmt_time(v[n - 1].start_s, b);
        int prev_line = v[n - 1].line;
        ar_buf_free(&joined);
        ar_free(lines); ar_free(prev_lines); ar_free(fail);
        for (size_t k = 0; k < n; k++) ar_free(v[k].text);
        ar_free(v);
        return ar_fail(err, AR_ERR_PARSE,
                       "%s:%d: cue starts at %s, before the previous cue (line %d) at %s; expected start times "
                       "in order (up to %.0f s back is repaired)",
                       d->name, c->line, a, prev_line, b, TR_BACK_TOLERANCE_S);
      }
      st = v[n - 1].start_s;   /* repair: keep spoken (file) order, clamp the slip */
    }
    if (en < st) en = st;      /* e.g. "01:08:49,756 --> 00:00:00,000" closing CS231n files */
    v[n].start_s = st;
    v[n].end_s = en;
    v[n].line = c->line;
    v[n].text = ar_strndup(joined.p, joined.n);
    if (!v[n].text) goto oom;
    n++;
  }
  ar_buf_free(&joined);
  ar_free(lines); ar_free(prev_lines); ar_free(fail);
  if (n == 0) {   /* no cue with text: a valid, empty transcript */
    ar_free(v);
    return AR_OK;
  }
  out->v = v;
  out->n = out->cap = n;
  return AR_OK;
oom:
  ar_buf_free(&joined);
  ar_free(lines); ar_free(prev_lines); ar_free(fail);
  for (size_t k = 0; k < n; k++) ar_free(v[k].text);
  ar_free(v);
  return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", d->name);
}

void tr_draft_free(tr_draft *d) {
  ar_buf_free(&d->text);
  ar_free(d->v);
  d->v = NULL;
  d->n = d->cap = 0;
}

void tr_quote(const char *s, size_t n, char out[64]) {
  size_t k = n > 40 ? ar_utf8_clip(s, 40) : n;
  size_t j = 0;
  for (size_t i = 0; i < k; i++) out[j++] = (s[i] == '"' || (unsigned char)s[i] < 0x20) ? '\'' : s[i];
  if (k < n) { memcpy(out + j, "...", 3); j += 3; }
  out[j] = 0;
}
