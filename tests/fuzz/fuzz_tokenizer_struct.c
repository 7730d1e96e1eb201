/* fuzz_tokenizer_struct.c - structure-aware tokenizer files: the input chooses a charsmap (keys and
 * replacements, written as a valid darts-clone trie), vocabulary pieces and pipeline options; the target
 * writes them as a tokenizer.json or a sentencepiece protobuf, loads it and encodes the rest of the
 * input. Byte flipping over a real file almost never yields a valid trie or protobuf, so it cannot
 * reach a normalizer that replaces "a" by 200 bytes (issue 12 finding 1); this target reaches it. */
#include "fuzz.h"
#include "tokenizer/tok_internal.h"
#include "charsmap_build.h"
#include <jansson.h>

static void pb_varint(ar_buf *b, uint64_t v) {
  do { char c = (char)(v & 0x7F); v >>= 7; if (v) c |= (char)0x80; ar_buf_append(b, &c, 1); } while (v);
}
static void pb_len(ar_buf *b, unsigned field, const void *p, size_t n) {
  pb_varint(b, (uint64_t)field << 3 | 2);
  pb_varint(b, n);
  ar_buf_append(b, p, n);
}
static void pb_u(ar_buf *b, unsigned field, uint64_t v) { pb_varint(b, (uint64_t)field << 3); pb_varint(b, v); }
static void pb_piece(ar_buf *b, const char *s, size_t n, float score, int type) {
  ar_buf q = {0};
  pb_len(&q, 1, s, n);
  uint32_t u;
  memcpy(&u, &score, 4);
  pb_varint(&q, 2 << 3 | 5);
  char le[4] = {(char)u, (char)(u >> 8), (char)(u >> 16), (char)(u >> 24)};
  ar_buf_append(&q, le, 4);
  pb_u(&q, 3, (uint64_t)type);
  pb_len(b, 1, q.p, q.n);
  ar_buf_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f = {data, size};
  unsigned flags = fz_byte(&f) | fz_byte(&f) << 8;
  /* charsmap entries */
  cm_entry e[8];
  uint8_t keys[8][6], reps[8][512];
  int ne = (int)fz_pick(&f, 9), m = 0;
  for (int i = 0; i < ne; i++) {
    const uint8_t *k, *r;
    size_t kl = fz_bytes(&f, 5, &k);
    if (!kl) { keys[m][0] = (uint8_t)('a' + i); kl = 1; } else memcpy(keys[m], k, kl);
    for (size_t j = 0; j < kl; j++) if (!keys[m][j]) keys[m][j] = 'a';
    size_t rl;
    if (fz_byte(&f) & 1) {   /* a long run of one byte: the replacements that overflowed */
      rl = fz_pick(&f, 512);
      memset(reps[m], fz_byte(&f) | 1, rl);
    } else {
      rl = fz_bytes(&f, 64, &r);
      memcpy(reps[m], r, rl);
      for (size_t j = 0; j < rl; j++) if (!reps[m][j]) reps[m][j] = ' ';
    }
    int dup = 0;
    for (int j = 0; j < m; j++) dup |= e[j].key_len == kl && !memcmp(e[j].key, keys[m], kl);
    if (dup) continue;
    e[m] = (cm_entry){keys[m], kl, reps[m], rl};
    m++;
  }
  uint8_t *cm = NULL;
  size_t cm_len = 0;
  if (m && cm_build(e, m, &cm, &cm_len)) return 0;
  /* pieces */
  char piece[16][12];
  size_t plen[16];
  float score[16];
  int np = 1 + (int)fz_pick(&f, 16);
  for (int i = 0; i < np; i++) {
    const uint8_t *s;
    plen[i] = fz_bytes(&f, 8, &s);
    if (!plen[i]) { memcpy(piece[i], "\xe2\x96\x81", 3); plen[i] = 3; }   /* the ▁ piece */
    else memcpy(piece[i], s, plen[i]);
    score[i] = -(float)(fz_byte(&f) % 64) / 4.0f;
  }
  ar_buf file = {0};
  const char *name;
  if (flags & 1) {   /* sentencepiece protobuf, XLM-R layout */
    name = "sentencepiece.bpe.model";
    pb_piece(&file, "<unk>", 5, 0, 2);
    pb_piece(&file, "<s>", 3, 0, 3);
    pb_piece(&file, "</s>", 4, 0, 3);
    for (int i = 0; i < np; i++) pb_piece(&file, piece[i], plen[i], score[i], flags & 2 && i == 0 ? 4 : 1);
    ar_buf ts = {0}, ns = {0};
    pb_u(&ts, 3, 1); pb_u(&ts, 40, 0); pb_u(&ts, 41, 1); pb_u(&ts, 42, 2);
    pb_len(&file, 2, ts.p, ts.n);
    const char *nn = flags & 4 ? "identity" : "nmt_nfkc";
    pb_len(&ns, 1, nn, strlen(nn));
    if (cm) pb_len(&ns, 2, cm, cm_len);
    pb_u(&ns, 3, (flags >> 3) & 1); pb_u(&ns, 4, (flags >> 4) & 1); pb_u(&ns, 5, 1);
    pb_len(&file, 3, ns.p, ns.n);
    ar_buf_free(&ts);
    ar_buf_free(&ns);
  } else {           /* tokenizer.json */
    name = "tokenizer.json";
    json_t *vocab = json_array();
    json_array_append_new(vocab, json_pack("[s,f]", "<unk>", 0.0));
    for (int i = 0; i < np; i++) json_array_append_new(vocab, json_pack("[s#,f]", piece[i], (int)plen[i], (double)score[i]));
    json_t *norms = json_array();
    if (cm) {
      char *b64 = cm_base64(cm, cm_len);
      json_array_append_new(norms, json_pack("{s:s,s:s}", "type", "Precompiled", "precompiled_charsmap", b64));
      free(b64);
    }
    if (flags & 8) json_array_append_new(norms, json_pack("{s:s,s:{s:s},s:s}", "type", "Replace", "pattern", "Regex",
                                                          " {2,}", "content", " "));
    if (flags & 16) json_array_append_new(norms, json_pack("{s:s,s:b,s:b}", "type", "Strip", "strip_left", 1,
                                                           "strip_right", 1));
    json_t *meta = json_pack("{s:s,s:s,s:s,s:b}", "type", "Metaspace", "replacement", "\xe2\x96\x81",
                             "prepend_scheme", flags & 32 ? "always" : flags & 64 ? "never" : "first",
                             "split", (flags >> 7) & 1);
    json_t *pre = flags & 256 ? json_pack("{s:s,s:[{s:s},o]}", "type", "Sequence", "pretokenizers", "type",
                                          "WhitespaceSplit", meta) : meta;
    json_t *root = json_pack("{s:{s:s,s:i,s:o},s:{s:s,s:o},s:o}", "model", "type", "Unigram", "unk_id", 0, "vocab",
                             vocab, "normalizer", "type", "Sequence", "normalizers", norms, "pre_tokenizer", pre);
    char *js = root ? json_dumps(root, JSON_COMPACT) : NULL;
    if (js) ar_buf_append(&file, js, strlen(js));
    free(js);
    json_decref(root);
  }
  free(cm);
  ar_tokenizer *t = NULL;
  if (!file.oom && file.n && tok_load_buffer(name, file.p, file.n, &t, NULL) == AR_OK) {
    int32_t ids[64];
    ar_tokenizer_encode(t, (const char *)f.p, f.n, ids, 64, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE);
    ar_tokenizer_count(t, (const char *)f.p, f.n, 0);
    ar_tokenizer_free(t);
  }
  ar_buf_free(&file);
  return 0;
}
