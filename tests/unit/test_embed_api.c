/* test_embed_api.c - ar_embed_api against the scripted server (tests/llm_server.py /v1/embeddings):
 * request bodies and prefixes, float and base64 replies, ordering by index, batches and concurrency,
 * retries (429 + Retry-After, 500s), every malformed reply a clear error that names the endpoint and
 * never the key, and ingest writing only complete batches. */
#include "test.h"
#include "embed/embed.h"
#include "index/vectors.h"
#include "llm_test_server.h"

#define KEY "sk-EMBED-SECRET-42"

static ar_embed_api_params params(const llm_srv *s, int dim) {
  ar_embed_api_params p = ar_embed_api_default_params();
  p.base_url = s->url;
  p.model = "e5-teste";
  p.api_key = KEY;
  p.dim = dim;
  p.retry_base_ms = 20;
  p.timeout_ms = 10000;
  return p;
}

static const char *TEXTS[] = {"Bom dia, pessoal", "o TensorFlow enxerga as GPUs", "retropropagação",
                              "Bom dia, pessoal", "dispositivos visíveis", "ção ção", "última frase"};
enum { NT = 7 };

/* Embeds TEXTS with the given server script and params; 0 on success (vectors in out). */
static ar_status run(const char *script, ar_embed_api_params *pp, int dim_given, float *out, ar_error *e,
                     json_t **log) {
  llm_srv s;
  if (llm_srv_start(&s, script)) return AR_ERR_IO;
  ar_embed_api_params p = params(&s, dim_given);
  if (pp) { pp->base_url = p.base_url; pp->model = p.model; pp->api_key = p.api_key; pp->dim = dim_given; p = *pp; }
  ar_embed_api *a = NULL;
  ar_status st = ar_embed_api_open(&p, &a, e);
  if (!st) {
    ar_embedder em = ar_embed_api_embedder(a);
    st = em.embed(em.ctx, AR_EMBED_PASSAGE, TEXTS, NT, out, e);
  }
  ar_embed_api_free(a);
  if (log) *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  return st;
}

TEST(embed_api_float_batches_prefix_and_probe) {
  float v[NT * 16];
  ar_error e = {0};
  json_t *log = NULL;
  ar_embed_api_params p = ar_embed_api_default_params();
  p.batch = 3;
  p.concurrency = 1;
  ar_status st = run("{}", &p, 0, v, &e, &log);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  /* one probe (the dimension) + ceil(7/3) batches, each with the passage prefix and our model */
  ASSERT_EQ_INT(json_array_size(log), 4);
  json_t *q0 = json_array_get(log, 0), *q1 = json_array_get(log, 1), *q3 = json_array_get(log, 3);
  ASSERT_STREQ(json_string_value(json_object_get(q1, "path")), "/v1/embeddings");
  ASSERT_STREQ(json_string_value(json_object_get(json_object_get(q1, "headers"), "authorization")), "Bearer " KEY);
  json_t *b0 = json_object_get(q0, "body"), *b1 = json_object_get(q1, "body"), *b3 = json_object_get(q3, "body");
  ASSERT_EQ_INT(json_array_size(json_object_get(b0, "input")), 1);
  ASSERT_STREQ(json_string_value(json_object_get(b1, "model")), "e5-teste");
  ASSERT_STREQ(json_string_value(json_object_get(b1, "encoding_format")), "float");
  ASSERT_EQ_INT(json_array_size(json_object_get(b1, "input")), 3);
  ASSERT_STREQ(json_string_value(json_array_get(json_object_get(b1, "input"), 2)), "passage: retropropagação");
  ASSERT_EQ_INT(json_array_size(json_object_get(b3, "input")), 1);
  ASSERT_STREQ(json_string_value(json_array_get(json_object_get(b3, "input"), 0)), "passage: última frase");
  json_decref(log);
  /* unit vectors; equal texts get equal vectors, different texts different ones */
  for (int i = 0; i < NT; i++) {
    double s = 0;
    for (int j = 0; j < 16; j++) s += (double)v[i * 16 + j] * v[i * 16 + j];
    ASSERT_NEAR(s, 1, 1e-5);
  }
  ASSERT(!memcmp(v, v + 3 * 16, 16 * sizeof *v));
  ASSERT(memcmp(v, v + 1 * 16, 16 * sizeof *v));
}

