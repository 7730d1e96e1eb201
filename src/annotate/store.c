/* store.c - the annotations: RUN/annotations/NAME.jsonl, append-only, one JSON record per line
 * {"id","label","note","annotator","time","answer_sha256"}; {"id","retract":true,...} undoes. */
#include "core/util.h"
#include "annotate/annotate.h"
#include "llm/llm.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ar_ann_name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > 64 || name[0] == '.' || !strcmp(name, AR_QUESTION_SET_ANNOTATOR)) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* ---- the run ---- */
void ar_ann_run_free(ar_ann_run *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) { ar_eval_item_free(&r->items[i]); ar_free(r->qs_labels[i]); }
  ar_free(r->items);
  ar_free(r->qs_labels);
  ar_free(r->sha);
  ar_labels_free(r->labels, r->n_labels);
  json_decref(r->report);
  ar_free(r->dir);
  memset(r, 0, sizeof *r);
}

ar_status ar_ann_run_load(const char *dir, ar_ann_run *r, ar_error *err) {
  memset(r, 0, sizeof *r);
  ar_buf path = {0};
  ar_buf_printf(&path, "%s/report.json", dir);
  if (path.oom) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  json_error_t je;
  r->report = json_load_file(path.p, 0, &je);
  if (!r->report) {
    ar_status st = access(path.p, F_OK) != 0
                       ? ar_fail(err, AR_ERR_NOTFOUND, "%s: no such file (is %s the --out folder of `aularag eval`?)", path.p, dir)
                       : ar_fail(err, AR_ERR_PARSE, "%s:%d:%d: %s", path.p, je.line, je.column, je.text);
    ar_buf_free(&path);
    return st;
  }
  ar_status st = AR_OK;
  json_t *labels = json_object_get(json_object_get(r->report, "run"), "labels");
  json_t *items = json_object_get(r->report, "items");
  size_t nl = json_array_size(labels);
  if (!json_is_array(items) || nl < 1 || nl > AR_MAX_LABELS) {
    st = ar_fail(err, AR_ERR_PARSE, "%s: not an aularag report (run.labels and items expected)", path.p);
    goto out;
  }
  r->labels = ar_calloc(nl, sizeof *r->labels);
  if (!r->labels) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto out; }
  for (size_t i = 0; i < nl; i++) {
    const char *l = json_string_value(json_array_get(labels, i));
    if (!l || !*l) { st = ar_fail(err, AR_ERR_PARSE, "%s: run.labels[%zu] is not a label", path.p, i); goto out; }
    r->labels[r->n_labels++] = ar_strdup(l);
  }
  size_t n = json_array_size(items);
  r->items = ar_calloc(n ? n : 1, sizeof *r->items);
  r->qs_labels = ar_calloc(n ? n : 1, sizeof *r->qs_labels);
  r->sha = ar_calloc(n ? n : 1, sizeof *r->sha);
  r->dir = ar_strdup(dir);
  if (!r->items || !r->qs_labels || !r->sha || !r->dir) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto out; }
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(items, i);
    char *text = json_dumps(o, JSON_COMPACT);
    ar_error e = {0};
    st = text ? ar_eval_item_from_json(text, &r->items[i], &e) : ar_fail(&e, AR_ERR_NOMEM, "out of memory");
    free(text);
    if (st) { st = ar_fail(err, st, "%s: items[%zu]: %s", path.p, i, e.msg); goto out; }
    r->n++;
    /* the question file's label: kept aside by an earlier `report` when annotations replaced "manual" */
    json_t *qs = json_object_get(o, "manual_question_set");
    if (!qs && !json_object_get(o, "annotations")) qs = json_object_get(o, "manual");
    if (json_is_string(qs)) r->qs_labels[i] = ar_strdup(json_string_value(qs));
    const char *a = r->items[i].answer && !r->items[i].error ? r->items[i].answer : "";
    ar_sha256_hex(a, strlen(a), r->sha[i]);
  }
out:
  if (st) ar_ann_run_free(r);
  ar_buf_free(&path);
  return st;
}

long ar_ann_run_find(const ar_ann_run *r, const char *id) {
  for (size_t i = 0; id && i < r->n; i++)
    if (!strcmp(r->items[i].q.id, id)) return (long)i;
  return -1;
}

/* ---- one annotator ---- */
void ar_ann_state_free(ar_ann_state *s) {
  if (!s) return;
  for (size_t i = 0; s->note && i < s->n; i++) ar_free(s->note[i]);
  ar_free(s->note);
  ar_free(s->name);
  ar_free(s->label);
  ar_free(s->stale);
  ar_free(s->stale_label);
  memset(s, 0, sizeof *s);
}

