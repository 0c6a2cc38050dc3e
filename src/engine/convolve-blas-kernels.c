/* convolve-blas-kernels.c: making sure OpenBLAS runs its fast kernels.
 *
 * Debian 12's OpenBLAS (0.3.21, built for every x86-64 CPU) picks its
 * kernels by the CPU's model number when the library loads. A CPU it does
 * not know, a newer Xeon or a virtual machine that reports a generic one,
 * gets its most general kernels, "Prescott" (SSE3): on such a machine with
 * AVX-512 the tutorial model trained at 73-85 images/s with them and at
 * 162-215 with the AVX-512 ones (`convolve-cli bench --threads 1`, runs
 * alternated). OPENBLAS_CORETYPE chooses the kernels instead, but only
 * before the library loads, which is before main(): so the program sets
 * it and starts itself again, once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cblas.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "convolve-engine.h"

/* The kernels this CPU can run, as OpenBLAS names them, or NULL. The
 * checks include the operating system's support for the registers. */
static const char *
best_coretype (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
      __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
#endif
  return NULL;
}

const char *
convolve_engine_get_blas_kernels (void)
{
  const char *name = openblas_get_corename ();

  return name != NULL ? name : "unknown";
}

void
convolve_engine_choose_blas_kernels (char **argv)
{
  const char *coretype;

  /* the user's choice, or this is the second start */
  if (g_getenv ("OPENBLAS_CORETYPE") != NULL || argv == NULL || argv[0] == NULL)
    return;
  if (g_ascii_strcasecmp (convolve_engine_get_blas_kernels (), "prescott") != 0)
    return;
  coretype = best_coretype ();
  if (coretype == NULL)
    return;

  g_setenv ("OPENBLAS_CORETYPE", coretype, TRUE);
  execv ("/proc/self/exe", argv);
  /* Could not start again (no /proc): go on with the slower kernels. */
  g_debug ("OpenBLAS kept its generic kernels: starting again failed: %s", g_strerror (errno));
  g_unsetenv ("OPENBLAS_CORETYPE");
}
