/* convolve-window-actions.c: the window's actions (enabled to match what
 * can be done now), model files, history and plot export. File work runs
 * off the main thread; the results come back as toasts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <string.h>

#include "convolve-lr-dialog.h"
#include "convolve-onnx-export.h"
#include "convolve-window-private.h"

#define MODEL_SUFFIX ".safetensors"
#define ONNX_SUFFIX  ".onnx"

static void
set_enabled (ConvolveWindow *self,
             const char     *name,
             gboolean        enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
convolve_window_update_actions (ConvolveWindow *self)
{
  ConvolveSession *session = self->session;
  ConvolveTrainerState state = convolve_session_get_state (session);
  gboolean has_model = convolve_session_has_model (session);
  gboolean has_train = convolve_session_get_train (session) != NULL;
  gboolean training = convolve_session_is_training (session);
  ConvolveHistory *history = convolve_session_get_history (session);
  gboolean has_history = history != NULL && convolve_history_get_n_steps (history) > 0;
  gboolean has_plots = convolve_plot_get_n_points (self->loss_plot, "train-batch") > 0;

  set_enabled (self, "new-model", has_train && !training);
  set_enabled (self, "open-model", !training);
  set_enabled (self, "save-model", has_model);
  set_enabled (self, "save-model-as", has_model);
  set_enabled (self, "export-onnx", has_model);
  set_enabled (self, "save-best-model", convolve_session_get_trainer (session) != NULL);
  set_enabled (self, "export-history", has_history);
  set_enabled (self, "export-plot", has_plots);
  set_enabled (self, "show-summary", has_model);
  set_enabled (self, "open-dataset-folder", !training);
  set_enabled (self, "download-dataset", !training);
  set_enabled (self, "train", has_train && has_model && !training);
  set_enabled (self, "find-learning-rate", has_train && has_model && !training);
  set_enabled (self, "pause", state == CONVOLVE_TRAINER_RUNNING);
  set_enabled (self, "resume", state == CONVOLVE_TRAINER_PAUSED);
  set_enabled (self, "stop", state == CONVOLVE_TRAINER_RUNNING || state == CONVOLVE_TRAINER_PAUSED);
  set_enabled (self, "evaluate", has_model && !training && convolve_session_get_test (session) != NULL &&
                                 !convolve_session_is_evaluating (session));

  gtk_widget_set_sensitive (GTK_WIDGET (self->dataset_dropdown), !training);
}

/* ---- file choosers ------------------------------------------------------- */

static void
add_model_filters (GtkFileChooser *chooser)
{
  g_autoptr(GtkFileFilter) models = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  gtk_file_filter_set_name (models, _("Convolve Models"));
  gtk_file_filter_add_suffix (models, "safetensors");
  gtk_file_chooser_add_filter (chooser, models);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (chooser, all);
}

typedef void (*FileChosenFunc) (ConvolveWindow *self,
                                GFile          *file,
                                const char     *target);

typedef struct {
  GWeakRef       *window;
  FileChosenFunc  func;
  char           *target;
} ChooserData;

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  ChooserData *data = user_data;
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (data->window);

  if (self != NULL && response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        data->func (self, file, data->target);
    }

  g_free (data->target);
  g_free (data);
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
run_chooser (ConvolveWindow       *self,
             GtkFileChooserNative *chooser,
             FileChosenFunc        func,
             const char           *target)
{
  ChooserData *data = g_new0 (ChooserData, 1);

  data->window = convolve_weak_ref_new (self);
  data->func = func;
  data->target = g_strdup (target);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
show_error_prefixed (ConvolveWindow *self,
                     const char     *prefix,
                     const GError   *error)
{
  g_autofree char *message = g_strdup_printf ("%s: %s", prefix, error->message);

  convolve_window_show_error (self, message);
}

/* ---- new and open -------------------------------------------------------- */

static void
new_model_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  g_autoptr(GError) error = NULL;
  g_autofree char *spec_text = convolve_window_dup_spec_text (self);

  if (convolve_session_get_train (self->session) == NULL || convolve_session_is_training (self->session))
    return;

  if (!convolve_session_new_model (self->session, spec_text, convolve_window_get_seed (self), &error))
    {
      show_error_prefixed (self, _("Could not create a model"), error);
      return;
    }
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("New model with fresh weights")));
}

