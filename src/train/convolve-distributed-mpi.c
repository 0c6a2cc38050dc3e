/* convolve-distributed-mpi.c: the collectives of data-parallel training
 * over MPI, with an error handler that returns and a watchdog on every
 * collective.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-distributed-mpi.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convolve-train-error.h"

#ifdef CONVOLVE_HAVE_MPI

#include <mpi.h>

typedef struct {
  ConvolveDistributed parent;
  int          thread_level;
  double       timeout_seconds;

  /* the watchdog: a deadline while a collective runs, 0 between them */
  GThread     *watchdog;
  GMutex       mutex;
  GCond        cond;
  gint64       deadline;
  const char  *operation;
  gboolean     quit;
} MpiDistributed;

static const ConvolveDistributedOps mpi_ops;

static G_NORETURN void
end_job (MpiDistributed *dist,
         int             status)
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
  MpiDistributed *dist = data;

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
                      dist->parent.rank, dist->parent.size, dist->operation, dist->timeout_seconds);
          end_job (dist, EXIT_FAILURE);
        }
    }
  g_mutex_unlock (&dist->mutex);
  return NULL;
}

static void
begin_collective (MpiDistributed *dist,
                  const char     *operation)
{
  g_mutex_lock (&dist->mutex);
  dist->operation = operation;
  dist->deadline = g_get_monotonic_time () + (gint64) (dist->timeout_seconds * G_USEC_PER_SEC);
  g_cond_signal (&dist->cond);
  g_mutex_unlock (&dist->mutex);
}

static gboolean
end_collective (MpiDistributed  *dist,
                int              rc,
                GError         **error)
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
                   _("rank %d of %d: %s failed: %s"), dist->parent.rank, dist->parent.size, dist->operation,
                   length > 0 ? text : _("unknown MPI error"));
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_distributed_mpi_available (void)
{
  return TRUE;
}

ConvolveDistributed *
convolve_distributed_mpi_new (int      *argc,
                              char   ***argv,
                              double    timeout_seconds,
                              GError  **error)
{
  MpiDistributed *dist;
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

  dist = g_new0 (MpiDistributed, 1);
  dist->parent.ops = &mpi_ops;
  dist->thread_level = provided;
  dist->timeout_seconds = timeout_seconds;
  MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank (MPI_COMM_WORLD, &dist->parent.rank);
  MPI_Comm_size (MPI_COMM_WORLD, &dist->parent.size);
  g_mutex_init (&dist->mutex);
  g_cond_init (&dist->cond);
  dist->watchdog = g_thread_new ("convolve-mpi-watchdog", watchdog_thread, dist);
  return &dist->parent;
}

static void
stop_watchdog (MpiDistributed *dist)
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
convolve_distributed_mpi_free (ConvolveDistributed *base)
{
  MpiDistributed *dist = (MpiDistributed *) base;

  if (dist == NULL)
    return;
  /* MPI_Finalize waits for every rank too: a rank that stopped answering
   * after this one's last collective would hang it (seen when a rank was
   * stopped at the end of a run), so the watchdog stays on until it is
   * through. */
  begin_collective (dist, "MPI_Finalize");
  MPI_Finalize ();
  stop_watchdog (dist);
  g_free (dist);
}

void
convolve_distributed_mpi_abort (ConvolveDistributed *base,
                                int                  status)
{
  MpiDistributed *dist = (MpiDistributed *) base;

  fflush (stdout);
  fflush (stderr);
  end_job (dist, status);
}

static gboolean
mpi_broadcast (ConvolveDistributed  *base,
               gpointer              data,
               gsize                 n_bytes,
               GError              **error)
{
  MpiDistributed *dist = (MpiDistributed *) base;

  begin_collective (dist, "MPI_Bcast");
  return end_collective (dist, MPI_Bcast (data, (int) n_bytes, MPI_BYTE, 0, MPI_COMM_WORLD), error);
}

static gboolean
mpi_sum (ConvolveDistributed      *base,
         gpointer                  data,
         gsize                     n,
         ConvolveDistributedType   type,
         GError                  **error)
{
  MpiDistributed *dist = (MpiDistributed *) base;
  MPI_Datatype mpi_type;

  switch (type)
    {
    case CONVOLVE_DISTRIBUTED_FLOAT:  mpi_type = MPI_FLOAT; break;
    case CONVOLVE_DISTRIBUTED_DOUBLE: mpi_type = MPI_DOUBLE; break;
    case CONVOLVE_DISTRIBUTED_UINT:   mpi_type = MPI_UNSIGNED; break;
    case CONVOLVE_DISTRIBUTED_INT32:  mpi_type = MPI_INT32_T; break;
    default: g_return_val_if_reached (FALSE);
    }
  begin_collective (dist, "MPI_Allreduce");
  return end_collective (dist, MPI_Allreduce (MPI_IN_PLACE, data, (int) n, mpi_type, MPI_SUM, MPI_COMM_WORLD),
                         error);
}

static gboolean
mpi_all (ConvolveDistributed  *base,
         gboolean              local,
         gboolean             *all,
         GError              **error)
{
  MpiDistributed *dist = (MpiDistributed *) base;
  int value = local ? 1 : 0;

  begin_collective (dist, "MPI_Allreduce");
  if (!end_collective (dist, MPI_Allreduce (MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD),
                       error))
    return FALSE;
  *all = value != 0;
  return TRUE;
}

static const ConvolveDistributedOps mpi_ops = {
  .broadcast = mpi_broadcast,
  .sum = mpi_sum,
  .all = mpi_all,
};

#else /* !CONVOLVE_HAVE_MPI: built without MPI */

gboolean
convolve_distributed_mpi_available (void)
{
  return FALSE;
}

ConvolveDistributed *
convolve_distributed_mpi_new (int      *argc,
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

/* No _new() succeeds, so there is never one to end. */
void
convolve_distributed_mpi_free (ConvolveDistributed *dist)
{
  g_return_if_fail (dist == NULL);
}

void
convolve_distributed_mpi_abort (ConvolveDistributed *dist,
                                int                  status)
{
  (void) dist;
  _exit (status);
}

#endif
