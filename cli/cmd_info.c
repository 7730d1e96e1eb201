/* cmd_info.c - `aularag info`: what an index holds (and, with --check, whether it is consistent). */
#include "cli.h"
#include "index/index.h"
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
  "usage: aularag info -i INDEX [--json] [--check] [--model M]\n"
  "Shows what the index holds, and its courses (id, title, videos, segments).\n"
  "  -i, --index FILE     the index (default $AULARAG_INDEX)\n"
  "  --json               one JSON object\n"
  "  --check              also verify it: SQLite integrity_check, references, lexical postings vs text\n"
  "                       (exit 1 when something is wrong)\n"
  "  --model M            also show the folder model M (a folder or ORG/NAME[@REV] in the Hugging Face cache)\n"
  "                       resolves to (default $AULARAG_MODEL)\n";

int cmd_info(int argc, char **argv) {
  static const struct option opts[] = {
    {"index", required_argument, 0, 'i'}, {"json", no_argument, 0, 'j'},
    {"check", no_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {"model", required_argument, 0, 'M'},
    {0, 0, 0, 0}};
  const char *index = NULL, *model = NULL;
  int json = 0, check = 0, c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":i:h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': index = optarg; break;
    case 'j': json = 1; break;
    case 'c': check = 1; break;
    case 'M': model = optarg; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("info", usage, "option '%s' needs a value", argv[optind - 1]);
    default:
      if (optopt) return cli_usage_error("info", usage, "unknown option '-%c'", optopt);
      return cli_usage_error("info", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("info", usage, "unexpected argument '%s'", argv[optind]);
  index = cli_env_default(index, "AULARAG_INDEX");
  if (!index) return cli_usage_error("info", usage, "no index: give -i INDEX or set AULARAG_INDEX");
  ar_error err = {0};
  /* the model as every verb would open it: a folder, or a Hub model resolved through the cache */
  char *model_dir = NULL;
  ar_error merr = {0};
  if ((model = cli_env_default(model, "AULARAG_MODEL")) && ar_model_resolve(model, &model_dir, &merr) != AR_OK)
    model_dir = NULL;
  ar_index *ix = NULL;
  ar_index_params ip = ar_index_default_params();
  ip.read_only = !check;  /* a check opens for writing, like ingest (an older index is upgraded first) */
  ip.create = 0;
  if (ar_index_open(index, ip, &ix, &err) != AR_OK) { free(model_dir); return cli_fail_index(&err, index); }
  ar_index_info in;
  if (ar_index_info_get(ix, &in, &err) != AR_OK) { ar_index_close(ix); free(model_dir); return cli_fail(&err); }
  ar_status cst = AR_OK;
  ar_error cerr = {0};
  if (check) cst = ar_index_check(ix, &cerr);
  char *created = NULL;
  ar_index_meta_get(ix, "created", &created, NULL);
  char *precision = NULL;   /* the encoder arithmetic the vectors were made with (NULL: none recorded) */
  ar_index_meta_get(ix, "precision", &precision, NULL);
  ar_courses cs;
  ar_status st = ar_index_courses(ix, &cs, &err);
  ar_index_close(ix);
  if (st) { free(created); free(precision); free(model_dir); return cli_fail(&err); }
  if (json) {
    json_t *o = json_pack("{s:s, s:i, s:s, s:I, s:I, s:I, s:s, s:s, s:i, s:I, s:s}", "index", index,
                          "schema_version", in.schema_version, "lang", in.lang, "videos", (json_int_t)in.n_videos,
                          "segments", (json_int_t)in.n_segments, "vectors", (json_int_t)in.n_vectors,
                          "model", in.model, "precision", precision ? precision : "", "dim", in.dim, "file_bytes", (json_int_t)in.file_bytes,
                          "created", created ? created : "");
    json_t *ca = json_array();
    for (size_t i = 0; i < cs.n; i++)
      json_array_append_new(ca, json_pack("{s:s, s:s, s:I, s:I}", "id", cs.v[i].id, "title", cs.v[i].title, "videos",
                                          (json_int_t)cs.v[i].n_videos, "segments", (json_int_t)cs.v[i].n_segments));
    if (o) json_object_set_new(o, "courses", ca);
    else json_decref(ca);
    if (o && check) json_object_set_new(o, "check", json_string(cst ? cerr.msg : "ok"));
    if (o && model) json_object_set_new(o, "model_dir", json_string(model_dir ? model_dir : merr.msg));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s) puts(s);
    free(s);
    json_decref(o);
  } else {
    printf("index:     %s\nschema:    %d\nlanguage:  %s\ncreated:   %s\nvideos:    %lld\nsegments:  %lld\n"
           "vectors:   %lld\nmodel:     %s\nprecision: %s\ndim:       %d\nsize:      %.1f MB (%lld bytes)\n",
           index, in.schema_version, in.lang, created ? created : "", (long long)in.n_videos,
           (long long)in.n_segments, (long long)in.n_vectors, in.model[0] ? in.model : "(none: lexical only)",
           precision ? precision : (in.model[0] ? "(not recorded)" : "-"), in.dim, in.file_bytes / 1e6, (long long)in.file_bytes);
    printf("courses:   %zu\n", cs.n);
    for (size_t i = 0; i < cs.n; i++)
      printf("  %s  %s  (%lld videos, %lld segments)\n", cs.v[i].id, cs.v[i].title, (long long)cs.v[i].n_videos,
             (long long)cs.v[i].n_segments);
    if (check) printf("check:     %s\n", cst ? cerr.msg : "ok");
    if (model) printf("model dir: %s\n", model_dir ? model_dir : merr.msg);
  }
  free(created);
  free(precision);
  free(model_dir);
  ar_courses_free(&cs);
  if (cst) { fprintf(stderr, "aularag: %s\n", cerr.msg); return EXIT_RUNTIME; }
  return EXIT_OK;
}
