/* segment.c - cues -> overlapping windows of whole cues, under a hard size cap.
 *
 * Rules (tests/unit/test_segment*.c check them):
 *  - Pieces: each non-empty cue, except that a cue over the cap alone is split at word boundaries
 *    (at code points if one "word" is over the cap) with times interpolated by code point position.
 *  - A segment is pieces [b..e]: grown from b while the span (piece e's end - piece b's start) stays
 *    <= window_s and the text (pieces joined by one space) stays <= max_units.
 *  - The next segment starts at the first piece after b whose start is >= (this end - overlap_s), so
 *    the time overlap is <= overlap_s and as close to it as cue boundaries allow; it must reach past e
 *    (never zero progress), else its start moves forward a piece at a time.
 *  Every piece is in at least one segment, so no text is lost. */
#include "core/util.h"
#include <math.h>

typedef struct piece {
  double start_s, end_s;
  const char *text;      /* into the cue's text (not owned) */
  size_t len;
  long units;            /* words, or count(text) - count("") */
} piece;

typedef struct seg_ctx {
  const ar_segment_params *p;
  int overhead;          /* count("") : prefix and specials */
  piece *v;
  size_t n, cap;
  ar_error *err;
} seg_ctx;

ar_segment_params ar_segment_default_params(void) {
  return (ar_segment_params){.window_s = 120, .overlap_s = 30, .max_units = 350, .count = NULL, .count_user_data = NULL};
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static long count_words(const char *s, size_t n) {
  long w = 0;
  int in = 0;
  for (size_t i = 0; i < n; i++) {
    int ws = is_ws(s[i]);
    if (!ws && !in) w++;
    in = !ws;
  }
  return w;
}

/* Units of a text as the cap sees it (prefix/specials included in callback mode); -1 on callback error. */
static long units_of(seg_ctx *c, const char *s, size_t n) {
  if (!c->p->count) return count_words(s, n);
  int u = c->p->count(s, n, c->p->count_user_data);
  return u < 0 ? -1 : u;
}

static ar_status push_piece(seg_ctx *c, double a, double b, const char *s, size_t n, long units) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    piece *v = ar_realloc(c->v, cap * sizeof *v);
    if (!v) return ar_fail(c->err, AR_ERR_NOMEM, "segmenter: out of memory");
    c->v = v;
    c->cap = cap;
  }
  /* Keep piece starts non-decreasing: a split cue's last piece can start after the next cue when
   * cues overlap (auto-captions); segments then stay in time order. */
  if (c->n && a < c->v[c->n - 1].start_s) a = c->v[c->n - 1].start_s;
  if (b < a) b = a;
  c->v[c->n++] = (piece){a, b, s, n, units};
  return AR_OK;
}

static size_t n_codepoints(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
  return k;
}

#define NO_CUT ((size_t)-1)

/* Offset of the next cut point after offset i: the end of the next word (by_words), or of the next
 * code point of the current word (code points never cross a space). NO_CUT if there is none. */
static size_t next_cut(const char *s, size_t n, size_t i, int by_words) {
  if (by_words) {
    while (i < n && is_ws(s[i])) i++;
    if (i >= n) return NO_CUT;
    while (i < n && !is_ws(s[i])) i++;
    return i;
  }
  if (i >= n || is_ws(s[i])) return NO_CUT;
  i++;
  while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
  return i;
}

/* Longest prefix of s ending at a cut point whose units fit the cap (0 if none fits). Exponential
 * then binary search over the number of cut points, so a 10 MB line costs the counter a small
 * multiple of the text even when the counter is a tokenizer. *all: every cut point fits (all of s,
 * or all of its first word for code points). */
static ar_status longest_fitting_prefix(seg_ctx *c, const char *s, size_t n, int by_words, size_t *out, long *units,
                                        int *all) {
  long cap = c->p->max_units;
  size_t lo = 0, lo_bytes = 0, hi = 1;   /* lo cut points known to fit; hi the next probe */
  long lo_units = 0;
  *all = 0;
  for (;;) {
    size_t i = 0, k = 0, j;
    while (k < hi && (j = next_cut(s, n, i, by_words)) != NO_CUT) { i = j; k++; }
    int end = k < hi;                    /* fewer than hi cut points: i is the last one */
    if (k == lo) { *all = 1; break; }    /* nothing beyond what fits */
    long u = units_of(c, s, i);
    if (u < 0) return ar_fail(c->err, AR_ERR_INVALID, "segmenter: the count callback failed");
    if (u <= cap) {
      lo = k; lo_bytes = i; lo_units = u;
      if (end) { *all = 1; break; }
      hi = k * 2;
      continue;
    }
    size_t a = lo, b = k;                /* a cut points fit, b do not */
    while (b - a > 1) {
      size_t m = a + (b - a) / 2, x = 0;
      for (size_t kk = 0; kk < m; kk++) x = next_cut(s, n, x, by_words);
      long um = units_of(c, s, x);
      if (um < 0) return ar_fail(c->err, AR_ERR_INVALID, "segmenter: the count callback failed");
      if (um <= cap) { a = m; lo_bytes = x; lo_units = um; } else b = m;
    }
    lo = a;
    break;
  }
  *out = lo ? lo_bytes : 0;
  *units = lo_units;
  return AR_OK;
}

