/* hf_pipeline.c - Hugging Face tokenizers' pipeline for one segment: normalizers (grapheme-wise
 * Precompiled, Replace, Strip), pre-tokenizers (WhitespaceSplit, Metaspace), then Viterbi per word. */
#include "tokenizer/tok_internal.h"
#include <utf8proc.h>

static char *need(tok_scratch *sc, int k, size_t n) {
  return tok_scratch_grow(sc, (void **)&sc->buf[k], &sc->buf_cap[k], n + 1);
}
static uint32_t *need_pc(tok_scratch *sc, int k, size_t pairs) {
  return tok_scratch_grow(sc, (void **)&sc->pc[k], &sc->pc_cap[k], (pairs + 1) * 2 * sizeof(uint32_t));
}

/* Rust char::is_whitespace at s (bytes of the character, 0 if not whitespace). */
static size_t ws_at(const uint8_t *s, size_t n) {
  uint8_t c = s[0];
  if (c < 0x80) return (c == ' ' || (c >= 0x09 && c <= 0x0D)) ? 1 : 0;
  if (n >= 2 && c == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0)) return 2;
  if (n < 3) return 0;
  if (c == 0xE1 && s[1] == 0x9A && s[2] == 0x80) return 3;  /* U+1680 */
  if (c == 0xE2 && s[1] == 0x80 && (s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF) && s[2] >= 0x80)
    return 3;                                                /* U+2000..200A, 2028, 2029, 202F */
  if (c == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) return 3;  /* U+205F */
  if (c == 0xE3 && s[1] == 0x80 && s[2] == 0x80) return 3;  /* U+3000 */
  return 0;
}

/* Whitespace character ending exactly at s[end] (bytes, 0 if none). */
size_t tok_ws_before(const uint8_t *s, size_t lo, size_t end) {
  for (size_t l = 1; l <= 3 && l <= end - lo; l++) {
    size_t st = end - l;
    if ((s[st] & 0xC0) == 0x80) continue;  /* continuation byte: the character starts further left */
    return ws_at(s + st, l) == l ? l : 0;
  }
  return 0;
}
size_t tok_ws_at(const uint8_t *s, size_t n) { return ws_at(s, n); }

static size_t grapheme_end(const uint8_t *s, size_t pos, size_t n) {
  utf8proc_int32_t c1, c2, state = 0;
  utf8proc_ssize_t l = utf8proc_iterate(s + pos, (utf8proc_ssize_t)(n - pos), &c1);
  if (l <= 0) return pos + 1;
  size_t i = pos + (size_t)l;
  while (i < n) {
    l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c2);
    if (l <= 0 || utf8proc_grapheme_break_stateful(c1, c2, &state)) break;
    c1 = c2;
    i += (size_t)l;
  }
  return i;
}

/* Precompiled::normalize: per extended grapheme cluster; a cluster under 6 bytes whose bytes start with a
 * charsmap key is replaced whole by the SHORTEST key's replacement; else code point by code point. */
static long hf_precompiled(const ar_tokenizer *t, const uint8_t *s, size_t n, tok_scratch *sc, int dst) {
  size_t m = 0, pos = 0;
  char *o = need(sc, dst, n * 3 + 16);
  if (!o) return -1;
  uint32_t lens[1], vals[1];
  size_t rl;
  while (pos < n) {
    uint8_t b = s[pos];
    /* ASCII fast path; ascii_cont also marks a byte whose replacement is too long for the table (the
     * slow path below applies it) */
    if (b < 0x80 && !(t->ascii_val[b] < 0 && t->ascii_cont[b]) &&
        (pos + 1 == n || (s[pos + 1] < 0x80 && !(b == '\r' && s[pos + 1] == '\n')))) {
      /* room for this byte's replacement (up to 255 bytes) and 3 bytes for each later input byte */
      if (!(o = need(sc, dst, m + t->ascii_len[b] + (n - pos) * 3 + 16))) return -1;
      if (t->ascii_val[b] < 0) o[m++] = (char)b;
      else { memcpy(o + m, t->cm.repl + t->ascii_val[b], t->ascii_len[b]); m += t->ascii_len[b]; }
      pos++;
      continue;
    }
    size_t g = grapheme_end(s, pos, n);
    if (g - pos < 6 && tok_charsmap_search(&t->cm, s + pos, g - pos, lens, vals, 1) > 0) {
      const char *r = tok_charsmap_repl(&t->cm, vals[0], &rl);
      if (!(o = need(sc, dst, m + rl + (n - pos) * 3 + 16))) return -1;
      memcpy(o + m, r, rl);
      m += rl;
      pos = g;
      continue;
    }
    while (pos < g) {
      size_t cl = (size_t)tok_lead_len(s[pos]);
      if (cl > g - pos) cl = g - pos;
      const char *r = (const char *)s + pos;
      rl = cl;
      if (tok_charsmap_search(&t->cm, s + pos, cl, lens, vals, 1) > 0) r = tok_charsmap_repl(&t->cm, vals[0], &rl);
      if (!(o = need(sc, dst, m + rl + (n - pos) * 3 + 16))) return -1;
      memcpy(o + m, r, rl);
      m += rl;
      pos += cl;
    }
  }
  return (long)m;
}

