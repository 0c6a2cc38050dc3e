/* convolve-sample-view.c: a larger view of a clicked sample. Prediction is
 * one forward pass of a single image on the session's current weights,
 * quick enough for the main thread; it follows them while training.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-augment-strip.h"
#include "convolve-image-view.h"
#include "convolve-sample-view.h"
#include "convolve-train.h"
#include "convolve-training-panel.h"

#define TOP_K 3

struct _ConvolveSampleView
{
  AdwWindow        parent_instance;

  AdwWindowTitle  *window_title;
  ConvolveImageView *image_view;
  GtkLabel        *label_label;
  AdwActionRow    *prediction_row;
  GtkLabel        *prediction_label;
  GtkWidget       *top_box;
  GtkGrid         *top_grid;
  ConvolveAugmentStrip *augment_strip;

  ConvolveDataset *dataset;
  ConvolveSession *session;
  ConvolveModel   *model;      /* the session's, when it fits the dataset */
  guint            index;
  int              predicted;
};

G_DEFINE_FINAL_TYPE (ConvolveSampleView, convolve_sample_view, ADW_TYPE_WINDOW)

static const char *
class_name (ConvolveSampleView *self,
            int                 class_index)
{
  const char * const *names = convolve_dataset_get_class_names (self->dataset);

  if (names != NULL && class_index >= 0 && class_index < convolve_dataset_get_n_classes (self->dataset))
    return names[class_index];
  return "?";
}

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static void
predict (ConvolveSampleView *self)
{
  ConvolveShape shape = convolve_dataset_get_shape (self->dataset);
  gsize size = (gsize) shape.c * shape.h * shape.w;
  int n_classes = convolve_model_get_n_classes (self->model);
  g_autofree float *x = g_new (float, size);
  g_autofree float *probabilities = g_new (float, n_classes);
  g_autoptr(GError) error = NULL;
  int top[TOP_K];
  int n_top;
  guint32 index = self->index;
  int32_t label;
  g_autofree char *text = NULL;

  convolve_dataset_make_batch (self->dataset, &index, 1, x, &label, NULL, NULL);
  if (!convolve_predict_image (self->model, x, probabilities, &error))
    {
      gtk_label_set_label (self->prediction_label, error->message);
      gtk_widget_set_visible (self->top_box, FALSE);
      return;
    }

  n_top = convolve_top_k (probabilities, n_classes, TOP_K, top);
  self->predicted = top[0];
  /* Translators: predicted class and its probability, e.g. "cat, 62.3 %" */
  text = g_strdup_printf (_("%s, %.1f %%"), class_name (self, top[0]), probabilities[top[0]] * 100.0);
  gtk_label_set_label (self->prediction_label, text);
  gtk_widget_remove_css_class (GTK_WIDGET (self->prediction_label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->prediction_label), "error");
  gtk_widget_add_css_class (GTK_WIDGET (self->prediction_label), top[0] == label ? "success" : "error");
  adw_action_row_set_subtitle (self->prediction_row, top[0] == label ? _("Right") : _("Wrong"));

  clear_grid (self->top_grid);
  for (int i = 0; i < n_top; i++)
    {
      GtkWidget *name = gtk_label_new (class_name (self, top[i]));
      GtkWidget *bar = gtk_level_bar_new_for_interval (0.0, 1.0);
      g_autofree char *percent = g_strdup_printf ("%.1f %%", probabilities[top[i]] * 100.0);
      GtkWidget *value = gtk_label_new (percent);

      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_xalign (GTK_LABEL (value), 1);
      gtk_widget_add_css_class (value, "numeric");
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), probabilities[top[i]]);
      /* No low/high colouring: the bar is a probability, not a warning. */
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
      gtk_grid_attach (self->top_grid, name, 0, i, 1, 1);
      gtk_grid_attach (self->top_grid, bar, 1, i, 1, 1);
      gtk_grid_attach (self->top_grid, value, 2, i, 1, 1);
    }
  gtk_widget_set_visible (self->top_box, n_top > 0);
}

