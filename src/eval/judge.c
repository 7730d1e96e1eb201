/* judge.c - the LLM judges: answer relevance (CoT, 0-3), context relevance per segment, groundedness
 * per answer sentence, automated annotation (label set); prompts pinned as AR_JUDGE_PROMPTS. */
#include "core/util.h"
#include "eval/eval.h"
#include "eval/judge.h"
#include "llm/llm.h"
#include <math.h>
#include <time.h>

/* ---- the shared requests-per-minute limit: a token bucket (capacity 1, refill rpm/60 per s) ---- */
void ar_pacer_init(ar_pacer *p, int rpm) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  p->interval_s = rpm > 0 ? 60.0 / rpm : 0;
  p->next_s = 0;
}

void ar_pacer_destroy(ar_pacer *p) { pthread_mutex_destroy(&p->mu); }

void ar_pacer_wait(ar_pacer *p) {
  if (!p || p->interval_s <= 0) return;
  pthread_mutex_lock(&p->mu);
  double now = ar_now_s(), at = p->next_s > now ? p->next_s : now;
  p->next_s = at + p->interval_s;
  pthread_mutex_unlock(&p->mu);
  double wait = at - now;
  if (wait > 0) {
    struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {}
  }
}

/* One call: a cache hit costs no request (and no token); otherwise wait for the bucket. */
ar_status ar_judge_chat(const ar_llm_params *lp, ar_pacer *pacer, const ar_chat_msg *msgs, int n, ar_llm_reply *out,
                        ar_usage *u, ar_error *err) {
  char key[65];
  memset(out, 0, sizeof *out);
  ar_status st;
  u->calls++;
  if (lp->use_cache && lp->cache.get && ar_llm_cache_key(lp, msgs, n, key, NULL) == AR_OK &&
      ar_llm_cache_lookup(lp, key, out)) {
    out->cached = 1;
    st = AR_OK;
  } else {
    ar_pacer_wait(pacer);
    st = ar_llm_chat(lp, msgs, n, out, err);
  }
  if (st != AR_OK) { u->failed_calls++; return st; }
  if (out->cached) u->cached++;
  if (out->prompt_tokens > 0) u->prompt_tokens += out->prompt_tokens;
  if (out->completion_tokens > 0) u->completion_tokens += out->completion_tokens;
  u->latency_ms += out->latency_ms;
  return AR_OK;
}

/* ---- prompts (our own wording; the reply template is the report format's Criteria / Supporting Evidence / Score) ---- */
static const char *const COT_TEMPLATE =
  "Reply with exactly this template, each field starting on its own line:\n"
  "Criteria: <the criteria you apply to this evaluation>\n"
  "Supporting Evidence: <your reasons, step by step, tied to those criteria>\n"
  "Score: <one whole number from 0 to 3>";

/* TruLens-style relevance judges score "I don't know" / "the lectures do not cover this" as relevant
 * to the question (it is about the question), which rewards a system for abstaining on questions the
 * lectures do answer. So the prompt states that such a reply scores 0: Answer Relevance measures the
 * answer; whether abstaining was right is measured apart (abstain.c). */
static const char *const AR_SYSTEM =
  "You grade ANSWER RELEVANCE: how well a RESPONSE addresses the PROMPT a student asked about a recorded lecture.\n"
  "Use a whole-number scale from 0 (lowest) to 3 (highest).\n"
  "Criteria:\n"
  "- Only a RESPONSE that addresses the whole PROMPT earns 3.\n"
  "- The score grows with the number of parts of the PROMPT the RESPONSE addresses with relevant content.\n"
  "- A RESPONSE that addresses no part of the PROMPT gets 0.\n"
  "- A RESPONSE that is confidently wrong, or only looks relevant, gets 0.\n"
  "- A RESPONSE that says \"I don't know\", that the lectures do not cover the PROMPT, or otherwise declines to "
  "answer gets 0, however politely or relevantly it is worded.\n"
  "- Length does not matter: a short RESPONSE can score as well as a long one.\n"
  "The PROMPT and RESPONSE may be in Portuguese; judge their meaning and write your evaluation in English.";

