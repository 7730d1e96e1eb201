/* test_segment_realdata.c - every shared SRT (129 3Blue1Brown pt, all CS231n en) parses and segments
 * with the defaults: nothing lost, times in order, window and overlap respected to cue granularity. */
#include "test.h"
#include "test_segment_check.h"
#include "core/util.h"
#include <dirent.h>
#include <sys/stat.h>

typedef struct stats {
  int files, empty;
  size_t cues, segs, pairs, near;
  double overlap_sum;
} stats;

static int check_file(const char *path, stats *st) {
  ar_cues c;
  ar_error e;
  if (ar_transcript_load(path, &c, &e) != AR_OK) { fprintf(stderr, "  %s\n", e.msg); return 0; }
  st->files++;
  if (c.n == 0) st->empty++;
  for (size_t i = 0; i < c.n; i++) {
    const ar_cue *q = &c.v[i];
    size_t l = strlen(q->text);
    if (!(q->start_s >= 0 && q->start_s <= q->end_s) || (i && q->start_s < c.v[i - 1].start_s) || !l ||
        q->text[0] == ' ' || q->text[l - 1] == ' ' || strstr(q->text, "  ") || ar_utf8_clip(q->text, l) != l) {
      fprintf(stderr, "  %s:%d: cue %zu breaks the cue invariants\n", path, q->line, i);
      ar_cues_free(&c);
      return 0;
    }
  }
  ar_segment_params p = ar_segment_default_params();
  ar_segments s;
  if (ar_segment_cues(&c, &p, &s, &e) != AR_OK) { fprintf(stderr, "  %s: %s\n", path, e.msg); ar_cues_free(&c); return 0; }
  size_t near;
  const char *why = check_unsplit_segments(&c, &s, &p, &near);
  if (why) fprintf(stderr, "  %s: %s\n", path, why);
  st->cues += c.n;
  st->segs += s.n;
  st->near += near;
  for (size_t i = 1; i < s.n; i++) {
    st->pairs++;
    st->overlap_sum += s.v[i - 1].end_s - s.v[i].start_s;
  }
  ar_segments_free(&s);
  ar_cues_free(&c);
  return why == NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* *.srt files directly in dir (depth 0) or in its subfolders (depth 1). Returns files checked, -1 on failure. */
static int check_dir(const char *dir, int depth, stats *st) {
  DIR *d = opendir(dir);
  if (!d) { fprintf(stderr, "  cannot open %s\n", dir); return -1; }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    if (n == cap) { cap = cap ? cap * 2 : 64; names = realloc(names, cap * sizeof *names); }
    names[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  int count = 0, ok = 1;
  for (size_t i = 0; i < n; i++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat sb;
    if (depth > 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      int k = check_dir(path, depth - 1, st);
      if (k < 0) ok = 0; else count += k;
    } else {
      size_t l = strlen(names[i]);
      if (l > 4 && strcmp(names[i] + l - 4, ".srt") == 0) {
        count++;
        if (!check_file(path, st)) ok = 0;
      }
    }
    free(names[i]);
  }
  free(names);
  return ok ? count : -1;
}

TEST(realdata_all_shared_srts_parse_and_segment) {
  const char *data = test_data_dir();
  ASSERT_MSG(data != NULL, "shared data missing (../shared/data)");
  char dir[1024];
  stats st = {0};
  snprintf(dir, sizeof dir, "%s/transcripts-pt-3b1b", data);
  int pt = check_dir(dir, 1, &st);
  ASSERT_MSG(pt == 129, "3Blue1Brown pt: %d files checked (want 129; -1 = a failure above)", pt);
  int en = 0;
  const char *years[] = {"2017", "2025"};
  for (int y = 0; y < 2; y++) {
    snprintf(dir, sizeof dir, "%s/transcripts-en-cs231n/%s/eng", data, years[y]);
    int k = check_dir(dir, 0, &st);
    ASSERT_MSG(k > 0, "CS231n %s: failure above or no files", years[y]);
    en += k;
  }
  ASSERT_MSG(en == 35, "CS231n: %d files (want 35)", en);
  ASSERT_EQ_INT(st.empty, 1);   /* 2016__hilbert-curve's SRT is 0 bytes */
  /* overlap as close to 30 s as cue starts allow in (nearly) every pair, and about 30 s on average */
  double mean = st.overlap_sum / (double)st.pairs;
  if (getenv("AULARAG_VERBOSE"))
    fprintf(stderr, "  %d files, %zu cues, %zu segments, mean overlap %.2f s, near %zu/%zu\n", st.files, st.cues, st.segs,
            mean, st.near, st.pairs);
  ASSERT_MSG(st.near * 100 >= st.pairs * 99, "overlap near target in only %zu of %zu pairs", st.near, st.pairs);
  ASSERT_MSG(mean > 25 && mean <= 30, "mean overlap %.2f s", mean);
}
