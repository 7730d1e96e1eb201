/* tr_internal.h - what the transcript parsers share: line reader, timestamps, the cue draft. */
#ifndef AR_TR_INTERNAL_H
#define AR_TR_INTERNAL_H
#include "core/util.h"
#include <jansson.h>

/* A cue as a parser found it, before the common finishing pass (tr_draft_finish). */
typedef struct tr_cue {
  double start_s, end_s;
  int line;              /* 1-based source line of the timing line (0 for JSON) */
  size_t off, len;       /* clean text in tr_draft.text: the cue's lines, each normalised, joined by '\n' */
  int n_lines;
} tr_cue;

typedef struct tr_draft {
  const char *name;      /* for messages */
  ar_buf text;           /* every cue's clean lines */
  tr_cue *v;
  size_t n, cap;
  int karaoke;           /* saw <00:00:01.000> tags: YouTube auto-captions, whose lines roll */
} tr_draft;

/* Markup handling for tr_draft_add. */
enum { TR_TAGS = 1, TR_ENTITIES = 2 };

/* Line reader over a NUL-free buffer; lines end at \n, \r\n or \r. */
typedef struct tr_reader {
  const char *p, *end;
  int line;              /* number of the line last returned */
} tr_reader;
int tr_getline(tr_reader *r, const char **s, size_t *n);   /* 0 at end of data */
int tr_is_blank(const char *s, size_t n);

/* The first 40 bytes of a line, for error messages (UTF-8 safe, quotes and controls replaced). */
void tr_quote(const char *s, size_t n, char out[64]);

/* "[H+:]MM:SS[.,]f+" (hours optional, fraction optional). Returns bytes used, 0 if not a time. */
size_t tr_parse_time(const char *s, size_t n, double *out);
/* "START --> END[ settings]" (need_hours: SRT's HH:MM:SS, so a truncated "00:00" is not read as
 * MM:SS). 0 ok, else -1 and *why says what was wrong. */
int tr_parse_timing(const char *s, size_t n, double *start, double *end, int need_hours, const char **why);

/* Adds a cue whose raw text (lines separated by \n) is cleaned per line: tags stripped (TR_TAGS),
 * entities decoded (TR_ENTITIES), whitespace normalised, empty lines dropped. Empty cues are kept
 * here (dropped by finish) so that rolling-line detection sees the source's rhythm. */
ar_status tr_draft_add(tr_draft *d, double start_s, double end_s, int line, const char *raw, size_t n,
                       int markup, ar_error *err);
/* Rolling-line de-duplication, timestamp repair, joins lines, drops empty cues -> out. */
ar_status tr_draft_finish(tr_draft *d, ar_cues *out, ar_error *err);
void tr_draft_free(tr_draft *d);

/* The parsers. data is valid UTF-8 without BOM and without NUL bytes. */
ar_status tr_parse_vtt(tr_draft *d, const char *data, size_t len, ar_error *err);
ar_status tr_parse_srt(tr_draft *d, const char *data, size_t len, ar_error *err);
ar_status tr_parse_whisper_json(tr_draft *d, json_t *root, ar_error *err);
ar_status tr_parse_youtube_json(tr_draft *d, json_t *root, ar_error *err);

/* Text cleanup used by tr_draft_add, exposed for tests: appends the clean form of one line. */
int tr_clean_line(ar_buf *out, const char *s, size_t n, int markup);
#endif
