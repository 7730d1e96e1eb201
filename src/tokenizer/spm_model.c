/* spm_model.c - reads sentencepiece.bpe.model (a protobuf ModelProto) by hand: pieces, scores, types,
 * the normalizer spec with its precompiled_charsmap and the trainer spec fields that change encoding. */
#include "tokenizer/tok_internal.h"
#include <float.h>

enum { PIECE_NORMAL = 1, PIECE_UNKNOWN = 2, PIECE_CONTROL = 3, PIECE_USER = 4, PIECE_UNUSED = 5, PIECE_BYTE = 6 };

typedef struct pb { const uint8_t *p, *end, *base; } pb;  /* base: start of the file, for offsets */

static int pb_varint(pb *r, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return -1;
    uint8_t b = *r->p++;
    x |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) { *v = x; return 0; }
  }
  return -1;
}

/* Reads one field header and value. For wire type 2, *sub is the payload. Returns 0, -1 malformed. */
static int pb_field(pb *r, uint32_t *field, int *wire, uint64_t *v, pb *sub) {
  uint64_t tag;
  if (pb_varint(r, &tag) < 0) return -1;
  *field = (uint32_t)(tag >> 3);
  *wire = (int)(tag & 7);
  if (*field == 0) return -1;
  switch (*wire) {
  case 0: return pb_varint(r, v);
  case 1: if (r->end - r->p < 8) return -1; memcpy(v, r->p, 8); r->p += 8; return 0;
  case 5: {
    if (r->end - r->p < 4) return -1;
    uint32_t x = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    *v = x; r->p += 4; return 0;
  }
  case 2: {
    uint64_t n;
    if (pb_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p)) return -1;
    sub->p = r->p; sub->end = r->p + n; sub->base = r->base;
    r->p += n;
    return 0;
  }
  default: return -1;  /* groups (3, 4) are not used by ModelProto */
  }
}

static float f32_of(uint64_t v) { uint32_t x = (uint32_t)v; float f; memcpy(&f, &x, 4); return f; }

typedef struct spm_piece { const char *s; uint32_t len; float score; int type; } spm_piece;

