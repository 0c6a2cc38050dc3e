/* convolve-window.c: the main window's layout, datasets (discovery, the
 * switcher, loading off the main thread) and remembered settings. Model
 * files live in convolve-window-actions.c, training in
 * convolve-window-training.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-sample-view.h"
#include "convolve-window-private.h"

G_DEFINE_FINAL_TYPE (ConvolveWindow, convolve_window, ADW_TYPE_APPLICATION_WINDOW)

/* Below this width the sample grid, predictor and plots stack vertically. */
#define NARROW_WIDTH 1100
/* Below this width the view switcher moves from the header to the bottom. */
#define SWITCHER_BAR_WIDTH 860
/* The plots' height when stacked below the samples; beside them, they
 * share the height the predictor leaves. */
#define PLOT_HEIGHT_NARROW 260

ConvolveWindow *
convolve_window_new (ConvolveApplication *application)
{
  return g_object_new (CONVOLVE_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

ConvolveSession *
convolve_window_get_session (ConvolveWindow *self)
{
  g_return_val_if_fail (CONVOLVE_IS_WINDOW (self), NULL);
  return self->session;
}

void
convolve_window_show_error (ConvolveWindow *self,
                            const char     *message)
{
  AdwToast *toast;

  g_return_if_fail (CONVOLVE_IS_WINDOW (self));

  toast = adw_toast_new (message);
  {
    /* Errors name files and say why at the end: wrapped, not cut off. */
    GtkWidget *label = gtk_label_new (message);

    gtk_label_set_wrap (GTK_LABEL (label), TRUE);
    gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
    gtk_label_set_max_width_chars (GTK_LABEL (label), 80);
    gtk_label_set_xalign (GTK_LABEL (label), 0.0);
    gtk_widget_add_css_class (label, "heading");
    adw_toast_set_custom_title (toast, label);
  }
  adw_toast_set_timeout (toast, 8);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* The discovered location's display name ("Fashion-MNIST"), else the
 * dataset's own. */
static const char *
dataset_title (ConvolveWindow *self)
{
  for (guint i = 0; self->locations != NULL && i < self->locations->len; i++)
    {
      ConvolveDatasetLocation *location = g_ptr_array_index (self->locations, i);

      if (g_strcmp0 (location->path, convolve_session_get_dataset_path (self->session)) == 0)
        return location->title;
    }
  return convolve_format_dataset_name (convolve_dataset_get_name (convolve_session_get_train (self->session)));
}

void
convolve_window_update_title (ConvolveWindow *self)
{
  g_autoptr(GString) subtitle = g_string_new (NULL);

  const char *model_path = convolve_session_get_model_path (self->session);

  if (convolve_session_get_train (self->session) != NULL)
    g_string_append (subtitle, dataset_title (self));

  if (convolve_session_has_model (self->session))
    {
      if (subtitle->len > 0)
        g_string_append (subtitle, " — ");
      if (model_path != NULL)
        {
          g_autofree char *name = g_path_get_basename (model_path);
          g_string_append (subtitle, name);
        }
      else
        g_string_append (subtitle, _("Unsaved Model"));
    }

  adw_window_title_set_subtitle (self->window_title, subtitle->str);
}

char *
convolve_window_dup_spec_text (ConvolveWindow *self)
{
  return g_settings_get_string (self->settings, "model-spec");
}

guint64
convolve_window_get_seed (ConvolveWindow *self)
{
  return g_settings_get_uint (self->settings, "seed");
}

GWeakRef *
convolve_weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, object);
  return ref;
}

gpointer
convolve_weak_ref_steal (GWeakRef *ref)
{
  gpointer object = g_weak_ref_get (ref);

  g_weak_ref_clear (ref);
  g_free (ref);
  return object;
}

/* ---- datasets ---------------------------------------------------------- */

static void visible_page_changed_cb (ConvolveWindow *self);

/* Training or Evaluation: in the header, or at the bottom of narrow
 * windows; only beside a dataset. */
static void
update_switcher (ConvolveWindow *self)
{
  gboolean workspace = g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") == 0;
  int width = 0, height = 0;
  gboolean bar;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  bar = width > 0 && width < SWITCHER_BAR_WIDTH;
  gtk_widget_set_visible (GTK_WIDGET (self->view_switcher), workspace && !bar);
  adw_view_switcher_bar_set_reveal (self->view_switcher_bar, workspace && bar);
}

static void
select_dataset_in_dropdown (ConvolveWindow *self,
                            const char     *path)
{
  guint found = GTK_INVALID_LIST_POSITION;

  /* Changing the list makes the dropdown select on its own: none of
   * that is the user picking a dataset. */
  g_signal_handler_block (self->dataset_dropdown, self->dropdown_handler);

  for (guint i = 0; i < self->locations->len; i++)
    {
      ConvolveDatasetLocation *location = g_ptr_array_index (self->locations, i);

      if (g_strcmp0 (location->path, path) == 0)
        {
          found = i;
          break;
        }
    }

  if (found == GTK_INVALID_LIST_POSITION && path != NULL)
    {
      /* A folder opened by hand joins the list. */
      ConvolveDatasetLocation *location = g_new0 (ConvolveDatasetLocation, 1);
      g_autofree char *name = g_path_get_basename (path);

      location->id = g_strdup ("folder");
      ConvolveDataset *train = convolve_session_get_train (self->session);

      location->title = g_strdup (train != NULL ? convolve_format_dataset_name (convolve_dataset_get_name (train)) : name);
      location->path = g_strdup (path);
      location->origin = g_strdup (path);
      g_ptr_array_add (self->locations, location);
      gtk_string_list_append (self->dataset_list, location->title);
      found = self->locations->len - 1;
    }

  gtk_drop_down_set_selected (self->dataset_dropdown, found);
  g_signal_handler_unblock (self->dataset_dropdown, self->dropdown_handler);
  visible_page_changed_cb (self);
}

static void
show_main_page (ConvolveWindow *self)
{
  gtk_spinner_stop (self->loading_spinner);
  if (convolve_session_get_train (self->session) != NULL)
    gtk_stack_set_visible_child_name (self->main_stack, "workspace");
  else
    gtk_stack_set_visible_child_name (self->main_stack, "dataset");
}

/* The switcher and the panel toggle only make sense beside a dataset. */
static void
visible_page_changed_cb (ConvolveWindow *self)
{
  gboolean workspace = g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") == 0;

  gtk_widget_set_visible (GTK_WIDGET (self->dataset_dropdown), workspace && self->locations->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->sidebar_button), workspace);
  update_switcher (self);
}

