/* test_llm_client.c - ar_llm_chat against tests/llm_server.py: bodies, streaming, retries, timeouts,
 * malformed replies, and the API key kept out of every message. */
#include "test.h"
#include "llm/llm.h"
#include "llm_test_server.h"

#define KEY "sk-TEST-SECRET-0123456789"

static ar_llm_params params(const llm_srv *s) {
  ar_llm_params p = ar_llm_default_params();
  p.base_url = s->url;
  p.model = "modelo-teste";
  p.api_key = KEY;
  p.retry_base_ms = 20;
  p.timeout_ms = 10000;
  return p;
}

static const ar_chat_msg MSGS[2] = {{"system", "Responda só com os trechos."}, {"user", "O que é uma GPU?"}};

TEST(llm_client_plain_reply_and_request_body) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"content\":\"Uma placa [1]. ção\"}]}") == 0);
  ar_llm_params p = params(&s);
  p.seed = 7;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "Uma placa [1]. ção");
  ASSERT_EQ_INT(r.attempts, 1);
  ASSERT_EQ_INT(r.cached, 0);
  ASSERT(r.completion_tokens > 0);
  ASSERT_EQ_INT(json_array_size(log), 1);
  json_t *q = json_array_get(log, 0);
  ASSERT_STREQ(json_string_value(json_object_get(q, "path")), "/v1/chat/completions");
  json_t *h = json_object_get(q, "headers");
  ASSERT_STREQ(json_string_value(json_object_get(h, "authorization")), "Bearer " KEY);
  json_t *b = json_object_get(q, "body");
  ASSERT_STREQ(json_string_value(json_object_get(b, "model")), "modelo-teste");
  ASSERT_NEAR(json_number_value(json_object_get(b, "temperature")), 0, 0);
  ASSERT_EQ_INT(json_integer_value(json_object_get(b, "seed")), 7);
  ASSERT(!json_object_get(b, "stream"));
  json_t *m = json_object_get(b, "messages");
  ASSERT_EQ_INT(json_array_size(m), 2);
  ASSERT_STREQ(json_string_value(json_object_get(json_array_get(m, 1), "content")), "O que é uma GPU?");
  ASSERT_STREQ(json_string_value(json_object_get(json_array_get(m, 0), "role")), "system");
  json_decref(log);
  ar_llm_reply_free(&r);
}

TEST(llm_client_base_url_with_v1_and_no_key) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{}") == 0);
  char base[80];
  snprintf(base, sizeof base, "%s/v1/", s.url);
  ar_llm_params p = params(&s);
  p.base_url = base;
  p.api_key = NULL;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "Resposta de teste [1].");
  json_t *q = json_array_get(log, 0);
  ASSERT_STREQ(json_string_value(json_object_get(q, "path")), "/v1/chat/completions");
  ASSERT(!json_object_get(json_object_get(q, "headers"), "authorization"));
  json_decref(log);
  ar_llm_reply_free(&r);
}

typedef struct { ar_buf text; int pieces, broken; } sink;
static void on_tok(const char *t, size_t n, void *ud) {
  sink *k = ud;
  for (size_t i = 0; i < n;) {
    int l = ar_utf8_len((const unsigned char *)t + i, n - i);
    if (l <= 0) { k->broken++; break; }
    i += (size_t)l;
  }
  ar_buf_append(&k->text, t, n);
  k->pieces++;
}

/* The SSE bytes arrive 1 and 3 at a time, so UTF-8 sequences and lines are split across reads. */
TEST(llm_client_stream_split_bytes) {
  for (int split = 1; split <= 3; split += 2) {
    llm_srv s;
    char script[256];
    snprintf(script, sizeof script, "{\"replies\":[{\"chunks\":[\"Aç\",\"ão 😀\",\" não [2]\"],\"byte_split\":%d,"
             "\"chunk_delay_s\":0}]}", split);
    ASSERT(llm_srv_start(&s, script) == 0);
    ar_llm_params p = params(&s);
    sink k = {{0}, 0, 0};
    p.stream = 1;
    p.on_token = on_tok;
    p.user_data = &k;
    ar_llm_reply r;
    ar_error e = {0};
    ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
    json_t *log = llm_srv_requests(&s);
    llm_srv_stop(&s);
    ASSERT_MSG(st == AR_OK, "%s", e.msg);
    ASSERT_STREQ(r.content, "Ação 😀 não [2]");
    ASSERT_STREQ(k.text.p, "Ação 😀 não [2]");
    ASSERT_EQ_INT(k.broken, 0);
    ASSERT(k.pieces >= 3);
    ASSERT(json_is_true(json_object_get(json_object_get(json_array_get(log, 0), "body"), "stream")));
    json_decref(log);
    ar_buf_free(&k.text);
    ar_llm_reply_free(&r);
  }
}

