/* cmd_serve.c - `aularag serve`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_serve(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag serve: not built yet\n");
  return EXIT_RUNTIME;
}