static void
dataset_opened_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;
  gboolean ok = convolve_session_open_dataset_finish (CONVOLVE_SESSION (source), result, &error);

  /* A newer load replaced this one; it will show its own outcome. */
  if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  convolve_window_import_done (self, ok);
  /* Cancelled on purpose: the dataset there was stays, no error. */
  if (g_error_matches (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED))
    ;
  else if (!ok)
    {
      /* Translators: the dataset could not be opened; %s says why */
      g_autofree char *message = g_strdup_printf (_("Could not open the dataset: %s"), error->message);
      convolve_window_show_error (self, message);
    }
  else
    g_settings_set_string (self->settings, "last-dataset-path",
                           convolve_session_get_dataset_path (self->session));

  select_dataset_in_dropdown (self, convolve_session_get_dataset_path (self->session));
  convolve_window_update_title (self);
  convolve_window_update_actions (self);
  show_main_page (self);
}

void
convolve_window_open_dataset (ConvolveWindow *self,
                              const char     *folder)
{
  g_autofree char *spec_text = NULL;

  g_return_if_fail (CONVOLVE_IS_WINDOW (self));
  g_return_if_fail (folder != NULL);

  if (convolve_session_is_training (self->session))
    {
      convolve_window_show_error (self, _("Stop training before opening another dataset"));
      select_dataset_in_dropdown (self, convolve_session_get_dataset_path (self->session));
      return;
    }

  /* Only the first load hides the workspace; later ones keep it visible. */
  if (convolve_session_get_train (self->session) == NULL)
    {
      gtk_spinner_start (self->loading_spinner);
      gtk_stack_set_visible_child_name (self->main_stack, "loading");
    }

  spec_text = convolve_window_dup_spec_text (self);
  convolve_window_apply_import_settings (self);
  convolve_session_open_dataset_async (self->session, folder, spec_text, convolve_window_get_seed (self),
                                       self->cancellable, dataset_opened_cb, convolve_weak_ref_new (self));
}

