/* convolve-threads.c: how many threads the engine's kernels use.
 *
 * OpenBLAS runs the GEMMs on its own threads; the engine's elementwise
 * passes are split over the same number (see convolve-parallel.c), so the
 * two never run more threads than asked for.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cblas.h>

#include "convolve-model.h"

void
convolve_engine_set_threads (int n_threads)
{
  g_return_if_fail (n_threads >= 1);
  openblas_set_num_threads (n_threads);
}

int
convolve_engine_get_threads (void)
{
  return openblas_get_num_threads ();
}
