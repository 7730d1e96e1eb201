/* present.h - how results, answers and references look to a person: the one place that writes the
 * evaluation report format's blocks (docs/report-format.md) for the CLI, report.md, and the JSON
 * objects the server and the page read. Everything here appends to an ar_buf; b->oom is set on
 * failure and the caller gives up the whole text (never a silently missing field). */
#ifndef AR_PRESENT_H
#define AR_PRESENT_H
#include "aularag.h"
#include "core/util.h"

/* Headings of the report format (Portuguese: the students' language). */
#define AR_PRESENT_ANSWER_LLM "**Resposta gerada pelo LLM**:"
#define AR_PRESENT_ANSWER_EXTRACTIVE "**Resposta**:"
#define AR_PRESENT_REFERENCES "**Referências**:"
#define AR_PRESENT_HIDDEN_URL "oculto"
#define AR_PRESENT_HIDDEN_REF "- [Vídeo de referência oculto]()"

typedef struct ar_present_opts {
  int hide_urls;   /* "oculto" and the hidden reference line instead of any URL */
  int deep_links;  /* segment URL: the deep link to its start ("" without a URL: search/ask), or the
                     video's URL ("(sem URL)" without one: report.md) */
} ar_present_opts;

/* One segment block per hit, blank line between: "- *Corpus ID:* N", "- *Score:* S" (full precision,
 * always a real; in hybrid mode the E5 cosine when known), "- *URL:* U", "- *Início:* HH:MM:SS",
 * "- *Fim:* HH:MM:SS", "- *Transcrição:* text on one line". Every block ends with "\n". */
void ar_present_segments(ar_buf *b, const ar_hit *hits, size_t n, ar_search_mode mode, const ar_present_opts *o);

/* One markdown line per reference: "- [Title (HH:MM:SS–HH:MM:SS)](link)", link text on one line with
 * [ ] \ escaped, link target with space ( ) percent-encoded. n == 0: the line none, unless NULL. */
void ar_present_references(ar_buf *b, const ar_reference *refs, size_t n, int hide_urls, const char *none);

#endif
