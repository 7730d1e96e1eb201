/* test_http.c - core/http.c: a response's head line by line, and ar_http_post against tests/llm_server.py
 * (a caller's handle used twice, the classifier's say, the wording of a give-up and of a timeout). */
#include "test.h"
#include "core/http.h"
#include "llm_test_server.h"
#include <curl/curl.h>

typedef struct head { long status; int in; char ra[32]; } head;

static int line(head *h, const char *s) {
  size_t e;
  return ar_http_head_line(s, strlen(s), &h->status, &h->in, h->ra, sizeof h->ra, &e);
}

/* A field that merely starts with "HTTP/" is no new response: Retry-After stays (the transcription and
 * embeddings clients cleared it on any such line before they shared the LLM client's reading). */
TEST(http_head_line_status_fields_and_retry_after) {
  head h = {0, 0, "x"};
  ASSERT_EQ_INT(line(&h, "HTTP/1.1 100 Continue\r\n"), AR_HTTP_STATUS_LINE);
  ASSERT_EQ_INT(h.status, 100);
  ASSERT_STREQ(h.ra, "");
  ASSERT_EQ_INT(line(&h, "\r\n"), 0);
  ASSERT_EQ_INT(line(&h, "HTTP/1.1 429 Too Many Requests\r\n"), AR_HTTP_STATUS_LINE);
  ASSERT_EQ_INT(h.status, 429);
  ASSERT_EQ_INT(line(&h, "retry-after: 7\r\n"), AR_HTTP_FIELD);
  ASSERT_STREQ(h.ra, " 7");
  ASSERT_NEAR(ar_http_retry_after_s(h.ra), 7, 0);
  ASSERT_EQ_INT(line(&h, "HTTP/x: 503\r\n"), AR_HTTP_FIELD);
  ASSERT_EQ_INT(h.status, 429);
  ASSERT_STREQ(h.ra, " 7");
  ASSERT_EQ_INT(line(&h, "\r\n"), 0);
  ASSERT_EQ_INT(line(&h, "Retry-After: 9\r\n"), 0);   /* outside a head (a trailer): not this response's */
  ASSERT_STREQ(h.ra, " 7");
  ASSERT_EQ_INT(line(&h, "HTTP/2 200\r\n"), AR_HTTP_STATUS_LINE);
  ASSERT_EQ_INT(h.status, 200);
  ASSERT_STREQ(h.ra, "");
}

typedef struct seen { int calls, last_attempt; long status; char body[4096]; } seen;

static ar_http_verdict keep(void *ud, const ar_http_reply *r, ar_http_verdict v, ar_error *e) {
  seen *s = ud;
  s->calls++;
  s->last_attempt = r->attempt;
  s->status = r->status;
  snprintf(s->body, sizeof s->body, "%.*s", (int)r->len, r->body);
  return v;
}

static ar_http_verdict never_retry(void *ud, const ar_http_reply *r, ar_http_verdict v, ar_error *e) {
  keep(ud, r, v, e);
  return v == AR_HTTP_RETRY ? AR_HTTP_FAIL : v;
}

TEST(http_post_caller_handle_classifier_and_give_up) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"status\":500,\"times\":2},{\"status\":503},{\"content\":\"ok\"}]}") == 0);
  char url[128];
  snprintf(url, sizeof url, "%s/v1/chat/completions", s.url);
  CURL *h = curl_easy_init();
  ASSERT(h);
  seen sn = {0};
  ar_http_req q = {.url = url, .what = "test server", .body = "{\"messages\":[]}", .curl = h, .max_retries = 1,
                   .retry_base_ms = 1, .retry_max_ms = 10, .classify = keep, .user_data = &sn};
  ar_error e = {0};
  ar_status st = ar_http_post(&q, &e);   /* 500, 500: retried once, then given up */
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(sn.calls, 2);
  ASSERT_EQ_INT(sn.status, 500);
  char want[256];
  snprintf(want, sizeof want, "test server %s answered HTTP 500: scripted error 500 (gave up after 2 attempts)", url);
  ASSERT_STREQ(e.msg, want);
  q.classify = never_retry;               /* the classifier's verdict wins: the 503 is not retried */
  st = ar_http_post(&q, &e);
  ASSERT_EQ_INT(st, AR_ERR_HTTP);
  ASSERT_EQ_INT(sn.calls, 3);
  ASSERT_MSG(strstr(e.msg, "HTTP 503") && !strstr(e.msg, "gave up"), "%s", e.msg);
  q.classify = keep;                      /* the same handle a third time: the reply reaches the classifier */
  st = ar_http_post(&q, &e);
  ASSERT_MSG(st == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(sn.last_attempt, 1);
  ASSERT_EQ_INT(sn.status, 200);
  ASSERT(strstr(sn.body, "\"ok\""));
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(json_array_size(log), 4);
  json_decref(log);
  curl_easy_cleanup(h);
}

TEST(http_post_total_timeout_is_not_retried) {
  llm_srv s;
  ASSERT(llm_srv_start(&s, "{\"replies\":[{\"delay_s\":2,\"times\":0}]}") == 0);
  char url[128];
  snprintf(url, sizeof url, "%s/v1/chat/completions", s.url);
  ar_http_req q = {.url = url, .what = "test server", .body = "{}", .timeout_ms = 300, .max_retries = 3,
                   .retry_base_ms = 1};
  ar_error e = {0};
  ar_status st = ar_http_post(&q, &e);
  json_t *log = llm_srv_requests(&s);
  llm_srv_stop(&s);
  ASSERT_EQ_INT(st, AR_ERR_TIMEOUT);
  char want[256];
  snprintf(want, sizeof want, "test server %s: no complete reply within 0.3 s (timeout)", url);
  ASSERT_STREQ(e.msg, want);
  ASSERT_EQ_INT(json_array_size(log), 1);
  json_decref(log);
}
