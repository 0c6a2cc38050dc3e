/* convolve-distributed.c: collectives over MPI for data-parallel training,
 * with an error handler that returns and a watchdog on every collective.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-distributed.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convolve-train-error.h"

#ifdef CONVOLVE_HAVE_MPI

#include <mpi.h>

struct _ConvolveDistributed {
  int          rank, size;
  int          thread_level;
  double       timeout_seconds;

  /* the watchdog: a deadline while a collective runs, 0 between them */
  GThread     *watchdog;
  GMutex       mutex;
  GCond        cond;
  gint64       deadline;
  const char  *operation;
  gboolean     quit;

  double       sum_seconds;
  guint64      sum_calls;
};

static G_NORETURN void
end_job (ConvolveDistributed *dist,
         int                  status)
{
  /* MPI_Abort from a thread other than the one in the collective needs
   * MPI_THREAD_MULTIPLE; without it, exiting without MPI_Finalize makes
   * mpirun end the other ranks just the same. */
  if (dist->thread_level >= MPI_THREAD_MULTIPLE)
    MPI_Abort (MPI_COMM_WORLD, status);
  _exit (status);
}

static gpointer
watchdog_thread (gpointer data)
{
  ConvolveDistributed *dist = data;

  g_mutex_lock (&dist->mutex);
  while (!dist->quit)
    {
      if (dist->deadline == 0)
        g_cond_wait (&dist->cond, &dist->mutex);
      else if (!g_cond_wait_until (&dist->cond, &dist->mutex, dist->deadline) &&
               dist->deadline != 0 && g_get_monotonic_time () >= dist->deadline)
        {
          g_printerr (_("convolve-cli: rank %d of %d: %s waited %.0f s for the other ranks: "
                        "a rank has stopped or the network has failed; ending the job\n"),
                      dist->rank, dist->size, dist->operation, dist->timeout_seconds);
          end_job (dist, EXIT_FAILURE);
        }
    }
  g_mutex_unlock (&dist->mutex);
  return NULL;
}

static void
begin_collective (ConvolveDistributed *dist,
                  const char          *operation)
{
  g_mutex_lock (&dist->mutex);
  dist->operation = operation;
  dist->deadline = g_get_monotonic_time () + (gint64) (dist->timeout_seconds * G_USEC_PER_SEC);
  g_cond_signal (&dist->cond);
  g_mutex_unlock (&dist->mutex);
}

static gboolean
end_collective (ConvolveDistributed *dist,
                int                  rc,
                GError             **error)
{
  g_mutex_lock (&dist->mutex);
  dist->deadline = 0;
  g_mutex_unlock (&dist->mutex);

  if (rc != MPI_SUCCESS)
    {
      char text[MPI_MAX_ERROR_STRING];
      int length = 0;

      if (MPI_Error_string (rc, text, &length) != MPI_SUCCESS)
        length = 0;
      text[MIN (length, MPI_MAX_ERROR_STRING - 1)] = '\0';
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_DISTRIBUTED,
                   _("rank %d of %d: %s failed: %s"), dist->rank, dist->size, dist->operation,
                   length > 0 ? text : _("unknown MPI error"));
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_distributed_available (void)
{
  return TRUE;
}

ConvolveDistributed *
convolve_distributed_new (int      *argc,
                          char   ***argv,
                          double    timeout_seconds,
                          GError  **error)
{
  ConvolveDistributed *dist;
  int initialized = 0, provided = MPI_THREAD_SINGLE;

  g_return_val_if_fail (timeout_seconds > 0, NULL);

  if (MPI_Initialized (&initialized) != MPI_SUCCESS || initialized)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_DISTRIBUTED,
                           _("MPI is already initialised in this process"));
      return NULL;
    }
  /* The trainer thread runs the collectives while the main thread waits
   * (and the watchdog may abort): several threads use MPI. */
  if (MPI_Init_thread (argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_DISTRIBUTED,
                           _("MPI could not be initialised (was the program started with mpirun?)"));
      return NULL;
    }
  if (provided < MPI_THREAD_SERIALIZED)
    {
      MPI_Finalize ();
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_DISTRIBUTED,
                           _("This MPI library does not allow calls from more than one thread"));
      return NULL;
    }

  dist = g_new0 (ConvolveDistributed, 1);
  dist->thread_level = provided;
  dist->timeout_seconds = timeout_seconds;
  MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank (MPI_COMM_WORLD, &dist->rank);
  MPI_Comm_size (MPI_COMM_WORLD, &dist->size);
  g_mutex_init (&dist->mutex);
  g_cond_init (&dist->cond);
  dist->watchdog = g_thread_new ("convolve-mpi-watchdog", watchdog_thread, dist);
  return dist;
}

static void
stop_watchdog (ConvolveDistributed *dist)
{
  g_mutex_lock (&dist->mutex);
  dist->quit = TRUE;
  g_cond_signal (&dist->cond);
  g_mutex_unlock (&dist->mutex);
  g_thread_join (dist->watchdog);
  g_mutex_clear (&dist->mutex);
  g_cond_clear (&dist->cond);
}

void
convolve_distributed_free (ConvolveDistributed *dist)
{
  if (dist == NULL)
    return;
  stop_watchdog (dist);
  MPI_Finalize ();
  g_free (dist);
}

void
convolve_distributed_abort (ConvolveDistributed *dist,
                            int                  status)
{
  fflush (stdout);
  fflush (stderr);
  end_job (dist, status);
}

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