static const char *const CTX_SYSTEM =
  "You rate a SEARCH RESULT, an excerpt of a lecture transcript (speech recognition, so expect missing "
  "punctuation and misheard words), for how useful it is to answer a student's QUESTION.\n"
  "Whole-number scale:\n"
  "0 = unrelated to the QUESTION;\n"
  "1 = on the topic, but no help to answer it;\n"
  "2 = contains part of what is needed to answer it;\n"
  "3 = contains what is needed to answer the whole QUESTION.\n"
  "Be strict. The texts may be in Portuguese; write your evaluation in English.";

static const char *const GROUND_SYSTEM =
  "You check whether a STATEMENT taken from an answer is supported by the SOURCE: numbered excerpts of lecture "
  "transcripts.\n"
  "Whole-number scale:\n"
  "0 = nothing in the SOURCE supports it (say NOTHING FOUND), or the SOURCE contradicts it;\n"
  "1 = weakly or indirectly supported;\n"
  "2 = mostly supported, with a detail the SOURCE does not give;\n"
  "3 = fully supported by the SOURCE.\n"
  "A STATEMENT that only says the lectures do not cover the question (an abstention) gets 3 (say ABSTENTION).\n"
  "Citation markers such as [1] are not claims. Beware of support that only seems to be there.\n"
  "The texts may be in Portuguese; write your evaluation in English.";

static void source_block(ar_buf *b, const ar_hit *hits, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char s[16], e[16];
    ar_format_hms(hits[i].start_s, s);
    ar_format_hms(hits[i].end_s, e);
    ar_buf_printf(b, "[%zu] (%s, %s-%s) %s\n", i + 1, hits[i].video_id ? hits[i].video_id : "", s, e,
                  hits[i].text ? hits[i].text : "");
  }
}

static void label_system(ar_buf *b, char *const *labels, int n) {
  ar_buf_puts(b, "You are a teacher grading the answer a study assistant gave to a student's QUESTION about recorded "
                 "lectures. The assistant had to answer from the LECTURE EXCERPTS only.\n");
  int cpi = n == 3 && !strcmp(labels[0], "C") && !strcmp(labels[1], "P") && !strcmp(labels[2], "I");
  if (cpi) {
    ar_buf_puts(b, "Labels:\n"
                   "C = correta: answers the QUESTION correctly and completely, consistent with the excerpts (and the "
                   "REFERENCE ANSWER when one is given);\n"
                   "P = parcialmente correta: correct but incomplete, or with minor errors;\n"
                   "I = incorreta: wrong, contradicts the excerpts, off-topic, or does not answer (a refusal is I "
                   "when the excerpts do contain the answer, C when they do not).\n");
  } else {
    ar_buf_puts(b, "Labels, from best to worst:");
    for (int i = 0; i < n; i++) ar_buf_printf(b, "%s %s", i ? "," : "", labels[i]);
    ar_buf_puts(b, ".\n");
  }
  ar_buf_puts(b, "Write a short reasoning (at most three sentences), then end with one final line of exactly this "
                 "form:\nLabel: <one of");
  for (int i = 0; i < n; i++) ar_buf_printf(b, "%s %s", i ? "," : "", labels[i]);
  ar_buf_puts(b, ">\nThe texts may be in Portuguese; write your reasoning in English.");
}

/* Sets j from a reply: scored (max_score > 0) or labelled. */
static void judge_reply(ar_judgement *j, ar_status st, const ar_error *err, ar_llm_reply *r, int max_score,
                        char *const *labels, int n_labels) {
  if (st != AR_OK) {
    j->status = AR_JUDGE_FAILED;
    j->score = -1;
    j->error = ar_strdup(err->msg);
    return;
  }
  j->raw = r->content;
  r->content = NULL;
  const char *why = NULL;
  j->score = max_score > 0 ? ar_parse_score(j->raw, max_score, &why) : ar_parse_label(j->raw, labels, n_labels, &why);
  if (j->score >= 0) j->status = AR_JUDGE_OK;
  else {
    j->status = AR_JUDGE_FAILED;
    j->error = ar_strdup(why ? why : "unparsable reply");
  }
}

void ar_judge_run(const ar_judge_ctx *c, const char *system, const char *user, int max_score, ar_judgement *j,
                  ar_usage *u) {
  ar_chat_msg m[2] = {{"system", system}, {"user", user}};
  ar_llm_reply r;
  ar_error err = {0};
  ar_status st = ar_judge_chat(c->llm, c->pacer, m, 2, &r, u, &err);
  judge_reply(j, st, &err, &r, max_score, c->labels, c->n_labels);
  ar_llm_reply_free(&r);
}