/* Splits one over-long cue into pieces that each fit the cap. */
static ar_status split_cue(seg_ctx *c, const ar_cue *q, const char *s, size_t n) {
  size_t total_cp = n_codepoints(s, n), done_cp = 0;
  double dur = q->end_s - q->start_s;
  size_t i = 0;
  while (i < n) {
    while (i < n && is_ws(s[i])) i++;
    if (i >= n) break;
    size_t take = 0;
    long u = 0;
    ar_status st;
    if (!c->p->count) {                  /* words: take max_units words */
      size_t j = i;
      long w = 0;
      while (j < n && w < c->p->max_units) {
        while (j < n && !is_ws(s[j])) j++;
        w++;
        if (w < c->p->max_units) while (j < n && is_ws(s[j])) j++;
      }
      while (j > i && is_ws(s[j - 1])) j--;
      take = j - i;
      u = w;
    } else {
      /* A very long first "word" is searched by code points first (they stop at its end), so the
       * counter never reads the whole rest of an unbroken 10 MB line for every piece cut from it. */
      size_t wl = 0;
      int all = 0;
      while (i + wl < n && wl <= 1024 && !is_ws(s[i + wl])) wl++;
      if (wl > 1024 && (st = longest_fitting_prefix(c, s + i, n - i, 0, &take, &u, &all))) return st;
      if (wl <= 1024 || all) {
        if ((st = longest_fitting_prefix(c, s + i, n - i, 1, &take, &u, &all))) return st;
        if (take == 0 && (st = longest_fitting_prefix(c, s + i, n - i, 0, &take, &u, &all))) return st;
      }
      if (take == 0) {
        int one = ar_utf8_len((const unsigned char *)s + i, n - i);
        return ar_fail(c->err, AR_ERR_INVALID, "segmenter: max_units %d is too small: the single character '%.*s' counts %ld",
                       c->p->max_units, one ? one : 1, s + i, units_of(c, s + i, one ? (size_t)one : 1));
      }
      while (take > 0 && is_ws(s[i + take - 1])) take--;
      u -= c->overhead;
    }
    size_t cp0 = done_cp, cp1 = done_cp + n_codepoints(s + i, take);
    double a = q->start_s + (total_cp ? dur * (double)cp0 / (double)total_cp : 0);
    double b = q->start_s + (total_cp ? dur * (double)cp1 / (double)total_cp : 0);
    if ((st = push_piece(c, a, b, s + i, take, u))) return st;
    /* code points between this piece's end and the next piece's start (spaces) */
    size_t j = i + take;
    while (j < n && is_ws(s[j])) j++;
    done_cp = cp1 + n_codepoints(s + i + take, j - i - take);
    i = j;
  }
  return AR_OK;
}

static ar_status build_pieces(seg_ctx *c, const ar_cues *cues) {
  for (size_t k = 0; k < cues->n; k++) {
    const ar_cue *q = &cues->v[k];
    if (!(q->start_s >= 0) || !(q->end_s >= q->start_s) || !isfinite(q->end_s))
      return ar_fail(c->err, AR_ERR_INVALID, "segmenter: cue %zu (line %d) has invalid times %g --> %g", k, q->line,
                     q->start_s, q->end_s);
    const char *s = q->text ? q->text : "";
    size_t n = strlen(s);
    while (n && is_ws(s[n - 1])) n--;
    while (n && is_ws(*s)) { s++; n--; }
    if (!n) continue;
    long u = units_of(c, s, n);
    if (u < 0) return ar_fail(c->err, AR_ERR_INVALID, "segmenter: the count callback failed on cue %zu", k);
    ar_status st = u <= c->p->max_units ? push_piece(c, q->start_s, q->end_s, s, n, c->p->count ? u - c->overhead : u)
                                        : split_cue(c, q, s, n);
    if (st) return st;
  }
  return AR_OK;
}

