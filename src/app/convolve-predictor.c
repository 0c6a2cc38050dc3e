/* convolve-predictor.c: drop, open or paste an image; see the model's
 * class probabilities for it.
 *
 * Files are decoded on a worker thread (GTask); a newer image cancels an
 * older load, and the result is applied only if its load is still the
 * current one. Prediction on one image takes a few milliseconds, so it runs
 * on the main thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <string.h>

#include "convolve-loaders.h"
#include "convolve-image-view.h"
#include "convolve-predictor-private.h"
#include "convolve-sample-grid.h"
#include "convolve-train.h"

G_DEFINE_FINAL_TYPE (ConvolvePredictor, convolve_predictor, GTK_TYPE_WIDGET)

enum {
  ERROR,
  PREDICTED,
  EXPLAINED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Without a model, images are shown as a CIFAR-10 model would see them. */
static const ConvolveShape default_shape = { 3, 32, 32 };

void
_convolve_predictor_emit_explained (ConvolvePredictor *self)
{
  g_signal_emit (self, signals[EXPLAINED], 0);
}

static void convolve_predictor_start_load (ConvolvePredictor *self,
                                           ImageSource       *source);

ConvolveImageFit
convolve_predictor_get_fit (ConvolvePredictor *predictor)
{
  ConvolveImageFolderReport report;

  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), CONVOLVE_IMAGE_FIT_CROP);

  /* a model trained on an image folder: pictures as its pictures were made */
  if (predictor->session != NULL && convolve_session_get_import_report (predictor->session, &report))
    return report.fit;
  return predictor->fit;
}

/* ------------------------------------------------------------ sources */

static void
image_source_free (ImageSource *source)
{
  if (source == NULL)
    return;
  g_clear_object (&source->file);
  g_clear_pointer (&source->bytes, g_bytes_unref);
  g_clear_pointer (&source->sample, convolve_sample_ref_free);
  g_free (source->display_name);
  g_free (source);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImageSource, image_source_free)

static ImageSource *
image_source_copy (const ImageSource *source)
{
  ImageSource *copy = g_new0 (ImageSource, 1);

  copy->kind = source->kind;
  copy->file = source->file ? g_object_ref (source->file) : NULL;
  copy->bytes = source->bytes ? g_bytes_ref (source->bytes) : NULL;
  copy->sample = source->sample ? convolve_sample_ref_copy (source->sample) : NULL;
  copy->display_name = g_strdup (source->display_name);
  return copy;
}

static ImageSource *
image_source_new_for_file (GFile *file)
{
  ImageSource *source = g_new0 (ImageSource, 1);

  source->kind = SOURCE_FILE;
  source->file = g_object_ref (file);
  source->display_name = g_file_get_basename (file);
  if (source->display_name == NULL)
    source->display_name = g_file_get_parse_name (file);
  return source;
}

static ImageSource *
image_source_new_for_texture (GdkTexture *texture,
                              const char *display_name)
{
  ImageSource *source = g_new0 (ImageSource, 1);

  source->kind = SOURCE_BYTES;
  source->bytes = gdk_texture_save_to_png_bytes (texture);
  source->display_name = g_strdup (display_name);
  return source;
}

static ImageSource *
image_source_new_for_sample (const ConvolveSampleRef *sample)
{
  ImageSource *source = g_new0 (ImageSource, 1);
  const char * const *names = convolve_dataset_get_class_names (sample->dataset);
  int label = convolve_dataset_get_label (sample->dataset, sample->index);

  source->kind = SOURCE_SAMPLE;
  source->sample = convolve_sample_ref_copy (sample);
  if (names != NULL && label < convolve_dataset_get_n_classes (sample->dataset) && names[label] != NULL)
    /* Translators: a dataset image's number and its class, e.g. "Sample 12 (cat)" */
    source->display_name = g_strdup_printf (_("Sample %u (%s)"), sample->index + 1, names[label]);
  else
    source->display_name = g_strdup_printf (_("Sample %u"), sample->index + 1);
  return source;
}

static void
load_data_free (LoadData *data)
{
  image_source_free (data->source);
  g_free (data->input);
  g_free (data->preview);
  g_free (data);
}

static gsize
shape_size (ConvolveShape shape)
{
  return (gsize) shape.c * shape.h * shape.w;
}

