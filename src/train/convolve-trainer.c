/* convolve-trainer.c: the trainer object everyone else talks to:
 * construction, config, control, progress delivery and weight snapshots.
 * The fit loop itself runs in convolve-trainer-thread.c, checkpoints and
 * saves are in convolve-trainer-checkpoint.c; the locks they share are
 * described in convolve-trainer-private.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include "convolve-trainer-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "convolve-model-check.h"
#include "convolve-progress-private.h"

enum {
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ConvolveTrainer, convolve_trainer, G_TYPE_OBJECT)

static gboolean check_idle (ConvolveTrainer  *self,
                            GError          **error);

/* --- progress snapshots -------------------------------------------------- */

/* A snapshot of the trainer thread's view (or of the initial position
 * before the thread runs). */
ConvolveProgress *
_convolve_trainer_make_progress (ConvolveTrainer      *self,
                                 ConvolveTrainerState  state,
                                 gboolean              running,
                                 gboolean              validating)
{
  ConvolveProgress *p = _convolve_progress_new ();
  const Position *pos = &self->position;
  int spe = _convolve_trainer_steps_per_epoch (self);
  int total = _convolve_trainer_epochs_total (self);
  gint64 now = g_get_monotonic_time ();

  p->state = state;
  p->epochs_total = total;
  p->steps_per_epoch = spe;
  p->total_steps = (gint64) spe * total;
  /* After the last epoch the position points past it: show the last one. */
  p->epoch = MIN (pos->epoch + 1, total);
  p->augmented = (p->epoch - 1) >= self->config.epochs;
  p->step = pos->epoch < total ? pos->step : spe;
  p->global_step = pos->global_step;
  p->loss = pos->n_seen > 0 ? pos->loss_sum / pos->n_seen : NAN;
  p->accuracy = pos->n_seen > 0 ? (double) pos->n_correct / pos->n_seen : NAN;
  p->images_per_second = 0.0;
  p->eta_epoch_seconds = -1.0;
  p->eta_total_seconds = -1.0;
  p->elapsed_seconds = pos->elapsed_seconds;
  p->validating = validating;

  if (self->stop_reason == CONVOLVE_STOP_REASON_EARLY_STOPPED ||
      self->stop_reason == CONVOLVE_STOP_REASON_TIME_BUDGET)
    {
      /* Ended after this epoch, before the total. */
      p->epoch = pos->epoch;
      p->step = spe;
    }

  if ((pos->epoch >= total || self->stop_reason == CONVOLVE_STOP_REASON_EARLY_STOPPED ||
       self->stop_reason == CONVOLVE_STOP_REASON_TIME_BUDGET) && pos->epoch > 0)
    {
      /* Finished: the last epoch's figures come from the history. */
      guint n_epochs = convolve_history_get_n_epochs (self->history);

      if (n_epochs > 0)
        {
          const ConvolveHistoryEpoch *last = convolve_history_get_epoch (self->history, n_epochs - 1);

          p->loss = last->loss;
          p->accuracy = last->accuracy;
        }
    }

  if (running)
    {
      int session_steps = pos->step - self->epoch_session_first_step;
      double epoch_active = _convolve_trainer_seconds_since (self->epoch_session_start,
                                                             self->epoch_paused_us, now);

      p->elapsed_seconds = pos->elapsed_seconds +
                           _convolve_trainer_seconds_since (self->session_start, self->paused_us, now);
      if (session_steps > 0 && epoch_active > 0.0)
        {
          double per_step = epoch_active / session_steps;
          int remaining_epochs = MAX (0, total - pos->epoch - 1);
          double validation = self->test != NULL ? self->last_validation_seconds : 0.0;

          p->images_per_second = MIN ((double) pos->n_seen,
                                      (double) session_steps * self->config.batch_size) / epoch_active;
          p->eta_epoch_seconds = per_step * (spe - pos->step);
          p->eta_total_seconds = p->eta_epoch_seconds +
                                 remaining_epochs * (per_step * spe + validation) +
                                 (pos->step < spe ? validation : 0.0);
        }
    }

  p->has_validation = self->has_validation;
  p->val_loss = self->has_validation ? self->last_val_loss : NAN;
  p->val_accuracy = self->has_validation ? self->last_val_accuracy : NAN;
  p->evaluation = self->last_evaluation != NULL ? convolve_evaluation_ref (self->last_evaluation) : NULL;
  p->validation_fraction = validating && self->validation_total > 0
                           ? (double) self->validation_done / self->validation_total : 0.0;
  g_mutex_lock (&self->weights_mutex);
  p->weights_version = self->weights_version;
  g_mutex_unlock (&self->weights_mutex);
  p->history = convolve_history_ref (self->history);
  p->history_n_steps = convolve_history_get_n_steps (self->history);
  p->history_n_epochs = convolve_history_get_n_epochs (self->history);
  if (state == CONVOLVE_TRAINER_FAILED && self->error != NULL)
    p->error = g_error_copy (self->error);
  _convolve_trainer_checkpoint_status (self, p);

  p->best_epoch = pos->best_epoch;
  p->best_val_loss = NAN;
  p->best_val_accuracy = NAN;
  if (pos->best_epoch > 0 && (guint) pos->best_epoch <= p->history_n_epochs)
    {
      const ConvolveHistoryEpoch *best = convolve_history_get_epoch (self->history, pos->best_epoch - 1);

      p->best_val_loss = best->val_loss;
      p->best_val_accuracy = best->val_accuracy;
    }
  p->stop_reason = self->stop_reason;
  p->stopped_epoch = self->stopped_epoch;
  p->restored_best = self->restored_best;
  return p;
}

