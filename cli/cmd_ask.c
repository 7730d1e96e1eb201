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

/* Markdown link text: brackets escaped so a title cannot end the link early. */
static void put_md_text(const char *s) {
  for (; *s; s++) {
    if (*s == '[' || *s == ']' || *s == '\\') putchar('\\');
    putchar(*s);
  }
}

/* Markdown link target: spaces and parentheses percent-encoded. */
static void put_md_url(const char *s) {
  for (; *s; s++) {
    if (*s == ' ') fputs("%20", stdout);
    else if (*s == '(') fputs("%28", stdout);
    else if (*s == ')') fputs("%29", stdout);
    else putchar(*s);
  }
}

static void print_refs(const ar_answer *a, int hide) {
  printf("\n\n**Referências**:\n");
  if (!a->n_refs) printf("(nenhuma)\n");
  for (size_t i = 0; i < a->n_refs; i++) {
    const ar_reference *r = &a->refs[i];
    if (hide) { printf("- [Vídeo de referência oculto]()\n"); continue; }
    char s[16], e[16];
    ar_format_hms(r->start_s, s);
    ar_format_hms(r->end_s, e);
    fputs("- [", stdout);
    put_md_text(r->title && *r->title ? r->title : r->video_id);
    printf(" (%s–%s)](", s, e);
    put_md_url(r->link);
    fputs(")\n", stdout);
  }
}

int cmd_ask(int argc, char **argv) {
  enum { O_MODE = 256, O_MODEL, O_JSON, O_HIDE, O_NOCACHE, O_STREAM, O_NOSTREAM, O_URL, O_LMODEL, O_CTX, O_TEMP,
         O_SEED, O_TIMEOUT, O_RETRIES, O_COURSE };
  static const struct option opts[] = {
    {"index", required_argument, 0, 'i'}, {"mode", required_argument, 0, O_MODE},
    {"model", required_argument, 0, O_MODEL}, {"json", no_argument, 0, O_JSON},
    {"hide-urls", no_argument, 0, O_HIDE}, {"no-cache", no_argument, 0, O_NOCACHE},
    {"stream", no_argument, 0, O_STREAM}, {"no-stream", no_argument, 0, O_NOSTREAM},
    {"llm-url", required_argument, 0, O_URL}, {"llm-model", required_argument, 0, O_LMODEL},
    {"context-tokens", required_argument, 0, O_CTX}, {"temperature", required_argument, 0, O_TEMP},
    {"seed", required_argument, 0, O_SEED}, {"timeout", required_argument, 0, O_TIMEOUT},
    {"retries", required_argument, 0, O_RETRIES}, {"course", required_argument, 0, O_COURSE},
    {"precision", required_argument, 0, CLI_O_PRECISION}, {"help", no_argument, 0, 'h'}, CLI_EMBED_LONGOPTS,
    CLI_MODELS_LONGOPTS, {0, 0, 0, 0}};
  cli_embed ce = {0};
  cli_models cm = {0};
  const char *index = NULL, *model = NULL, *precision = NULL;
  int json = 0, hide = 0, stream = -1, c;
  double d;
  ar_ask_params ap = ar_ask_default_params();
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":i:k:h", opts, NULL)) != -1) {
    int e = cli_embed_opt(&ce, "ask", c, optarg);
    if (!e) e = cli_models_opt(&cm, "ask", c, optarg);
    if (e) { if (e < 0) return EXIT_USAGE; continue; }
    switch (c) {
    case 'i': index = optarg; break;
    case 'k': if (cli_parse_int("ask", "-k", optarg, 1, 1000, &ap.search.k)) return EXIT_USAGE; break;
    case O_MODE:
      if (!strcmp(optarg, "lexical")) ap.search.mode = AR_MODE_LEXICAL;
      else if (!strcmp(optarg, "dense")) ap.search.mode = AR_MODE_DENSE;
      else if (!strcmp(optarg, "hybrid")) ap.search.mode = AR_MODE_HYBRID;
      else return cli_usage_error("ask", usage, "--mode expects hybrid, dense or lexical, got '%s'", optarg);
      break;
    case O_MODEL: model = optarg; break;
    case O_COURSE: ap.search.course = optarg; break;
    case CLI_O_PRECISION: precision = optarg; break;
    case O_JSON: json = 1; break;
    case O_HIDE: hide = 1; break;
    case O_NOCACHE: ap.llm.use_cache = 0; break;
    case O_STREAM: stream = 1; break;
    case O_NOSTREAM: stream = 0; break;
    case O_URL: ap.llm.base_url = optarg; break;
    case O_LMODEL: ap.llm.model = optarg; break;
    case O_CTX: if (cli_parse_int("ask", "--context-tokens", optarg, 100, 10000000, &ap.context_tokens)) return EXIT_USAGE; break;
    case O_TEMP: if (cli_parse_double("ask", "--temperature", optarg, 0, 2, &ap.llm.temperature)) return EXIT_USAGE; break;
    case O_SEED: if (cli_parse_int("ask", "--seed", optarg, -2147483647, 2147483647, &ap.llm.seed)) return EXIT_USAGE; break;
    case O_TIMEOUT:
      if (cli_parse_double("ask", "--timeout", optarg, 0.001, 86400, &d)) return EXIT_USAGE;
      ap.llm.timeout_ms = (int)(d * 1000 + 0.5);
      if (ap.llm.connect_timeout_ms > ap.llm.timeout_ms) ap.llm.connect_timeout_ms = ap.llm.timeout_ms;
      break;
    case O_RETRIES: if (cli_parse_int("ask", "--retries", optarg, 0, 20, &ap.llm.max_retries)) return EXIT_USAGE; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("ask", usage, "option '%s' needs a value", argv[optind - 1]);
    default: return cli_usage_error("ask", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  index = cli_env_default(index, "AULARAG_INDEX");
  if (cli_embed_resolve(&ce, "ask", usage, &model)) return EXIT_USAGE;
  if (cli_models_resolve(&cm, "ask", usage)) return EXIT_USAGE;
  ar_model_params mp = ar_model_default_params();
  if (cli_precision("ask", usage, precision, &mp)) return EXIT_USAGE;
  ar_llm_params_from_env(&ap.llm);
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
  if (st != AR_OK) { free(q); return cli_fail(&err); }
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
    char *segs = ar_results_to_text(&a.results, hide);
    printf("%s\n%s\n**Resposta gerada pelo LLM**: ", ar_results_heading(a.results.mode), segs ? segs : "");
    fflush(stdout);
    free(segs);
    ap.llm.stream = 1;
    ap.llm.on_token = on_token;
  }
  if (st == AR_OK) st = ar_answer_from_results(ix, q, &ap, &a, &err);
  free(q);
  int rc = EXIT_OK;
  if (st != AR_OK) {
    if (live) printf("\n");
    rc = cli_fail(&err);
  } else if (json) {
    char *out = ar_answer_to_json(&a, hide);
    if (out) { puts(out); free(out); }
    else { fprintf(stderr, "aularag: out of memory\n"); rc = EXIT_RUNTIME; }
  } else {
    if (!live) {
      char *segs = ar_results_to_text(&a.results, hide);
      printf("%s\n%s\n%s %s", ar_results_heading(a.results.mode), segs ? segs : "",
             a.extractive ? "**Resposta**:" : "**Resposta gerada pelo LLM**:", a.text);
      free(segs);
    }
    print_refs(&a, hide);
  }
  ar_answer_free(&a);
  ar_index_close(ix);
  ar_model_free(ap.search.model);
  ar_model_free(ap.search.reranker);
  cli_embed_close(&ce);
  return rc;
}