/* --------------------------------------------------------------- bars */

static void
convolve_predictor_rebuild_bars (ConvolvePredictor *self)
{
  GtkWidget *child;
  int name_chars = 1;

  while ((child = gtk_widget_get_first_child (self->bars)) != NULL)
    gtk_grid_remove (GTK_GRID (self->bars), child);
  g_ptr_array_set_size (self->bar_names, 0);
  g_ptr_array_set_size (self->bar_widgets, 0);
  g_ptr_array_set_size (self->bar_values, 0);

  /* Names are short ("automobile", "Ankle boot"): room for the longest,
   * so they are not cut while the bars take the rest. */
  for (guint i = 0; i < self->n_classes; i++)
    name_chars = MAX (name_chars, (int) g_utf8_strlen (self->class_names[i], -1));
  name_chars = MIN (name_chars, 16);

  for (guint i = 0; i < self->n_classes; i++)
    {
      GtkWidget *name = gtk_label_new (self->class_names[i]);
      GtkWidget *bar = gtk_progress_bar_new ();
      /* (an inscription: a new percentage only redraws it, see
       * convolve-training-panel.c) */
      GtkWidget *value = gtk_inscription_new (NULL);

      gtk_label_set_xalign (GTK_LABEL (name), 0.0f);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (name), name_chars);
      gtk_label_set_max_width_chars (GTK_LABEL (name), name_chars);
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_inscription_set_xalign (GTK_INSCRIPTION (value), 1.0f);
      gtk_inscription_set_min_chars (GTK_INSCRIPTION (value), 8);
      gtk_inscription_set_nat_chars (GTK_INSCRIPTION (value), 8);
      gtk_widget_add_css_class (value, "numeric");
      gtk_widget_add_css_class (value, "dim-label");
      gtk_accessible_update_relation (GTK_ACCESSIBLE (bar),
                                      GTK_ACCESSIBLE_RELATION_LABELLED_BY, name, NULL,
                                      -1);

      gtk_grid_attach (GTK_GRID (self->bars), name, 0, i, 1, 1);
      gtk_grid_attach (GTK_GRID (self->bars), bar, 1, i, 1, 1);
      gtk_grid_attach (GTK_GRID (self->bars), value, 2, i, 1, 1);
      g_ptr_array_add (self->bar_names, name);
      g_ptr_array_add (self->bar_widgets, bar);
      g_ptr_array_add (self->bar_values, value);
      _convolve_predictor_explain_watch_bar (self, name, i);
      _convolve_predictor_explain_watch_bar (self, bar, i);
      _convolve_predictor_explain_watch_bar (self, value, i);
    }
}

/* Bars stay in class order (so they do not jump about while training
 * updates the model); the most probable class is highlighted. */
static void
convolve_predictor_update_bars (ConvolvePredictor *self)
{
  guint top = 0;

  if (self->probabilities == NULL)
    return;

  for (guint i = 1; i < self->n_classes; i++)
    if (self->probabilities[i] > self->probabilities[top])
      top = i;

  for (guint i = 0; i < self->n_classes; i++)
    {
      GtkWidget *name = g_ptr_array_index (self->bar_names, i);
      GtkWidget *bar = g_ptr_array_index (self->bar_widgets, i);
      GtkWidget *value = g_ptr_array_index (self->bar_values, i);
      g_autofree char *text = NULL;

      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bar), CLAMP (self->probabilities[i], 0.0f, 1.0f));
      /* Translators: a probability in percent */
      text = g_strdup_printf (_("%.1f %%"), 100.0 * self->probabilities[i]);
      gtk_inscription_set_text (GTK_INSCRIPTION (value), text);

      if (i == top)
        {
          gtk_widget_add_css_class (name, "top");
          gtk_widget_add_css_class (bar, "top");
          gtk_widget_remove_css_class (value, "dim-label");
        }
      else
        {
          gtk_widget_remove_css_class (name, "top");
          gtk_widget_remove_css_class (bar, "top");
          gtk_widget_add_css_class (value, "dim-label");
        }
    }
  _convolve_predictor_explain_mark_bars (self);
}

