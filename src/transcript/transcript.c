/* transcript.c - load a transcript: encoding checks (BOM, UTF-16, Latin-1), format sniffing, dispatch.
 *
 * Encoding policy: UTF-8 (BOM optional) is the norm. UTF-16 with a BOM is transcoded. A file that is
 * not valid UTF-8 is taken as Windows-1252/Latin-1 (what old subtitle tools write) and transcoded, so
 * accents survive instead of the file being lost, unless it is mostly valid UTF-8 (more valid
 * multi-byte sequences than invalid bytes): then only the invalid bytes become U+FFFD. NUL bytes or many control bytes mean binary data:
 * an error naming the line and byte offset.
 *
 * An empty file (or only whitespace, or cues that all lack text) is a valid transcript with zero
 * cues, not an error: the shared 3Blue1Brown data has a 0-byte SRT (2016__hilbert-curve). Callers
 * that need text (ingest) decide what zero cues means for them. */
#include "transcript/tr_internal.h"
#include <strings.h>

const char *ar_format_name(ar_format f) {
  switch (f) {
  case AR_FORMAT_AUTO: return "auto";
  case AR_FORMAT_VTT: return "vtt";
  case AR_FORMAT_SRT: return "srt";
  case AR_FORMAT_WHISPER_JSON: return "whisper-json";
  case AR_FORMAT_YOUTUBE_JSON: return "youtube-json";
  }
  return "unknown";
}

static int line_of(const char *p, size_t off) {
  int line = 1;
  for (size_t i = 0; i < off; i++) line += p[i] == '\n';
  return line;
}

static int put_utf8(ar_buf *b, unsigned c) {
  char u[4];
  return ar_buf_append(b, u, (size_t)ar_utf8_encode(c, u));
}

static ar_status from_utf16(const char *name, const unsigned char *p, size_t n, int be, ar_buf *out, ar_error *err) {
  if (n % 2) return ar_fail(err, AR_ERR_PARSE, "%s: byte %zu: UTF-16 text with an odd number of bytes (truncated?)", name, n);
  if (ar_buf_reserve(out, n + n / 2)) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", name);
  for (size_t i = 2; i < n; i += 2) {   /* i = 2: skip the BOM */
    unsigned c = be ? (unsigned)(p[i] << 8 | p[i + 1]) : (unsigned)(p[i + 1] << 8 | p[i]);
    if (c >= 0xD800 && c <= 0xDBFF && i + 3 < n) {
      unsigned c2 = be ? (unsigned)(p[i + 2] << 8 | p[i + 3]) : (unsigned)(p[i + 3] << 8 | p[i + 2]);
      if (c2 >= 0xDC00 && c2 <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00); i += 2; }
    }
    if (c >= 0xD800 && c <= 0xDFFF)
      return ar_fail(err, AR_ERR_PARSE, "%s: byte %zu: unpaired UTF-16 surrogate; expected UTF-16 text", name, i);
    if (put_utf8(out, c)) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", name);
  }
  return AR_OK;
}

