/* convolve-trainer-checkpoint.c: the trainer's saves of a run: checkpoints
 * and the best epoch's file beside them, written on the trainer thread or,
 * in CONVOLVE_CHECKPOINT_MODE_BACKGROUND, copied there and written by a
 * ConvolveCheckpointWriter while training goes on.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-trainer-private.h"

#include <glib/gi18n.h>
#include <string.h>

char *
convolve_trainer_best_path_for (const char *checkpoint_path)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *name = NULL;
  const char *dot;

  g_return_val_if_fail (checkpoint_path != NULL, NULL);

  dir = g_path_get_dirname (checkpoint_path);
  base = g_path_get_basename (checkpoint_path);
  dot = strrchr (base, '.');
  /* A leading dot is a hidden file's name, not an extension. */
  if (dot != NULL && dot != base)
    name = g_strdup_printf ("%.*s-best%s", (int) (dot - base), base, dot);
  else
    name = g_strdup_printf ("%s-best", base);
  return g_build_filename (dir, name, NULL);
}

/* The metadata every file of this run carries, at epoch and step. */
static ConvolveModelMeta *
make_meta (ConvolveTrainer *self,
           int              epoch,
           gint64           step)
{
  ConvolveModelMeta *meta = convolve_model_meta_new ();

  g_strfreev (meta->class_names);
  meta->class_names = g_strdupv (self->class_names);
  g_free (meta->dataset);
  meta->dataset = g_strdup (convolve_dataset_get_name (self->train));
  meta->input_scale = 1.0f / 255.0f;
  meta->input_offset = 0.0f;
  meta->epoch = epoch;
  meta->step = step;
  return meta;
}

/* The best epoch's weights as a plain model file. model_mutex held. */
static gboolean
save_best_locked (ConvolveTrainer  *self,
                  const char       *path,
                  GError          **error)
{
  g_autoptr(ConvolveModelMeta) meta = NULL;
  int best_epoch = self->position.best_epoch;

  if (self->best_model == NULL || best_epoch == 0)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_NO_BEST,
                           _("There is no best epoch yet: no epoch has been validated on a test set"));
      return FALSE;
    }
  meta = make_meta (self, best_epoch, (gint64) best_epoch * _convolve_trainer_steps_per_epoch (self));
  return convolve_model_save (self->best_model, meta, NULL, path, error);
}

/* The metadata of a checkpoint (with_optimizer) or a plain model file of
 * the run where it is now. model_mutex held. */
static ConvolveModelMeta *
make_save_meta (ConvolveTrainer *self,
                gboolean         with_optimizer)
{
  const Position *pos = &self->position;
  ConvolveModelMeta *meta = make_meta (self, MIN (pos->epoch, _convolve_trainer_epochs_total (self)),
                                       pos->global_step);

  if (with_optimizer)
    {
      ConvolveCheckpointState state = { .config = self->config,
                                        .position = self->position,
                                        .n_train = self->n_train };

      if (meta->extra == NULL)
        meta->extra = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      _convolve_checkpoint_write (meta->extra, &state, self->history);
    }
  return meta;
}

/* Called with model_mutex held (or by the thread that owns the model). A
 * checkpoint gets the best epoch's file beside it, written once per best
 * epoch and place, and before it: a checkpoint never names a best epoch
 * its neighbour does not hold. */
gboolean
_convolve_trainer_save_locked (ConvolveTrainer  *self,
                               const char       *path,
                               gboolean          with_optimizer,
                               GError          **error)
{
  const Position *pos = &self->position;
  g_autoptr(ConvolveModelMeta) meta = NULL;

  if (with_optimizer && self->best_model != NULL && pos->best_epoch > 0)
    {
      g_autofree char *best_path = convolve_trainer_best_path_for (path);

      if (self->best_written_epoch != pos->best_epoch ||
          g_strcmp0 (self->best_written_path, best_path) != 0)
        {
          if (!save_best_locked (self, best_path, error))
            return FALSE;
          g_free (self->best_written_path);
          self->best_written_path = g_steal_pointer (&best_path);
          self->best_written_epoch = pos->best_epoch;
        }
    }

  meta = make_save_meta (self, with_optimizer);
  return convolve_model_save (self->model, meta,
                              with_optimizer ? self->optimizer : NULL,
                              path, error);
}

