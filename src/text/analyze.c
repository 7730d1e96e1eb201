/* analyze.c - the lexical analysis shared by indexing and queries: split, fold, stop, stem. */
#include "text/analyze.h"
#include "core/util.h"
#include <libstemmer.h>
#include <utf8proc.h>

#define STOP_SLOTS 1024  /* power of two, > 2x the longest list */
#define MAX_WORD_CP 128  /* longer "words" (hashes, base64, garbage) are skipped, not indexed */

struct ar_analyzer {
  char lang[8];
  int flags;
  int is_pt;
  int light;  /* Portuguese light stemming (stem_pt.c) instead of Snowball */
  struct sb_stemmer *stem;
  char *stop[STOP_SLOTS];  /* open addressing set of accent-folded stop words */
  /* per-word scratch, allocated once */
  utf8proc_int32_t cp[MAX_WORD_CP * 4];  /* NFD case-folded code points of the current word */
  char lc[MAX_WORD_CP * 16 + 8];             /* case-folded, recomposed (what the stemmer wants) */
  char folded[MAX_WORD_CP * 16 + 8];         /* accent-folded */
};

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int stop_has(const ar_analyzer *a, const char *w, size_t n) {
  for (uint32_t i = hash_bytes(w, n) & (STOP_SLOTS - 1);; i = (i + 1) & (STOP_SLOTS - 1)) {
    const char *s = a->stop[i];
    if (!s) return 0;
    if (strlen(s) == n && !memcmp(s, w, n)) return 1;
  }
}

/* Accent folding of UTF-8 text: NFD, drop combining marks (category M*). Writes at most cap-1
 * bytes + NUL; returns the length. Used for stop words and stems. */
static size_t fold_accents(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  utf8proc_ssize_t i = 0;
  while ((size_t)i < n) {
    utf8proc_int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)n - i, &c);
    if (l <= 0) { i++; continue; }
    i += l;
    utf8proc_int32_t d[8];
    int last = 0;
    utf8proc_ssize_t nd = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE, &last);
    for (utf8proc_ssize_t k = 0; k < nd && k < 8; k++) {
      utf8proc_category_t cat = utf8proc_category(d[k]);
      if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) continue;
      if (o + 4 >= cap) break;
      o += (size_t)utf8proc_encode_char(d[k], (utf8proc_uint8_t *)out + o);
    }
  }
  out[o] = 0;
  return o;
}

