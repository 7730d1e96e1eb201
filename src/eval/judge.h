/* judge.h - the LLM judges and the shared request pacer (internal to src/eval). */
#ifndef AR_JUDGE_H
#define AR_JUDGE_H
#include "eval/eval.h"
#include <pthread.h>

#define AR_JUDGE_PROMPTS "aularag-judges-2"  /* bump when a prompt's wording changes */

/* Requests-per-minute limit shared by all workers: a token bucket of capacity 1 refilled at rpm/60
 * tokens per second (so requests are spaced 60/rpm s apart). rpm <= 0: no limit. */
typedef struct ar_pacer {
  pthread_mutex_t mu;
  double interval_s, next_s;
} ar_pacer;
void ar_pacer_init(ar_pacer *p, int rpm);
void ar_pacer_wait(ar_pacer *p);
void ar_pacer_destroy(ar_pacer *p);

typedef struct ar_judge_ctx {
  const ar_llm_params *llm;  /* NULL: no judge, everything is skipped */
  ar_pacer *pacer;
  char *const *labels;
  int n_labels;
  int context, groundedness; /* run those judges (1 by default) */
  int abstention;            /* ask the abstention judge (abstain.c): the set has unanswerable questions */
} ar_judge_ctx;

/* One chat call through the cache and the pacer, counted in *u. */
ar_status ar_judge_chat(const ar_llm_params *lp, ar_pacer *pacer, const ar_chat_msg *msgs, int n, ar_llm_reply *out,
                        ar_usage *u, ar_error *err);

void ar_judge_answer_relevance(const ar_judge_ctx *c, const char *question, const char *answer, ar_judgement *j,
                               ar_usage *u);
void ar_judge_context(const ar_judge_ctx *c, const char *question, const ar_hit *hit, ar_judgement *j, ar_usage *u);
void ar_judge_groundedness(const ar_judge_ctx *c, const ar_hit *hits, size_t n_hits, const char *sentence,
                           ar_judgement *j, ar_usage *u);
void ar_judge_label(const ar_judge_ctx *c, const char *question, const char *answer, const char *reference,
                    const ar_hit *hits, size_t n_hits, ar_judgement *j, ar_usage *u);
/* One judge call: system + user prompt, the reply parsed as a 0..max_score score (max_score > 0)
 * or as one of c->labels. */
void ar_judge_run(const ar_judge_ctx *c, const char *system, const char *user, int max_score, ar_judgement *j,
                  ar_usage *u);
/* abstain.c: does the answer abstain? j->score = AR_ABSTAINS or AR_ANSWERS. */
void ar_judge_abstention(const ar_judge_ctx *c, const char *question, const char *answer, ar_judgement *j,
                         ar_usage *u);
/* All judges for one answered item (or all skipped, with the reason). */
void ar_judge_item(const ar_judge_ctx *c, ar_eval_item *it);
#endif
