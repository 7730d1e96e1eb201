/* cmd_tokenize.c - `aularag tokenize`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_tokenize(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag tokenize: not built yet\n");
  return EXIT_RUNTIME;
}
