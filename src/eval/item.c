/* item.c - one question's outcome: freeing, JSON round trip (report.json items, resume journal). */
#include "core/util.h"
#include "eval/eval.h"
#include <jansson.h>
#include <math.h>

void ar_judgement_free(ar_judgement *j) {
  if (!j) return;
  ar_free(j->raw); ar_free(j->error); ar_free(j->subject);
  memset(j, 0, sizeof *j);
}

void ar_eval_item_free(ar_eval_item *it) {
  if (!it) return;
  ar_free(it->q.id); ar_free(it->q.question); ar_free(it->q.manual); ar_free(it->q.reference_answer);
  ar_free(it->q.course);
  for (size_t i = 0; i < it->q.n_gold; i++) ar_free((char *)it->q.gold[i].video_id);
  ar_free(it->q.gold);
  ar_free(it->mode);
  for (size_t i = 0; i < it->n_hits; i++) {
    ar_hit *h = &it->hits[i];
    ar_free(h->video_id); ar_free(h->title); ar_free(h->url); ar_free(h->text);
  }
  ar_free(it->hits);
  ar_free(it->answer);
  for (size_t i = 0; i < it->n_refs; i++) {
    ar_reference *r = &it->refs[i];
    ar_free(r->video_id); ar_free(r->title); ar_free(r->url); ar_free(r->link);
  }
  ar_free(it->refs);
  ar_free(it->error);
  ar_judgement_free(&it->ar);
  ar_judgement_free(&it->label);
  ar_judgement_free(&it->abstain);
  for (size_t i = 0; i < it->n_ctx; i++) ar_judgement_free(&it->ctx[i]);
  ar_free(it->ctx);
  for (size_t i = 0; i < it->n_ground; i++) ar_judgement_free(&it->ground[i]);
  ar_free(it->ground);
  memset(it, 0, sizeof *it);
}

double ar_judgements_mean(const ar_judgement *j, size_t n, int max_score) {
  double s = 0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (j[i].status == AR_JUDGE_OK) { s += (double)j[i].score / max_score; m++; }
  return m ? s / (double)m : NAN;
}

/* ---- to JSON ---- */
/* A JSON string even from bytes that are not valid UTF-8 (each bad byte becomes U+FFFD): a stray
 * byte in a transcript or a judge's reply must not drop the field. */
static json_t *jstr(const char *s) {
  if (!s) return json_null();
  json_t *j = json_string(s);
  if (j) return j;
  ar_buf b = {0};
  ar_buf_append_utf8(&b, s, strlen(s));
  j = b.oom ? NULL : json_string(b.p ? b.p : "");
  ar_buf_free(&b);
  return j ? j : json_string("");
}
static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *judgement_json(const ar_judgement *j, int max_score, char *const *labels, int n_labels) {
  json_t *o = json_object();
  json_object_set_new(o, "status", json_string(ar_judge_status_name(j->status)));
  if (j->subject) json_object_set_new(o, "statement", jstr(j->subject));
  if (max_score > 0) {
    json_object_set_new(o, "score", j->status == AR_JUDGE_OK ? json_integer(j->score) : json_null());
    json_object_set_new(o, "normalized", j->status == AR_JUDGE_OK ? json_real((double)j->score / max_score) : json_null());
  } else {
    json_object_set_new(o, "label_index", j->status == AR_JUDGE_OK ? json_integer(j->score) : json_null());
    if (labels)
      json_object_set_new(o, "label", j->status == AR_JUDGE_OK && j->score < n_labels ? json_string(labels[j->score])
                                                                                    : json_null());
  }
  json_object_set_new(o, "raw", jstr(j->raw));
  json_object_set_new(o, "error", jstr(j->error));
  return o;
}

static json_t *usage_json(const ar_usage *u) {
  json_t *o = json_object();
  json_object_set_new(o, "calls", json_integer(u->calls));
  json_object_set_new(o, "cached", json_integer(u->cached));
  json_object_set_new(o, "failed_calls", json_integer(u->failed_calls));
  json_object_set_new(o, "prompt_tokens", json_integer(u->prompt_tokens));
  json_object_set_new(o, "completion_tokens", json_integer(u->completion_tokens));
  json_object_set_new(o, "latency_ms", json_real(u->latency_ms));
  return o;
}