/* A file operation under way for a window that may close meanwhile. */
typedef struct {
  GWeakRef *window;
  char     *path;
} FileRequest;

static FileRequest *
file_request_new (ConvolveWindow *self,
                  const char     *path)
{
  FileRequest *request = g_new0 (FileRequest, 1);

  request->window = convolve_weak_ref_new (self);
  request->path = g_strdup (path);
  return request;
}

/* Frees request; returns the window (a new reference) or NULL, and the
 * file's name. */
static ConvolveWindow *
file_request_end (FileRequest  *request,
                  char        **name)
{
  ConvolveWindow *self = convolve_weak_ref_steal (request->window);

  *name = g_path_get_basename (request->path);
  g_free (request->path);
  g_free (request);
  return self;
}

/* A toast for a model file opened or saved, or why not. */
static void
model_file_done (FileRequest  *request,
                 gboolean      opened,
                 gboolean      ok,
                 const GError *error)
{
  g_autofree char *name = NULL;
  g_autoptr(ConvolveWindow) self = file_request_end (request, &name);
  g_autofree char *message = NULL;

  if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (!ok)
    {
      g_autofree char *prefix = NULL;

      /* "Stop training first" needs no file name. */
      if (g_error_matches (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY))
        {
          convolve_window_show_error (self, error->message);
          return;
        }
      /* Translators: %s is a file name */
      prefix = g_strdup_printf (opened ? _("Could not open “%s”") : _("Could not save “%s”"), name);
      show_error_prefixed (self, prefix, error);
      return;
    }

  /* Translators: %s is a file name */
  message = g_strdup_printf (opened ? _("Opened “%s”") : _("Saved “%s”"), name);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
open_model_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = convolve_session_open_model_finish (CONVOLVE_SESSION (source), result, &error);

  model_file_done (user_data, TRUE, ok, error);
}

void
convolve_window_open_model (ConvolveWindow *self,
                            GFile          *file)
{
  g_autofree char *path = g_file_get_path (file);

  if (path == NULL)
    {
      convolve_window_show_error (self, _("Only local files can be opened"));
      return;
    }
  convolve_session_open_model_async (self->session, path, self->cancellable,
                                     open_model_cb, file_request_new (self, path));
}

static void
open_model_chosen (ConvolveWindow *self,
                   GFile          *file,
                   const char     *target)
{
  convolve_window_open_model (self, file);
}

static void
open_model_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Open Model"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Open"), _("_Cancel"));
  add_model_filters (GTK_FILE_CHOOSER (chooser));
  run_chooser (self, chooser, open_model_chosen, NULL);
}

/* ---- save ---------------------------------------------------------------- */

static void
save_model_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = convolve_session_save_model_finish (CONVOLVE_SESSION (source), result, &error);

  model_file_done (user_data, FALSE, ok, error);
}

void
convolve_window_save_model (ConvolveWindow *self,
                            GFile          *file)
{
  g_autofree char *path = g_file_get_path (file);

  if (path == NULL)
    {
      convolve_window_show_error (self, _("Only local files can be saved"));
      return;
    }
  convolve_session_save_model_async (self->session, path, self->cancellable,
                                     save_model_cb, file_request_new (self, path));
}

static void
save_model_chosen (ConvolveWindow *self,
                   GFile          *file,
                   const char     *target)
{
  convolve_window_save_model (self, file);
}

static void
save_model_as_action (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;

  chooser = gtk_file_chooser_native_new (_("Save Model"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Save"), _("_Cancel"));
  add_model_filters (GTK_FILE_CHOOSER (chooser));
  if (convolve_session_get_model_path (self->session) != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (convolve_session_get_model_path (self->session));
      gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), file, NULL);
    }
  else
    {
      ConvolveDataset *train = convolve_session_get_train (self->session);

      if (train != NULL)
        name = g_strdup_printf ("%s" MODEL_SUFFIX, convolve_dataset_get_name (train));
      else
        name = g_strdup ("model" MODEL_SUFFIX);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
    }
  run_chooser (self, chooser, save_model_chosen, NULL);
}

