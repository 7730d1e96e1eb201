/* prompt.c - the instructions and the numbered segments the LLM answers from, within a budget. */
#include "answer/answer.h"

/* Our own wording. Numbered segments + "cite by number" is what lets the references come from the
 * index (we map [n] back to segment n) instead of from timestamps the model might invent. */
static const char SYSTEM[] =
    "Você é um monitor de um curso e responde perguntas de estudantes usando somente os trechos "
    "de transcrição das aulas fornecidos, numerados como [1], [2], [3] e assim por diante.\n"
    "Regras:\n"
    "- Use apenas as informações dos trechos; não acrescente conhecimento de fora das aulas.\n"
    "- Cite os trechos que sustentam cada afirmação pelo número entre colchetes, por exemplo [1] ou [2][3].\n"
    "- Se os trechos não respondem à pergunta, diga claramente que as aulas não tratam desse assunto "
    "e não invente uma resposta.\n"
    "- Responda no mesmo idioma em que a pergunta foi feita, de forma direta e concisa.\n"
    "- As transcrições são automáticas e podem ter erros de reconhecimento de fala; interprete os "
    "termos técnicos com bom senso.";

const char *ar_prompt_system(void) { return SYSTEM; }

int ar_approx_tokens(const char *s, size_t n) {
  size_t cps = 0;
  for (size_t i = 0; i < n; i++) cps += ((unsigned char)s[i] & 0xC0) != 0x80;
  return (int)((cps + 3) / 4);
}

/* Byte length of the longest prefix of s with at most max_cps code points, backed off to the last
 * space so no word is cut (a single over-long word is cut at a code point boundary instead). */
static size_t clip_cps(const char *s, size_t n, size_t max_cps) {
  size_t i = 0, cps = 0;
  while (i < n && cps < max_cps) {
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    i += l > 0 ? (size_t)l : 1;
    cps++;
  }
  if (i >= n) return n;
  size_t j = i;
  while (j > 0 && s[j] != ' ') j--;
  return j > 0 ? j : ar_utf8_clip(s, i);
}

ar_status ar_prompt_user(const char *question, const ar_results *r, int context_tokens, char **out, int *n_used,
                         ar_error *err) {
  ar_buf b = {0};
  long budget_cps = (long)(context_tokens > 0 ? context_tokens : 6000) * 4;
  int used = 0;
  ar_buf_puts(&b, "Trechos das aulas:\n");
  for (size_t i = 0; i < r->n && budget_cps > 0; i++) {
    const ar_hit *h = &r->hits[i];
    const char *t = h->text ? h->text : "";
    size_t n = strlen(t), cps = (size_t)ar_approx_tokens(t, n) * 4, keep = n;
    if ((long)cps > budget_cps) {
      if (budget_cps < 200 && used > 0) break;  /* a stub of a segment helps nobody */
      keep = clip_cps(t, n, (size_t)budget_cps);
    }
    char s_hms[16], e_hms[16];
    ar_format_hms(h->start_s, s_hms);
    ar_format_hms(h->end_s, e_hms);
    ar_buf_printf(&b, "\n[%d] Vídeo: %s (%s a %s)\n", used + 1, h->title && *h->title ? h->title : h->video_id,
                  s_hms, e_hms);
    ar_buf_append(&b, t, keep);
    if (keep < n) ar_buf_puts(&b, " […]");
    ar_buf_puts(&b, "\n");
    budget_cps -= (long)cps;
    used++;
  }
  if (!used) ar_buf_puts(&b, "\n(nenhum trecho foi encontrado para esta pergunta)\n");
  ar_buf_printf(&b, "\nPergunta: %s", question);
  if (b.oom) { ar_buf_free(&b); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  *out = ar_buf_steal(&b);
  *n_used = used;
  return AR_OK;
}
