/* convolve-window-training.c: runs the trainer and follows it. The trainer
 * works on its own thread; its coalesced progress snapshots arrive on the
 * main context, where they update the panel, the plots and (when new
 * weights were published) the predictor. Weight copies are made on a
 * worker thread, so the main loop never waits for the trainer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-window-private.h"

/* At most ~30 progress snapshots a second: as often as a redraw helps. */
#define PROGRESS_INTERVAL_MS 33
/* Images per batch when predicting the whole test set after a run. */
#define PREDICT_BATCH 256

gboolean
convolve_window_is_training (ConvolveWindow *self)
{
  return self->starting ||
         (self->trainer != NULL &&
          !convolve_trainer_state_is_final (convolve_trainer_get_state (self->trainer)));
}

static const char * const *
current_class_names (ConvolveWindow *self)
{
  if (self->train != NULL)
    return convolve_dataset_get_class_names (self->train);
  if (self->model_meta != NULL)
    return (const char * const *) self->model_meta->class_names;
  return NULL;
}

/* ---- plots --------------------------------------------------------------- */

static void
plot_progress (ConvolveWindow   *self,
               ConvolveProgress *progress)
{
  ConvolveHistory *history = progress->history;
  guint n_steps = progress->history_n_steps;
  guint n_epochs = progress->history_n_epochs;

  if (history == NULL)
    return;

  if (n_steps > self->plotted_steps && progress->steps_per_epoch > 0)
    {
      guint n = n_steps - self->plotted_steps;
      g_autofree double *x = g_new (double, n);
      g_autofree double *loss = g_new (double, n);
      g_autofree double *accuracy = g_new (double, n);

      for (guint i = 0; i < n; i++)
        {
          const ConvolveHistoryStep *step = convolve_history_get_step (history, self->plotted_steps + i);

          x[i] = (step->epoch - 1) + (double) step->step / progress->steps_per_epoch;
          loss[i] = step->loss;
          accuracy[i] = step->accuracy;
        }
      convolve_plot_append_points (self->loss_plot, "train-batch", x, loss, n);
      convolve_plot_append_points (self->accuracy_plot, "train-batch", x, accuracy, n);
      self->plotted_steps = n_steps;
    }

  for (; self->plotted_epochs < n_epochs; self->plotted_epochs++)
    {
      const ConvolveHistoryEpoch *epoch = convolve_history_get_epoch (history, self->plotted_epochs);
      double x = epoch->epoch;

      convolve_plot_append_points (self->loss_plot, "train-epoch", &x, &epoch->loss, 1);
      convolve_plot_append_points (self->accuracy_plot, "train-epoch", &x, &epoch->accuracy, 1);
      convolve_plot_append_points (self->loss_plot, "val-epoch", &x, &epoch->val_loss, 1);
      convolve_plot_append_points (self->accuracy_plot, "val-epoch", &x, &epoch->val_accuracy, 1);
    }
}

/* ---- weight snapshots for prediction ------------------------------------- */

typedef struct {
  ConvolveTrainer *trainer;
  ConvolveModel   *predict_model;   /* for the sample view */
  ConvolveModel   *predictor_model; /* handed to the predictor */
} SnapshotData;

