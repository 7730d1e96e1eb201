/* json_vocab.c - a fast path for tokenizer.json's model.vocab: 250k [piece, score] pairs through jansson
 * cost ~0.6 s and ~70 MB, so this scanner finds the array, decodes it straight into one string blob, and
 * the rest of the (now small) document goes to jansson with the array replaced by []. */
#include "tokenizer/tok_internal.h"
#include <float.h>
#include <math.h>

static const char *ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

static const char *skip_string(const char *p, const char *e) {
  for (p++; p < e; p++) {
    if (*p == '\\') p++;
    else if (*p == '"') return p + 1;
  }
  return NULL;
}

static const char *skip_value(const char *p, const char *e) {
  if (p >= e) return NULL;
  if (*p == '"') return skip_string(p, e);
  if (*p == '{' || *p == '[') {
    int d = 0;
    while (p < e) {
      if (*p == '"') { if (!(p = skip_string(p, e))) return NULL; continue; }
      if (*p == '{' || *p == '[') d++;
      else if (*p == '}' || *p == ']') { if (--d == 0) return p + 1; }
      p++;
    }
    return NULL;
  }
  while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
  return p;
}

/* In the object at p, where the value of `key` starts (first occurrence; values before it are skipped). */
static const char *find_key(const char *p, const char *e, const char *key) {
  size_t kl = strlen(key);
  if (p >= e || *p != '{') return NULL;
  p = ws(p + 1, e);
  while (p < e && *p == '"') {
    const char *ks = p + 1, *ke = skip_string(p, e);
    if (!ke) return NULL;
    int match = (size_t)(ke - 1 - ks) == kl && !memcmp(ks, key, kl);
    p = ws(ke, e);
    if (p >= e || *p != ':') return NULL;
    p = ws(p + 1, e);
    if (match) return p;
    const char *ve = skip_value(p, e);
    if (!ve) return NULL;
    p = ws(ve, e);
    if (p < e && *p == ',') p = ws(p + 1, e);
    else break;
  }
  return NULL;
}

/* Where model.vocab's array starts, or 0 (then jansson reads everything and reports what is wrong). */
int tok_json_find_vocab(const char *s, size_t n, size_t *a) {
  const char *e = s + n, *m = find_key(ws(s, e), e, "model"), *v = m ? find_key(m, e, "vocab") : NULL;
  if (!v || v >= e || *v != '[') return 0;   /* a document that ends right after "vocab": */
  *a = (size_t)(v - s);
  return 1;
}

static int hex4(const char *p, const char *e, uint32_t *v) {
  if (e - p < 4) return -1;
  uint32_t x = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    x <<= 4;
    if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  *v = x;
  return 0;
}

/* Decodes the JSON string at p (at '"') into out; returns the end, or NULL. */
static const char *decode_string(const char *p, const char *e, char *out, uint32_t *len) {
  char *o = out;
  for (p++; p < e;) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') { *len = (uint32_t)(o - out); return p + 1; }
    if (c < 0x20) return NULL;
    if (c != '\\') { *o++ = (char)c; p++; continue; }
    if (++p >= e) return NULL;
    switch (*p++) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      uint32_t cp, lo;
      if (hex4(p, e, &cp)) return NULL;
      p += 4;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return NULL;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, e, &lo) || lo < 0xDC00 || lo > 0xDFFF) return NULL;
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      o += ar_utf8_encode(cp, o);
      break;
    }
    default: return NULL;
    }
  }
  return NULL;
}

/* Exact decimal -> double without strtod for plain decimals (python repr of float32 scores: up to 17
 * significant digits). The mantissa (< 2^64) and 10^k (k <= 27) are exact in x87 long double, so m / 10^k
 * is one correctly rounded 64-bit division; rounding that to double is exact unless the 11 dropped bits
 * sit at the halfway point (then strtod decides). *end = NULL when the fast path does not apply. */
