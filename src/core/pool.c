/* pool.c - fork-join thread pool: one job at a time, tasks handed out by an atomic counter.
 * Used by the encoder (ar_model's pool) and the dense scan (one pool per vector matrix).
 * The encoder runs ~6 jobs per layer, so hand-off latency matters: idle workers spin for a short
 * while (a query's jobs come back to back) before sleeping on a condition variable. Every worker
 * checks in at the end of every job, so no straggler can touch the next job's counters. */
#include "core/pool.h"
#include "core/util.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define SPIN_NS 200000 /* spin 0.2 ms before sleeping */

/* a spinning core's hint that it waits (frees resources for the sibling hyperthread) */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

struct ar_pool {
  int n;                       /* threads including the caller */
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_mutex_t run_mu;      /* one job at a time */
  atomic_uint gen;             /* bumped for every job (and for shutdown) */
  atomic_int next, stop;
  atomic_int checked_in;       /* workers finished with the current job */
  atomic_int sleepers;
  int n_tasks;
  ar_task_fn fn;
  void *ctx;
};

typedef struct { ar_pool *p; int id; } worker_arg;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void work(ar_pool *p, int id) {
  int t;
  while ((t = atomic_fetch_add(&p->next, 1)) < p->n_tasks) {
    p->fn(p->ctx, t, id);
  }
}

static void *worker_main(void *arg) {
  ar_pool *p = ((worker_arg *)arg)->p;
  int id = ((worker_arg *)arg)->id;
  ar_free(arg);
  unsigned seen = 0; /* gen at creation: a job (or shutdown) may come before this thread runs */
  for (;;) {
    long long t0 = now_ns();
    int spins = 0;
    while (atomic_load(&p->gen) == seen) {
      cpu_relax();
      if (++spins % 256 == 0 && now_ns() - t0 > SPIN_NS) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);
        while (atomic_load(&p->gen) == seen) pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
      }
    }
    seen = atomic_load(&p->gen);
    if (atomic_load(&p->stop)) return NULL;
    work(p, id);
    atomic_fetch_add(&p->checked_in, 1);
  }
}

ar_pool *ar_pool_new(int n_threads) {
  ar_pool *p = ar_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n = n_threads < 1 ? 1 : n_threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  pthread_mutex_init(&p->run_mu, NULL);
  if (p->n > 1) {
    p->th = ar_calloc((size_t)p->n, sizeof *p->th);
    if (!p->th) { ar_pool_free(p); return NULL; }
    for (int i = 1; i < p->n; i++) {
      worker_arg *a = ar_malloc(sizeof *a);
      if (!a || pthread_create(&p->th[i], NULL, worker_main, a ? (a->p = p, a->id = i, a) : NULL)) {
        ar_free(a);
        p->n = i; /* only threads 1..i-1 exist */
        ar_pool_free(p);
        return NULL;
      }
    }
  }
  return p;
}

int ar_pool_threads(const ar_pool *p) { return p ? p->n : 1; }

void ar_pool_run(ar_pool *p, int n_tasks, ar_task_fn fn, void *ctx) {
  if (!p || p->n == 1 || n_tasks <= 1) {  /* no pool: this thread alone */
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    return;
  }
  pthread_mutex_lock(&p->run_mu);
  p->fn = fn;
  p->ctx = ctx;
  p->n_tasks = n_tasks;
  atomic_store(&p->next, 0);
  atomic_store(&p->checked_in, 0);
  atomic_fetch_add(&p->gen, 1);
  if (atomic_load(&p->sleepers)) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  work(p, 0);
  for (int spins = 0; atomic_load(&p->checked_in) < p->n - 1; spins++) {
    cpu_relax();
    if (spins > 4096) sched_yield(); /* a worker was descheduled: give it the core */
  }
  pthread_mutex_unlock(&p->run_mu);
}

void ar_pool_free(ar_pool *p) {
  if (!p) return;
  if (p->th) {
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
    ar_free(p->th);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->run_mu);
  ar_free(p);
}