static void
save_model_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  const char *path = convolve_session_get_model_path (self->session);

  if (path != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);
      convolve_window_save_model (self, file);
    }
  else
    save_model_as_action (action, parameter, user_data);
}

/* ---- the best epoch's weights --------------------------------------------- */

static void
save_best_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  FileRequest *request = g_object_get_data (G_OBJECT (task), "convolve-request");
  GError *error = NULL;

  if (convolve_trainer_save_best (CONVOLVE_TRAINER (source_object), request->path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
save_best_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  model_file_done (user_data, FALSE, ok, error);
}

/* Writes the run's best epoch (kept by the trainer beside the last one)
 * as a plain model file, off the main thread. The session's model path
 * stays what it was: these are not the current weights. */
void
convolve_window_save_best_model (ConvolveWindow *self,
                                 GFile          *file)
{
  ConvolveTrainer *trainer = convolve_session_get_trainer (self->session);
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GTask) task = NULL;
  FileRequest *request;

  if (trainer == NULL)
    return;
  if (path == NULL)
    {
      convolve_window_show_error (self, _("Only local files can be saved"));
      return;
    }
  request = file_request_new (self, path);
  task = g_task_new (trainer, self->cancellable, save_best_cb, request);
  g_task_set_name (task, "convolve-save-best");
  g_object_set_data (G_OBJECT (task), "convolve-request", request);
  g_task_run_in_thread (task, save_best_thread);
}

static void
save_best_chosen (ConvolveWindow *self,
                  GFile          *file,
                  const char     *target)
{
  convolve_window_save_best_model (self, file);
}

static void
save_best_model_action (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  ConvolveTrainer *trainer = convolve_session_get_trainer (self->session);
  ConvolveDataset *train = convolve_session_get_train (self->session);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;

  if (trainer == NULL)
    return;
  if (convolve_trainer_get_best_epoch (trainer) == 0)
    {
      convolve_window_show_error (self, _("No epoch was validated yet: there is no best epoch to save"));
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Save Best Epoch"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Save"), _("_Cancel"));
  add_model_filters (GTK_FILE_CHOOSER (chooser));
  name = g_strdup_printf ("%s-best" MODEL_SUFFIX, train != NULL ? convolve_dataset_get_name (train) : "model");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  run_chooser (self, chooser, save_best_chosen, NULL);
}

/* ---- ONNX export -------------------------------------------------------- */

static void
export_onnx_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  gboolean ok = convolve_onnx_export_finish (result, &error);
  g_autoptr(ConvolveWindow) self = file_request_end (user_data, &name);
  g_autofree char *message = NULL;

  if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (!ok)
    {
      /* Translators: %s is a file name */
      g_autofree char *prefix = g_strdup_printf (_("Could not export the model to “%s”"), name);
      show_error_prefixed (self, prefix, error);
      return;
    }
  /* Translators: %s is a file name */
  message = g_strdup_printf (_("Exported the model to “%s”"), name);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

void
convolve_window_export_onnx (ConvolveWindow *self,
                             GFile          *file)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveModel *model;

  g_return_if_fail (CONVOLVE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      convolve_window_show_error (self, _("Only local files can be saved"));
      return;
    }
  /* The newest weights, copied here; packing and writing them (tens of
   * megabytes) happen on a worker thread. */
  model = convolve_session_dup_model (self->session, 1, &error);
  if (model == NULL)
    {
      g_autofree char *name = g_path_get_basename (path);
      /* Translators: %s is a file name */
      g_autofree char *prefix = g_strdup_printf (_("Could not export the model to “%s”"), name);
      show_error_prefixed (self, prefix, error);
      return;
    }
  convolve_onnx_export_async (model, convolve_session_dup_model_meta (self->session), path,
                              self->cancellable, export_onnx_cb, file_request_new (self, path));
}

