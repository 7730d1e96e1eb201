/* server_search_cpu.c - what one uncached /api/search costs without HTTP: CPU time of ar_search and
 * of ar_results_to_json per question (lexical, k=10), for bench_server.sh.
 * usage: server_search_cpu INDEX QUESTIONS.txt [ROUNDS] */
#include "aularag.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s INDEX QUESTIONS.txt [ROUNDS]\n", argv[0]); return 2; }
  int rounds = argc > 3 ? atoi(argv[3]) : 20;
  ar_error err;
  ar_index *ix;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  if (ar_index_open(argv[1], ip, &ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  char qs[256][512];
  int nq = 0;
  FILE *f = fopen(argv[2], "r");
  if (!f) { perror(argv[2]); return 1; }
  while (nq < 256 && fgets(qs[nq], sizeof qs[nq], f)) {
    qs[nq][strcspn(qs[nq], "\n")] = 0;
    if (qs[nq][0]) nq++;
  }
  fclose(f);
  ar_search_params sp = ar_search_default_params();
  sp.mode = AR_MODE_LEXICAL;
  double t_search = 0, t_json = 0;
  size_t bytes = 0, n = 0;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < nq; i++, n++) {
      ar_results res;
      double t0 = cpu_s();
      if (ar_search(ix, qs[i], &sp, &res, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
      double t1 = cpu_s();
      char *json = ar_results_to_json(&res, 0);
      t_search += t1 - t0;
      t_json += cpu_s() - t1;
      bytes += json ? strlen(json) : 0;
      free(json);
      ar_results_free(&res);
    }
  }
  printf("in-process, no HTTP (%zu searches): ar_search %.3f ms + ar_results_to_json %.3f ms CPU per question, "
         "%zu bytes of JSON\n", n, t_search / (double)n * 1e3, t_json / (double)n * 1e3, bytes / (n ? n : 1));
  ar_index_close(ix);
  return 0;
}