ar_status ar_analyzer_new(const char *lang, int flags, ar_analyzer **out, ar_error *err) {
  *out = NULL;
  const char *algo = !lang ? NULL : !strcmp(lang, "pt") ? "portuguese" : !strcmp(lang, "en") ? "english" : NULL;
  if (!algo) return ar_fail(err, AR_ERR_INVALID, "unsupported language '%s' (expected pt or en)", lang ? lang : "");
  ar_analyzer *a = ar_calloc(1, sizeof *a);
  if (!a) return ar_fail(err, AR_ERR_NOMEM, "out of memory creating the analyzer");
  snprintf(a->lang, sizeof a->lang, "%s", lang);
  a->is_pt = !strcmp(lang, "pt");
  a->flags = flags;
  a->light = a->is_pt && !(flags & (AR_AN_NOSTEM | AR_AN_SNOWBALL));
  if (!(flags & AR_AN_NOSTEM) && !a->light) {
    a->stem = sb_stemmer_new(algo, "UTF_8");
    if (!a->stem) { ar_free(a); return ar_fail(err, AR_ERR_NOMEM, "cannot create the %s stemmer", algo); }
  }
  if (!(flags & AR_AN_NOSTOP)) {
    for (const char *const *w = ar_stopwords(lang); *w; w++) {
      char f[64];
      size_t n = (flags & AR_AN_KEEPACCENT) ? (size_t)snprintf(f, sizeof f, "%s", *w)
                                            : fold_accents(*w, strlen(*w), f, sizeof f);
      if (stop_has(a, f, n)) continue;
      uint32_t i = hash_bytes(f, n) & (STOP_SLOTS - 1);
      while (a->stop[i]) i = (i + 1) & (STOP_SLOTS - 1);
      if (!(a->stop[i] = ar_strndup(f, n))) { ar_analyzer_free(a); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
    }
  }
  *out = a;
  return AR_OK;
}

void ar_analyzer_free(ar_analyzer *a) {
  if (!a) return;
  if (a->stem) sb_stemmer_delete(a->stem);
  for (int i = 0; i < STOP_SLOTS; i++) ar_free(a->stop[i]);
  ar_free(a);
}

const char *ar_analyzer_lang(const ar_analyzer *a) { return a->lang; }

static int is_word_cp(utf8proc_int32_t c) {
  if (c < 128) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  switch (utf8proc_category(c)) {
  case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
  case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
  case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    return 1;
  default:
    return 0;
  }
}

/* Folded Portuguese endings and their accented spelling, most specific first. */
static const struct { const char *from, *to; } pt_endings[] = {
  {"coes", "ções"}, {"cao", "ção"}, {"oes", "ões"}, {"aes", "ães"}, {"ao", "ão"},
  {"ancias", "âncias"}, {"ancia", "ância"}, {"encias", "ências"}, {"encia", "ência"},
  {"aveis", "áveis"}, {"iveis", "íveis"}, {"avel", "ável"}, {"ivel", "ível"},
};

/* Writes w[0..n) with its ending re-accented (if it has one of pt_endings and at least 3 more
 * letters) into out; returns the length. */
static size_t pt_reaccent(const char *w, size_t n, char *out, size_t cap) {
  size_t keep = n;
  const char *to = "";
  for (size_t i = 0; i < AR_ARRAY_LEN(pt_endings); i++) {
    size_t fl = strlen(pt_endings[i].from);
    if (n >= fl + 3 && !memcmp(w + n - fl, pt_endings[i].from, fl)) { keep = n - fl; to = pt_endings[i].to; break; }
  }
  size_t tl = strlen(to);
  if (keep + tl + 1 > cap) { keep = AR_MIN(n, cap - 1); tl = 0; }
  memcpy(out, w, keep);
  memcpy(out + keep, to, tl);
  out[keep + tl] = 0;
  return keep + tl;
}

/* One word s[0..n) (only word code points, valid UTF-8) -> at most one term. */
static int emit_word(ar_analyzer *a, const char *s, size_t n, int ascii, int start, ar_term_fn fn, void *ud) {
  size_t lc_n, f_n;
  if (ascii) {
    if (n >= sizeof a->lc) return 0;
    for (size_t i = 0; i < n; i++) a->lc[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    a->lc[n] = 0;
    lc_n = n;
    memcpy(a->folded, a->lc, n + 1);
    f_n = n;
  } else {
    /* case fold + NFD into code points, then recompose for the stemmer (Snowball's Portuguese
     * rules are written for composed "ção"), and fold accents separately for the stop check. */
    utf8proc_ssize_t ncp = 0, i = 0;
    while ((size_t)i < n) {
      utf8proc_int32_t c;
      utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)n - i, &c);
      if (l <= 0) return 0;
      i += l;
      int last = 0;
      utf8proc_ssize_t nd = utf8proc_decompose_char(c, a->cp + ncp, (utf8proc_ssize_t)AR_ARRAY_LEN(a->cp) - ncp,
                                                   UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD, &last);
      if (nd < 0 || ncp + nd > (utf8proc_ssize_t)AR_ARRAY_LEN(a->cp)) return 0;
      ncp += nd;
    }
    f_n = 0;
    for (utf8proc_ssize_t k = 0; k < ncp; k++) {
      utf8proc_category_t cat = utf8proc_category(a->cp[k]);
      if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) continue;
      f_n += (size_t)utf8proc_encode_char(a->cp[k], (utf8proc_uint8_t *)a->folded + f_n);
    }
    a->folded[f_n] = 0;
    utf8proc_ssize_t nc = utf8proc_normalize_utf32(a->cp, ncp, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    if (nc < 0) return 0;
    lc_n = 0;
    for (utf8proc_ssize_t k = 0; k < nc; k++) lc_n += (size_t)utf8proc_encode_char(a->cp[k], (utf8proc_uint8_t *)a->lc + lc_n);
    a->lc[lc_n] = 0;
    if (f_n == 0) return 0;  /* marks only */
  }
  if (!(a->flags & AR_AN_NOSTOP) &&
      stop_has(a, (a->flags & AR_AN_KEEPACCENT) ? a->lc : a->folded, (a->flags & AR_AN_KEEPACCENT) ? lc_n : f_n))
    return 0;
  const char *t = (a->flags & AR_AN_KEEPACCENT) ? a->lc : a->folded;
  size_t tn = (a->flags & AR_AN_KEEPACCENT) ? lc_n : f_n;
  if (a->light) tn = ar_stem_pt_light((char *)t, tn);  /* t is a->lc or a->folded: ours to rewrite */
  else if (a->stem) {
    /* The stemmer sees the accent-folded word (students type "funcao" for "função"), with the
     * accents of Portuguese suffixes put back in one canonical way so Snowball's suffix rules
     * still fire: "retropropagação" and "retropropagacao" both stem to "retropropag". */
    if (!(a->flags & AR_AN_KEEPACCENT)) lc_n = a->is_pt ? pt_reaccent(a->folded, f_n, a->lc, sizeof a->lc)
                                                        : (memcpy(a->lc, a->folded, f_n + 1), f_n);
    const sb_symbol *st = sb_stemmer_stem(a->stem, (const sb_symbol *)a->lc, (int)lc_n);
    if (st) {
      int sn = sb_stemmer_length(a->stem);
      if (a->flags & AR_AN_KEEPACCENT) { t = (const char *)st; tn = (size_t)sn; }
      else {
        int has_high = 0;
        for (int k = 0; k < sn; k++) has_high |= st[k] & 0x80;
        if (!has_high) { t = (const char *)st; tn = (size_t)sn; }
        else { tn = fold_accents((const char *)st, (size_t)sn, a->folded, sizeof a->folded); t = a->folded; }
      }
    }
  }
  if (tn == 0) return 0;
  return fn(ud, t, (int)tn, start, start + (int)n);
}

int ar_analyze(ar_analyzer *a, const char *text, size_t len, ar_term_fn fn, void *ud) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    /* skip separators */
    size_t ws = i;
    int ascii = 1, ncp = 0;
    while (i < len) {
      utf8proc_int32_t c;
      utf8proc_ssize_t l;
      if (s[i] < 128) { c = s[i]; l = 1; }
      else {
        l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
        if (l <= 0) { if (i > ws) break; i++; ws = i; continue; }  /* invalid byte: a separator */
      }
      if (!is_word_cp(c)) { if (i > ws) break; i += (size_t)l; ws = i; continue; }
      if (c >= 128) ascii = 0;
      ncp++;
      i += (size_t)l;
    }
    if (i > ws && ncp <= MAX_WORD_CP) {
      int rc = emit_word(a, text + ws, i - ws, ascii, (int)ws, fn, ud);
      if (rc) return rc;
    }
  }
  return 0;
}