static void
export_onnx_chosen (ConvolveWindow *self,
                    GFile          *file,
                    const char     *target)
{
  convolve_window_export_onnx (self, file);
}

static void
export_onnx_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  const char *model_path = convolve_session_get_model_path (self->session);
  ConvolveDataset *train = convolve_session_get_train (self->session);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *name = NULL;

  if (!convolve_session_has_model (self->session))
    return;

  /* GtkFileChooserNative like the app's other dialogs: GtkFileDialog
   * needs GTK 4.10, Debian 12 has 4.8. */
  chooser = gtk_file_chooser_native_new (_("Export Model as ONNX"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("ONNX Models"));
  gtk_file_filter_add_suffix (filter, "onnx");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);

  /* Beside the model file, named after it; else after the dataset. */
  if (model_path != NULL)
    {
      g_autofree char *base = g_path_get_basename (model_path);
      g_autofree char *dir = g_path_get_dirname (model_path);
      g_autoptr(GFile) folder = g_file_new_for_path (dir);

      if (g_str_has_suffix (base, MODEL_SUFFIX))
        base[strlen (base) - strlen (MODEL_SUFFIX)] = '\0';
      name = g_strconcat (base, ONNX_SUFFIX, NULL);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
    }
  else if (train != NULL)
    name = g_strconcat (convolve_dataset_get_name (train), ONNX_SUFFIX, NULL);
  else
    name = g_strdup ("model" ONNX_SUFFIX);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  run_chooser (self, chooser, export_onnx_chosen, NULL);
}

/* ---- history export ------------------------------------------------------ */

typedef struct {
  ConvolveHistory *history;
  char            *path;
  char            *steps_path;  /* CSV only: the per-step table beside it */
  gboolean         json;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_clear_pointer (&data->history, convolve_history_unref);
  g_free (data->path);
  g_free (data->steps_path);
  g_free (data);
}

static void
export_history_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  ExportData *data = task_data;
  GError *error = NULL;
  gboolean ok;

  if (data->json)
    ok = convolve_history_save_json (data->history, data->path, &error);
  else
    ok = convolve_history_save_epochs_csv (data->history, data->path, &error) &&
         convolve_history_save_steps_csv (data->history, data->steps_path, &error);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
export_history_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  ExportData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_path_get_basename (data->path);
  g_autofree char *message = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (self != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *prefix = g_strdup_printf (_("Could not export the history to “%s”"), name);
          show_error_prefixed (self, prefix, error);
        }
      return;
    }
  if (self == NULL)
    return;

  if (data->steps_path != NULL)
    {
      g_autofree char *steps_name = g_path_get_basename (data->steps_path);
      /* Translators: two file names: the per-epoch and the per-step tables */
      message = g_strdup_printf (_("Exported the history to “%s” and “%s”"), name, steps_name);
    }
  else
    /* Translators: %s is a file name */
    message = g_strdup_printf (_("Exported the history to “%s”"), name);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
export_history_to (ConvolveWindow *self,
                   GFile          *file,
                   const char     *target)
{
  g_autoptr(GTask) task = NULL;
  ConvolveHistory *history = convolve_session_get_history (self->session);
  ExportData *data;

  if (history == NULL)
    return;

  data = g_new0 (ExportData, 1);
  data->history = convolve_history_ref (history);
  data->path = g_file_get_path (file);
  data->json = g_strcmp0 (target, "json") == 0;
  if (data->path == NULL)
    {
      export_data_free (data);
      convolve_window_show_error (self, _("Only local files can be saved"));
      return;
    }
  if (!data->json)
    {
      g_autofree char *stem = g_str_has_suffix (data->path, ".csv")
                              ? g_strndup (data->path, strlen (data->path) - 4)
                              : g_strdup (data->path);
      data->steps_path = g_strconcat (stem, "-steps.csv", NULL);
    }

  task = g_task_new (NULL, self->cancellable, export_history_cb, convolve_weak_ref_new (self));
  g_task_set_name (task, "convolve-export-history");
  g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
  g_task_run_in_thread (task, export_history_thread);
}

