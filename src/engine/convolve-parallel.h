/* convolve-parallel.h: the engine's own threads, for the passes that
 * OpenBLAS does not split well: a conv's runs of images (im2col, its
 * per-image GEMMs, col2im, bias and ReLU) and the optimizer's update of a
 * large slice. (BatchNorm stays on one thread: split by channel it cost
 * more in hand-overs than it saved, measured with bench --profile.)
 *
 * One pool for the process, as many threads as convolve_engine_set_threads()
 * gave OpenBLAS: while a task that calls OpenBLAS runs on the pool, OpenBLAS
 * is held at one thread, so the two never run more threads than asked for.
 * A task's work depends only on its index and the number of tasks, never
 * on which thread runs it, so results are the same at a given count
 * whether the pool or the caller alone runs them (it does when the pool
 * is busy with another caller, or a thread cannot be started).
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
 * returns when all are done; the caller runs task 0. uses_blas: a task
 * calls OpenBLAS (held at one thread meanwhile). */
void convolve_parallel_run (int                  n_tasks,
                            ConvolveParallelFunc func,
                            gpointer             data,
                            gboolean             uses_blas);

/* [*first, *last) of n items for task of n_tasks: contiguous, in order,
 * sizes differing by at most one. */
void convolve_parallel_range (gsize n, int task, int n_tasks, gsize *first, gsize *last);

G_END_DECLS
