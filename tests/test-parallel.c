/* test-parallel.c: the engine's pool runs every task of a job exactly once
 * and returns only when all are done, over many jobs one after another:
 * empty ones back to back, ones with a slow task (the caller's own or a
 * worker's), more threads than the machine has processors, fewer tasks
 * than workers, jobs after the workers have slept a while, and two
 * callers at once (one runs its tasks itself).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-model.h"
#include "convolve-parallel.h"

typedef struct {
  int     runs[CONVOLVE_PARALLEL_MAX_THREADS];  /* atomic */
  int     n_tasks;                              /* atomic: as each task saw it */
  int     slow_task;                            /* -1: none */
  gulong  slow_us;
} Job;

static void
count_task (int task, int n_tasks, gpointer data)
{
  Job *job = data;

  g_atomic_int_set (&job->n_tasks, n_tasks);
  if (task == job->slow_task)
    g_usleep (job->slow_us);
  g_atomic_int_inc (&job->runs[task]);
}

/* n_jobs jobs of 1 .. max_tasks tasks, each checked as soon as it returns. */
static void
run_jobs (int n_jobs, int max_tasks, int slow_every, gulong slow_us, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (int i = 0; i < n_jobs; i++)
    {
      Job job = { { 0 }, 0, -1, slow_us };
      int n_tasks = g_rand_int_range (rand, 1, max_tasks + 1);

      if (slow_every > 0 && i % slow_every == 0)
        job.slow_task = g_rand_int_range (rand, 0, n_tasks);
      convolve_parallel_run (n_tasks, count_task, &job);
      g_assert_cmpint (g_atomic_int_get (&job.n_tasks), ==, n_tasks);
      for (int t = 0; t < CONVOLVE_PARALLEL_MAX_THREADS; t++)
        g_assert_cmpint (g_atomic_int_get (&job.runs[t]), ==, t < n_tasks ? 1 : 0);
    }
  g_rand_free (rand);
}

static void
test_every_task_once (void)
{
  int saved = convolve_engine_get_threads ();
  int processors = (int) g_get_num_processors ();

  for (int threads = 2; threads <= 4; threads++)
    {
      convolve_engine_set_threads (threads);
      /* back to back */
      run_jobs (20000, threads, 0, 0, 1);
      /* a slow task now and then, the caller's own as often as a worker's */
      run_jobs (60, threads, 2, 3000, 2);
    }
  /* more threads than processors */
  convolve_engine_set_threads (MIN (processors + 2, CONVOLVE_PARALLEL_MAX_THREADS));
  run_jobs (2000, MIN (processors + 2, CONVOLVE_PARALLEL_MAX_THREADS), 50, 2000, 3);
  convolve_engine_set_threads (saved);
}

/* A gap between jobs: the workers are asleep when the next job comes. */
static void
test_after_idle (void)
{
  int saved = convolve_engine_get_threads ();

  convolve_engine_set_threads (2);
  for (int i = 0; i < 20; i++)
    {
      run_jobs (3, 2, 0, 0, (guint32) i);
      g_usleep (3000);
    }
  convolve_engine_set_threads (saved);
}

static gpointer
other_caller (gpointer data)
{
  run_jobs (5000, 2, 100, 1500, GPOINTER_TO_UINT (data));
  return NULL;
}

/* Two callers at once: whichever finds the pool busy runs its own tasks,
 * and both see every task run once. */
static void
test_two_callers (void)
{
  int saved = convolve_engine_get_threads ();
  GThread *thread;

  convolve_engine_set_threads (2);
  thread = g_thread_new ("other-caller", other_caller, GUINT_TO_POINTER (7));
  run_jobs (5000, 2, 100, 1500, 8);
  g_thread_join (thread);
  convolve_engine_set_threads (saved);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/parallel/every-task-once", test_every_task_once);
  g_test_add_func ("/engine/parallel/after-idle", test_after_idle);
  g_test_add_func ("/engine/parallel/two-callers", test_two_callers);
  return g_test_run ();
}
