/* references.c - the references of an answer as markdown links, for the CLI and report.md. */
#include "present/present.h"

/* Link text: on one line, brackets and backslashes escaped so a title cannot end the link early. */
static void md_text(ar_buf *b, const char *s) {
  char *one = ar_one_line(s);
  if (!one) { b->oom = 1; return; }
  for (const char *p = one; *p; p++) {
    if (*p == '[' || *p == ']' || *p == '\\') ar_buf_append(b, "\\", 1);
    ar_buf_append(b, p, 1);
  }
  ar_free(one);
}

/* Link target: spaces and parentheses percent-encoded, so the link ends where it should. */
static void md_url(ar_buf *b, const char *s) {
  for (; s && *s; s++) {
    if (*s == ' ') ar_buf_puts(b, "%20");
    else if (*s == '(') ar_buf_puts(b, "%28");
    else if (*s == ')') ar_buf_puts(b, "%29");
    else ar_buf_append(b, s, 1);
  }
}

void ar_present_references(ar_buf *b, const ar_reference *refs, size_t n, int hide_urls, const char *none) {
  if (!n && none) ar_buf_printf(b, "%s\n", none);
  for (size_t i = 0; i < n; i++) {
    const ar_reference *r = &refs[i];
    if (hide_urls) { ar_buf_puts(b, AR_PRESENT_HIDDEN_REF "\n"); continue; }
    char s[16], e[16];
    ar_format_hms(r->start_s, s);
    ar_format_hms(r->end_s, e);
    ar_buf_puts(b, "- [");
    md_text(b, r->title && *r->title ? r->title : r->video_id ? r->video_id : "vídeo");
    ar_buf_printf(b, " (%s–%s)](", s, e);
    md_url(b, r->link);
    ar_buf_puts(b, ")\n");
  }
}

char *ar_answer_to_text(const ar_answer *a, int hide_urls, int part) {
  ar_buf b = {0};
  if (part & AR_TEXT_SEGMENTS) {
    ar_present_opts o = {hide_urls, 1};
    ar_buf_printf(&b, "%s\n", ar_results_heading(a->results.mode));
    ar_present_segments(&b, a->results.hits, a->results.n, a->results.mode, &o);
    ar_buf_puts(&b, "\n");
  }
  if (part & AR_TEXT_ANSWER) {
    /* before a streamed answer text is NULL: the label alone, the text follows as it arrives */
    ar_buf_printf(&b, "%s %s", a->extractive ? AR_PRESENT_ANSWER_EXTRACTIVE : AR_PRESENT_ANSWER_LLM,
                  a->text ? a->text : "");
  }
  if (part & AR_TEXT_REFERENCES) {
    ar_buf_puts(&b, "\n\n" AR_PRESENT_REFERENCES "\n");
    ar_present_references(&b, a->refs, a->n_refs, hide_urls, "(nenhuma)");
  }
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}