typedef struct {
  GWeakRef trainer;
} DispatchData;

static void
dispatch_data_free (gpointer data)
{
  DispatchData *dispatch = data;

  g_weak_ref_clear (&dispatch->trainer);
  g_free (dispatch);
}

static gboolean
dispatch_progress (gpointer data)
{
  DispatchData *dispatch = data;
  g_autoptr(ConvolveTrainer) self = g_weak_ref_get (&dispatch->trainer);
  g_autoptr(ConvolveProgress) progress = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->progress_mutex);
  progress = convolve_progress_ref (self->progress);
  self->dispatch_pending = FALSE;
  self->last_dispatch_time = g_get_monotonic_time ();
  g_mutex_unlock (&self->progress_mutex);

  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, progress);
  return G_SOURCE_REMOVE;
}

/* Replaces the latest snapshot (taking ownership) and makes sure one
 * dispatch is pending on the context: at once when urgent, else no sooner
 * than progress_interval_ms after the last one. Called with progress_mutex
 * held. */
static void
publish_progress_locked (ConvolveTrainer  *self,
                         ConvolveProgress *progress,
                         gboolean          urgent)
{
  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->progress = progress;

  if (self->context != NULL && !self->dispatch_pending)
    {
      gint64 since = g_get_monotonic_time () - self->last_dispatch_time;
      gint64 interval = (gint64) self->config.progress_interval_ms * 1000;
      guint delay_ms = urgent || since >= interval ? 0 : (guint) ((interval - since + 999) / 1000);
      DispatchData *dispatch = g_new0 (DispatchData, 1);
      GSource *source;

      g_weak_ref_init (&dispatch->trainer, self);
      source = delay_ms == 0 ? g_idle_source_new () : g_timeout_source_new (delay_ms);
      g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (source, dispatch_progress, dispatch, dispatch_data_free);
      g_source_set_static_name (source, "[convolve] trainer progress");
      g_source_attach (source, self->context);
      g_source_unref (source);
      self->dispatch_pending = TRUE;
    }
}

/* The latest snapshot again with the writer's news, at once: a paused run
 * publishes nothing else, and its checkpoint must still be recorded. */
void
_convolve_trainer_checkpoint_written (gpointer user_data)
{
  ConvolveTrainer *self = user_data;

  g_mutex_lock (&self->progress_mutex);
  if (self->progress != NULL && !convolve_trainer_state_is_final (self->progress->state))
    {
      ConvolveProgress *progress = _convolve_progress_copy (self->progress);

      g_clear_error (&progress->checkpoint_error);
      _convolve_trainer_checkpoint_status (self, progress);
      publish_progress_locked (self, progress, TRUE);
    }
  g_mutex_unlock (&self->progress_mutex);
}

void
_convolve_trainer_publish_progress (ConvolveTrainer  *self,
                                    ConvolveProgress *progress,
                                    gboolean          urgent)
{
  g_mutex_lock (&self->progress_mutex);
  publish_progress_locked (self, progress, urgent);
  g_mutex_unlock (&self->progress_mutex);
}

