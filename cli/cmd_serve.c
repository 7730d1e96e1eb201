/* cmd_serve.c - `aularag serve`: the HTTP API and the student page over one index. */
#include "cli.h"
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

static const char usage[] =
    "usage: aularag serve -i INDEX [--host 127.0.0.1] [--port 8080] [--model DIR] [--threads N]\n"
    "                     [-k N] [--mode auto|lexical|dense|hybrid] [--llm-url URL] [--llm-model M]\n"
    "                     [--no-cache] [--context-tokens N] [--temperature T] [--seed S] [--timeout SEC]\n"
    "                     [--retries N] [--max-connections N] [--max-per-ip N] [--idle-timeout SEC]\n"
    "                     [--search-cache N] [--course ID] [--embed-url URL --embed-model NAME]\n"
    "                     [--precision fp32|int8] [--rerank DIR [--rerank-top N]] [-v]\n"
    "\n"
    "Serves GET / (the page), GET /healthz, GET /api/search?q=&k=&mode=&course=, POST /api/ask\n"
    "{\"question\": \"...\", \"k\": 10, \"course\": \"ID\"}, GET /api/ask/stream?q= (Server-Sent Events),\n"
    "GET /api/videos and GET /api/courses; with --model also POST /v1/embeddings (OpenAI-compatible)\n"
    "and GET /v1/models.\n"
    "Listens on loopback unless --host says otherwise; stops cleanly on SIGINT/SIGTERM.\n"
    "A new snapshot (aularag snapshot) renamed onto INDEX is checked, then served without a restart.\n"
    "\n"
    "  -i, --index FILE       the index (default $AULARAG_INDEX)\n"
    "      --host HOST        address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
    "      --port N           TCP port (default 8080; 0 picks a free one, printed at start)\n"
    "      --model DIR        E5 model directory for dense/hybrid search (default $AULARAG_MODEL)\n"
    CLI_EMBED_USAGE
    "      --precision P      encoder arithmetic: fp32 (default) or int8 (default $AULARAG_PRECISION)\n"
    "      --threads N        workers: searches/answers running at once (default 4)\n"
    "  -k N                   segments per answer when a request gives none (default 10)\n"
    "      --mode MODE        default retrieval mode (default auto: hybrid with a model, else lexical)\n"
    "      --llm-url URL      OpenAI-compatible endpoint (default $AULARAG_LLM_URL; none: extractive)\n"
    "      --llm-model M      model name sent to the endpoint (default $AULARAG_LLM_MODEL)\n"
    "                         API key: $AULARAG_LLM_API_KEY, else $OPENAI_API_KEY\n"
    "      --no-cache         do not use or fill the answer cache kept in the index\n"
    "      --context-tokens N  budget for segment text in the prompt (default 6000)\n"
    "      --temperature T    default 0;  --seed S: default 42\n"
    "      --timeout SEC      whole LLM request timeout (default 120);  --retries N: default 4\n"
    "      --max-connections N  open connections in all (default 4096; idle ones cost no thread)\n"
    "      --max-per-ip N     open connections per client address (default 128)\n"
    "      --idle-timeout SEC close connections idle this long: slow clients (default 15)\n"
    "      --search-cache N   recent search responses kept in memory (default 256; 0 = off)\n"
    "      --course ID        scope of requests that name no course (course= empty: all courses)\n"
    CLI_RERANK_USAGE
    CLI_PROMPT_USAGE
    "  -v, --verbose          log every request to stderr\n"
    "  -h, --help             this help\n";

/* SIGINT/SIGTERM stop the server (ar_server_stop is async-signal-safe). Handlers go in before the
 * port opens: whoever sees the "listening" line may signal at once; until the server exists, a
 * signal is remembered and stops it as soon as it does. */
static ar_server *volatile running;
static volatile sig_atomic_t got_signal;
static void on_signal(int sig) {
  got_signal = sig;
  ar_server_stop(running);
}

static void log_line(const char *line, void *user_data) {
  (void)user_data;
  fprintf(stderr, "aularag serve: %s\n", line);
}

int cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {
      {"index", required_argument, 0, 'i'},      {"host", required_argument, 0, 'H'},
      {"port", required_argument, 0, 'p'},       {"model", required_argument, 0, 'm'},
      {"threads", required_argument, 0, 't'},    {"mode", required_argument, 0, 'M'},
      {"max-connections", required_argument, 0, 'c'}, {"max-per-ip", required_argument, 0, 'P'},
      {"idle-timeout", required_argument, 0, 'o'}, {"search-cache", required_argument, 0, 'S'},
      {"course", required_argument, 0, 'R'},     {"verbose", no_argument, 0, 'v'},
      {"precision", required_argument, 0, CLI_O_PRECISION},
      {"help", no_argument, 0, 'h'},             CLI_EMBED_LONGOPTS, CLI_MODELS_LONGOPTS, CLI_LLM_LONGOPTS,
      {0, 0, 0, 0}};
  cli_embed ce = {0};
  cli_models cm = {0};
  cli_llm lo = {0};
  ar_server_params p = ar_server_default_params();
  const char *index = NULL, *model = NULL, *precision = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":i:k:vh", opts, NULL)) != -1) {
    int e = cli_embed_opt(&ce, "serve", c, optarg);
    if (!e) e = cli_models_opt(&cm, "serve", c, optarg);
    if (!e) e = cli_llm_opt(&lo, "serve", c, optarg);
    if (e) { if (e < 0) return EXIT_USAGE; continue; }
    switch (c) {
    case 'i': index = optarg; break;
    case 'H': p.host = optarg; break;
    case 'p': if (cli_parse_int("serve", "--port", optarg, 0, 65535, &p.port)) return EXIT_USAGE; break;
    case 'm': model = optarg; break;
    case CLI_O_PRECISION: precision = optarg; break;
    case 't': if (cli_parse_int("serve", "--threads", optarg, 1, 256, &p.threads)) return EXIT_USAGE; break;
    case 'k': if (cli_parse_int("serve", "-k", optarg, 1, p.max_k, &p.ask.search.k)) return EXIT_USAGE; break;
    case 'M': if (cli_parse_mode("serve", usage, optarg, 1, &p.ask.search.mode)) return EXIT_USAGE; break;
    case 'R': p.ask.search.course = optarg; break;
    case 'c':
      if (cli_parse_int("serve", "--max-connections", optarg, 1, 100000, &p.max_connections)) return EXIT_USAGE;
      break;
    case 'P': if (cli_parse_int("serve", "--max-per-ip", optarg, 1, 100000, &p.max_per_ip)) return EXIT_USAGE; break;
    case 'o': if (cli_parse_int("serve", "--idle-timeout", optarg, 1, 3600, &p.timeout_s)) return EXIT_USAGE; break;
    case 'S': if (cli_parse_int("serve", "--search-cache", optarg, 0, 1000000, &p.search_cache)) return EXIT_USAGE; break;
    case 'v': p.verbose = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("serve", usage, "%s needs a value", argv[optind - 1]);
    default: return cli_usage_error("serve", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("serve", usage, "unexpected argument '%s'", argv[optind]);
  index = cli_env_default(index, "AULARAG_INDEX");
  if (!index) return cli_usage_error("serve", usage, "missing -i INDEX (or AULARAG_INDEX)");
  if (cli_embed_resolve(&ce, "serve", usage, &model)) return EXIT_USAGE;
  if (cli_models_resolve(&cm, "serve", usage)) return EXIT_USAGE;
  p.model_dir = model;
  ar_model_params mp = ar_model_default_params();
  if (cli_precision("serve", usage, precision, &mp)) return EXIT_USAGE;
  p.precision = mp.precision;
  cli_llm_apply(&lo, &p.ask.llm, &p.ask.context_tokens);
  p.log = log_line;
  setvbuf(stderr, NULL, _IOLBF, 0);
  /* a socket per connection: lift the soft open-file limit (often 1024) toward what --max-connections needs */
  struct rlimit rl;
  rlim_t want = (rlim_t)p.max_connections + 256;
  if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  int rc = cli_embed_open(&ce, NULL, &p.ask.search.embedder);   /* the queries' embedder, shared by the workers */
  /* other prompts than the model's files say: the encoder is loaded here and handed over as the embedder */
  ar_model *pm = NULL;
  ar_embedder pe;
  ar_error err = {0};
  if (!rc && model && (cm.prefix[0] || cm.prefix[1])) {
    if (ar_model_load(model, mp, &pm, &err) != AR_OK) rc = cli_fail(&err);
    if (!rc) rc = cli_models_prefixes(&cm, pm);
    if (!rc) { pe = ar_model_embedder(pm); p.ask.search.embedder = &pe; p.model_dir = NULL; }
  }
  if (!rc) rc = cli_models_open(&cm, mp, &p.ask.search);        /* the reranker, shared by the workers */
  if (rc) { ar_model_free(pm); cli_embed_close(&ce); return rc; }
  struct sigaction sa, old_int, old_term, old_pipe;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sa.sa_handler = SIG_IGN;   /* a client that hangs up mid-response must not kill the process */
  sigaction(SIGPIPE, &sa, &old_pipe);
  ar_server *srv = NULL;
  ar_status st = ar_server_start(index, &p, &srv, &err);
  if (st == AR_OK) {
    running = srv;
    if (got_signal) ar_server_stop(srv);  /* a signal before the server existed */
    st = ar_server_wait(srv);
    running = NULL;
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  ar_model_free(p.ask.search.reranker);
  ar_model_free(pm);
  cli_embed_close(&ce);
  return st ? cli_fail_index(&err, index) : EXIT_OK;
}
