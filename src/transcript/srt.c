/* srt.c - SubRip (.srt) parser: numbered cues, "HH:MM:SS,mmm --> HH:MM:SS,mmm", text until the next cue.
 *
 * Real SRT files are loose, so a cue's text runs until the next timing line (a blank line inside the
 * text does not end it), and a cue number is recognised as a line of digits followed by a timing
 * line. Numbering gaps and repeats are ignored; timing lines are what counts. */
#include "transcript/tr_internal.h"

static int is_digits(const char *s, size_t n) {
  size_t i = 0;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i == n) return 0;
  for (; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* A truncated or mangled timing line: digits then ':' at the start. */
static int looks_like_time(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  size_t d = i;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  return i > d && (i == n || s[i] == ':');
}

static int has_arrow(const char *s, size_t n) { return n >= 3 && memmem(s, n, "-->", 3) != NULL; }

#define SRT_TIMING "'HH:MM:SS,mmm --> HH:MM:SS,mmm'"

ar_status tr_parse_srt(tr_draft *d, const char *data, size_t len, ar_error *err) {
  tr_reader r = {data, data + len, 0};
  ar_buf raw = {0};
  int in_cue = 0, cue_line = 0, prev_blank = 1;
  double cs = 0, ce = 0;
  const char *s;
  size_t n;
  char q[64];
  ar_status st = AR_OK;
  while (tr_getline(&r, &s, &n)) {
    int blank = tr_is_blank(s, n);
    if (has_arrow(s, n)) {
      double a, b;
      const char *why;
      if (tr_parse_timing(s, n, &a, &b, 1, &why)) {
        tr_quote(s, n, q);
        st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a timing line " SRT_TIMING ": %s is missing or malformed in \"%s\"",
                     d->name, r.line, why, q);
        goto out;
      }
      if (in_cue && (st = tr_draft_add(d, cs, ce, cue_line, raw.p ? raw.p : "", raw.n, TR_TAGS | TR_ENTITIES, err))) goto out;
      in_cue = 1;
      cs = a;
      ce = b;
      cue_line = r.line;
      raw.n = 0;
    } else if (is_digits(s, n)) {
      tr_reader pk = r;
      const char *s2;
      size_t n2;
      int has = tr_getline(&pk, &s2, &n2);
      if (has && has_arrow(s2, n2)) {
        /* a cue number: the timing line follows */
      } else if ((prev_blank || !in_cue) && (!has || looks_like_time(s2, n2))) {
        tr_quote(s, n, q);
        if (!has)
          st = ar_fail(err, AR_ERR_PARSE, "%s:%d: cue number %s is not followed by a timing line " SRT_TIMING
                       " (file truncated?)", d->name, r.line, q);
        else {
          char q2[64];
          tr_quote(s2, n2, q2);
          st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a timing line " SRT_TIMING " after cue number %s, got \"%s\"",
                       d->name, pk.line, q, q2);
        }
        goto out;
      } else if (in_cue) {
        if (ar_buf_append(&raw, s, n) || ar_buf_append(&raw, "\n", 1)) goto oom;
      } else {
        tr_quote(s, n, q);
        st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a timing line " SRT_TIMING " after cue number %s",
                     d->name, r.line + 1, q);
        goto out;
      }
    } else if (in_cue) {
      if (ar_buf_append(&raw, s, n) || ar_buf_append(&raw, "\n", 1)) goto oom;
    } else if (!blank) {
      tr_quote(s, n, q);
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a cue number or a timing line " SRT_TIMING ", got \"%s\"",
                   d->name, r.line, q);
      goto out;
    }
    prev_blank = blank;
  }
  if (in_cue) st = tr_draft_add(d, cs, ce, cue_line, raw.p ? raw.p : "", raw.n, TR_TAGS | TR_ENTITIES, err);
out:
  ar_buf_free(&raw);
  return st;
oom:
  ar_buf_free(&raw);
  return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", d->name);
}
