/* test-window.c: the main window with a generated CIFAR-10 folder: it
 * opens and finalizes, its actions follow the state, a short real training
 * run updates the plots and the predictor while the main loop keeps
 * running, model files round-trip, and the smaller windows build.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convolve-image-view.h"
#include "convolve-preferences-window.h"
#include "convolve-sample-view.h"
#include "convolve-window-private.h"
#include "onnx.pb-c.h"
#include "test-cifar-folder.h"

#define TIMEOUT_US (120 * G_USEC_PER_SEC)

/* A small model that trains in moments on 32x32x3 images. */
#define TEST_SPEC "conv2d(8,3,same,relu),maxpool(2),flatten,dense(32,relu),dropout(0.2),dense(10,softmax)"

static char *tmp_dir;

static gboolean
iterate_until (gboolean (*done) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      if (!done (data))
        g_usleep (1000);
    }
  return TRUE;
}

static gboolean
workspace_shown (gpointer data)
{
  ConvolveWindow *self = data;

  return convolve_session_get_train (convolve_window_get_session (self)) != NULL &&
         g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") == 0;
}

static gboolean
action_enabled (ConvolveWindow *self,
                const char     *name)
{
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (self), name));
  return g_action_group_get_action_enabled (G_ACTION_GROUP (self), name);
}

static void
reset_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
  g_settings_set_string (settings, "model-spec", TEST_SPEC);
}

static ConvolveWindow *
open_window_with (const char *dataset_dir)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  ConvolveWindow *self;

  g_settings_set_string (settings, "last-dataset-path", dataset_dir);
  self = g_object_ref (convolve_window_new (NULL));
  gtk_window_present (GTK_WINDOW (self));
  g_assert_true (iterate_until (workspace_shown, self));
  return self;
}

static void
close_window (ConvolveWindow *self)
{
  gtk_window_destroy (GTK_WINDOW (self));
  g_assert_finalize_object (self);
}

static void
test_window_open (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "open", 60, 20);
  ConvolveWindow *self;

  reset_settings ();
  self = open_window_with (dir);

  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_train (convolve_window_get_session (self))), ==, 60);
  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_test (convolve_window_get_session (self))), ==, 20);
  g_assert_nonnull (convolve_session_get_model (convolve_window_get_session (self)));
    g_assert_true (convolve_predictor_has_model (self->predictor));
  g_assert_true (convolve_sample_grid_get_dataset (self->sample_grid) == convolve_session_get_train (convolve_window_get_session (self)));
  g_assert_cmpint (convolve_sample_grid_get_cell_index (self->sample_grid, 0), ==, 0);
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (self->sample_grid, 3), ==, "cat");

  /* No run yet: train, new, save; nothing to pause, stop or export. */
  g_assert_true (action_enabled (self, "train"));
  g_assert_true (action_enabled (self, "new-model"));
  g_assert_true (action_enabled (self, "open-model"));
  g_assert_true (action_enabled (self, "save-model"));
  g_assert_true (action_enabled (self, "save-model-as"));
  g_assert_true (action_enabled (self, "show-summary"));
  g_assert_false (action_enabled (self, "pause"));
  g_assert_false (action_enabled (self, "resume"));
  g_assert_false (action_enabled (self, "stop"));
  g_assert_false (action_enabled (self, "export-history"));
  g_assert_false (action_enabled (self, "export-plot"));

  close_window (self);
}

static gboolean
window_laid_out (gpointer data)
{
  ConvolveWindow *self = data;
  GtkWidget *image = convolve_sample_grid_get_cell_image (self->sample_grid, 24);
  graphene_rect_t rect;

  return gtk_widget_get_height (GTK_WIDGET (self->accuracy_plot)) > 0 &&
         convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (image), &rect);
}

typedef struct {
  ConvolveWindow *window;
  int             width;
} WidthWait;

static gboolean
window_narrower_than (gpointer data)
{
  WidthWait *wait = data;

  return gtk_widget_get_width (GTK_WIDGET (wait->window)) < wait->width &&
         window_laid_out (wait->window);
}

