/* convolve-session-run.c: the session's run. The trainer trains a copy of
 * the current weights on its own thread; its published weights are copied
 * here off the main thread and swapped in on it; each epoch's test-set
 * evaluation comes with the progress (convolve-session-evaluate.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <inttypes.h>

#include "convolve-model-check.h"
#include "convolve-session-private.h"

/* ---- weight snapshots ---------------------------------------------------- */

typedef struct {
  ConvolveTrainer *trainer;
  ConvolveModel   *model;
} SnapshotData;

static void
snapshot_data_free (SnapshotData *data)
{
  g_clear_object (&data->trainer);
  g_clear_pointer (&data->model, convolve_model_free);
  g_free (data);
}

static void
snapshot_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  SnapshotData *data = task_data;
  GError *error = NULL;

  data->model = convolve_trainer_get_weights_snapshot (data->trainer, 1, &error);
  if (data->model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void request_snapshot (ConvolveSession *self);

/* ---- the run store ------------------------------------------------------- */

typedef struct {
  ConvolveRunRecorder  *recorder;
  ConvolveTrainerState  state;
  ConvolveEvaluation   *evaluation;
  GError               *error;
} FinishData;

static void
finish_data_free (FinishData *data)
{
  g_clear_pointer (&data->recorder, convolve_run_recorder_free);
  g_clear_pointer (&data->evaluation, convolve_evaluation_free);
  g_clear_error (&data->error);
  g_free (data);
}

static void
finish_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  FinishData *data = task_data;
  GError *error = NULL;

  if (convolve_run_recorder_finish (data->recorder, data->state, data->evaluation, data->error, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
finished_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    _convolve_session_emit_error (CONVOLVE_SESSION (source), _("The run was not fully recorded: %s"),
                                  error->message);
}

/* Ends the run's record off the main thread: the last rows are written in
 * one transaction, which may wait for a busy database. */
static void
finish_record (ConvolveSession  *self,
               ConvolveTrainerState state,
               ConvolveProgress *progress)
{
  g_autoptr(GTask) task = NULL;
  FinishData *data;

  if (self->recorder == NULL)
    return;
  if (progress != NULL)
    convolve_run_recorder_add_progress (self->recorder, progress);
  data = g_new0 (FinishData, 1);
  data->recorder = g_steal_pointer (&self->recorder);
  data->state = state;
  if (progress != NULL && progress->evaluation != NULL)
    data->evaluation = convolve_evaluation_ref (progress->evaluation);
  if (progress != NULL && progress->error != NULL)
    data->error = g_error_copy (progress->error);
  task = g_task_new (self, NULL, finished_cb, NULL);
  g_task_set_name (task, "convolve-finish-record");
  g_task_set_task_data (task, data, (GDestroyNotify) finish_data_free);
  g_task_run_in_thread (task, finish_thread);
}

/* The record of the run trainer is about to start; without a usable store
 * it trains unrecorded, and says so once. */
static ConvolveRunRecorder *
start_record (ConvolveSession *self,
              ConvolveTrainer *trainer,
              gint64           resume_run_id)
{
  g_autoptr(GError) error = NULL;
  ConvolveRunRecorder *recorder;
  ConvolveRunInfo info;

  if (self->run_store == NULL && !self->run_store_failed)
    {
      self->run_store = convolve_run_store_open (NULL, &error);
      if (self->run_store == NULL)
        {
          self->run_store_failed = TRUE;
          _convolve_session_emit_error (self, _("Training runs are not recorded: %s"), error->message);
          return NULL;
        }
    }
  if (self->run_store == NULL)
    return NULL;

  convolve_trainer_describe_run (trainer, &info);
  info.dataset_path = self->dataset_path;
  if (resume_run_id > 0)
    recorder = convolve_run_recorder_new_for_run (self->run_store, resume_run_id, &error);
  else
    recorder = convolve_run_recorder_new (self->run_store, &info,
                                          convolve_trainer_get_config (trainer), &error);
  if (recorder == NULL)
    _convolve_session_emit_error (self, _("Training runs are not recorded: %s"), error->message);
  return recorder;
}

/* A new recorded run saves its checkpoints (the last epoch's and the best
 * one's) in its own folder, in the background, so that it can be resumed
 * after a crash. Without the folder it trains all the same. */
static void
set_up_checkpoints (ConvolveSession     *self,
                    ConvolveTrainer     *trainer,
                    ConvolveRunRecorder *recorder)
{
  g_autofree char *dir = convolve_run_store_get_run_dir (self->run_store,
                                                         convolve_run_recorder_get_run_id (recorder));
  g_autofree char *path = g_build_filename (dir, "checkpoint.safetensors", NULL);
  g_autoptr(GError) error = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      _convolve_session_emit_error (self,
                                    _("This run cannot be resumed after a crash: could not make the folder “%s”: %s"),
                                    dir, g_strerror (saved_errno));
      return;
    }
  if (!convolve_trainer_set_checkpoint_path (trainer, path, &error) ||
      !convolve_trainer_set_checkpoint_mode (trainer, CONVOLVE_CHECKPOINT_MODE_BACKGROUND, &error))
    _convolve_session_emit_error (self, _("This run cannot be resumed after a crash: %s"), error->message);
}

/* Records the checkpoints the trainer saved, and says when one failed. */
static void
follow_checkpoints (ConvolveSession  *self,
                    ConvolveProgress *progress)
{
  if (progress->checkpoint_saves != self->checkpoint_saves && self->recorder != NULL)
    {
      const char *path = convolve_trainer_get_checkpoint_path (self->trainer);
      g_autofree char *best = progress->checkpoint_best_epoch > 0 && path != NULL
                              ? convolve_trainer_best_path_for (path) : NULL;

      convolve_run_recorder_set_paths (self->recorder, path, best, NULL);
    }
  if (progress->checkpoint_saves != self->checkpoint_saves)
    self->checkpoint_warned = FALSE;
  self->checkpoint_saves = progress->checkpoint_saves;
  /* Said once, and again only after a save went through meanwhile. */
  if (progress->checkpoint_failures != self->checkpoint_failures && progress->checkpoint_error != NULL &&
      !self->checkpoint_warned)
    {
      _convolve_session_emit_error (self,
                                    _("A checkpoint could not be saved; training goes on and the previous "
                                      "checkpoint stays: %s"),
                                    progress->checkpoint_error->message);
      self->checkpoint_warned = TRUE;
    }
  self->checkpoint_failures = progress->checkpoint_failures;
}

gint64
convolve_session_get_run_id (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), 0);
  return self->recorder != NULL ? convolve_run_recorder_get_run_id (self->recorder) : self->last_run_id;
}

