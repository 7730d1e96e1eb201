/* cmd_tokenize.c - `aularag tokenize`: one JSON array of token ids per stdin line (parity checks). */
#include "cli.h"
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: aularag tokenize --model DIR|FILE [--no-special] [--max-tokens N]\n"
    "\n"
    "Reads UTF-8 text from stdin and prints, for every line, one JSON array of Hugging Face token ids\n"
    "(XLM-R ids: <s>=0 ... </s>=2). Lines are split on \\n only: a \\r before it is part of the text.\n"
    "\n"
    "  --model PATH     model directory (tokenizer.json preferred, else sentencepiece.bpe.model) or either\n"
    "                   file; default $AULARAG_MODEL\n"
    "  --no-special     no <s> ... </s> around the ids\n"
    "  --max-tokens N   truncate to N ids (specials included, </s> kept last); default: no truncation\n"
    "  --json-input     each stdin line is a JSON string literal (to pass text holding \\n or NUL)\n"
    "  -h, --help       this text\n";

int cmd_tokenize(int argc, char **argv) {
  const char *model = NULL;
  int flags = AR_TOK_ADD_SPECIAL, max_tokens = 0, json_input = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); return EXIT_OK; }
    else if (!strcmp(a, "--no-special")) flags &= ~AR_TOK_ADD_SPECIAL;
    else if (!strcmp(a, "--json-input")) json_input = 1;
    else if (!strcmp(a, "--model") || !strcmp(a, "-m")) {
      if (++i >= argc) return cli_usage_error("tokenize", USAGE, "%s needs a value", a);
      model = argv[i];
    } else if (!strcmp(a, "--max-tokens")) {
      if (++i >= argc) return cli_usage_error("tokenize", USAGE, "%s needs a value", a);
      if (cli_parse_int("tokenize", a, argv[i], 1, INT_MAX / 2, &max_tokens) < 0) return EXIT_USAGE;
      flags |= AR_TOK_TRUNCATE;
    } else {
      return cli_usage_error("tokenize", USAGE, "unknown option '%s'", a);
    }
  }
  model = cli_env_default(model, "AULARAG_MODEL");
  if (!model) return cli_usage_error("tokenize", USAGE, "--model is required (or set AULARAG_MODEL)");

  ar_error err = {0};
  ar_tokenizer *tok;
  if (ar_tokenizer_load(model, &tok, &err) != AR_OK) return cli_fail(&err);

  static char outbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  char *line = NULL;
  size_t cap = 0;
  int ids_cap = (flags & AR_TOK_TRUNCATE) ? max_tokens : 1024, rc = EXIT_OK;
  int32_t *ids = malloc((size_t)ids_cap * sizeof *ids);
  if (!ids) { ar_tokenizer_free(tok); fprintf(stderr, "aularag tokenize: out of memory\n"); return EXIT_RUNTIME; }
  ssize_t n;
  char num[16];
  long lineno = 0;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    lineno++;
    if (n > 0 && line[n - 1] == '\n') n--;
    const char *text = line;
    size_t len = (size_t)n;
    json_t *js = NULL;
    if (json_input) {
      json_error_t je;
      js = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
      if (!json_is_string(js)) {
        fprintf(stderr, "aularag tokenize: stdin line %ld: expected a JSON string literal\n", lineno);
        json_decref(js);
        rc = EXIT_RUNTIME;
        break;
      }
      text = json_string_value(js);
      len = json_string_length(js);
    }
    /* encode into what we have; on -needed grow and encode again (llama_tokenize's protocol) */
    int got = ar_tokenizer_encode(tok, text, len, ids, ids_cap, flags);
    if (got < 0 && got != INT_MIN) {
      int32_t *p = realloc(ids, (size_t)-got * sizeof *p);
      if (p) { ids = p; ids_cap = -got; got = ar_tokenizer_encode(tok, text, len, ids, ids_cap, flags); }
    }
    json_decref(js);
    if (got < 0) { fprintf(stderr, "aularag tokenize: out of memory\n"); rc = EXIT_RUNTIME; break; }
    putchar('[');
    for (int i = 0; i < got; i++) {
      int l = snprintf(num, sizeof num, i ? ",%d" : "%d", (int)ids[i]);
      fwrite(num, 1, (size_t)l, stdout);
    }
    fputs("]\n", stdout);
  }
  if (ferror(stdin)) { fprintf(stderr, "aularag tokenize: error reading stdin\n"); rc = EXIT_RUNTIME; }
  if (fflush(stdout) != 0) { fprintf(stderr, "aularag tokenize: error writing stdout\n"); rc = EXIT_RUNTIME; }
  free(line);
  free(ids);
  ar_tokenizer_free(tok);
  return rc;
}