/* RUNNING, or STOPPING once stop() was called. */
ConvolveTrainerState
_convolve_trainer_running_state (ConvolveTrainer *self)
{
  ConvolveTrainerState state;

  g_mutex_lock (&self->control_mutex);
  state = self->stop_requested ? CONVOLVE_TRAINER_STOPPING : CONVOLVE_TRAINER_RUNNING;
  g_mutex_unlock (&self->control_mutex);
  return state;
}

/* --- weights ------------------------------------------------------------- */

gboolean
_convolve_trainer_publish_weights (ConvolveTrainer  *self,
                                   GError          **error)
{
  gboolean ok;

  g_mutex_lock (&self->weights_mutex);
  if (self->published == NULL)
    ok = TRUE;  /* convolve_trainer_set_publish_weights (FALSE) */
  else if ((ok = convolve_model_copy_weights (self->published, self->model, error)))
    self->weights_version++;
  g_mutex_unlock (&self->weights_mutex);
  return ok;
}

ConvolveModel *
convolve_trainer_get_weights_snapshot (ConvolveTrainer  *self,
                                       int               max_batch,
                                       GError          **error)
{
  ConvolveModel *copy;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);
  g_return_val_if_fail (max_batch > 0, NULL);

  g_mutex_lock (&self->weights_mutex);
  if (self->published != NULL)
    copy = convolve_model_copy (self->published, max_batch, error);
  else
    {
      copy = NULL;
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("This run keeps no snapshots of its weights"));
    }
  g_mutex_unlock (&self->weights_mutex);
  return copy;
}

int
convolve_trainer_get_best_epoch (ConvolveTrainer *self)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), 0);

  return g_atomic_int_get (&self->best_epoch_atomic);
}

ConvolveStopReason
convolve_trainer_get_stop_reason (ConvolveTrainer *self)
{
  ConvolveStopReason reason;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), CONVOLVE_STOP_REASON_NONE);

  g_mutex_lock (&self->control_mutex);
  reason = self->ended ? self->stop_reason : CONVOLVE_STOP_REASON_NONE;
  g_mutex_unlock (&self->control_mutex);
  return reason;
}

ConvolveModel *
convolve_trainer_get_best_weights (ConvolveTrainer  *self,
                                   int               max_batch,
                                   GError          **error)
{
  ConvolveModel *copy = NULL;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);
  g_return_val_if_fail (max_batch > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->model_mutex);
  if (self->best_model == NULL || self->position.best_epoch == 0)
    g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_NO_BEST,
                         _("There is no best epoch yet: no epoch has been validated on a test set"));
  else
    copy = convolve_model_copy (self->best_model, max_batch, error);
  g_mutex_unlock (&self->model_mutex);
  return copy;
}

void
_convolve_trainer_set_validation_hook (ConvolveTrainer               *self,
                                       ConvolveTrainerValidationHook  hook,
                                       gpointer                       user_data)
{
  g_return_if_fail (CONVOLVE_IS_TRAINER (self));
  g_return_if_fail (check_idle (self, NULL));

  self->validation_hook = hook;
  self->validation_hook_data = user_data;
}

gboolean
convolve_trainer_save (ConvolveTrainer  *self,
                       const char       *path,
                       gboolean          with_optimizer,
                       GError          **error)
{
  gboolean ok;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->model_mutex);
  ok = _convolve_trainer_save_locked (self, path, with_optimizer, error);
  g_mutex_unlock (&self->model_mutex);
  return ok;
}

typedef struct {
  char     *path;
  gboolean  with_optimizer;
} SaveJob;

