/* convolve-distributed-mpi.h: a ConvolveDistributed over MPI (the only
 * file pair that includes mpi.h, in its own library that convolve-cli
 * links; the app does not).
 *
 * Made on the main thread after the options are parsed and ended there
 * after the run. MPI errors are returned (MPI_ERRORS_RETURN) and become
 * GErrors. Every collective runs under a watchdog: one that has waited
 * longer than the timeout for the other ranks (a rank stopped, or the
 * network broke without MPI noticing) prints why on stderr and ends the
 * whole job, so no rank hangs.
 *
 * Built without MPI (-Dmpi=disabled, or auto without OpenMPI),
 * convolve_distributed_mpi_available() is FALSE and _new() fails with a
 * clear error.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-distributed.h"

G_BEGIN_DECLS

/* The default timeout: long enough for a slow rank to load a large
 * dataset before the first broadcast. */
#define CONVOLVE_DISTRIBUTED_DEFAULT_TIMEOUT 300.0

gboolean             convolve_distributed_mpi_available (void);

/* MPI_Init_thread (once per process); timeout_seconds > 0. */
ConvolveDistributed *convolve_distributed_mpi_new       (int          *argc,
                                                         char       ***argv,
                                                         double        timeout_seconds,
                                                         GError      **error);
/* MPI_Finalize after a run that every rank finished. */
void                 convolve_distributed_mpi_free      (ConvolveDistributed *dist);
/* Ends every rank of the job (MPI_Abort); does not return. */
G_NORETURN void      convolve_distributed_mpi_abort     (ConvolveDistributed *dist,
                                                         int                  status);

G_END_DECLS