ar_status tok_load_spm(ar_tokenizer *t, const char *path, const uint8_t *data, size_t len, ar_error *err) {
  pb r = {data, data + len, data}, sub;
  uint32_t f;
  int w;
  uint64_t v;
  spm_piece *pc = NULL;
  size_t n = 0, cap = 0;
  const uint8_t *charsmap = NULL;
  size_t charsmap_len = 0;
  char norm_name[64] = "";
  int model_type = 1, byte_fallback = 0, ws_suffix = 0, have_norm = 0;
  int64_t unk_id = 0, bos_id = 1, eos_id = 2;
  ar_status st = AR_OK;
  t->add_dummy_prefix = 1; t->remove_extra_ws = 1; t->escape_ws = 1;
  if (len == 0) return ar_fail(err, AR_ERR_MODEL, "%s: empty file", path);
#define BAD(what) do { st = ar_fail(err, AR_ERR_MODEL, "%s: malformed model file at byte %zu (%s)", path, \
                                   (size_t)(r.p - data), what); goto done; } while (0)
  while (r.p < r.end) {
    const uint8_t *at = r.p;
    if (pb_field(&r, &f, &w, &v, &sub) < 0) { r.p = at; BAD("bad field header or length"); }
    if (f == 1 && w == 2) {  /* SentencePiece */
      spm_piece p = {NULL, 0, 0.0f, PIECE_NORMAL};
      int have_piece = 0;
      pb q = sub, s2;
      while (q.p < q.end) {
        uint32_t pf; int pw; uint64_t pv;
        if (pb_field(&q, &pf, &pw, &pv, &s2) < 0) { r.p = q.p; BAD("bad field in a piece"); }
        if (pf == 1 && pw == 2) { p.s = (const char *)s2.p; p.len = (uint32_t)(s2.end - s2.p); have_piece = 1; }
        else if (pf == 2 && pw == 5) p.score = f32_of(pv);
        else if (pf == 3 && pw == 0) p.type = (int)pv;
        else if (pf <= 3) { r.p = q.p; BAD("piece field with the wrong wire type"); }
      }
      if (!have_piece) { st = ar_fail(err, AR_ERR_MODEL, "%s: piece %zu has no string (byte %zu)", path, n,
                                      (size_t)(at - data)); goto done; }
      if (p.type < 1 || p.type > 6) { st = ar_fail(err, AR_ERR_MODEL, "%s: piece %zu has unknown type %d", path,
                                                   n, p.type); goto done; }
      if (n == cap) {
        cap = cap ? cap * 2 : 1024;
        spm_piece *np = ar_realloc(pc, cap * sizeof *np);
        if (!np) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto done; }
        pc = np;
      }
      pc[n++] = p;
    } else if (f == 2 && w == 2) {  /* TrainerSpec */
      pb q = sub, s2;
      while (q.p < q.end) {
        uint32_t pf; int pw; uint64_t pv;
        if (pb_field(&q, &pf, &pw, &pv, &s2) < 0) { r.p = q.p; BAD("bad field in trainer_spec"); }
        if (pw != 0) continue;
        if (pf == 3) model_type = (int)pv;
        else if (pf == 24) ws_suffix = pv != 0;
        else if (pf == 35) byte_fallback = pv != 0;
        else if (pf == 40) unk_id = (int32_t)pv;
        else if (pf == 41) bos_id = (int32_t)pv;
        else if (pf == 42) eos_id = (int32_t)pv;
      }
    } else if (f == 3 && w == 2) {  /* NormalizerSpec */
      pb q = sub, s2;
      have_norm = 1;
      while (q.p < q.end) {
        uint32_t pf; int pw; uint64_t pv;
        if (pb_field(&q, &pf, &pw, &pv, &s2) < 0) { r.p = q.p; BAD("bad field in normalizer_spec"); }
        if (pf == 1 && pw == 2) {
          size_t l = (size_t)(s2.end - s2.p);
          if (l >= sizeof norm_name) l = sizeof norm_name - 1;
          memcpy(norm_name, s2.p, l);
          norm_name[l] = 0;
        } else if (pf == 2 && pw == 2) { charsmap = s2.p; charsmap_len = (size_t)(s2.end - s2.p); }
        else if (pf == 3 && pw == 0) t->add_dummy_prefix = pv != 0;
        else if (pf == 4 && pw == 0) t->remove_extra_ws = pv != 0;
        else if (pf == 5 && pw == 0) t->escape_ws = pv != 0;
      }
    }
    /* self_test_data (4), denormalizer_spec (5) and unknown fields are skipped */
  }
