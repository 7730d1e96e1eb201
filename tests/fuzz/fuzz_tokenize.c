/* fuzz_tokenize.c - encoding arbitrary bytes (invalid UTF-8, NULs, huge words) with one fixed tokenizer:
 * $AULARAG_FUZZ_TOKENIZER (a file or model directory, e.g. the real XLM-R one) or, by default, a small
 * tokenizer.json written here with an NFKC-like charsmap. The first byte picks flags and size. */
#include "fuzz.h"
#include "tokenizer/tok_internal.h"
#include "charsmap_build.h"
#include <jansson.h>

static ar_tokenizer *tok;

static ar_tokenizer *builtin(void) {
  static const char *map[][2] = {{"\xef\xbc\xa1", "A"}, {"\xef\xac\x81", "fi"}, {"\xc2\xa0", " "},
                                 {"x\xcc\x81", "\xc3\xbd"}, {"\xe2\x80\x94", "-"}, {"\t", " "}, {"\xe2\x85\xa8", "IX"}};
  cm_entry e[7];
  for (int i = 0; i < 7; i++)
    e[i] = (cm_entry){(const uint8_t *)map[i][0], strlen(map[i][0]), (const uint8_t *)map[i][1], strlen(map[i][1])};
  uint8_t *cm;
  size_t cm_len;
  if (cm_build(e, 7, &cm, &cm_len)) abort();
  char *b64 = cm_base64(cm, cm_len);
  free(cm);
  static const char *pieces[] = {"<s>", "<pad>", "</s>", "\xe2\x96\x81", "a", "o", "e", "\xe2\x96\x81" "a", "\xe2\x96\x81" "de",
                                 "ol\xc3\xa1", "\xe2\x96\x81mundo", "fi", "caf\xc3\xa9", "s", "\xe6\x9d\xb1", "-"};
  json_t *vocab = json_array();
  json_array_append_new(vocab, json_pack("[s,f]", "<unk>", 0.0));
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
    json_array_append_new(vocab, json_pack("[s,f]", pieces[i], -1.0 - (double)i / 4));
  json_t *root = json_pack(
      "{s:{s:s,s:i,s:o},s:{s:s,s:[{s:s,s:s},{s:s,s:{s:s},s:s}]},s:{s:s,s:s,s:b},"
      "s:{s:s,s:[s,i],s:[s,i]},s:[{s:i,s:s,s:b}]}",
      "model", "type", "Unigram", "unk_id", 0, "vocab", vocab,
      "normalizer", "type", "Sequence", "normalizers", "type", "Precompiled", "precompiled_charsmap", b64,
      "type", "Replace", "pattern", "Regex", " {2,}", "content", " ",
      "pre_tokenizer", "type", "Metaspace", "replacement", "\xe2\x96\x81", "add_prefix_space", 1,
      "post_processor", "type", "RobertaProcessing", "cls", "<s>", 1, "sep", "</s>", 3,
      "added_tokens", "id", 1, "content", "<s>", "special", 1);
  free(b64);
  char *js = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  ar_tokenizer *t = NULL;
  ar_error err;
  if (!js || tok_load_buffer("tokenizer.json", js, strlen(js), &t, &err) != AR_OK) {
    fprintf(stderr, "fuzz_tokenize: built-in tokenizer: %s\n", js ? err.msg : "out of memory");
    abort();
  }
  free(js);
  return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!tok) {
    const char *p = getenv("AULARAG_FUZZ_TOKENIZER");
    ar_error err;
    if (!p || !*p) tok = builtin();
    else if (ar_tokenizer_load(p, &tok, &err) != AR_OK) {
      fprintf(stderr, "fuzz_tokenize: %s\n", err.msg);
      abort();
    }
  }
  if (!size) return 0;
  int flags = data[0] & 3, cap = 1 + data[0] % 40;
  int32_t ids[600];
  int n = ar_tokenizer_encode(tok, (const char *)data + 1, size - 1, ids, cap, flags);
  int c = ar_tokenizer_count(tok, (const char *)data + 1, size - 1, flags & AR_TOK_ADD_SPECIAL);
  /* the count is what encode produces without truncation */
  if (c >= 0 && c <= cap && !(flags & AR_TOK_TRUNCATE) && n != c) abort();
  if (c >= 0 && c < 600) {
    int full = ar_tokenizer_encode(tok, (const char *)data + 1, size - 1, ids, 600, flags & AR_TOK_ADD_SPECIAL);
    if (full != c) abort();
    for (int i = 0; i < full; i++) if (ids[i] < 0 || ids[i] >= ar_tokenizer_vocab_size(tok)) abort();
  }
  return 0;
}
