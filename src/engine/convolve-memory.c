/* convolve-memory.c: zeroed, aligned float buffers, large ones in huge
 * pages (see convolve-memory.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "convolve-memory.h"

#define HUGE_PAGE_BYTES ((gsize) 2 << 20)

float *
convolve_memory_alloc_floats (gsize n)
{
  void *p = NULL;
  gsize bytes;
  gboolean huge;

  if (n > G_MAXSIZE / sizeof (float) / 2)
    return NULL;
  bytes = MAX (n, 1) * sizeof (float);
  huge = bytes >= CONVOLVE_MEMORY_HUGE_BYTES;
  if (posix_memalign (&p, huge ? HUGE_PAGE_BYTES : 64, bytes) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  /* before the first touch, so the pages are made huge as they fault in;
   * a kernel without them, or set to "never", refuses and the buffer
   * stays in small pages */
  if (huge)
    (void) madvise (p, bytes / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES, MADV_HUGEPAGE);
#endif
  memset (p, 0, bytes);
  return p;
}
