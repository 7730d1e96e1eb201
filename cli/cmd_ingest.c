/* cmd_ingest.c - `aularag ingest`: placeholder until its issue lands (exits 1 with a clear message). */
#include "cli.h"

int cmd_ingest(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "aularag ingest: not built yet\n");
  return EXIT_RUNTIME;
}