static json_t *span_json(const char *video_id, double s, double e) {
  char a[16], b[16];
  ar_format_hms(s, a);
  ar_format_hms(e, b);
  json_t *o = json_object();
  json_object_set_new(o, "video_id", jstr(video_id));
  json_object_set_new(o, "start", json_real(s));
  json_object_set_new(o, "end", json_real(e));
  json_object_set_new(o, "start_hms", json_string(a));
  json_object_set_new(o, "end_hms", json_string(b));
  return o;
}

/* labels == NULL: the journal form (label stored as an index only). */
json_t *ar_eval_item_json(const ar_eval_item *it, int hide_urls, char *const *labels, int n_labels) {
  json_t *o = json_object();
  json_object_set_new(o, "index", json_integer((json_int_t)it->index));
  json_object_set_new(o, "id", jstr(it->q.id));
  json_object_set_new(o, "question", jstr(it->q.question));
  json_object_set_new(o, "manual", jstr(it->q.manual));
  json_object_set_new(o, "reference_answer", jstr(it->q.reference_answer));
  json_object_set_new(o, "course", jstr(it->q.course));
  json_object_set_new(o, "answerable", json_boolean(!it->q.unanswerable));
  json_t *g = json_array();
  for (size_t i = 0; i < it->q.n_gold; i++)
    json_array_append_new(g, span_json(it->q.gold[i].video_id, it->q.gold[i].start_s, it->q.gold[i].end_s));
  json_object_set_new(o, "gold", g);
  json_object_set_new(o, "mode", jstr(it->mode));
  json_t *segs = json_array();
  for (size_t i = 0; i < it->n_hits; i++) {
    const ar_hit *h = &it->hits[i];
    json_t *s = span_json(h->video_id, h->start_s, h->end_s);
    json_object_set_new(s, "rank", json_integer(h->rank));
    json_object_set_new(s, "corpus_id", json_integer(h->corpus_id));
    json_object_set_new(s, "score", json_real(h->score));
    json_object_set_new(s, "lexical_score", jnum(h->lexical_score));
    json_object_set_new(s, "dense_score", jnum(h->dense_score));
    json_object_set_new(s, "title", jstr(h->title));
    json_object_set_new(s, "url", hide_urls ? json_string("oculto") : jstr(h->url));
    char *link = hide_urls ? NULL : ar_deep_link(h->url, h->start_s);
    json_object_set_new(s, "link", hide_urls ? json_string("") : jstr(link));
    ar_free(link);
    json_object_set_new(s, "text", jstr(h->text));
    json_array_append_new(segs, s);
  }
  json_object_set_new(o, "segments", segs);
  json_object_set_new(o, "answer", jstr(it->answer));
  json_object_set_new(o, "answer_kind", it->answer ? json_string(it->extractive ? "extractive" : "llm") : json_null());
  json_t *refs = json_array();
  for (size_t i = 0; i < it->n_refs; i++) {
    const ar_reference *r = &it->refs[i];
    json_t *s = span_json(r->video_id, r->start_s, r->end_s);
    json_object_set_new(s, "title", jstr(r->title));
    json_object_set_new(s, "url", hide_urls ? json_string("oculto") : jstr(r->url));
    json_object_set_new(s, "link", hide_urls ? json_string("") : jstr(r->link));
    json_array_append_new(refs, s);
  }
  json_object_set_new(o, "references", refs);
  json_object_set_new(o, "error", jstr(it->error));
  json_object_set_new(o, "answer_relevance", judgement_json(&it->ar, 3, NULL, 0));
  json_object_set_new(o, "automated_label", judgement_json(&it->label, 0, labels, n_labels));
  json_object_set_new(o, "abstention", judgement_json(&it->abstain, 0, labels ? ar_abstain_labels : NULL, 2));
  json_t *cx = json_array();
  for (size_t i = 0; i < it->n_ctx; i++) json_array_append_new(cx, judgement_json(&it->ctx[i], 3, NULL, 0));
  json_object_set_new(o, "context_relevance", cx);
  json_object_set_new(o, "context_relevance_mean", jnum(ar_judgements_mean(it->ctx, it->n_ctx, 3)));
  json_t *gr = json_array();
  for (size_t i = 0; i < it->n_ground; i++) json_array_append_new(gr, judgement_json(&it->ground[i], 3, NULL, 0));
  json_object_set_new(o, "groundedness", gr);
  json_object_set_new(o, "groundedness_mean", jnum(ar_judgements_mean(it->ground, it->n_ground, 3)));
  json_object_set_new(o, "answer_usage", usage_json(&it->answer_usage));
  json_object_set_new(o, "judge_usage", usage_json(&it->judge_usage));
  json_object_set_new(o, "retrieve_ms", json_real(it->retrieve_ms));
  json_object_set_new(o, "answer_ms", json_real(it->answer_ms));
  json_object_set_new(o, "judge_ms", json_real(it->judge_ms));
  return o;
}

