/* ask.c - bench driver: ar_ask in one process over the questions on stdin (one per line), index
 * opened once. Prints one line per question: total_ms llm_ms (llm_ms = the LLM call's own latency,
 * 0 for the extractive path). Usage: ask INDEX [--llm URL] [--no-cache] [--model DIR [--mode dense|hybrid]] */
#include "aularag.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ask INDEX [--llm URL] [--no-cache] [--model DIR [--mode dense|hybrid]] < questions\n");
    return 2;
  }
  ar_blas_single_thread();
  ar_error err = {0};
  ar_index *ix;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  if (ar_index_open(argv[1], ip, &ix, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_ask_params p = ar_ask_default_params();
  p.search.mode = AR_MODE_LEXICAL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--llm") && i + 1 < argc) p.llm.base_url = argv[++i];
    else if (!strcmp(argv[i], "--no-cache")) p.llm.use_cache = 0;
    else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
      i++;
      p.search.mode = !strcmp(argv[i], "dense") ? AR_MODE_DENSE : AR_MODE_HYBRID;
    } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
      if (ar_model_load(argv[++i], ar_model_default_params(), &p.search.model, &err) != AR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
      }
      if (p.search.mode == AR_MODE_LEXICAL) p.search.mode = AR_MODE_HYBRID;
    }
  }
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    ar_answer a;
    double t0 = now_ms();
    ar_status st = ar_ask(ix, line, &p, &a, &err);
    double dt = now_ms() - t0;
    if (st != AR_OK) { fprintf(stderr, "%s\n", err.msg); ar_answer_free(&a); ar_index_close(ix); return 1; }
    /* the JSON is part of what a caller (server, CLI) pays for */
    t0 = now_ms();
    char *js = ar_answer_to_json(&a, 0);
    dt += now_ms() - t0;
    free(js);
    printf("%.3f %.3f\n", dt, a.extractive ? 0.0 : a.llm.latency_ms);
    ar_answer_free(&a);
  }
  ar_index_close(ix);
  ar_model_free(p.search.model);
  return 0;
}