/* --- in the background ----------------------------------------------------- */

/* A copy of everything the checkpoint at self->checkpoint_path holds, and
 * of the best epoch's weights unless its file is already there. model_mutex
 * held; a few copies of the weights, no I/O. */
static ConvolveCheckpointJob *
make_job_locked (ConvolveTrainer  *self,
                 GError          **error)
{
  const Position *pos = &self->position;
  g_autoptr(ConvolveCheckpointJob) job = g_new0 (ConvolveCheckpointJob, 1);

  job->path = g_strdup (self->checkpoint_path);
  job->epoch = MIN (pos->epoch, _convolve_trainer_epochs_total (self));
  job->model = convolve_model_copy (self->model, 1, error);
  if (job->model == NULL)
    return NULL;
  job->optimizer = convolve_optimizer_copy (self->optimizer, error);
  if (job->optimizer == NULL)
    return NULL;
  job->meta = make_save_meta (self, TRUE);

  if (self->best_model != NULL && pos->best_epoch > 0)
    {
      ConvolveCheckpointStatus status;

      job->best_epoch = pos->best_epoch;
      job->best_path = convolve_trainer_best_path_for (self->checkpoint_path);
      _convolve_checkpoint_writer_get_status (self->checkpoint_writer, &status);
      g_clear_error (&status.error);
      /* Already on disk: written by this writer, or found there on resume. */
      if (status.best_on_disk != pos->best_epoch &&
          (self->best_written_epoch != pos->best_epoch ||
           g_strcmp0 (self->best_written_path, job->best_path) != 0))
        {
          job->best_model = convolve_model_copy (self->best_model, 1, error);
          if (job->best_model == NULL)
            return NULL;
          job->best_meta = make_meta (self, pos->best_epoch,
                                      (gint64) pos->best_epoch * _convolve_trainer_steps_per_epoch (self));
        }
    }
  return g_steal_pointer (&job);
}

gboolean
_convolve_trainer_checkpoint (ConvolveTrainer  *self,
                              GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  ConvolveCheckpointJob *job;
  gboolean ok;

  if (self->checkpoint_path == NULL)
    return TRUE;

  g_mutex_lock (&self->model_mutex);
  if (self->checkpoint_mode != CONVOLVE_CHECKPOINT_MODE_BACKGROUND)
    {
      ok = _convolve_trainer_save_locked (self, self->checkpoint_path, TRUE, error);
      g_mutex_unlock (&self->model_mutex);
      return ok;
    }
  job = make_job_locked (self, &local_error);
  g_mutex_unlock (&self->model_mutex);

  if (job != NULL)
    _convolve_checkpoint_writer_submit (self->checkpoint_writer, job);
  else
    /* Not enough memory for the copy: this checkpoint is skipped, as if
     * its save had failed; the run goes on. */
    _convolve_checkpoint_writer_add_failure (self->checkpoint_writer, local_error);
  return TRUE;
}

void
_convolve_trainer_checkpoint_status (ConvolveTrainer  *self,
                                     ConvolveProgress *progress)
{
  ConvolveCheckpointStatus status;

  if (self->checkpoint_writer == NULL)
    return;
  _convolve_checkpoint_writer_get_status (self->checkpoint_writer, &status);
  progress->checkpoint_saves = status.n_saved;
  progress->checkpoint_epoch = status.saved_epoch;
  progress->checkpoint_best_epoch = status.saved_best_epoch;
  progress->checkpoint_failures = status.n_failed;
  progress->checkpoint_error = status.error;
}

gboolean
convolve_trainer_save_best (ConvolveTrainer  *self,
                            const char       *path,
                            GError          **error)
{
  gboolean ok;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->model_mutex);
  ok = save_best_locked (self, path, error);
  g_mutex_unlock (&self->model_mutex);
  return ok;
}

