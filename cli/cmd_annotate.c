/* cmd_annotate.c - `aularag annotate`: the page to label a finished eval run's answers by hand. */
#include "cli.h"
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* SIGINT/SIGTERM stop the page: the library installs no handlers and polls this flag. */
static volatile int stop_flag;
static void on_signal(int sig) { stop_flag = sig; }

static const char usage[] =
    "usage: aularag annotate --run DIR [--annotator NAME] [--port N] [--host 127.0.0.1] [--show-judge] [-v]\n"
    "\n"
    "Serves a page (Portuguese) that shows the questions of an `aularag eval` output folder one at a\n"
    "time and takes a label from the run's label set. Every label is appended at once to\n"
    "DIR/annotations/NAME.jsonl; reopening resumes. `aularag report DIR` then uses the labels.\n"
    "API: GET /api/items, GET /api/items/ID, POST /api/label {\"id\", \"label\", \"note\"} (label null: undo).\n"
    "\n"
    "      --run DIR          the eval output folder (holds report.json)\n"
    "      --annotator NAME   whose labels (letters, digits, . _ -; default $USER)\n"
    "      --host HOST        address to listen on (default 127.0.0.1)\n"
    "      --port N           TCP port (default 8090; 0 picks a free one, printed at start)\n"
    "      --show-judge       show the automated label, AR and the other annotators' labels at once\n"
    "                         (default: hidden until NAME has labelled every answer)\n"
    "  -v, --verbose          log every request to stderr\n"
    "  -h, --help             this help\n";

static void log_line(const char *line, void *user_data) {
  (void)user_data;
  fprintf(stderr, "aularag annotate: %s\n", line);
}

int cmd_annotate(int argc, char **argv) {
  static const struct option opts[] = {
      {"run", required_argument, 0, 'r'},  {"annotator", required_argument, 0, 'a'},
      {"host", required_argument, 0, 'H'}, {"port", required_argument, 0, 'p'},
      {"show-judge", no_argument, 0, 'j'}, {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
  ar_annotate_params p = ar_annotate_default_params();
  const char *run = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
    switch (c) {
    case 'r': run = optarg; break;
    case 'a': p.annotator = optarg; break;
    case 'H': p.server.host = optarg; break;
    case 'p': if (cli_parse_int("annotate", "--port", optarg, 0, 65535, &p.server.port)) return EXIT_USAGE; break;
    case 'j': p.show_judge = 1; break;
    case 'v': p.server.verbose = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("annotate", usage, "%s needs a value", argv[optind - 1]);
    default: return cli_usage_error("annotate", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("annotate", usage, "unexpected argument '%s'", argv[optind]);
  if (!run) return cli_usage_error("annotate", usage, "missing --run DIR");
  if (!p.annotator) p.annotator = cli_env_default(NULL, "USER");
  if (!p.annotator) return cli_usage_error("annotate", usage, "missing --annotator NAME (and $USER is not set)");
  p.server.log = log_line;
  setvbuf(stderr, NULL, _IOLBF, 0);
  ar_error err = {0};
  struct sigaction sa, old_int, old_term, old_pipe;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sa.sa_handler = SIG_IGN;   /* a browser that hangs up mid-response must not kill the process */
  sigaction(SIGPIPE, &sa, &old_pipe);
  ar_status st = ar_annotate_run(run, &p, &stop_flag, &err);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  return st ? cli_fail(&err) : EXIT_OK;
}
