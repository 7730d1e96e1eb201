/* server.c - `aularag annotate`: the annotation page and its JSON API over a finished eval run, on the
 * student server's machinery (daemon, limits, responses, embedded assets) with its own route table.
 *   GET /api/items        every question with this annotator's label, progress, whether still blind
 *   GET /api/items/ID     one question: answer, references, segments, reference answer, label, note
 *   POST /api/label       {"id","label","note"}: appends a label; "label": null appends a retraction */
#include "server/server.h"
#include "server/assets.h"
#include "annotate/annotate.h"
#include <jansson.h>
#include <math.h>

extern const ar_web_asset ar_annotate_assets[];
extern const size_t ar_annotate_n_assets;

typedef struct ann_srv {
  ar_ann_run run;
  const char *name;
  int show_judge;
  pthread_mutex_t mu;   /* one reader/writer of this process's view at a time (the file itself takes appends from anyone) */
} ann_srv;

ar_annotate_params ar_annotate_default_params(void) {
  ar_annotate_params p;
  memset(&p, 0, sizeof p);
  p.server = ar_server_default_params();
  p.server.port = 8090;
  p.server.max_body = 16384;
  return p;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;  /* NULL: 503 out of memory */
  json_decref(o);
  return ar_srv_send(c, status, "application/json", s);
}

/* Blind until this annotator has a current label on every question (or --show-judge). */
static int revealed(const ann_srv *a, const ar_ann_state *me) { return a->show_judge || me->n_current == a->run.n; }

static json_t *label_or_null(const ann_srv *a, int l) { return l >= 0 ? json_string(a->run.labels[l]) : json_null(); }