static void
save_job_free (SaveJob *job)
{
  g_free (job->path);
  g_free (job);
}

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveJob *job = task_data;
  GError *error = NULL;

  if (convolve_trainer_save (source_object, job->path, job->with_optimizer, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
convolve_trainer_save_async (ConvolveTrainer     *self,
                             const char          *path,
                             gboolean             with_optimizer,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SaveJob *job;

  g_return_if_fail (CONVOLVE_IS_TRAINER (self));
  g_return_if_fail (path != NULL);

  job = g_new0 (SaveJob, 1);
  job->path = g_strdup (path);
  job->with_optimizer = with_optimizer;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, convolve_trainer_save_async);
  g_task_set_task_data (task, job, (GDestroyNotify) save_job_free);
  g_task_run_in_thread (task, save_thread);
}

gboolean
convolve_trainer_save_finish (ConvolveTrainer  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --- construction -------------------------------------------------------- */

static void
convolve_trainer_finalize (GObject *object)
{
  ConvolveTrainer *self = CONVOLVE_TRAINER (object);

  if (self->thread != NULL)
    {
      /* The thread's last act is dropping its reference, which can land
       * here on that very thread. */
      if (self->thread == g_thread_self ())
        g_thread_unref (self->thread);
      else
        g_thread_join (self->thread);
      self->thread = NULL;
    }

  g_clear_pointer (&self->checkpoint_writer, _convolve_checkpoint_writer_free);
  /* (the evaluation model is a view of the model: first) */
  g_clear_pointer (&self->eval_model, convolve_model_free);
  g_clear_pointer (&self->model, convolve_model_free);
  g_clear_pointer (&self->optimizer, convolve_optimizer_free);
  g_clear_pointer (&self->best_model, convolve_model_free);
  g_clear_pointer (&self->best_written_path, g_free);
  g_clear_pointer (&self->last_evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->published, convolve_model_free);
  g_clear_pointer (&self->train, convolve_dataset_unref);
  g_clear_pointer (&self->test, convolve_dataset_unref);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_clear_pointer (&self->model_spec, g_free);
  g_clear_pointer (&self->checkpoint_path, g_free);
  g_clear_pointer (&self->progress, convolve_progress_unref);
  g_clear_pointer (&self->history, convolve_history_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->stop_cancellable);
  g_clear_error (&self->error);
  g_mutex_clear (&self->model_mutex);
  g_mutex_clear (&self->weights_mutex);
  g_mutex_clear (&self->control_mutex);
  g_cond_clear (&self->control_cond);
  g_mutex_clear (&self->progress_mutex);

  G_OBJECT_CLASS (convolve_trainer_parent_class)->finalize (object);
}

static void
convolve_trainer_class_init (ConvolveTrainerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = convolve_trainer_finalize;

  /**
   * ConvolveTrainer::progress:
   * @progress: the latest snapshot
   *
   * Emitted on the context of convolve_trainer_start(), coalesced.
   */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  CONVOLVE_TYPE_PROGRESS | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
convolve_trainer_init (ConvolveTrainer *self)
{
  g_mutex_init (&self->model_mutex);
  g_mutex_init (&self->weights_mutex);
  g_mutex_init (&self->control_mutex);
  g_cond_init (&self->control_cond);
  g_mutex_init (&self->progress_mutex);
  self->state = CONVOLVE_TRAINER_IDLE;
  self->stop_cancellable = g_cancellable_new ();
  self->weights_version = 1;
  self->last_val_loss = NAN;
  self->last_val_accuracy = NAN;
}

static void
apply_train_limit (ConvolveTrainer *self)
{
  guint n = convolve_dataset_get_n_images (self->train);

  self->n_train = self->config.train_limit > 0 ? MIN (self->config.train_limit, n) : n;
}

/* Common end of both constructors: the datasets are set; checks them and
 * builds the published copy and the first snapshot. */
static gboolean
trainer_setup (ConvolveTrainer  *self,
               GError          **error)
{
  if (!convolve_check_model_for_dataset (self->model, self->train, error))
    return FALSE;
  if (self->test != NULL && !convolve_check_model_for_dataset (self->model, self->test, error))
    {
      /* Say which of the two sets does not fit. */
      g_prefix_error (error, _("The test set does not fit the model: "));
      return FALSE;
    }

  apply_train_limit (self);
  if (self->n_train == 0)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                           _("The training set has no images"));
      return FALSE;
    }

  self->class_names = g_strdupv ((char **) convolve_dataset_get_class_names (self->train));
  self->model_spec = convolve_model_spec_to_string (convolve_model_get_spec (self->model));
  self->n_parameters = (gint64) convolve_model_get_n_trainable (self->model);
  self->published = convolve_model_copy (self->model, 1, error);
  if (self->published == NULL)
    return FALSE;

  self->progress = _convolve_trainer_make_progress (self, CONVOLVE_TRAINER_IDLE, FALSE, FALSE);
  return TRUE;
}

static ConvolveOptimizer *
optimizer_for_config (const ConvolveTrainConfig  *config,
                      gsize                       n_params,
                      GError                    **error)
{
  ConvolveOptimizerConfig optimizer_config;

  if (config->optimizer == CONVOLVE_OPTIMIZER_SGD)
    convolve_optimizer_config_init_sgd (&optimizer_config);
  else
    convolve_optimizer_config_init_adam (&optimizer_config);
  optimizer_config.learning_rate = config->learning_rate;
  return convolve_optimizer_new (&optimizer_config, n_params, error);
}

ConvolveTrainer *
convolve_trainer_new (ConvolveModel              *model,
                      ConvolveOptimizer          *optimizer,
                      ConvolveDataset            *train,
                      ConvolveDataset            *test,
                      const ConvolveTrainConfig  *config,
                      GError                    **error)
{
  g_autoptr(ConvolveTrainer) self = NULL;
  gsize n_params = 0;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (train != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CONVOLVE_TYPE_TRAINER, NULL);
  self->model = model;
  self->optimizer = optimizer;
  self->config = *config;
  self->train = convolve_dataset_ref (train);
  self->test = test != NULL && convolve_dataset_get_n_images (test) > 0 ? convolve_dataset_ref (test) : NULL;
  self->history = convolve_history_new ();

  if (!convolve_train_config_validate (config, error))
    return NULL;

  convolve_model_get_params (model, &n_params);
  if (self->optimizer == NULL)
    {
      self->optimizer = optimizer_for_config (config, n_params, error);
      if (self->optimizer == NULL)
        return NULL;
    }
  else
    {
      const ConvolveOptimizerConfig *oc = convolve_optimizer_get_config (self->optimizer);

      if (convolve_optimizer_get_n_params (self->optimizer) != n_params)
        {
          g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                       _("The optimizer was made for %zu parameters, but the model has %zu"),
                       convolve_optimizer_get_n_params (self->optimizer), n_params);
          return NULL;
        }
      /* The optimizer passed in is the truth about itself. */
      self->config.optimizer = oc->kind;
      self->config.learning_rate = oc->learning_rate;
    }

  if (!trainer_setup (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* The best epoch's weights of a resumed run: the model's own when the
 * checkpoint was saved right after it, else the file beside the
 * checkpoint. A missing or foreign file only loses those weights (the
 * counters go on), so a run whose best file was deleted still resumes. */
static gboolean
resume_best (ConvolveTrainer  *self,
             const char       *path,
             GError          **error)
{
  const Position *pos = &self->position;
  g_autofree char *best_path = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModel) best = NULL;

  g_atomic_int_set (&self->best_epoch_atomic, pos->best_epoch);
  if (pos->best_epoch == 0)
    return TRUE;

  best = convolve_model_copy (self->model, 1, error);
  if (best == NULL)
    return FALSE;
  if (pos->best_epoch == pos->epoch && pos->step == 0)
    {
      self->best_model = g_steal_pointer (&best);
      return TRUE;
    }

  best_path = convolve_trainer_best_path_for (path);
  loaded = convolve_model_load (best_path, 1, &meta, NULL, NULL);
  if (loaded != NULL && meta->epoch == pos->best_epoch &&
      convolve_model_copy_weights (best, loaded, NULL))
    {
      self->best_model = g_steal_pointer (&best);
      self->best_written_path = g_steal_pointer (&best_path);
      self->best_written_epoch = pos->best_epoch;
    }
  return TRUE;
}

ConvolveTrainer *
convolve_trainer_new_from_checkpoint (const char       *path,
                                      ConvolveDataset  *train,
                                      ConvolveDataset  *test,
                                      GError          **error)
{
  g_autoptr(ConvolveTrainer) self = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveHistory) history = NULL;
  g_autofree char *display = NULL;
  ConvolveCheckpointState state;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (train != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  model = convolve_model_load (path, 1, &meta, &optimizer, error);
  if (model == NULL)
    return NULL;
  if (optimizer == NULL || !_convolve_checkpoint_has_format (meta->extra))
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                   _("“%s” is a plain model, not a training checkpoint"), display);
      return NULL;
    }
  if (!_convolve_checkpoint_read (meta->extra, &state, &history, error) ||
      !convolve_train_config_validate (&state.config, error))
    {
      g_prefix_error (error, _("Cannot resume from “%s”: "), display);
      return NULL;
    }
  if (convolve_optimizer_get_config (optimizer)->kind != state.config.optimizer)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                   _("“%s” holds the state of a different optimizer than its settings name"), display);
      return NULL;
    }

  self = g_object_new (CONVOLVE_TYPE_TRAINER, NULL);
  self->model = g_steal_pointer (&model);
  self->optimizer = g_steal_pointer (&optimizer);
  self->config = state.config;
  self->position = state.position;
  self->history = g_steal_pointer (&history);
  self->train = convolve_dataset_ref (train);
  self->test = test != NULL && convolve_dataset_get_n_images (test) > 0 ? convolve_dataset_ref (test) : NULL;

  if (!trainer_setup (self, error))
    return NULL;
  if (self->n_train != state.n_train)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                   _("“%s” was made with %" PRId64 " training images, but this training set has %u"),
                   display, (gint64) state.n_train, self->n_train);
      return NULL;
    }
  if (state.position.step > _convolve_trainer_steps_per_epoch (self) ||
      state.position.epoch > _convolve_trainer_epochs_total (self) ||
      (state.position.epoch == _convolve_trainer_epochs_total (self) && state.position.step != 0))
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                   _("Cannot resume from “%s”: its position in the run is inconsistent"), display);
      return NULL;
    }

  if (state.position.best_epoch > state.position.epoch ||
      (state.position.best_epoch == 0 && state.position.wait != 0))
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                   _("Cannot resume from “%s”: its best epoch is inconsistent"), display);
      return NULL;
    }
  if (!resume_best (self, path, error))
    return NULL;

  /* Show where the run stands. */
  {
    guint n_epochs = convolve_history_get_n_epochs (self->history);

    if (n_epochs > 0)
      {
        const ConvolveHistoryEpoch *last = convolve_history_get_epoch (self->history, n_epochs - 1);

        if (!isnan (last->val_loss))
          {
            self->has_validation = TRUE;
            self->last_val_loss = last->val_loss;
            self->last_val_accuracy = last->val_accuracy;
          }
      }
    g_clear_pointer (&self->progress, convolve_progress_unref);
    self->progress = _convolve_trainer_make_progress (self, CONVOLVE_TRAINER_IDLE, FALSE, FALSE);
  }

  return g_steal_pointer (&self);
}