static void
datasets_changed_cb (ConvolveWindow *self)
{
  convolve_sample_grid_set_datasets (self->sample_grid, convolve_session_get_train (self->session),
                                     convolve_session_get_test (self->session));
  convolve_window_update_title (self);
}

static void discover_datasets (ConvolveWindow *self);

static void
dataset_selected_cb (ConvolveWindow *self)
{
  guint selected = gtk_drop_down_get_selected (self->dataset_dropdown);
  ConvolveDatasetLocation *location;

  if (selected >= self->locations->len)
    return;
  location = g_ptr_array_index (self->locations, selected);
  if (g_strcmp0 (location->path, convolve_session_get_dataset_path (self->session)) != 0)
    convolve_window_open_dataset (self, location->path);
}

static void
dataset_page_chosen_cb (ConvolveWindow *self,
                        const char     *folder)
{
  /* A finished download is a new place to list. */
  discover_datasets (self);
  convolve_window_open_dataset (self, folder);
}

/* The page went back without a new dataset (a cancelled or failed
 * download): show the one we have, if any. */
static void
dataset_page_cancelled_cb (ConvolveWindow *self)
{
  show_main_page (self);
}

static void
setup_location_item_cb (GtkSignalListItemFactory *factory,
                        GtkListItem              *item,
                        gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *origin = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_xalign (GTK_LABEL (origin), 0);
  gtk_label_set_ellipsize (GTK_LABEL (origin), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (origin), 40);
  gtk_widget_add_css_class (origin, "caption");
  gtk_widget_add_css_class (origin, "dim-label");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), origin);
  gtk_list_item_set_child (item, box);
}

static void
bind_location_item_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       gpointer                  user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *title = gtk_widget_get_first_child (box);
  GtkWidget *origin = gtk_widget_get_next_sibling (title);
  guint position = gtk_list_item_get_position (item);
  ConvolveDatasetLocation *location;

  if (position >= self->locations->len)
    return;
  location = g_ptr_array_index (self->locations, position);
  gtk_label_set_label (GTK_LABEL (title), location->title);
  gtk_label_set_label (GTK_LABEL (origin), location->origin);
  gtk_widget_set_tooltip_text (box, location->path);
}

static void
discover_datasets (ConvolveWindow *self)
{
  g_autoptr(GPtrArray) found = convolve_dataset_discover (NULL);
  const char *alternative_title = NULL;
  const char *alternative_path = NULL;
  g_autoptr(GPtrArray) titles = g_ptr_array_new ();

  g_clear_pointer (&self->locations, g_ptr_array_unref);
  self->locations = g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_dataset_location_free);
  for (guint i = 0; i < found->len; i++)
    {
      ConvolveDatasetLocation *location = g_ptr_array_index (found, i);

      g_ptr_array_add (titles, location->title);
      if (alternative_path == NULL && g_strcmp0 (location->id, "cifar10") != 0)
        {
          alternative_title = location->title;
          alternative_path = location->path;
        }
    }
  g_ptr_array_add (titles, NULL);

  g_signal_handler_block (self->dataset_dropdown, self->dropdown_handler);
  gtk_string_list_splice (self->dataset_list, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->dataset_list)),
                          (const char * const *) titles->pdata);
  g_signal_handler_unblock (self->dataset_dropdown, self->dropdown_handler);

  convolve_dataset_page_set_alternative (self->dataset_page, alternative_title, alternative_path);

  /* The dropdown's items own their strings; the locations move over. */
  g_ptr_array_extend_and_steal (self->locations, g_steal_pointer (&found));
}

