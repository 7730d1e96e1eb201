/* cmd_embed.c - `aularag embed`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_embed(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag embed: not built yet\n");
  return EXIT_RUNTIME;
}