void ar_judge_answer_relevance(const ar_judge_ctx *c, const char *question, const char *answer, ar_judgement *j,
                               ar_usage *u) {
  ar_buf b = {0};
  ar_buf_printf(&b, "PROMPT: %s\n\nRESPONSE: %s\n\n%s", question, answer, COT_TEMPLATE);
  ar_judge_run(c, AR_SYSTEM, b.p, 3, j, u);
  ar_buf_free(&b);
}

void ar_judge_context(const ar_judge_ctx *c, const char *question, const ar_hit *hit, ar_judgement *j, ar_usage *u) {
  ar_buf b = {0};
  ar_buf_printf(&b, "QUESTION: %s\n\nSEARCH RESULT: %s\n\n%s", question, hit->text ? hit->text : "", COT_TEMPLATE);
  ar_judge_run(c, CTX_SYSTEM, b.p, 3, j, u);
  ar_buf_free(&b);
}

void ar_judge_groundedness(const ar_judge_ctx *c, const ar_hit *hits, size_t n_hits, const char *sentence,
                           ar_judgement *j, ar_usage *u) {
  ar_buf b = {0};
  ar_buf_puts(&b, "SOURCE:\n");
  source_block(&b, hits, n_hits);
  ar_buf_printf(&b, "\nSTATEMENT: %s\n\n%s", sentence, COT_TEMPLATE);
  ar_judge_run(c, GROUND_SYSTEM, b.p, 3, j, u);
  j->subject = ar_strdup(sentence);
  ar_buf_free(&b);
}

void ar_judge_label(const ar_judge_ctx *c, const char *question, const char *answer, const char *reference,
                    const ar_hit *hits, size_t n_hits, ar_judgement *j, ar_usage *u) {
  ar_buf sys = {0}, b = {0};
  label_system(&sys, c->labels, c->n_labels);
  ar_buf_printf(&b, "QUESTION: %s\n\nLECTURE EXCERPTS:\n", question);
  source_block(&b, hits, n_hits);
  if (reference && *reference) ar_buf_printf(&b, "\nREFERENCE ANSWER: %s\n", reference);
  ar_buf_printf(&b, "\nSTUDENT ANSWER: %s\n\nReasoning, then the final Label line:", answer);
  ar_judge_run(c, sys.p, b.p, 0, j, u);
  ar_buf_free(&sys);
  ar_buf_free(&b);
}

static void skip(ar_judgement *j, const char *why) {
  memset(j, 0, sizeof *j);
  j->status = AR_JUDGE_SKIPPED;
  j->score = -1;
  j->error = ar_strdup(why);
}

void ar_judge_item(const ar_judge_ctx *c, ar_eval_item *it) {
  const char *why = !c->llm ? "no judge LLM configured" : it->error ? "the question has no answer" : NULL;
  if (why) {
    skip(&it->ar, why);
    skip(&it->label, why);
    skip(&it->abstain, c->abstention ? why : "not measured: no question is marked \"answerable\": false");
    return;
  }
  if (c->abstention) ar_judge_abstention(c, it->q.question, it->answer, &it->abstain, &it->judge_usage);
  else skip(&it->abstain, "not measured: no question is marked \"answerable\": false");
  ar_judge_answer_relevance(c, it->q.question, it->answer, &it->ar, &it->judge_usage);
  ar_judge_label(c, it->q.question, it->answer, it->q.reference_answer, it->hits, it->n_hits, &it->label,
                 &it->judge_usage);
  if (c->context && it->n_hits) {
    it->ctx = ar_calloc(it->n_hits, sizeof *it->ctx);
    if (it->ctx) {
      it->n_ctx = it->n_hits;
      for (size_t i = 0; i < it->n_hits; i++) ar_judge_context(c, it->q.question, &it->hits[i], &it->ctx[i], &it->judge_usage);
    }
  }
  if (c->groundedness) {
    char **sent;
    size_t n = ar_split_sentences(it->answer, &sent);
    if (n) {
      it->ground = ar_calloc(n, sizeof *it->ground);
      if (it->ground) {
        it->n_ground = n;
        for (size_t i = 0; i < n; i++)
          ar_judge_groundedness(c, it->hits, it->n_hits, sent[i], &it->ground[i], &it->judge_usage);
      }
      ar_strings_free(sent, n);
    }
  }
}