static void
snapshot_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  SnapshotData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  /* A snapshot of a run that has since been replaced is stale. */
  if (data->trainer != self->trainer)
    return;
  self->snapshot_running = FALSE;
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _convolve_session_emit_error (self, _("Could not copy the weights for prediction: %s"), error->message);
      return;
    }

  _convolve_session_replace_weights (self, g_steal_pointer (&data->model));
  if (self->snapshot_again)
    {
      self->snapshot_again = FALSE;
      request_snapshot (self);
    }
}

/* Copies the trainer's latest weights off the main thread; at most one
 * copy runs, and a request meanwhile makes one more afterwards. */
static void
request_snapshot (ConvolveSession *self)
{
  g_autoptr(GTask) task = NULL;
  SnapshotData *data;

  if (self->snapshot_running)
    {
      self->snapshot_again = TRUE;
      return;
    }

  self->snapshot_running = TRUE;
  data = g_new0 (SnapshotData, 1);
  data->trainer = g_object_ref (self->trainer);
  task = g_task_new (self, self->run_cancellable, snapshot_cb, NULL);
  g_task_set_name (task, "convolve-weights-snapshot");
  g_task_set_task_data (task, data, (GDestroyNotify) snapshot_data_free);
  g_task_run_in_thread (task, snapshot_thread);
}

/* ---- the run ------------------------------------------------------------- */

static void
progress_cb (ConvolveTrainer  *trainer,
             ConvolveProgress *progress,
             ConvolveSession  *self)
{
  if (trainer != self->trainer)
    return;

  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->progress = convolve_progress_ref (progress);
  follow_checkpoints (self, progress);
  if (self->recorder != NULL)
    {
      if (convolve_trainer_state_is_final (progress->state))
        {
          self->last_run_id = convolve_run_recorder_get_run_id (self->recorder);
          finish_record (self, progress->state, progress);
        }
      else
        convolve_run_recorder_add_progress (self->recorder, progress);
    }
  if (progress->global_step != self->trained_steps)
    {
      self->trained_steps = progress->global_step;
      _convolve_session_set_dirty (self, TRUE);
    }

  g_signal_emit (self, _convolve_session_signals[PROGRESS], 0, progress);

  if (progress->weights_version != self->weights_version)
    {
      self->weights_version = progress->weights_version;
      request_snapshot (self);
    }

  _convolve_session_evaluation_progress (self, progress);

  _convolve_session_update_state (self);
}

/* Drops the run without telling anyone. */
static void
forget_run (ConvolveSession *self)
{
  /* A run forgotten while it goes on was stopped. */
  finish_record (self, CONVOLVE_TRAINER_CANCELLED, self->progress);
  self->last_run_id = 0;
  if (self->trainer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      convolve_trainer_stop (self->trainer);
      g_clear_object (&self->trainer);
    }
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  g_clear_object (&self->run_cancellable);
  self->snapshot_running = FALSE;
  self->snapshot_again = FALSE;
  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->weights_version = 0;
  self->trained_steps = 0;
  self->checkpoint_saves = 0;
  self->checkpoint_failures = 0;
  self->checkpoint_warned = FALSE;
  _convolve_session_clear_evaluation (self);
}

