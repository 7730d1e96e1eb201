/* api.c - the JSON endpoints: /api/search, /api/ask, /api/videos, /api/courses, /healthz, and request
 * validation. */
#include "server/server.h"
#include <errno.h>
#include <jansson.h>

static int valid_utf8(const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    if (!l) return 0;
    i += (size_t)l;
  }
  return 1;
}

unsigned ar_srv_query_make(const ar_srv *s, const char *q, const char *k, const char *mode, const char *course,
                           ar_srv_query *out, char *msg, size_t msg_size) {
  memset(out, 0, sizeof *out);
  out->k = s->p.ask.search.k > 0 ? AR_MIN(s->p.ask.search.k, s->p.max_k) : 10;
  out->mode = s->p.ask.search.mode;
  /* trim, so "   " counts as missing */
  while (q && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
  size_t n = q ? strlen(q) : 0;
  while (n && (q[n - 1] == ' ' || q[n - 1] == '\t' || q[n - 1] == '\n' || q[n - 1] == '\r')) n--;
  if (!n) { snprintf(msg, msg_size, "missing question: pass it as q (or \"question\" in the JSON body)"); return 400; }
  if (n > s->p.max_question) {
    snprintf(msg, msg_size, "question is %zu bytes long; the limit is %zu", n, s->p.max_question);
    return 400;
  }
  if (!valid_utf8(q, n)) { snprintf(msg, msg_size, "question is not valid UTF-8"); return 400; }
  if (k && *k) {
    char *end;
    errno = 0;
    long v = strtol(k, &end, 10);
    if (*end || errno || v < 1 || v > s->p.max_k) {
      snprintf(msg, msg_size, "k must be an integer in [1, %d], got '%.40s'", s->p.max_k, k);
      return 400;
    }
    out->k = (int)v;
  }
  if (mode && *mode) {
    if (ar_search_mode_parse(mode, &out->mode, NULL) != AR_OK) {
      snprintf(msg, msg_size, "mode must be lexical, dense, hybrid or auto, got '%.40s'", mode);
      return 400;
    }
  }
  if (out->mode == AR_MODE_DENSE || out->mode == AR_MODE_HYBRID) {
    if (!s->has_emb) {
      snprintf(msg, msg_size, "mode %s needs an embedder: start the server with --model DIR or --embed-url URL",
               ar_search_mode_name(out->mode));
      return 400;
    }
    if (!s->has_vectors) {
      snprintf(msg, msg_size, "mode %s needs vectors, and this index has none (ingest with --model)",
               ar_search_mode_name(out->mode));
      return 400;
    }
    out->use_model = 1;
  } else if (out->mode == AR_MODE_AUTO) {
    out->use_model = s->has_emb && s->has_vectors;
  }
  if (!course) course = s->p.ask.search.course;
  if (course && (strlen(course) > 256 || !valid_utf8(course, strlen(course)))) {
    snprintf(msg, msg_size, "course must be a course id (GET /api/courses lists them)");
    return 400;
  }
  out->question = ar_strndup(q, n);
  if (course && *course && !(out->course = ar_strdup(course))) ar_srv_query_free(out);
  if (!out->question) { snprintf(msg, msg_size, "out of memory"); return 503; }
  return 0;
}

void ar_srv_query_free(ar_srv_query *q) {
  ar_free(q->question);
  ar_free(q->course);
  q->question = q->course = NULL;
}

ar_search_params ar_srv_search_params(const ar_srv *s, const ar_srv_query *q) {
  ar_search_params sp = s->p.ask.search;
  sp.k = q->k;
  sp.mode = q->mode;
  sp.model = NULL;
  sp.embedder = q->use_model ? &s->emb : NULL;
  sp.course = q->course;
  if (!q->use_model && sp.mode == AR_MODE_AUTO) sp.mode = AR_MODE_LEXICAL;
  return sp;
}

ar_status ar_srv_answer(ar_srv *s, const ar_srv_query *q, const ar_llm_params *llm,
                        void (*on_results)(const ar_results *r, void *user_data), void *user_data,
                        ar_answer *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  ar_ask_params ap = s->p.ask;
  ap.search = ar_srv_search_params(s, q);
  ap.llm = *llm;
  ar_worker *w = ar_srv_worker_get(&s->search);
  ar_status st = ar_search(w->ix, q->question, &ap.search, &out->results, err);
  ar_srv_worker_put(&s->search, w);
  if (st) return st;
  if (on_results) on_results(&out->results, user_data);
  w = ar_srv_worker_get(&s->answer);
  ap.llm.cache = ar_index_llm_cache(w->ix);
  st = ar_answer_from_results(w->ix, q->question, &ap, out, err);
  ar_srv_worker_put(&s->answer, w);
  return st;
}

static const char *arg(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

enum MHD_Result ar_srv_api_search(ar_srv *s, struct MHD_Connection *c) {
  ar_srv_query q;
  char msg[256];
  unsigned code = ar_srv_query_make(s, arg(c, "q"), arg(c, "k"), arg(c, "mode"), arg(c, "course"), &q, msg, sizeof msg);
  if (code) return ar_srv_send_error(c, code, "%s", msg);
  ar_search_params sp = ar_srv_search_params(s, &q);
  ar_buf key = {0};
  unsigned long gen = 0;
  if (s->cache) {
    /* the course's length first, so no course id and question can run together into another key */
    ar_buf_printf(&key, "%d %d %zu:%s %s", (int)sp.mode, sp.k, q.course ? strlen(q.course) : 0, q.course ? q.course : "",
                  q.question);
    char *hit = key.oom ? NULL : ar_srv_cache_get(s->cache, key.p, &gen);
    if (hit) {
      ar_buf_free(&key);
      ar_srv_query_free(&q);
      return ar_srv_send(c, MHD_HTTP_OK, "application/json", hit);
    }
  }
  ar_results res;
  ar_error err = {0};
  ar_worker *w = ar_srv_worker_get(&s->search);
  ar_status st = ar_search(w->ix, q.question, &sp, &res, &err);
  ar_srv_worker_put(&s->search, w);
  ar_srv_query_free(&q);
  if (st) {
    ar_buf_free(&key);
    if (ar_srv_status_for(st) >= 500) ar_srv_log(s, "search failed: %s", err.msg);
    return ar_srv_send_error(c, ar_srv_status_for(st), "%s", err.msg[0] ? err.msg : ar_strerror(st));
  }
  char *json = ar_results_to_json(&res, 0);
  ar_results_free(&res);
  if (key.p && !key.oom) ar_srv_cache_put(s->cache, key.p, json, gen);
  ar_buf_free(&key);
  return ar_srv_send(c, MHD_HTTP_OK, "application/json", json);
}

enum MHD_Result ar_srv_api_ask(ar_srv *s, struct MHD_Connection *c, const char *body, size_t len) {
  json_error_t je;
  json_t *in = json_loadb(body, len, 0, &je);
  if (!in || !json_is_object(in)) {
    json_decref(in);
    if (!in)
      return ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "request body is not valid JSON: %s (line %d, column %d)",
                               je.text, je.line, je.column);
    return ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "request body must be a JSON object like {\"question\": \"...\"}");
  }
  json_t *jq = json_object_get(in, "question"), *jk = json_object_get(in, "k"), *jm = json_object_get(in, "mode"),
         *jc = json_object_get(in, "course");
  const char *bad = jq && !json_is_string(jq) ? "question must be a string"
                    : jk && !json_is_integer(jk) && !json_is_null(jk) ? "k must be an integer"
                    : jm && !json_is_string(jm) && !json_is_null(jm) ? "mode must be a string"
                    : jc && !json_is_string(jc) && !json_is_null(jc) ? "course must be a string" : NULL;
  if (bad) { json_decref(in); return ar_srv_send_error(c, MHD_HTTP_BAD_REQUEST, "%s", bad); }
  char kbuf[32] = "";
  if (jk && json_is_integer(jk)) snprintf(kbuf, sizeof kbuf, "%" JSON_INTEGER_FORMAT, json_integer_value(jk));
  ar_srv_query q;
  char msg[256];
  unsigned code = ar_srv_query_make(s, jq ? json_string_value(jq) : NULL, kbuf, jm ? json_string_value(jm) : NULL,
                                    jc && json_is_string(jc) ? json_string_value(jc) : NULL, &q, msg, sizeof msg);
  json_decref(in);
  if (code) return ar_srv_send_error(c, code, "%s", msg);

  ar_llm_params llm = s->p.ask.llm;
  llm.stream = 0;
  llm.on_token = NULL;
  ar_answer ans;
  ar_error err = {0};
  ar_status st = ar_srv_answer(s, &q, &llm, NULL, NULL, &ans, &err);
  ar_srv_query_free(&q);
  if (st) {
    ar_answer_free(&ans);
    if (ar_srv_status_for(st) >= 500) ar_srv_log(s, "ask failed: %s", err.msg);
    return ar_srv_send_error(c, ar_srv_status_for(st), "%s", err.msg[0] ? err.msg : ar_strerror(st));
  }
  char *json = ar_answer_to_json(&ans, 0);
  ar_answer_free(&ans);
  return ar_srv_send(c, MHD_HTTP_OK, "application/json", json);
}