TEST(llm_client_429_retry_after_then_success) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}},{\"content\":\"ok\"}]}") == 0);
  ar_llm_params p = params(&s);
  p.retry_base_ms = 1;  /* so only Retry-After can explain a 1 s wait */
  ar_llm_reply r;
  ar_error e = {0};
  double t0 = ar_now_s();
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  double dt = ar_now_s() - t0;
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "ok");
  ASSERT_EQ_INT(r.attempts, 2);
  ASSERT_EQ_INT(json_array_size(log), 2);
  ASSERT_MSG(dt >= 0.95 && dt < 5, "waited %.3f s", dt);
  json_decref(log);
  ar_llm_reply_free(&r);
}

TEST(llm_client_retry_after_is_capped) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"status\":503,\"headers\":{\"Retry-After\":\"3600\"}},{\"content\":\"ok\"}]}") == 0);
  ar_llm_params p = params(&s);
  p.retry_max_ms = 200;
  ar_llm_reply r;
  ar_error e = {0};
  double t0 = ar_now_s();
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  double dt = ar_now_s() - t0;
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(r.attempts, 2);
  ASSERT_MSG(dt >= 0.19 && dt < 3, "waited %.3f s", dt);
  ar_llm_reply_free(&r);
}

TEST(llm_client_500s_give_up_after_retries) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"status\":500,\"times\":0}]}") == 0);
  ar_llm_params p = params(&s);
  p.max_retries = 2;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(json_array_size(log), 3);
  ASSERT_EQ_INT(r.attempts, 3);
  ASSERT(r.content == NULL);
  ASSERT_MSG(strstr(e.msg, "HTTP 500") && strstr(e.msg, "scripted error 500") && strstr(e.msg, "3 attempts") &&
             strstr(e.msg, s.url), "%s", e.msg);
  ASSERT(!strstr(e.msg, KEY));
  json_decref(log);
}

TEST(llm_client_500_then_success) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"status\":500},{\"status\":502,\"body\":\"<html>bad gateway</html>\"},"
                           "{\"content\":\"enfim\"}]}") == 0);
  ar_llm_params p = params(&s);
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "enfim");
  ASSERT_EQ_INT(r.attempts, 3);
  ar_llm_reply_free(&r);
}

TEST(llm_client_4xx_is_not_retried) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"status\":401,\"times\":0}]}") == 0);
  ar_llm_params p = params(&s);
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(json_array_size(log), 1);
  ASSERT_MSG(strstr(e.msg, "HTTP 401"), "%s", e.msg);
  ASSERT(!strstr(e.msg, KEY));
  json_decref(log);
}

TEST(llm_client_timeout) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"delay_s\":3,\"content\":\"tarde\"}]}") == 0);
  ar_llm_params p = params(&s);
  p.timeout_ms = 400;
  ar_llm_reply r;
  ar_error e = {0};
  double t0 = ar_now_s();
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  double dt = ar_now_s() - t0;
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_TIMEOUT);
  ASSERT_MSG(strstr(e.msg, "within 0.4 s"), "%s", e.msg);
  ASSERT_EQ_INT(json_array_size(log), 1);  /* the total timeout bounds the wait: no retry */
  ASSERT_MSG(dt < 2, "took %.2f s", dt);
  json_decref(log);
}

TEST(llm_client_malformed_json) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"body\":\"{\\\"choices\\\": [\"}]}") == 0);
  ar_llm_params p = params(&s);
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "not valid JSON") && strstr(e.msg, "{\"choices\": ["), "%s", e.msg);
  ASSERT_EQ_INT(json_array_size(log), 1);
  json_decref(log);
}