/* Lets the main loop draw a few frames, so that allocations settle. */
static void
settle (void)
{
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC / 4;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* At the default 1280 x 800 the samples show large, and the samples, the
 * predictor and both plots all fit without scrolling; a narrow window
 * stacks them and scrolls, samples at full size. */
static void
test_window_layout (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "layout", 50, 10);
  ConvolveWindow *self;
  GtkAdjustment *vadjustment;
  graphene_rect_t image, bounds;
  WidthWait wait;
  int width, height;

  reset_settings ();
  self = open_window_with (dir);
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_assert_cmpint (width, ==, 1280);
  g_assert_cmpint (height, ==, 800);
  g_assert_true (iterate_until (window_laid_out, self));
  settle ();

  vadjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->content_viewport));
  g_test_message ("content %.0f px high in a %.0f px view",
                  gtk_adjustment_get_upper (vadjustment), gtk_adjustment_get_page_size (vadjustment));
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadjustment), <=, gtk_adjustment_get_page_size (vadjustment));
  g_assert_true (convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (convolve_sample_grid_get_cell_image (self->sample_grid, 24)), &image));
  g_test_message ("samples at %.0f px", image.size.width);
  g_assert_cmpfloat (image.size.width, >=, 64.0);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (self->predictor)), >, 0);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (self->loss_plot)), >=, 150);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (self->accuracy_plot)), >=, 150);
  /* side by side: the plots are beside the samples, not below them */
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (self->loss_plot), GTK_WIDGET (self->content_box), &bounds));
  g_assert_cmpfloat (bounds.origin.x, >=, gtk_widget_get_width (GTK_WIDGET (self->sample_grid)));

  gtk_window_set_default_size (GTK_WINDOW (self), 900, 800);
  wait = (WidthWait) { self, 1000 };
  g_assert_true (iterate_until (window_narrower_than, &wait));
  settle ();
  g_assert_cmpint (gtk_orientable_get_orientation (GTK_ORIENTABLE (self->content_box)), ==, GTK_ORIENTATION_VERTICAL);
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadjustment), >, gtk_adjustment_get_page_size (vadjustment));
  g_assert_true (convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (convolve_sample_grid_get_cell_image (self->sample_grid, 24)), &image));
  g_test_message ("narrow: samples at %.0f px", image.size.width);
  g_assert_cmpfloat (image.size.width, >=, 64.0);

  close_window (self);
}

static gboolean
dataset_page_shown (gpointer data)
{
  ConvolveWindow *self = data;

  return g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "dataset") == 0;
}

static void
test_window_no_dataset (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  ConvolveWindow *self;

  reset_settings ();
  g_settings_set_string (settings, "last-dataset-path", "");
  self = g_object_ref (convolve_window_new (NULL));
  gtk_window_present (GTK_WINDOW (self));
  g_assert_true (iterate_until (dataset_page_shown, self));

  g_assert_null (convolve_session_get_train (convolve_window_get_session (self)));
  g_assert_false (action_enabled (self, "train"));
  g_assert_false (action_enabled (self, "new-model"));
  g_assert_false (action_enabled (self, "save-model"));
  g_assert_true (action_enabled (self, "open-dataset-folder"));
  g_assert_true (action_enabled (self, "download-dataset"));

  /* Opening a folder by hand leads to the workspace. */
  {
    g_autofree char *dir = test_cifar_folder_new (tmp_dir, "by-hand", 30, 10);

    convolve_window_open_dataset (self, dir);
    g_autofree char *last = NULL;

    g_assert_true (iterate_until (workspace_shown, self));
    g_assert_true (action_enabled (self, "train"));
    last = g_settings_get_string (settings, "last-dataset-path");
    g_assert_cmpstr (last, ==, dir);
  }

  close_window (self);
}

static void
test_window_bad_dataset (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "good", 30, 10);
  g_autofree char *bad = g_build_filename (tmp_dir, "bad", NULL);
  g_autofree char *bad_batch = g_build_filename (bad, "data_batch_1.bin", NULL);
  ConvolveWindow *self;

  reset_settings ();
  self = open_window_with (dir);

  /* A batch that is not a whole number of records: the old dataset stays. */
  g_assert_cmpint (g_mkdir_with_parents (bad, 0755), ==, 0);
  g_assert_true (g_file_set_contents (bad_batch, "short", 5, NULL));
  convolve_window_open_dataset (self, bad);
  g_assert_true (convolve_session_is_loading (convolve_window_get_session (self)));
  while (convolve_session_is_loading (convolve_window_get_session (self)))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (convolve_session_get_dataset_path (convolve_window_get_session (self)), ==, dir);
  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_train (convolve_window_get_session (self))), ==, 30);

  close_window (self);
}

/* Records the longest gap between two 5 ms ticks of the main loop. */
typedef struct {
  gint64 last;
  gint64 max_gap;
} StallProbe;

static gboolean
stall_probe_tick (gpointer data)
{
  StallProbe *probe = data;
  gint64 now = g_get_monotonic_time ();

  if (probe->last != 0)
    probe->max_gap = MAX (probe->max_gap, now - probe->last);
  probe->last = now;
  return G_SOURCE_CONTINUE;
}

static gboolean
run_final (gpointer data)
{
  ConvolveWindow *self = data;

  return convolve_session_get_progress (convolve_window_get_session (self)) != NULL && convolve_trainer_state_is_final (convolve_session_get_progress (convolve_window_get_session (self))->state);
}