static const char *
find_cifar10 (ConvolveWindow *self)
{
  for (guint i = 0; i < self->locations->len; i++)
    {
      ConvolveDatasetLocation *location = g_ptr_array_index (self->locations, i);

      if (g_strcmp0 (location->id, "cifar10") == 0)
        return location->path;
    }
  return NULL;
}

static void
open_initial_dataset (ConvolveWindow *self)
{
  g_autofree char *last = g_settings_get_string (self->settings, "last-dataset-path");
  const char *cifar10;

  if (last[0] != '\0' && g_file_test (last, G_FILE_TEST_IS_DIR))
    {
      convolve_window_open_dataset (self, last);
      return;
    }

  cifar10 = find_cifar10 (self);
  if (cifar10 != NULL)
    convolve_window_open_dataset (self, cifar10);
  else
    show_main_page (self);
}

/* ---- samples and predictions ------------------------------------------- */

static void
sample_activated_cb (ConvolveWindow  *self,
                     gpointer         dataset,
                     guint            index)
{
  GtkWindow *view;

  view = GTK_WINDOW (convolve_sample_view_new (GTK_WINDOW (self), dataset, index, self->session));
  gtk_window_present (view);
}

/* A confusion-matrix cell, a confused pair or Top Losses: those test
 * images in the grid, on the Training view where the predictor is. */
static void
show_evaluation_images (ConvolveWindow *self,
                        int             true_class,
                        int             predicted_class)
{
  const ConvolveEvaluation *evaluation = convolve_session_get_evaluation (self->session);
  ConvolveDataset *test = convolve_session_get_test (self->session);
  const char * const *names = convolve_session_get_class_names (self->session);
  g_autofree char *title = NULL;
  g_autofree char *true_name = convolve_metrics_class_name (names, true_class);
  g_autofree char *predicted_name = convolve_metrics_class_name (names, predicted_class);

  if (evaluation == NULL || test == NULL || evaluation->n_images != convolve_dataset_get_n_images (test))
    return;

  if (true_class < 0 && predicted_class < 0)
    title = g_strdup (_("Top Losses"));
  else if (true_class == predicted_class)
    /* Translators: the test images of one class that the model got right */
    title = g_strdup_printf (_("Correct: %s"), true_name);
  else
    /* Translators: the test images of class %1$s the model took for class %2$s */
    title = g_strdup_printf (_("%1$s taken for %2$s"), true_name, predicted_name);

  convolve_sample_grid_show_evaluation_subset (self->sample_grid, test, evaluation,
                                               true_class, predicted_class, title);
  adw_view_stack_set_visible_child_name (self->view_stack, "training");
}

static void
evaluation_show_images_cb (ConvolveWindow *self,
                           int             true_class,
                           int             predicted_class)
{
  show_evaluation_images (self, true_class, predicted_class);
}

static void
runs_open_model_cb (ConvolveWindow *self,
                    const char     *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  convolve_window_open_model (self, file);
}

static void
resumed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;

  if (!convolve_session_train_finish (CONVOLVE_SESSION (source), result, &error))
    {
      if (self != NULL)
        {
          /* Translators: %s says why, e.g. the run has no checkpoint */
          g_autofree char *message = g_strdup_printf (_("Could not resume the run: %s"), error->message);

          convolve_window_show_error (self, message);
        }
      return;
    }
  if (self != NULL)
    adw_view_stack_set_visible_child_name (self->view_stack, "training");
}

/* The runs page's Resume: the run goes on in this session, on the open
 * dataset, from its last checkpoint. */
