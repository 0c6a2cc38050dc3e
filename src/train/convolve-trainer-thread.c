/* convolve-trainer-thread.c: the fit loop, on the "convolve-trainer"
 * thread that owns the model and optimizer while it runs: epochs and
 * steps, pause and stop between steps, end-of-epoch validation, weight
 * publication and checkpoints. See convolve-trainer-private.h for the
 * locks it shares with convolve-trainer.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include "convolve-trainer-private.h"

#include <glib/gi18n.h>
#include <math.h>

#include "convolve-evaluation.h"

/* Independent streams from one seed: the permutation of an epoch and the
 * augmentation of a step each get their own generator. */
static void
derive_rng (ConvolveRng *rng,
            guint64      seed,
            guint64      stream,
            guint64      index)
{
  ConvolveRng mix;

  convolve_rng_init (&mix, seed ^ (stream * 0xd1b54a32d192ed03ULL));
  convolve_rng_init (rng, convolve_rng_next_u64 (&mix) ^ (index * 0x9e3779b97f4a7c15ULL));
}

/* Publishes the running thread's view of the run as the latest snapshot. */
static void
publish_running_progress (ConvolveTrainer      *self,
                          ConvolveTrainerState  state,
                          gboolean              validating,
                          gboolean              urgent)
{
  _convolve_trainer_publish_progress (self,
                                      _convolve_trainer_make_progress (self, state, TRUE, validating),
                                      urgent);
}

/* In a distributed run, the ranks stop together: at the first step where
 * any of them was asked to (Ctrl-C reaches every rank through mpirun,
 * but not at the same step). */
static gboolean
agree_to_continue (ConvolveTrainer  *self,
                   gboolean          local,
                   gboolean         *keep_going,
                   GError          **error)
{
  if (self->distributed == NULL)
    {
      *keep_going = local;
      return TRUE;
    }
  return convolve_distributed_all (self->distributed, local, keep_going, error);
}

/* Waits while paused; returns FALSE when the run should stop. */
static gboolean
check_control (ConvolveTrainer *self)
{
  gboolean keep_going;

  g_mutex_lock (&self->control_mutex);
  if (self->pause_requested && !self->stop_requested)
    {
      gint64 pause_start = g_get_monotonic_time ();

      /* The snapshot before the state: whoever sees the new state through
       * convolve_trainer_get_state() finds it in the progress too. */
      g_mutex_unlock (&self->control_mutex);
      publish_running_progress (self, CONVOLVE_TRAINER_PAUSED, FALSE, TRUE);
      g_mutex_lock (&self->control_mutex);
      if (!self->stop_requested)
        self->state = CONVOLVE_TRAINER_PAUSED;

      while (self->pause_requested && !self->stop_requested)
        g_cond_wait (&self->control_cond, &self->control_mutex);

      self->paused_us += g_get_monotonic_time () - pause_start;
      self->epoch_paused_us += g_get_monotonic_time () - pause_start;
      self->budget_paused_us += g_get_monotonic_time () - pause_start;
      if (!self->stop_requested)
        {
          g_mutex_unlock (&self->control_mutex);
          publish_running_progress (self, CONVOLVE_TRAINER_RUNNING, FALSE, TRUE);
          g_mutex_lock (&self->control_mutex);
          if (!self->stop_requested)
            self->state = CONVOLVE_TRAINER_RUNNING;
        }
    }
  keep_going = !self->stop_requested;
  g_mutex_unlock (&self->control_mutex);
  return keep_going;
}

/* After each validation batch: a snapshot with the fraction done (rate
 * limited like the others). */
static void
validation_progress (guint    done,
                     guint    total,
                     gpointer user_data)
{
  ConvolveTrainer *self = user_data;

  self->validation_done = done;
  self->validation_total = total;
  _convolve_trainer_publish_progress (self,
                                      _convolve_trainer_make_progress (self, _convolve_trainer_running_state (self),
                                                                       TRUE, TRUE),
                                      FALSE);
}


/* Validation's working memory, at most: the evaluation batch shrinks to
 * fit (the tutorial model's 256 images took 67 MB), never below the
 * training batch. */
#define VALIDATION_ACTIVATION_BYTES (16 * 1024 * 1024)

