/* cmd_eval.c - `aularag eval`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_eval(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag eval: not built yet\n");
  return EXIT_RUNTIME;
}