static void
runs_resume_run_cb (ConvolveWindow *self,
                    gint64          run_id)
{
  convolve_session_resume_run_async (self->session, run_id, resumed_cb, convolve_weak_ref_new (self));
}

static void
evaluation_show_top_losses_cb (ConvolveWindow *self)
{
  show_evaluation_images (self, -1, -1);
}

static void
predictor_error_cb (ConvolveWindow *self,
                    const char     *message)
{
  convolve_window_show_error (self, message);
}

/* ---- layout and settings ----------------------------------------------- */

static void
update_layout (ConvolveWindow *self)
{
  int width = 0, height = 0;
  gboolean narrow;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  narrow = width > 0 && width < NARROW_WIDTH;
  update_switcher (self);

  if (gtk_orientable_get_orientation (GTK_ORIENTABLE (self->content_box)) ==
      (narrow ? GTK_ORIENTATION_VERTICAL : GTK_ORIENTATION_HORIZONTAL))
    return;
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self->content_box),
                                  narrow ? GTK_ORIENTATION_VERTICAL : GTK_ORIENTATION_HORIZONTAL);
  /* Side by side, half each, so that an image in the predictor does not
   * resize the samples. */
  gtk_box_set_homogeneous (self->content_box, !narrow);
  /* Side by side, everything shrinks to fit the window's height; stacked,
   * it scrolls anyway, so each part gets the height it asks for (full-size
   * samples, taller plots). */
  gtk_scrollable_set_vscroll_policy (GTK_SCROLLABLE (self->content_viewport),
                                     narrow ? GTK_SCROLL_NATURAL : GTK_SCROLL_MINIMUM);
  gtk_widget_set_size_request (GTK_WIDGET (self->loss_plot), -1, narrow ? PLOT_HEIGHT_NARROW : -1);
  gtk_widget_set_size_request (GTK_WIDGET (self->accuracy_plot), -1, narrow ? PLOT_HEIGHT_NARROW : -1);
}

static void
save_window_state (ConvolveWindow *self)
{
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
  if (!gtk_window_is_maximized (GTK_WINDOW (self)) && width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_apply (self->settings);
}

static gboolean
convolve_window_close_request (GtkWindow *window)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (window);

  save_window_state (self);
  convolve_session_shutdown (self->session);

  return GTK_WINDOW_CLASS (convolve_window_parent_class)->close_request (window);
}

static void
smoothing_changed_cb (ConvolveWindow *self)
{
  double smoothing = g_settings_get_double (self->settings, "plot-smoothing");

  convolve_plot_set_smoothing (self->loss_plot, smoothing);
  convolve_plot_set_smoothing (self->accuracy_plot, smoothing);
}

static void
setup_plots (ConvolveWindow *self)
{
  convolve_plot_set_title (self->loss_plot, _("Loss"));
  convolve_plot_set_x_label (self->loss_plot, _("Epoch"));
  convolve_plot_set_empty_text (self->loss_plot, _("Train the model to see its loss"));
  convolve_plot_set_title (self->accuracy_plot, _("Accuracy"));
  convolve_plot_set_x_label (self->accuracy_plot, _("Epoch"));
  convolve_plot_set_empty_text (self->accuracy_plot, _("Train the model to see its accuracy"));
  convolve_plot_set_fixed_y_range (self->accuracy_plot, TRUE);
  convolve_plot_set_y_range (self->accuracy_plot, 0.0, 1.0);

  for (guint i = 0; i < 2; i++)
    {
      ConvolvePlot *plot = i == 0 ? self->loss_plot : self->accuracy_plot;

      /* Short labels keep the legend on one row: the line is the running
       * value over the batches of each epoch, the dots are per epoch. */
      convolve_plot_add_series (plot, "train-batch", _("Training"),
                                CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_SMOOTH, NULL);
      /* Translators: a plot legend: the training value averaged over each epoch */
      convolve_plot_add_series (plot, "train-epoch", _("Epoch average"),
                                CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_MARKERS, NULL);
      convolve_plot_add_series (plot, "val-epoch", _("Validation"),
                                CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_MARKERS, NULL);
    }

  g_signal_connect_object (self->settings, "changed::plot-smoothing",
                           G_CALLBACK (smoothing_changed_cb), self, G_CONNECT_SWAPPED);
  smoothing_changed_cb (self);
}

