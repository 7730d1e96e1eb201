/* cmd_search.c - `aularag search`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_search(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag search: not built yet\n");
  return EXIT_RUNTIME;
}
