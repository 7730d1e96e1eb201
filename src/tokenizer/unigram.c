/* unigram.c - Viterbi segmentation of normalized text into vocabulary pieces (sentencepiece's
 * EncodeOptimized / HF's encode_optimized), unknown characters scored min_score - 10 and fused. */
#include "tokenizer/tok_internal.h"

void *tok_scratch_grow(void **p, size_t *cap, size_t need, int *oom) {
  if (need <= *cap) return *p;
  size_t c = *cap ? *cap : 256;
  while (c < need) c *= 2;
  void *q = ar_realloc(*p, c);
  if (!q) { *oom = 1; return NULL; }
  *p = q;
  *cap = c;
  return q;
}

typedef struct node_d { double score; int32_t start, id; } node_d;  /* HF: f64 path scores */
typedef struct node_f { float score; int32_t start, id; } node_f;   /* spm: float path scores */

int tok_viterbi(const ar_tokenizer *t, const char *str, size_t n, tok_scratch *sc, tok_out *o, float *base) {
  const uint8_t *s = (const uint8_t *)str;
  const tok_trie *tr = &t->trie;
  if (n == 0) return 0;
  if (n > (size_t)INT32_MAX - 1) return -1;
  size_t paths = 0;
  if (!tok_scratch_grow((void **)&sc->path, &sc->path_cap, (n + 1) * sizeof(int32_t) * 2, &sc->oom)) return -1;
  int32_t *path = sc->path;  /* pairs (start, id), reversed */
  if (t->hf) {
    node_d *nd = tok_scratch_grow(&sc->nodes, &sc->nodes_cap, (n + 1) * sizeof(node_d), &sc->oom);
    if (!nd) return -1;
    for (size_t i = 0; i <= n; i++) nd[i].start = -1;
    nd[0].score = 0.0;
    for (size_t pos = 0; pos < n;) {
      const double here = nd[pos].score;
      size_t mblen = (size_t)tok_lead_len(s[pos]);
      if (mblen > n - pos) mblen = n - pos;
      int single = 0;
      int32_t node = 0;
      for (size_t k = pos; k < n; k++) {
        node = tok_trie_next(tr, node, s[k]);
        if (node < 0) break;
        int32_t id = tr->id[node];
        if (id < 0) continue;
        node_d *tn = &nd[k + 1];
        double cand = t->score[id] + here;
        if (tn->start < 0 || cand > tn->score) { tn->score = cand; tn->start = (int32_t)pos; tn->id = id; }
        if (k + 1 - pos == mblen) single = 1;
      }
      if (!single) {
        node_d *tn = &nd[pos + mblen];
        double cand = t->unk_score + here;
        if (tn->start < 0 || cand > tn->score) { tn->score = cand; tn->start = (int32_t)pos; tn->id = t->unk_id; }
      }
      pos += mblen;
    }
    for (size_t e = n; e > 0; e = (size_t)nd[e].start) { path[2 * paths] = nd[e].start; path[2 * paths + 1] = nd[e].id; paths++; }
  } else {
    node_f *nf = tok_scratch_grow(&sc->nodes, &sc->nodes_cap, (n + 1) * sizeof(node_f), &sc->oom);
    if (!nf) return -1;
    for (size_t i = 0; i <= n; i++) nf[i].start = -1;
    nf[0].score = *base;
    for (size_t pos = 0; pos < n;) {
      const float here = nf[pos].score;
      size_t mblen = (size_t)tok_lead_len(s[pos]);
      if (mblen > n - pos) mblen = n - pos;
      int single = 0;
      int32_t node = 0;
      for (size_t k = pos; k < n; k++) {
        node = tok_trie_next(tr, node, s[k]);
        if (node < 0) break;
        int32_t id = tr->id[node];
        if (id < 0) continue;
        node_f *tn = &nf[k + 1];
        /* spm: the piece score (double for user-defined pieces) plus the float path score, compared in
         * double against the stored float, then stored as float */
        double cand = t->score[id] + (double)here;
        if (tn->start < 0 || cand > (double)tn->score) { tn->score = (float)cand; tn->start = (int32_t)pos; tn->id = id; }
        if (k + 1 - pos == mblen) single = 1;
      }
      if (!single) {
        node_f *tn = &nf[pos + mblen];
        float cand = t->unk_score_f + here;  /* float + float in spm */
        if (tn->start < 0 || cand > tn->score) { tn->score = cand; tn->start = (int32_t)pos; tn->id = t->unk_id; }
      }
      pos += mblen;
    }
    *base = nf[n].score;
    for (size_t e = n; e > 0; e = (size_t)nf[e].start) { path[2 * paths] = nf[e].start; path[2 * paths + 1] = nf[e].id; paths++; }
  }
  /* emit in order; runs of unknowns become one (spm across the segment, HF within the word) */
  for (size_t i = paths; i-- > 0;) {
    int32_t id = path[2 * i + 1];
    if (id == t->unk_id && t->fuse_unk) {
      if (o->last_unk) continue;
      o->last_unk = 1;
    } else {
      o->last_unk = 0;
    }
    tok_emit(o, id);
  }
  return 0;
}
