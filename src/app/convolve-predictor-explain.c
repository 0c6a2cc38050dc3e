/* convolve-predictor-explain.c: why this answer. A saliency or Grad-CAM
 * map (convolve-explain.h) drawn over the predictor's image for the top
 * class or the one whose bar was clicked, and the activations window.
 *
 * A map needs a backward pass: on the tutorial model at 32 x 32 x 3 it
 * takes about 7 ms, more while training shares the cores, so it runs on a
 * worker thread on the predictor's private copy of the weights (copying
 * them into it takes about 2 ms on the main thread, where the session's
 * model lives). There is at most one worker: a request while one runs
 * only bumps the generation, and the worker's result, stale then, is
 * dropped and a new map computed from the newest state. So training that
 * publishes weights faster than maps are made costs one map at a time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-activations-window.h"
#include "convolve-colormap.h"
#include "convolve-explain.h"
#include "convolve-image-view.h"
#include "convolve-predictor-private.h"

/* Enough of the image shows through to see what the map covers. */
#define HEATMAP_ALPHA 0.55

typedef struct {
  ConvolveModel         *model;       /* the predictor's private copy, lent */
  float                 *input;
  ConvolveShape          shape;
  int                    class_index;
  ConvolveExplainMethod  method;
  guint                  generation;
  float                 *map;         /* shape.h x shape.w */
} ExplainData;

static void convolve_predictor_explain_start (ConvolvePredictor *self);

static void
explain_data_free (ExplainData *data)
{
  g_clear_pointer (&data->model, convolve_model_free);
  g_free (data->input);
  g_free (data->map);
  g_free (data);
}

static int
top_class (ConvolvePredictor *self)
{
  int top = 0;

  for (guint i = 1; i < self->n_classes; i++)
    if (self->probabilities[i] > self->probabilities[top])
      top = i;
  return top;
}

/* The class a map would explain now, or -1 when there is nothing to explain. */
static int
wanted_class (ConvolvePredictor *self)
{
  if (self->probabilities == NULL || self->n_classes == 0)
    return -1;
  if (self->explain_class >= 0 && (guint) self->explain_class < self->n_classes)
    return self->explain_class;
  return top_class (self);
}

static void
set_explained (ConvolvePredictor *self,
               const float       *map,
               int                class_index,
               const char        *text,
               gboolean           is_error)
{
  convolve_image_view_set_heatmap (CONVOLVE_IMAGE_VIEW (self->image_view), map, HEATMAP_ALPHA);
  self->explained_class = map != NULL ? class_index : -1;
  gtk_widget_set_visible (self->legend, map != NULL);
  gtk_label_set_text (GTK_LABEL (self->explain_label), text != NULL ? text : "");
  gtk_widget_set_visible (self->explain_label, text != NULL);
  if (is_error)
    gtk_widget_add_css_class (self->explain_label, "warning");
  else
    gtk_widget_remove_css_class (self->explain_label, "warning");
  _convolve_predictor_explain_mark_bars (self);
  _convolve_predictor_emit_explained (self);
}

static char *
explain_caption (ConvolvePredictorView  view,
                 const char            *class_name,
                 gboolean               empty)
{
  /* Grad-CAM keeps only what speaks for the class; when nothing at the
   * last convolution does, say so rather than show a blank map. */
  if (view == CONVOLVE_PREDICTOR_VIEW_GRAD_CAM && empty)
    /* Translators: under the image; %s is a class */
    return g_strdup_printf (_("Grad-CAM finds no region that speaks for %s"), class_name);
  if (view == CONVOLVE_PREDICTOR_VIEW_GRAD_CAM)
    /* Translators: under the image, e.g. "Grad-CAM for cat" */
    return g_strdup_printf (_("Grad-CAM for %s"), class_name);
  /* Translators: under the image, e.g. "Saliency for cat" */
  return g_strdup_printf (_("Saliency for %s"), class_name);
}