static int
validation_batch (ConvolveTrainer *self)
{
  guint64 per_image = MAX (1, convolve_model_get_activation_floats (self->model) * sizeof (float));
  guint64 fits = VALIDATION_ACTIVATION_BYTES / per_image;

  return (int) MIN ((guint64) self->config.eval_batch_size,
                    MAX (fits, (guint64) self->config.batch_size));
}

static gboolean
validate_epoch (ConvolveTrainer  *self,
                GError          **error)
{
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  g_autoptr(GError) local_error = NULL;
  gint64 start = g_get_monotonic_time ();

  /* A view of the model being trained (validation runs between its steps,
   * on this thread): its weights without a copy of them. */
  if (self->eval_model == NULL)
    {
      int batch = (int) MIN ((guint) validation_batch (self),
                             convolve_dataset_get_n_images (self->test));

      self->eval_model = convolve_model_new_view (self->model, batch, error);
      if (self->eval_model == NULL)
        return FALSE;
    }

  self->validation_done = 0;
  self->validation_total = convolve_dataset_get_n_images (self->test);
  if (self->distributed != NULL)
    evaluation = _convolve_trainer_distributed_evaluate (self, self->eval_model, validation_progress, self,
                                                         &local_error);
  else
    evaluation = convolve_evaluate (self->eval_model, self->test, 0, validation_progress, self,
                                    self->stop_cancellable, &local_error);
  if (evaluation == NULL)
    {
      /* A stop during validation leaves the epoch without val figures. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  self->has_validation = TRUE;
  self->last_val_loss = evaluation->loss;
  self->last_val_accuracy = evaluation->accuracy;
  if (self->validation_hook != NULL)
    self->validation_hook (self->position.epoch + 1, &self->last_val_loss, &self->last_val_accuracy,
                           self->validation_hook_data);
  /* Kept whole: views show its confusion matrix and per-image results. */
  g_clear_pointer (&self->last_evaluation, convolve_evaluation_free);
  self->last_evaluation = g_steal_pointer (&evaluation);
  self->last_validation_seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  return TRUE;
}

static void
begin_epoch_timing (ConvolveTrainer *self)
{
  self->epoch_session_start = g_get_monotonic_time ();
  self->epoch_paused_us = 0;
  self->epoch_session_first_step = self->position.step;
}

static double
epoch_seconds_now (ConvolveTrainer *self)
{
  return self->position.epoch_seconds +
         _convolve_trainer_seconds_since (self->epoch_session_start, self->epoch_paused_us,
                                          g_get_monotonic_time ());
}

/* Keras's EarlyStopping._is_improvement: beats the best by more than
 * min_delta in the monitor's direction; the first finite figure always
 * does, NaN never. */
static gboolean
is_improvement (const ConvolveTrainConfig *config,
                const Position            *pos,
                double                     current)
{
  if (!isfinite (current))
    return FALSE;
  if (pos->best_epoch == 0)
    return TRUE;
  if (config->early_stopping_monitor == CONVOLVE_MONITOR_VAL_ACCURACY)
    return current > pos->best_value + config->early_stopping_min_delta;
  return current < pos->best_value - config->early_stopping_min_delta;
}

/* TRUE when patience has run out between two epochs with epochs left. */
static gboolean
early_stop_due (ConvolveTrainer *self)
{
  const Position *pos = &self->position;

  return self->config.early_stopping_patience > 0 && pos->best_epoch > 0 &&
         pos->wait >= self->config.early_stopping_patience &&
         pos->step == 0 && pos->epoch < _convolve_trainer_epochs_total (self);
}

/* Everything after an epoch's last step: validation, history, weights,
 * checkpoint. Returns FALSE on error. */
static gboolean
finish_epoch (ConvolveTrainer  *self,
              GError          **error)
{
  ConvolveHistoryEpoch record = { 0 };
  Position *pos = &self->position;
  double val_loss = NAN, val_accuracy = NAN;
  gboolean validated = FALSE;
  gboolean improved = FALSE;
  gboolean ok = TRUE;

  if (self->distributed != NULL && !_convolve_trainer_distributed_end_epoch (self, error))
    return FALSE;

  if (self->test != NULL)
    {
      gboolean had = self->has_validation;

      publish_running_progress (self, _convolve_trainer_running_state (self), TRUE, TRUE);
      self->has_validation = FALSE;
      if (!validate_epoch (self, error))
        return FALSE;
      if (self->has_validation)
        {
          val_loss = self->last_val_loss;
          val_accuracy = self->last_val_accuracy;
          validated = TRUE;
        }
      else
        self->has_validation = had;
    }

  record.epoch = pos->epoch + 1;
  record.augmented = pos->epoch >= self->config.epochs;
  record.loss = pos->n_seen > 0 ? pos->loss_sum / pos->n_seen : NAN;
  record.accuracy = pos->n_seen > 0 ? (double) pos->n_correct / pos->n_seen : NAN;
  record.val_loss = val_loss;
  record.val_accuracy = val_accuracy;
  record.seconds = epoch_seconds_now (self);

  g_mutex_lock (&self->model_mutex);
  convolve_history_append_epoch (self->history, &record);
  pos->elapsed_seconds += record.seconds - pos->epoch_seconds;
  pos->epoch++;
  pos->step = 0;
  pos->loss_sum = 0.0;
  pos->n_correct = 0;
  pos->n_seen = 0;
  pos->epoch_seconds = 0.0;
  /* The best epoch moves with the position, so a save sees them agree. */
  if (validated)
    {
      double current = self->config.early_stopping_monitor == CONVOLVE_MONITOR_VAL_ACCURACY
                       ? val_accuracy : val_loss;

      improved = is_improvement (&self->config, pos, current);
      if (improved)
        {
          pos->best_epoch = pos->epoch;
          pos->best_value = current;
          pos->wait = 0;
          if (self->best_model == NULL)
            {
              self->best_model = convolve_model_copy (self->model, 1, error);
              ok = self->best_model != NULL;
            }
          else
            ok = convolve_model_copy_weights (self->best_model, self->model, error);
          if (!ok)
            pos->best_epoch = 0;  /* a failed copy must not name weights it lacks */
          g_atomic_int_set (&self->best_epoch_atomic, pos->best_epoch);
        }
      else if (pos->best_epoch > 0)
        pos->wait++;
    }
  g_mutex_unlock (&self->model_mutex);
  if (!ok)
    return FALSE;

  /* Elapsed time is now counted in pos->elapsed_seconds. */
  self->session_start = g_get_monotonic_time ();
  self->paused_us = 0;
  begin_epoch_timing (self);

  if (!_convolve_trainer_publish_weights (self, error))
    return FALSE;

  if (!_convolve_trainer_checkpoint (self, error))
    return FALSE;

  publish_running_progress (self, _convolve_trainer_running_state (self), FALSE, TRUE);
  return TRUE;
}

static gboolean
time_budget_spent (ConvolveTrainer *self)
{
  return self->config.time_budget_seconds > 0.0 &&
         _convolve_trainer_seconds_since (self->budget_start, self->budget_paused_us,
                                          g_get_monotonic_time ()) >= self->config.time_budget_seconds;
}

static gboolean
run_epochs (ConvolveTrainer  *self,
            gboolean         *stopped,
            gboolean         *early_stopped,
            gboolean         *out_of_time,
            GError          **error)
{
  Position *pos = &self->position;
  const ConvolveTrainConfig *c = &self->config;
  ConvolveShape shape = convolve_model_get_input (self->model);
  gsize image_size = (gsize) shape.c * shape.h * shape.w;
  int n_classes = convolve_model_get_n_classes (self->model);
  int spe = _convolve_trainer_steps_per_epoch (self);
  g_autofree float *x = NULL;
  g_autofree int32_t *labels = NULL;
  g_autofree guint32 *permutation = NULL;

  x = g_try_malloc_n ((gsize) _convolve_trainer_largest_batch (self) * image_size, sizeof (float));
  if (x == NULL)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("Not enough memory for a training batch"));
      return FALSE;
    }
  labels = g_new (int32_t, _convolve_trainer_largest_batch (self));
  permutation = g_new (guint32, self->n_train);

  *stopped = FALSE;
  *early_stopped = FALSE;
  *out_of_time = FALSE;
  if (self->distributed != NULL)
    {
      if (!_convolve_trainer_distributed_begin (self, error))
        return FALSE;
    }
  while (pos->epoch < _convolve_trainer_epochs_total (self))
    {
      /* Also at the start: a resumed run whose patience had run out. */
      if (early_stop_due (self))
        {
          *early_stopped = TRUE;
          return TRUE;
        }

      ConvolveRng rng;
      gboolean augmented = pos->epoch >= c->epochs;

      for (guint i = 0; i < self->n_train; i++)
        permutation[i] = i;
      derive_rng (&rng, c->seed, 1, (guint64) pos->epoch);
      convolve_rng_shuffle_u32 (&rng, permutation, self->n_train);

      begin_epoch_timing (self);

      while (pos->step < spe)
        {
          guint first = (guint) pos->step * (guint) c->batch_size;
          int count = (int) MIN ((guint) c->batch_size, self->n_train - first);
          guint local_first = first;
          int local_count = count;
          guint64 augment_stream = 2;
          ConvolveRng augment_rng;
          float loss = 0.0f;
          int hits = 0;
          ConvolveHistoryStep record;
          gboolean ok, keep_going;

          /* A cut-short epoch is still validated and recorded. The ranks of
           * a distributed run would each read their own clock: not for them
           * (the CLI refuses the combination). */
          if (self->distributed == NULL && time_budget_spent (self))
            {
              *out_of_time = TRUE;
              return pos->step == 0 || finish_epoch (self, error);
            }
          if (!agree_to_continue (self, check_control (self), &keep_going, error))
            return FALSE;
          if (!keep_going)
            {
              *stopped = TRUE;
              /* The checkpoint saved after a stop gets agreed statistics. */
              return self->distributed == NULL || _convolve_trainer_distributed_end_epoch (self, error);
            }

          if (self->distributed != NULL)
            {
              /* This rank's slice of the global batch, and its own
               * augmentation (rank 0 draws what a single process would). */
              int rank = convolve_distributed_get_rank (self->distributed);
              guint begin, end;

              convolve_distributed_slice ((guint) count, rank, convolve_distributed_get_size (self->distributed),
                                          &begin, &end);
              local_first = first + begin;
              local_count = (int) (end - begin);
              augment_stream += (guint64) rank << 32;
            }

          derive_rng (&augment_rng, c->seed, augment_stream, (guint64) pos->global_step);
          convolve_dataset_make_batch (self->train, permutation + local_first, local_count, x, labels,
                                       augmented ? &c->augment : NULL,
                                       augmented ? &augment_rng : NULL);
          for (int i = 0; i < local_count; i++)
            if (labels[i] < 0 || labels[i] >= n_classes)
              {
                g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                             _("Training image %u has label %d, but the model only knows %d classes"),
                             permutation[local_first + i], (int) labels[i], n_classes);
                return FALSE;
              }

          g_mutex_lock (&self->model_mutex);
          if (self->distributed != NULL)
            ok = _convolve_trainer_distributed_step (self, x, labels, local_count, count, &loss, &hits, error);
          else
            ok = convolve_model_train_step (self->model, self->optimizer, x, labels, count,
                                            &loss, &hits, error);
          if (ok)
            {
              pos->step++;
              pos->global_step++;
              pos->loss_sum += (double) loss * count;
              pos->n_correct += hits;
              pos->n_seen += count;

              record.global_step = pos->global_step;
              record.epoch = pos->epoch + 1;
              record.step = pos->step;
              record.loss = pos->loss_sum / pos->n_seen;
              record.accuracy = (double) pos->n_correct / pos->n_seen;
              convolve_history_append_step (self->history, &record);
            }
          g_mutex_unlock (&self->model_mutex);
          if (!ok)
            return FALSE;

          if (!isfinite (loss))
            {
              g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("The loss became %g at step %" PRId64 "; try a lower learning rate"),
                           (double) loss, pos->global_step);
              return FALSE;
            }

          if (c->snapshot_every_steps > 0 && pos->global_step % c->snapshot_every_steps == 0 &&
              !_convolve_trainer_publish_weights (self, error))
            return FALSE;

          publish_running_progress (self, _convolve_trainer_running_state (self), FALSE, pos->step == spe);
        }

      if (!finish_epoch (self, error))
        return FALSE;
    }
  return TRUE;
}

