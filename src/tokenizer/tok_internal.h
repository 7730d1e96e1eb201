/* tok_internal.h - the tokenizer's private types: piece trie, charsmap, pipeline config, the handle. */
#ifndef AR_TOK_INTERNAL_H
#define AR_TOK_INTERNAL_H
#include "core/util.h"
#include <stdint.h>

/* ---- piece trie: byte trie with the children of a node stored contiguously, sorted by label ---- */
typedef struct tok_node {
  uint32_t begin;      /* index of the first child */
  int32_t id;          /* vocab id of the piece ending here, -1 none */
  uint16_t nchild;     /* number of children (<= 256) */
  int32_t dense;       /* wide nodes: row in tok_trie.dense (child per byte), else -1 */
} tok_node;

typedef struct tok_trie {
  uint32_t n_nodes;
  int32_t root[256];   /* child of the root for each first byte, -1 none */
  tok_node *node;      /* [n_nodes]; one struct so a step touches one cache line plus the labels */
  uint8_t *label;      /* [n_nodes] byte on the edge into the node (siblings contiguous, sorted) */
  int32_t *dense;      /* [n_dense][256] child per byte of nodes with many children (e.g. after ▁) */
  uint32_t n_dense;
} tok_trie;

typedef struct tok_key { const char *s; uint32_t len; int32_t id; } tok_key;
/* Builds from n keys (sorted in place). A duplicate key keeps the highest id (HF map semantics). */
ar_status tok_trie_build(tok_trie *t, tok_key *keys, size_t n, ar_error *err);
void tok_trie_free(tok_trie *t);

/* Child of `node` (not the root: use root[b]) by byte b, or -1. */
static inline int32_t tok_trie_next(const tok_trie *t, int32_t node, uint8_t b) {
  const tok_node *nd = &t->node[node];
  if (nd->dense >= 0) return t->dense[(size_t)nd->dense * 256 + b];
  uint32_t lo = nd->begin, n = nd->nchild;
  const uint8_t *lab = t->label + lo;
  if (n <= 8) {
    for (uint32_t i = 0; i < n; i++) {
      if (lab[i] == b) return (int32_t)(lo + i);
      if (lab[i] > b) return -1;
    }
    return -1;
  }
  uint32_t a = 0, z = n;
  while (a < z) {
    uint32_t m = (a + z) / 2;
    if (lab[m] < b) a = m + 1; else z = m;
  }
  return (a < n && lab[a] == b) ? (int32_t)(lo + a) : -1;
}

/* ---- precompiled_charsmap: darts-clone double array + NUL-separated replacements ---- */
typedef struct tok_charsmap {
  uint32_t *units;     /* owned copy (aligned) */
  uint32_t n_units;
  char *repl;          /* owned copy of the replacement blob, NUL-terminated at repl[repl_len] */
  uint32_t repl_len;
} tok_charsmap;

/* Parses and checks the blob's framing. `what` names the file and field for errors. */
ar_status tok_charsmap_init(tok_charsmap *cm, const uint8_t *blob, size_t n, const char *what, ar_error *err);
void tok_charsmap_free(tok_charsmap *cm);
/* commonPrefixSearch: up to max (length, replacement offset) pairs, shortest first; returns the count. */
int tok_charsmap_search(const tok_charsmap *cm, const uint8_t *key, size_t len, uint32_t *lens,
                        uint32_t *vals, int max);
/* Replacement string for a value from search (always NUL-terminated inside repl). */
static inline const char *tok_charsmap_repl(const tok_charsmap *cm, uint32_t v, size_t *len) {
  const char *s = cm->repl + v;
  *len = strlen(s);
  return s;
}

/* ---- HF pipeline steps ---- */
enum { TOK_N_PRECOMPILED = 1, TOK_N_REPLACE, TOK_N_COLLAPSE_SPACES, TOK_N_STRIP };
typedef struct tok_norm_step {
  int kind;
  char *pat, *content;   /* TOK_N_REPLACE: literal pattern -> content */
  size_t pat_len, content_len;
  int left, right;       /* TOK_N_STRIP */
} tok_norm_step;

enum { TOK_P_WHITESPACE_SPLIT = 1, TOK_P_METASPACE };
enum { TOK_PREPEND_NEVER = 0, TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST };
typedef struct tok_pre_step {
  int kind;
  char repl[8];          /* Metaspace replacement character, UTF-8 */
  int repl_len;
  int prepend;           /* TOK_PREPEND_* */
  int split;
} tok_pre_step;

typedef struct tok_special {
  char *s;
  size_t len;
  int32_t id;
  uint8_t lstrip, rstrip, normalized;
} tok_special;

struct ar_tokenizer {
  int hf;                /* 1: tokenizer.json (HF fast tokenizer semantics), 0: sentencepiece */
  char *source;          /* the file it was loaded from, for messages */
  int32_t n_vocab;
  double *score;         /* [n_vocab] piece score (spm user-defined pieces: their boosted score) */
  int32_t unk_id;
  double unk_score;      /* HF: min_score - 10 (f64) */
  float unk_score_f;     /* spm: min_score - 10 (float) */
  tok_trie trie;
  tok_trie user;         /* spm USER_DEFINED pieces: the normalizer copies them verbatim */
  int has_user;
  tok_charsmap cm;
  int has_cm;
  /* sentencepiece normalizer spec */
  int add_dummy_prefix, remove_extra_ws, escape_ws;
  int chunkable;         /* no piece holds U+2581 after its first byte: Viterbi may run per word */
  /* HF pipeline */
  tok_norm_step *norm;
  int n_norm;
  tok_pre_step *pre;
  int n_pre;
  int fuse_unk;
  /* special-token strings split out of the text, longest first */
  tok_special *spec;
  int n_spec;
  uint8_t spec_first[2][256]; /* [normalized] first bytes of special-token strings */
  int n_spec_norm;
  /* ASCII fast path of the charsmap: the replacement of the single byte b (-1: none), and whether a
   * longer key starts with b followed by another ASCII byte (then the fast path is off for b) */
  int32_t ascii_val[128];
  uint8_t ascii_len[128], ascii_cont[128];
  /* post-processing template: prefix ids + content + suffix ids */
  int32_t prefix[4], suffix[4];
  int n_prefix, n_suffix;
};