/* MPI counts are int: large buffers go in pieces. */
#define PIECE ((gsize) G_MAXINT / 16)

gboolean
convolve_distributed_broadcast_bytes (ConvolveDistributed *dist,
                                      gpointer             data,
                                      gsize                n_bytes,
                                      GError             **error)
{
  for (gsize done = 0; done < n_bytes; done += PIECE)
    {
      int count = (int) MIN (PIECE, n_bytes - done);

      begin_collective (dist, "MPI_Bcast");
      if (!end_collective (dist, MPI_Bcast ((char *) data + done, count, MPI_BYTE, 0, MPI_COMM_WORLD),
                           error))
        return FALSE;
    }
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
sum_in_place (ConvolveDistributed *dist,
              gpointer             data,
              gsize                n,
              gsize                item_size,
              MPI_Datatype         type,
              gsize                bucket,
              GError             **error)
{
  for (gsize done = 0; done < n; done += bucket)
    {
      int count = (int) MIN (bucket, n - done);

      begin_collective (dist, "MPI_Allreduce");
      if (!end_collective (dist, MPI_Allreduce (MPI_IN_PLACE, (char *) data + done * item_size, count,
                                                type, MPI_SUM, MPI_COMM_WORLD),
                           error))
        return FALSE;
    }
  return TRUE;
}

gboolean
convolve_distributed_sum_gradients (ConvolveDistributed *dist,
                                    float               *data,
                                    gsize                n,
                                    GError             **error)
{
  gint64 start = g_get_monotonic_time ();
  gboolean ok = sum_in_place (dist, data, n, sizeof (float), MPI_FLOAT,
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
  return sum_in_place (dist, data, n, sizeof (float), MPI_FLOAT, PIECE / sizeof (float), error);
}

gboolean
convolve_distributed_sum_doubles (ConvolveDistributed *dist,
                                  double              *data,
                                  gsize                n,
                                  GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (double), MPI_DOUBLE, PIECE / sizeof (double), error);
}

gboolean
convolve_distributed_sum_uints (ConvolveDistributed *dist,
                                guint               *data,
                                gsize                n,
                                GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (guint), MPI_UNSIGNED, PIECE / sizeof (guint), error);
}

gboolean
convolve_distributed_sum_ints (ConvolveDistributed *dist,
                               gint32              *data,
                               gsize                n,
                               GError             **error)
{
  return sum_in_place (dist, data, n, sizeof (gint32), MPI_INT32_T, PIECE / sizeof (gint32), error);
}

gboolean
convolve_distributed_all (ConvolveDistributed *dist,
                          gboolean             local,
                          gboolean            *all,
                          GError             **error)
{
  int value = local ? 1 : 0;

  begin_collective (dist, "MPI_Allreduce");
  if (!end_collective (dist, MPI_Allreduce (MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD),
                       error))
    return FALSE;
  *all = value != 0;
  return TRUE;
}

void
convolve_distributed_get_sum_stats (const ConvolveDistributed *dist,
                                    double                    *seconds,
                                    guint64                   *n_calls)
{
  *seconds = dist->sum_seconds;
  *n_calls = dist->sum_calls;
}

#else /* !CONVOLVE_HAVE_MPI: built without MPI */

gboolean
convolve_distributed_available (void)
{
  return FALSE;
}

ConvolveDistributed *
convolve_distributed_new (int      *argc,
                          char   ***argv,
                          double    timeout_seconds,
                          GError  **error)
{
  (void) argc;
  (void) argv;
  (void) timeout_seconds;
  g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_DISTRIBUTED,
                       _("This build of Convolve has no MPI support (build with -Dmpi=enabled)"));
  return NULL;
}

/* No _new() succeeds, so nothing below is ever reached. */
void convolve_distributed_free (ConvolveDistributed *dist) { g_return_if_fail (dist == NULL); }
void convolve_distributed_abort (ConvolveDistributed *dist, int status) { (void) dist; _exit (status); }
int convolve_distributed_get_rank (const ConvolveDistributed *dist) { (void) dist; g_return_val_if_reached (0); }
int convolve_distributed_get_size (const ConvolveDistributed *dist) { (void) dist; g_return_val_if_reached (1); }
#define UNREACHABLE(name, type) \
  gboolean name (ConvolveDistributed *dist, type data, gsize n, GError **error) \
  { (void) dist; (void) data; (void) n; (void) error; g_return_val_if_reached (FALSE); }
UNREACHABLE (convolve_distributed_broadcast_floats, float *)
UNREACHABLE (convolve_distributed_broadcast_bytes, gpointer)
UNREACHABLE (convolve_distributed_sum_floats, float *)
UNREACHABLE (convolve_distributed_sum_gradients, float *)
UNREACHABLE (convolve_distributed_sum_doubles, double *)
UNREACHABLE (convolve_distributed_sum_uints, guint *)
UNREACHABLE (convolve_distributed_sum_ints, gint32 *)
gboolean convolve_distributed_broadcast_string (ConvolveDistributed *dist, const char *text, char **result, GError **error)
{ (void) dist; (void) text; (void) result; (void) error; g_return_val_if_reached (FALSE); }
gboolean convolve_distributed_all (ConvolveDistributed *dist, gboolean local, gboolean *all, GError **error)
{ (void) dist; (void) local; (void) all; (void) error; g_return_val_if_reached (FALSE); }
void convolve_distributed_get_sum_stats (const ConvolveDistributed *dist, double *seconds, guint64 *n_calls)
{ (void) dist; *seconds = 0; *n_calls = 0; }

#endif
