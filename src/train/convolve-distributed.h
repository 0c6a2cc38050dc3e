/* convolve-distributed.h: the few collective operations that data-parallel
 * training needs, over a transport (convolve-distributed-mpi.h makes one
 * over MPI).
 *
 * One ConvolveDistributed per process; the trainer thread calls the
 * collectives, and every rank must call the same ones in the same order.
 * A failed collective sets a GError (CONVOLVE_TRAIN_ERROR_DISTRIBUTED); the
 * program then ends the whole job.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ConvolveDistributed ConvolveDistributed;

typedef enum {
  CONVOLVE_DISTRIBUTED_FLOAT,
  CONVOLVE_DISTRIBUTED_DOUBLE,
  CONVOLVE_DISTRIBUTED_UINT,
  CONVOLVE_DISTRIBUTED_INT32,
} ConvolveDistributedType;

/* What a transport does (convolve-distributed-mpi.c: MPI). Each call is
 * collective; n fits an int. */
typedef struct {
  gboolean (*broadcast) (ConvolveDistributed      *dist,
                         gpointer                  data,
                         gsize                     n_bytes,
                         GError                  **error);
  gboolean (*sum)       (ConvolveDistributed      *dist,
                         gpointer                  data,
                         gsize                     n,
                         ConvolveDistributedType   type,
                         GError                  **error);
  gboolean (*all)       (ConvolveDistributed      *dist,
                         gboolean                  local,
                         gboolean                 *all,
                         GError                  **error);
} ConvolveDistributedOps;

/* Filled in by the transport; the rest of the train layer only calls the
 * functions below, so that only programs that start a transport (the CLI)
 * link one: the app and the tests do not link MPI. */
struct _ConvolveDistributed {
  const ConvolveDistributedOps *ops;
  int                           rank, size;
  double                        sum_seconds;  /* in convolve_distributed_sum_gradients */
  guint64                       sum_calls;
};

int      convolve_distributed_get_rank (const ConvolveDistributed *dist);
int      convolve_distributed_get_size (const ConvolveDistributed *dist);

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