static void
snapshot_data_free (SnapshotData *data)
{
  g_clear_object (&data->trainer);
  g_clear_pointer (&data->predict_model, convolve_model_free);
  g_clear_pointer (&data->predictor_model, convolve_model_free);
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

  data->predict_model = convolve_trainer_get_weights_snapshot (data->trainer, 1, &error);
  if (data->predict_model != NULL)
    data->predictor_model = convolve_model_copy (data->predict_model, 1, &error);
  if (data->predictor_model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
snapshot_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  SnapshotData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  if (self == NULL)
    return;
  self->snapshot_running = FALSE;

  /* A snapshot of a run that has since been replaced is stale. */
  if (data->trainer != self->trainer || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (!ok)
    {
      g_autofree char *message = g_strdup_printf (_("Could not copy the weights for prediction: %s"), error->message);
      convolve_window_show_error (self, message);
      return;
    }

  g_clear_pointer (&self->predict_model, convolve_model_free);
  self->predict_model = g_steal_pointer (&data->predict_model);
  convolve_predictor_set_model (self->predictor, g_steal_pointer (&data->predictor_model),
                                current_class_names (self));

  if (self->snapshot_again)
    {
      self->snapshot_again = FALSE;
      convolve_window_refresh_predictions (self);
    }
}

void
convolve_window_refresh_predictions (ConvolveWindow *self)
{
  g_autoptr(GTask) task = NULL;
  SnapshotData *data;

  if (self->trainer == NULL)
    {
      g_autoptr(GError) error = NULL;
      ConvolveModel *copy = NULL;

      g_clear_pointer (&self->predict_model, convolve_model_free);
      if (self->model != NULL)
        {
          self->predict_model = convolve_model_copy (self->model, 1, &error);
          if (self->predict_model != NULL)
            copy = convolve_model_copy (self->model, 1, &error);
          if (copy == NULL)
            {
              g_autofree char *message = g_strdup_printf (_("Could not copy the weights for prediction: %s"), error->message);
              convolve_window_show_error (self, message);
            }
        }
      convolve_predictor_set_model (self->predictor, copy, copy != NULL ? current_class_names (self) : NULL);
      return;
    }

  if (self->snapshot_running)
    {
      self->snapshot_again = TRUE;
      return;
    }

  self->snapshot_running = TRUE;
  data = g_new0 (SnapshotData, 1);
  data->trainer = g_object_ref (self->trainer);
  task = g_task_new (NULL, self->snapshot_cancellable, snapshot_cb, convolve_weak_ref_new (self));
  g_task_set_name (task, "convolve-weights-snapshot");
  g_task_set_task_data (task, data, (GDestroyNotify) snapshot_data_free);
  g_task_run_in_thread (task, snapshot_thread);
}

/* ---- predictions of the whole test set, after a run ---------------------- */

typedef struct {
  ConvolveTrainer *trainer;
  ConvolveDataset *dataset;
  gint32          *predictions;
  guint            n;
} PredictData;

static void
predict_data_free (PredictData *data)
{
  g_clear_object (&data->trainer);
  g_clear_pointer (&data->dataset, convolve_dataset_unref);
  g_free (data->predictions);
  g_free (data);
}

static void
predict_all_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  PredictData *data = task_data;
  g_autoptr(ConvolveModel) model = NULL;
  g_autofree float *x = NULL;
  g_autofree int32_t *y = NULL;
  g_autofree guint32 *indices = NULL;
  GError *error = NULL;
  ConvolveShape shape = convolve_dataset_get_shape (data->dataset);
  gsize image_size = (gsize) shape.c * shape.h * shape.w;

  model = convolve_trainer_get_weights_snapshot (data->trainer, PREDICT_BATCH, &error);
  if (model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  data->n = convolve_dataset_get_n_images (data->dataset);
  data->predictions = g_new (gint32, data->n);
  x = g_new (float, PREDICT_BATCH * image_size);
  y = g_new (int32_t, PREDICT_BATCH);
  indices = g_new (guint32, PREDICT_BATCH);

  for (guint start = 0; start < data->n; start += PREDICT_BATCH)
    {
      int count = (int) MIN ((guint) PREDICT_BATCH, data->n - start);
      double loss_sum = 0;
      int n_correct = 0;

      if (g_task_return_error_if_cancelled (task))
        return;
      for (int i = 0; i < count; i++)
        indices[i] = start + i;
      convolve_dataset_make_batch (data->dataset, indices, count, x, y, NULL, NULL);
      if (!convolve_model_evaluate (model, x, y, count, &loss_sum, &n_correct,
                                    data->predictions + start, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  g_task_return_boolean (task, TRUE);
}

static void
predict_all_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  PredictData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) || self == NULL)
    return;
  if (data->trainer != self->trainer || data->dataset != self->test)
    return;

  convolve_sample_grid_set_predictions (self->sample_grid, self->test, data->predictions, data->n);
}

static void
predict_test_set (ConvolveWindow *self)
{
  g_autoptr(GTask) task = NULL;
  PredictData *data;

  if (self->test == NULL || convolve_dataset_get_n_images (self->test) == 0)
    return;

  data = g_new0 (PredictData, 1);
  data->trainer = g_object_ref (self->trainer);
  data->dataset = convolve_dataset_ref (self->test);
  task = g_task_new (NULL, self->snapshot_cancellable, predict_all_cb, convolve_weak_ref_new (self));
  g_task_set_name (task, "convolve-predict-test-set");
  g_task_set_task_data (task, data, (GDestroyNotify) predict_data_free);
  g_task_run_in_thread (task, predict_all_thread);
}

/* ---- the run ------------------------------------------------------------- */

static void
progress_cb (ConvolveTrainer  *trainer,
             ConvolveProgress *progress,
             ConvolveWindow   *self)
{
  if (trainer != self->trainer)
    return;

  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->progress = convolve_progress_ref (progress);

  convolve_training_panel_set_progress (self->training_panel, progress);
  plot_progress (self, progress);

  if (progress->weights_version != self->weights_version)
    {
      self->weights_version = progress->weights_version;
      convolve_window_refresh_predictions (self);
    }

  if (convolve_trainer_state_is_final (progress->state))
    {
      if (progress->state == CONVOLVE_TRAINER_FAILED && progress->error != NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Training failed: %s"), progress->error->message);
          convolve_window_show_error (self, message);
        }
      else
        predict_test_set (self);
    }

  convolve_window_update_actions (self);
}

void
convolve_window_clear_run (ConvolveWindow *self)
{
  if (self->trainer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      convolve_trainer_stop (self->trainer);
      g_clear_object (&self->trainer);
    }
  if (self->snapshot_cancellable != NULL)
    g_cancellable_cancel (self->snapshot_cancellable);
  g_clear_object (&self->snapshot_cancellable);
  self->snapshot_running = FALSE;
  self->snapshot_again = FALSE;

  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->plotted_steps = 0;
  self->plotted_epochs = 0;
  self->weights_version = 0;

  if (self->loss_plot != NULL)
    {
      convolve_plot_clear (self->loss_plot);
      convolve_plot_clear (self->accuracy_plot);
      convolve_training_panel_set_progress (self->training_panel, NULL);
      if (self->test != NULL)
        convolve_sample_grid_set_predictions (self->sample_grid, self->test, NULL, 0);
    }
}

/* Building a trainer copies the weights a few times (tens of megabytes for
 * the tutorial model), so it happens on a worker thread; only starting the
 * trainer's own thread happens here. */
typedef struct {
  ConvolveTrainConfig  config;
  ConvolveTrainer     *source;   /* the previous run, whose weights go on */
  ConvolveModel       *model;    /* or the current model, handed over */
  ConvolveDataset     *train;
  ConvolveDataset     *test;
  ConvolveTrainer     *trainer;
} StartData;

static void
start_data_free (StartData *data)
{
  g_clear_object (&data->source);
  g_clear_pointer (&data->model, convolve_model_free);
  g_clear_pointer (&data->train, convolve_dataset_unref);
  g_clear_pointer (&data->test, convolve_dataset_unref);
  g_clear_object (&data->trainer);
  g_free (data);
}

static void
start_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  StartData *data = task_data;
  GError *error = NULL;
  ConvolveModel *model;

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
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  StartData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    return;
  self->starting = FALSE;

  if (!g_task_propagate_boolean (G_TASK (result), &error) ||
      !convolve_trainer_start (data->trainer, &error))
    {
      g_autofree char *message = g_strdup_printf (_("Could not start training: %s"), error->message);

      /* The weights handed over come back. */
      if (data->model != NULL && self->model == NULL && self->trainer == NULL)
        self->model = g_steal_pointer (&data->model);
      convolve_window_show_error (self, message);
      convolve_window_update_actions (self);
      return;
    }

  /* The trainer holds the weights from now on. */
  convolve_window_clear_run (self);
  g_clear_pointer (&self->model, convolve_model_free);
  self->trainer = g_steal_pointer (&data->trainer);
  self->snapshot_cancellable = g_cancellable_new ();
  g_signal_connect (self->trainer, "progress", G_CALLBACK (progress_cb), self);

  self->progress = convolve_trainer_get_progress (self->trainer);
  convolve_training_panel_set_progress (self->training_panel, self->progress);
  convolve_window_update_title (self);
  convolve_window_update_actions (self);
}

void
convolve_window_train (ConvolveWindow *self)
{
  g_autoptr(GTask) task = NULL;
  StartData *data;
  int threads;

  if (self->train == NULL || convolve_window_is_training (self))
    return;
  if (self->trainer == NULL && self->model == NULL)
    return;

  data = g_new0 (StartData, 1);
  convolve_train_config_init (&data->config);
  convolve_training_panel_get_config (self->training_panel, &data->config);
  /* Leave one processor to the main loop unless asked otherwise. */
  threads = g_settings_get_int (self->settings, "threads");
  data->config.threads = threads > 0 ? threads : MAX (1, (int) g_get_num_processors () - 1);
  data->config.snapshot_every_steps = g_settings_get_int (self->settings, "prediction-interval");
  data->config.progress_interval_ms = PROGRESS_INTERVAL_MS;
  data->train = convolve_dataset_ref (self->train);
  data->test = self->test != NULL ? convolve_dataset_ref (self->test) : NULL;
  if (self->trainer != NULL)
    data->source = g_object_ref (self->trainer);
  else
    data->model = g_steal_pointer (&self->model);  /* back on failure */

  self->starting = TRUE;
  convolve_window_update_actions (self);

  task = g_task_new (NULL, NULL, start_cb, convolve_weak_ref_new (self));
  g_task_set_name (task, "convolve-start-training");
  g_task_set_task_data (task, data, (GDestroyNotify) start_data_free);
  g_task_run_in_thread (task, start_thread);
}

void
convolve_window_pause (ConvolveWindow *self)
{
  if (self->trainer != NULL)
    convolve_trainer_pause (self->trainer);
}

void
convolve_window_resume (ConvolveWindow *self)
{
  if (self->trainer != NULL)
    convolve_trainer_resume (self->trainer);
}

void
convolve_window_stop (ConvolveWindow *self)
{
  if (self->trainer != NULL)
    convolve_trainer_stop (self->trainer);
}

void
convolve_window_shutdown_training (ConvolveWindow *self)
{
  if (self->trainer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      convolve_trainer_stop (self->trainer);
      /* Stopping takes effect within one batch; wait so no thread outlives us. */
      convolve_trainer_join (self->trainer, NULL);
    }
  if (self->snapshot_cancellable != NULL)
    g_cancellable_cancel (self->snapshot_cancellable);
}