enum MHD_Result ar_srv_api_videos(ar_srv *s, struct MHD_Connection *c) {
  char *json = NULL;
  ar_error err = {0};
  ar_status st = ar_srv_videos_json(s->index_path, &json, &err);
  if (st) {
    ar_srv_log(s, "videos failed: %s", err.msg);
    return ar_srv_send_error(c, ar_srv_status_for(st), "%s", err.msg);
  }
  return ar_srv_send(c, MHD_HTTP_OK, "application/json", json);
}

enum MHD_Result ar_srv_api_courses(ar_srv *s, struct MHD_Connection *c) {
  ar_courses cs;
  ar_error err = {0};
  ar_worker *w = ar_srv_worker_get(&s->search);
  ar_status st = ar_index_courses(w->ix, &cs, &err);
  ar_srv_worker_put(&s->search, w);
  if (st) {
    ar_srv_log(s, "courses failed: %s", err.msg);
    return ar_srv_send_error(c, ar_srv_status_for(st), "%s", err.msg);
  }
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < cs.n; i++)
    json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "id", cs.v[i].id, "title", cs.v[i].title, "videos",
                                         (json_int_t)cs.v[i].n_videos, "segments", (json_int_t)cs.v[i].n_segments));
  ar_courses_free(&cs);
  char *body = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
  json_decref(arr);
  return ar_srv_send(c, MHD_HTTP_OK, "application/json", body);
}

