/* embeddings.c - POST /v1/embeddings and GET /v1/models: the served encoder (serve --model) for any
 * OpenAI-compatible client, aularag's own --embed-url included. Texts are embedded as sent (no
 * "query: "/"passage: " prefix added: that is the caller's, as with any such server), on the encoder the
 * searches use, while holding a search worker, so --threads bounds the encoder calls of both. */
#include "server/server.h"
#include <jansson.h>

enum { EMB_CHUNK = 32 };   /* texts per encoder call: bounds the scratch memory of a big request */

/* OpenAI's error shape, {"error": {"message", "type", "param", "code"}}, so their clients show the message. */
static enum MHD_Result oai_error(struct MHD_Connection *c, unsigned status, const char *code, const char *param,
                                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum MHD_Result oai_error(struct MHD_Connection *c, unsigned status, const char *code, const char *param,
                                 const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *type = status >= 500 ? "server_error" : "invalid_request_error";
  json_t *o = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", msg, "type", type, "param", param, "code",
                        code);
  char *body = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  return ar_srv_send(c, status, "application/json", body);
}

/* The served model's name: the model directory's last component ("multilingual-e5-small"). */
static void model_name(const ar_srv *s, char *out, size_t size) {
  const char *d = s->p.model_dir ? s->p.model_dir : "";
  size_t n = strlen(d);
  while (n > 1 && d[n - 1] == '/') n--;
  size_t b = n;
  while (b && d[b - 1] != '/') b--;
  snprintf(out, size, "%.*s", (int)(n - b), d + b);
}

/* Decision: "model" may be absent or null (this server has one model), its name, the --model path as
 * given, or its fingerprint; any other name is refused, so vectors recorded under a name are that model's. */
static int model_matches(const ar_srv *s, const char *want, const char *name) {
  return !strcmp(want, name) || !strcmp(want, s->p.model_dir) || !strcmp(want, ar_model_fingerprint(s->model));
}

enum MHD_Result ar_srv_api_models(ar_srv *s, struct MHD_Connection *c) {
  char name[256];
  model_name(s, name, sizeof name);
  json_t *data = json_array();
  if (s->model)
    json_array_append_new(data, json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:i}", "id", name, "object", "model",
                                          "created", 0, "owned_by", "aularag", "fingerprint",
                                          ar_model_fingerprint(s->model), "dimensions", ar_model_dim(s->model),
                                          "max_tokens", ar_model_max_tokens(s->model)));
  json_t *o = json_pack("{s:s, s:o}", "object", "list", "data", data);
  char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return ar_srv_send(c, MHD_HTTP_OK, "application/json", body);
}

/* Little-endian float32 bytes of v, base64 (standard alphabet, padded), appended to b. */
static void put_base64(ar_buf *b, const float *v, int dim) {
  static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t nb = (size_t)dim * 4, o = 0;
  if (ar_buf_reserve(b, (nb + 2) / 3 * 4)) return;
  unsigned char tri[3];
  for (size_t i = 0; i < nb; i += 3) {
    size_t k = AR_MIN((size_t)3, nb - i);
    for (size_t j = 0; j < 3; j++) {
      size_t at = i + j;
      uint32_t u = 0;
      if (j < k) memcpy(&u, &v[at / 4], 4);
      tri[j] = j < k ? (unsigned char)(u >> (8 * (at % 4))) : 0;   /* byte at%4 of the LE encoding */
    }
    char *p = b->p + b->n + o;
    p[0] = al[tri[0] >> 2];
    p[1] = al[(tri[0] & 3) << 4 | tri[1] >> 4];
    p[2] = k > 1 ? al[(tri[1] & 15) << 2 | tri[2] >> 6] : '=';
    p[3] = k > 2 ? al[tri[2] & 63] : '=';
    o += 4;
  }
  b->n += o;
}

