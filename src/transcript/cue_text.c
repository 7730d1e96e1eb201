/* cue_text.c - cue text cleanup: markup tags, HTML entities, whitespace normalisation. */
#include "transcript/tr_internal.h"
#include <strings.h>

/* Appends code point c as UTF-8. */
static int put_cp(ar_buf *b, unsigned c) {
  char u[4];
  return ar_buf_append(b, u, (size_t)ar_utf8_encode(c, u));
}

static unsigned decode_cp(const unsigned char *s, int len) {
  if (len == 1) return s[0];
  unsigned c = s[0] & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (int i = 1; i < len; i++) c = (c << 6) | (s[i] & 0x3F);
  return c;
}

/* Spaces of every kind become one ASCII space; C0/C1 controls count as space too. */
static int is_space_cp(unsigned c) {
  return c <= 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}
/* Invisible format characters (zero-width space, direction marks, stray BOM, soft hyphen): dropped. */
static int is_dropped_cp(unsigned c) {
  return c == 0x200B || c == 0x200E || c == 0x200F || c == 0xFEFF || c == 0xAD || c == 0x2060;
}

/* The tags subtitle files use (WebVTT cue spans, SRT's HTML subset). Anything else stays text. */
static const char *const tag_names[] = {"c", "i", "b", "u", "v", "s", "lang", "ruby", "rt", "font", "span", "br"};

/* Length of a markup tag at s ('<'), 0 if it is not one. *ts set when it is a <00:00:01.000> tag. */
static size_t tag_len(const char *s, size_t n, int *ts, int *br) {
  size_t i = 1;
  double t;
  size_t tl = tr_parse_time(s + 1, n - 1, &t);
  if (tl && 1 + tl < n && s[1 + tl] == '>') { *ts = 1; return tl + 2; }
  if (i < n && s[i] == '/') i++;
  size_t name0 = i;
  while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) i++;
  size_t nl = i - name0;
  if (nl == 0 || i >= n) return 0;
  int known = 0;
  for (size_t k = 0; k < AR_ARRAY_LEN(tag_names); k++)
    if (strlen(tag_names[k]) == nl && strncasecmp(tag_names[k], s + name0, nl) == 0) { known = 1; break; }
  if (!known) return 0;
  if (s[i] != '>' && s[i] != '.' && s[i] != ' ' && s[i] != '\t' && s[i] != '/') return 0;
  /* Only <v Speaker>, <lang pt>, <font color=..>, <span ..> take words; <b>, <i.class> etc. do not,
   * so the text "a<b e c>d" is left alone. */
  int words = (nl == 1 && (s[name0] | 0x20) == 'v') || nl == 4;
  for (; i < n; i++) {
    if (s[i] == '<') return 0;
    if (!words && (s[i] == ' ' || s[i] == '\t')) return 0;
    if (s[i] == '>') {
      *br = (nl == 2 && strncasecmp(s + name0, "br", 2) == 0);
      return i + 1;
    }
  }
  return 0;
}

static const struct { const char *name; unsigned cp; } entities[] = {
  {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0},
  {"lrm", 0x200E}, {"rlm", 0x200F}, {"shy", 0xAD}, {"ndash", 0x2013}, {"mdash", 0x2014},
  {"hellip", 0x2026}, {"laquo", 0xAB}, {"raquo", 0xBB}, {"lsquo", 0x2018}, {"rsquo", 0x2019},
  {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"copy", 0xA9}, {"reg", 0xAE}, {"deg", 0xB0}, {"euro", 0x20AC},
};

/* Length of an entity at s ('&') and its code point, 0 if it is not a complete, valid one. */
static size_t entity_len(const char *s, size_t n, unsigned *cp) {
  size_t i = 1;
  if (i < n && s[i] == '#') {
    i++;
    int hex = 0;
    if (i < n && (s[i] == 'x' || s[i] == 'X')) { hex = 1; i++; }
    unsigned long v = 0;
    size_t d0 = i;
    for (; i < n && i - d0 < 8; i++) {
      char c = s[i];
      int dv = (c >= '0' && c <= '9') ? c - '0' : (hex && c >= 'a' && c <= 'f') ? c - 'a' + 10
             : (hex && c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (dv < 0) break;
      v = v * (hex ? 16 : 10) + (unsigned long)dv;
    }
    if (i == d0 || i >= n || s[i] != ';') return 0;
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = (unsigned)v;
    return i + 1;
  }
  size_t name0 = i;
  while (i < n && i - name0 <= 8 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) i++;
  if (i == name0 || i >= n || s[i] != ';') return 0;
  for (size_t k = 0; k < AR_ARRAY_LEN(entities); k++)
    if (strlen(entities[k].name) == i - name0 && memcmp(entities[k].name, s + name0, i - name0) == 0) {
      *cp = entities[k].cp;
      return i + 1;
    }
  return 0;
}

/* Appends the clean form of one line to out: markup removed, whitespace runs -> one space, trimmed.
 * Returns -1 on OOM, else 1 if a karaoke timestamp tag was seen, else 0. Invalid UTF-8 (never
 * expected: the loader transcodes) becomes U+FFFD so the output is always valid. */
int tr_clean_line(ar_buf *out, const char *s, size_t n, int markup) {
  size_t start = out->n;
  int pending = 0, karaoke = 0;
  size_t i = 0, next_close = 0;   /* where the next '}' is (n: none); looked up once per '}' passed, so a
                                   * line of many "{\" without a '}' is not scanned to its end each time */
  int have_close = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    unsigned cp;
    size_t used;
    if (c > 0x20 && c < 0x7F && c != '<' && c != '&' && c != '{') {   /* fast path: a run of plain ASCII */
      size_t j = i + 1;
      while (j < n && (unsigned char)s[j] > 0x20 && (unsigned char)s[j] < 0x7F && s[j] != '<' && s[j] != '&' &&
             s[j] != '{')
        j++;
      if (pending && out->n > start && ar_buf_append(out, " ", 1)) return -1;
      pending = 0;
      if (ar_buf_append(out, s + i, j - i)) return -1;
      i = j;
      continue;
    }
    if (c == '<' && (markup & TR_TAGS)) {
      int ts = 0, br = 0;
      size_t tl = tag_len(s + i, n - i, &ts, &br);
      if (tl) {
        karaoke |= ts;
        if (br) pending = 1;
        i += tl;
        continue;
      }
    }
    if (c == '{' && (markup & TR_TAGS) && i + 1 < n && s[i + 1] == '\\') {   /* ASS override {\an8} */
      if (!have_close || next_close < i) {
        const char *close = memchr(s + i, '}', n - i);
        next_close = close ? (size_t)(close - s) : n;
        have_close = 1;
      }
      if (next_close < n) { i = next_close + 1; continue; }
    }
    if (c == '&' && (markup & TR_ENTITIES) && (used = entity_len(s + i, n - i, &cp)) > 0) {
      i += used;
    } else {
      int len = ar_utf8_len((const unsigned char *)s + i, n - i);
      if (len == 0) { cp = 0xFFFD; i += 1; }
      else { cp = decode_cp((const unsigned char *)s + i, len); i += (size_t)len; }
    }
    if (is_space_cp(cp)) { pending = 1; continue; }
    if (is_dropped_cp(cp)) continue;
    if (pending && out->n > start && ar_buf_append(out, " ", 1)) return -1;
    pending = 0;
    if (put_cp(out, cp)) return -1;
  }
  return out->oom ? -1 : karaoke;
}
