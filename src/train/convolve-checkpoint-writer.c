/* convolve-checkpoint-writer.c: checkpoints saved on their own thread, one
 * waiting job at most (see convolve-checkpoint-writer.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-checkpoint-writer.h"

struct _ConvolveCheckpointWriter {
  GMutex                   mutex;
  GCond                    cond;
  GThread                 *thread;   /* started with the first job */
  ConvolveCheckpointJob   *pending;  /* the next to write */
  gboolean                 busy;     /* a job is being written */
  gboolean                 quit;
  ConvolveCheckpointStatus status;
  ConvolveCheckpointWrittenFunc written_func;
  gpointer                 written_data;
};

void
_convolve_checkpoint_job_free (ConvolveCheckpointJob *job)
{
  if (job == NULL)
    return;
  g_free (job->path);
  g_clear_pointer (&job->model, convolve_model_free);
  g_clear_pointer (&job->optimizer, convolve_optimizer_free);
  g_clear_pointer (&job->meta, convolve_model_meta_free);
  g_free (job->best_path);
  g_clear_pointer (&job->best_model, convolve_model_free);
  g_clear_pointer (&job->best_meta, convolve_model_meta_free);
  g_free (job);
}

static gboolean
write_job (ConvolveCheckpointJob  *job,
           GError                **error)
{
  if (job->best_model != NULL &&
      !convolve_model_save (job->best_model, job->best_meta, NULL, job->best_path, error))
    return FALSE;
  return convolve_model_save (job->model, job->meta, job->optimizer, job->path, error);
}

static void
add_failure_locked (ConvolveCheckpointWriter *self,
                    GError                   *error)
{
  self->status.n_failed++;
  g_clear_error (&self->status.error);
  self->status.error = error;
}

static gpointer
writer_thread (gpointer data)
{
  ConvolveCheckpointWriter *self = data;

  g_mutex_lock (&self->mutex);
  for (;;)
    {
      g_autoptr(ConvolveCheckpointJob) job = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok;

      while (self->pending == NULL && !self->quit)
        g_cond_wait (&self->cond, &self->mutex);
      if (self->pending == NULL)
        break;
      job = g_steal_pointer (&self->pending);
      self->busy = TRUE;
      g_mutex_unlock (&self->mutex);

      ok = write_job (job, &error);

      g_mutex_lock (&self->mutex);
      if (ok)
        {
          self->status.n_saved++;
          self->status.saved_epoch = job->epoch;
          self->status.saved_best_epoch = job->best_epoch;
          if (job->best_model != NULL)
            self->status.best_on_disk = job->best_epoch;
        }
      else
        add_failure_locked (self, g_steal_pointer (&error));
      if (self->written_func != NULL)
        {
          g_mutex_unlock (&self->mutex);
          self->written_func (self->written_data);
          g_mutex_lock (&self->mutex);
        }
      /* Waiters return after the callback: the status is out by then. */
      self->busy = FALSE;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->mutex);
  return NULL;
}

ConvolveCheckpointWriter *
_convolve_checkpoint_writer_new (ConvolveCheckpointWrittenFunc func,
                                 gpointer                      user_data)
{
  ConvolveCheckpointWriter *self = g_new0 (ConvolveCheckpointWriter, 1);

  self->written_func = func;
  self->written_data = user_data;
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  return self;
}

void
_convolve_checkpoint_writer_submit (ConvolveCheckpointWriter *self,
                                    ConvolveCheckpointJob    *job)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (job != NULL);

  g_mutex_lock (&self->mutex);
  /* A waiting job never started: the newer checkpoint supersedes it, and
   * takes over its best file when it has none of its own to write. */
  if (self->pending != NULL && job->best_model == NULL &&
      self->pending->best_epoch == job->best_epoch)
    {
      job->best_model = g_steal_pointer (&self->pending->best_model);
      job->best_meta = g_steal_pointer (&self->pending->best_meta);
    }
  g_clear_pointer (&self->pending, _convolve_checkpoint_job_free);
  self->pending = job;
  if (self->thread == NULL)
    self->thread = g_thread_new ("convolve-checkpoint", writer_thread, self);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

void
_convolve_checkpoint_writer_add_failure (ConvolveCheckpointWriter *self,
                                         const GError             *error)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (error != NULL);

  g_mutex_lock (&self->mutex);
  add_failure_locked (self, g_error_copy (error));
  g_mutex_unlock (&self->mutex);
}

void
_convolve_checkpoint_writer_wait (ConvolveCheckpointWriter *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  while (self->pending != NULL || self->busy)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);
}

void
_convolve_checkpoint_writer_get_status (ConvolveCheckpointWriter *self,
                                        ConvolveCheckpointStatus *status)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (status != NULL);

  g_mutex_lock (&self->mutex);
  *status = self->status;
  status->error = self->status.error != NULL ? g_error_copy (self->status.error) : NULL;
  g_mutex_unlock (&self->mutex);
}

void
_convolve_checkpoint_writer_free (ConvolveCheckpointWriter *self)
{
  if (self == NULL)
    return;

  g_mutex_lock (&self->mutex);
  self->quit = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
  /* The thread writes what waits, then ends. */
  if (self->thread != NULL)
    g_thread_join (self->thread);
  g_clear_pointer (&self->pending, _convolve_checkpoint_job_free);
  g_clear_error (&self->status.error);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}