static void
export_history_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  const char *format = g_variant_get_string (parameter, NULL);
  gboolean json = g_strcmp0 (format, "json") == 0;
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (json ? _("Export History as JSON") : _("Export History as CSV"),
                                         GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_file_filter_set_name (filter, json ? _("JSON Files") : _("CSV Files"));
  gtk_file_filter_add_suffix (filter, json ? "json" : "csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), json ? "history.json" : "history.csv");
  run_chooser (self, chooser, export_history_to, json ? "json" : "csv");
}

/* ---- plot export --------------------------------------------------------- */

/* Exported plots have a fixed size, whatever the window's: 16:10, and wide
 * enough for the legend to sit beside the title. */
#define PLOT_EXPORT_WIDTH  960
#define PLOT_EXPORT_HEIGHT 600

/* The targets of win.export-plot. */
static const struct {
  const char         *target;
  const char         *file_name;  /* what the save dialog suggests */
  gboolean            accuracy;   /* else the loss plot */
  ConvolvePlotFormat  format;
} plot_exports[] = {
  { "loss-png",     "loss.png",     FALSE, CONVOLVE_PLOT_FORMAT_PNG },
  { "loss-svg",     "loss.svg",     FALSE, CONVOLVE_PLOT_FORMAT_SVG },
  { "accuracy-png", "accuracy.png", TRUE,  CONVOLVE_PLOT_FORMAT_PNG },
  { "accuracy-svg", "accuracy.svg", TRUE,  CONVOLVE_PLOT_FORMAT_SVG },
};

static int
find_plot_export (const char *target)
{
  for (guint i = 0; i < G_N_ELEMENTS (plot_exports); i++)
    if (g_strcmp0 (plot_exports[i].target, target) == 0)
      return i;
  return -1;
}

static void
plot_exported_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(ConvolveWindow) self = convolve_weak_ref_steal (user_data);
  GFile *file = G_FILE (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *message = NULL;

  if (!g_file_replace_contents_finish (file, result, NULL, &error))
    {
      if (self != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* Translators: %s is a file name */
          g_autofree char *prefix = g_strdup_printf (_("Could not export the plot to “%s”"), name);
          show_error_prefixed (self, prefix, error);
        }
      return;
    }
  if (self == NULL)
    return;

  /* Translators: %s is a file name */
  message = g_strdup_printf (_("Exported the plot to “%s”"), name);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

void
convolve_window_export_plot (ConvolveWindow *self,
                             const char     *target,
                             GFile          *file)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  ConvolvePlot *plot;
  int index;

  g_return_if_fail (CONVOLVE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  index = find_plot_export (target);
  g_return_if_fail (index >= 0);

  /* Drawing needs the widget, so it happens here; writing the file (the
   * slow part) does not. The file is replaced atomically. */
  plot = plot_exports[index].accuracy ? self->accuracy_plot : self->loss_plot;
  bytes = convolve_plot_render (plot, plot_exports[index].format,
                                PLOT_EXPORT_WIDTH, PLOT_EXPORT_HEIGHT, &error);
  if (bytes == NULL)
    {
      show_error_prefixed (self, _("Could not export the plot"), error);
      return;
    }
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       self->cancellable, plot_exported_cb,
                                       convolve_weak_ref_new (self));
}

static void
export_plot_chosen (ConvolveWindow *self,
                    GFile          *file,
                    const char     *target)
{
  convolve_window_export_plot (self, target, file);
}

static void
export_plot_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  const char *target = g_variant_get_string (parameter, NULL);
  int index = find_plot_export (target);
  gboolean svg;
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (index < 0)
    return;

  svg = plot_exports[index].format == CONVOLVE_PLOT_FORMAT_SVG;
  chooser = gtk_file_chooser_native_new (plot_exports[index].accuracy ? _("Export Accuracy Plot")
                                                                      : _("Export Loss Plot"),
                                         GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_file_filter_set_name (filter, svg ? _("SVG Images") : _("PNG Images"));
  gtk_file_filter_add_suffix (filter, svg ? "svg" : "png");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), plot_exports[index].file_name);
  run_chooser (self, chooser, export_plot_chosen, target);
}

