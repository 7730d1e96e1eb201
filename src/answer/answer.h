/* answer.h - internals of the answer stage shared by its files and tests. */
#ifndef AR_ANSWER_H
#define AR_ANSWER_H
#include "core/util.h"

/* The label an extractive answer starts with (tests and the web page look for it). */
#define AR_EXTRACTIVE_LABEL "(Resposta extrativa: trechos das aulas, sem LLM configurado)"
/* What the extractive path says when no segment matches the question. */
#define AR_EXTRACTIVE_NONE "As aulas indexadas não têm trechos que tratem desta pergunta."

/* prompt.c: the system and user messages for question + retrieved segments. Segment texts go in
 * rank order until the budget (approx. tokens = code points / 4) is spent; the segment that
 * overflows is cut at a word boundary (never inside a UTF-8 sequence), the rest are left out.
 * *n_used: how many segments (1..n_used) the prompt numbers, so only those can be cited. */
const char *ar_prompt_system(void);
ar_status ar_prompt_user(const char *question, const ar_results *r, int context_tokens, char **out, int *n_used,
                         ar_error *err);
/* Approximate tokens of a text for the budget: Unicode code points / 4, rounded up. */
int ar_approx_tokens(const char *s, size_t n);

/* references.c: segment numbers ([1], [2, 3], [1-3], [1][2]) cited in text, 1..n_max, in order of
 * first citation, without repeats. Returns the count written to out (capacity n_max). */
int ar_citations(const char *text, int n_max, int *out);
/* References for the hits at 0-based indexes idx[0..n) of r, in that order: one per video moment,
 * overlapping or adjacent (gap <= 1 s) segments of one video merged. */
ar_status ar_references_build(const ar_results *r, const int *idx, int n, ar_reference **out, size_t *n_out,
                              ar_error *err);
void ar_references_free(ar_reference *refs, size_t n);

/* extractive.c: the most relevant sentences of the top segments for question (terms by the
 * index's language analysis, lang "pt"/"en"), labelled, each followed by its segment's number.
 * used, n_used: 0-based indexes of the segments quoted, in answer order (malloc'd). */
ar_status ar_extractive_answer(const char *question, const ar_results *r, const char *lang, char **text,
                               int **used, int *n_used, ar_error *err);
/* The extractive answer says AR_EXTRACTIVE_NONE (the lectures do not cover it) unless one of the top
 * segments holds at least this share of the question's distinct terms. The largest value that keeps
 * wrong abstentions on 3b1b-pt-dev (40 answerable questions) at <= 5%: measured by
 * bench/bench_lexical.sh (driver bench/extractive_coverage.c) there, 2 of 40 dev questions fall
 * below it, and 40% of FaQuAD's questions (another course: university rules) asked of the 3b1b index
 * do (README, "Abstention"). Plain term counts separate the two only so far. */
#define AR_EXTRACTIVE_MIN_COVERAGE 0.4
/* As ar_extractive_answer with the threshold given; *coverage (may be NULL): the best top segment's
 * share of the question's distinct terms (0 when the question has none). */
ar_status ar_extractive_answer_cov(const char *question, const ar_results *r, const char *lang, double min_coverage,
                                   char **text, int **used, int *n_used, double *coverage, ar_error *err);

#endif