static gboolean
run_paused (gpointer data)
{
  ConvolveWindow *self = data;

  return convolve_session_get_progress (convolve_window_get_session (self)) != NULL &&
         (convolve_session_get_progress (convolve_window_get_session (self))->state == CONVOLVE_TRAINER_PAUSED ||
          convolve_trainer_state_is_final (convolve_session_get_progress (convolve_window_get_session (self))->state));
}

static gboolean
run_started (gpointer data)
{
  ConvolveWindow *self = data;

  return convolve_session_get_trainer (convolve_window_get_session (self)) != NULL &&
         !convolve_session_is_busy (convolve_window_get_session (self));
}

static gboolean
run_has_steps (gpointer data)
{
  ConvolveWindow *self = data;

  return convolve_session_get_progress (convolve_window_get_session (self)) != NULL && convolve_session_get_progress (convolve_window_get_session (self))->global_step >= 3;
}

static gboolean
snapshots_settled (gpointer data)
{
  ConvolveWindow *self = data;

  return !convolve_session_is_busy (convolve_window_get_session (self)) && convolve_predictor_get_probabilities (self->predictor, NULL) != NULL;
}

static gboolean
file_idle (gpointer data)
{
  gboolean *done = data;

  return *done;
}

static gboolean
set_done (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A new file is written in place: it is done once it is whole. */
static gboolean
png_written (gpointer data)
{
  static const guint8 png_signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  static const guint8 png_end[] = { 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
  g_autofree char *contents = NULL;
  gsize length;

  return g_file_get_contents (data, &contents, &length, NULL) &&
         length > sizeof png_signature + sizeof png_end &&
         memcmp (contents, png_signature, sizeof png_signature) == 0 &&
         memcmp (contents + length - sizeof png_end, png_end, sizeof png_end) == 0;
}

static gboolean
svg_written (gpointer data)
{
  g_autofree char *contents = NULL;
  gsize length;

  return g_file_get_contents (data, &contents, &length, NULL) &&
         g_str_has_prefix (contents, "<?xml") &&
         g_strstr_len (contents, length, "<svg") != NULL &&
         g_strstr_len (contents, length, "</svg>") != NULL;
}

/* What win.export-plot does after its save dialog: the chosen plot, in the
 * chosen format, written off the main thread. */
static void
check_plot_export (ConvolveWindow *self)
{
  g_autofree char *png_path = g_build_filename (tmp_dir, "loss.png", NULL);
  g_autofree char *svg_path = g_build_filename (tmp_dir, "accuracy.svg", NULL);
  g_autofree char *bad_path = g_build_filename (tmp_dir, "no-such-folder", "loss.png", NULL);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(GFile) svg = g_file_new_for_path (svg_path);
  g_autoptr(GFile) bad = g_file_new_for_path (bad_path);
  gboolean done = FALSE;
  cairo_surface_t *image;

  g_assert_true (action_enabled (self, "export-plot"));

  /* a PNG that decodes, of the export size */
  convolve_window_export_plot (self, "loss-png", png);
  g_assert_true (iterate_until (png_written, png_path));
  image = cairo_image_surface_create_from_png (png_path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (image), >=, 640);
  cairo_surface_destroy (image);

  /* an SVG document */
  convolve_window_export_plot (self, "accuracy-svg", svg);
  g_assert_true (iterate_until (svg_written, svg_path));

  /* A folder that is not there: a toast, and no file. */
  convolve_window_export_plot (self, "loss-png", bad);
  g_timeout_add (300, set_done, &done);
  g_assert_true (iterate_until (file_idle, &done));
  g_assert_false (g_file_test (bad_path, G_FILE_TEST_EXISTS));

  g_assert_cmpint (g_remove (png_path), ==, 0);
  g_assert_cmpint (g_remove (svg_path), ==, 0);
}

static void
test_window_train (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "train", 2400, 200);
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(ConvolveSampleRef) ref = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  StallProbe probe = { 0, 0 };
  ConvolveWindow *self;
  guint probe_id;
  gint64 steps_per_epoch;
  const float *before;
  float before_copy[10];
  const float *after;
  guint n_classes = 0;
  gboolean changed = FALSE;

  reset_settings ();
  g_settings_set_int (settings, "epochs", 2);
  g_settings_set_int (settings, "augment-epochs", 1);
  g_settings_set_int (settings, "batch-size", 16);
  g_settings_set_int (settings, "prediction-interval", 20);
  g_settings_set_int (settings, "threads", 1);
  self = open_window_with (dir);

  /* A sample in the predictor, predicted by the untrained model. */
  ref = convolve_sample_ref_new (convolve_session_get_train (convolve_window_get_session (self)), 3);
  g_value_init (&value, CONVOLVE_TYPE_SAMPLE_REF);
  g_value_set_boxed (&value, ref);
  g_assert_true (convolve_predictor_load_value (self->predictor, &value));
  g_assert_true (iterate_until (snapshots_settled, self));
  before = convolve_predictor_get_probabilities (self->predictor, &n_classes);
  g_assert_cmpuint (n_classes, ==, 10);
  memcpy (before_copy, before, sizeof before_copy);

  probe_id = g_timeout_add (5, stall_probe_tick, &probe);

  {
    gint64 start = g_get_monotonic_time ();

    g_action_group_activate_action (G_ACTION_GROUP (self), "train", NULL);
    g_test_message ("starting the run took %.1f ms on the main thread",
                    (g_get_monotonic_time () - start) / 1000.0);
  }
  /* The trainer is built on a worker thread; meanwhile nothing else starts. */
  g_assert_true (convolve_session_is_training (convolve_window_get_session (self)));
  g_assert_null (convolve_session_get_trainer (convolve_window_get_session (self)));
  g_assert_false (action_enabled (self, "train"));
  g_assert_true (iterate_until (run_started, self));
  g_assert_false (action_enabled (self, "train"));
  g_assert_false (action_enabled (self, "new-model"));
  g_assert_false (action_enabled (self, "open-model"));
  g_assert_false (action_enabled (self, "open-dataset-folder"));
  g_assert_true (action_enabled (self, "save-model"));

  /* Pause and resume while it runs. */
  g_assert_true (iterate_until (run_has_steps, self));
  if (!run_final (self))
    {
      g_assert_true (action_enabled (self, "pause"));
      g_assert_true (action_enabled (self, "stop"));
      g_action_group_activate_action (G_ACTION_GROUP (self), "pause", NULL);
      /* (the run may end before the pause takes effect) */
      g_assert_true (iterate_until (run_paused, self));
      if (convolve_session_get_progress (convolve_window_get_session (self))->state == CONVOLVE_TRAINER_PAUSED)
        {
          g_assert_true (action_enabled (self, "resume"));
          g_assert_false (action_enabled (self, "pause"));
          g_assert_true (action_enabled (self, "stop"));
          g_action_group_activate_action (G_ACTION_GROUP (self), "resume", NULL);
        }
    }

  g_assert_true (iterate_until (run_final, self));
  g_source_remove (probe_id);

  g_test_message ("max main-loop stall during training: %.1f ms (run of %.1f s)",
                  probe.max_gap / 1000.0, convolve_session_get_progress (convolve_window_get_session (self))->elapsed_seconds);
  /* A loose sanity bound: the main loop never waits for the trainer, which
   * would stall it for about the whole run. Half the run (at least 2 s),
   * because the run itself is slower where everything is slower (a
   * sanitizer build beside another test on two cores stalled 1.1 s). */
  g_assert_cmpint (probe.max_gap, <,
                   MAX (2 * G_USEC_PER_SEC,
                        convolve_session_get_progress (convolve_window_get_session (self))->elapsed_seconds
                        * G_USEC_PER_SEC / 2));

  g_assert_cmpint (convolve_session_get_progress (convolve_window_get_session (self))->state, ==, CONVOLVE_TRAINER_FINISHED);
  steps_per_epoch = (2400 + 15) / 16;
  g_assert_cmpint (convolve_session_get_progress (convolve_window_get_session (self))->global_step, ==, 3 * steps_per_epoch);
  g_assert_cmpuint (convolve_plot_get_n_points (self->loss_plot, "train-batch"), ==, 3 * steps_per_epoch);
  g_assert_cmpuint (convolve_plot_get_n_points (self->accuracy_plot, "train-batch"), ==, 3 * steps_per_epoch);
  g_assert_cmpuint (convolve_plot_get_n_points (self->loss_plot, "train-epoch"), ==, 3);
  g_assert_cmpuint (convolve_plot_get_n_points (self->accuracy_plot, "val-epoch"), ==, 3);
  g_assert_true (convolve_session_get_progress (convolve_window_get_session (self))->has_validation);
  g_assert_true (isfinite (convolve_session_get_progress (convolve_window_get_session (self))->val_accuracy));

  /* After the run: train again, save, export; no pause or stop. */
  g_assert_true (action_enabled (self, "train"));
  g_assert_true (action_enabled (self, "new-model"));
  g_assert_true (action_enabled (self, "export-history"));
  g_assert_false (action_enabled (self, "pause"));
  g_assert_false (action_enabled (self, "stop"));

  check_plot_export (self);

  /* The best epoch saves as a model of its own; the Runs page lists the
   * run as it ended. */
  {
    g_autofree char *best = g_build_filename (tmp_dir, "best.safetensors", NULL);
    g_autoptr(GFile) file = g_file_new_for_path (best);
    g_autoptr(ConvolveModel) loaded = NULL;
    g_autoptr(GError) error = NULL;
    gint64 id = convolve_session_get_run_id (convolve_window_get_session (self));
    gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

    g_assert_true (action_enabled (self, "save-best-model"));
    convolve_window_save_best_model (self, file);
    while (!g_file_test (best, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);
    loaded = convolve_model_load (best, 1, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (loaded);
    g_unlink (best);

    g_assert_cmpint (id, >, 0);
    for (gboolean listed = FALSE; !listed;)
      {
        GListModel *runs = convolve_runs_page_get_runs (self->runs_page);

        for (guint i = 0; i < g_list_model_get_n_items (runs) && !listed; i++)
          {
            g_autoptr(GObject) row = g_list_model_get_item (runs, i);
            g_autofree char *status = NULL;
            gint64 row_id;

            g_object_get (row, "id", &row_id, "status", &status, NULL);
            listed = row_id == id && g_strcmp0 (status, "Finished") == 0;
          }
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, FALSE);
        g_usleep (1000);
      }
  }

  /* The predictor got the trained weights and predicted again. */
  g_assert_true (iterate_until (snapshots_settled, self));
  after = convolve_predictor_get_probabilities (self->predictor, NULL);
  g_assert_nonnull (after);
  for (guint i = 0; i < 10; i++)
    changed |= fabsf (after[i] - before_copy[i]) > 1e-6f;
  g_assert_true (changed);

  /* The evaluation page shows the last epoch's test-set evaluation; a
   * cell leads to exactly those images in the grid, on the Training view. */
  {
    const ConvolveEvaluation *evaluation = convolve_session_get_evaluation (convolve_window_get_session (self));
    guint count;

    g_assert_nonnull (evaluation);
    g_assert_cmpuint (evaluation->n_images, ==, 200);
    g_action_group_activate_action (G_ACTION_GROUP (self), "show-view", g_variant_new_string ("evaluation"));
    g_assert_cmpstr (adw_view_stack_get_visible_child_name (self->view_stack), ==, "evaluation");
    count = convolve_evaluation_get_confusion (evaluation, 3, 3);
    g_signal_emit_by_name (self->evaluation_page, "show-images", 3, 3);
    g_assert_cmpstr (adw_view_stack_get_visible_child_name (self->view_stack), ==, "training");
    g_assert_true (convolve_sample_grid_get_showing_subset (self->sample_grid));
    g_assert_cmpuint (convolve_sample_grid_get_n_shown (self->sample_grid), ==, count);
    g_signal_emit_by_name (self->evaluation_page, "show-top-losses");
    g_assert_cmpuint (convolve_sample_grid_get_n_shown (self->sample_grid), ==, 200);
    g_assert_cmpstr (convolve_sample_grid_get_subset_title (self->sample_grid), ==, "Top Losses");
    convolve_sample_grid_show_all (self->sample_grid);
    g_assert_false (convolve_sample_grid_get_showing_subset (self->sample_grid));
    /* Evaluating again on request gives the same numbers for the same weights. */
    g_assert_true (action_enabled (self, "evaluate"));
  }

  /* New drops the run. */
  g_action_group_activate_action (G_ACTION_GROUP (self), "new-model", NULL);
  g_assert_null (convolve_session_get_trainer (convolve_window_get_session (self)));
  g_assert_nonnull (convolve_session_get_model (convolve_window_get_session (self)));
  g_assert_cmpuint (convolve_plot_get_n_points (self->loss_plot, "train-batch"), ==, 0);
  g_assert_false (action_enabled (self, "export-history"));
  g_assert_false (action_enabled (self, "export-plot"));

  close_window (self);
}

/* Lets the worker threads finish: file work has no progress to wait on,
 * so poll for its visible result. */
static void
wait_for (gboolean (*done) (gpointer), gpointer data)
{
  g_assert_true (iterate_until (done, data));
}

typedef struct {
  ConvolveWindow *window;
  const char     *expected_path;
} PathWait;

static gboolean
model_path_is (gpointer data)
{
  PathWait *wait = data;

  return g_strcmp0 (convolve_session_get_model_path (convolve_window_get_session (wait->window)), wait->expected_path) == 0;
}

static void
test_window_model_files (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "files", 40, 10);
  g_autofree char *path = g_build_filename (tmp_dir, "model.safetensors", NULL);
  g_autofree char *garbage = g_build_filename (tmp_dir, "garbage.safetensors", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) garbage_file = g_file_new_for_path (garbage);
  ConvolveWindow *self;
  PathWait wait;
  gsize n_params;
  float first_weight;
  gboolean done = FALSE;

  reset_settings ();
  self = open_window_with (dir);
  g_assert_null (convolve_session_get_model_path (convolve_window_get_session (self)));
  first_weight = convolve_model_get_params (convolve_session_get_model (convolve_window_get_session (self)), &n_params)[0];

  convolve_window_save_model (self, file);
  wait = (PathWait) { self, path };
  wait_for (model_path_is, &wait);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  /* A new model has other weights (another seed) and no file... */
  {
    g_autoptr(GSettings) settings = g_settings_new (APP_ID);
    g_settings_set_uint (settings, "seed", 7);
  }
  g_action_group_activate_action (G_ACTION_GROUP (self), "new-model", NULL);
  g_assert_null (convolve_session_get_model_path (convolve_window_get_session (self)));
  g_assert_true (convolve_model_get_params (convolve_session_get_model (convolve_window_get_session (self)), &n_params)[0] != first_weight);

  /* ...and opening the saved one brings its weights back. */
  convolve_window_open_model (self, file);
  wait_for (model_path_is, &wait);
  g_assert_true (convolve_model_get_params (convolve_session_get_model (convolve_window_get_session (self)), &n_params)[0] == first_weight);

  /* A damaged file leaves the current model alone. */
  g_assert_true (g_file_set_contents (garbage, "not a model at all", -1, NULL));
  convolve_window_open_model (self, garbage_file);
  g_timeout_add (300, set_done, &done);
  wait_for (file_idle, &done);
  g_assert_cmpstr (convolve_session_get_model_path (convolve_window_get_session (self)), ==, path);

  close_window (self);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_IS_REGULAR);
}