static long hf_norm_step(const ar_tokenizer *t, const tok_norm_step *st, const uint8_t *s, size_t n,
                         tok_scratch *sc, int dst) {
  size_t m = 0;
  char *o;
  switch (st->kind) {
  case TOK_N_PRECOMPILED: return hf_precompiled(t, s, n, sc, dst);
  case TOK_N_COLLAPSE_SPACES:
    if (!(o = need(sc, dst, n))) return -1;
    for (size_t i = 0; i < n; i++)
      if (!(s[i] == ' ' && m && o[m - 1] == ' ' && i && s[i - 1] == ' ')) o[m++] = (char)s[i];
    return (long)m;
  case TOK_N_REPLACE:
    if (!(o = need(sc, dst, n + 16))) return -1;
    for (size_t i = 0; i < n;) {
      if (n - i >= st->pat_len && !memcmp(s + i, st->pat, st->pat_len)) {
        if (!(o = need(sc, dst, m + st->content_len + (n - i) + 16))) return -1;
        memcpy(o + m, st->content, st->content_len);
        m += st->content_len;
        i += st->pat_len;
      } else {
        o[m++] = (char)s[i++];
      }
    }
    return (long)m;
  case TOK_N_STRIP: {
    size_t a = 0, z = n, l;
    if (st->left) while (a < z && (l = ws_at(s + a, z - a))) a += l;
    if (st->right) while (z > a && (l = tok_ws_before(s, a, z))) z -= l;
    if (!(o = need(sc, dst, z - a))) return -1;
    memcpy(o, s + a, z - a);
    return (long)(z - a);
  }
  }
  return -1;
}

/* Runs the pre-tokenizers over x[0..n) and Viterbi on each resulting piece. buffers: x lives in
 * sc->buf[xb]; the other two are free. */
static int hf_pretok_model(const ar_tokenizer *t, int xb, size_t n, int at_start, tok_scratch *sc, tok_out *o) {
  if (n == 0) return 0;
  int pa = 0;
  uint32_t *p = need_pc(sc, pa, 1);
  if (!p) return -1;
  p[0] = 0; p[1] = (uint32_t)n;
  size_t np = 1;
  int first0 = at_start;  /* piece 0 starts at the segment's first byte (Metaspace "first") */
  for (int k = 0; k < t->n_pre; k++) {
    const tok_pre_step *st = &t->pre[k];
    const uint8_t *x = (const uint8_t *)sc->buf[xb];
    int pb = !pa;
    size_t nq = 0;
    if (st->kind == TOK_P_WHITESPACE_SPLIT) {
      for (size_t i = 0; i < np; i++) {
        size_t a = sc->pc[pa][2 * i], e = a + sc->pc[pa][2 * i + 1], w0 = a, l;
        for (size_t j = a; j < e;) {
          if ((l = ws_at(x + j, e - j))) {
            if (j > w0) {
              uint32_t *q = need_pc(sc, pb, nq + 1);
              if (!q) return -1;
              if (nq == 0 && w0 != 0) first0 = 0;
              q[2 * nq] = (uint32_t)w0; q[2 * nq + 1] = (uint32_t)(j - w0); nq++;
            }
            j += l;
            w0 = j;
          } else {
            j += (size_t)tok_lead_len(x[j]);
          }
        }
        if (e > w0) {
          uint32_t *q = need_pc(sc, pb, nq + 1);
          if (!q) return -1;
          if (nq == 0 && w0 != 0) first0 = 0;
          q[2 * nq] = (uint32_t)w0; q[2 * nq + 1] = (uint32_t)(e - w0); nq++;
        }
      }
    } else { /* Metaspace: ' ' -> ▁, maybe prepend ▁, split before each ▁ */
      int yb = (xb + 1) % 3;
      size_t m = 0;
      char *y = need(sc, yb, n * 3 + (size_t)st->repl_len * (np + 1) + 16);
      if (!y) return -1;
      x = (const uint8_t *)sc->buf[xb];
      for (size_t i = 0; i < np; i++) {
        size_t a = sc->pc[pa][2 * i], e = a + sc->pc[pa][2 * i + 1], y0 = m;
        if (!(y = need(sc, yb, m + (e - a) * (size_t)(st->repl_len > 1 ? st->repl_len : 1) + 16))) return -1;
        int starts = (e - a > 0 && x[a] == ' ') ||
                     ((e - a) >= (size_t)st->repl_len && !memcmp(x + a, st->repl, (size_t)st->repl_len));
        if (!starts && (st->prepend == TOK_PREPEND_ALWAYS || (st->prepend == TOK_PREPEND_FIRST && i == 0 && first0))) {
          memcpy(y + m, st->repl, (size_t)st->repl_len);
          m += (size_t)st->repl_len;
        }
        for (size_t j = a; j < e; j++) {
          if (x[j] == ' ') { memcpy(y + m, st->repl, (size_t)st->repl_len); m += (size_t)st->repl_len; }
          else y[m++] = (char)x[j];
        }
        if (!st->split) {
          uint32_t *q = need_pc(sc, pb, nq + 1);
          if (!q) return -1;
          q[2 * nq] = (uint32_t)y0; q[2 * nq + 1] = (uint32_t)(m - y0); nq++;
          continue;
        }
        size_t w0 = y0;
        for (size_t j = y0; j < m;) {
          if (j > w0 && y[j] == st->repl[0] && m - j >= (size_t)st->repl_len &&
              !memcmp(y + j, st->repl, (size_t)st->repl_len)) {
            uint32_t *q = need_pc(sc, pb, nq + 1);
            if (!q) return -1;
            q[2 * nq] = (uint32_t)w0; q[2 * nq + 1] = (uint32_t)(j - w0); nq++;
            w0 = j;
          }
          j += (size_t)tok_lead_len((uint8_t)y[j]);
        }
        if (m > w0) {
          uint32_t *q = need_pc(sc, pb, nq + 1);
          if (!q) return -1;
          q[2 * nq] = (uint32_t)w0; q[2 * nq + 1] = (uint32_t)(m - w0); nq++;
        }
      }
      xb = yb;
      n = m;
    }
    pa = pb;
    np = nq;
  }
  for (size_t i = 0; i < np; i++) {
    float base = 0.0f;
    o->last_unk = 0;
    if (tok_viterbi(t, sc->buf[xb] + sc->pc[pa][2 * i], sc->pc[pa][2 * i + 1], sc, o, &base) < 0) return -1;
    if (tok_out_full(o)) return 0;
  }
  return 0;
}