TEST(llm_client_stream_cut_after_text_shown) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"chunks\":[\"meia \",\"resposta\",\" nunca\"],\"cut_after\":2}]}") == 0);
  ar_llm_params p = params(&s);
  sink k = {{0}, 0, 0};
  p.stream = 1;
  p.on_token = on_tok;
  p.user_data = &k;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_MSG(strstr(e.msg, "stream ended before the reply was complete"), "%s", e.msg);
  ASSERT_STREQ(k.text.p, "meia resposta");
  ASSERT_EQ_INT(json_array_size(log), 1);  /* shown text cannot be taken back: no retry */
  json_decref(log);
  ar_buf_free(&k.text);
}

TEST(llm_client_stream_cut_before_anything_shown_is_retried) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"chunks\":[\"x\"],\"cut_after\":0},{\"content\":\"inteira\"}]}") == 0);
  ar_llm_params p = params(&s);
  p.stream = 1;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "inteira");
  ASSERT_EQ_INT(r.attempts, 2);
  ar_llm_reply_free(&r);
}

TEST(llm_client_stream_with_malformed_event) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"stream\":true,\"body\":\"data: {oops\\n\\n\",\"headers\":"
                           "{\"Content-Type\":\"text/event-stream\"}}]}") == 0);
  ar_llm_params p = params(&s);
  p.stream = 1;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_PARSE);
  ASSERT_MSG(strstr(e.msg, "stream event is not valid JSON"), "%s", e.msg);
}

TEST(llm_client_connection_refused_is_retried) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{}") == 0);
  ar_llm_params p = params(&s);
  llm_srv_stop(&s);  /* nothing listens on the port any more */
  p.max_retries = 2;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(r.attempts, 3);
  ASSERT_MSG(strstr(e.msg, s.url) && strstr(e.msg, "3 attempts"), "%s", e.msg);
  ASSERT(!strstr(e.msg, KEY));
}

TEST(llm_client_no_endpoint_is_invalid) {
  ar_llm_params p = ar_llm_default_params();
  ar_llm_reply r;
  ar_error e = {0};
  ASSERT_EQ_INT(ar_llm_chat(&p, MSGS, 2, &r, &e), AR_ERR_INVALID);
}

/* A server that ignores "stream": true and answers with one JSON object: the text still arrives. */
TEST(llm_client_stream_requested_plain_json_answered) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"stream\":false,\"content\":\"inteira de uma vez\"}]}") == 0);
  ar_llm_params p = params(&s);
  sink k = {{0}, 0, 0};
  p.stream = 1;
  p.on_token = on_tok;
  p.user_data = &k;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "inteira de uma vez");
  ASSERT_STREQ(k.text.p, "inteira de uma vez");
  ar_buf_free(&k.text);
  ar_llm_reply_free(&r);
}

/* SSE events sent as application/json (a misconfigured proxy): parsed as a stream anyway. */
TEST(llm_client_sse_without_its_content_type) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"body\":\"data: {\\\"choices\\\":[{\\\"delta\\\":{\\\"content\\\":\\\"Ol\u00e1\\\"}}]}\\n\\n"
                           "data: [DONE]\\n\\n\"}]}") == 0);
  ar_llm_params p = params(&s);
  p.stream = 1;
  ar_llm_reply r;
  ar_error e = {0};
  ar_status st = ar_llm_chat(&p, MSGS, 2, &r, &e);
  llm_srv_stop(&s);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_STREQ(r.content, "Olá");
  ar_llm_reply_free(&r);
}

/* The status is right even when the caller does not want the message (err == NULL). */
TEST(llm_client_status_without_err) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"body\":\"not json\"},{\"delay_s\":2}]}") == 0);
  ar_llm_params p = params(&s);
  ar_llm_reply r;
  ar_status st1 = ar_llm_chat(&p, MSGS, 2, &r, NULL);
  p.timeout_ms = 300;
  ar_status st2 = ar_llm_chat(&p, MSGS, 2, &r, NULL);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st1, AR_ERR_PARSE);
  ASSERT_EQ_INT(st2, AR_ERR_TIMEOUT);
}