/* Model > Export as ONNX once the file is chosen: the current weights
 * with the dataset's shape and class names, written off the main thread. */
static void
test_window_export_onnx (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "onnx", 40, 10);
  g_autofree char *path = g_build_filename (tmp_dir, "model.onnx", NULL);
  g_autofree char *nowhere = g_build_filename (tmp_dir, "missing", "model.onnx", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) nowhere_file = g_file_new_for_path (nowhere);
  g_autofree char *contents = NULL;
  gsize length = 0;
  Onnx__ModelProto *proto;
  const Onnx__TensorShapeProto *shape;
  gboolean done = FALSE;
  ConvolveWindow *self;

  reset_settings ();
  self = open_window_with (dir);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (self), "export-onnx"));

  convolve_window_export_onnx (self, file);
  wait_for (file_exists, path);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  proto = onnx__model_proto__unpack (NULL, length, (const guint8 *) contents);
  g_assert_nonnull (proto);
  shape = proto->graph->input[0]->type->tensor_type->shape;
  g_assert_cmpuint (shape->n_dim, ==, 4);
  g_assert_cmpstr (shape->dim[0]->dim_param, ==, "N");
  g_assert_cmpint (shape->dim[1]->dim_value, ==, 3);
  g_assert_cmpint (shape->dim[2]->dim_value, ==, 32);
  for (size_t i = 0; i < proto->n_metadata_props; i++)
    if (g_strcmp0 (proto->metadata_props[i]->key, "class_names") == 0)
      g_assert_nonnull (strstr (proto->metadata_props[i]->value, test_cifar_class_names[0]));
  onnx__model_proto__free_unpacked (proto, NULL);

  /* A folder that does not exist: an error, no file, the window goes on. */
  convolve_window_export_onnx (self, nowhere_file);
  g_timeout_add (300, set_done, &done);
  wait_for (file_idle, &done);
  g_assert_false (g_file_test (nowhere, G_FILE_TEST_EXISTS));

  close_window (self);
}

