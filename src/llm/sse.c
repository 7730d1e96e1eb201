/* sse.c - Server-Sent Events parser fed arbitrary byte pieces (curl hands us whatever arrived),
 * plus the UTF-8 hold that keeps streamed text from being split inside a sequence. */
#include "llm/llm.h"

void ar_sse_init(ar_sse *s, ar_sse_event_fn fn, void *user_data) {
  memset(s, 0, sizeof *s);
  s->on_event = fn;
  s->user_data = user_data;
}

void ar_sse_free(ar_sse *s) {
  ar_buf_free(&s->line);
  ar_buf_free(&s->data);
}

static int dispatch(ar_sse *s) {
  int rc = 0;
  if (s->has_data) rc = s->on_event(s->data.p ? s->data.p : "", s->data.n, s->user_data);
  s->data.n = 0;
  if (s->data.p) s->data.p[0] = 0;
  s->has_data = 0;
  return rc;
}

/* One complete line (without its terminator). Only "data" matters to us: event/id/retry are
 * accepted and ignored, ':' lines are comments (keep-alives). */
static int line_done(ar_sse *s, const char *l, size_t n) {
  if (n == 0) return dispatch(s);
  if (l[0] == ':') return 0;
  const char *colon = memchr(l, ':', n);
  size_t name_n = colon ? (size_t)(colon - l) : n;
  if (name_n != 4 || memcmp(l, "data", 4) != 0) return 0;
  const char *v = colon ? colon + 1 : l + n;
  if (v < l + n && *v == ' ') v++;
  if (s->has_data && ar_buf_append(&s->data, "\n", 1)) return -1;
  if (ar_buf_append(&s->data, v, (size_t)(l + n - v))) return -1;
  s->has_data = 1;
  return 0;
}

int ar_sse_feed(ar_sse *s, const char *p, size_t n) {
  size_t i = 0;
  if (s->after_cr && n && p[0] == '\n') i = 1;
  s->after_cr = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && p[j] != '\n' && p[j] != '\r') j++;
    if (j == n) return ar_buf_append(&s->line, p + i, n - i) ? -1 : 0;
    int rc;
    if (s->line.n) {
      if (ar_buf_append(&s->line, p + i, j - i)) return -1;
      rc = line_done(s, s->line.p, s->line.n);
      s->line.n = 0;
    } else {
      rc = line_done(s, p + i, j - i);
    }
    if (rc) return rc;
    if (p[j] == '\r') {
      if (j + 1 < n) { if (p[j + 1] == '\n') j++; }
      else s->after_cr = 1;
    }
    i = j + 1;
  }
  return 0;
}

int ar_sse_finish(ar_sse *s) {
  int rc = 0;
  if (s->line.n) { rc = line_done(s, s->line.p, s->line.n); s->line.n = 0; }
  if (!rc) rc = dispatch(s);
  return rc;
}

void ar_utf8_hold_feed(ar_utf8_hold *h, const char *p, size_t n,
                       void (*fn)(const char *, size_t, void *), void *ud) {
  /* Complete the held sequence first, byte by byte (at most 3 bytes are ever held). */
  while (h->n && n) {
    h->pend[h->n++] = *p++;
    n--;
    int l = ar_utf8_len((const unsigned char *)h->pend, h->n);
    if (l > 0) { fn(h->pend, (size_t)l, ud); h->n = 0; break; }
    if (h->n == 4) { fn(h->pend, 4, ud); h->n = 0; break; }  /* invalid: pass it on, don't stall */
  }
  if (!n) return;
  size_t keep = ar_utf8_clip(p, n);
  /* ar_utf8_clip only backs off over a truncated tail; anything longer than 3 bytes is invalid text
   * that must still flow. */
  if (n - keep > 3) keep = n;
  if (keep) fn(p, keep, ud);
  memcpy(h->pend, p + keep, n - keep);
  h->n = n - keep;
}
