/* eval.h - internal API of the evaluation stage: judges' parsing, statistics, question sets, reports. */
#ifndef AR_EVAL_H
#define AR_EVAL_H
#include "aularag.h"
#include "text/sentences.h"  /* ar_split_sentences: the groundedness judge's sentences */
#include <stdint.h>

#define AR_MAX_LABELS 8

/* ---- score and label parsing (parse.c) ---------------------------------------------------- */
typedef enum ar_judge_status {
  AR_JUDGE_SKIPPED = 0,  /* no judge LLM configured (or judging not attempted) */
  AR_JUDGE_OK,
  AR_JUDGE_FAILED        /* the reply had no parsable score/label, or the call failed */
} ar_judge_status;

const char *ar_judge_status_name(ar_judge_status s);

/* The number after the LAST "Score:" of a 0..max_score Likert reply (markdown emphasis around
 * "Score" allowed; an empty Score line takes the next non-empty line). Numbers that belong to a
 * scale statement ("0 to 3", "out of 3", "/3", "de 0 a 3") are never the score. Returns the
 * integer score, or -1 with *why set to a static reason when there is none. */
int ar_parse_score(const char *reply, int max_score, const char **why);

/* The label of the LAST line that starts with "Label:" / "Rótulo:" (markdown allowed). The value
 * must be one of labels[0..n_labels) (case-insensitive). Returns its index, or -1 with *why. */
int ar_parse_label(const char *reply, char *const *labels, int n_labels, const char **why);

/* The reasoning text as the report format shows it: from the first "Criteria:" on (the whole reply when
 * absent), each newline replaced by one space, CRs dropped, ends trimmed. malloc'd. */
char *ar_cot_text(const char *reply);

/* Splits a comma-separated label set ("C,P,I") into *labels (malloc'd strings). */
ar_status ar_labels_parse(const char *spec, char ***labels, int *n, ar_error *err);
void ar_labels_free(char **labels, int n);

/* ---- statistics (stats.c) ---------------------------------------------------------------- */
/* Labels are indices 0..k-1 ordered best first (C=0, P=1, I=2); -1 = missing. */
typedef struct ar_agreement {
  int k;
  size_t n;                                  /* pairs where both labels are present */
  long confusion[AR_MAX_LABELS][AR_MAX_LABELS];  /* rows manual, columns automated */
  double accuracy, kappa, kappa_quadratic, macro_f1;
  double precision[AR_MAX_LABELS], recall[AR_MAX_LABELS], f1[AR_MAX_LABELS];
} ar_agreement;

void ar_agreement_compute(const int *manual, const int *autom, size_t n, int k, ar_agreement *out);
/* Cohen's kappa over labels 0..k-1; weights: 0 none, 1 linear, 2 quadratic. NAN when undefined. */
double ar_kappa(const int *a, const int *b, size_t n, int k, int weights);
/* Macro-F1 over the labels present in a or b (sklearn's default label set), 0 for 0/0. */
double ar_macro_f1(const int *truth, const int *pred, size_t n, int k);
/* Average (tie-corrected) ranks, 1-based. */
void ar_rank_average(const double *x, size_t n, double *ranks);
double ar_pearson(const double *x, const double *y, size_t n);
/* Pearson of average ranks; NAN when either side is constant or n < 2. */
double ar_spearman(const double *x, const double *y, size_t n);
double ar_mean(const double *x, size_t n);  /* NAN for n == 0 */

/* A statistic over a resample: idx[0..n) are indices into the caller's data. */
typedef double (*ar_stat_fn)(const size_t *idx, size_t n, void *ctx);
/* Percentile bootstrap 95% interval over `draws` resamples of n items (fixed seed: the same
 * inputs give the same interval). NAN replicates are skipped; *lo = *hi = NAN when none is left. */
void ar_bootstrap_ci(ar_stat_fn fn, void *ctx, size_t n, int draws, uint64_t seed, double *lo, double *hi);

/* Retrieval against gold spans. */
typedef struct ar_span {
  const char *video_id;
  double start_s, end_s;
} ar_span;

