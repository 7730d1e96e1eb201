/* parse.c - bench driver: parses (and segments) the transcripts named on the command line N times,
 * prints the median time and MB/s. Usage: parse [-r REPEATS] [-s] [-d] FILE...
 * (-s: also segment; -d: dump cues as FILE<TAB>START<TAB>END<TAB>LINE<TAB>TEXT) */
#include "aularag.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this process: on a shared, loaded machine it is steadier than wall time. */
static double now(int cpu) {
  struct timespec ts;
  clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int reps = 5, seg = 0, dump = 0, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-s")) seg = 1;
    else if (!strcmp(argv[i], "-d")) dump = 1;
  }
  int nf = argc - i;
  if (nf <= 0 || reps <= 0) { fprintf(stderr, "usage: parse [-r N] [-s] FILE...\n"); return 2; }
  /* Files are read once up front: the bench measures parsing, not the page cache. */
  char **data = calloc((size_t)nf, sizeof *data);
  size_t *len = calloc((size_t)nf, sizeof *len), bytes = 0;
  for (int f = 0; f < nf; f++) {
    FILE *fp = fopen(argv[i + f], "rb");
    if (!fp) { perror(argv[i + f]); return 1; }
    fseek(fp, 0, SEEK_END);
    len[f] = (size_t)ftell(fp);
    rewind(fp);
    data[f] = malloc(len[f] + 1);
    if (fread(data[f], 1, len[f], fp) != len[f]) { perror(argv[i + f]); return 1; }
    fclose(fp);
    bytes += len[f];
  }
  double *t = calloc((size_t)reps, sizeof *t), *tc = calloc((size_t)reps, sizeof *tc);
  long long cues = 0, segs = 0;
  ar_segment_params sp = ar_segment_default_params();
  for (int r = 0; r < reps; r++) {
    cues = segs = 0;
    double t0 = now(0), c0 = now(1);
    for (int f = 0; f < nf; f++) {
      ar_cues c;
      ar_error err;
      if (ar_transcript_parse(argv[i + f], data[f], len[f], AR_FORMAT_AUTO, &c, &err) != AR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
      }
      cues += (long long)c.n;
      if (dump && r == 0)
        for (size_t k = 0; k < c.n; k++)
          printf("%s\t%.3f\t%.3f\t%d\t%s\n", argv[i + f], c.v[k].start_s, c.v[k].end_s, c.v[k].line, c.v[k].text);
      if (seg) {
        ar_segments s;
        if (ar_segment_cues(&c, &sp, &s, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
        segs += (long long)s.n;
        ar_segments_free(&s);
      }
      ar_cues_free(&c);
    }
    t[r] = now(0) - t0;
    tc[r] = now(1) - c0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp);
  qsort(tc, (size_t)reps, sizeof *tc, cmp);
  double med = t[reps / 2], medc = tc[reps / 2];
  printf("files %d bytes %zu cues %lld segments %lld median_wall_s %.4f median_cpu_s %.4f MB/s_wall %.1f MB/s_cpu %.1f\n",
         nf, bytes, cues, segs, med, medc, bytes / 1e6 / med, bytes / 1e6 / medc);
  for (int f = 0; f < nf; f++) free(data[f]);
  free(data); free(len); free(t); free(tc);
  return 0;
}