#undef BAD
  if (n == 0) { st = ar_fail(err, AR_ERR_MODEL, "%s: no pieces (not a sentencepiece model?)", path); goto done; }
  if (model_type != 1) {
    st = ar_fail(err, AR_ERR_MODEL, "%s: trainer_spec.model_type is %d; only UNIGRAM (1) is supported", path,
                 model_type);
    goto done;
  }
  if (byte_fallback) { st = ar_fail(err, AR_ERR_MODEL, "%s: trainer_spec.byte_fallback is not supported", path); goto done; }
  if (ws_suffix) {
    st = ar_fail(err, AR_ERR_MODEL, "%s: trainer_spec.treat_whitespace_as_suffix is not supported", path);
    goto done;
  }
  if (!t->escape_ws) {
    st = ar_fail(err, AR_ERR_MODEL, "%s: normalizer_spec.escape_whitespaces=false is not supported", path);
    goto done;
  }
  /* XLM-R's fairseq alignment assumes <unk>=0 <s>=1 </s>=2 in the spm file. */
  if (unk_id != 0 || bos_id != 1 || eos_id != 2 || n < 4 || pc[0].type != PIECE_UNKNOWN ||
      pc[1].type != PIECE_CONTROL || pc[2].type != PIECE_CONTROL) {
    st = ar_fail(err, AR_ERR_MODEL, "%s: trainer_spec ids (unk %d, bos %d, eos %d) / piece types are not the "
                 "XLM-R layout <unk>=0 <s>=1 </s>=2", path, (int)unk_id, (int)bos_id, (int)eos_id);
    goto done;
  }
  if (have_norm && norm_name[0] && strcmp(norm_name, "nmt_nfkc") && strcmp(norm_name, "identity") &&
      strcmp(norm_name, "nfkc") && strcmp(norm_name, "user_defined") && strcmp(norm_name, "nmt_nfkc_cf") &&
      strcmp(norm_name, "nfkc_cf")) {
    st = ar_fail(err, AR_ERR_MODEL, "%s: normalizer_spec.name \"%s\" is not supported", path, norm_name);
    goto done;
  }
  if (have_norm && norm_name[0] && strcmp(norm_name, "identity") && !charsmap_len) {
    st = ar_fail(err, AR_ERR_MODEL, "%s: normalizer_spec \"%s\" has no precompiled_charsmap", path, norm_name);
    goto done;
  }
  if (charsmap_len) {
    char what[600];
    snprintf(what, sizeof what, "%s: normalizer_spec", path);
    if ((st = tok_charsmap_init(&t->cm, charsmap, charsmap_len, what, err)) != AR_OK) goto done;
    t->has_cm = 1;
  }
  /* HF ids: <s>=0 <pad>=1 </s>=2 <unk>=3, spm piece j>=3 -> j+1, <mask> = n+1. */
  if (n > (size_t)INT32_MAX - 4) { st = ar_fail(err, AR_ERR_MODEL, "%s: too many pieces", path); goto done; }
  t->n_vocab = (int32_t)n + 2;
  t->score = ar_calloc((size_t)t->n_vocab, sizeof *t->score);
  tok_key *keys = ar_malloc(n * sizeof *keys);
  if (!t->score || !keys) { ar_free(keys); st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto done; }
  float min_s = FLT_MAX, max_s = FLT_MIN;
  for (size_t i = 0; i < n; i++)
    if (pc[i].type == PIECE_NORMAL) {
      if (pc[i].score < min_s) min_s = pc[i].score;
      if (pc[i].score > max_s) max_s = pc[i].score;
    }
  size_t nk = 0;
  t->chunkable = 1;
  for (size_t i = 3; i < n; i++) {
    int32_t id = (int32_t)i + 1;
    /* spm's trie: NORMAL and USER_DEFINED pieces (UNUSED ones are in it but skipped: same as absent) */
    if (pc[i].type == PIECE_NORMAL) t->score[id] = pc[i].score;
    else if (pc[i].type == PIECE_USER) t->score[id] = (double)((float)pc[i].len * max_s) - 0.1;
    else continue;
    if (pc[i].len == 0) { ar_free(keys); st = ar_fail(err, AR_ERR_MODEL, "%s: piece %zu is empty", path, i); goto done; }
    for (uint32_t b = 1; b + 3 <= pc[i].len; b++)
      if (!memcmp(pc[i].s + b, "\xE2\x96\x81", 3)) t->chunkable = 0;
    keys[nk++] = (tok_key){pc[i].s, pc[i].len, id};
  }
  t->unk_id = 3;
  t->unk_score_f = min_s - 10.0f;
  t->unk_score = t->unk_score_f;
  st = tok_trie_build(&t->trie, keys, nk, err);
  ar_free(keys);
  if (st != AR_OK) {
    char m[sizeof err->msg];
    if (err) { snprintf(m, sizeof m, "%.200s: %.800s", path, err->msg); st = ar_fail(err, st, "%s", m); }
    goto done;
  }
  t->fuse_unk = 1;
  t->prefix[0] = 0; t->n_prefix = 1;
  t->suffix[0] = 2; t->n_suffix = 1;
  /* the specials the slow XLMRobertaTokenizer splits out of text */
  static const char *sp[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
  const int32_t sp_id[] = {0, 1, 2, 3, t->n_vocab - 1};
  for (int i = 0; i < 5 && st == AR_OK; i++)
    st = tok_add_special(t, sp[i], strlen(sp[i]), sp_id[i], i == 4, 0, 0, err);
done:
  ar_free(pc);
  return st;
}