static char *ann_path(const char *dir, const char *name) {
  ar_buf b = {0};
  ar_buf_printf(&b, "%s/annotations/%s%s", dir, name ? name : "", name ? ".jsonl" : "");
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

ar_status ar_ann_state_load(const ar_ann_run *r, const char *name, ar_ann_state *s, ar_error *err) {
  memset(s, 0, sizeof *s);
  size_t n = r->n ? r->n : 1;
  s->n = r->n;
  s->name = ar_strdup(name);
  s->label = ar_malloc(n * sizeof *s->label);
  s->stale = ar_calloc(n, sizeof *s->stale);
  s->stale_label = ar_malloc(n * sizeof *s->stale_label);
  s->note = ar_calloc(n, sizeof *s->note);
  char *path = ann_path(r->dir, name);
  if (!s->name || !s->label || !s->stale || !s->stale_label || !s->note || !path) {
    ar_free(path);
    ar_ann_state_free(s);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < r->n; i++) s->label[i] = s->stale_label[i] = -1;
  char *data = NULL;
  size_t len = 0;
  if (access(path, F_OK) != 0) { ar_free(path); return AR_OK; }
  ar_status st = ar_read_file(path, &data, &len, err);
  ar_free(path);
  if (st) { ar_ann_state_free(s); return st; }
  /* replay in file order: the last record of an id decides */
  for (char *line = data, *end; line && *line; line = end ? end + 1 : NULL) {
    end = strchr(line, '\n');
    if (end) *end = 0;
    if (!*line) continue;
    json_t *o = json_loads(line, 0, NULL);
    long i = ar_ann_run_find(r, json_string_value(json_object_get(o, "id")));
    json_t *lab = json_object_get(o, "label");
    int retract = json_is_true(json_object_get(o, "retract"));
    int li = ar_label_index(json_string_value(lab), r->labels, r->n_labels);
    const char *sha = json_string_value(json_object_get(o, "answer_sha256"));
    if (!json_is_object(o) || i < 0 || (!retract && (li < 0 || !sha))) {
      s->n_bad_lines++;  /* a line cut by a crash, an id from another run, a hand edit */
      json_decref(o);
      continue;
    }
    s->n_records++;
    ar_free(s->note[i]);
    s->note[i] = NULL;
    s->label[i] = s->stale_label[i] = -1;
    s->stale[i] = 0;
    if (!retract) {
      const char *note = json_string_value(json_object_get(o, "note"));
      if (note && *note) s->note[i] = ar_strdup(note);
      if (!strcmp(sha, r->sha[i])) s->label[i] = li;
      else { s->stale[i] = 1; s->stale_label[i] = li; }  /* given to another answer text: shown, not used */
    }
    json_decref(o);
  }
  for (size_t i = 0; i < r->n; i++) { s->n_current += s->label[i] >= 0; s->n_stale += s->stale[i]; }
  ar_free(data);
  return AR_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

ar_status ar_ann_list(const char *dir, char ***names, size_t *n, ar_error *err) {
  *names = NULL;
  *n = 0;
  char *path = ann_path(dir, NULL);
  if (!path) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  DIR *d = opendir(path);
  if (!d) {
    ar_status st = errno == ENOENT ? AR_OK : ar_fail(err, AR_ERR_IO, "%s: %s", path, strerror(errno));
    ar_free(path);
    return st;
  }
  ar_free(path);
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l <= 6 || strcmp(e->d_name + l - 6, ".jsonl")) continue;
    char *name = ar_strndup(e->d_name, l - 6);
    if (!name) break;
    if (!ar_ann_name_ok(name)) { ar_free(name); continue; }
    if (*n == cap) {
      cap = cap ? 2 * cap : 8;
      char **v = ar_realloc(*names, cap * sizeof *v);
      if (!v) { ar_free(name); break; }
      *names = v;
    }
    (*names)[(*n)++] = name;
  }
  closedir(d);
  if (*n) qsort(*names, *n, sizeof **names, cmp_str);
  return AR_OK;
}

ar_status ar_ann_append(const ar_ann_run *r, const char *name, size_t item, int label, const char *note, ar_error *err) {
  if (!ar_ann_name_ok(name)) return ar_fail(err, AR_ERR_INVALID, "annotator name '%s' is not allowed", name ? name : "");
  if (item >= r->n) return ar_fail(err, AR_ERR_INVALID, "no such item");
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(r->items[item].q.id));
  if (label >= 0) {
    json_object_set_new(o, "label", json_string(r->labels[label]));
    json_object_set_new(o, "note", json_string(note ? note : ""));
  } else {
    json_object_set_new(o, "retract", json_true());
  }
  json_object_set_new(o, "annotator", json_string(name));
  json_object_set_new(o, "time", json_string(stamp));
  json_object_set_new(o, "answer_sha256", json_string(r->sha[item]));
  char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
  json_decref(o);
  char *dir = ann_path(r->dir, NULL), *path = ann_path(r->dir, name);
  ar_status st = AR_OK;
  if (!line || !dir || !path) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto out; }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) { st = ar_fail(err, AR_ERR_IO, "%s: cannot create: %s", dir, strerror(errno)); goto out; }
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) { st = ar_fail(err, AR_ERR_IO, "%s: cannot open: %s", path, strerror(errno)); goto out; }
  /* a line cut by a crash (no final newline) must not swallow this record: start on a fresh line.
   * Looking at the last byte and appending is one step under an exclusive lock: otherwise two writers
   * can both see the same end and one adds a stray empty line (test_annotate's concurrency check saw
   * 271 lines for 270 labels once). The lock goes with close(). */
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {}
  struct stat sb = {0};
  char last = '\n';
  if (fstat(fd, &sb) == 0 && sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1) last = '\n';
  ar_buf rec = {0};
  ar_buf_printf(&rec, "%s%s\n", last == '\n' ? "" : "\n", line);
  if (rec.oom) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); close(fd); goto out; }
  /* one write: O_APPEND puts the whole line at the end even with other writers on the file */
  ssize_t w;
  do w = write(fd, rec.p, rec.n); while (w < 0 && errno == EINTR);
  if (w != (ssize_t)rec.n) st = ar_fail(err, AR_ERR_IO, "%s: write failed: %s", path, w < 0 ? strerror(errno) : "short write");
  else if (fsync(fd) != 0) st = ar_fail(err, AR_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
  if (!st && sb.st_size == 0) {  /* a new file: its name must survive a crash too */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
  }
  ar_buf_free(&rec);
  close(fd);
out:
  free(line);
  ar_free(dir);
  ar_free(path);
  return st;
}
