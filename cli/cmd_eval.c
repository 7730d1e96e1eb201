/* cmd_eval.c - `aularag eval`: question set -> retrieve, answer, judge -> report.{md,json,html} + summary. */
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
  "usage: aularag eval -i INDEX --questions FILE --out DIR [--hide-urls] [-k N] [--mode hybrid|dense|lexical]\n"
  "                    [--llm-url URL] [--llm-model M] [--judge-url URL] [--judge-model M] [--labels C,P,I]\n"
  "                    [--concurrency N] [--rpm N] [--no-cache] [--bootstrap N] [--no-context]\n"
  "                    [--no-groundedness] [--tolerance SEC] [--no-resume] [--timeout SEC] [--retries N]\n"
  "                    [--model DIR | --embed-url URL --embed-model NAME] [--precision P] [--course ID] [--quiet]\n"
  "                    [--rerank DIR [--rerank-top N]]\n"
  "  -i, --index FILE     the index (default $AULARAG_INDEX)\n"
  "  --questions FILE     JSON Lines: {\"id\", \"question\", \"manual\"?, \"reference_answer\"?, \"gold\"?:\n"
  "                       [{\"video_id\", \"start\", \"end\"}], \"course\"?, \"answerable\"?} (seconds;\n"
  "                       course: that question's scope, wins over --course; answerable false:\n"
  "                       the lectures do not cover it, abstention is then judged and reported)\n"
  "  --out DIR            where report.md, report.json and report.html go (created if missing)\n"
  "  --hide-urls          'oculto' and '[Vídeo de referência oculto]()' (report format)\n"
  "  -k N                 segments retrieved per question (default 10);  --mode: as in `ask`\n"
  "  --model DIR          E5 model for dense/hybrid (default $AULARAG_MODEL)\n"
  CLI_EMBED_USAGE
  "  --course ID          retrieve only from that course, for every question (`aularag info` lists them)\n"
  CLI_PRECISION_HELP
  CLI_RERANK_USAGE
  CLI_PROMPT_USAGE
  "  --llm-url URL, --llm-model M   the answering LLM (default $AULARAG_LLM_URL, $AULARAG_LLM_MODEL);\n"
  "                       none: extractive answers\n"
  "  --judge-url URL, --judge-model M   the judge (default $AULARAG_JUDGE_URL, $AULARAG_JUDGE_MODEL, else\n"
  "                       the answering LLM; key $AULARAG_JUDGE_API_KEY, else the answering key);\n"
  "                       no LLM at all: judges are skipped and reported as such\n"
  "  --labels L           label set, best first (default C,P,I); manual labels must belong to it\n"
  "  --concurrency N      questions in flight (default 4);  --rpm N: LLM requests per minute (0 = no limit)\n"
  "  --no-cache           do not use or fill the LLM cache kept in the index\n"
  "  --bootstrap N        bootstrap draws for the 95% intervals (default 1000; 0 = none)\n"
  "  --no-context, --no-groundedness   skip the per-segment / per-sentence judges (fewer LLM calls)\n"
  "  --tolerance SEC      slack when matching retrieved segments to gold spans (default 5)\n"
  "  --no-resume          ignore DIR/progress.jsonl left by an interrupted run (start over)\n"
  "  --timeout SEC        per LLM request (default 120);  --retries N: on 429/5xx/network (default 4)\n"
  "  --context-tokens N, --temperature T, --seed S   the answering LLM's, as in `ask`\n"
  "  --quiet              no progress on stderr\n";

static int on_progress(const ar_progress *p, void *ud) {
  (void)ud;
  fprintf(stderr, "\raularag eval: %lld/%lld questions", (long long)p->done, (long long)p->total);
  if (p->done == p->total) fputc('\n', stderr);
  fflush(stderr);
  return 0;
}

