/* reply.c - an /v1/embeddings reply -> checked, ordered, normalised vectors. */
#include "embed/embed.h"
#include <jansson.h>
#include <math.h>

long ar_base64_decode(const char *s, size_t n, unsigned char *out) {
  while (n && s[n - 1] == '=') n--;
  if (n % 4 == 1) return -1;
  uint32_t acc = 0;
  int bits = 0;
  long k = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i], v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;   /* '-' '_': the URL-safe alphabet, which some servers use */
    else if (c == '/' || c == '_') v = 63;
    else return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[k++] = (unsigned char)(acc >> bits);
    }
  }
  return k;
}

/* One item's "embedding" -> v (dim floats). *dim 0: taken from this item. */
static ar_status read_vector(json_t *e, int idx, int *dim, float **v, const char *where, ar_error *err) {
  int d;
  if (json_is_array(e)) d = (int)json_array_size(e);
  else if (json_is_string(e)) d = (int)(json_string_length(e) * 3 / 16 + 1);   /* room; exact below */
  else return ar_fail(err, AR_ERR_PARSE, "%s: data[%d].embedding is neither a number array nor a base64 string",
                      where, idx);
  float *x = ar_malloc((size_t)(d ? d : 1) * sizeof *x + 4);
  if (!x) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  if (json_is_array(e)) {
    for (int i = 0; i < d; i++) {
      json_t *f = json_array_get(e, (size_t)i);
      if (!json_is_number(f)) {
        ar_free(x);
        return ar_fail(err, AR_ERR_PARSE, "%s: data[%d].embedding[%d] is not a number", where, idx, i);
      }
      x[i] = (float)json_number_value(f);
    }
  } else {
    const char *s = json_string_value(e);
    size_t n = json_string_length(e);
    unsigned char *b = ar_malloc(n / 4 * 3 + 3);
    long k = b ? ar_base64_decode(s, n, b) : -2;
    if (k < 0 || k % 4) {
      ar_free(b);
      ar_free(x);
      if (k == -2) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
      return ar_fail(err, AR_ERR_PARSE, "%s: data[%d].embedding is not base64 of float32 values (%s)", where, idx,
                     k < 0 ? "bad base64" : "length not a multiple of 4 bytes");
    }
    d = (int)(k / 4);
    for (int i = 0; i < d; i++) {   /* little-endian float32 whatever the host */
      uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                   (uint32_t)b[4 * i + 3] << 24;
      memcpy(&x[i], &u, 4);
    }
    ar_free(b);
  }
  if (*dim && d != *dim) {
    ar_free(x);
    return ar_fail(err, AR_ERR_MISMATCH, "%s: data[%d] has %d values, expected %d (the dimension of the first "
                   "reply, or the one given)", where, idx, d, *dim);
  }
  if (!d) { ar_free(x); return ar_fail(err, AR_ERR_PARSE, "%s: data[%d].embedding is empty", where, idx); }
  double s2 = 0;
  for (int i = 0; i < d; i++) {
    if (!isfinite(x[i])) {
      ar_free(x);
      return ar_fail(err, AR_ERR_MODEL, "%s: data[%d].embedding[%d] is not finite (NaN or Inf)", where, idx, i);
    }
    s2 += (double)x[i] * x[i];
  }
  if (s2 == 0 || !isfinite(s2)) {
    ar_free(x);
    return ar_fail(err, AR_ERR_MODEL, "%s: data[%d].embedding is %s", where, idx, s2 == 0 ? "all zeros" : "too large");
  }
  /* A vector already of unit length (an encoder's output) is kept as sent: scaling it again could only
   * change its last bits, and a server running our encoder must give exactly `ingest --model`'s vectors. */
  if (fabs(s2 - 1.0) > 1e-6) {
    float inv = (float)(1 / sqrt(s2));
    for (int i = 0; i < d; i++) x[i] *= inv;
  }
  *dim = d;
  *v = x;
  return AR_OK;
}

static void snippet(const char *body, size_t len, char out[120]) {
  size_t k = ar_utf8_clip(body, AR_MIN(len, (size_t)100));
  snprintf(out, 120, "%.*s%s", (int)k, body, k < len ? "..." : "");
  for (char *q = out; *q; q++) if (*q == '\n' || *q == '\r') *q = ' ';
}

ar_status ar_embed_parse_reply(const char *body, size_t len, int n, int *dim, float **out, const char *where,
                               ar_error *err) {
  *out = NULL;
  char snip[120];
  json_error_t je;
  json_t *o = json_loadb(body, len, 0, &je);
  if (!o) {
    snippet(body, len, snip);
    return ar_fail(err, AR_ERR_PARSE, "%s: reply is not valid JSON (byte %d: %s): %s", where, je.position, je.text,
                   snip);
  }
  json_t *data = json_object_get(o, "data");
  if (!json_is_array(data)) {
    snippet(body, len, snip);
    json_decref(o);
    return ar_fail(err, AR_ERR_PARSE, "%s: reply has no \"data\" array: %s", where, snip);
  }
  size_t m = json_array_size(data);
  if (m != (size_t)n) {
    json_decref(o);
    return ar_fail(err, AR_ERR_PARSE, "%s: reply has %zu vectors for %d inputs", where, m, n);
  }
  float *v = NULL;
  unsigned char *seen = ar_calloc((size_t)n, 1);
  ar_status st = seen ? AR_OK : ar_fail(err, AR_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n && !st; i++) {
    json_t *item = json_array_get(data, (size_t)i), *ji = json_object_get(item, "index");
    /* no "index" at all: the position is the index (a few servers leave it out) */
    json_int_t idx = ji ? (json_is_integer(ji) ? json_integer_value(ji) : -1) : i;
    if (idx < 0 || idx >= n || seen[idx]) {
      st = ar_fail(err, AR_ERR_PARSE, "%s: data[%d].index is %s for %d inputs", where, i,
                   idx >= 0 && idx < n ? "repeated" : "missing or out of range", n);
      break;
    }
    seen[idx] = 1;
    float *x = NULL;
    int d = *dim;
    if ((st = read_vector(json_object_get(item, "embedding"), i, &d, &x, where, err))) break;
    if (!v) {   /* the first vector fixes the dimension of the rest */
      *dim = d;
      if (!(v = ar_malloc((size_t)n * d * sizeof *v))) { ar_free(x); st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
    }
    memcpy(v + (size_t)idx * d, x, (size_t)d * sizeof *x);
    ar_free(x);
  }
  ar_free(seen);
  json_decref(o);
  if (st) { ar_free(v); return st; }
  *out = v;
  return AR_OK;
}