static double fast_number(const char *p, const char *e, char **end) {
  *end = NULL;
#if LDBL_MANT_DIG == 64
  static const long double p10[] = {1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L, 1e11L, 1e12L,
                                    1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L,
                                    1e24L, 1e25L, 1e26L, 1e27L};
  const char *q = p;
  int neg = 0, digits = 0, frac = 0;
  uint64_t m = 0;
  if (q < e && *q == '-') { neg = 1; q++; }
  const char *d0 = q;
  while (q < e && *q >= '0' && *q <= '9') { m = m * 10 + (uint64_t)(*q - '0'); if (m) digits++; q++; if (digits > 19) return 0; }
  if (q == d0) return 0;
  if (q < e && *q == '.') {
    q++;
    while (q < e && *q >= '0' && *q <= '9') {
      m = m * 10 + (uint64_t)(*q - '0'); if (m) digits++; frac++; q++;
      if (digits > 19 || frac > 27) return 0;
    }
  }
  if (q < e && (*q == 'e' || *q == 'E')) return 0;
  long double v = (long double)m / p10[frac];
  if (v != 0.0L) {
    if (v < 0x1p-1000L) return 0;  /* near the subnormal range: let strtod do it */
    union { long double ld; struct { uint64_t mant; uint16_t se; } b; } u;
    u.ld = v;
    uint32_t low = (uint32_t)(u.b.mant & 0x7FF);
    if (low >= 0x3FF && low <= 0x401) return 0;
  }
  *end = (char *)q;
  double d = (double)v;
  return neg ? -d : d;
#else
  (void)p; (void)e;
  return 0;
#endif
}

double tok_json_number(const char *p, const char *e, char **end) {
  double v = fast_number(p, e, end);
  if (!*end) v = strtod(p, end);  /* callers' buffers are NUL-terminated, so strtod stops inside them */
  return v;
}

/* Parses [[piece, score], ...] starting at s[a] (the file is NUL-terminated at s[len]); *b is set past
 * the closing ']'. On success *blob owns the piece bytes that keys point into. */
ar_status tok_json_parse_vocab(const char *s, size_t len, size_t a, size_t *b, const char *path, char **blob,
                               tok_key **keys, double **scores, size_t *count, ar_error *err) {
  const char *p = s + a, *e = s + len;
  size_t cap = 1024, n = 0;
  *blob = ar_malloc(len - a + 1);
  *keys = ar_malloc(cap * sizeof **keys);
  *scores = ar_malloc(cap * sizeof **scores);
  if (!*blob || !*keys || !*scores) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory for model.vocab", path);
  char *o = *blob;
  p = ws(p + 1, e);
#define BAD(what) return ar_fail(err, AR_ERR_MODEL, "%s: model.vocab[%zu] at byte %zu: %s", path, n, \
                                 (size_t)(p - s), what)
  while (p < e && *p != ']') {
    if (*p != '[') BAD("expected [piece, score]");
    p = ws(p + 1, e);
    if (p >= e || *p != '"') BAD("expected the piece string");
    uint32_t plen;
    const char *q = decode_string(p, e, o, &plen);
    if (!q) BAD("malformed string");
    if (plen == 0 || plen > 4096) BAD("piece length must be 1..4096 bytes");
    p = ws(q, e);
    if (p >= e || *p != ',') BAD("expected ',' after the piece");
    p = ws(p + 1, e);
    if (p >= e || !(*p == '-' || (*p >= '0' && *p <= '9'))) BAD("expected the score");
    char *end;
    double sc = tok_json_number(p, e, &end);
    if (end == p || end > e || !isfinite(sc)) BAD("bad score");
    p = ws(end, e);
    if (p >= e || *p != ']') BAD("expected ']' after the score");
    p = ws(p + 1, e);
    if (n == cap) {
      if (cap > (size_t)INT32_MAX / 4) BAD("too many entries");
      tok_key *k2 = ar_realloc(*keys, 2 * cap * sizeof *k2);
      if (k2) *keys = k2;
      double *s2 = ar_realloc(*scores, 2 * cap * sizeof *s2);
      if (s2) *scores = s2;
      if (!k2 || !s2) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory for model.vocab", path);
      cap *= 2;
    }
    (*keys)[n] = (tok_key){o, plen, (int32_t)n};
    (*scores)[n] = sc;
    o += plen;
    n++;
    if (p < e && *p == ',') p = ws(p + 1, e);
    else if (p < e && *p != ']') BAD("expected ',' or ']'");
  }
  if (p >= e) BAD("unterminated array");
#undef BAD
  *b = (size_t)(p + 1 - s);
  if (n == 0) return ar_fail(err, AR_ERR_MODEL, "%s: model.vocab: expected a non-empty array", path);
  *count = n;
  return AR_OK;
}
