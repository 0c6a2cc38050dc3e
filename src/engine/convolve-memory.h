/* convolve-memory.h: the engine's float buffers (parameters, gradients,
 * the optimizer's state, activations and workspaces), allocated in one
 * place.
 *
 * Each is zeroed and 64-byte aligned, and freed with free(). One of
 * CONVOLVE_MEMORY_HUGE_BYTES or more is aligned to 2 MiB and asked for in
 * transparent huge pages (MADV_HUGEPAGE, where Linux's setting is
 * "madvise", as on Debian): the passes stream such buffers end to end, and
 * on a virtual machine every 4 KiB page costs a nested page walk. With
 * the tutorial model's 32 MiB Dense kernel in huge pages, predicting one
 * image took 9% less time at one thread and 2-7% less at two, a training
 * step 0-4% less (one process, two models alternating).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CONVOLVE_MEMORY_HUGE_BYTES ((gsize) 4 << 20)

/* n floats (at least one), zeroed, or NULL when memory is short or n is
 * beyond what a size can count. */
float *convolve_memory_alloc_floats (gsize n);

G_END_DECLS
