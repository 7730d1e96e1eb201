/* trie.c - the vocabulary trie: built once from sorted piece keys, walked byte by byte in Viterbi. */
#include "tokenizer/tok_internal.h"

/* byte d of a key, -1 past its end (so shorter keys sort first) */
static inline int kbyte(const tok_key *k, uint32_t d) { return d < k->len ? (uint8_t)k->s[d] : -1; }

static int key_less(const tok_key *x, const tok_key *y, uint32_t d) {
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = n > d ? memcmp(x->s + d, y->s + d, n - d) : 0;
  if (c) return c < 0;
  if (x->len != y->len) return x->len < y->len;
  return x->id < y->id;  /* equal keys: ascending id, so the highest id ends up winning */
}

/* Multikey quicksort (Bentley & Sedgewick): sorts keys sharing their first d bytes; much faster than
 * qsort+memcmp on 250k pieces because each byte is looked at about once. */
static void mkqsort(tok_key *a, size_t n, uint32_t d) {
  while (n > 12) {
    int v = kbyte(&a[n / 2], d);
    size_t lt = 0, i = 0, gt = n;
    while (i < gt) {
      int c = kbyte(&a[i], d);
      if (c < v) { tok_key t = a[lt]; a[lt++] = a[i]; a[i++] = t; }
      else if (c > v) { tok_key t = a[--gt]; a[gt] = a[i]; a[i] = t; }
      else i++;
    }
    mkqsort(a, lt, d);
    mkqsort(a + gt, n - gt, d);
    if (v < 0) {  /* identical keys: order by id */
      for (size_t x = lt + 1; x < gt; x++)
        for (size_t y = x; y > lt && a[y].id < a[y - 1].id; y--) { tok_key t = a[y]; a[y] = a[y - 1]; a[y - 1] = t; }
      return;
    }
    a += lt;
    n = gt - lt;
    d++;
  }
  for (size_t x = 1; x < n; x++)
    for (size_t y = x; y > 0 && key_less(&a[y], &a[y - 1], d); y--) { tok_key t = a[y]; a[y] = a[y - 1]; a[y - 1] = t; }
}

typedef struct build_ctx {
  tok_trie *t;
  tok_key *k;
  uint32_t cap;
  int oom;
} build_ctx;

static int32_t alloc_nodes(build_ctx *c, uint32_t n) {
  tok_trie *t = c->t;
  if (t->n_nodes + n > c->cap) {
    uint32_t cap = c->cap ? c->cap : 1024;
    while (cap < t->n_nodes + n) cap *= 2;
    tok_node *nd = ar_realloc(t->node, (size_t)cap * sizeof *nd);
    if (nd) t->node = nd;
    uint8_t *l = ar_realloc(t->label, cap);
    if (l) t->label = l;
    if (!nd || !l) { c->oom = 1; return -1; }
    c->cap = cap;
  }
  int32_t first = (int32_t)t->n_nodes;
  for (uint32_t i = 0; i < n; i++) t->node[first + i] = (tok_node){0, -1, 0, -1};
  t->n_nodes += n;
  return first;
}

/* keys[lo..hi) share their first `depth` bytes and end at or below `node`. Iterative over a stack would be
 * needed only for pathological depth; piece length bounds the recursion (checked by the caller). */
static void build(build_ctx *c, int32_t node, size_t lo, size_t hi, uint32_t depth) {
  tok_key *k = c->k;
  while (lo < hi && k[lo].len == depth) {  /* keys ending here: sorted first, last duplicate wins */
    c->t->node[node].id = k[lo].id;
    lo++;
  }
  if (lo >= hi) return;
  uint32_t groups = 0;
  for (size_t i = lo; i < hi;) {
    uint8_t b = (uint8_t)k[i].s[depth];
    while (i < hi && (uint8_t)k[i].s[depth] == b) i++;
    groups++;
  }
  int32_t first = alloc_nodes(c, groups);
  if (first < 0) return;
  c->t->node[node].begin = (uint32_t)first;
  c->t->node[node].nchild = groups;
  uint32_t g = 0;
  for (size_t i = lo; i < hi;) {
    uint8_t b = (uint8_t)k[i].s[depth];
    size_t j = i;
    while (j < hi && (uint8_t)k[j].s[depth] == b) j++;
    c->t->label[first + g] = b;
    build(c, first + (int32_t)g, i, j, depth + 1);
    if (c->oom) return;
    i = j;
    g++;
  }
}

ar_status tok_trie_build(tok_trie *t, tok_key *keys, size_t n, ar_error *err) {
  memset(t, 0, sizeof *t);
  for (int i = 0; i < 256; i++) t->root[i] = -1;
  for (size_t i = 0; i < n; i++)
    if (keys[i].len == 0 || keys[i].len > 4096)
      return ar_fail(err, AR_ERR_MODEL, "piece %d has length %u (must be 1..4096)", (int)keys[i].id, keys[i].len);
  mkqsort(keys, n, 0);
  build_ctx c = {t, keys, 0, 0};
  if (alloc_nodes(&c, 1) < 0) return ar_fail(err, AR_ERR_NOMEM, "out of memory building the vocabulary trie");
  build(&c, 0, 0, n, 0);
  if (c.oom) { tok_trie_free(t); return ar_fail(err, AR_ERR_NOMEM, "out of memory building the vocabulary trie"); }
  for (uint32_t i = 0; i < t->node[0].nchild; i++) t->root[t->label[t->node[0].begin + i]] = (int32_t)(t->node[0].begin + i);
  /* wide nodes get a direct 256-entry row: one load instead of a binary search */
  uint32_t wide = 0;
  for (uint32_t i = 1; i < t->n_nodes; i++) wide += t->node[i].nchild >= 24;
  if (wide) {
    t->dense = ar_malloc((size_t)wide * 256 * sizeof *t->dense);
    if (!t->dense) { tok_trie_free(t); return ar_fail(err, AR_ERR_NOMEM, "out of memory building the vocabulary trie"); }
    for (uint32_t i = 1; i < t->n_nodes; i++) {
      tok_node *nd = &t->node[i];
      if (nd->nchild < 24) continue;
      int32_t *row = t->dense + (size_t)t->n_dense * 256;
      for (int b = 0; b < 256; b++) row[b] = -1;
      for (uint32_t j = 0; j < nd->nchild; j++) row[t->label[nd->begin + j]] = (int32_t)(nd->begin + j);
      nd->dense = (int32_t)t->n_dense++;
    }
  }
  return AR_OK;
}

void tok_trie_free(tok_trie *t) {
  ar_free(t->node);
  ar_free(t->label);
  ar_free(t->dense);
  memset(t, 0, sizeof *t);
}
