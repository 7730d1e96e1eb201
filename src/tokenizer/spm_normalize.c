/* spm_normalize.c - sentencepiece's normalizer (longest charsmap match, user symbols verbatim, ▁ escaping,
 * dummy prefix, whitespace collapsing), then Viterbi over the normalized segment. */
#include "tokenizer/tok_internal.h"

#define SPACE_SYM "\xE2\x96\x81" /* U+2581 */

static char *need(tok_scratch *sc, int k, size_t n) {
  return tok_scratch_grow(sc, (void **)&sc->buf[k], &sc->buf_cap[k], n + 1);
}


/* NormalizePrefix: the replacement for the longest charsmap key at s, else the code point itself, else
 * U+FFFD for one invalid byte. Returns the bytes consumed. */
static size_t spm_prefix(const ar_tokenizer *t, const uint8_t *s, size_t n, const char **rep, size_t *rlen) {
  uint8_t b = s[0];
  if (t->has_user) {  /* PrefixMatcher: the longest user-defined symbol here is copied as is */
    size_t best = 0;
    int32_t node = t->user.root[b];
    for (size_t k = 0; node >= 0;) {
      if (t->user.node[node].id >= 0) best = k + 1;
      if (++k >= n) break;
      node = tok_trie_next(&t->user, node, s[k]);
    }
    if (best) { *rep = (const char *)s; *rlen = best; return best; }
  }
  if (b < 0x80 && (n == 1 || (s[1] < 0x80 && !t->ascii_cont[b]))) {
    if (t->ascii_val[b] < 0) { *rep = (const char *)s; *rlen = 1; }
    else { *rep = t->cm.repl + t->ascii_val[b]; *rlen = t->ascii_len[b]; }
    return 1;
  }
  if (t->has_cm) {
    uint32_t lens[32], vals[32];
    int k = tok_charsmap_search(&t->cm, s, n, lens, vals, 32);
    if (k > 32) k = 32;
    if (k > 0) {
      uint32_t best = 0;
      for (int i = 1; i < k; i++) if (lens[i] > lens[best]) best = (uint32_t)i;
      *rep = tok_charsmap_repl(&t->cm, vals[best], rlen);
      return lens[best];
    }
  }
  int l = ar_utf8_len(s, n);
  if (l == 0) { *rep = "\xEF\xBF\xBD"; *rlen = 3; return 1; }
  *rep = (const char *)s;
  *rlen = (size_t)l;
  return (size_t)l;
}

/* Normalizer::Normalize into sc->buf[0]; returns the length, or -1 on OOM. */
static long spm_normalize(const ar_tokenizer *t, const uint8_t *s, size_t n, tok_scratch *sc) {
  const char *rep;
  size_t rl, pos = 0, m = 0;
  if (t->remove_extra_ws) {
    while (pos < n) {
      size_t c = spm_prefix(t, s + pos, n - pos, &rep, &rl);
      if (!(rl == 1 && rep[0] == ' ')) break;
      pos += c;
    }
  }
  if (pos == n) return 0;
  char *o = need(sc, 0, (n - pos) * 3 + 16);
  if (!o) return -1;
  if (t->add_dummy_prefix) { memcpy(o, SPACE_SYM, 3); m = 3; }
  int prev_space = t->remove_extra_ws;
  while (pos < n) {
    size_t c = spm_prefix(t, s + pos, n - pos, &rep, &rl);
    if (prev_space) while (rl && rep[0] == ' ') { rep++; rl--; }
    if (rl) {
      if (!(o = need(sc, 0, m + rl * 3 + (n - pos) * 3 + 16))) return -1;
      for (size_t i = 0; i < rl; i++) {
        if (rep[i] == ' ') { memcpy(o + m, SPACE_SYM, 3); m += 3; }
        else o[m++] = rep[i];
      }
      prev_space = rep[rl - 1] == ' ';
    }
    pos += c;
    if (!t->remove_extra_ws) prev_space = 0;
  }
  if (t->remove_extra_ws)
    while (m >= 3 && !memcmp(o + m - 3, SPACE_SYM, 3)) m -= 3;
  return (long)m;
}

int tok_spm_segment(const ar_tokenizer *t, const uint8_t *s, size_t n, tok_scratch *sc, tok_out *o) {
  long m = spm_normalize(t, s, n, sc);
  if (m < 0) return -1;
  const char *x = sc->buf[0];
  float base = 0.0f;
  o->last_unk = 0;
  if (!t->chunkable) return tok_viterbi(t, x, (size_t)m, sc, o, &base);
  /* No piece holds ▁ past its first byte, so every path passes through each ▁: run Viterbi word by
   * word, carrying the float path score so the arithmetic is exactly that of the whole string. */
  size_t a = 0;
  while (a < (size_t)m) {
    size_t b = a + 1;
    while (b < (size_t)m) {
      const char *q = memchr(x + b, 0xE2, (size_t)m - b);
      if (!q) { b = (size_t)m; break; }
      b = (size_t)(q - x);
      if (b + 3 <= (size_t)m && !memcmp(q, SPACE_SYM, 3)) break;
      b++;
    }
    if (tok_viterbi(t, x + a, b - a, sc, o, &base) < 0) return -1;
    if (tok_out_full(o)) return 0;
    a = b;
  }
  return 0;
}