/* ---- datasets and the rest ----------------------------------------------- */

static void
open_dataset_folder (ConvolveWindow *self,
                     GFile          *file,
                     const char     *target)
{
  g_autofree char *path = g_file_get_path (file);

  if (path == NULL)
    convolve_window_show_error (self, _("Only local folders can be opened"));
  else
    convolve_window_open_dataset (self, path);
}

static void
open_dataset_folder_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Open Dataset Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Open"), _("_Cancel"));
  run_chooser (self, chooser, open_dataset_folder, NULL);
}

static void
download_dataset_action (GSimpleAction *action,
                         GVariant      *parameter,
                         gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);

  gtk_stack_set_visible_child_name (self->main_stack, "dataset");
  convolve_dataset_page_start_download (self->dataset_page);
  convolve_window_update_actions (self);
}

static void
show_summary_action (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") != 0)
    return;
  /* The panel may be folded away on a narrow window. */
  adw_flap_set_reveal_flap (self->flap, TRUE);
  convolve_training_panel_show_summary (self->training_panel);
}

static void
train_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  convolve_window_train (CONVOLVE_WINDOW (user_data));
}

static void
pause_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  convolve_session_pause (CONVOLVE_WINDOW (user_data)->session);
}

static void
resume_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  convolve_session_resume (CONVOLVE_WINDOW (user_data)->session);
}

static void
show_view_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  const char *name = g_variant_get_string (parameter, NULL);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") == 0 &&
      adw_view_stack_get_child_by_name (self->view_stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->view_stack, name);
}

static void
evaluate_action (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  convolve_session_evaluate (CONVOLVE_WINDOW (user_data)->session);
}

static void
use_learning_rate_cb (ConvolveWindow *self,
                      double          rate)
{
  convolve_training_panel_set_learning_rate (self->training_panel, rate);
}

/* The LR finder's dialog on the current weights and the training set, with
 * the panel's batch size and seed. */
static void
find_learning_rate_action (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  ConvolveWindow *self = CONVOLVE_WINDOW (user_data);
  ConvolveModel *model = convolve_session_get_model (self->session);
  ConvolveDataset *train = convolve_session_get_train (self->session);
  ConvolveTrainConfig train_config;
  ConvolveLrFinderConfig config;
  ConvolveLrDialog *dialog;

  if (model == NULL || train == NULL || convolve_session_is_training (self->session))
    return;
  convolve_train_config_init (&train_config);
  convolve_training_panel_get_config (self->training_panel, &train_config);
  convolve_lr_finder_config_init (&config);
  config.batch_size = train_config.batch_size;
  config.seed = train_config.seed;
  dialog = convolve_lr_dialog_new (GTK_WINDOW (self), model, train, &config);
  g_signal_connect_object (dialog, "use-learning-rate", G_CALLBACK (use_learning_rate_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
stop_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  convolve_session_stop (CONVOLVE_WINDOW (user_data)->session);
}

static const GActionEntry window_actions[] = {
  { "new-model", new_model_action },
  { "open-model", open_model_action },
  { "save-model", save_model_action },
  { "save-model-as", save_model_as_action },
  { "export-onnx", export_onnx_action },
  { "save-best-model", save_best_model_action },
  { "export-history", export_history_action, "s" },
  { "export-plot", export_plot_action, "s" },
  { "open-dataset-folder", open_dataset_folder_action },
  { "download-dataset", download_dataset_action },
  { "show-summary", show_summary_action },
  { "train", train_action },
  { "pause", pause_action },
  { "resume", resume_action },
  { "stop", stop_action },
  { "evaluate", evaluate_action },
  { "find-learning-rate", find_learning_rate_action },
  { "show-view", show_view_action, "s" },
};

void
convolve_window_init_actions (ConvolveWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   window_actions, G_N_ELEMENTS (window_actions),
                                   self);
}
