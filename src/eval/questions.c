/* questions.c - the question set: JSON Lines {id, question, manual?, reference_answer?, course?, gold?,
 * answerable?}. */
#include "core/util.h"
#include "eval/eval.h"
#include <jansson.h>
#include <math.h>

static void question_free(ar_question *q) {
  ar_free(q->id); ar_free(q->question); ar_free(q->manual); ar_free(q->reference_answer); ar_free(q->course);
  for (size_t i = 0; i < q->n_gold; i++) ar_free((char *)q->gold[i].video_id);
  ar_free(q->gold);
  memset(q, 0, sizeof *q);
}

void ar_questions_free(ar_question_set *qs) {
  if (!qs) return;
  for (size_t i = 0; i < qs->n; i++) question_free(&qs->v[i]);
  ar_free(qs->v);
  qs->v = NULL;
  qs->n = 0;
}

static int get_num(json_t *o, const char *key, double *out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_number(v)) return 0;
  *out = json_number_value(v);
  return isfinite(*out);
}

static ar_status parse_one(const char *name, int line, json_t *o, ar_question *q, ar_error *err) {
  if (!json_is_object(o)) return ar_fail(err, AR_ERR_PARSE, "%s:%d: expected a JSON object", name, line);
  json_t *id = json_object_get(o, "id"), *qu = json_object_get(o, "question");
  if (json_is_integer(id)) {
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)json_integer_value(id));
    if (!(q->id = ar_strdup(b))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  } else if (json_is_string(id) && json_string_length(id) > 0) {
    if (!(q->id = ar_strdup(json_string_value(id)))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  } else {
    return ar_fail(err, AR_ERR_PARSE, "%s:%d: \"id\" missing (expected a number or a non-empty string)", name, line);
  }
  if (!json_is_string(qu) || json_string_length(qu) == 0)
    return ar_fail(err, AR_ERR_PARSE, "%s:%d: \"question\" missing (expected a non-empty string)", name, line);
  if (!(q->question = ar_strdup(json_string_value(qu)))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  json_t *m = json_object_get(o, "manual");
  if (m && !json_is_null(m)) {
    if (!json_is_string(m)) return ar_fail(err, AR_ERR_PARSE, "%s:%d: \"manual\" must be a string label", name, line);
    if (json_string_length(m) && !(q->manual = ar_strdup(json_string_value(m))))
      return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  json_t *ra = json_object_get(o, "reference_answer");
  if (json_is_string(ra) && !(q->reference_answer = ar_strdup(json_string_value(ra))))
    return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  json_t *co = json_object_get(o, "course");
  if (co && !json_is_null(co)) {
    if (!json_is_string(co)) return ar_fail(err, AR_ERR_PARSE, "%s:%d: \"course\" must be a string (a course id)", name, line);
    if (json_string_length(co) && !(q->course = ar_strdup(json_string_value(co))))
      return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  json_t *an = json_object_get(o, "answerable");
  if (an && !json_is_null(an)) {
    if (!json_is_boolean(an))
      return ar_fail(err, AR_ERR_PARSE, "%s:%d: \"answerable\" must be true or false", name, line);
    q->unanswerable = json_is_false(an);
  }
  json_t *g = json_object_get(o, "gold");
  if (g && !json_is_null(g)) {
    if (!json_is_array(g)) return ar_fail(err, AR_ERR_PARSE, "%s:%d: \"gold\" must be an array", name, line);
    size_t n = json_array_size(g);
    q->gold = ar_calloc(n ? n : 1, sizeof *q->gold);
    if (!q->gold) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
      json_t *s = json_array_get(g, i), *vid = json_object_get(s, "video_id");
      ar_span *sp = &q->gold[i];
      if (!json_is_string(vid) || !get_num(s, "start", &sp->start_s) || !get_num(s, "end", &sp->end_s) ||
          sp->end_s < sp->start_s || sp->start_s < 0)
        return ar_fail(err, AR_ERR_PARSE,
                       "%s:%d: gold[%zu]: expected {\"video_id\": string, \"start\": s, \"end\": s} with 0 <= start <= end",
                       name, line, i);
      if (!(sp->video_id = ar_strdup(json_string_value(vid)))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
      q->n_gold++;
    }
  }
  if (!q->id || !q->question) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  return AR_OK;
}

ar_status ar_questions_parse(const char *name, const char *data, size_t len, ar_question_set *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  size_t cap = 0;
  int line = 0;
  const char *p = data, *end = data + len;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  while (p < end) {
    const char *e = memchr(p, '\n', (size_t)(end - p));
    if (!e) e = end;
    line++;
    const char *b = p;
    p = e < end ? e + 1 : end;
    while (b < e && (*b == ' ' || *b == '\t' || *b == '\r')) b++;
    if (b == e) continue;  /* blank lines are allowed */
    json_error_t je;
    json_t *o = json_loadb(b, (size_t)(e - b), JSON_REJECT_DUPLICATES, &je);
    if (!o) {
      ar_questions_free(out);
      return ar_fail(err, AR_ERR_PARSE, "%s:%d: column %d: %s", name, line, je.column, je.text);
    }
    if (out->n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      ar_question *nv = ar_realloc(out->v, nc * sizeof *nv);
      if (!nv) { json_decref(o); ar_questions_free(out); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
      out->v = nv;
      cap = nc;
    }
    ar_question *q = &out->v[out->n];
    memset(q, 0, sizeof *q);
    q->line = line;
    ar_status st = parse_one(name, line, o, q, err);
    json_decref(o);
    out->n++;
    if (st != AR_OK) { ar_questions_free(out); return st; }
    for (size_t i = 0; i + 1 < out->n; i++)
      if (!strcmp(out->v[i].id, q->id)) {
        ar_status s2 = ar_fail(err, AR_ERR_PARSE, "%s:%d: id \"%s\" repeats the id of line %d", name, line, q->id,
                               out->v[i].line);
        ar_questions_free(out);
        return s2;
      }
  }
  if (out->n == 0) return ar_fail(err, AR_ERR_PARSE, "%s: no questions (expected JSON Lines with id and question)", name);
  return AR_OK;
}

ar_status ar_questions_load(const char *path, ar_question_set *out, ar_error *err) {
  char *data;
  size_t len;
  memset(out, 0, sizeof *out);
  ar_status st = ar_read_file(path, &data, &len, err);
  if (st != AR_OK) return st;
  st = ar_questions_parse(path, data, len, out, err);
  ar_free(data);
  return st;
}
