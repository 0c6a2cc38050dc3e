/* convolve-window-training.c: the window's view of the session's run. The
 * session trains, copies weights and predicts the test set off the main
 * thread; here its signals update the panel, the plots and the grid, and
 * Train gathers the configuration from the panel and the settings.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-window-private.h"

/* Four progress snapshots a second: enough for the plots and the progress
 * bar to move while the user watches, and each one redraws them, in
 * software under Xvfb. At 30 a second the main thread took a fifth of a
 * core, at 10 a tenth (main_thread_cpu_share 0.10-0.11), at 4 0.07-0.08
 * (scripts/bench-ui.sh): a core the trainer's threads want. */
#define PROGRESS_INTERVAL_MS 250

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

/* ---- following the session ----------------------------------------------- */

static void
progress_cb (ConvolveWindow   *self,
             ConvolveProgress *progress)
{
  convolve_training_panel_set_progress (self->training_panel, progress);
  plot_progress (self, progress);

  if (progress->state == CONVOLVE_TRAINER_FAILED && progress->error != NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Training failed: %s"), progress->error->message);
      convolve_window_show_error (self, message);
    }
  convolve_window_update_actions (self);
}

/* A run started or was forgotten: the plots start over. */
static void
run_changed_cb (ConvolveWindow *self)
{
  ConvolveProgress *progress = convolve_session_get_progress (self->session);

  self->plotted_steps = 0;
  self->plotted_epochs = 0;
  convolve_plot_clear (self->loss_plot);
  convolve_plot_clear (self->accuracy_plot);
  convolve_training_panel_set_progress (self->training_panel, progress);
  if (progress != NULL)
    plot_progress (self, progress);
  convolve_window_update_title (self);
  convolve_window_update_actions (self);
}

static void
predictions_changed_cb (ConvolveWindow *self)
{
  const ConvolveEvaluation *evaluation = convolve_session_get_evaluation (self->session);
  ConvolveDataset *test = convolve_session_get_test (self->session);

  convolve_evaluation_page_set_evaluation (self->evaluation_page, evaluation,
                                           convolve_session_get_class_names (self->session));
  if (test == NULL)
    return;
  if (evaluation != NULL)
    convolve_sample_grid_set_predictions (self->sample_grid, test, evaluation->predictions,
                                          evaluation->n_images);
  else
    convolve_sample_grid_set_predictions (self->sample_grid, test, NULL, 0);
}

static void
evaluating_cb (ConvolveWindow *self)
{
  convolve_evaluation_page_set_evaluating (self->evaluation_page,
                                           convolve_session_is_evaluating (self->session),
                                           MAX (0.0, convolve_session_get_evaluation_fraction (self->session)));
  convolve_window_update_actions (self);
}

static void
model_changed_cb (ConvolveWindow *self)
{
  convolve_training_panel_set_model (self->training_panel, convolve_session_get_model (self->session));
  convolve_window_update_title (self);
  convolve_window_update_actions (self);
}

void
convolve_window_init_training (ConvolveWindow *self)
{
  g_signal_connect_object (self->session, "progress", G_CALLBACK (progress_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "run-changed", G_CALLBACK (run_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "predictions-changed",
                           G_CALLBACK (predictions_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "model-changed", G_CALLBACK (model_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::training",
                           G_CALLBACK (convolve_window_update_actions), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::state",
                           G_CALLBACK (convolve_window_update_actions), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::model-path",
                           G_CALLBACK (convolve_window_update_title), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::evaluating",
                           G_CALLBACK (evaluating_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::evaluation-fraction",
                           G_CALLBACK (evaluating_cb), self, G_CONNECT_SWAPPED);
  convolve_predictor_set_session (self->predictor, self->session);
}

/* ---- train --------------------------------------------------------------- */

static void
train_started_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;

  if (convolve_session_train_finish (CONVOLVE_SESSION (source), result, &error) || self == NULL)
    return;

  {
    g_autofree char *message = g_strdup_printf (_("Could not start training: %s"), error->message);
    convolve_window_show_error (self, message);
    convolve_window_update_actions (self);
  }
}

void
convolve_window_train (ConvolveWindow *self)
{
  ConvolveTrainConfig config;
  int threads;

  if (convolve_session_get_train (self->session) == NULL ||
      !convolve_session_has_model (self->session) ||
      convolve_session_is_training (self->session))
    return;

  convolve_train_config_init (&config);
  convolve_training_panel_get_config (self->training_panel, &config);
  /* Every processor unless asked otherwise: the engine's threads sleep
   * between their parts of a step and OpenBLAS never spins, so the main
   * loop gets its turn (scripts/bench-ui.sh measures both). */
  threads = g_settings_get_int (self->settings, "threads");
  config.threads = threads > 0 ? threads : MAX (1, (int) g_get_num_processors ());
  config.snapshot_every_steps = g_settings_get_int (self->settings, "prediction-interval");
  config.progress_interval_ms = PROGRESS_INTERVAL_MS;

  convolve_session_train_async (self->session, &config, train_started_cb, convolve_weak_ref_new (self));
}
