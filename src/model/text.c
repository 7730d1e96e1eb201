/* text.c - text in, vectors out: strip, "query: "/"passage: " prefix, tokenize, truncate, embed. */
#include "model/model.h"
#include "core/util.h"

ar_status ar_model_attach_tokenizer(ar_model *m, const char *dir, ar_error *err) {
  (void)dir; (void)err;
  m->tok = NULL; /* the tokenizer lands with the tokenizer branch */
  return AR_OK;
}

void ar_model_detach_tokenizer(ar_model *m) { m->tok = NULL; }

int ar_model_count_tokens(const ar_model *m, ar_embed_kind kind, const char *text, size_t len) {
  (void)m; (void)kind; (void)text; (void)len;
  return -1;
}

ar_status ar_model_embed_texts(ar_model *m, ar_embed_kind kind, const char *const *texts, int n, float *out,
                               ar_error *err) {
  (void)m; (void)kind; (void)texts; (void)n; (void)out;
  return ar_fail(err, AR_ERR_MODEL, "embedding text needs the tokenizer (not built yet)");
}
