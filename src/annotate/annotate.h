/* annotate.h - manual annotation of a finished eval run: the annotations store (one append-only JSONL
 * file per annotator under RUN/annotations/) and the run's items as the page and `report` see them. */
#ifndef AR_ANNOTATE_H
#define AR_ANNOTATE_H
#include "eval/eval.h"

#define AR_QUESTION_SET_ANNOTATOR "question-set"  /* the question file's labels count as this annotator */

/* A finished run read back from RUN/report.json. */
typedef struct ar_ann_run {
  char *dir;
  struct json_t *report;   /* the whole report.json */
  ar_eval_item *items;
  size_t n;
  char **qs_labels;        /* per item: the question file's label (NULL when none) */
  char (*sha)[65];         /* per item: sha256 of the answer text ("" when it failed) */
  char **labels;
  int n_labels;
} ar_ann_run;

ar_status ar_ann_run_load(const char *dir, ar_ann_run *out, ar_error *err);
void ar_ann_run_free(ar_ann_run *r);
/* Index of the item with this id, -1 when none. */
long ar_ann_run_find(const ar_ann_run *r, const char *id);

/* One annotator's current state: the last record per item wins (a retraction clears it). */
typedef struct ar_ann_state {
  char *name;
  size_t n;         /* items */
  int *label;       /* per item: label index, -1 none */
  int *stale;       /* per item: 1 when the last label was given to a different answer text */
  int *stale_label; /* per item: that old label (-1 when not stale) */
  char **note;      /* per item: the label's note, NULL when none */
  size_t n_current, n_stale, n_records, n_bad_lines;
} ar_ann_state;

/* Names must be 1..64 of [A-Za-z0-9._-], not starting with '.', and not "question-set". */
int ar_ann_name_ok(const char *name);
/* Reads RUN/annotations/NAME.jsonl (a missing file is an empty state). Lines that do not parse (a
 * line cut by a crash), unknown ids and labels outside the set are skipped and counted. */
ar_status ar_ann_state_load(const ar_ann_run *r, const char *name, ar_ann_state *out, ar_error *err);
void ar_ann_state_free(ar_ann_state *s);
/* Every annotator with a file, sorted by name (names malloc'd). */
ar_status ar_ann_list(const char *dir, char ***names, size_t *n, ar_error *err);

/* Appends one record to RUN/annotations/NAME.jsonl with a single O_APPEND write, then fsync: several
 * writers (tabs, processes) never lose or interleave a line. label < 0 appends a retraction. */
ar_status ar_ann_append(const ar_ann_run *r, const char *name, size_t item, int label, const char *note, ar_error *err);
#endif
