/* convolve-distributed.c: the collectives of data-parallel training on
 * top of a transport's three operations: large buffers in pieces an int
 * can count, the gradients in buckets and timed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-distributed.h"

#include <string.h>

/* Transports count in int. */
#define PIECE_BYTES ((gsize) G_MAXINT / 16)

int
convolve_distributed_get_rank (const ConvolveDistributed *dist)
{
  return dist->rank;
}

int
convolve_distributed_get_size (const ConvolveDistributed *dist)
{
  return dist->size;
}

gboolean
convolve_distributed_broadcast_bytes (ConvolveDistributed *dist,
                                      gpointer             data,
                                      gsize                n_bytes,
                                      GError             **error)
{
  for (gsize done = 0; done < n_bytes; done += PIECE_BYTES)
    if (!dist->ops->broadcast (dist, (char *) data + done, MIN (PIECE_BYTES, n_bytes - done), error))
      return FALSE;
  return TRUE;
}

gboolean
convolve_distributed_broadcast_floats (ConvolveDistributed *dist,
                                       float               *data,
                                       gsize                n,
                                       GError             **error)
{
  return convolve_distributed_broadcast_bytes (dist, data, n * sizeof (float), error);
}

gboolean
convolve_distributed_broadcast_string (ConvolveDistributed *dist,
                                       const char          *text,
                                       char               **result,
                                       GError             **error)
{
  /* the length + 1, 0 for NULL */
  guint64 length = text != NULL ? strlen (text) + 1 : 0;
  g_autofree char *buffer = NULL;

  if (!convolve_distributed_broadcast_bytes (dist, &length, sizeof length, error))
    return FALSE;
  if (length == 0)
    {
      *result = NULL;
      return TRUE;
    }
  buffer = g_malloc (length);
  if (dist->rank == 0)
    memcpy (buffer, text, length);
  if (!convolve_distributed_broadcast_bytes (dist, buffer, length, error))
    return FALSE;
  buffer[length - 1] = '\0';
  *result = g_steal_pointer (&buffer);
  return TRUE;
}

static gboolean
sum_in_place (ConvolveDistributed     *dist,
              gpointer                 data,
              gsize                    n,
              gsize                    item_size,
              ConvolveDistributedType  type,
              gsize                    bucket,
              GError                 **error)
{
  for (gsize done = 0; done < n; done += bucket)
    if (!dist->ops->sum (dist, (char *) data + done * item_size, MIN (bucket, n - done), type, error))
      return FALSE;
  return TRUE;
}

gboolean
convolve_distributed_sum_gradients (ConvolveDistributed *dist,
                                    float               *data,
                                    gsize                n,
                                    GError             **error)
{
  gint64 start = g_get_monotonic_time ();
  gboolean ok = sum_in_place (dist, data, n, sizeof (float), CONVOLVE_DISTRIBUTED_FLOAT,
                              CONVOLVE_DISTRIBUTED_BUCKET_FLOATS, error);

  dist->sum_seconds += (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  dist->sum_calls++;
  return ok;
}

gboolean
convolve_distributed_sum_floats (ConvolveDistributed *dist,
                                 float               *data,
                                 gsize                n,
                                 GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (float), CONVOLVE_DISTRIBUTED_FLOAT,
                       PIECE_BYTES / sizeof (float), error);
}

gboolean
convolve_distributed_sum_doubles (ConvolveDistributed *dist,
                                  double              *data,
                                  gsize                n,
                                  GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (double), CONVOLVE_DISTRIBUTED_DOUBLE,
                       PIECE_BYTES / sizeof (double), error);
}

gboolean
convolve_distributed_sum_uints (ConvolveDistributed *dist,
                                guint               *data,
                                gsize                n,
                                GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (guint), CONVOLVE_DISTRIBUTED_UINT,
                       PIECE_BYTES / sizeof (guint), error);
}

gboolean
convolve_distributed_sum_ints (ConvolveDistributed *dist,
                               gint32              *data,
                               gsize                n,
                               GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (gint32), CONVOLVE_DISTRIBUTED_INT32,
                       PIECE_BYTES / sizeof (gint32), error);
}

gboolean
convolve_distributed_all (ConvolveDistributed *dist,
                          gboolean             local,
                          gboolean            *all,
                          GError             **error)
{
  return dist->ops->all (dist, local, all, error);
}

void
convolve_distributed_get_sum_stats (const ConvolveDistributed *dist,
                                    double                    *seconds,
                                    guint64                   *n_calls)
{
  *seconds = dist->sum_seconds;
  *n_calls = dist->sum_calls;
}