static void
convolve_window_dispose (GObject *object)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      convolve_session_shutdown (self->session);
    }

  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_WINDOW);

  g_clear_object (&self->session);
  g_clear_pointer (&self->locations, g_ptr_array_unref);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (convolve_window_parent_class)->dispose (object);
}

static void
convolve_window_class_init (ConvolveWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = convolve_window_dispose;
  window_class->close_request = convolve_window_close_request;

  g_type_ensure (CONVOLVE_TYPE_DATASET_PAGE);
  g_type_ensure (CONVOLVE_TYPE_TRAINING_PANEL);
  g_type_ensure (CONVOLVE_TYPE_SAMPLE_GRID);
  g_type_ensure (CONVOLVE_TYPE_PREDICTOR);
  g_type_ensure (CONVOLVE_TYPE_PLOT);
  g_type_ensure (CONVOLVE_TYPE_EVALUATION_PAGE);
  g_type_ensure (CONVOLVE_TYPE_RUNS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, dataset_dropdown);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, dataset_list);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, model_menu_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, loading_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, loading_progress);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, loading_cancel);
  gtk_widget_class_bind_template_callback_full (widget_class, "loading_cancel_cb",
                                                G_CALLBACK (convolve_window_cancel_import));
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, dataset_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, training_panel);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, content_viewport);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, sample_grid);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, predictor);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, loss_plot);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, accuracy_plot);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, view_switcher);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, view_switcher_bar);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, evaluation_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveWindow, runs_page);
  gtk_widget_class_bind_template_callback (widget_class, dataset_page_chosen_cb);
  gtk_widget_class_bind_template_callback (widget_class, dataset_page_cancelled_cb);
  gtk_widget_class_bind_template_callback (widget_class, sample_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, predictor_error_cb);
  gtk_widget_class_bind_template_callback (widget_class, evaluation_show_images_cb);
  gtk_widget_class_bind_template_callback (widget_class, evaluation_show_top_losses_cb);
  gtk_widget_class_bind_template_callback (widget_class, runs_open_model_cb);
  gtk_widget_class_bind_template_callback (widget_class, runs_resume_run_cb);
}

static void
convolve_window_init (ConvolveWindow *self)
{
  GtkListItemFactory *factory;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect_swapped (self, "notify::default-width", G_CALLBACK (update_layout), self);
  update_layout (self);

  /* The popup lists each dataset with where it was found. */
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_location_item_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_location_item_cb), self);
  gtk_drop_down_set_list_factory (self->dataset_dropdown, factory);
  g_object_unref (factory);
  self->dropdown_handler = g_signal_connect_swapped (self->dataset_dropdown, "notify::selected",
                                                     G_CALLBACK (dataset_selected_cb), self);

  g_signal_connect_swapped (self->main_stack, "notify::visible-child-name",
                            G_CALLBACK (visible_page_changed_cb), self);

  self->cancellable = g_cancellable_new ();
  self->session = convolve_session_new ();
  g_signal_connect_object (self->session, "datasets-changed",
                           G_CALLBACK (datasets_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "error",
                           G_CALLBACK (convolve_window_show_error), self, G_CONNECT_SWAPPED);

  setup_plots (self);
  /* The runs page follows the session's runs, in the default store. */
  convolve_runs_page_set_session (self->runs_page, self->session);
  convolve_runs_page_reload (self->runs_page);
  convolve_window_init_actions (self);
  convolve_window_init_training (self);
  convolve_window_init_import (self);

  discover_datasets (self);
  select_dataset_in_dropdown (self, NULL);
  open_initial_dataset (self);

  convolve_window_update_title (self);
  convolve_window_update_actions (self);
}