char *ar_eval_item_to_json(const ar_eval_item *it, int hide_urls) {
  json_t *o = ar_eval_item_json(it, hide_urls, NULL, 0);
  char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(o);
  if (!s) return NULL;
  char *r = ar_strdup(s);
  free(s);
  return r;
}

/* ---- from JSON (the journal) ---- */
static char *dup_or_null(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? ar_strdup(json_string_value(v)) : NULL;
}
static double num_or(json_t *o, const char *key, double dflt) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : dflt;
}
/* A number headed for an integer field: dflt when outside [lo, hi] (converting an out-of-range double
 * to an integer is undefined; a hand-edited or corrupt file may hold anything). */
static double int_or(json_t *o, const char *key, double dflt, double lo, double hi) {
  double x = num_or(o, key, dflt);
  return x >= lo && x <= hi ? x : dflt;
}
#define INT_RANGE -2147483648.0, 2147483647.0
#define I64_RANGE -9.2e18, 9.2e18

static void judgement_from(json_t *o, ar_judgement *j, int is_label) {
  memset(j, 0, sizeof *j);
  const char *st = json_string_value(json_object_get(o, "status"));
  j->status = !st ? AR_JUDGE_SKIPPED : !strcmp(st, "ok") ? AR_JUDGE_OK : !strcmp(st, "failed") ? AR_JUDGE_FAILED
                                                                                             : AR_JUDGE_SKIPPED;
  j->score = (int)int_or(o, is_label ? "label_index" : "score", -1, INT_RANGE);
  j->raw = dup_or_null(o, "raw");
  j->error = dup_or_null(o, "error");
  j->subject = dup_or_null(o, "statement");
}

static void usage_from(json_t *o, ar_usage *u) {
  u->calls = (int64_t)int_or(o, "calls", 0, I64_RANGE);
  u->cached = (int64_t)int_or(o, "cached", 0, I64_RANGE);
  u->failed_calls = (int64_t)int_or(o, "failed_calls", 0, I64_RANGE);
  u->prompt_tokens = (int64_t)int_or(o, "prompt_tokens", 0, I64_RANGE);
  u->completion_tokens = (int64_t)int_or(o, "completion_tokens", 0, I64_RANGE);
  u->latency_ms = num_or(o, "latency_ms", 0);
}

static ar_judgement *judgements_from(json_t *a, size_t *n) {
  *n = json_array_size(a);
  if (!*n) return NULL;
  ar_judgement *v = ar_calloc(*n, sizeof *v);
  if (!v) { *n = 0; return NULL; }
  for (size_t i = 0; i < *n; i++) judgement_from(json_array_get(a, i), &v[i], 0);
  return v;
}