/* Windows-1252 for 0x80..0x9F (curly quotes, dashes, ellipsis), Latin-1 elsewhere. */
static const unsigned short cp1252[32] = {
  0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
  0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

static ar_status from_latin1(const char *name, const unsigned char *p, size_t n, ar_buf *out, ar_error *err) {
  if (ar_buf_reserve(out, n + n / 4)) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", name);
  for (size_t i = 0; i < n; i++) {
    unsigned c = p[i];
    if (c >= 0x80 && c < 0xA0) c = cp1252[c - 0x80];
    if (put_utf8(out, c)) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", name);
  }
  return AR_OK;
}

/* Counts valid multi-byte UTF-8 sequences and invalid bytes. */
static void utf8_census(const char *p, size_t n, size_t *multi, size_t *bad) {
  size_t i = 0;
  *multi = *bad = 0;
  while (i < n) {
    if ((unsigned char)p[i] < 0x80) { i++; continue; }
    int l = ar_utf8_len((const unsigned char *)p + i, n - i);
    if (!l) { (*bad)++; i++; continue; }
    (*multi)++;
    i += (size_t)l;
  }
}

/* UTF-8 with a few broken bytes (a corrupted or cut file): each invalid byte becomes U+FFFD, so
 * the rest keeps its accents instead of the whole file being re-read as Latin-1. */
static ar_status repair_utf8(const char *name, const char *p, size_t n, ar_buf *out, ar_error *err) {
  if (ar_buf_append_utf8(out, p, n)) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", name);
  return AR_OK;
}

static ar_format sniff(const char *name, const char *p, size_t n) {
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
  if (n - i >= 6 && memcmp(p + i, "WEBVTT", 6) == 0) return AR_FORMAT_VTT;
  const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
  if (dot && slash && dot < slash) dot = NULL;
  if (dot && strcasecmp(dot, ".vtt") == 0) return AR_FORMAT_VTT;
  if (dot && strcasecmp(dot, ".srt") == 0) return AR_FORMAT_SRT;
  if (i < n && p[i] == '{') return AR_FORMAT_WHISPER_JSON;
  if (i < n && p[i] == '[') return AR_FORMAT_YOUTUBE_JSON;
  if (dot && strcasecmp(dot, ".json") == 0) return AR_FORMAT_WHISPER_JSON;   /* its parser explains */
  return AR_FORMAT_SRT;
}

static ar_status parse_json(tr_draft *d, ar_format fmt, const char *p, size_t n, ar_error *err) {
  json_error_t je;
  json_t *root = json_loadb(p, n, 0, &je);
  if (!root)
    return ar_fail(err, AR_ERR_PARSE, "%s:%d:%d: invalid JSON: %s", d->name, je.line, je.column, je.text);
  ar_status st = fmt == AR_FORMAT_WHISPER_JSON ? tr_parse_whisper_json(d, root, err) : tr_parse_youtube_json(d, root, err);
  json_decref(root);
  return st;
}

ar_status ar_transcript_parse(const char *name, const char *data, size_t len, ar_format fmt, ar_cues *out,
                              ar_error *err) {
  if (!name) name = "<transcript>";
  if (!out || (!data && len) || (int)fmt < AR_FORMAT_AUTO || fmt > AR_FORMAT_YOUTUBE_JSON)
    return ar_fail(err, AR_ERR_INVALID, "%s: invalid arguments to ar_transcript_parse", name);
  *out = (ar_cues){0};
  if (len == 0) return AR_OK;   /* an empty transcript: zero cues (see the file comment) */
  const unsigned char *u = (const unsigned char *)data;
  ar_buf conv = {0};
  const char *p = data;
  size_t n = len, skip = 0;
  ar_status st;
  if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
    if ((st = from_utf16(name, u, len, u[0] == 0xFE, &conv, err))) { ar_buf_free(&conv); return st; }
    p = conv.p ? conv.p : "";
    n = conv.n;
  } else {
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) skip = 3;
    p = data + skip;
    n = len - skip;
    const char *nul = memchr(p, 0, n);
    if (nul)
      return ar_fail(err, AR_ERR_PARSE, "%s:%d: binary data (NUL byte at byte offset %zu); expected a text transcript",
                     name, line_of(p, (size_t)(nul - p)), (size_t)(nul - p) + skip);
    size_t ctl = 0, first = (size_t)-1, scan = AR_MIN(n, (size_t)65536);
    for (size_t i = 0; i < scan; i++) {
      unsigned char c = (unsigned char)p[i];
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7F) {
        if (first == (size_t)-1) first = i;
        ctl++;
      }
    }
    if (ctl >= 4 && ctl * 100 > scan)
      return ar_fail(err, AR_ERR_PARSE, "%s:%d: binary data (control byte 0x%02x at byte offset %zu); expected a text transcript",
                     name, line_of(p, first), (unsigned char)p[first], first + skip);
    size_t multi, bad;
    utf8_census(p, n, &multi, &bad);
    if (bad) {
      /* Latin-1 text has (almost) no valid multi-byte sequences; UTF-8 with a stray byte has many. */
      st = multi > bad ? repair_utf8(name, p, n, &conv, err) : from_latin1(name, (const unsigned char *)p, n, &conv, err);
      if (st) { ar_buf_free(&conv); return st; }
      p = conv.p;
      n = conv.n;
    }
  }
  if (memchr(p, 0, n)) {   /* a UTF-16 file that encoded NUL */
    ar_buf_free(&conv);
    return ar_fail(err, AR_ERR_PARSE, "%s: binary data (NUL character); expected a text transcript", name);
  }
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n' || p[i] == '\f' || p[i] == '\v')) i++;
  if (i == n) {
    ar_buf_free(&conv);
    return AR_OK;
  }
  if (fmt == AR_FORMAT_AUTO) fmt = sniff(name, p, n);
  tr_draft d = {.name = name};
  switch (fmt) {
  case AR_FORMAT_VTT: st = tr_parse_vtt(&d, p, n, err); break;
  case AR_FORMAT_SRT: st = tr_parse_srt(&d, p, n, err); break;
  default: st = parse_json(&d, fmt, p, n, err); break;
  }
  if (st == AR_OK) st = tr_draft_finish(&d, out, err);
  tr_draft_free(&d);
  ar_buf_free(&conv);
  return st;
}

ar_status ar_transcript_load(const char *path, ar_cues *out, ar_error *err) {
  if (!path || !out) return ar_fail(err, AR_ERR_INVALID, "ar_transcript_load: NULL argument");
  *out = (ar_cues){0};
  char *data;
  size_t len;
  ar_status st = ar_read_file(path, &data, &len, err);
  if (st) return st;
  st = ar_transcript_parse(path, data, len, AR_FORMAT_AUTO, out, err);
  ar_free(data);
  return st;
}

void ar_cues_free(ar_cues *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) ar_free(c->v[i].text);
  ar_free(c->v);
  *c = (ar_cues){0};
}