void
convolve_session_clear_run (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));

  forget_run (self);
  g_signal_emit (self, _convolve_session_signals[RUN_CHANGED], 0);
  _convolve_session_update_state (self);
}

typedef struct {
  ConvolveTrainConfig  config;
  ConvolveTrainer     *source;   /* the previous run, whose weights go on */
  ConvolveModel       *model;    /* else the current weights (borrowed) */
  ConvolveDataset     *train;
  ConvolveDataset     *test;
  ConvolveTrainer     *trainer;
  /* Resuming a recorded run: its id, and the current model's spec (the
   * checkpoint must hold the same model). */
  gint64               resume_run_id;
  char                *spec_text;
} StartData;

static void
start_data_free (StartData *data)
{
  g_clear_object (&data->source);
  g_clear_pointer (&data->train, convolve_dataset_unref);
  g_clear_pointer (&data->test, convolve_dataset_unref);
  g_clear_object (&data->trainer);
  g_free (data->spec_text);
  g_free (data);
}

/* The resumed run's trainer, from the last checkpoint of the run's record
 * (read here, off the main thread). */
static ConvolveTrainer *
resume_trainer (StartData  *data,
                GError    **error)
{
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (NULL, error);
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  ConvolveRunInfo info;

  if (store == NULL)
    return NULL;
  run = convolve_run_store_get_run (store, data->resume_run_id, error);
  if (run == NULL)
    return NULL;
  if (run->status != CONVOLVE_RUN_STATUS_INTERRUPTED && run->status != CONVOLVE_RUN_STATUS_STOPPED)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY,
                   _("Run %" PRId64 " cannot be resumed: only interrupted or stopped runs can"), run->id);
      return NULL;
    }
  if (run->checkpoint_path == NULL || !g_file_test (run->checkpoint_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                   _("Run %" PRId64 " has no checkpoint to resume from"), run->id);
      return NULL;
    }
  trainer = convolve_trainer_new_from_checkpoint (run->checkpoint_path, data->train, data->test, error);
  if (trainer == NULL)
    return NULL;
  convolve_trainer_describe_run (trainer, &info);
  if (g_strcmp0 (info.model_spec, data->spec_text) != 0)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                   _("Run %" PRId64 " trained another model: open its model first, then resume it"), run->id);
      return NULL;
    }
  /* It goes on saving where it saved before, so it stays resumable; as
   * the app's own runs do, in the background. */
  if (!convolve_trainer_set_checkpoint_path (trainer, run->checkpoint_path, error) ||
      !convolve_trainer_set_checkpoint_mode (trainer, CONVOLVE_CHECKPOINT_MODE_BACKGROUND, error))
    return NULL;
  return g_steal_pointer (&trainer);
}

/* Building a trainer copies the weights a few times (tens of megabytes for
 * the tutorial model), so it happens here; only starting the trainer's own
 * thread happens on the main thread. */
