/* fuzz_spm_model.c - sentencepiece.bpe.model as given (protobuf, pieces, charsmap, trainer and normalizer specs), then an
 * encode of a fixed multi-script text when it loads. */
#include "fuzz.h"
#include "tokenizer/tok_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ar_tokenizer *t = NULL;
  if (tok_load_buffer("sentencepiece.bpe.model", (const char *)data, size, &t, NULL) != AR_OK) return 0;
  static const char text[] = "Olá,  mundo! ＡＢＣ ﬁ café\r\n  naïve — 東京 <s> x\xcc\x81";
  int32_t ids[64];
  ar_tokenizer_encode(t, text, sizeof text - 1, ids, 64, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE);
  ar_tokenizer_free(t);
  return 0;
}
