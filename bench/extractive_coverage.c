/* extractive_coverage.c - for bench_lexical: questions on stdin (one a line) -> per line, the share
 * of the question's distinct terms held by the best of the top-k lexical segments (what the
 * extractive answer compares with AR_EXTRACTIVE_MIN_COVERAGE), "%.4f".
 *
 *   extractive_coverage INDEX [-k N] */
#include "answer/answer.h"
#include "index/index.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: extractive_coverage INDEX [-k N]\n"); return 2; }
  int k = 5;
  if (argc > 3 && !strcmp(argv[2], "-k")) k = atoi(argv[3]);
  ar_error err;
  ar_index *ix;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  if (ar_index_open(argv[1], ip, &ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_search_params sp = ar_search_default_params();
  sp.k = k;
  sp.mode = AR_MODE_LEXICAL;
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    ar_results r;
    if (ar_search(ix, line, &sp, &r, &err)) { fprintf(stderr, "search: %s\n", err.msg); return 1; }
    char *text = NULL;
    int *used = NULL, n_used = 0;
    double cov = 0;
    if (ar_extractive_answer_cov(line, &r, ix->lang, 0, &text, &used, &n_used, &cov, &err)) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
    printf("%.4f\n", cov);
    free(text);
    free(used);
    ar_results_free(&r);
  }
  ar_index_close(ix);
  return 0;
}