static void
explain_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ExplainData *data = task_data;
  GError *error = NULL;

  if (convolve_explain (data->model, data->input, data->class_index, data->method, data->map, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_explain_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ConvolvePredictor *self = CONVOLVE_PREDICTOR (object);
  GTask *task = G_TASK (result);
  ExplainData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (task, &error);

  /* The copy comes back for the next map. */
  self->explain_busy = FALSE;
  if (self->explain_model == NULL)
    self->explain_model = g_steal_pointer (&data->model);

  if (self->explain_disposed)
    return;

  /* Cleared, or the weights, the image, the class or the method changed
   * meanwhile: a map of what is current now, if anything. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      g_task_get_cancellable (task) != self->explain_cancellable ||
      data->generation != self->explain_generation)
    {
      convolve_predictor_explain_start (self);
      return;
    }

  if (!ok)
    set_explained (self, NULL, -1, error->message, TRUE);
  else
    {
      gboolean empty = convolve_explain_map_is_empty (data->map, (gsize) data->shape.h * data->shape.w);
      g_autofree char *text = explain_caption (self->explain_view, self->class_names[data->class_index], empty);
      set_explained (self, data->map, data->class_index, text, FALSE);
    }
}

/* Brings the private copy up to the current weights; FALSE (and a message)
 * when it cannot be made. */
static gboolean
sync_explain_model (ConvolvePredictor *self)
{
  g_autoptr(GError) error = NULL;

  if (self->explain_model != NULL && !self->explain_model_stale)
    return TRUE;
  if (self->explain_model == NULL ||
      !convolve_model_copy_weights (self->explain_model, self->model, NULL))
    {
      /* another architecture: a new copy */
      g_clear_pointer (&self->explain_model, convolve_model_free);
      self->explain_model = convolve_model_copy (self->model, 1, &error);
      if (self->explain_model == NULL)
        {
          set_explained (self, NULL, -1, error->message, TRUE);
          return FALSE;
        }
    }
  self->explain_model_stale = FALSE;
  return TRUE;
}

/* Computes the map of the current state, unless the worker is busy: it
 * starts again when it is done. */
static void
convolve_predictor_explain_start (ConvolvePredictor *self)
{
  g_autoptr(GTask) task = NULL;
  ExplainData *data;
  int class_index = wanted_class (self);

  if (self->explain_busy)
    return;
  if (self->explain_view == CONVOLVE_PREDICTOR_VIEW_IMAGE || class_index < 0 || self->model == NULL)
    {
      if (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (self->image_view)) ||
          gtk_widget_get_visible (self->explain_label))
        set_explained (self, NULL, -1, NULL, FALSE);
      return;
    }
  if (self->explain_view == CONVOLVE_PREDICTOR_VIEW_GRAD_CAM && convolve_model_find_last_conv (self->model) < 0)
    {
      set_explained (self, NULL, -1,
                     _("Grad-CAM needs a convolution layer, which this model does not have. Saliency works."),
                     TRUE);
      return;
    }
  if (!sync_explain_model (self))
    return;

  data = g_new0 (ExplainData, 1);
  data->model = g_steal_pointer (&self->explain_model);
  data->shape = self->input_shape;
  data->input = g_memdup2 (self->input, sizeof (float) * data->shape.c * data->shape.h * data->shape.w);
  data->class_index = class_index;
  data->method = self->explain_view == CONVOLVE_PREDICTOR_VIEW_GRAD_CAM
               ? CONVOLVE_EXPLAIN_GRAD_CAM : CONVOLVE_EXPLAIN_SALIENCY;
  data->generation = self->explain_generation;
  data->map = g_new0 (float, (gsize) data->shape.h * data->shape.w);

  if (self->explain_cancellable == NULL)
    self->explain_cancellable = g_cancellable_new ();
  self->explain_busy = TRUE;
  task = g_task_new (self, self->explain_cancellable, on_explain_done, NULL);
  g_task_set_source_tag (task, convolve_predictor_explain_start);
  g_task_set_name (task, "[convolve] predictor explain");
  g_task_set_task_data (task, data, (GDestroyNotify) explain_data_free);
  g_task_run_in_thread (task, explain_thread);
}

static void
update_activations (ConvolvePredictor *self)
{
  convolve_activations_window_update (CONVOLVE_ACTIVATIONS_WINDOW (self->activations_window),
                                      self->probabilities != NULL ? self->model : NULL,
                                      self->source != NULL ? self->source->display_name : NULL);
}

static void
convolve_predictor_explain_request (ConvolvePredictor *self)
{
  self->explain_generation++;
  convolve_predictor_explain_start (self);
}

void
_convolve_predictor_explain_weights_changed (ConvolvePredictor *self)
{
  self->explain_model_stale = TRUE;
  self->explain_generation++;
}

void
_convolve_predictor_explain_update (ConvolvePredictor *self)
{
  if (self->source == NULL)
    {
      /* cleared: drop any map under way */
      if (self->explain_cancellable != NULL)
        {
          g_cancellable_cancel (self->explain_cancellable);
          g_clear_object (&self->explain_cancellable);
        }
      self->explain_class = -1;
    }
  convolve_predictor_explain_request (self);

  /* A hidden window catches up when it is shown again. */
  if (self->activations_window != NULL && gtk_widget_get_visible (self->activations_window))
    update_activations (self);
}

/* ------------------------------------------------------------ the bars */

static void
on_bar_pressed (GtkGestureClick *gesture,
                int              n_press,
                double           x,
                double           y,
                gpointer         user_data)
{
  GtkWidget *widget = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  ConvolvePredictor *self = CONVOLVE_PREDICTOR (gtk_widget_get_ancestor (widget, CONVOLVE_TYPE_PREDICTOR));
  int class_index = GPOINTER_TO_INT (user_data);

  /* The class explained already: back to following the top class. */
  if (class_index == self->explain_class && self->explain_view != CONVOLVE_PREDICTOR_VIEW_IMAGE)
    class_index = -1;
  convolve_predictor_set_explain_class (self, class_index);
}

void
_convolve_predictor_explain_watch_bar (ConvolvePredictor *self,
                                       GtkWidget         *widget,
                                       guint              class_index)
{
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_bar_pressed), GUINT_TO_POINTER (class_index));
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_cursor_from_name (widget, "pointer");
  gtk_widget_set_tooltip_text (widget, _("Click to see what speaks for this class"));
}