static ar_status join(seg_ctx *c, size_t b, size_t e, ar_buf *t) {
  t->n = 0;
  if (t->p) t->p[0] = 0;
  for (size_t j = b; j <= e; j++)
    if ((j > b && ar_buf_append(t, " ", 1)) || ar_buf_append(t, c->v[j].text, c->v[j].len))
      return ar_fail(c->err, AR_ERR_NOMEM, "segmenter: out of memory");
  return AR_OK;
}

/* The last piece e of the segment starting at b: grown under window and cap, then checked exactly
 * (a tokenizer's count of joined text can differ from the sum of the parts). Text left in t. */
static ar_status grow(seg_ctx *c, size_t b, size_t *e_out, ar_buf *t) {
  const ar_segment_params *p = c->p;
  size_t e = b;
  long sum = (p->count ? c->overhead : 0) + c->v[b].units;
  while (e + 1 < c->n && c->v[e + 1].end_s - c->v[b].start_s <= p->window_s &&
         sum + c->v[e + 1].units <= p->max_units) {
    e++;
    sum += c->v[e].units;
  }
  ar_status st;
  for (;;) {
    if ((st = join(c, b, e, t))) return st;
    if (!p->count || e == b) break;
    long u = units_of(c, t->p, t->n);
    if (u < 0) return ar_fail(c->err, AR_ERR_INVALID, "segmenter: the count callback failed");
    if (u <= p->max_units) break;
    e--;
  }
  *e_out = e;
  return AR_OK;
}

ar_status ar_segment_cues(const ar_cues *cues, const ar_segment_params *params, ar_segments *out, ar_error *err) {
  ar_segment_params def = ar_segment_default_params();
  const ar_segment_params *p = params ? params : &def;
  if (!out || !cues || (cues->n && !cues->v)) return ar_fail(err, AR_ERR_INVALID, "segmenter: NULL argument");
  *out = (ar_segments){0};
  if (!(p->window_s > 0) || !isfinite(p->window_s))
    return ar_fail(err, AR_ERR_INVALID, "segment window must be > 0 seconds (got %g)", p->window_s);
  if (!(p->overlap_s >= 0) || !(p->overlap_s < p->window_s))
    return ar_fail(err, AR_ERR_INVALID, "segment overlap must be >= 0 and < the window %g s (got %g)", p->window_s,
                   p->overlap_s);
  if (p->max_units < 1) return ar_fail(err, AR_ERR_INVALID, "segment size cap must be >= 1 (got %d)", p->max_units);
  seg_ctx c = {.p = p, .err = err};
  if (p->count) {
    c.overhead = p->count("", 0, p->count_user_data);
    if (c.overhead < 0) return ar_fail(err, AR_ERR_INVALID, "segmenter: the count callback failed on empty text");
    if (c.overhead >= p->max_units)
      return ar_fail(err, AR_ERR_INVALID, "segment size cap %d leaves no room for text: an empty text already counts %d",
                     p->max_units, c.overhead);
  }
  ar_status st = build_pieces(&c, cues);
  ar_buf t = {0};
  size_t b = 0, prev_e = 0;
  int have_prev = 0;
  while (st == AR_OK && b < c.n) {
    size_t e = b;
    if ((st = grow(&c, b, &e, &t))) break;
    if (have_prev && e <= prev_e) { b++; continue; }   /* would add nothing new: start later */
    if (out->n == out->cap) {
      size_t cap = out->cap ? out->cap * 2 : 64;
      ar_segment *v = ar_realloc(out->v, cap * sizeof *v);
      if (!v) { st = ar_fail(err, AR_ERR_NOMEM, "segmenter: out of memory"); break; }
      out->v = v;
      out->cap = cap;
    }
    char *text = ar_strndup(t.p ? t.p : "", t.n);
    if (!text) { st = ar_fail(err, AR_ERR_NOMEM, "segmenter: out of memory"); break; }
    out->v[out->n++] = (ar_segment){c.v[b].start_s, c.v[e].end_s, text, b, e - b + 1};
    prev_e = e;
    have_prev = 1;
    if (e + 1 >= c.n) break;
    double target = c.v[e].end_s - p->overlap_s;
    size_t nb = e + 1;
    for (size_t j = b + 1; j <= e; j++)
      if (c.v[j].start_s >= target) { nb = j; break; }
    b = nb;
  }
  ar_buf_free(&t);
  ar_free(c.v);
  if (st) ar_segments_free(out);
  return st;
}

void ar_segments_free(ar_segments *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) ar_free(s->v[i].text);
  ar_free(s->v);
  *s = (ar_segments){0};
}