int cmd_eval(int argc, char **argv) {
  enum { O_Q = 256, O_OUT, O_HIDE, O_MODE, O_MODEL, O_JURL, O_JMODEL, O_LABELS, O_CONC, O_RPM, O_BOOT, O_NOCTX,
         O_NOGROUND, O_TOL, O_NORESUME, O_QUIET, O_COURSE };
  static const struct option opts[] = {
    {"index", required_argument, 0, 'i'}, {"questions", required_argument, 0, O_Q},
    {"out", required_argument, 0, O_OUT}, {"hide-urls", no_argument, 0, O_HIDE},
    {"mode", required_argument, 0, O_MODE}, {"model", required_argument, 0, O_MODEL},
    {"judge-url", required_argument, 0, O_JURL}, {"judge-model", required_argument, 0, O_JMODEL},
    {"labels", required_argument, 0, O_LABELS}, {"concurrency", required_argument, 0, O_CONC},
    {"rpm", required_argument, 0, O_RPM}, {"bootstrap", required_argument, 0, O_BOOT},
    {"no-context", no_argument, 0, O_NOCTX}, {"no-groundedness", no_argument, 0, O_NOGROUND},
    {"tolerance", required_argument, 0, O_TOL}, {"no-resume", no_argument, 0, O_NORESUME},
    {"quiet", no_argument, 0, O_QUIET}, {"course", required_argument, 0, O_COURSE},
    {"precision", required_argument, 0, CLI_O_PRECISION}, {"help", no_argument, 0, 'h'}, CLI_EMBED_LONGOPTS,
    CLI_MODELS_LONGOPTS, CLI_LLM_LONGOPTS, {0, 0, 0, 0}};
  cli_embed ce = {0};
  cli_models cm = {0};
  cli_llm lo = {0};
  const char *index = NULL, *questions = NULL, *out = NULL, *model = NULL, *precision = NULL;
  int quiet = 0, c;
  ar_eval_params p = ar_eval_default_params();
  p.judge.base_url = NULL;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":i:k:h", opts, NULL)) != -1) {
    int e = cli_embed_opt(&ce, "eval", c, optarg);
    if (!e) e = cli_models_opt(&cm, "eval", c, optarg);
    if (!e) e = cli_llm_opt(&lo, "eval", c, optarg);
    if (e) { if (e < 0) return EXIT_USAGE; continue; }
    switch (c) {
    case 'i': index = optarg; break;
    case O_Q: questions = optarg; break;
    case O_OUT: out = optarg; break;
    case O_HIDE: p.hide_urls = 1; break;
    case 'k': if (cli_parse_int("eval", "-k", optarg, 1, 1000, &p.ask.search.k)) return EXIT_USAGE; break;
    case O_MODE: if (cli_parse_mode("eval", usage, optarg, 0, &p.ask.search.mode)) return EXIT_USAGE; break;
    case O_MODEL: model = optarg; break;
    case O_COURSE: p.ask.search.course = optarg; break;
    case CLI_O_PRECISION: precision = optarg; break;
    case O_JURL: p.judge.base_url = optarg; break;
    case O_JMODEL: p.judge.model = optarg; break;
    case O_LABELS: p.labels = optarg; break;
    case O_CONC: if (cli_parse_int("eval", "--concurrency", optarg, 1, 256, &p.concurrency)) return EXIT_USAGE; break;
    case O_RPM: if (cli_parse_int("eval", "--rpm", optarg, 0, 1000000, &p.rpm)) return EXIT_USAGE; break;
    case O_BOOT: if (cli_parse_int("eval", "--bootstrap", optarg, 0, 1000000, &p.bootstrap)) return EXIT_USAGE; break;
    case O_NOCTX: p.context_judge = 0; break;
    case O_NOGROUND: p.groundedness_judge = 0; break;
    case O_TOL: if (cli_parse_double("eval", "--tolerance", optarg, 0, 3600, &p.tolerance_s)) return EXIT_USAGE; break;
    case O_NORESUME: p.resume = 0; break;
    case O_QUIET: quiet = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("eval", usage, "option '%s' needs a value", argv[optind - 1]);
    default: return cli_usage_error("eval", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("eval", usage, "unexpected argument '%s'", argv[optind]);
  index = cli_env_default(index, "AULARAG_INDEX");
  if (cli_embed_resolve(&ce, "eval", usage, &model)) return EXIT_USAGE;
  if (cli_models_resolve(&cm, "eval", usage)) return EXIT_USAGE;
  if (cli_check_embedder("eval", usage, p.ask.search.mode, model, &ce)) return EXIT_USAGE;
  ar_model_params mp = ar_model_default_params();
  if (cli_precision("eval", usage, precision, &mp)) return EXIT_USAGE;
  if (!index) return cli_usage_error("eval", usage, "no index: give -i INDEX or set AULARAG_INDEX");
  if (!questions) return cli_usage_error("eval", usage, "no question set: give --questions FILE");
  if (!out) return cli_usage_error("eval", usage, "no output folder: give --out DIR");
  cli_llm_apply(&lo, &p.ask.llm, &p.ask.context_tokens);
  if (lo.no_cache) p.judge.use_cache = 0;  /* --no-cache, --timeout and --retries are the judge's too */
  p.judge.base_url = cli_env_default(p.judge.base_url, "AULARAG_JUDGE_URL");
  p.judge.model = cli_env_default(p.judge.model, "AULARAG_JUDGE_MODEL");
  p.judge.api_key = cli_env_default(NULL, "AULARAG_JUDGE_API_KEY");
  if (p.judge.base_url && !p.judge.api_key) p.judge.api_key = p.ask.llm.api_key;
  if (lo.timeout_s > 0) {
    p.judge.timeout_ms = p.ask.llm.timeout_ms;
    p.judge.connect_timeout_ms = p.ask.llm.connect_timeout_ms;
  }
  if (lo.set_retries) p.judge.max_retries = p.ask.llm.max_retries;
  p.ask.llm.stream = 0;
  if (!quiet && isatty(STDERR_FILENO)) p.progress = on_progress;
  char *summary = NULL;
  ar_error err = {0};
  /* one encoder for the run: it embeds each question (workers take turns on it) */
  if (model && p.ask.search.mode != AR_MODE_LEXICAL &&
      ar_model_load(model, mp, &p.ask.search.model, &err) != AR_OK)
    return cli_fail(&err);
  /* or a server, called from every worker at once (thread-safe) */
  int rc = cli_models_prefixes(&cm, p.ask.search.model);
  if (!rc && p.ask.search.mode != AR_MODE_LEXICAL) rc = cli_embed_open(&ce, NULL, &p.ask.search.embedder);
  if (!rc) rc = cli_models_open(&cm, mp, &p.ask.search);  /* shared by the workers (thread-safe) */
  if (rc) { ar_model_free(p.ask.search.model); cli_embed_close(&ce); return rc; }
  ar_status st = ar_eval_run(index, questions, out, &p, &summary, &err);
  ar_model_free(p.ask.search.model);
  ar_model_free(p.ask.search.reranker);
  cli_embed_close(&ce);
  if (st != AR_OK) return cli_fail_index(&err, index);
  if (summary) fputs(summary, stdout);
  printf("reports: %s/report.md, %s/report.json, %s/report.html\n", out, out, out);
  free(summary);
  return EXIT_OK;
}
