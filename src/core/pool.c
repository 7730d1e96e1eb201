/* pool.c - fork-join thread pool: one job at a time, tasks handed out by an atomic counter.
 * Used by the encoder (ar_model's pool) and the dense scan (one pool per vector matrix).
 * The encoder runs ~6 jobs per layer, so hand-off latency matters: idle workers spin for a short
 * while (a query's jobs come back to back) before sleeping on a condition variable.
 * The job number and the next task index share one 64-bit word, and a task is claimed by a
 * compare-and-swap on both: a worker still holding an old job number can claim nothing of the next
 * job, so the caller waits only for the tasks to be done, never for every worker to check in. On a
 * loaded machine a worker that was descheduled while idle no longer holds up a query's every layer.
 * Callers on several threads take turns (run_mu): one job at a time. */
#include "core/pool.h"
#include "core/util.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
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
  _Atomic uint64_t job;        /* number | next task | task count (below); the number is bumped per job and at shutdown */
  atomic_int done;             /* tasks of the current job finished */
  atomic_int stop;
  atomic_int sleepers;
  ar_task_fn fn;               /* read only after claiming a task of the job they belong to */
  void *ctx;
};

typedef struct { ar_pool *p; int id; } worker_arg;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The job word: number (32 bits) | next task (16) | task count (16). The count travels in the same
 * word as the number so no worker can pair a new job's count with an old job's number. */
#define MAX_TASKS 0xFFFF
static uint32_t job_number(uint64_t j) { return (uint32_t)(j >> 32); }
static int job_next(uint64_t j) { return (int)((j >> 16) & 0xFFFF); }
static int job_count(uint64_t j) { return (int)(j & 0xFFFF); }

/* Claims and runs tasks of job `number` until none is left (or a newer job has started). */
static void work(ar_pool *p, uint32_t number, int id) {
  uint64_t j = atomic_load(&p->job);
  for (;;) {
    if (job_number(j) != number || job_next(j) >= job_count(j)) return;
    if (!atomic_compare_exchange_weak(&p->job, &j, j + (1u << 16))) continue;   /* j reloaded */
    p->fn(p->ctx, job_next(j), id);
    atomic_fetch_add(&p->done, 1);
    j = atomic_load(&p->job);
  }
}

static void *worker_main(void *arg) {
  ar_pool *p = ((worker_arg *)arg)->p;
  int id = ((worker_arg *)arg)->id;
  ar_free(arg);
  uint32_t seen = 0; /* the number at creation: a job (or shutdown) may come before this thread runs */
  for (;;) {
    long long t0 = now_ns();
    int spins = 0;
    while (job_number(atomic_load(&p->job)) == seen) {
      cpu_relax();
      if (++spins % 256 == 0 && now_ns() - t0 > SPIN_NS) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);
        while (job_number(atomic_load(&p->job)) == seen) pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
      }
    }
    seen = job_number(atomic_load(&p->job));
    if (atomic_load(&p->stop)) return NULL;
    work(p, seen, id);
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

/* More tasks than the job word counts: run them as several jobs, each shifting its task numbers. */
typedef struct { ar_task_fn fn; void *ctx; int base; } shifted;
static void shifted_task(void *ctx, int task, int worker) {
  shifted *sh = ctx;
  sh->fn(sh->ctx, sh->base + task, worker);
}

void ar_pool_run(ar_pool *p, int n_tasks, ar_task_fn fn, void *ctx) {
  if (!p || p->n == 1 || n_tasks <= 1) {  /* no pool: this thread alone */
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    return;
  }
  if (n_tasks > MAX_TASKS) {
    for (int base = 0; base < n_tasks; base += MAX_TASKS) {
      shifted sh = {fn, ctx, base};
      ar_pool_run(p, n_tasks - base < MAX_TASKS ? n_tasks - base : MAX_TASKS, shifted_task, &sh);
    }
    return;
  }
  pthread_mutex_lock(&p->run_mu);
  /* no worker can be inside the previous job's fn now (done reached its count), so these are free */
  p->fn = fn;
  p->ctx = ctx;
  atomic_store(&p->done, 0);
  uint32_t number = job_number(atomic_load(&p->job)) + 1;
  atomic_store(&p->job, (uint64_t)number << 32 | (uint64_t)n_tasks);   /* publishes the job */
  if (atomic_load(&p->sleepers)) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  work(p, number, 0);
  for (int spins = 0; atomic_load(&p->done) < n_tasks; spins++) {
    cpu_relax();
    if (spins > 4096) sched_yield(); /* a worker holding a task was descheduled: give it the core */
  }
  pthread_mutex_unlock(&p->run_mu);
}

void ar_pool_free(ar_pool *p) {
  if (!p) return;
  if (p->th) {
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->job, (uint64_t)(job_number(atomic_load(&p->job)) + 1) << 32);
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