const ConvolveTrainConfig *
convolve_trainer_get_config (ConvolveTrainer *self)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);

  return &self->config;
}

static gboolean
check_idle (ConvolveTrainer  *self,
            GError          **error)
{
  gboolean started;

  g_mutex_lock (&self->control_mutex);
  started = self->started;
  g_mutex_unlock (&self->control_mutex);
  if (started)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY,
                           _("The training has already started"));
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_trainer_set_config (ConvolveTrainer            *self,
                             const ConvolveTrainConfig  *config,
                             GError                    **error)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (config != NULL, FALSE);

  if (!check_idle (self, error) || !convolve_train_config_validate (config, error))
    return FALSE;

  if (config->train_limit != self->config.train_limit || config->batch_size != self->config.batch_size)
    {
      guint n = convolve_dataset_get_n_images (self->train);
      guint n_train = config->train_limit > 0 ? MIN (config->train_limit, n) : n;
      int spe = (int) ((n_train + (guint) config->batch_size - 1) / (guint) config->batch_size);

      if (self->position.step > spe)
        {
          g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                               _("The run is further into its epoch than the new batch size or image limit allows"));
          return FALSE;
        }
    }
  if (config->epochs + config->augment_epochs < self->position.epoch)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                   _("The run has already done %d epochs, more than the %d asked for"),
                   self->position.epoch, config->epochs + config->augment_epochs);
      return FALSE;
    }

  self->config = *config;
  apply_train_limit (self);
  g_mutex_lock (&self->progress_mutex);
  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->progress = _convolve_trainer_make_progress (self, CONVOLVE_TRAINER_IDLE, FALSE, FALSE);
  g_mutex_unlock (&self->progress_mutex);
  return TRUE;
}

