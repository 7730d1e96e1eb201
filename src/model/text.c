/* text.c - text in, vectors out: "query: "/"passage: " prefix, strip, tokenize, truncate, embed. */
#include "model/model.h"
#include "core/util.h"

ar_status ar_model_attach_tokenizer(ar_model *m, const char *dir, ar_error *err) {
  ar_status s = ar_tokenizer_load(dir, &m->tok, err);
  if (s) return s;
  if (ar_tokenizer_vocab_size(m->tok) > m->c.vocab)
    return ar_fail(err, AR_ERR_MODEL, "%s: tokenizer has %d ids but the model's word embedding only %d rows", dir,
                   ar_tokenizer_vocab_size(m->tok), m->c.vocab);
  return AR_OK;
}

void ar_model_detach_tokenizer(ar_model *m) {
  if (m->tok) ar_tokenizer_free(m->tok);
  m->tok = NULL;
}

/* Length of the Python str.isspace() character at s (what sentence-transformers' strip() removes), or 0. */
static int space_len(const unsigned char *s, size_t n) {
  if (!n) return 0;
  if (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0D) || (s[0] >= 0x1C && s[0] <= 0x1F)) return 1;
  int l = ar_utf8_len(s, n);
  if (l < 2) return 0;
  uint32_t c = l == 2 ? (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F)
             : l == 3 ? (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F) : 0;
  if (c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
      c == 0x202F || c == 0x205F || c == 0x3000)
    return l;
  return 0;
}

/* prefix + text, stripped like sentence-transformers' str(s).strip() on the prefixed string. The prefix is
 * the model's prompt for the kind (e5's "query: "/"passage: " unless its files or the caller say otherwise). */
static char *prepare(const ar_model *m, ar_embed_kind kind, const char *text, size_t len, size_t *out_len) {
  const char *pre = ar_model_prefix(m, kind);
  size_t pl = strlen(pre);
  char *s = ar_malloc(pl + len + 1);
  if (!s) return NULL;
  memcpy(s, pre, pl);
  memcpy(s + pl, text, len);
  size_t n = pl + len, b = 0;
  s[n] = 0;
  for (int k; (k = space_len((const unsigned char *)s + b, n - b)) > 0;) b += (size_t)k;
  size_t i = b, end = b; /* end: just past the last non-space character */
  while (i < n) {
    int k = space_len((const unsigned char *)s + i, n - i);
    if (k) { i += (size_t)k; continue; }
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    i += l > 0 ? (size_t)l : 1;
    end = i;
  }
  n = end;
  memmove(s, s + b, n - b);
  s[n - b] = 0;
  *out_len = n - b;
  return s;
}

int ar_model_count_tokens(const ar_model *m, ar_embed_kind kind, const char *text, size_t len) {
  if (!m->tok) return -1;
  size_t n;
  char *s = prepare(m, kind, text, len, &n);
  if (!s) return -1;
  int c = ar_tokenizer_count(m->tok, s, n, AR_TOK_ADD_SPECIAL);
  ar_free(s);
  return c;
}

ar_status ar_model_embed_texts(ar_model *m, ar_embed_kind kind, const char *const *texts, int n, float *out,
                               ar_error *err) {
  if (n <= 0) return n == 0 ? AR_OK : ar_fail(err, AR_ERR_INVALID, "embed: negative count");
  if (!m->tok) return ar_fail(err, AR_ERR_MODEL, "embed: the model was loaded without its tokenizer (ids_only)");
  int cap = m->max_tokens;
  int32_t *buf = ar_malloc((size_t)n * (size_t)cap * sizeof *buf);
  int32_t **ids = ar_malloc((size_t)n * sizeof *ids);
  int *n_ids = ar_malloc((size_t)n * sizeof *n_ids);
  ar_status s = AR_OK;
  if (!buf || !ids || !n_ids) s = ar_fail(err, AR_ERR_NOMEM, "embed: out of memory for %d texts", n);
  for (int i = 0; s == AR_OK && i < n; i++) {
    size_t len;
    char *t = prepare(m, kind, texts[i] ? texts[i] : "", texts[i] ? strlen(texts[i]) : 0, &len);
    if (!t) { s = ar_fail(err, AR_ERR_NOMEM, "embed: out of memory"); break; }
    ids[i] = buf + (size_t)i * (size_t)cap;
    /* truncation keeps the first max-2 content tokens, then </s> (HF truncation="longest_first") */
    n_ids[i] = ar_tokenizer_encode(m->tok, t, len, ids[i], cap, AR_TOK_ADD_SPECIAL | AR_TOK_TRUNCATE);
    ar_free(t);
    if (n_ids[i] <= 0) s = ar_fail(err, AR_ERR_PARSE, "embed: text %d could not be tokenized", i);
  }
  if (s == AR_OK) s = ar_model_embed_ids(m, (const int32_t *const *)ids, n_ids, n, out, err);
  ar_free(buf);
  ar_free(ids);
  ar_free(n_ids);
  return s;
}

/* ---- the encoder as an ar_embedder ----------------------------------------------------------- */

static ar_status embedder_embed(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out,
                                ar_error *err) {
  return ar_model_embed_texts(ctx, kind, texts, n, out, err);
}

static int embedder_count(void *ctx, ar_embed_kind kind, const char *text, size_t len) {
  return ar_model_count_tokens(ctx, kind, text, len);
}

ar_embedder ar_model_embedder(ar_model *m) {
  return (ar_embedder){.fingerprint = ar_model_fingerprint(m), .dim = ar_model_dim(m), .embed = embedder_embed,
                       .count_tokens = embedder_count, .max_tokens = ar_model_max_tokens(m),
                       .precision = ar_precision_name(ar_model_precision(m)), .ctx = m};
}
