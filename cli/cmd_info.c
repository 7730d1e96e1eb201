/* cmd_info.c - `aularag info`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_info(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag info: not built yet\n");
  return EXIT_RUNTIME;
}