static gboolean
download_ended (gpointer data)
{
  return !convolve_dataset_page_is_downloading (data);
}

static void
test_window_download_failure (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "download", 30, 10);
  ConvolveDownload *download;
  GtkStack *page_stack;
  AdwStatusPage *failed_page;
  GtkWidget *back_button;
  ConvolveWindow *self;

  reset_settings ();
  self = open_window_with (dir);

  /* Nothing listens on port 1 of this machine: the connection is refused. */
  download = convolve_dataset_page_get_download (self->dataset_page);
  convolve_download_set_url (download, "http://127.0.0.1:1/cifar-10-binary.tar.gz");
  convolve_download_set_retries (download, 0, 10);

  g_action_group_activate_action (G_ACTION_GROUP (self), "download-dataset", NULL);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (self->main_stack), ==, "dataset");
  g_assert_true (convolve_dataset_page_is_downloading (self->dataset_page));
  g_assert_true (iterate_until (download_ended, self->dataset_page));

  page_stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (self->dataset_page), CONVOLVE_TYPE_DATASET_PAGE, "stack"));
  failed_page = ADW_STATUS_PAGE (gtk_widget_get_template_child (GTK_WIDGET (self->dataset_page), CONVOLVE_TYPE_DATASET_PAGE, "failed_page"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (page_stack), ==, "failed");
  g_assert_cmpstr (adw_status_page_get_description (failed_page), !=, "");
  g_test_message ("download failure shown as: %s", adw_status_page_get_description (failed_page));

  /* Back leads to the dataset already open. */
  back_button = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (self->dataset_page), CONVOLVE_TYPE_DATASET_PAGE, "back_button"));
  g_signal_emit_by_name (back_button, "clicked");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (self->main_stack), ==, "workspace");

  close_window (self);
}

