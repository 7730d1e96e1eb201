/* pool.h - the one fork-join thread pool (the encoder, the dense scan): workers spin briefly, then sleep. */
#ifndef AR_POOL_H
#define AR_POOL_H

typedef struct ar_pool ar_pool;
/* task: index in [0, n_tasks); worker: in [0, n_threads), the caller is worker 0. */
typedef void (*ar_task_fn)(void *ctx, int task, int worker);

ar_pool *ar_pool_new(int n_threads);       /* NULL on failure; n_threads <= 1 makes no threads */
int ar_pool_threads(const ar_pool *p);
/* Runs fn for every task, the caller taking part; returns when all are done. One job at a time:
 * a second caller waits for the pool (callers that would rather run alone check first, as the
 * encoder does with its own lock). p NULL: the caller runs every task itself. */
void ar_pool_run(ar_pool *p, int n_tasks, ar_task_fn fn, void *ctx);
void ar_pool_free(ar_pool *p);
#endif