static void
convolve_predictor_predict (ConvolvePredictor *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->probabilities, g_free);

  if (self->input == NULL)
    return;
  if (self->model == NULL)
    {
      gtk_stack_set_visible_child_name (GTK_STACK (self->result_stack), "no-model");
      _convolve_predictor_explain_update (self);
      return;
    }
  /* A load for the new shape is under way; predict when it lands. */
  if (!convolve_shape_equal (self->input_shape, convolve_model_get_input (self->model)))
    return;

  self->probabilities = g_new0 (float, self->n_classes);
  if (!convolve_model_predict (self->model, self->input, 1, self->probabilities, &error))
    {
      g_clear_pointer (&self->probabilities, g_free);
      gtk_stack_set_visible_child_name (GTK_STACK (self->result_stack), "no-model");
      _convolve_predictor_explain_update (self);
      g_signal_emit (self, signals[ERROR], 0, error->message);
      return;
    }

  convolve_predictor_update_bars (self);
  gtk_stack_set_visible_child_name (GTK_STACK (self->result_stack), "bars");
  /* Right after the forward pass: the activations are this image's. */
  _convolve_predictor_explain_update (self);
  g_signal_emit (self, signals[PREDICTED], 0);
}

/* ------------------------------------------------------------ loading */

static void
convolve_predictor_apply (ConvolvePredictor *self,
                          ImageSource       *source,
                          ConvolveShape      shape,
                          ConvolveImageFit   fit,
                          float             *input,
                          guint8            *preview)
{
  g_autofree char *input_text = NULL;

  image_source_free (self->source);
  g_free (self->input);
  g_free (self->preview);
  self->source = source;
  self->input_shape = shape;
  self->input_fit = fit;
  self->input = input;
  self->preview = preview;

  convolve_image_view_set_pixels (CONVOLVE_IMAGE_VIEW (self->image_view), preview, shape.c, shape.h, shape.w);
  /* a dataset image is shown as it is; a picture as it was fitted */
  if (source->kind == SOURCE_SAMPLE && shape.c == 1)
    /* Translators: the model's input size, e.g. "28 × 28 grey" */
    input_text = g_strdup_printf (_("%d × %d grey"), shape.w, shape.h);
  else if (source->kind == SOURCE_SAMPLE)
    /* Translators: the model's input size, e.g. "32 × 32 colour" */
    input_text = g_strdup_printf (_("%d × %d colour"), shape.w, shape.h);
  else if (shape.c == 1 && fit == CONVOLVE_IMAGE_FIT_PAD)
    /* Translators: the model's input size, e.g. "28 × 28 grey, padded": a picture
     * of another shape was fitted inside it, with black bars */
    input_text = g_strdup_printf (_("%d × %d grey, padded"), shape.w, shape.h);
  else if (shape.c == 1)
    /* Translators: the model's input size, e.g. "28 × 28 grey, cropped": of a
     * picture of another shape, only the middle was kept */
    input_text = g_strdup_printf (_("%d × %d grey, cropped"), shape.w, shape.h);
  else if (fit == CONVOLVE_IMAGE_FIT_PAD)
    /* Translators: the model's input size, e.g. "32 × 32 colour, padded": a picture
     * of another shape was fitted inside it, with black bars */
    input_text = g_strdup_printf (_("%d × %d colour, padded"), shape.w, shape.h);
  else
    /* Translators: the model's input size, e.g. "32 × 32 colour, cropped": of a
     * picture of another shape, only the middle was kept */
    input_text = g_strdup_printf (_("%d × %d colour, cropped"), shape.w, shape.h);
  gtk_label_set_text (GTK_LABEL (self->input_label), input_text);
  gtk_label_set_text (GTK_LABEL (self->source_label), source->display_name);
  gtk_widget_set_tooltip_text (self->source_label, source->display_name);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "image");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "predictor.clear", TRUE);

  convolve_predictor_predict (self);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  gboolean ok;

  if (data->source->kind == SOURCE_FILE)
    ok = convolve_image_load_file (data->source->file, data->shape, data->fit, data->input,
                                   data->preview, cancellable, &error);
  else
    ok = convolve_image_load_bytes (data->source->bytes, data->shape, data->fit, data->input,
                                    data->preview, &error);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_load_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  ConvolvePredictor *self = CONVOLVE_PREDICTOR (object);
  GTask *task = G_TASK (result);
  LoadData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  /* A newer image (or dispose) cancelled this load: drop it silently.
   * GTask reports cancellation itself once the cancellable fired. */
  if (!g_task_propagate_boolean (task, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
          g_error_matches (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED))
        return;
      if (g_task_get_cancellable (task) == self->load_cancellable)
        g_clear_object (&self->load_cancellable);
      g_signal_emit (self, signals[ERROR], 0, error->message);
      return;
    }
  if (g_task_get_cancellable (task) != self->load_cancellable)
    return;
  g_clear_object (&self->load_cancellable);

  convolve_predictor_apply (self, g_steal_pointer (&data->source), data->shape, data->fit,
                            g_steal_pointer (&data->input), g_steal_pointer (&data->preview));
}