static void
test_sample_view (void)
{
  const char *names[] = { "zero", "one", NULL };
  g_autoptr(ConvolveDataset) dataset = convolve_dataset_new ("tiny", 3, 1, 4, 4, names);
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveSession) session = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 1, 4, 4 };
  ConvolveSampleView *view;

  convolve_dataset_get_labels_mutable (dataset)[1] = 1;
  spec = convolve_model_spec_parse ("flatten,dense(2,softmax)", &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &shape, 1, 1, &error);
  g_assert_no_error (error);

  session = convolve_session_new ();
  g_assert_true (convolve_session_set_model (session, g_steal_pointer (&model), NULL, NULL, NULL));
  view = g_object_ref (convolve_sample_view_new (NULL, dataset, 1, session));
  gtk_window_present (GTK_WINDOW (view));
  g_assert_cmpuint (convolve_sample_view_get_index (view), ==, 1);
  /* counted from 1, like the grid and the predictor */
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (view)), ==, "Sample 2");
  g_assert_cmpint (convolve_sample_view_get_predicted_class (view), >=, 0);
  g_assert_cmpint (convolve_sample_view_get_predicted_class (view), <, 2);
  gtk_widget_activate_action (GTK_WIDGET (view), "sample.next", NULL);
  g_assert_cmpuint (convolve_sample_view_get_index (view), ==, 2);
  gtk_widget_activate_action (GTK_WIDGET (view), "sample.next", NULL);
  g_assert_cmpuint (convolve_sample_view_get_index (view), ==, 2);
  gtk_widget_activate_action (GTK_WIDGET (view), "sample.previous", NULL);
  g_assert_cmpuint (convolve_sample_view_get_index (view), ==, 1);
  gtk_window_destroy (GTK_WINDOW (view));
  g_assert_finalize_object (view);

  /* Without a model there is no prediction. */
  view = g_object_ref (convolve_sample_view_new (NULL, dataset, 0, NULL));
  g_assert_cmpint (convolve_sample_view_get_predicted_class (view), ==, -1);
  gtk_window_destroy (GTK_WINDOW (view));
  g_assert_finalize_object (view);
}

