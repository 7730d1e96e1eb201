/* request.c - the embeddings endpoint URL and the JSON request body. */
#include "embed/embed.h"
#include <jansson.h>

char *ar_embed_endpoint(const char *base_url) {
  size_t n = strlen(base_url);
  while (n && base_url[n - 1] == '/') n--;
  ar_buf b = {0};
  ar_buf_append(&b, base_url, n);
  if (n >= 11 && !strncmp(base_url + n - 11, "/embeddings", 11)) {}   /* the route itself */
  else if (n >= 3 && !strncmp(base_url + n - 3, "/v1", 3)) ar_buf_puts(&b, "/embeddings");
  else ar_buf_puts(&b, "/v1/embeddings");
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

char *ar_embed_request_body(const char *model, ar_embed_kind kind, const char *const *texts, int n, int base64) {
  const char *prefix = kind == AR_EMBED_QUERY ? "query: " : kind == AR_EMBED_PASSAGE ? "passage: " : "";
  json_t *in = json_array();
  ar_buf t = {0};
  for (int i = 0; i < n && in; i++) {
    t.n = 0;
    ar_buf_puts(&t, prefix);
    ar_buf_append_utf8(&t, texts[i], strlen(texts[i]));
    if (t.oom || json_array_append_new(in, json_stringn(t.p, t.n))) { json_decref(in); in = NULL; }
  }
  ar_buf_free(&t);
  if (!in) return NULL;
  json_t *o = json_pack("{s:s, s:o, s:s}", "model", model, "input", in, "encoding_format", base64 ? "base64" : "float");
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!s) return NULL;
  char *r = ar_strdup(s);   /* ours to ar_free, like every other string of the library */
  free(s);
  return r;
}