static ConvolveShape
convolve_predictor_wanted_shape (ConvolvePredictor *self)
{
  if (self->model != NULL)
    return convolve_model_get_input (self->model);
  if (self->input != NULL)
    return self->input_shape;
  return default_shape;
}

/* Takes ownership of source. */
static void
convolve_predictor_start_load (ConvolvePredictor *self,
                               ImageSource       *source)
{
  g_autoptr(GTask) task = NULL;
  ConvolveShape shape = convolve_predictor_wanted_shape (self);
  ConvolveImageFit fit = convolve_predictor_get_fit (self);
  LoadData *data;

  if (self->load_cancellable != NULL)
    {
      g_cancellable_cancel (self->load_cancellable);
      g_clear_object (&self->load_cancellable);
    }

  if (source->kind == SOURCE_SAMPLE)
    {
      ConvolveDataset *dataset = source->sample->dataset;
      ConvolveShape sample_shape = convolve_dataset_get_shape (dataset);
      const guint8 *pixels = convolve_dataset_get_image (dataset, source->sample->index);

      /* The dataset's own pixels, exactly as training saw them. */
      if (convolve_shape_equal (sample_shape, shape))
        {
          gsize n = shape_size (shape);
          float *input = g_new (float, n);
          for (gsize i = 0; i < n; i++)
            input[i] = pixels[i] / 255.0f;
          convolve_predictor_apply (self, source, shape, fit, input, g_memdup2 (pixels, n));
          return;
        }
      else
        {
          /* A model of another shape: go through the image loader, which
           * resizes and converts colours. */
          g_autoptr(GdkTexture) texture = convolve_texture_new_from_planar (pixels, sample_shape.c,
                                                                            sample_shape.h, sample_shape.w, 1);
          source->kind = SOURCE_BYTES;
          source->bytes = gdk_texture_save_to_png_bytes (texture);
          g_clear_pointer (&source->sample, convolve_sample_ref_free);
        }
    }

  data = g_new0 (LoadData, 1);
  data->source = source;
  data->shape = shape;
  data->fit = fit;
  self->load_fit = fit;
  data->input = g_new (float, shape_size (shape));
  data->preview = g_new (guint8, shape_size (shape));

  self->load_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->load_cancellable, on_load_done, NULL);
  g_task_set_source_tag (task, convolve_predictor_start_load);
  g_task_set_name (task, "[convolve] predictor image load");
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

/* ------------------------------------------------ drop, paste, open */

gboolean
convolve_predictor_load_value (ConvolvePredictor *predictor,
                               const GValue      *value)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), FALSE);
  g_return_val_if_fail (G_IS_VALUE (value), FALSE);

  if (G_VALUE_HOLDS (value, CONVOLVE_TYPE_SAMPLE_REF) && g_value_get_boxed (value) != NULL)
    {
      convolve_predictor_start_load (predictor, image_source_new_for_sample (g_value_get_boxed (value)));
      return TRUE;
    }
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST) && g_value_get_boxed (value) != NULL)
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
      GFile *first = files != NULL ? files->data : NULL;

      g_slist_free (files);
      if (first != NULL)
        {
          convolve_predictor_open_file (predictor, first);
          return TRUE;
        }
    }
  if (G_VALUE_HOLDS (value, G_TYPE_FILE) && g_value_get_object (value) != NULL)
    {
      convolve_predictor_open_file (predictor, g_value_get_object (value));
      return TRUE;
    }
  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE) && g_value_get_object (value) != NULL)
    {
      convolve_predictor_start_load (predictor,
                                     image_source_new_for_texture (g_value_get_object (value), _("Dropped image")));
      return TRUE;
    }

  g_signal_emit (predictor, signals[ERROR], 0, _("Only image files and images can be dropped here"));
  return FALSE;
}