static void
test_preferences (void)
{
  ConvolvePreferencesWindow *preferences;

  reset_settings ();
  preferences = g_object_ref (convolve_preferences_window_new (NULL));
  gtk_window_present (GTK_WINDOW (preferences));
  gtk_window_destroy (GTK_WINDOW (preferences));
  g_assert_finalize_object (preferences);
}

static void
test_shortcuts_window (void)
{
  g_autoptr(GtkBuilder) builder = gtk_builder_new_from_resource ("/io/github/convolve/Convolve/gtk/help-overlay.ui");
  GObject *overlay = gtk_builder_get_object (builder, "help_overlay");

  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (overlay));
  gtk_window_destroy (GTK_WINDOW (overlay));
}

/* The early-stopping rows feed the run's configuration. */
static void
test_training_panel_early_stopping (void)
{
  GtkWidget *panel;
  GtkAdjustment *patience;
  AdwComboRow *monitor;
  GtkSwitch *restore;
  GtkWidget *settings_group, *group;
  ConvolveTrainConfig config;

  reset_settings ();
  panel = g_object_ref_sink (convolve_training_panel_new ());
  patience = GTK_ADJUSTMENT (gtk_widget_get_template_child (panel, CONVOLVE_TYPE_TRAINING_PANEL, "patience_adjustment"));
  monitor = ADW_COMBO_ROW (gtk_widget_get_template_child (panel, CONVOLVE_TYPE_TRAINING_PANEL, "monitor_row"));
  restore = GTK_SWITCH (gtk_widget_get_template_child (panel, CONVOLVE_TYPE_TRAINING_PANEL, "restore_best_switch"));
  settings_group = GTK_WIDGET (gtk_widget_get_template_child (panel, CONVOLVE_TYPE_TRAINING_PANEL, "settings_group"));
  group = GTK_WIDGET (gtk_widget_get_template_child (panel, CONVOLVE_TYPE_TRAINING_PANEL, "early_stopping_group"));

  convolve_train_config_init (&config);
  convolve_training_panel_get_config (CONVOLVE_TRAINING_PANEL (panel), &config);
  g_assert_cmpint (config.early_stopping_patience, ==, 0);
  g_assert_cmpint (config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_LOSS);
  g_assert_false (config.restore_best_weights);

  gtk_adjustment_set_value (patience, 3);
  adw_combo_row_set_selected (monitor, 1);
  gtk_switch_set_active (restore, TRUE);
  convolve_training_panel_get_config (CONVOLVE_TRAINING_PANEL (panel), &config);
  g_assert_cmpint (config.early_stopping_patience, ==, 3);
  g_assert_cmpint (config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_ACCURACY);
  g_assert_true (config.restore_best_weights);
  g_assert_true (config.restore_best_at_end);
  g_assert_true (convolve_train_config_validate (&config, NULL));

  /* Locked with the other settings while a run goes on. */
  gtk_widget_set_sensitive (settings_group, FALSE);
  g_assert_false (gtk_widget_get_sensitive (group));
  gtk_widget_set_sensitive (settings_group, TRUE);
  g_assert_true (gtk_widget_get_sensitive (group));

  /* Kept in GSettings, so the next start (a new panel) has them. */
  {
    g_autoptr(GSettings) settings = g_settings_new (APP_ID);
    g_autofree char *monitor_name = g_settings_get_string (settings, "early-stopping-monitor");

    g_assert_cmpint (g_settings_get_int (settings, "early-stopping-patience"), ==, 3);
    g_assert_cmpstr (monitor_name, ==, "val_accuracy");
    g_assert_true (g_settings_get_boolean (settings, "restore-best-weights"));
  }
  g_assert_finalize_object (panel);

  panel = g_object_ref_sink (convolve_training_panel_new ());
  convolve_train_config_init (&config);
  convolve_training_panel_get_config (CONVOLVE_TRAINING_PANEL (panel), &config);
  g_assert_cmpint (config.early_stopping_patience, ==, 3);
  g_assert_cmpint (config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_ACCURACY);
  g_assert_true (config.restore_best_weights);

  /* ... and a change there reaches the panel. */
  {
    g_autoptr(GSettings) settings = g_settings_new (APP_ID);

    g_settings_set_int (settings, "early-stopping-patience", 0);
    g_settings_set_string (settings, "early-stopping-monitor", "val_loss");
    g_settings_set_boolean (settings, "restore-best-weights", FALSE);
  }
  monitor = ADW_COMBO_ROW (gtk_widget_get_template_child (panel, CONVOLVE_TYPE_TRAINING_PANEL, "monitor_row"));
  g_assert_cmpuint (adw_combo_row_get_selected (monitor), ==, 0);
  convolve_training_panel_get_config (CONVOLVE_TRAINING_PANEL (panel), &config);
  g_assert_cmpint (config.early_stopping_patience, ==, 0);
  g_assert_cmpint (config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_LOSS);
  g_assert_false (config.restore_best_weights);
  g_assert_finalize_object (panel);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* Datasets are discovered under the home and data folders: keep them
   * empty so only the generated ones appear. */
  tmp_dir = g_dir_make_tmp ("convolve-test-window-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("HOME", tmp_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  /* The style sheets the application loads (its sizes matter to the
   * layout test). */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

      gtk_css_provider_load_from_resource (css, i == 0 ? "/io/github/convolve/Convolve/style.css"
                                                       : "/io/github/convolve/Convolve/convolve-widgets.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    }

  g_test_add_func ("/app/window/open", test_window_open);
  g_test_add_func ("/app/window/layout", test_window_layout);
  g_test_add_func ("/app/window/no-dataset", test_window_no_dataset);
  g_test_add_func ("/app/window/bad-dataset", test_window_bad_dataset);
  g_test_add_func ("/app/window/train", test_window_train);
  g_test_add_func ("/app/window/model-files", test_window_model_files);
  g_test_add_func ("/app/window/export-onnx", test_window_export_onnx);
  g_test_add_func ("/app/window/download-failure", test_window_download_failure);
  g_test_add_func ("/app/sample-view", test_sample_view);
  g_test_add_func ("/app/preferences", test_preferences);
  g_test_add_func ("/app/training-panel/early-stopping", test_training_panel_early_stopping);
  g_test_add_func ("/app/shortcuts-window", test_shortcuts_window);

  status = g_test_run ();
  test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