gboolean
convolve_trainer_set_checkpoint_path (ConvolveTrainer  *self,
                                      const char       *path,
                                      GError          **error)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);

  if (!check_idle (self, error))
    return FALSE;
  g_free (self->checkpoint_path);
  self->checkpoint_path = g_strdup (path);
  return TRUE;
}

const char *
convolve_trainer_get_checkpoint_path (ConvolveTrainer *self)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);
  return self->checkpoint_path;
}

gboolean
convolve_trainer_set_checkpoint_mode (ConvolveTrainer         *self,
                                      ConvolveCheckpointMode   mode,
                                      GError                 **error)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (mode == CONVOLVE_CHECKPOINT_MODE_SAVE ||
                        mode == CONVOLVE_CHECKPOINT_MODE_BACKGROUND, FALSE);

  if (!check_idle (self, error))
    return FALSE;
  self->checkpoint_mode = mode;
  if (mode == CONVOLVE_CHECKPOINT_MODE_BACKGROUND && self->checkpoint_writer == NULL)
    self->checkpoint_writer = _convolve_checkpoint_writer_new (_convolve_trainer_checkpoint_written, self);
  return TRUE;
}

gboolean
convolve_trainer_set_publish_weights (ConvolveTrainer  *self,
                                      gboolean          publish,
                                      GError          **error)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);

  if (!check_idle (self, error))
    return FALSE;
  g_mutex_lock (&self->weights_mutex);
  if (!publish)
    g_clear_pointer (&self->published, convolve_model_free);
  else if (self->published == NULL)
    self->published = convolve_model_copy (self->model, 1, error);
  g_mutex_unlock (&self->weights_mutex);
  return !publish || self->published != NULL;
}