typedef enum ar_match {
  AR_MATCH_OVERLAP = 0,  /* intervals intersect once the gold span is widened by the tolerance */
  AR_MATCH_CONTAIN       /* the retrieved segment contains the gold span (gold shrunk by tol) */
} ar_match;

typedef struct ar_retrieval {
  double hit[3], recall[3];  /* at k = 1, 5, 10 */
  double mrr10, ndcg10;
  int first_rank;            /* rank of the first relevant segment, 0 if none */
} ar_retrieval;

extern const int ar_retrieval_ks[3];
int ar_span_matches(const ar_span *retrieved, const ar_span *gold, ar_match m, double tol_s);
/* Each gold span counted once: recall = gold spans covered in top-k / gold; nDCG gain 1 at a rank
 * only when its segment covers a gold span no earlier rank covered. */
void ar_retrieval_compute(const ar_span *ret, size_t n_ret, const ar_span *gold, size_t n_gold,
                          ar_match m, double tol_s, ar_retrieval *out);

/* ---- question set (questions.c) ---------------------------------------------------------- */
typedef struct ar_question {
  char *id;              /* as written: a number's digits or the string */
  char *question;
  char *manual;          /* may be NULL */
  char *reference_answer;  /* may be NULL */
  char *course;          /* retrieval scope of this question (wins over the run's); NULL = the run's */
  int unanswerable;      /* "answerable": false: the lectures do not cover it (abstain.c) */
  ar_span *gold;         /* video_id strings owned here */
  size_t n_gold;
  int line;
} ar_question;

typedef struct ar_question_set {
  ar_question *v;
  size_t n;
} ar_question_set;

ar_status ar_questions_parse(const char *name, const char *data, size_t len, ar_question_set *out, ar_error *err);
ar_status ar_questions_load(const char *path, ar_question_set *out, ar_error *err);
void ar_questions_free(ar_question_set *qs);

/* ---- one question's outcome and the whole run (item.c) ----------------------------------- */
typedef struct ar_judgement {
  ar_judge_status status;
  int score;             /* 0..3 (AR, context, groundedness) or the label index; -1 unless OK */
  char *raw;             /* the judge's whole reply (NULL when no reply) */
  char *error;           /* why FAILED / SKIPPED (NULL when OK) */
  char *subject;         /* what was judged: the sentence (groundedness), NULL otherwise */
} ar_judgement;

typedef struct ar_usage {
  int64_t calls, cached, failed_calls;
  int64_t prompt_tokens, completion_tokens;
  double latency_ms;     /* summed over calls (not wall time) */
} ar_usage;

typedef struct ar_eval_item {
  size_t index;          /* position in the question set */
  ar_question q;         /* a copy */
  char *mode;            /* retrieval mode used */
  ar_hit *hits;
  size_t n_hits;
  char *answer;
  int extractive;
  ar_reference *refs;
  size_t n_refs;
  char *error;           /* retrieval/answer failure: the question has no answer (NULL if fine) */
  ar_judgement ar;       /* answer relevance, 0..3 */
  ar_judgement label;    /* automated annotation: score = label index */
  ar_judgement abstain;  /* did the answer abstain (abstain.c): score AR_ABSTAINS / AR_ANSWERS */
  ar_judgement *ctx;     /* context relevance per hit (n_hits of them, or 0 when skipped) */
  size_t n_ctx;
  ar_judgement *ground;  /* groundedness per answer sentence */
  size_t n_ground;
  ar_usage answer_usage, judge_usage;
  double retrieve_ms, answer_ms, judge_ms;  /* wall time of each phase (answer includes retrieval) */
} ar_eval_item;

void ar_judgement_free(ar_judgement *j);
void ar_eval_item_free(ar_eval_item *it);
/* Mean of the OK scores / 3 (NAN when none). */
double ar_judgements_mean(const ar_judgement *j, size_t n, int max_score);

/* Everything a report needs. */
typedef struct ar_eval_run_info {
  const char *index_path, *questions_path;
  const char *answer_model, *answer_url;   /* "" when extractive */
  const char *judge_model, *judge_url;     /* "" when no judge */
  char **labels;
  int n_labels;
  int hide_urls, k, bootstrap;
  const char *mode;
  const char *course;    /* --course (NULL: every course; a question's own course wins) */
  double tolerance_s;
  double wall_s;
  int concurrency, rpm;
  int resumed;           /* items taken from a previous interrupted run */
  int abstention;        /* the set has unanswerable questions: abstention judged and reported */
} ar_eval_run_info;

