/* trie.c - the vocabulary trie: built once from sorted piece keys, walked byte by byte in Viterbi. */
#include "tokenizer/tok_internal.h"

static int key_cmp(const void *a, const void *b) {
  const tok_key *x = a, *y = b;
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  /* equal keys: ascending id, so the highest id ends up winning (HF's token->id map keeps the last) */
  return (x->id > y->id) - (x->id < y->id);
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
    uint32_t *b = ar_realloc(t->begin, (size_t)cap * sizeof *b);
    if (b) t->begin = b;
    uint16_t *nc = ar_realloc(t->nchild, (size_t)cap * sizeof *nc);
    if (nc) t->nchild = nc;
    uint8_t *l = ar_realloc(t->label, cap);
    if (l) t->label = l;
    int32_t *id = ar_realloc(t->id, (size_t)cap * sizeof *id);
    if (id) t->id = id;
    if (!b || !nc || !l || !id) { c->oom = 1; return -1; }
    c->cap = cap;
  }
  int32_t first = (int32_t)t->n_nodes;
  for (uint32_t i = 0; i < n; i++) {
    t->begin[first + i] = 0;
    t->nchild[first + i] = 0;
    t->id[first + i] = -1;
  }
  t->n_nodes += n;
  return first;
}

/* keys[lo..hi) share their first `depth` bytes and end at or below `node`. Iterative over a stack would be
 * needed only for pathological depth; piece length bounds the recursion (checked by the caller). */
static void build(build_ctx *c, int32_t node, size_t lo, size_t hi, uint32_t depth) {
  tok_key *k = c->k;
  while (lo < hi && k[lo].len == depth) {  /* keys ending here: sorted first, last duplicate wins */
    c->t->id[node] = k[lo].id;
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
  c->t->begin[node] = (uint32_t)first;
  c->t->nchild[node] = (uint16_t)groups;
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
  qsort(keys, n, sizeof *keys, key_cmp);
  build_ctx c = {t, keys, 0, 0};
  if (alloc_nodes(&c, 1) < 0) return ar_fail(err, AR_ERR_NOMEM, "out of memory building the vocabulary trie");
  build(&c, 0, 0, n, 0);
  if (c.oom) { tok_trie_free(t); return ar_fail(err, AR_ERR_NOMEM, "out of memory building the vocabulary trie"); }
  for (uint32_t i = 0; i < t->nchild[0]; i++) t->root[t->label[t->begin[0] + i]] = (int32_t)(t->begin[0] + i);
  return AR_OK;
}

void tok_trie_free(tok_trie *t) {
  ar_free(t->begin);
  ar_free(t->nchild);
  ar_free(t->label);
  ar_free(t->id);
  memset(t, 0, sizeof *t);
}