static json_t *items_json(const ann_srv *a, const ar_ann_state *me) {
  json_t *o = json_object(), *labels = json_array(), *items = json_array();
  for (int c = 0; c < a->run.n_labels; c++) json_array_append_new(labels, json_string(a->run.labels[c]));
  json_object_set_new(o, "annotator", json_string(a->name));
  json_object_set_new(o, "labels", labels);
  json_object_set_new(o, "blind", json_boolean(!revealed(a, me)));
  json_object_set_new(o, "total", json_integer((json_int_t)a->run.n));
  json_object_set_new(o, "done", json_integer((json_int_t)me->n_current));
  json_object_set_new(o, "stale", json_integer((json_int_t)me->n_stale));
  json_t *next = json_null();
  for (size_t i = 0; i < a->run.n; i++) {
    const ar_eval_item *it = &a->run.items[i];
    if (me->label[i] < 0 && json_is_null(next)) { json_decref(next); next = json_string(it->q.id); }
    json_array_append_new(items, json_pack("{s:s,s:s,s:o,s:b}", "id", it->q.id, "question", it->q.question,
                                           "label", label_or_null(a, me->label[i]), "stale", me->stale[i]));
  }
  json_object_set_new(o, "next_unlabelled", next);
  json_object_set_new(o, "items", items);
  return o;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *item_json(const ann_srv *a, const ar_ann_state *me, size_t i) {
  const ar_eval_item *it = &a->run.items[i];
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(it->q.id));
  json_object_set_new(o, "position", json_integer((json_int_t)i + 1));
  json_object_set_new(o, "total", json_integer((json_int_t)a->run.n));
  json_object_set_new(o, "prev", i > 0 ? json_string(a->run.items[i - 1].q.id) : json_null());
  json_object_set_new(o, "next", i + 1 < a->run.n ? json_string(a->run.items[i + 1].q.id) : json_null());
  json_object_set_new(o, "question", json_string(it->q.question));
  json_object_set_new(o, "answer", str_or_null(it->answer));
  json_object_set_new(o, "answer_kind", it->answer ? json_string(it->extractive ? "extractive" : "llm") : json_null());
  json_object_set_new(o, "error", str_or_null(it->error));
  json_object_set_new(o, "reference_answer", str_or_null(it->q.reference_answer));
  json_t *refs = json_array(), *segs = json_array();
  for (size_t j = 0; j < it->n_refs; j++) {
    const ar_reference *r = &it->refs[j];
    json_array_append_new(refs, json_pack("{s:o,s:o,s:o,s:o,s:f,s:f}", "video_id", str_or_null(r->video_id), "title",
                                          str_or_null(r->title), "url", str_or_null(r->url), "link", str_or_null(r->link),
                                          "start", r->start_s, "end", r->end_s));
  }
  for (size_t j = 0; j < it->n_hits; j++) {
    const ar_hit *h = &it->hits[j];
    char *link = ar_deep_link(h->url, h->start_s);
    json_array_append_new(segs, json_pack("{s:i,s:o,s:o,s:o,s:o,s:f,s:f,s:o}", "rank", h->rank, "video_id",
                                          str_or_null(h->video_id), "title", str_or_null(h->title), "url",
                                          str_or_null(h->url), "link", str_or_null(link), "start", h->start_s, "end",
                                          h->end_s, "text", str_or_null(h->text)));
    ar_free(link);
  }
  json_object_set_new(o, "references", refs);
  json_object_set_new(o, "segments", segs);
  json_object_set_new(o, "label", label_or_null(a, me->label[i]));
  json_object_set_new(o, "note", str_or_null(me->note[i]));
  json_object_set_new(o, "stale", json_boolean(me->stale[i]));
  json_object_set_new(o, "stale_label", label_or_null(a, me->stale_label[i]));
  int open = revealed(a, me);
  json_object_set_new(o, "blind", json_boolean(!open));
  if (open) {  /* only once this annotator is done: nothing here may anchor their own judgement */
    const ar_judgement *l = &it->label;
    json_object_set_new(o, "automated_label", l->status == AR_JUDGE_OK ? label_or_null(a, l->score < a->run.n_labels ? l->score : -1)
                                                                       : json_null());
    json_object_set_new(o, "answer_relevance", it->ar.status == AR_JUDGE_OK ? json_real(it->ar.score / 3.0) : json_null());
    json_t *others = json_object();
    if (a->run.qs_labels[i]) json_object_set_new(others, AR_QUESTION_SET_ANNOTATOR, json_string(a->run.qs_labels[i]));
    char **names = NULL;
    size_t nn = 0;
    if (ar_ann_list(a->run.dir, &names, &nn, NULL) == AR_OK)
      for (size_t k = 0; k < nn; k++) {
        ar_ann_state st;
        if (strcmp(names[k], a->name) && ar_ann_state_load(&a->run, names[k], &st, NULL) == AR_OK) {
          if (st.label[i] >= 0) json_object_set_new(others, names[k], json_string(a->run.labels[st.label[i]]));
          ar_ann_state_free(&st);
        }
        ar_free(names[k]);
      }
    ar_free(names);
    json_object_set_new(o, "others", others);
  }
  return o;
}

static enum MHD_Result post_label(ann_srv *a, struct MHD_Connection *c, const char *body, size_t len) {
  json_error_t je;
  json_t *o = json_loadb(body, len, 0, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    return ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "body must be a JSON object {\"id\", \"label\", \"note\"}");
  }
  const char *id = json_string_value(json_object_get(o, "id"));
  json_t *lab = json_object_get(o, "label"), *nt = json_object_get(o, "note");
  long i = ar_ann_run_find(&a->run, id);
  int li = json_is_string(lab) ? ar_label_index(json_string_value(lab), a->run.labels, a->run.n_labels) : -1;
  enum MHD_Result ret;
  if (i < 0) ret = ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "unknown id: %s", id ? id : "(none)");
  else if (!(json_is_null(lab) || li >= 0) || !lab)
    ret = ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "label must be one of the run's labels (or null to undo)");
  else if (nt && !json_is_null(nt) && !json_is_string(nt))
    ret = ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "note must be a string");
  else {
    ar_error err = {0};
    ar_ann_state me;
    pthread_mutex_lock(&a->mu);
    ar_status st = ar_ann_append(&a->run, a->name, (size_t)i, li, json_string_value(nt), &err);
    if (!st) st = ar_ann_state_load(&a->run, a->name, &me, &err);
    pthread_mutex_unlock(&a->mu);
    if (st) ret = ar_srv_send_error(c, ar_srv_status_for(st), "%s", err.msg);
    else {
      json_t *r = json_pack("{s:b,s:s,s:o,s:I,s:I}", "ok", 1, "id", id, "label", label_or_null(a, me.label[i]), "done",
                            (json_int_t)me.n_current, "total", (json_int_t)a->run.n);
      ar_ann_state_free(&me);
      ret = send_json(c, MHD_HTTP_OK, r);
    }
  }
  json_decref(o);
  return ret;
}

