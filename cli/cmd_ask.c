/* cmd_ask.c - `aularag ask`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_ask(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag ask: not built yet\n");
  return EXIT_RUNTIME;
}