/* ar_tokenizer_load on bytes already read (name: for messages, and ".json" picks the HF loader as the
 * content's leading '{' does); the fuzz targets enter here. */
ar_status tok_load_buffer(const char *name, const char *data, size_t len, ar_tokenizer **out, ar_error *err);
/* Loaders (fill a zeroed handle; the caller frees it on failure). */
ar_status tok_load_spm(ar_tokenizer *t, const char *path, const uint8_t *data, size_t len, ar_error *err);
ar_status tok_load_hf(ar_tokenizer *t, const char *path, const char *data, size_t len, ar_error *err);
/* tokenizer.json's model.vocab without jansson: where the array starts (0 if not found), and its parse
 * into one blob of piece bytes + keys + scores (*b is set past the closing ']'). */
int tok_json_find_vocab(const char *s, size_t n, size_t *a);
ar_status tok_json_parse_vocab(const char *s, size_t len, size_t a, size_t *b, const char *path, char **blob,
                               tok_key **keys, double **scores, size_t *count, ar_error *err);
/* A JSON number at p (NUL-terminated buffer): exact fast path for plain decimals, strtod otherwise. */
double tok_json_number(const char *p, const char *e, char **end);
/* Adds a special-token string (copied). */
ar_status tok_add_special(ar_tokenizer *t, const char *s, size_t len, int32_t id, int lstrip, int rstrip,
                          int normalized, ar_error *err);

/* ---- encoding scratch and output ---- */
typedef struct tok_scratch {
  char *buf[3];          /* ping-pong text buffers (normalizers, pre-tokenizers) */
  size_t buf_cap[3];
  uint32_t *pc[2];       /* ping-pong (start, len) piece lists */
  size_t pc_cap[2];
  void *nodes;           /* Viterbi lattice */
  size_t nodes_cap;      /* bytes */
  int32_t *path;
  size_t path_cap;
  int oom;
  _Alignas(16) char arena[12288];  /* initial buffers: a cue line never touches malloc */
} tok_scratch;

typedef struct tok_out {
  int32_t *ids;          /* may be NULL (count only) */
  int cap;               /* ids written while n < cap */
  int n;                 /* ids produced so far */
  int stop_at;           /* stop early once n >= stop_at (truncation), or -1 */
  int last_unk;          /* spm: the last emitted id was unk (to fuse runs) */
} tok_out;

static inline void tok_emit(tok_out *o, int32_t id) {
  if (o->n < o->cap) o->ids[o->n] = id;
  o->n++;
}
static inline int tok_out_full(const tok_out *o) { return o->stop_at >= 0 && o->n >= o->stop_at; }

/* Normalizes one piece of text (between special tokens) and emits its ids. Returns 0, -1 on OOM.
 * at_start: the piece begins the text (Metaspace prepend_scheme "first"). */
int tok_encode_segment(const ar_tokenizer *t, const char *s, size_t n, int at_start, tok_scratch *sc,
                       tok_out *o);
int tok_spm_segment(const ar_tokenizer *t, const uint8_t *s, size_t n, tok_scratch *sc, tok_out *o);
int tok_hf_segment(const ar_tokenizer *t, const uint8_t *s, size_t n, int at_start, tok_scratch *sc, tok_out *o);
/* Leftmost-longest special-token match at or after `from` among those with the given `normalized` flag,
 * extended over whitespace by lstrip/rstrip (HF AddedVocabulary). Returns 1 with the span and id, or 0. */
int tok_split_special(const ar_tokenizer *t, const uint8_t *s, size_t n, size_t from, int normalized,
                      size_t *ms, size_t *me, int32_t *id);
/* Rust char::is_whitespace: the byte length of the whitespace character at s / ending at s[end], or 0. */
size_t tok_ws_at(const uint8_t *s, size_t n);
size_t tok_ws_before(const uint8_t *s, size_t lo, size_t end);
/* Viterbi over normalized bytes s[0..n); spm: base carries the float path score across chunks. */
int tok_viterbi(const ar_tokenizer *t, const char *s, size_t n, tok_scratch *sc, tok_out *o, float *base);
/* Grows one scratch buffer to `need` bytes (the first ones live in sc->arena: no malloc for short text). */
void *tok_scratch_grow_slow(tok_scratch *sc, void **p, size_t *cap, size_t need);
static inline void *tok_scratch_grow(tok_scratch *sc, void **p, size_t *cap, size_t need) {
  return need <= *cap ? *p : tok_scratch_grow_slow(sc, p, cap, need);
}
void tok_scratch_init(tok_scratch *sc);
void tok_scratch_free(tok_scratch *sc);

/* UTF-8 length from the lead byte alone (sentencepiece's OneCharLen). */
static inline int tok_lead_len(uint8_t c) {
  static const uint8_t k[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return k[c >> 4];
}
#endif
