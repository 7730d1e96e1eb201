/* ingest.h - internals of the ingest stage (above index/): which files become which videos. */
#ifndef AR_INGEST_H
#define AR_INGEST_H
#include "aularag.h"
#include "core/util.h"

/* One transcript to ingest and the video it becomes. */
typedef struct ar_ingest_input {
  char *path;
  const ar_manifest_row *row;  /* NULL: defaults from the file name */
  char *video_id;              /* default id (when row == NULL) */
} ar_ingest_input;

typedef struct ar_ingest_inputs {
  ar_ingest_input *v;
  size_t n, cap;
} ar_ingest_inputs;

/* inputs.c: step 1 of ar_ingest. The transcripts that paths name (folders walked recursively in
 * sorted order; without paths, every row of man), each file once, matched to its manifest row (a
 * file the manifest does not list is reported through p->warn and gets defaults), with distinct
 * video ids. Fails before anything is written: a path that does not exist, two inputs that would
 * become one video. man may be empty (no manifest). */
ar_status ar_ingest_collect(const char *const *paths, int n_paths, const ar_manifest *man,
                            const ar_ingest_params *p, ar_ingest_inputs *in, ar_error *err);
void ar_ingest_inputs_free(ar_ingest_inputs *in);
const char *ar_ingest_video_id(const ar_ingest_input *x);

#endif