/* The best epoch's weights become the model's (Keras's
 * restore_best_weights). Without them (a resumed run whose best file was
 * lost) the model keeps its own and progress->restored_best says so. */
static gboolean
restore_best (ConvolveTrainer  *self,
              GError          **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&self->model_mutex);
  if (self->best_model != NULL && self->position.best_epoch > 0)
    {
      ok = convolve_model_copy_weights (self->model, self->best_model, error);
      self->restored_best = ok;
    }
  g_mutex_unlock (&self->model_mutex);
  return ok;
}

gpointer
_convolve_trainer_thread (gpointer data)
{
  ConvolveTrainer *self = data;
  g_autoptr(GError) error = NULL;
  ConvolveTrainerState final_state;
  gboolean stopped = FALSE;
  gboolean early_stopped = FALSE;
  gboolean out_of_time = FALSE;
  gboolean ok;

  /* (first: workers that setting the threads makes inherit it) */
  convolve_engine_flush_subnormals ();
  convolve_engine_lower_thread_priority ();
  convolve_engine_set_threads (self->config.threads > 0 ? self->config.threads
                                                        : (int) g_get_num_processors ());

  self->session_start = g_get_monotonic_time ();
  self->paused_us = 0;
  begin_epoch_timing (self);
  self->budget_start = self->session_start;
  self->budget_paused_us = 0;

  ok = run_epochs (self, &stopped, &early_stopped, &out_of_time, &error);

  /* Fold this session's time into the position, so a save after the end
   * (e.g. a checkpoint after Ctrl-C) resumes with the right clock. */
  g_mutex_lock (&self->model_mutex);
  if (self->position.epoch < _convolve_trainer_epochs_total (self))
    {
      double epoch_seconds = epoch_seconds_now (self);

      self->position.elapsed_seconds += epoch_seconds - self->position.epoch_seconds;
      self->position.epoch_seconds = epoch_seconds;
    }
  g_mutex_unlock (&self->model_mutex);

  if (ok && !stopped &&
      (early_stopped ? self->config.restore_best_weights : self->config.restore_best_at_end))
    ok = restore_best (self, &error);

  if (ok)
    ok = _convolve_trainer_publish_weights (self, &error);

  /* A background checkpoint also where a stop left the run (an epoch's
   * end already has one); the final progress then tells what is on disk. */
  if (self->checkpoint_writer != NULL)
    {
      if (ok && stopped && self->checkpoint_path != NULL && self->position.step > 0)
        ok = _convolve_trainer_checkpoint (self, &error);
      _convolve_checkpoint_writer_wait (self->checkpoint_writer);
    }

  g_mutex_lock (&self->model_mutex);
  self->stop_reason = !ok ? CONVOLVE_STOP_REASON_FAILED
                      : stopped ? CONVOLVE_STOP_REASON_STOPPED
                      : early_stopped ? CONVOLVE_STOP_REASON_EARLY_STOPPED
                      : out_of_time ? CONVOLVE_STOP_REASON_TIME_BUDGET
                      : CONVOLVE_STOP_REASON_FINISHED;
  self->stopped_epoch = ok && early_stopped ? self->position.epoch : 0;
  g_mutex_unlock (&self->model_mutex);

  if (!ok)
    final_state = CONVOLVE_TRAINER_FAILED;
  else if (stopped)
    final_state = CONVOLVE_TRAINER_CANCELLED;
  else
    final_state = CONVOLVE_TRAINER_FINISHED;

  g_mutex_lock (&self->control_mutex);
  if (!ok)
    self->error = g_steal_pointer (&error);
  self->state = final_state;
  g_mutex_unlock (&self->control_mutex);

  _convolve_trainer_publish_progress (self,
                                      _convolve_trainer_make_progress (self, final_state, FALSE, FALSE),
                                      TRUE);

  g_mutex_lock (&self->control_mutex);
  self->ended = TRUE;
  g_cond_broadcast (&self->control_cond);
  g_mutex_unlock (&self->control_mutex);

  g_object_unref (self);
  return NULL;
}