int tok_hf_segment(const ar_tokenizer *t, const uint8_t *s, size_t n, int at_start, tok_scratch *sc,
                      tok_out *o) {
  /* Rust strings are valid UTF-8: each invalid byte becomes U+FFFD first (documented decision) */
  int cur = -1;
  size_t cn = n;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) { i++; continue; }
    int l = ar_utf8_len(s + i, n - i);
    if (l > 0) { i += (size_t)l; continue; }
    char *o2 = need(sc, 2, n * 3);
    if (!o2) return -1;
    size_t m = 0;
    for (size_t j = 0; j < n;) {
      int l2 = ar_utf8_len(s + j, n - j);
      if (l2 > 0) { memcpy(o2 + m, s + j, (size_t)l2); m += (size_t)l2; j += (size_t)l2; }
      else { memcpy(o2 + m, "\xEF\xBF\xBD", 3); m += 3; j++; }
    }
    cur = 2;
    cn = m;
    break;
  }
  for (int k = 0; k < t->n_norm; k++) {
    int dst = cur == 0 ? 1 : 0;
    if (cur == -1) dst = 0;
    const uint8_t *src = cur < 0 ? s : (const uint8_t *)sc->buf[cur];
    long m = hf_norm_step(t, &t->norm[k], src, cn, sc, dst);
    if (m < 0) return -1;
    cur = dst;
    cn = (size_t)m;
  }
  if (cur < 0) {  /* no normalizer: copy so the pre-tokenizers own their buffer */
    char *b0 = need(sc, 0, n);
    if (!b0) return -1;
    memcpy(b0, s, n);
    cur = 0;
  }
  if (!t->n_spec_norm) return hf_pretok_model(t, cur, cn, at_start, sc, o);
  /* added tokens with normalized=true are matched on the normalized text (rare: work on a copy) */
  char *copy = ar_malloc(cn + 1);
  if (!copy) return -1;
  memcpy(copy, sc->buf[cur], cn);
  size_t pos = 0;
  int rc = 0;
  for (;;) {
    size_t ms = cn, me = cn;
    int32_t id = -1;
    int found = tok_split_special(t, (const uint8_t *)copy, cn, pos, 1, &ms, &me, &id);
    if (ms > pos) {
      char *b = need(sc, 0, ms - pos);
      if (!b) { rc = -1; break; }
      memcpy(b, copy + pos, ms - pos);
      if ((rc = hf_pretok_model(t, 0, ms - pos, at_start && pos == 0, sc, o)) < 0) break;
    }
    if (!found || tok_out_full(o)) break;
    tok_emit(o, id);
    pos = me;
  }
  ar_free(copy);
  return rc;
}
