/* convolve-parallel.h: the engine's own threads, for every pass worth
 * splitting: a conv's runs of images (im2col, its per-image GEMMs, col2im,
 * bias and ReLU), the large matrix products (convolve-gemm.h), the fused
 * Dense update, BatchNorm's runs of channels and the optimizer's update of
 * a large slice.
 *
 * One pool for the process, convolve_engine_set_threads() threads (the
 * caller and n - 1 workers); OpenBLAS runs on one thread, the caller's, so
 * a task may call it and the two never run more threads than asked for.
 * A task's work depends only on its index and the number of tasks, never
 * on which thread runs it, so results are the same at a given count
 * whether the pool or the caller alone runs them (it does when the pool
 * is busy with another caller, or a thread cannot be started). A worker
 * runs a task at its caller's nice value (convolve_engine_lower_thread_priority()).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The most tasks convolve_parallel_run() takes. */
#define CONVOLVE_PARALLEL_MAX_THREADS 64

typedef void (*ConvolveParallelFunc) (int task, int n_tasks, gpointer data);

/* The thread count of convolve_engine_set_threads() (1 until called),
 * at most CONVOLVE_PARALLEL_MAX_THREADS. */
int  convolve_parallel_get_threads (void);
void _convolve_parallel_set_threads (int n_threads);

/* Runs func (task, n_tasks, data) for every task in 0 .. n_tasks - 1 and
 * returns when all are done; the caller runs task 0. */
void convolve_parallel_run (int                  n_tasks,
                            ConvolveParallelFunc func,
                            gpointer             data);

/* [*first, *last) of n items for task of n_tasks: contiguous, in order,
 * sizes differing by at most one. */
void convolve_parallel_range (gsize n, int task, int n_tasks, gsize *first, gsize *last);

G_END_DECLS