/* The aggregated numbers (stats over the items). */
typedef struct ar_ci { double value, lo, hi; } ar_ci;

/* ---- abstention (abstain.c) --------------------------------------------------------------- */
struct ar_buf;
struct ar_eval_item;
enum { AR_ABSTAINS = 0, AR_ANSWERS = 1 };  /* the abstention judge's label indexes */
extern char *const ar_abstain_labels[2];

/* Rates over the questions the judge labelled: correct = unanswerable questions whose answer
 * abstained, wrong = answerable ones whose answer did; with percentile bootstrap 95% intervals. */
typedef struct ar_abstention {
  size_t n_unanswerable, n_answerable;   /* questions of each kind */
  size_t judged_unanswerable, judged_answerable;
  long failed, skipped;                  /* judge replies without a label / not judged */
  ar_ci correct, wrong;
} ar_abstention;

/* Whether the set marks any question "answerable": false (then abstention is judged for all). */
int ar_questions_have_unanswerable(const ar_question_set *qs);
void ar_abstention_compute(const struct ar_eval_item *items, size_t n, int draws, ar_abstention *out);
/* report pieces: the summary's lines, report.md's closing block (Portuguese, like the rest) */
void ar_abstention_summary(struct ar_buf *b, const ar_abstention *a);
void ar_abstention_md(struct ar_buf *b, const ar_abstention *a);

typedef struct ar_eval_summary {
  size_t n_questions, n_answered, n_failed_questions;
  long manual_count[AR_MAX_LABELS + 1], auto_count[AR_MAX_LABELS + 1];  /* [n_labels] = missing/failed */
  long auto_failed, auto_skipped, ar_failed, ar_skipped, ar_ok;
  ar_agreement agree;
  ar_ci accuracy, kappa, kappa_quadratic, macro_f1, spearman, mean_ar;
  size_t spearman_n;
  double mean_ar_by_manual[AR_MAX_LABELS];
  long n_ar_by_manual[AR_MAX_LABELS];
  double mean_context, mean_ground;
  size_t n_gold;                      /* questions with gold spans */
  ar_retrieval retr[2];               /* means, [AR_MATCH_OVERLAP], [AR_MATCH_CONTAIN] */
  ar_usage answer_usage, judge_usage;
  double retrieve_ms_p50, answer_ms_p50, judge_ms_p50;
  double retrieve_ms_sum, answer_ms_sum, judge_ms_sum;
  ar_abstention abst;                 /* filled when info->abstention */
} ar_eval_summary;

void ar_eval_summarize(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, ar_eval_summary *out);
/* Per-question retrieval metrics (0 = no gold). */
int ar_eval_item_retrieval(const ar_eval_item *it, ar_match m, double tol_s, ar_retrieval *out);

/* ---- reports (report_md.c, report_json.c, report_html.c, summary.c) ------------------------ */
/* The evaluation report format (docs/report-format.md), one block per item, in the order given. malloc'd. */
char *ar_report_md(const ar_eval_item *items, size_t n, const ar_eval_run_info *info);
char *ar_report_json(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s);
char *ar_report_html(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s);
char *ar_report_summary(const ar_eval_item *items, size_t n, const ar_eval_run_info *info, const ar_eval_summary *s);

/* Shortest text that reads back as the same double (Python repr style: "0.8849621415138245",
 * "12.0"). out >= 32 bytes. */

/* One item <-> a JSON text (one line), for report.json and the resume journal. */
char *ar_eval_item_to_json(const ar_eval_item *it, int hide_urls);
/* The item as a jansson object; labels NULL: label kept as an index only (journal form). */
struct json_t;
struct json_t *ar_eval_item_json(const ar_eval_item *it, int hide_urls, char *const *labels, int n_labels);
/* Index of a manual label in the set (case-insensitive), -1 when absent or unknown. */
int ar_label_index(const char *label, char *const *labels, int n_labels);
ar_status ar_eval_item_from_json(const char *text, ar_eval_item *out, ar_error *err);
#endif
