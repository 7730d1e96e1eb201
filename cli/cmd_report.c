/* cmd_report.c - `aularag report DIR`: an eval run's reports again, with the manual annotations. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>

static const char usage[] =
    "usage: aularag report DIR\n"
    "\n"
    "Re-renders DIR/report.md, report.json and report.html (DIR: an `aularag eval` output folder) from\n"
    "report.json plus the labels in DIR/annotations/*.jsonl (`aularag annotate`), with no LLM call.\n"
    "The manual label of a question is the annotator's (several: the majority; ties are listed and\n"
    "left unlabelled); the question file's labels count as the annotator 'question-set'. Adds\n"
    "inter-annotator agreement: Cohen's kappa (two annotators), Fleiss' kappa (three or more) and\n"
    "Krippendorff's alpha (ordinal), each with a bootstrap 95% interval. Prints the summary.\n"
    "\n"
    "  -q, --quiet            print nothing on success\n"
    "  -h, --help             this help\n";

int cmd_report(int argc, char **argv) {
  static const struct option opts[] = {{"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int quiet = 0, c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
    switch (c) {
    case 'q': quiet = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    default: return cli_usage_error("report", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cli_usage_error("report", usage, optind < argc ? "one folder expected" : "missing DIR");
  char *summary = NULL;
  ar_error err = {0};
  ar_status st = ar_report_rerender(argv[optind], quiet ? NULL : &summary, &err);
  if (st) return cli_fail(&err);
  if (summary) fputs(summary, stdout);
  free(summary);
  return EXIT_OK;
}