ar_status ar_eval_item_from_json(const char *text, ar_eval_item *it, ar_error *err) {
  memset(it, 0, sizeof *it);
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    return ar_fail(err, AR_ERR_PARSE, "column %d: %s", je.column, o ? "expected an object" : je.text);
  }
  it->index = (size_t)int_or(o, "index", 0, 0, 9e15);
  it->q.id = dup_or_null(o, "id");
  it->q.question = dup_or_null(o, "question");
  it->q.manual = dup_or_null(o, "manual");
  it->q.reference_answer = dup_or_null(o, "reference_answer");
  it->q.course = dup_or_null(o, "course");
  it->q.unanswerable = json_is_false(json_object_get(o, "answerable"));
  json_t *g = json_object_get(o, "gold");
  if (json_array_size(g)) {
    it->q.gold = ar_calloc(json_array_size(g), sizeof *it->q.gold);
    for (size_t i = 0; it->q.gold && i < json_array_size(g); i++) {
      json_t *s = json_array_get(g, i);
      it->q.gold[i].video_id = dup_or_null(s, "video_id");
      it->q.gold[i].start_s = num_or(s, "start", 0);
      it->q.gold[i].end_s = num_or(s, "end", 0);
      it->q.n_gold++;
    }
  }
  it->mode = dup_or_null(o, "mode");
  json_t *segs = json_object_get(o, "segments");
  if (json_array_size(segs)) {
    it->hits = ar_calloc(json_array_size(segs), sizeof *it->hits);
    for (size_t i = 0; it->hits && i < json_array_size(segs); i++) {
      json_t *s = json_array_get(segs, i);
      ar_hit *h = &it->hits[i];
      h->rank = (int)int_or(s, "rank", (double)i + 1, INT_RANGE);
      h->corpus_id = (int64_t)int_or(s, "corpus_id", 0, I64_RANGE);
      h->score = num_or(s, "score", 0);
      h->lexical_score = num_or(s, "lexical_score", NAN);
      h->dense_score = num_or(s, "dense_score", NAN);
      h->video_id = dup_or_null(s, "video_id");
      h->title = dup_or_null(s, "title");
      h->url = dup_or_null(s, "url");
      h->text = dup_or_null(s, "text");
      h->start_s = num_or(s, "start", 0);
      h->end_s = num_or(s, "end", 0);
      it->n_hits++;
    }
  }
  it->answer = dup_or_null(o, "answer");
  const char *kind = json_string_value(json_object_get(o, "answer_kind"));
  it->extractive = kind && !strcmp(kind, "extractive");
  json_t *refs = json_object_get(o, "references");
  if (json_array_size(refs)) {
    it->refs = ar_calloc(json_array_size(refs), sizeof *it->refs);
    for (size_t i = 0; it->refs && i < json_array_size(refs); i++) {
      json_t *s = json_array_get(refs, i);
      ar_reference *r = &it->refs[i];
      r->video_id = dup_or_null(s, "video_id");
      r->title = dup_or_null(s, "title");
      r->url = dup_or_null(s, "url");
      r->link = dup_or_null(s, "link");
      r->start_s = num_or(s, "start", 0);
      r->end_s = num_or(s, "end", 0);
      it->n_refs++;
    }
  }
  it->error = dup_or_null(o, "error");
  judgement_from(json_object_get(o, "answer_relevance"), &it->ar, 0);
  judgement_from(json_object_get(o, "automated_label"), &it->label, 1);
  judgement_from(json_object_get(o, "abstention"), &it->abstain, 1);
  it->ctx = judgements_from(json_object_get(o, "context_relevance"), &it->n_ctx);
  it->ground = judgements_from(json_object_get(o, "groundedness"), &it->n_ground);
  usage_from(json_object_get(o, "answer_usage"), &it->answer_usage);
  usage_from(json_object_get(o, "judge_usage"), &it->judge_usage);
  it->retrieve_ms = num_or(o, "retrieve_ms", 0);
  it->answer_ms = num_or(o, "answer_ms", 0);
  it->judge_ms = num_or(o, "judge_ms", 0);
  json_decref(o);
  if (!it->q.id || !it->q.question) {
    ar_eval_item_free(it);
    return ar_fail(err, AR_ERR_PARSE, "journal item without id/question");
  }
  return AR_OK;
}