TEST(embed_api_base64_reversed_and_concurrent_match_plain) {
  float plain[NT * 16], b64[NT * 16], rev[NT * 16], conc[NT * 16];
  ar_error e = {0};
  json_t *log = NULL;
  ar_embed_api_params p = ar_embed_api_default_params();
  p.batch = 2;
  p.concurrency = 1;
  ASSERT_MSG(run("{}", &p, 16, plain, &e, NULL) == AR_OK, "%s", e.msg);
  p.base64 = 1;
  ASSERT_MSG(run("{}", &p, 16, b64, &e, &log) == AR_OK, "%s", e.msg);
  ASSERT_STREQ(json_string_value(json_object_get(json_object_get(json_array_get(log, 0), "body"), "encoding_format")),
               "base64");
  json_decref(log);
  ASSERT(!memcmp(plain, b64, sizeof plain));
  /* data[] in reverse order (and base64 sent to a float request): put back by index */
  p.base64 = 0;
  ASSERT_MSG(run("{\"embed_default\": {\"reverse\": true, \"encoding\": \"base64\"}}", &p, 16, rev, &e, NULL) == AR_OK,
             "%s", e.msg);
  ASSERT(!memcmp(plain, rev, sizeof plain));
  /* no index at all: the position is the index */
  ASSERT_MSG(run("{\"embed_default\": {\"no_index\": true}}", &p, 16, rev, &e, NULL) == AR_OK, "%s", e.msg);
  ASSERT(!memcmp(plain, rev, sizeof plain));
  /* 4 batches, 4 in flight: the same vectors in the same places, and the requests really overlap (each
   * takes 0.5 s at the server; one after the other they would arrive >= 0.5 s apart) */
  p.concurrency = 4;
  ASSERT_MSG(run("{\"embed_default\": {\"delay_s\": 0.5}}", &p, 16, conc, &e, &log) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(json_array_size(log), 4);
  double t_min = 1e300, t_max = 0;
  for (size_t i = 0; i < 4; i++) {
    double t = json_number_value(json_object_get(json_array_get(log, i), "t"));
    t_min = AR_MIN(t_min, t);
    t_max = AR_MAX(t_max, t);
  }
  json_decref(log);
  ASSERT_MSG(t_max - t_min < 0.45, "the 4 requests arrived over %.2f s", t_max - t_min);
  ASSERT(!memcmp(plain, conc, sizeof plain));
}

TEST(embed_api_retries_429_retry_after_and_500s) {
  float v[NT * 16];
  ar_error e = {0};
  json_t *log = NULL;
  ar_embed_api_params p = ar_embed_api_default_params();
  p.batch = 8;
  double t0 = ar_now_s();
  ar_status st = run("{\"embeddings\": [{\"status\": 429, \"headers\": {\"Retry-After\": \"1\"}}]}", &p, 16, v, &e, &log);
  double el = ar_now_s() - t0;
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(json_array_size(log), 2);
  json_decref(log);
  ASSERT_MSG(el >= 0.95, "waited %.2f s, Retry-After said 1", el);
  st = run("{\"embeddings\": [{\"status\": 500, \"times\": 2}, {\"status\": 503}]}", &p, 16, v, &e, &log);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(json_array_size(log), 4);
  json_decref(log);
  /* always failing: gives up after 1 + max_retries, names the endpoint and the status, never the key */
  p.max_retries = 2;
  st = run("{\"embed_default\": {\"status\": 500}}", &p, 16, v, &e, &log);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(json_array_size(log), 3);
  json_decref(log);
  ASSERT_MSG(strstr(e.msg, "/v1/embeddings") && strstr(e.msg, "HTTP 500") && strstr(e.msg, "3 attempts"), "%s", e.msg);
  ASSERT(!strstr(e.msg, KEY));
  /* a 400 is not retried */
  st = run("{\"embed_default\": {\"status\": 400}}", &p, 16, v, &e, &log);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(json_array_size(log), 1);
  json_decref(log);
  /* nobody listening: a connection error naming the endpoint */
  ar_embed_api_params q = ar_embed_api_default_params();
  q.base_url = "http://127.0.0.1:1";
  q.model = "m";
  q.max_retries = 1;
  q.retry_base_ms = 1;
  ar_embed_api *a = NULL;
  ASSERT_EQ_INT(ar_embed_api_open(&q, &a, &e), AR_ERR_HTTP);
  ASSERT_MSG(strstr(e.msg, "http://127.0.0.1:1/v1/embeddings"), "%s", e.msg);
}

TEST(embed_api_bad_replies_are_clear_errors) {
  float v[NT * 16];
  ar_error e = {0};
  ar_embed_api_params p = ar_embed_api_default_params();
  p.batch = 4;
  p.concurrency = 1;
  struct { const char *script; ar_status want; const char *says; } cases[] = {
    {"{\"embed_default\": {\"dim\": 8}}", AR_ERR_MISMATCH, "has 8 values, expected 16"},
    {"{\"embed_default\": {\"drop\": 1}}", AR_ERR_PARSE, "3 vectors for 4 inputs"},
    {"{\"embed_default\": {\"poison\": \"nan\", \"encoding\": \"base64\"}}", AR_ERR_MODEL, "not finite"},
    {"{\"embed_default\": {\"poison\": \"inf\", \"encoding\": \"base64\"}}", AR_ERR_MODEL, "not finite"},
    {"{\"embed_default\": {\"poison\": \"huge\"}}", AR_ERR_MODEL, "not finite"},
    {"{\"embed_default\": {\"poison\": \"nan\"}}", AR_ERR_PARSE, "not valid JSON"},   /* NaN is not JSON */
    {"{\"embed_default\": {\"body\": \"<html>bad gateway</html>\"}}", AR_ERR_PARSE, "not valid JSON"},
    {"{\"embed_default\": {\"body\": \"{\\\"data\\\": 3}\"}}", AR_ERR_PARSE, "no \"data\" array"},
  };
  int nc = (int)AR_ARRAY_LEN(cases);
  for (int i = 0; i < nc; i++) {
    json_t *log = NULL;
    ar_status st = run(cases[i].script, &p, 16, v, &e, &log);
    json_decref(log);
    ASSERT_MSG(st == cases[i].want, "case %d: status %d, %s", i, st, e.msg);
    ASSERT_MSG(strstr(e.msg, cases[i].says) && strstr(e.msg, "/v1/embeddings"), "case %d: %s", i, e.msg);
    ASSERT(!strstr(e.msg, KEY));
  }
  /* the dimension of the first reply holds for the whole run: a later batch with another one fails */
  json_t *log = NULL;
  ar_status st = run("{\"embeddings\": [{\"match\": \"dispositivos\", \"dim\": 24}]}", &p, 0, v, &e, &log);
  json_decref(log);
  ASSERT_EQ_INT(st, AR_ERR_MISMATCH);
  ASSERT_MSG(strstr(e.msg, "has 24 values, expected 16"), "%s", e.msg);
}

TEST(embed_api_reply_parser_edge_cases) {
  ar_error e;
  float *v = NULL;
  int dim = 0;
  /* repeated index, index out of range, a non-number, empty vector, zero vector */
  const char *bad[] = {
    "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":0,\"embedding\":[1,2]}]}",
    "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":2,\"embedding\":[1,2]}]}",
    "{\"data\":[{\"index\":0,\"embedding\":[1,\"x\"]},{\"index\":1,\"embedding\":[1,2]}]}",
    "{\"data\":[{\"index\":0,\"embedding\":[]},{\"index\":1,\"embedding\":[1,2]}]}",
    "{\"data\":[{\"index\":0,\"embedding\":[0,0]},{\"index\":1,\"embedding\":[1,2]}]}",
    "{\"data\":[{\"index\":0,\"embedding\":\"AAA\"},{\"index\":1,\"embedding\":[1,2]}]}",
  };
  for (size_t i = 0; i < AR_ARRAY_LEN(bad); i++) {
    dim = 0;
    ar_status st = ar_embed_parse_reply(bad[i], strlen(bad[i]), 2, &dim, &v, "EP", &e);
    ASSERT_MSG(st != AR_OK && !v, "case %zu accepted", i);
    ASSERT_MSG(!strncmp(e.msg, "EP: ", 4), "%s", e.msg);
  }
  /* base64 of [3, 4] little-endian float32, unpadded and URL-safe alphabets accepted; normalised */
  const char *ok = "{\"data\":[{\"index\":1,\"embedding\":[0,-2]},{\"index\":0,\"embedding\":\"AABAQAAAgEA=\"}]}";
  dim = 0;
  ASSERT_MSG(ar_embed_parse_reply(ok, strlen(ok), 2, &dim, &v, "EP", &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(dim, 2);
  ASSERT_NEAR(v[0], 0.6, 1e-7);
  ASSERT_NEAR(v[1], 0.8, 1e-7);
  ASSERT_NEAR(v[2], 0, 0);
  ASSERT_NEAR(v[3], -1, 0);
  ar_free(v);
  /* a unit vector (as an encoder normalises it) comes back bit for bit: scaling by (float)(1/|x|), here
   * 0.99999994f, would change it, and a server running our encoder must equal the local one */
  const char *unit = "{\"data\":[{\"index\":0,\"embedding\":\"kQomP3TZQr8=\"}]}";
  const float want[2] = {0.6485987305641174f, -0.7611305713653564f};
  dim = 0;
  ASSERT_MSG(ar_embed_parse_reply(unit, strlen(unit), 1, &dim, &v, "EP", &e) == AR_OK, "%s", e.msg);
  ASSERT_MSG(!memcmp(v, want, sizeof want), "unit vector changed: %.9g %.9g", v[0], v[1]);
  ar_free(v);
  unsigned char b[8];
  ASSERT_EQ_INT(ar_base64_decode("AABAQAAAgEA", 11, b), 8);
  ASSERT_EQ_INT(ar_base64_decode("AA=A", 4, b), -1);
  ASSERT_EQ_INT(ar_base64_decode("A", 1, b), -1);
  /* the endpoint, whatever form the base URL takes */
  const char *bases[][2] = {{"http://h:1", "http://h:1/v1/embeddings"}, {"http://h:1/v1/", "http://h:1/v1/embeddings"},
                            {"http://h:1/api/v1/embeddings", "http://h:1/api/v1/embeddings"}};
  for (size_t i = 0; i < AR_ARRAY_LEN(bases); i++) {
    char *ep = ar_embed_endpoint(bases[i][0]);
    ASSERT_STREQ(ep, bases[i][1]);
    ar_free(ep);
  }
  /* no model, no URL: invalid, before any request */
  ar_embed_api_params p = ar_embed_api_default_params();
  ar_embed_api *a = NULL;
  p.base_url = "http://127.0.0.1:1";
  ASSERT_EQ_INT(ar_embed_api_open(&p, &a, &e), AR_ERR_INVALID);
  p.base_url = NULL;
  p.model = "m";
  ASSERT_EQ_INT(ar_embed_api_open(&p, &a, &e), AR_ERR_INVALID);
}

/* ---- with an index ---- */

static int put_video(ar_index *ix, const char *vid, int n) {
  ar_segments s = {0};
  s.v = calloc((size_t)n, sizeof *s.v);
  s.n = s.cap = (size_t)n;
  char buf[64];
  for (int i = 0; i < n; i++) {
    static const char *topic[] = {"gpu", "tensores", "gradiente", "perdas", "dados"};
    snprintf(buf, sizeof buf, "%s segmento %d sobre %s", vid, i, topic[i % 5]);
    s.v[i] = (ar_segment){30.0 * i, 30.0 * i + 40, strdup(buf), (size_t)i, 1};
  }
  ar_video v = {.video_id = vid, .title = vid, .url = "", .source_path = "test"};
  ar_error err;
  ar_status st = ar_index_put_video(ix, &v, &s, &err);
  for (int i = 0; i < n; i++) free(s.v[i].text);
  free(s.v);
  return st == AR_OK;
}

static int64_t count(ar_index *ix, const char *sql) {
  sqlite3_stmt *q;
  int64_t n = -1;
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

TEST(embed_api_ingest_keeps_only_complete_batches) {
  char path[512];
  snprintf(path, sizeof path, "%s/ix.db", test_tmpdir());
  ar_index *ix = NULL;
  ar_error e = {0};
  ASSERT(ar_index_open(path, ar_index_default_params(), &ix, &e) == AR_OK);
  ASSERT(put_video(ix, "aula1", 10));
  llm_srv s;
  /* the 3rd request (the 2nd group of 4 segments) gets a reply one vector short */
  ASSERT(llm_srv_start(&s, "{\"dim\": 64, \"embeddings\": [{\"match\": \"aula1 segmento 5 \", \"drop\": 1}]}") == 0);
  ar_embed_api_params p = params(&s, 0);
  p.batch = 2;
  p.concurrency = 2;
  ar_embed_api *a = NULL;
  ar_status st = ar_embed_api_open(&p, &a, &e);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ar_embedder em = ar_embed_api_embedder(a);
  ASSERT_STREQ(em.fingerprint, "api:e5-teste");
  ASSERT_EQ_INT(em.dim, 64);
  int64_t n = 0;
  st = ar_vectors_embed_pending_with(ix, &em, 4, NULL, NULL, &n, &e);
  ASSERT_EQ_INT(st, AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "1 vectors for 2 inputs"), "%s", e.msg);
  ASSERT_EQ_INT(n, 4);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 4);   /* the first group only */
  /* the next run (the server now answers well) resumes and completes */
  ar_embed_api_free(a);
  llm_srv_stop(&s);
  ASSERT(llm_srv_start(&s, "{\"dim\": 64}") == 0);
  p = params(&s, 0);
  ASSERT(ar_embed_api_open(&p, &a, &e) == AR_OK);
  em = ar_embed_api_embedder(a);
  ASSERT_MSG(ar_vectors_embed_pending_with(ix, &em, 4, NULL, NULL, &n, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(n, 6);
  ar_index_info info;
  ASSERT(ar_index_info_get(ix, &info, &e) == AR_OK);
  ASSERT_STREQ(info.model, "api:e5-teste");
  ASSERT_EQ_INT(info.dim, 64);
  ASSERT_EQ_INT(info.n_vectors, 10);
  /* a dense search with the same embedder finds the segment whose text is the query */
  ar_search_params sp = ar_search_default_params();
  sp.mode = AR_MODE_DENSE;
  sp.k = 1;
  sp.embedder = &em;
  ar_results r;
  ASSERT_MSG(ar_search(ix, "aula1 segmento 7 sobre gradiente", &sp, &r, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(r.n, 1);
  ASSERT_STREQ(r.hits[0].text, "aula1 segmento 7 sobre gradiente");
  ar_results_free(&r);
  ar_embed_api_free(a);
  /* another model name: refused before anything is written, naming both */
  p.model = "outro-modelo";
  ASSERT(ar_embed_api_open(&p, &a, &e) == AR_OK);
  em = ar_embed_api_embedder(a);
  ASSERT(put_video(ix, "aula2", 3));
  ar_ingest_params ip = ar_ingest_default_params();
  ip.embedder = &em;
  const char *none[] = {"/nonexistent-transcript.vtt"};
  st = ar_ingest(ix, none, 1, &ip, NULL, &e);
  ASSERT_EQ_INT(st, AR_ERR_MISMATCH);
  ASSERT_MSG(strstr(e.msg, "api:e5-teste") && strstr(e.msg, "api:outro-modelo"), "%s", e.msg);
  ASSERT_EQ_INT(count(ix, "SELECT count(*) FROM vectors"), 10);
  ar_embed_api_free(a);
  llm_srv_stop(&s);
  ar_index_close(ix);
}
