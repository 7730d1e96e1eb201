/* cli.h - what the verbs share: exit codes, option helpers, environment defaults. */
#ifndef AR_CLI_H
#define AR_CLI_H
#include "aularag.h"
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Maps a library status to the CLI's exit code (AR_ERR_INVALID is a usage error). */
int cli_exit_code(ar_status s);
/* Prints "aularag: <msg>" to stderr and returns the exit code for err->status. */
int cli_fail(const ar_error *err);
/* Prints "aularag <verb>: <msg>\n<usage>" to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Option values: parse strictly; on error print a usage error and return -1. */
int cli_parse_int(const char *verb, const char *opt, const char *s, int lo, int hi, int *out);
int cli_parse_double(const char *verb, const char *opt, const char *s, double lo, double hi, double *out);
/* The words argv[from..argc) joined by single spaces (the question), malloc'd; NULL when out of memory. */
char *cli_join_args(int argc, char **argv, int from);
/* flag value or environment default (NULL when neither). */
const char *cli_env_default(const char *value, const char *env_name);

/* --precision fp32|int8 (getopt value CLI_O_PRECISION; default $AULARAG_PRECISION, then fp32) into
 * mp->precision; a usage error (returns -1) for anything else. */
enum { CLI_O_PRECISION = 1000 };
#define CLI_PRECISION_HELP "  --precision P        encoder arithmetic: fp32 (default) or int8 (default $AULARAG_PRECISION)\n"
int cli_precision(const char *verb, const char *usage, const char *value, ar_model_params *mp);

/* One verb per file: cli/cmd_<verb>.c */
int cmd_ingest(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
#endif