void
convolve_sample_view_set_index (ConvolveSampleView *self,
                                guint               index)
{
  ConvolveShape shape;
  g_autofree char *title = NULL;
  g_autofree char *number = NULL;
  guint n_images;

  g_return_if_fail (CONVOLVE_IS_SAMPLE_VIEW (self));

  n_images = convolve_dataset_get_n_images (self->dataset);
  g_return_if_fail (index < n_images);

  self->index = index;
  shape = convolve_dataset_get_shape (self->dataset);
  convolve_image_view_set_pixels (self->image_view, convolve_dataset_get_image (self->dataset, index),
                                  shape.c, shape.h, shape.w);

  /* counted from 1, as the grid and the predictor do */
  number = convolve_format_count ((guint64) index + 1);
  /* Translators: the number of a sample in its dataset */
  title = g_strdup_printf (_("Sample %s"), number);
  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title,
                                 convolve_format_dataset_name (convolve_dataset_get_name (self->dataset)));
  gtk_window_set_title (GTK_WINDOW (self), title);
  gtk_label_set_label (self->label_label, class_name (self, convolve_dataset_get_label (self->dataset, index)));
  convolve_augment_strip_set_sample (self->augment_strip, self->dataset, index);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sample.previous", index > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sample.next", index + 1 < n_images);

  self->predicted = -1;
  if (self->model != NULL)
    predict (self);
  else
    {
      gtk_label_set_label (self->prediction_label, _("Train or open a model first"));
      adw_action_row_set_subtitle (self->prediction_row, "");
      gtk_widget_add_css_class (GTK_WIDGET (self->prediction_label), "dim-label");
      gtk_widget_set_visible (self->top_box, FALSE);
    }
}

guint
convolve_sample_view_get_index (ConvolveSampleView *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_VIEW (self), 0);

  return self->index;
}

ConvolveAugmentStrip *
convolve_sample_view_get_augment_strip (ConvolveSampleView *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_VIEW (self), NULL);

  return self->augment_strip;
}

int
convolve_sample_view_get_predicted_class (ConvolveSampleView *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_VIEW (self), -1);

  return self->predicted;
}

static void
previous_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  ConvolveSampleView *self = CONVOLVE_SAMPLE_VIEW (widget);

  if (self->index > 0)
    convolve_sample_view_set_index (self, self->index - 1);
}

static void
next_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  ConvolveSampleView *self = CONVOLVE_SAMPLE_VIEW (widget);

  if (self->index + 1 < convolve_dataset_get_n_images (self->dataset))
    convolve_sample_view_set_index (self, self->index + 1);
}

static void
weights_changed_cb (ConvolveSampleView *self)
{
  ConvolveModel *model = self->session != NULL ? convolve_session_get_model (self->session) : NULL;

  /* A model for other images cannot judge this one. */
  if (model != NULL && !convolve_check_model_for_dataset (model, self->dataset, NULL))
    model = NULL;
  self->model = model;
  convolve_sample_view_set_index (self, self->index);
}

ConvolveSampleView *
convolve_sample_view_new (GtkWindow       *parent,
                          ConvolveDataset *dataset,
                          guint            index,
                          ConvolveSession *session)
{
  ConvolveSampleView *self;

  g_return_val_if_fail (dataset != NULL, NULL);
  g_return_val_if_fail (session == NULL || CONVOLVE_IS_SESSION (session), NULL);

  self = g_object_new (CONVOLVE_TYPE_SAMPLE_VIEW,
                       "transient-for", parent,
                       NULL);
  self->dataset = convolve_dataset_ref (dataset);
  self->index = index;
  if (session != NULL)
    {
      self->session = g_object_ref (session);
      g_signal_connect_object (session, "weights-changed",
                               G_CALLBACK (weights_changed_cb), self, G_CONNECT_SWAPPED);
    }
  weights_changed_cb (self);
  return self;
}

static void
convolve_sample_view_dispose (GObject *object)
{
  ConvolveSampleView *self = CONVOLVE_SAMPLE_VIEW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_SAMPLE_VIEW);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  self->model = NULL;
  g_clear_pointer (&self->dataset, convolve_dataset_unref);

  G_OBJECT_CLASS (convolve_sample_view_parent_class)->dispose (object);
}

static void
convolve_sample_view_class_init (ConvolveSampleViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_sample_view_dispose;

  g_type_ensure (CONVOLVE_TYPE_IMAGE_VIEW);
  g_type_ensure (CONVOLVE_TYPE_AUGMENT_STRIP);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-sample-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, window_title);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, image_view);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, label_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, prediction_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, prediction_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, top_box);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, top_grid);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleView, augment_strip);

  gtk_widget_class_install_action (widget_class, "sample.previous", NULL, previous_action);
  gtk_widget_class_install_action (widget_class, "sample.next", NULL, next_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "sample.previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "sample.next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
convolve_sample_view_init (ConvolveSampleView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  convolve_image_view_set_natural_size (self->image_view, 256);
}