static void
start_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  StartData *data = task_data;
  GError *error = NULL;
  ConvolveModel *model;

  /* The current weights stay put while starting: nothing replaces them
   * before the callback (the session refuses while starting, and without
   * a previous run no snapshot arrives). */
  if (data->resume_run_id > 0)
    {
      data->trainer = resume_trainer (data, &error);
      if (data->trainer == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (data->source != NULL)
    model = convolve_trainer_get_weights_snapshot (data->source, data->config.batch_size, &error);
  else
    model = convolve_model_copy (data->model, data->config.batch_size, &error);
  if (model != NULL)
    data->trainer = convolve_trainer_new (model, NULL, data->train, data->test, &data->config, &error);

  if (data->trainer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
start_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  g_autoptr(GTask) outer = user_data;
  StartData *data = g_task_get_task_data (G_TASK (result));
  ConvolveRunRecorder *recorder = NULL;
  GError *error = NULL;

  self->starting = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      _convolve_session_update_state (self);
      g_task_return_error (outer, error);
      return;
    }
  /* The record comes first: its number names the checkpoints' folder. */
  recorder = start_record (self, data->trainer, data->resume_run_id);
  if (recorder != NULL && data->resume_run_id == 0)
    set_up_checkpoints (self, data->trainer, recorder);
  if (self->trainer_hook != NULL)
    self->trainer_hook (data->trainer, self->trainer_hook_data);
  if (!convolve_trainer_start (data->trainer, &error))
    {
      if (recorder != NULL)
        convolve_run_recorder_finish (recorder, CONVOLVE_TRAINER_FAILED, NULL, error, NULL);
      g_clear_pointer (&recorder, convolve_run_recorder_free);
      _convolve_session_update_state (self);
      g_task_return_error (outer, error);
      return;
    }

  /* The new run replaces the old one; the current weights stay until its
   * first snapshot. */
  forget_run (self);
  self->recorder = recorder;
  self->trainer = g_steal_pointer (&data->trainer);
  self->run_cancellable = g_cancellable_new ();
  self->progress = convolve_trainer_get_progress (self->trainer);
  g_signal_connect (self->trainer, "progress", G_CALLBACK (progress_cb), self);
  g_signal_emit (self, _convolve_session_signals[RUN_CHANGED], 0);
  _convolve_session_update_state (self);
  g_task_return_boolean (outer, TRUE);
}

static void
start_run (ConvolveSession           *self,
           const ConvolveTrainConfig *config,
           gint64                     resume_run_id,
           GAsyncReadyCallback        callback,
           gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  GTask *outer;
  StartData *data;
  GError *error = NULL;

  outer = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (outer, convolve_session_train_async);
  if (!_convolve_session_check_idle (self, _("The model is already training"), &error))
    {
      g_task_return_error (outer, error);
      g_object_unref (outer);
      return;
    }
  if (self->train == NULL || self->model == NULL)
    {
      g_task_return_new_error (outer, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                               "%s", _("There is no model yet: open a dataset first"));
      g_object_unref (outer);
      return;
    }

  data = g_new0 (StartData, 1);
  if (config != NULL)
    data->config = *config;
  data->resume_run_id = resume_run_id;
  data->spec_text = convolve_model_spec_to_string (convolve_model_get_spec (self->model));
  data->train = convolve_dataset_ref (self->train);
  data->test = self->test != NULL ? convolve_dataset_ref (self->test) : NULL;
  if (self->trainer != NULL)
    data->source = g_object_ref (self->trainer);
  else
    data->model = self->model;

  self->starting = TRUE;
  _convolve_session_update_state (self);

  task = g_task_new (self, NULL, start_cb, outer);
  g_task_set_name (task, "convolve-start-training");
  g_task_set_task_data (task, data, (GDestroyNotify) start_data_free);
  g_task_run_in_thread (task, start_thread);
}

void
convolve_session_train_async (ConvolveSession           *self,
                              const ConvolveTrainConfig *config,
                              GAsyncReadyCallback        callback,
                              gpointer                   user_data)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (config != NULL);

  start_run (self, config, 0, callback, user_data);
}

void
convolve_session_resume_run_async (ConvolveSession     *self,
                                   gint64               run_id,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (run_id > 0);

  start_run (self, NULL, run_id, callback, user_data);
}

gboolean
convolve_session_train_finish (ConvolveSession  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_session_train_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
_convolve_session_set_trainer_hook (ConvolveSession            *self,
                                    ConvolveSessionTrainerHook  hook,
                                    gpointer                    user_data)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  self->trainer_hook = hook;
  self->trainer_hook_data = user_data;
}

void
convolve_session_pause (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  if (self->trainer != NULL)
    convolve_trainer_pause (self->trainer);
}

void
convolve_session_resume (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  if (self->trainer != NULL)
    convolve_trainer_resume (self->trainer);
}

void
convolve_session_stop (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  if (self->trainer != NULL)
    convolve_trainer_stop (self->trainer);
}

void
convolve_session_shutdown (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  if (self->trainer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      convolve_trainer_stop (self->trainer);
      /* Stopping takes effect within one batch; wait so no thread outlives us. */
      convolve_trainer_join (self->trainer, NULL);
    }
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  _convolve_session_dispose_evaluation (self);
}

gboolean
convolve_session_is_training (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);

  return self->starting ||
         (self->trainer != NULL &&
          !convolve_trainer_state_is_final (convolve_session_get_state (self)));
}

gboolean
convolve_session_is_busy (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);

  return self->load_cancellable != NULL || self->starting ||
         self->snapshot_running || self->evaluating;
}

ConvolveTrainerState
convolve_session_get_state (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), CONVOLVE_TRAINER_IDLE);

  /* What the main thread was told, so views agree with each other. */
  if (self->progress != NULL)
    return self->progress->state;
  if (self->trainer != NULL)
    return convolve_trainer_get_state (self->trainer);
  return CONVOLVE_TRAINER_IDLE;
}

ConvolveProgress *
convolve_session_get_progress (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->progress;
}

ConvolveHistory *
convolve_session_get_history (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->trainer != NULL ? convolve_trainer_get_history (self->trainer) : NULL;
}

ConvolveTrainer *
convolve_session_get_trainer (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->trainer;
}