gboolean
convolve_trainer_set_distributed (ConvolveTrainer      *self,
                                  ConvolveDistributed  *dist,
                                  GError              **error)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);

  if (!check_idle (self, error))
    return FALSE;
  self->distributed = dist;
  return TRUE;
}

void
convolve_trainer_get_distributed_stats (ConvolveTrainer          *self,
                                        ConvolveDistributedStats *stats)
{
  g_return_if_fail (CONVOLVE_IS_TRAINER (self));

  g_mutex_lock (&self->model_mutex);
  *stats = self->distributed_stats;
  if (self->distributed != NULL)
    convolve_distributed_get_sum_stats (self->distributed, &stats->allreduce_seconds, &(guint64) { 0 });
  g_mutex_unlock (&self->model_mutex);
}

/* --- control ------------------------------------------------------------ */

gboolean
convolve_trainer_start (ConvolveTrainer  *self,
                        GError          **error)
{
  ConvolveProgress *progress;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_idle (self, error))
    return FALSE;

  if (self->config.early_stopping_patience > 0 && self->test == NULL)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("Early stopping needs a test set to validate on"));
      return FALSE;
    }

  /* The model must hold a whole batch; the optimizer must match the config. */
  if (convolve_model_get_max_batch (self->model) < _convolve_trainer_largest_batch (self))
    {
      ConvolveModel *resized = convolve_model_copy (self->model, _convolve_trainer_largest_batch (self),
                                                    error);

      if (resized == NULL)
        return FALSE;
      g_clear_pointer (&self->eval_model, convolve_model_free);  /* a view of the old one */
      convolve_model_free (self->model);
      self->model = resized;
    }
  if (convolve_optimizer_get_config (self->optimizer)->kind != self->config.optimizer)
    {
      gsize n_params = 0;
      ConvolveOptimizer *optimizer;

      convolve_model_get_params (self->model, &n_params);
      optimizer = optimizer_for_config (&self->config, n_params, error);
      if (optimizer == NULL)
        return FALSE;
      convolve_optimizer_free (self->optimizer);
      self->optimizer = optimizer;
    }
  else
    convolve_optimizer_set_learning_rate (self->optimizer, self->config.learning_rate);

  g_mutex_lock (&self->progress_mutex);
  self->context = g_main_context_ref_thread_default ();
  g_mutex_unlock (&self->progress_mutex);

  g_mutex_lock (&self->control_mutex);
  self->started = TRUE;
  self->state = self->stop_requested ? CONVOLVE_TRAINER_STOPPING : CONVOLVE_TRAINER_RUNNING;
  g_mutex_unlock (&self->control_mutex);

  progress = _convolve_trainer_make_progress (self, _convolve_trainer_running_state (self), FALSE, FALSE);
  _convolve_trainer_publish_progress (self, progress, TRUE);
  self->thread = g_thread_new ("convolve-trainer", _convolve_trainer_thread, g_object_ref (self));
  return TRUE;
}

