/* ask.c - ar_ask: retrieve, then answer with the LLM (cited segments -> references) or, with no
 * LLM configured, extractively. */
#include "answer/answer.h"

/* When the LLM cites no segment we still point at what it read: the best few segments. */
enum { UNCITED_REFS = 3 };

ar_ask_params ar_ask_default_params(void) {
  ar_ask_params p;
  memset(&p, 0, sizeof p);
  p.search = ar_search_default_params();
  p.llm = ar_llm_default_params();
  p.context_tokens = 6000;
  return p;
}

void ar_answer_free(ar_answer *a) {
  if (!a) return;
  ar_results_free(&a->results);
  ar_free(a->text);
  ar_references_free(a->refs, a->n_refs);
  ar_llm_reply_free(&a->llm);
  memset(a, 0, sizeof *a);
}

static ar_status answer_llm(ar_index *ix, const char *question, const ar_ask_params *p, ar_answer *out,
                            ar_error *err) {
  char *user = NULL;
  int n_used = 0;
  ar_status st = ar_prompt_user(question, &out->results, p->context_tokens, &user, &n_used, err);
  if (st != AR_OK) return st;
  ar_chat_msg msgs[2] = {{"system", ar_prompt_system()}, {"user", user}};
  ar_llm_params lp = p->llm;
  if (lp.use_cache && !lp.cache.get) lp.cache = ar_index_llm_cache(ix);
  st = ar_llm_chat(&lp, msgs, 2, &out->llm, err);
  ar_free(user);
  if (st != AR_OK) return st;
  /* Reasoning models may put their thinking first ("<think>…</think>"): the answer is what follows. */
  const char *text = out->llm.content, *think_end;
  if (!strncmp(text, "<think>", 7) && (think_end = strstr(text, "</think>")) != NULL) {
    text = think_end + 8;
    while (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t') text++;
  }
  out->text = ar_strdup(text);
  int *idx = ar_malloc((size_t)(n_used > 0 ? n_used : 1) * sizeof *idx);
  if (!out->text || !idx) { ar_free(idx); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  int n = ar_citations(out->text, n_used, idx);
  for (int i = 0; i < n; i++) idx[i]--;
  if (n == 0)
    for (; n < AR_MIN(n_used, (int)UNCITED_REFS); n++) idx[n] = n;
  st = ar_references_build(&out->results, idx, n, &out->refs, &out->n_refs, err);
  ar_free(idx);
  return st;
}

static ar_status answer_extractive(ar_index *ix, const char *question, ar_answer *out, ar_error *err) {
  char lang[8] = "pt";
  ar_index_info info;
  if (ix && ar_index_info_get(ix, &info, NULL) == AR_OK && info.lang[0]) memcpy(lang, info.lang, sizeof lang);
  int *used = NULL, n_used = 0;
  ar_status st = ar_extractive_answer(question, &out->results, lang, &out->text, &used, &n_used, err);
  if (st != AR_OK) return st;
  out->extractive = 1;
  st = ar_references_build(&out->results, used, n_used, &out->refs, &out->n_refs, err);
  ar_free(used);
  return st;
}

ar_status ar_answer_from_results(ar_index *ix, const char *question, const ar_ask_params *p, ar_answer *out,
                                 ar_error *err) {
  ar_status st = p->llm.base_url && *p->llm.base_url ? answer_llm(ix, question, p, out, err)
                                                     : answer_extractive(ix, question, out, err);
  if (st != AR_OK) {  /* keep the results (the caller may still show them), drop the half answer */
    ar_free(out->text);
    out->text = NULL;
    ar_references_free(out->refs, out->n_refs);
    out->refs = NULL;
    out->n_refs = 0;
  }
  return st;
}

ar_status ar_ask(ar_index *ix, const char *question, const ar_ask_params *p, ar_answer *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  if (!question || !*question) return ar_fail(err, AR_ERR_INVALID, "empty question");
  ar_ask_params def;
  if (!p) { def = ar_ask_default_params(); p = &def; }
  ar_status st = ar_search(ix, question, &p->search, &out->results, err);
  if (st != AR_OK) return st;
  return ar_answer_from_results(ix, question, p, out, err);
}
