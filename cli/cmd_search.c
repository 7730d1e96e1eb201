/* cmd_search.c - `aularag search`: the segments that best match a question (report format or JSON). */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
  "usage: aularag search -i INDEX [-k N] [--mode hybrid|dense|lexical] [--json] [--hide-urls]\n"
  "                      [--model DIR | --embed-url URL --embed-model NAME] [--precision P] [--rrf-k N]\n"
  "                      [--course ID] [--rerank DIR [--rerank-top N]] QUESTION...\n"
  "  -i, --index FILE     the index (default $AULARAG_INDEX)\n"
  "  -k N                 number of segments (default 10)\n"
  "  --mode M             lexical (BM25), dense (E5) or hybrid (RRF of both); default: hybrid when\n"
  "                       the index has vectors and a model is given, else lexical\n"
  "  --model DIR          E5 model for dense/hybrid (default $AULARAG_MODEL)\n"
  CLI_EMBED_USAGE
  CLI_PRECISION_HELP
  "  --rrf-k N            hybrid: reciprocal rank fusion constant, score = sum 1/(N + rank) (default 60)\n"
  "  --course ID          only that course's segments (`aularag info` lists the courses)\n"
  CLI_RERANK_USAGE
  CLI_PROMPT_USAGE
  "  --json               one JSON object {query, mode, segments:[...]}\n"
  "  --hide-urls          print 'oculto' instead of URLs (JSON: null)\n"
  "The words of QUESTION are joined with spaces; any text is accepted (no query syntax);\n"
  "put -- before a question that starts with '-'.\n";

int cmd_search(int argc, char **argv) {
  static const struct option opts[] = {
    {"index", required_argument, 0, 'i'}, {"mode", required_argument, 0, 'm'},
    {"model", required_argument, 0, 'M'}, {"json", no_argument, 0, 'j'},
    {"hide-urls", no_argument, 0, 'H'}, {"rrf-k", required_argument, 0, 'r'},
    {"course", required_argument, 0, 'c'}, {"precision", required_argument, 0, CLI_O_PRECISION},
    {"help", no_argument, 0, 'h'}, CLI_EMBED_LONGOPTS, CLI_MODELS_LONGOPTS, {0, 0, 0, 0}};
  cli_embed ce = {0};
  cli_models cm = {0};
  const char *index = NULL, *model = NULL, *precision = NULL;
  int json = 0, hide = 0, c;
  ar_search_params sp = ar_search_default_params();
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":i:k:h", opts, NULL)) != -1) {
    int e = cli_embed_opt(&ce, "search", c, optarg);
    if (!e) e = cli_models_opt(&cm, "search", c, optarg);
    if (e) { if (e < 0) return EXIT_USAGE; continue; }
    switch (c) {
    case 'i': index = optarg; break;
    case 'k': if (cli_parse_int("search", "-k", optarg, 1, 1000, &sp.k)) return EXIT_USAGE; break;
    case 'm': if (cli_parse_mode("search", usage, optarg, 0, &sp.mode)) return EXIT_USAGE; break;
    case 'M': model = optarg; break;
    case CLI_O_PRECISION: precision = optarg; break;
    case 'r': if (cli_parse_int("search", "--rrf-k", optarg, 0, 1000000, &sp.rrf_k)) return EXIT_USAGE; break;
    case 'c': sp.course = optarg; break;
    case 'j': json = 1; break;
    case 'H': hide = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("search", usage, "option '%s' needs a value", argv[optind - 1]);
    default:
      if (optopt) return cli_usage_error("search", usage, "unknown option '-%c'", optopt);
      return cli_usage_error("search", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  index = cli_env_default(index, "AULARAG_INDEX");
  if (cli_embed_resolve(&ce, "search", usage, &model)) return EXIT_USAGE;
  if (cli_models_resolve(&cm, "search", usage)) return EXIT_USAGE;
  if (cli_check_embedder("search", usage, sp.mode, model, &ce)) return EXIT_USAGE;
  ar_model_params mp = ar_model_default_params();
  if (cli_precision("search", usage, precision, &mp)) return EXIT_USAGE;
  if (!index) return cli_usage_error("search", usage, "no index: give -i INDEX or set AULARAG_INDEX");
  if (optind >= argc) return cli_usage_error("search", usage, "no question given");
  char *q = cli_join_args(argc, argv, optind);
  if (!q) { fprintf(stderr, "aularag: out of memory\n"); return EXIT_RUNTIME; }

  ar_error err = {0};
  ar_index *ix = NULL;
  ar_index_params ip = ar_index_default_params();
  ip.read_only = 1;
  ip.create = 0;
  if (ar_index_open(index, ip, &ix, &err) != AR_OK) { free(q); return cli_fail_index(&err, index); }
  int rc = 0;
  if (model && sp.mode != AR_MODE_LEXICAL &&   /* the model embeds the question for dense/hybrid */
      ar_model_load(model, mp, &sp.model, &err) != AR_OK)
    rc = cli_fail(&err);
  if (!rc) rc = cli_models_prefixes(&cm, sp.model);
  if (!rc && sp.mode != AR_MODE_LEXICAL) rc = cli_embed_open(&ce, ix, &sp.embedder);
  if (!rc) rc = cli_models_open(&cm, mp, &sp);
  if (rc) {
    free(q);
    ar_index_close(ix);
    ar_model_free(sp.model);
    cli_embed_close(&ce);
    return rc;
  }
  ar_results r;
  ar_status st = ar_search(ix, q, &sp, &r, &err);
  free(q);
  ar_model_free(sp.reranker);
  if (st != AR_OK) { ar_index_close(ix); ar_model_free(sp.model); cli_embed_close(&ce); return cli_fail_index(&err, index); }
  char *out = json ? ar_results_to_json(&r, hide) : ar_results_to_text(&r, hide);
  if (out) {
    fputs(out, stdout);
    if (json || !*out) putchar('\n');
    free(out);
  }
  ar_results_free(&r);
  ar_index_close(ix);
  ar_model_free(sp.model);
  cli_embed_close(&ce);
  if (!out) { fprintf(stderr, "aularag: out of memory\n"); return EXIT_RUNTIME; }
  return EXIT_OK;
}