void
convolve_trainer_pause (ConvolveTrainer *self)
{
  g_return_if_fail (CONVOLVE_IS_TRAINER (self));

  g_mutex_lock (&self->control_mutex);
  self->pause_requested = TRUE;
  g_mutex_unlock (&self->control_mutex);
}

void
convolve_trainer_resume (ConvolveTrainer *self)
{
  g_return_if_fail (CONVOLVE_IS_TRAINER (self));

  g_mutex_lock (&self->control_mutex);
  self->pause_requested = FALSE;
  g_cond_broadcast (&self->control_cond);
  g_mutex_unlock (&self->control_mutex);
}

void
convolve_trainer_stop (ConvolveTrainer *self)
{
  gboolean announce;

  g_return_if_fail (CONVOLVE_IS_TRAINER (self));

  g_mutex_lock (&self->control_mutex);
  self->stop_requested = TRUE;
  announce = self->started && !convolve_trainer_state_is_final (self->state);
  if (announce)
    self->state = CONVOLVE_TRAINER_STOPPING;
  g_cond_broadcast (&self->control_cond);
  g_mutex_unlock (&self->control_mutex);
  g_cancellable_cancel (self->stop_cancellable);

  /* Let the UI show "stopping" at once; the trainer's final snapshot
   * follows within a batch and is never replaced by this one. */
  if (announce)
    {
      g_mutex_lock (&self->progress_mutex);
      if (self->progress != NULL && !convolve_trainer_state_is_final (self->progress->state))
        {
          ConvolveProgress *stopping = _convolve_progress_copy (self->progress);

          stopping->state = CONVOLVE_TRAINER_STOPPING;
          publish_progress_locked (self, stopping, TRUE);
        }
      g_mutex_unlock (&self->progress_mutex);
    }
}

gboolean
convolve_trainer_join (ConvolveTrainer  *self,
                       GError          **error)
{
  GThread *thread;
  gboolean ok = TRUE;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->control_mutex);
  if (!self->started)
    {
      g_mutex_unlock (&self->control_mutex);
      return TRUE;
    }
  while (!self->ended)
    g_cond_wait (&self->control_cond, &self->control_mutex);
  thread = g_steal_pointer (&self->thread);
  if (self->state == CONVOLVE_TRAINER_FAILED)
    {
      ok = FALSE;
      if (self->error != NULL)
        g_propagate_error (error, g_error_copy (self->error));
    }
  g_mutex_unlock (&self->control_mutex);

  if (thread != NULL)
    g_thread_join (thread);
  return ok;
}

ConvolveTrainerState
convolve_trainer_get_state (ConvolveTrainer *self)
{
  ConvolveTrainerState state;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), CONVOLVE_TRAINER_IDLE);

  g_mutex_lock (&self->control_mutex);
  state = self->state;
  g_mutex_unlock (&self->control_mutex);
  return state;
}

ConvolveProgress *
convolve_trainer_get_progress (ConvolveTrainer *self)
{
  ConvolveProgress *progress;

  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);

  g_mutex_lock (&self->progress_mutex);
  progress = convolve_progress_ref (self->progress);
  g_mutex_unlock (&self->progress_mutex);
  return progress;
}

ConvolveHistory *
convolve_trainer_get_history (ConvolveTrainer *self)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);

  return self->history;
}

const char * const *
convolve_trainer_get_class_names (ConvolveTrainer *self)
{
  g_return_val_if_fail (CONVOLVE_IS_TRAINER (self), NULL);

  return (const char * const *) self->class_names;
}

void
convolve_trainer_describe_run (ConvolveTrainer *self,
                               ConvolveRunInfo *info)
{
  g_return_if_fail (CONVOLVE_IS_TRAINER (self));
  g_return_if_fail (info != NULL);

  memset (info, 0, sizeof *info);
  info->dataset_name = convolve_dataset_get_name (self->train);
  info->n_train = self->n_train;
  info->n_test = self->test != NULL ? convolve_dataset_get_n_images (self->test) : 0;
  info->n_classes = convolve_dataset_get_n_classes (self->train);
  info->model_spec = self->model_spec;
  info->n_parameters = self->n_parameters;
}
