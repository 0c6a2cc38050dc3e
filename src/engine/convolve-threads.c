/* convolve-threads.c: how many threads the engine uses, and its pool.
 *
 * OpenBLAS is held at one thread, from the start: every pass, the large
 * matrix products included (convolve-gemm.h), is split over the engine's
 * pool (see convolve-parallel.h), whose threads sleep between jobs. The
 * pool wakes its workers with a condition variable per job: a job is a
 * whole layer's pass or product, tens of microseconds or more, so a
 * wake-up of some microseconds does not matter. (OpenBLAS's own threads
 * spin in sched_yield for a while after each product: beside the pool's
 * work on two cores they took a third of the machine and made two threads
 * slower than one.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cblas.h>
#if defined(__SSE2__) || defined(__x86_64__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "convolve-model.h"
#include "convolve-parallel.h"

static int requested_threads = 1;  /* atomic */

static GMutex pool_lock;
static GCond  pool_wake, pool_done;
static int    pool_busy;           /* atomic: a caller owns the pool */
static int    n_workers;           /* under pool_lock */
static guint  generation;          /* under pool_lock: bumped per job */
static int    pending;             /* under pool_lock: worker tasks not done */
static ConvolveParallelFunc job_func;
static gpointer job_data;
static int    job_tasks;
static int    job_nice;            /* the caller's nice value */
static guint  worker_start[CONVOLVE_PARALLEL_MAX_THREADS];  /* generation when each was made */

void
convolve_engine_flush_subnormals (void)
{
#if defined(__SSE2__) || defined(__x86_64__)
  _MM_SET_FLUSH_ZERO_MODE (_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE (_MM_DENORMALS_ZERO_ON);
#elif defined(__aarch64__)
  guint64 fpcr;

  __asm__ __volatile__ ("mrs %0, fpcr" : "=r" (fpcr));
  __asm__ __volatile__ ("msr fpcr, %0" : : "r" (fpcr | (G_GUINT64_CONSTANT (1) << 24)));
#endif
}

/* Before main(): OPENBLAS_NUM_THREADS or the core count would otherwise
 * let the first product wake OpenBLAS's threads. */
__attribute__((constructor)) static void
hold_blas_to_one_thread (void)
{
  openblas_set_num_threads (1);
}

void
convolve_engine_set_threads (int n_threads)
{
  g_return_if_fail (n_threads >= 1);
  openblas_set_num_threads (1);
  _convolve_parallel_set_threads (n_threads);
}

int
convolve_engine_get_threads (void)
{
  return convolve_parallel_get_threads ();
}

void
_convolve_parallel_set_threads (int n_threads)
{
  g_atomic_int_set (&requested_threads, CLAMP (n_threads, 1, CONVOLVE_PARALLEL_MAX_THREADS));
}

int
convolve_parallel_get_threads (void)
{
  return g_atomic_int_get (&requested_threads);
}

void
convolve_parallel_range (gsize n, int task, int n_tasks, gsize *first, gsize *last)
{
  gsize base = n / (gsize) n_tasks, extra = n % (gsize) n_tasks, t = (gsize) task;

  *first = t * base + MIN (t, extra);
  *last = *first + base + (t < extra ? 1 : 0);
}

/* The calling thread's nice value (0 where there is none). */
static int
thread_nice (void)
{
#ifdef __linux__
  return getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
#else
  return 0;
#endif
}

static void
set_thread_nice (int nice)
{
#ifdef __linux__
  /* Lowering it again needs a privilege the process may lack: then the
   * worker stays at the higher value, which only ever yields. */
  (void) setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), nice);
#else
  (void) nice;
#endif
}

void
convolve_engine_lower_thread_priority (void)
{
  set_thread_nice (MIN (thread_nice () + CONVOLVE_ENGINE_BACKGROUND_NICE, 19));
}

static gpointer
pool_worker (gpointer user_data)
{
  int index = GPOINTER_TO_INT (user_data);
  int nice = thread_nice ();
  guint seen;

  convolve_engine_flush_subnormals ();
  g_mutex_lock (&pool_lock);
  seen = worker_start[index];
  for (;;)
    {
      while (generation == seen)
        g_cond_wait (&pool_wake, &pool_lock);
      seen = generation;
      if (index < job_tasks)
        {
          ConvolveParallelFunc func = job_func;
          gpointer data = job_data;
          int tasks = job_tasks;
          int caller_nice = job_nice;

          g_mutex_unlock (&pool_lock);
          if (caller_nice != nice)
            {
              set_thread_nice (caller_nice);
              nice = thread_nice ();
            }
          func (index, tasks, data);
          g_mutex_lock (&pool_lock);
          if (--pending == 0)
            g_cond_signal (&pool_done);
        }
    }
  return NULL;
}

/* Workers 1 .. n - 1 exist (they live as long as the process). */
static gboolean
ensure_workers (int n)
{
  g_mutex_lock (&pool_lock);
  while (n_workers < n - 1)
    {
      GThread *thread;

      worker_start[n_workers + 1] = generation;
      thread = g_thread_try_new ("convolve-pool", pool_worker,
                                 GINT_TO_POINTER (n_workers + 1), NULL);

      if (thread == NULL)
        break;
      g_thread_unref (thread);
      n_workers++;
    }
  g_mutex_unlock (&pool_lock);
  return n_workers >= n - 1;
}

void
convolve_parallel_run (int                  n_tasks,
                       ConvolveParallelFunc func,
                       gpointer             data)
{
  int nice;

  g_return_if_fail (n_tasks >= 1 && n_tasks <= CONVOLVE_PARALLEL_MAX_THREADS);

  if (n_tasks == 1 || !g_atomic_int_compare_and_exchange (&pool_busy, 0, 1))
    {
      for (int t = 0; t < n_tasks; t++)
        func (t, n_tasks, data);
      return;
    }
  if (!ensure_workers (n_tasks))
    {
      g_atomic_int_set (&pool_busy, 0);
      for (int t = 0; t < n_tasks; t++)
        func (t, n_tasks, data);
      return;
    }

  nice = thread_nice ();
  g_mutex_lock (&pool_lock);
  job_func = func;
  job_data = data;
  job_tasks = n_tasks;
  job_nice = nice;
  pending = n_tasks - 1;
  generation++;
  g_cond_broadcast (&pool_wake);
  g_mutex_unlock (&pool_lock);

  func (0, n_tasks, data);

  g_mutex_lock (&pool_lock);
  while (pending > 0)
    g_cond_wait (&pool_done, &pool_lock);
  job_tasks = 0;
  g_mutex_unlock (&pool_lock);
  g_atomic_int_set (&pool_busy, 0);
}