static gboolean
on_drop (GtkDropTarget     *target,
         const GValue      *value,
         double             x,
         double             y,
         ConvolvePredictor *self)
{
  return convolve_predictor_load_value (self, value);
}

static void
on_paste_file_list (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(ConvolvePredictor) self = user_data;
  g_autoptr(GError) error = NULL;
  const GValue *value;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (object), result, &error);
  if (value == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[ERROR], 0, error->message);
      return;
    }
  convolve_predictor_load_value (self, value);
}

static void
on_paste_texture (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(ConvolvePredictor) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (object), result, &error);
  if (texture == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[ERROR], 0, error->message);
      return;
    }
  convolve_predictor_start_load (self, image_source_new_for_texture (texture, _("Pasted image")));
}

void
convolve_predictor_paste (ConvolvePredictor *predictor)
{
  GdkClipboard *clipboard;
  GdkContentFormats *formats;

  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));

  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (predictor));
  formats = gdk_clipboard_get_formats (clipboard);

  if (predictor->paste_cancellable != NULL)
    g_cancellable_cancel (predictor->paste_cancellable);
  g_clear_object (&predictor->paste_cancellable);
  predictor->paste_cancellable = g_cancellable_new ();

  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT,
                                    predictor->paste_cancellable, on_paste_file_list,
                                    g_object_ref (predictor));
  else if (gdk_content_formats_contain_gtype (formats, G_TYPE_FILE))
    gdk_clipboard_read_value_async (clipboard, G_TYPE_FILE, G_PRIORITY_DEFAULT,
                                    predictor->paste_cancellable, on_paste_file_list,
                                    g_object_ref (predictor));
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE))
    gdk_clipboard_read_texture_async (clipboard, predictor->paste_cancellable, on_paste_texture,
                                      g_object_ref (predictor));
  else
    g_signal_emit (predictor, signals[ERROR], 0, _("The clipboard holds no image"));
}

static void
on_chooser_response (GtkNativeDialog   *dialog,
                     int                response,
                     ConvolvePredictor *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        convolve_predictor_open_file (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_clear_object (&self->chooser);
}

static void
convolve_predictor_show_chooser (ConvolvePredictor *self)
{
  g_autoptr(GtkFileFilter) images = gtk_file_filter_new ();
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }

  self->chooser = gtk_file_chooser_native_new (_("Open Image"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (images, _("Images"));
  gtk_file_filter_add_pixbuf_formats (images);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), images);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
predictor_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  ConvolvePredictor *self = CONVOLVE_PREDICTOR (widget);

  if (g_str_equal (action_name, "predictor.open"))
    convolve_predictor_show_chooser (self);
  else if (g_str_equal (action_name, "predictor.paste"))
    convolve_predictor_paste (self);
  else if (g_str_equal (action_name, "predictor.clear"))
    convolve_predictor_clear (self);
  else if (g_str_equal (action_name, "predictor.activations"))
    convolve_predictor_show_activations (self);
}

/* ---------------------------------------------------------- GObject */

static void
convolve_predictor_dispose (GObject *object)
{
  ConvolvePredictor *self = CONVOLVE_PREDICTOR (object);

  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      if (!self->owns_model)
        self->model = NULL;
      g_clear_object (&self->session);
    }
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  if (self->paste_cancellable != NULL)
    g_cancellable_cancel (self->paste_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->paste_cancellable);
  if (self->chooser != NULL)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }

  _convolve_predictor_explain_dispose (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_PREDICTOR);

  G_OBJECT_CLASS (convolve_predictor_parent_class)->dispose (object);
}

static void
convolve_predictor_finalize (GObject *object)
{
  ConvolvePredictor *self = CONVOLVE_PREDICTOR (object);

  if (self->owns_model)
    g_clear_pointer (&self->model, convolve_model_free);
  g_strfreev (self->class_names);
  g_ptr_array_unref (self->bar_names);
  g_ptr_array_unref (self->bar_widgets);
  g_ptr_array_unref (self->bar_values);
  image_source_free (self->source);
  g_free (self->input);
  g_free (self->preview);
  g_free (self->probabilities);
  _convolve_predictor_explain_finalize (self);

  G_OBJECT_CLASS (convolve_predictor_parent_class)->finalize (object);
}

