/* cmd_ask.c - `aularag ask`: retrieve, answer (LLM or extractive), print segments, answer and references. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
  "usage: aularag ask -i INDEX [-k N] [--mode hybrid|dense|lexical] [--json] [--hide-urls] [--no-cache]\n"
  "                   [--stream|--no-stream] [--llm-url URL] [--llm-model M] [--context-tokens N]\n"
  "                   [--temperature T] [--seed S] [--timeout SEC] [--retries N] [--course ID]\n"
  "                   [--model DIR | --embed-url URL --embed-model NAME] [--precision P]\n"
  "                   [--rerank DIR [--rerank-top N]] QUESTION...\n"
  "  -i, --index FILE     the index (default $AULARAG_INDEX)\n"
  "  -k N                 segments retrieved and given to the LLM (default 10)\n"
  "  --mode M             lexical (BM25), dense (E5) or hybrid (RRF); default: hybrid when the index\n"
  "                       has vectors and a model is given, else lexical\n"
  "  --model DIR          E5 model for dense/hybrid (default $AULARAG_MODEL)\n"
  CLI_EMBED_USAGE
  "  --course ID          retrieve only from that course (`aularag info` lists the courses)\n"
  CLI_PRECISION_HELP
  CLI_RERANK_USAGE
  CLI_PROMPT_USAGE
  "  --json               one JSON object: the search object + answer, answer_kind, references\n"
  "  --hide-urls          print 'oculto' and '[Vídeo de referência oculto]()' (JSON: null)\n"
  "  --llm-url URL        OpenAI-compatible endpoint, with or without /v1 (default $AULARAG_LLM_URL);\n"
  "                       none: an extractive answer (sentences quoted from the segments)\n"
  "  --llm-model M        model name sent to the endpoint (default $AULARAG_LLM_MODEL)\n"
  "                       API key: $AULARAG_LLM_API_KEY, else $OPENAI_API_KEY (sent as Bearer)\n"
  "  --no-cache           do not use or fill the answer cache kept in the index\n"
  "  --stream, --no-stream  show the answer as it is generated (default: when stdout is a terminal)\n"
  "  --context-tokens N   budget for segment text in the prompt, approx. tokens = characters/4 (default 6000)\n"
  "  --temperature T      default 0;  --seed S: default 42\n"
  "  --timeout SEC        whole-request timeout (default 120);  --retries N: on 429/5xx/network (default 4)\n"
  "The words of QUESTION are joined with spaces.\n";

static void on_token(const char *t, size_t n, void *ud) {
  (void)ud;
  fwrite(t, 1, n, stdout);
  fflush(stdout);
}

int cmd_ask(int argc, char **argv) {
  enum { O_MODE = 256, O_MODEL, O_JSON, O_HIDE, O_STREAM, O_NOSTREAM, O_COURSE };
  static const struct option opts[] = {
    {"index", required_argument, 0, 'i'}, {"mode", required_argument, 0, O_MODE},
    {"model", required_argument, 0, O_MODEL}, {"json", no_argument, 0, O_JSON},
    {"hide-urls", no_argument, 0, O_HIDE}, {"stream", no_argument, 0, O_STREAM},
    {"no-stream", no_argument, 0, O_NOSTREAM}, {"course", required_argument, 0, O_COURSE},
    {"precision", required_argument, 0, CLI_O_PRECISION}, {"help", no_argument, 0, 'h'}, CLI_EMBED_LONGOPTS,
    CLI_MODELS_LONGOPTS, CLI_LLM_LONGOPTS, {0, 0, 0, 0}};
  cli_embed ce = {0};
  cli_models cm = {0};
  cli_llm lo = {0};
  const char *index = NULL, *model = NULL, *precision = NULL;
  int json = 0, hide = 0, stream = -1, c;
  ar_ask_params ap = ar_ask_default_params();
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":i:k:h", opts, NULL)) != -1) {
    int e = cli_embed_opt(&ce, "ask", c, optarg);
    if (!e) e = cli_models_opt(&cm, "ask", c, optarg);
    if (!e) e = cli_llm_opt(&lo, "ask", c, optarg);
    if (e) { if (e < 0) return EXIT_USAGE; continue; }
    switch (c) {
    case 'i': index = optarg; break;
    case 'k': if (cli_parse_int("ask", "-k", optarg, 1, 1000, &ap.search.k)) return EXIT_USAGE; break;
    case O_MODE: if (cli_parse_mode("ask", usage, optarg, 0, &ap.search.mode)) return EXIT_USAGE; break;
    case O_MODEL: model = optarg; break;
    case O_COURSE: ap.search.course = optarg; break;
    case CLI_O_PRECISION: precision = optarg; break;
    case O_JSON: json = 1; break;
    case O_HIDE: hide = 1; break;
    case O_STREAM: stream = 1; break;
    case O_NOSTREAM: stream = 0; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("ask", usage, "option '%s' needs a value", argv[optind - 1]);
    default: return cli_usage_error("ask", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  index = cli_env_default(index, "AULARAG_INDEX");
  if (cli_embed_resolve(&ce, "ask", usage, &model)) return EXIT_USAGE;
  if (cli_models_resolve(&cm, "ask", usage)) return EXIT_USAGE;
  if (cli_check_embedder("ask", usage, ap.search.mode, model, &ce)) return EXIT_USAGE;
  ar_model_params mp = ar_model_default_params();
  if (cli_precision("ask", usage, precision, &mp)) return EXIT_USAGE;
  cli_llm_apply(&lo, &ap.llm, &ap.context_tokens);
  if (!index) return cli_usage_error("ask", usage, "no index: give -i INDEX or set AULARAG_INDEX");
  if (optind >= argc) return cli_usage_error("ask", usage, "no question given");
  char *q = cli_join_args(argc, argv, optind);
  if (!q) { fprintf(stderr, "aularag: out of memory\n"); return EXIT_RUNTIME; }
  const int use_llm = ap.llm.base_url && *ap.llm.base_url;
  if (stream < 0) stream = !json && isatty(STDOUT_FILENO);
  if (json) stream = 0;  /* one JSON object: nothing to show early */

  ar_error err = {0};
  ar_index *ix = NULL;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  /* The cache lives in the index: open it writable when there is something to cache, and fall
   * back to read-only (no caching) when the file is not writable. */
  ip.read_only = !(use_llm && ap.llm.use_cache);
  ar_status st = ar_index_open(index, ip, &ix, &err);
  if (st != AR_OK && !ip.read_only) {
    ip.read_only = 1;
    ar_error err2 = {0};
    if (ar_index_open(index, ip, &ix, &err2) == AR_OK) st = AR_OK;
  }
  if (st != AR_OK) { free(q); return cli_fail_index(&err, index); }
  int erc = 0;
  if (model && ap.search.mode != AR_MODE_LEXICAL &&  /* the model embeds the question for dense/hybrid */
      ar_model_load(model, mp, &ap.search.model, &err) != AR_OK)
    erc = cli_fail(&err);
  if (!erc) erc = cli_models_prefixes(&cm, ap.search.model);
  if (!erc && ap.search.mode != AR_MODE_LEXICAL) erc = cli_embed_open(&ce, ix, &ap.search.embedder);
  if (!erc) erc = cli_models_open(&cm, mp, &ap.search);
  if (erc) {
    free(q);
    ar_index_close(ix);
    ar_model_free(ap.search.model);
    cli_embed_close(&ce);
    return erc;
  }

  ar_answer a;
  memset(&a, 0, sizeof a);
  st = ar_search(ix, q, &ap.search, &a.results, &err);
  const int live = st == AR_OK && stream && use_llm;  /* segments now, then the answer as it arrives */
  if (live) {
    char *head = ar_answer_to_text(&a, hide, AR_TEXT_SEGMENTS | AR_TEXT_ANSWER);
    fputs(head ? head : "", stdout);
    fflush(stdout);
    free(head);
    ap.llm.stream = 1;
    ap.llm.on_token = on_token;
  }
  if (st == AR_OK) st = ar_answer_from_results(ix, q, &ap, &a, &err);
  free(q);
  int rc = EXIT_OK;
  if (st != AR_OK) {
    if (live) printf("\n");
    rc = cli_fail_index(&err, index);
  } else if (json) {
    char *out = ar_answer_to_json(&a, hide);
    if (out) { puts(out); free(out); }
    else { fprintf(stderr, "aularag: out of memory\n"); rc = EXIT_RUNTIME; }
  } else {
    char *out = ar_answer_to_text(&a, hide, live ? AR_TEXT_REFERENCES : AR_TEXT_ALL);
    if (out) { fputs(out, stdout); free(out); }
    else { fprintf(stderr, "aularag: out of memory\n"); rc = EXIT_RUNTIME; }
  }
  ar_answer_free(&a);
  ar_index_close(ix);
  ar_model_free(ap.search.model);
  ar_model_free(ap.search.reranker);
  cli_embed_close(&ce);
  return rc;
}
