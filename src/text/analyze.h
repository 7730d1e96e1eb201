/* analyze.h - language analysis for lexical search: words -> folded, stop-filtered, stemmed terms. */
#ifndef AR_ANALYZE_H
#define AR_ANALYZE_H
#include "aularag.h"

/* Analysis options (the defaults are what an index uses; the others exist so the bench can
 * compare variants). */
enum {
  AR_AN_NOSTEM = 1,      /* keep the folded word, no stemming */
  AR_AN_NOSTOP = 2,      /* keep stop words */
  AR_AN_KEEPACCENT = 4,  /* case folding only: "ação" stays "ação" */
  AR_AN_SNOWBALL = 8     /* Portuguese: Snowball's stemmer instead of the light one (stem_pt.c) */
};

typedef struct ar_analyzer ar_analyzer;

/* lang: "pt" or "en". Not thread-safe (the Snowball stemmer has state): one per connection. */
ar_status ar_analyzer_new(const char *lang, int flags, ar_analyzer **out, ar_error *err);
void ar_analyzer_free(ar_analyzer *a);
const char *ar_analyzer_lang(const ar_analyzer *a);

/* Called once per kept term: the term (not NUL-terminated) and the byte span [start, end) of the
 * word it came from in the input. A non-zero return stops the analysis and is returned. */
typedef int (*ar_term_fn)(void *user_data, const char *term, int len, int start, int end);

/* Splits text into words (letters, digits and combining marks; anything else separates, invalid
 * UTF-8 included), then per word: case fold -> stop word check -> stem -> accent fold. */
int ar_analyze(ar_analyzer *a, const char *text, size_t len, ar_term_fn fn, void *user_data);

/* The light Portuguese stemmer (stem_pt.c): w[0..n) accent-folded, rewritten in place (NUL at the
 * new end); returns the new length. */
size_t ar_stem_pt_light(char *w, size_t n);

/* Stop word lists (src/text/stopwords.c): NULL-terminated, lower case, accents as written. */
const char *const *ar_stopwords(const char *lang);
#endif