static void
convolve_predictor_class_init (ConvolvePredictorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_predictor_dispose;
  object_class->finalize = convolve_predictor_finalize;

  /**
   * ConvolvePredictor::error:
   * @message: what went wrong, translated, for a toast
   */
  signals[ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * ConvolvePredictor::predicted:
   *
   * A new prediction is shown (new image or new model).
   */
  signals[PREDICTED] =
    g_signal_new ("predicted",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * ConvolvePredictor::explained:
   *
   * A map (or why there is none) is shown over the image, or removed.
   */
  signals[EXPLAINED] =
    g_signal_new ("explained",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-predictor.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, toolbar);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, result_stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, image_view);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, input_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, source_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, bars);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, view_dropdown);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, explain_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, legend);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePredictor, legend_scale);

  gtk_widget_class_install_action (widget_class, "predictor.open", NULL, predictor_action);
  gtk_widget_class_install_action (widget_class, "predictor.paste", NULL, predictor_action);
  gtk_widget_class_install_action (widget_class, "predictor.clear", NULL, predictor_action);
  gtk_widget_class_install_action (widget_class, "predictor.activations", NULL, predictor_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "predictor.paste", NULL);

  gtk_widget_class_set_css_name (widget_class, "convolvepredictor");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);

  g_type_ensure (CONVOLVE_TYPE_IMAGE_VIEW);
}

static void
convolve_predictor_init (ConvolvePredictor *self)
{
  GtkDropTarget *target;
  GType types[] = { CONVOLVE_TYPE_SAMPLE_REF, GDK_TYPE_FILE_LIST, G_TYPE_FILE, GDK_TYPE_TEXTURE };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->bar_names = g_ptr_array_new ();
  self->bar_widgets = g_ptr_array_new ();
  self->bar_values = g_ptr_array_new ();
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "predictor.clear", FALSE);
  _convolve_predictor_explain_init (self);

  /* The first type the drag offers from this list wins: a sample from the
   * grid, then files, then plain image data. */
  target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (target, types, G_N_ELEMENTS (types));
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Prediction"),
                                  -1);
}

/* ------------------------------------------------------- public API */

GtkWidget *
convolve_predictor_new (void)
{
  return g_object_new (CONVOLVE_TYPE_PREDICTOR, NULL);
}

/* Whether the image shown (or being loaded) was fitted otherwise than
 * pictures are now. */
static gboolean
convolve_predictor_fit_changed (ConvolvePredictor *self)
{
  ConvolveImageFit fit = self->load_cancellable != NULL ? self->load_fit : self->input_fit;

  return self->source != NULL && fit != convolve_predictor_get_fit (self);
}

/* model is owned when owned, else the session's. */
static void
use_model (ConvolvePredictor  *predictor,
           ConvolveModel      *model,
           gboolean            owned,
           const char * const *class_names)
{
  guint n_classes;
  gboolean names_changed;

  if (predictor->model != model && predictor->owns_model)
    g_clear_pointer (&predictor->model, convolve_model_free);
  predictor->model = model;
  predictor->owns_model = owned && model != NULL;
  _convolve_predictor_explain_weights_changed (predictor);

  n_classes = model != NULL ? (guint) convolve_model_get_n_classes (model) : 0;
  names_changed = n_classes != predictor->n_classes;
  for (guint i = 0; !names_changed && i < n_classes; i++)
    names_changed = class_names == NULL || g_strcmp0 (class_names[i], predictor->class_names[i]) != 0;

  if (names_changed)
    {
      GStrvBuilder *builder = g_strv_builder_new ();
      gboolean ended = class_names == NULL;

      for (guint i = 0; i < n_classes; i++)
        {
          g_autofree char *fallback = NULL;
          ended = ended || class_names[i] == NULL;
          if (ended)
            fallback = g_strdup_printf (_("Class %u"), i);
          g_strv_builder_add (builder, ended ? fallback : class_names[i]);
        }
      g_strfreev (predictor->class_names);
      predictor->class_names = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
      predictor->n_classes = n_classes;
      convolve_predictor_rebuild_bars (predictor);
    }

  if (predictor->source == NULL)
    return;

  /* A model with another input shape, or another fit, needs the image
   * decoded anew. */
  if ((model != NULL && !convolve_shape_equal (predictor->input_shape, convolve_model_get_input (model))) ||
      convolve_predictor_fit_changed (predictor))
    convolve_predictor_start_load (predictor, image_source_copy (predictor->source));
  convolve_predictor_predict (predictor);
}

