/* vtt.c - WebVTT parser: header, NOTE/STYLE/REGION blocks, cue ids and settings, inline tags.
 *
 * YouTube auto-captions mark word timings with <00:00:01.000><c> tags and repeat the previous line
 * above each new one; the tags are stripped here and the repeats removed by tr_draft_finish. */
#include "transcript/tr_internal.h"

#define VTT_TIMING "'HH:MM:SS.mmm --> HH:MM:SS.mmm' (hours optional)"

static int has_arrow(const char *s, size_t n) { return n >= 3 && memmem(s, n, "-->", 3) != NULL; }

/* Block keyword at the start of a line: "NOTE", "NOTE text", "STYLE", "REGION". */
static int is_keyword(const char *s, size_t n, const char *kw) {
  size_t k = strlen(kw);
  return n >= k && memcmp(s, kw, k) == 0 && (n == k || s[k] == ' ' || s[k] == '\t');
}

ar_status tr_parse_vtt(tr_draft *d, const char *data, size_t len, ar_error *err) {
  tr_reader r = {data, data + len, 0};
  const char *s = "";
  size_t n = 0;
  char q[64];
  if (!tr_getline(&r, &s, &n) || n < 6 || memcmp(s, "WEBVTT", 6) != 0 || (n > 6 && s[6] != ' ' && s[6] != '\t')) {
    tr_quote(s, n, q);
    return ar_fail(err, AR_ERR_PARSE, "%s:1: expected the 'WEBVTT' header line, got \"%s\"", d->name, q);
  }
  ar_buf raw = {0};
  ar_status st = AR_OK;
  int in_cue = 0, in_block = 0, in_header = 1, skipping = 0, cue_line = 0;
  double cs = 0, ce = 0;
  while (tr_getline(&r, &s, &n)) {
    if (tr_is_blank(s, n)) { in_block = in_header = skipping = 0; continue; }
    if (skipping) continue;                       /* inside a NOTE/STYLE/REGION block */
    if (in_header && !has_arrow(s, n)) continue;  /* Kind:, Language:, X-TIMESTAMP-MAP ... */
    in_header = 0;
    if (!in_block && (is_keyword(s, n, "NOTE") || is_keyword(s, n, "STYLE") || is_keyword(s, n, "REGION"))) {
      skipping = 1;
      continue;
    }
    if (has_arrow(s, n)) {
      double a, b;
      const char *why;
      if (tr_parse_timing(s, n, &a, &b, 0, &why)) {
        tr_quote(s, n, q);
        st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a cue timing line " VTT_TIMING ": %s is missing or malformed in \"%s\"",
                     d->name, r.line, why, q);
        goto out;
      }
      if (in_cue && (st = tr_draft_add(d, cs, ce, cue_line, raw.p ? raw.p : "", raw.n, TR_TAGS | TR_ENTITIES, err)))
        goto out;
      in_cue = in_block = 1;
      cs = a;
      ce = b;
      cue_line = r.line;
      raw.n = 0;
      continue;
    }
    if (!in_block) {
      /* First line of a block without "-->": a cue id if the timing line follows. */
      tr_reader pk = r;
      const char *s2;
      size_t n2;
      if (tr_getline(&pk, &s2, &n2) && has_arrow(s2, n2)) { in_block = 1; continue; }
      if (!in_cue) {
        tr_quote(s, n, q);
        st = ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a cue timing line " VTT_TIMING " or a cue id followed by one, got \"%s\"",
                     d->name, r.line, q);
        goto out;
      }
      /* Text after a blank line inside a cue (sloppy files): keep it with the cue, lose nothing. */
      in_block = 1;
    }
    if (ar_buf_append(&raw, s, n) || ar_buf_append(&raw, "\n", 1)) {
      st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", d->name);
      goto out;
    }
  }
  if (in_cue) st = tr_draft_add(d, cs, ce, cue_line, raw.p ? raw.p : "", raw.n, TR_TAGS | TR_ENTITIES, err);
out:
  ar_buf_free(&raw);
  return st;
}