void
_convolve_predictor_explain_mark_bars (ConvolvePredictor *self)
{
  for (guint i = 0; i < self->bar_names->len; i++)
    {
      GtkWidget *name = g_ptr_array_index (self->bar_names, i);
      GtkWidget *bar = g_ptr_array_index (self->bar_widgets, i);

      if ((int) i == self->explained_class)
        {
          gtk_widget_add_css_class (name, "explained");
          gtk_widget_add_css_class (bar, "explained");
        }
      else
        {
          gtk_widget_remove_css_class (name, "explained");
          gtk_widget_remove_css_class (bar, "explained");
        }
    }
}

/* ----------------------------------------------------------- the legend */

static void
draw_legend (GtkDrawingArea *area,
             cairo_t        *cr,
             int             width,
             int             height,
             gpointer        user_data)
{
  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, 0, width, 0);

  for (int i = 0; i <= 16; i++)
    {
      double r, g, b;

      convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, i / 16.0, &r, &g, &b);
      cairo_pattern_add_color_stop_rgb (gradient, i / 16.0, r, g, b);
    }
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_set_source (cr, gradient);
  cairo_fill (cr);
  cairo_pattern_destroy (gradient);
}

static void
on_view_selected (ConvolvePredictor *self)
{
  guint selected = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->view_dropdown));

  if (selected > CONVOLVE_PREDICTOR_VIEW_GRAD_CAM || selected == (guint) self->explain_view)
    return;
  self->explain_view = selected;
  convolve_predictor_explain_request (self);
}