void
convolve_predictor_set_model (ConvolvePredictor  *predictor,
                              ConvolveModel      *model,
                              const char * const *class_names)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));

  use_model (predictor, model, TRUE, class_names);
}

static void
session_weights_changed_cb (ConvolvePredictor *self,
                            ConvolveSession   *session)
{
  use_model (self, convolve_session_get_model (session), FALSE,
             convolve_session_get_class_names (session));
}

void
convolve_predictor_set_session (ConvolvePredictor *predictor,
                                ConvolveSession   *session)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));
  g_return_if_fail (session == NULL || CONVOLVE_IS_SESSION (session));

  if (predictor->session == session)
    return;
  if (predictor->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (predictor->session, predictor);
      if (!predictor->owns_model)
        use_model (predictor, NULL, FALSE, NULL);
      g_clear_object (&predictor->session);
    }
  if (session == NULL)
    return;

  predictor->session = g_object_ref (session);
  /* A new dataset can bring other class names for the same weights. */
  g_signal_connect_object (session, "weights-changed",
                           G_CALLBACK (session_weights_changed_cb), predictor, G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "datasets-changed",
                           G_CALLBACK (session_weights_changed_cb), predictor, G_CONNECT_SWAPPED);
  session_weights_changed_cb (predictor, session);
}

void
convolve_predictor_set_fit (ConvolvePredictor *predictor,
                            ConvolveImageFit   fit)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));
  g_return_if_fail (fit == CONVOLVE_IMAGE_FIT_CROP || fit == CONVOLVE_IMAGE_FIT_PAD);

  predictor->fit = fit;
  if (convolve_predictor_fit_changed (predictor))
    convolve_predictor_start_load (predictor, image_source_copy (predictor->source));
}

gboolean
convolve_predictor_has_model (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), FALSE);
  return predictor->model != NULL;
}

void
convolve_predictor_open_file (ConvolvePredictor *predictor,
                              GFile             *file)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));
  g_return_if_fail (G_IS_FILE (file));

  convolve_predictor_start_load (predictor, image_source_new_for_file (file));
}

void
convolve_predictor_clear (ConvolvePredictor *predictor)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));

  if (predictor->load_cancellable != NULL)
    {
      g_cancellable_cancel (predictor->load_cancellable);
      g_clear_object (&predictor->load_cancellable);
    }
  g_clear_pointer (&predictor->source, image_source_free);
  g_clear_pointer (&predictor->input, g_free);
  g_clear_pointer (&predictor->preview, g_free);
  g_clear_pointer (&predictor->probabilities, g_free);
  convolve_image_view_set_pixels (CONVOLVE_IMAGE_VIEW (predictor->image_view), NULL, 0, 0, 0);
  gtk_label_set_text (GTK_LABEL (predictor->source_label), "");
  gtk_widget_set_tooltip_text (predictor->source_label, NULL);
  gtk_stack_set_visible_child_name (GTK_STACK (predictor->stack), "empty");
  gtk_widget_action_set_enabled (GTK_WIDGET (predictor), "predictor.clear", FALSE);
  _convolve_predictor_explain_update (predictor);
}

gboolean
convolve_predictor_has_image (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), FALSE);
  return predictor->source != NULL;
}

const float *
convolve_predictor_get_probabilities (ConvolvePredictor *predictor,
                                      guint             *n_classes)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), NULL);

  if (n_classes != NULL)
    *n_classes = predictor->probabilities != NULL ? predictor->n_classes : 0;
  return predictor->probabilities;
}

GtkWidget *
convolve_predictor_get_bar (ConvolvePredictor *predictor,
                            guint              class_index)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), NULL);

  if (class_index >= predictor->bar_widgets->len)
    return NULL;
  return g_ptr_array_index (predictor->bar_widgets, class_index);
}
