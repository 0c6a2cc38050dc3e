/* convolve-compute-priority.h: the training threads below the UI thread.
 *
 * In the app the main thread draws, and the trainer keeps every core busy.
 * With the same priority the scheduler gives the main thread a core only
 * its fair share of the time, and a frame waits for a GEMM's slice to end.
 * With a niceness set, each compute thread (the trainer's, the evaluation's)
 * lowers itself as it starts, with the workers it computes on (the engine's
 * pool and OpenBLAS's): then the main thread gets a core the moment it
 * wakes. Linux keeps a niceness per thread; a process may lower its threads'
 * priority but not raise it back, so the workers stay lowered for the
 * process's life (they only ever compute).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Process-wide, before the first run: 0 (the default, the CLI's) leaves
 * priorities alone; 1 to 19 is the niceness compute threads take. */
void convolve_compute_priority_set_niceness (int niceness);
int  convolve_compute_priority_get_niceness (void);

/* Called at the start of a compute thread: lowers the calling thread and
 * the compute workers to the niceness (never raises one). */
void convolve_compute_priority_apply        (void);

G_END_DECLS
