/* charsmap_build.c - a small darts-clone writer (see charsmap_build.h). Node p with children labels L
 * gets a base b with every b^l free; unit[p] = offset (p^b) << 10 | has_leaf << 8 | label, and a node
 * with a value keeps it in the leaf unit at b (label 0): bit 31 | offset of its replacement. */
#include "charsmap_build.h"
#include <stdlib.h>
#include <string.h>

typedef struct cm_b {
  uint32_t *u;
  uint8_t *used;   /* slot taken by a node or a leaf unit */
  uint8_t *bused;  /* slot already some node's base: two nodes sharing a base would see each other's children */
  size_t cap;
  size_t top;   /* highest index used + 1 */
  const cm_entry *e;
  const uint32_t *val;
} cm_b;

static int grow(cm_b *b, size_t need) {
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  uint32_t *u = realloc(b->u, cap * sizeof *u);
  if (!u) return -1;
  b->u = u;
  uint8_t *used = realloc(b->used, cap);
  if (!used) return -1;
  b->used = used;
  uint8_t *bused = realloc(b->bused, cap);
  if (!bused) return -1;
  b->bused = bused;
  memset(b->u + b->cap, 0, (cap - b->cap) * sizeof *u);
  memset(b->used + b->cap, 0, cap - b->cap);
  memset(b->bused + b->cap, 0, cap - b->cap);
  b->cap = cap;
  return 0;
}

/* Node at index p for the entries idx[0..n) sharing their first d bytes; lab is the node's own label. */
static int build(cm_b *b, size_t p, uint8_t lab, const int *idx, int n, size_t d) {
  int leaf = -1;
  uint8_t labels[256];
  int nl = 0, seen[256] = {0};
  for (int i = 0; i < n; i++) {
    const cm_entry *e = &b->e[idx[i]];
    if (e->key_len == d) leaf = idx[i];
    else if (!seen[e->key[d]]) { seen[e->key[d]] = 1; labels[nl++] = e->key[d]; }
  }
  size_t base = 1;
  for (;; base++) {
    if (grow(b, (base | 255) + 1)) return -1;
    int ok = !b->bused[base] && !(leaf >= 0 && b->used[base]) && base != p;
    for (int i = 0; i < nl && ok; i++) ok = !b->used[base ^ labels[i]];
    if (ok) break;
  }
  size_t off = p ^ base;
  if (off >= (1u << 21)) return -1;  /* big offsets need darts' shifted form: not needed for test sizes */
  b->bused[base] = 1;
  b->u[p] = (uint32_t)(off << 10) | (leaf >= 0 ? 1u << 8 : 0) | lab;
  if (leaf >= 0) { b->used[base] = 1; b->u[base] = (1u << 31) | b->val[leaf]; if (base + 1 > b->top) b->top = base + 1; }
  for (int i = 0; i < nl; i++) {
    size_t c = base ^ labels[i];
    b->used[c] = 1;
    if (c + 1 > b->top) b->top = c + 1;
  }
  int *sub = malloc((size_t)(n ? n : 1) * sizeof *sub);
  if (!sub) return -1;
  int rc = 0;
  for (int i = 0; i < nl && !rc; i++) {
    int m = 0;
    for (int k = 0; k < n; k++) {
      const cm_entry *e = &b->e[idx[k]];
      if (e->key_len > d && e->key[d] == labels[i]) sub[m++] = idx[k];
    }
    rc = build(b, base ^ labels[i], labels[i], sub, m, d + 1);
  }
  free(sub);
  return rc;
}

int cm_build(const cm_entry *e, int n, uint8_t **out, size_t *out_len) {
  *out = NULL;
  size_t repl_bytes = 0;
  for (int i = 0; i < n; i++) {
    if (!e[i].key_len || memchr(e[i].key, 0, e[i].key_len) || memchr(e[i].repl, 0, e[i].repl_len)) return -1;
    for (int k = 0; k < i; k++)
      if (e[k].key_len == e[i].key_len && !memcmp(e[k].key, e[i].key, e[i].key_len)) return -1;
    repl_bytes += e[i].repl_len + 1;
  }
  cm_b b = {0};
  uint32_t *val = malloc((size_t)(n ? n : 1) * sizeof *val);
  int *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
  int rc = -1;
  if (!val || !idx || grow(&b, 256)) goto done;
  uint32_t off = 0;
  for (int i = 0; i < n; i++) { val[i] = off; off += (uint32_t)e[i].repl_len + 1; idx[i] = i; }
  b.e = e;
  b.val = val;
  b.used[0] = 1;
  b.top = 1;
  if (build(&b, 0, 0, idx, n, 0)) goto done;
  size_t tb = b.top * 4, len = 4 + tb + repl_bytes;
  uint8_t *blob = malloc(len);
  if (!blob) goto done;
  for (int k = 0; k < 4; k++) blob[k] = (uint8_t)(tb >> (8 * k));
  for (size_t i = 0; i < b.top; i++)
    for (int k = 0; k < 4; k++) blob[4 + 4 * i + (size_t)k] = (uint8_t)(b.u[i] >> (8 * k));
  uint8_t *r = blob + 4 + tb;
  for (int i = 0; i < n; i++) { memcpy(r, e[i].repl, e[i].repl_len); r += e[i].repl_len; *r++ = 0; }
  *out = blob;
  *out_len = len;
  rc = 0;
done:
  free(b.u);
  free(b.used);
  free(b.bused);
  free(val);
  free(idx);
  return rc;
}

char *cm_base64(const uint8_t *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;
  if (!o) return NULL;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    *q++ = tab[v >> 18 & 63];
    *q++ = tab[v >> 12 & 63];
    *q++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
    *q++ = i + 2 < n ? tab[v & 63] : '=';
  }
  *q = 0;
  return o;
}