/* -------------------------------------------------------------- set up */

void
_convolve_predictor_explain_init (ConvolvePredictor *self)
{
  self->explain_view = CONVOLVE_PREDICTOR_VIEW_IMAGE;
  self->explain_class = -1;
  self->explained_class = -1;
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->legend_scale), draw_legend, NULL, NULL);
  g_signal_connect_swapped (self->view_dropdown, "notify::selected", G_CALLBACK (on_view_selected), self);
}

void
_convolve_predictor_explain_dispose (ConvolvePredictor *self)
{
  self->explain_disposed = TRUE;
  if (self->explain_cancellable != NULL)
    g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->explain_cancellable);
  if (self->activations_window != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (self->activations_window));
      g_clear_object (&self->activations_window);
    }
}

void
_convolve_predictor_explain_finalize (ConvolvePredictor *self)
{
  g_clear_pointer (&self->explain_model, convolve_model_free);
}

/* ---------------------------------------------------------- public API */

void
convolve_predictor_set_view (ConvolvePredictor     *predictor,
                             ConvolvePredictorView  view)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));
  g_return_if_fail (view <= CONVOLVE_PREDICTOR_VIEW_GRAD_CAM);

  gtk_drop_down_set_selected (GTK_DROP_DOWN (predictor->view_dropdown), view);
}

ConvolvePredictorView
convolve_predictor_get_view (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), CONVOLVE_PREDICTOR_VIEW_IMAGE);
  return predictor->explain_view;
}

void
convolve_predictor_set_explain_class (ConvolvePredictor *predictor,
                                      int                class_index)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));

  predictor->explain_class = class_index >= 0 && (guint) class_index < predictor->n_classes ? class_index : -1;
  /* Choosing a class means wanting to see why. */
  if (predictor->explain_view == CONVOLVE_PREDICTOR_VIEW_IMAGE && predictor->explain_class >= 0)
    convolve_predictor_set_view (predictor, CONVOLVE_PREDICTOR_VIEW_SALIENCY);
  else
    convolve_predictor_explain_request (predictor);
}

int
convolve_predictor_get_explained_class (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), -1);
  return predictor->explained_class;
}

void
convolve_predictor_show_activations (ConvolvePredictor *predictor)
{
  g_return_if_fail (CONVOLVE_IS_PREDICTOR (predictor));

  if (predictor->activations_window == NULL)
    {
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (predictor));

      predictor->activations_window = g_object_ref_sink (convolve_activations_window_new ());
      if (GTK_IS_WINDOW (root))
        gtk_window_set_transient_for (GTK_WINDOW (predictor->activations_window), GTK_WINDOW (root));
    }
  /* The model's activations are those of its last forward pass, which
   * may have been another image's (an evaluation): predict this one. */
  if (predictor->input != NULL && predictor->model != NULL &&
      convolve_shape_equal (predictor->input_shape, convolve_model_get_input (predictor->model)))
    {
      g_autofree float *probabilities = g_new (float, predictor->n_classes);
      if (!convolve_model_predict (predictor->model, predictor->input, 1, probabilities, NULL))
        g_clear_pointer (&predictor->probabilities, g_free);
    }
  update_activations (predictor);
  gtk_window_present (GTK_WINDOW (predictor->activations_window));
}

GtkWidget *
convolve_predictor_get_image_view (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), NULL);
  return predictor->image_view;
}

const char *
convolve_predictor_get_explain_text (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), NULL);

  if (!gtk_widget_get_visible (predictor->explain_label))
    return NULL;
  return gtk_label_get_text (GTK_LABEL (predictor->explain_label));
}

GtkWidget *
convolve_predictor_get_activations_window (ConvolvePredictor *predictor)
{
  g_return_val_if_fail (CONVOLVE_IS_PREDICTOR (predictor), NULL);
  return predictor->activations_window;
}