enum MHD_Result ar_srv_api_health(ar_srv *s, struct MHD_Connection *c) {
  ar_index_info info;
  ar_error err = {0};
  ar_worker *w = ar_srv_worker_get(&s->search);
  ar_status st = ar_index_info_get(w->ix, &info, &err);
  ar_srv_worker_put(&s->search, w);
  if (st) return ar_srv_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err.msg);
  int dense = s->has_emb && s->has_vectors;
  json_t *modes = json_array();
  json_array_append_new(modes, json_string("lexical"));
  if (dense) { json_array_append_new(modes, json_string("dense")); json_array_append_new(modes, json_string("hybrid")); }
  json_array_append_new(modes, json_string("auto"));
  /* the source of the query vectors: "local" (the encoder) or "api" (an embeddings server) */
  json_t *src = !s->has_emb ? json_null() : json_string(strncmp(s->emb.fingerprint, "api:", 4) ? "local" : "api");
  const char *course = s->p.ask.search.course;
  json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:o, s:o, s:o, s:s, s:i, s:o}", "status", "ok",
                        "version", AR_VERSION, "videos", (json_int_t)info.n_videos, "segments",
                        (json_int_t)info.n_segments, "vectors", (json_int_t)info.n_vectors, "lang", info.lang,
                        "model", s->has_emb ? json_string(s->emb.fingerprint) : json_null(), "embedder", src, "modes",
                        modes, "answers",
                        s->p.ask.llm.base_url && *s->p.ask.llm.base_url ? "llm" : "extractive", "workers",
                        s->p.threads, "course", course && *course ? json_string(course) : json_null());
  char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return ar_srv_send(c, MHD_HTTP_OK, "application/json", body);
}
