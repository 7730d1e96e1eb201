/* cmd_snapshot.c - `aularag snapshot`: a consistent, checked copy of an index for serve replicas. */
#include "cli.h"
#include <getopt.h>
#include <string.h>

static const char usage[] =
    "usage: aularag snapshot -i INDEX [-q] OUT\n"
    "Copies the index to OUT while ingest may be writing it: one consistent state, compacted, with its\n"
    "vector section (OUT.vec), checked like `info --check`, then renamed into place, so `serve -i OUT`\n"
    "replicas switch to it between requests. On any failure OUT is left as it was.\n"
    "  -i, --index FILE     the index to copy (default $AULARAG_INDEX)\n"
    "  -q, --quiet          no summary line\n"
    "  -h, --help           this help\n";

int cmd_snapshot(int argc, char **argv) {
  static const struct option opts[] = {
      {"index", required_argument, 0, 'i'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *index = NULL;
  int quiet = 0, c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":i:qh", opts, NULL)) != -1) {
    switch (c) {
    case 'i': index = optarg; break;
    case 'q': quiet = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("snapshot", usage, "%s needs a value", argv[optind - 1]);
    default: return cli_usage_error("snapshot", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  index = cli_env_default(index, "AULARAG_INDEX");
  if (!index) return cli_usage_error("snapshot", usage, "no index: give -i INDEX or set AULARAG_INDEX");
  if (optind >= argc) return cli_usage_error("snapshot", usage, "missing OUT (the snapshot file)");
  if (optind + 1 < argc) return cli_usage_error("snapshot", usage, "unexpected argument '%s'", argv[optind + 1]);
  const char *out = argv[optind];
  ar_error err = {0};
  ar_snapshot_stats s;
  if (ar_index_snapshot(index, out, &s, &err) != AR_OK) return cli_fail(&err);
  if (!quiet)
    printf("snapshot %s: %lld videos, %lld segments, %lld vectors, %.1f MB in %.2f s\n", out, (long long)s.n_videos,
           (long long)s.n_segments, (long long)s.n_vectors, s.bytes / 1e6, s.seconds);
  return EXIT_OK;
}
