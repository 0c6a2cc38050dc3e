/* convolve-distributed.h: the few collective operations that data-parallel
 * training needs, over MPI (the only file that includes mpi.h).
 *
 * One ConvolveDistributed per process, made on the main thread after the
 * options are parsed and ended there after the run. The trainer thread
 * calls the collectives; every rank must call the same ones in the same
 * order. Every collective runs under a watchdog: one that has waited
 * longer than the timeout for the other ranks (a rank stopped, or the
 * network broke without MPI noticing) prints why on stderr and ends the
 * whole job, so no rank hangs. MPI errors are returned (MPI_ERRORS_RETURN)
 * and become GErrors; the caller then ends the job with
 * convolve_distributed_abort().
 *
 * Built without MPI (-Dmpi=disabled, or auto without OpenMPI),
 * convolve_distributed_available() is FALSE and _new() fails with a clear
 * error; nothing else may be called.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ConvolveDistributed ConvolveDistributed;

/* The default for _new()'s timeout: long enough for a slow rank to load a
 * large dataset before the first broadcast. */
#define CONVOLVE_DISTRIBUTED_DEFAULT_TIMEOUT 300.0

gboolean             convolve_distributed_available (void);

/* MPI_Init_thread (once per process); timeout_seconds > 0. */
ConvolveDistributed *convolve_distributed_new       (int          *argc,
                                                     char       ***argv,
                                                     double        timeout_seconds,
                                                     GError      **error);
/* MPI_Finalize after a run that every rank finished. */
void                 convolve_distributed_free      (ConvolveDistributed *dist);
/* Ends every rank of the job (MPI_Abort); does not return. */
G_NORETURN void      convolve_distributed_abort     (ConvolveDistributed *dist,
                                                     int                  status);

int                  convolve_distributed_get_rank  (const ConvolveDistributed *dist);
int                  convolve_distributed_get_size  (const ConvolveDistributed *dist);

/* Rank 0's n floats (bytes) become every rank's. */
gboolean convolve_distributed_broadcast_floats (ConvolveDistributed *dist,
                                                float               *data,
                                                gsize                n,
                                                GError             **error);
gboolean convolve_distributed_broadcast_bytes  (ConvolveDistributed *dist,
                                                gpointer             data,
                                                gsize                n_bytes,
                                                GError             **error);
/* Rank 0's string (nullable) for every rank (transfer full). */
gboolean convolve_distributed_broadcast_string (ConvolveDistributed *dist,
                                                const char          *text,
                                                char               **result,
                                                GError             **error);

/* In place, every rank gets the sum over the ranks. The gradient sum runs
 * in buckets of CONVOLVE_DISTRIBUTED_BUCKET_FLOATS and is timed (see
 * convolve_distributed_get_sum_stats). */
#define CONVOLVE_DISTRIBUTED_BUCKET_FLOATS (4u * 1024 * 1024)
gboolean convolve_distributed_sum_gradients (ConvolveDistributed *dist,
                                             float               *data,
                                             gsize                n,
                                             GError             **error);
gboolean convolve_distributed_sum_floats  (ConvolveDistributed *dist,
                                           float               *data,
                                           gsize                n,
                                           GError             **error);
gboolean convolve_distributed_sum_doubles (ConvolveDistributed *dist,
                                           double              *data,
                                           gsize                n,
                                           GError             **error);
gboolean convolve_distributed_sum_uints   (ConvolveDistributed *dist,
                                           guint               *data,
                                           gsize                n,
                                           GError             **error);
gboolean convolve_distributed_sum_ints    (ConvolveDistributed *dist,
                                           gint32              *data,
                                           gsize                n,
                                           GError             **error);
/* TRUE in *all when every rank passed TRUE. */
gboolean convolve_distributed_all         (ConvolveDistributed *dist,
                                           gboolean             local,
                                           gboolean            *all,
                                           GError             **error);

/* Time spent in convolve_distributed_sum_gradients (the gradient allreduce)
 * and how many calls, since the start. */
void     convolve_distributed_get_sum_stats (const ConvolveDistributed *dist,
                                             double                    *seconds,
                                             guint64                   *n_calls);

/* The part [*first, *end) of n items that rank takes: contiguous, in rank
 * order, sizes differing by at most one. */
static inline void
convolve_distributed_slice (guint  n,
                            int    rank,
                            int    size,
                            guint *first,
                            guint *end)
{
  *first = (guint) (((guint64) n * (guint) rank) / (guint) size);
  *end = (guint) (((guint64) n * (guint) (rank + 1)) / (guint) size);
}

G_END_DECLS
