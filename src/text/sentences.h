/* sentences.h - the one sentence splitter (text/sentences.c), shared by eval/ and answer/. */
#ifndef AR_SENTENCES_H
#define AR_SENTENCES_H
#include <stddef.h>

/* Called once per sentence with its byte span [a, b) in the text (white space trimmed, never
 * empty). A non-zero return stops the split and is returned. */
typedef int (*ar_sentence_fn)(void *user_data, size_t a, size_t b);

/* Portuguese-aware sentence split: a sentence ends at . ! ? … (closing quotes and brackets kept)
 * followed by white space or the end, or at a newline; not after abbreviations (Sr., Dra., p.ex.,
 * etc.), initials, inside decimals (3.5) or before a lower-case word. Returns 0 or fn's value. */
int ar_sentences(const char *text, ar_sentence_fn fn, void *user_data);

/* The same as malloc'd trimmed strings: returns the count, *out the array (NULL when none or out
 * of memory: then 0). Free with ar_strings_free. */
size_t ar_split_sentences(const char *text, char ***out);
void ar_strings_free(char **v, size_t n);

#endif