/* 405 with the Allow header HTTP asks for. */
static enum MHD_Result not_allowed(struct MHD_Connection *c, const char *allow) {
  static const char body[] = "{\"error\": \"method not allowed\"}";
  struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "Allow", allow);
  ar_srv_add_common_headers(r);
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result route(ar_srv *s, struct MHD_Connection *c, const char *url, const char *method,
                             const char *body, size_t len, int too_big) {
  ann_srv *a = s->route_ctx;
  int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  if (!strcmp(url, "/api/label")) {
    if (strcmp(method, "POST")) return not_allowed(c, "POST");
    if (too_big) return ar_srv_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes", s->p.max_body);
    return post_label(a, c, body, len);
  }
  if (!get) return not_allowed(c, "GET, HEAD");
  if (!strcmp(url, "/api/items") || !strncmp(url, "/api/items/", 11)) {
    long i = url[10] ? ar_ann_run_find(&a->run, url + 11) : 0;
    if (i < 0) return ar_srv_send_error(c, MHD_HTTP_NOT_FOUND, "unknown id: %s", url + 11);
    ar_ann_state me;
    ar_error err = {0};
    pthread_mutex_lock(&a->mu);
    ar_status st = ar_ann_state_load(&a->run, a->name, &me, &err);
    pthread_mutex_unlock(&a->mu);
    if (st) return ar_srv_send_error(c, ar_srv_status_for(st), "%s", err.msg);
    json_t *o = url[10] ? item_json(a, &me, (size_t)i) : items_json(a, &me);
    ar_ann_state_free(&me);
    return send_json(c, MHD_HTTP_OK, o);
  }
  if (!strncmp(url, "/api/", 5)) return ar_srv_send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %s", url);
  return ar_srv_static(s, c, url);
}

ar_status ar_annotate_run(const char *run_dir, const ar_annotate_params *params, volatile int *stop, ar_error *err) {
  ar_annotate_params defaults = ar_annotate_default_params();
  const ar_annotate_params *p = params ? params : &defaults;
  if (!ar_ann_name_ok(p->annotator))
    return ar_fail(err, AR_ERR_INVALID, "annotator name '%s' must be 1-64 letters, digits, '.', '_' or '-' (and not '%s')",
                   p->annotator ? p->annotator : "", AR_QUESTION_SET_ANNOTATOR);
  ann_srv *a = ar_calloc(1, sizeof *a);
  ar_srv *s = ar_calloc(1, sizeof *s);
  if (!a || !s) { ar_free(a); ar_free(s); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  ar_status st = ar_ann_run_load(run_dir, &a->run, err);
  if (st) { ar_free(a); ar_free(s); return st; }
  a->name = p->annotator;
  a->show_judge = p->show_judge;
  pthread_mutex_init(&a->mu, NULL);
  /* an unreadable annotations folder fails now, not on the first label */
  ar_ann_state me;
  st = ar_ann_state_load(&a->run, a->name, &me, err);
  char banner[300];
  if (!st) {
    snprintf(banner, sizeof banner, "annotating %zu answers of %s as %s: %zu labelled%s", a->run.n, run_dir, a->name,
             me.n_current, a->show_judge ? ", judge shown" : "");
    ar_ann_state_free(&me);
    s->p = p->server;
    s->route = route;
    s->route_ctx = a;
    s->banner = banner;
    s->assets = ar_annotate_assets;
    s->n_assets = ar_annotate_n_assets;
    st = ar_srv_serve(s, stop, err);
  }
  pthread_mutex_destroy(&a->mu);
  ar_ann_run_free(&a->run);
  ar_free(a);
  ar_free(s);
  return st;
}
