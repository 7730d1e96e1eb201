/* test_core.c - formatting and UTF-8 helpers shared by every stage. */
#include "test.h"
#include "core/util.h"

TEST(format_hms) {
  char b[16];
  ar_format_hms(0, b);        ASSERT_STREQ(b, "00:00:00");
  ar_format_hms(110.9, b);    ASSERT_STREQ(b, "00:01:50");
  ar_format_hms(3599.999, b); ASSERT_STREQ(b, "00:59:59");
  ar_format_hms(3725, b);     ASSERT_STREQ(b, "01:02:05");
  ar_format_hms(-3, b);       ASSERT_STREQ(b, "00:00:00");
}

TEST(deep_link_youtube_and_others) {
  char *l;
  l = ar_deep_link("https://www.youtube.com/watch?v=abc", 110.7);
  ASSERT_STREQ(l, "https://www.youtube.com/watch?v=abc&t=110"); free(l);
  l = ar_deep_link("https://youtu.be/abc", 5);
  ASSERT_STREQ(l, "https://youtu.be/abc?t=5"); free(l);
  l = ar_deep_link("https://www.youtube.com/watch?t=9&v=abc", 7);
  ASSERT_STREQ(l, "https://www.youtube.com/watch?v=abc&t=7"); free(l);
  l = ar_deep_link("https://example.org/aula1.mp4", 65);
  ASSERT_STREQ(l, "https://example.org/aula1.mp4#t=65"); free(l);
  l = ar_deep_link("https://example.org/aula1.mp4#old", 1);
  ASSERT_STREQ(l, "https://example.org/aula1.mp4#t=1"); free(l);
  l = ar_deep_link("", 3);
  ASSERT_STREQ(l, ""); free(l);
}

TEST(utf8_len_and_clip) {
  const unsigned char ok[] = "\xc3\xa7";  /* ç */
  ASSERT_EQ_INT(ar_utf8_len(ok, 2), 2);
  ASSERT_EQ_INT(ar_utf8_len(ok, 1), 0);                         /* truncated */
  ASSERT_EQ_INT(ar_utf8_len((const unsigned char *)"\xc0\xaf", 2), 0); /* overlong */
  ASSERT_EQ_INT(ar_utf8_len((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
  const char *s = "a\xe2\x96\x81" "b";   /* a ▁ b */
  ASSERT_EQ_INT(ar_utf8_clip(s, 5), 5);
  ASSERT_EQ_INT(ar_utf8_clip(s, 4), 4);
  ASSERT_EQ_INT(ar_utf8_clip(s, 3), 1);
  ASSERT_EQ_INT(ar_utf8_clip(s, 2), 1);
  ASSERT_EQ_INT(ar_utf8_clip(s, 1), 1);
}

TEST(alloc_fail_hook) {
  ar_alloc_fail_after(1);
  void *a = ar_malloc(8), *b = ar_malloc(8), *c = ar_malloc(8);
  ar_alloc_fail_after(-1);
  ASSERT(a != NULL); ASSERT(b == NULL); ASSERT(c != NULL);
  free(a); free(c);
}

TEST(buf_printf_grows) {
  ar_buf b = {0};
  for (int i = 0; i < 1000; i++) ASSERT_EQ_INT(ar_buf_printf(&b, "%d,", i), 0);
  ASSERT(b.n > 2000);
  ASSERT(strncmp(b.p, "0,1,2,", 6) == 0);
  ar_buf_free(&b);
}

/* Regression: ar_buf_steal on a buffer that was only reserved returned unterminated memory. */
TEST(buf_steal_after_reserve_is_terminated) {
  ar_buf b = {0};
  ASSERT_EQ_INT(ar_buf_reserve(&b, 100), 0);
  char *s = ar_buf_steal(&b);
  ASSERT(s != NULL);
  ASSERT_EQ_INT(strlen(s), 0);
  free(s);
}