/* The reply, written by hand: %.9g gives every float32 back exactly, in a third of jansson's digits. */
static char *reply_json(const float *v, int n, int dim, int base64, const char *name, long tokens) {
  ar_buf b = {0};
  json_t *jn = json_string(name);
  char *qname = jn ? json_dumps(jn, JSON_ENCODE_ANY) : NULL;
  json_decref(jn);
  if (!qname) return NULL;
  ar_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
  for (int i = 0; i < n && !b.oom; i++) {
    ar_buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
    const float *x = v + (size_t)i * dim;
    if (base64) {
      ar_buf_puts(&b, "\"");
      put_base64(&b, x, dim);
      ar_buf_puts(&b, "\"}");
    } else {
      ar_buf_puts(&b, "[");
      for (int j = 0; j < dim; j++) ar_buf_printf(&b, j ? ",%.9g" : "%.9g", (double)x[j]);
      ar_buf_puts(&b, "]}");
    }
  }
  ar_buf_printf(&b, "],\"model\":%s,\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", qname, tokens, tokens);
  free(qname);
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

enum MHD_Result ar_srv_api_embeddings(ar_srv *s, struct MHD_Connection *c, const char *body, size_t len, int too_big) {
  if (too_big)
    return oai_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request_too_large", NULL,
                     "request body is larger than %zu bytes: send fewer inputs per request",
                     AR_MAX(s->p.max_body, AR_SRV_EMBED_MAX_BODY));
  char name[256];
  model_name(s, name, sizeof name);
  if (!s->model)
    return oai_error(c, MHD_HTTP_NOT_FOUND, "model_not_found", "model",
                     "this server has no model to embed with: start it with `aularag serve --model DIR`");
  json_error_t je;
  json_t *in = json_loadb(body, len, 0, &je);
  if (!json_is_object(in)) {
    enum MHD_Result r = in ? oai_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", NULL,
                                       "request body must be a JSON object like {\"input\": [\"...\"], \"model\": \"%s\"}", name)
                           : oai_error(c, MHD_HTTP_BAD_REQUEST, "invalid_json", NULL,
                                       "request body is not valid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    json_decref(in);
    return r;
  }
  enum MHD_Result ret;
  const char **texts = NULL;
  float *vec = NULL;
  json_t *jm = json_object_get(in, "model"), *jin = json_object_get(in, "input"),
         *jf = json_object_get(in, "encoding_format"), *jd = json_object_get(in, "dimensions"),
         *jt = json_object_get(in, "truncate");
  int dim = ar_model_dim(s->model), max_tokens = ar_model_max_tokens(s->model), base64 = 0;
#define FAIL(status, code, param, ...) do { ret = oai_error(c, status, code, param, __VA_ARGS__); goto out; } while (0)
  if (jm && !json_is_null(jm)) {
    if (!json_is_string(jm)) FAIL(MHD_HTTP_BAD_REQUEST, "invalid_type", "model", "model must be a string");
    if (!model_matches(s, json_string_value(jm), name))
      FAIL(MHD_HTTP_NOT_FOUND, "model_not_found", "model",
           "the model '%.100s' is not served here; this server embeds with '%s' (or leave model out)",
           json_string_value(jm), name);
  }
  if (jf && !json_is_null(jf)) {
    const char *f = json_is_string(jf) ? json_string_value(jf) : "";
    if (!strcmp(f, "base64")) base64 = 1;
    else if (strcmp(f, "float"))
      FAIL(MHD_HTTP_BAD_REQUEST, "invalid_value", "encoding_format", "encoding_format must be \"float\" or \"base64\"");
  }
  if (jd && !json_is_null(jd) && (!json_is_integer(jd) || json_integer_value(jd) != dim))
    FAIL(MHD_HTTP_BAD_REQUEST, "invalid_value", "dimensions",
         "dimensions: this model's vectors have %d dimensions and cannot be shortened", dim);
  if (jt && !json_is_boolean(jt) && !json_is_null(jt))
    FAIL(MHD_HTTP_BAD_REQUEST, "invalid_type", "truncate", "truncate must be true or false");
  int truncate = !jt || !json_is_false(jt);
  /* input: one string or an array of strings (token arrays would need the caller to know our vocabulary) */
  size_t n = json_is_string(jin) ? 1 : json_is_array(jin) ? json_array_size(jin) : 0;
  if (!jin) FAIL(MHD_HTTP_BAD_REQUEST, "missing_required_parameter", "input", "input is missing: give a string or an array of strings");
  if (!json_is_string(jin) && !json_is_array(jin))
    FAIL(MHD_HTTP_BAD_REQUEST, "invalid_type", "input", "input must be a string or an array of strings");
  if (!n) FAIL(MHD_HTTP_BAD_REQUEST, "invalid_value", "input", "input is an empty array: give at least one string");
  if (n > AR_SRV_EMBED_MAX_INPUTS)
    FAIL(MHD_HTTP_BAD_REQUEST, "too_many_inputs", "input", "input has %zu strings; the limit is %d per request",
         n, AR_SRV_EMBED_MAX_INPUTS);
  texts = ar_malloc(n * sizeof *texts);
  if (!texts) FAIL(MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL, "out of memory");
  long tokens = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_is_string(jin) ? jin : json_array_get(jin, i);
    if (json_is_integer(e) || json_is_array(e))
      FAIL(MHD_HTTP_BAD_REQUEST, "unsupported_input", "input",
           "input[%zu]: token arrays are not supported (this server tokenizes itself): send the text", i);
    if (!json_is_string(e)) FAIL(MHD_HTTP_BAD_REQUEST, "invalid_type", "input", "input[%zu] must be a string", i);
    if (strlen(json_string_value(e)) != json_string_length(e))
      FAIL(MHD_HTTP_BAD_REQUEST, "invalid_value", "input", "input[%zu] contains a NUL character", i);
    texts[i] = json_string_value(e);
    int t = ar_model_count_tokens(s->model, AR_EMBED_RAW, texts[i], json_string_length(e));
    if (t < 0) FAIL(MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL, "out of memory");
    /* Decision: like the local encoder (and sentence-transformers), a long input keeps its first
     * max_tokens tokens, so `ingest --embed-url` here equals `ingest --model`; "truncate": false refuses it. */
    if (t > max_tokens && !truncate)
      FAIL(MHD_HTTP_BAD_REQUEST, "context_length_exceeded", "input",
           "input[%zu] has %d tokens; this model takes at most %d (specials included)", i, t, max_tokens);
    tokens += AR_MIN(t, max_tokens);
  }
  vec = ar_malloc(n * (size_t)dim * sizeof *vec);
  if (!vec) FAIL(MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL, "out of memory");
  ar_error err = {0};
  ar_status st = AR_OK;
  ar_worker *w = ar_srv_worker_get(&s->search);   /* the encoder's share of --threads */
  for (size_t i = 0; i < n && !st; i += EMB_CHUNK)
    st = ar_model_embed_texts(s->model, AR_EMBED_RAW, texts + i, (int)AR_MIN((size_t)EMB_CHUNK, n - i),
                              vec + i * (size_t)dim, &err);
  ar_srv_worker_put(&s->search, w);
  if (st) {
    ar_srv_log(s, "embeddings failed: %s", err.msg);
    FAIL(ar_srv_status_for(st), "embedding_failed", NULL, "%s", err.msg[0] ? err.msg : ar_strerror(st));
  }
  char *json = reply_json(vec, (int)n, dim, base64, name, tokens);
  ret = ar_srv_send(c, MHD_HTTP_OK, "application/json", json);
out:
#undef FAIL
  ar_free(vec);
  ar_free(texts);
  json_decref(in);
  return ret;
}
