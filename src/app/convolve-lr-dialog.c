/* convolve-lr-dialog.c: the LR finder's dialog, see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-lr-dialog.h"
#include "convolve-lr-plot.h"

struct _ConvolveLrDialog
{
  AdwWindow               parent_instance;

  GtkDrawingArea         *plot_area;
  GtkLabel               *status_label;
  GtkProgressBar         *progress_bar;
  GtkButton              *use_button;

  GCancellable           *cancellable;
  GArray                 *points;   /* ConvolveLrPoint so far, while running */
  ConvolveLrFinderResult *result;
  gboolean                running;
};

G_DEFINE_FINAL_TYPE (ConvolveLrDialog, convolve_lr_dialog, ADW_TYPE_WINDOW)

enum {
  USE_LEARNING_RATE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
draw_plot (GtkDrawingArea *area,
           cairo_t        *cr,
           int             width,
           int             height,
           gpointer        user_data)
{
  ConvolveLrDialog *self = CONVOLVE_LR_DIALOG (user_data);
  ConvolveLrPlotStyle style;
  ConvolveLrFinderResult partial = { 0 };
  GdkRGBA foreground;
  double luminance;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &foreground);
  G_GNUC_END_IGNORE_DEPRECATIONS
  luminance = 0.2126 * foreground.red + 0.7152 * foreground.green + 0.0722 * foreground.blue;
  convolve_lr_plot_style_init (&style);
  style.foreground = (ConvolveReportColor) { foreground.red, foreground.green, foreground.blue, foreground.alpha };
  style.background.alpha = 0.0;
  if (luminance > 0.5)
    {
      /* GNOME's lighter blue, red and green on a dark background */
      style.smoothed = (ConvolveReportColor) { 0.384, 0.627, 0.918, 1.0 };
      style.raw = (ConvolveReportColor) { 0.384, 0.627, 0.918, 0.3 };
      style.steep = (ConvolveReportColor) { 0.965, 0.380, 0.318, 1.0 };
      style.valley = (ConvolveReportColor) { 0.341, 0.890, 0.537, 1.0 };
    }

  if (self->result != NULL)
    {
      convolve_lr_plot_draw (cr, width, height, self->result, &style);
      return;
    }
  /* The curve so far, without suggestions yet. */
  partial.points = (ConvolveLrPoint *) self->points->data;
  partial.n_points = self->points->len;
  partial.steep_index = G_MAXUINT;
  partial.valley_index = G_MAXUINT;
  partial.steep_lr = NAN;
  partial.valley_lr = NAN;
  convolve_lr_plot_draw (cr, width, height, &partial, &style);
}

/* Called on the main context (convolve_lr_find_async's promise); the
 * dialog outlives the sweep: it holds a reference until the callback. */
static void
progress_cb (guint                  done,
             guint                  total,
             const ConvolveLrPoint *point,
             gpointer               user_data)
{
  ConvolveLrDialog *self = CONVOLVE_LR_DIALOG (user_data);

  if (!self->running)
    return;
  g_array_append_val (self->points, *point);
  gtk_progress_bar_set_fraction (self->progress_bar, total > 0 ? (double) done / total : 0.0);
  gtk_widget_queue_draw (GTK_WIDGET (self->plot_area));
}

static void
found_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(ConvolveLrDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  ConvolveLrFinderResult *found = convolve_lr_find_finish (result, &error);
  double suggestion;

  self->running = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  if (found == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* Translators: %s says why the learning-rate sweep failed */
          g_autofree char *text = g_strdup_printf (_("The sweep failed: %s"), error->message);

          gtk_label_set_text (self->status_label, text);
        }
      return;
    }
  self->result = found;
  gtk_widget_queue_draw (GTK_WIDGET (self->plot_area));
  suggestion = convolve_lr_dialog_get_suggestion (self);
  if (isfinite (suggestion))
    {
      char rate[G_ASCII_DTOSTR_BUF_SIZE];
      g_autofree char *text = NULL;

      g_snprintf (rate, sizeof rate, "%.2g", suggestion);
      /* Translators: %s is a learning rate, e.g. "0.0012" */
      text = g_strdup_printf (_("Suggested learning rate: %s (the valley of the smoothed loss)"), rate);
      gtk_label_set_text (self->status_label, text);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "lr.use", TRUE);
    }
  else
    gtk_label_set_text (self->status_label, _("The sweep was too short to suggest a rate: the loss exploded at once."));
}

static void
use_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  ConvolveLrDialog *self = CONVOLVE_LR_DIALOG (widget);
  double suggestion = convolve_lr_dialog_get_suggestion (self);

  if (!isfinite (suggestion))
    return;
  g_signal_emit (self, signals[USE_LEARNING_RATE], 0, suggestion);
  gtk_window_close (GTK_WINDOW (self));
}

gboolean
convolve_lr_dialog_is_running (ConvolveLrDialog *self)
{
  g_return_val_if_fail (CONVOLVE_IS_LR_DIALOG (self), FALSE);
  return self->running;
}

const ConvolveLrFinderResult *
convolve_lr_dialog_get_result (ConvolveLrDialog *self)
{
  g_return_val_if_fail (CONVOLVE_IS_LR_DIALOG (self), NULL);
  return self->result;
}

double
convolve_lr_dialog_get_suggestion (ConvolveLrDialog *self)
{
  g_return_val_if_fail (CONVOLVE_IS_LR_DIALOG (self), NAN);

  if (self->result == NULL)
    return NAN;
  if (isfinite (self->result->valley_lr))
    return self->result->valley_lr;
  return self->result->steep_lr;
}

static gboolean
convolve_lr_dialog_close_request (GtkWindow *window)
{
  g_cancellable_cancel (CONVOLVE_LR_DIALOG (window)->cancellable);
  return GTK_WINDOW_CLASS (convolve_lr_dialog_parent_class)->close_request (window);
}

static void
convolve_lr_dialog_dispose (GObject *object)
{
  ConvolveLrDialog *self = CONVOLVE_LR_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (convolve_lr_dialog_parent_class)->dispose (object);
}

static void
convolve_lr_dialog_finalize (GObject *object)
{
  ConvolveLrDialog *self = CONVOLVE_LR_DIALOG (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->points, g_array_unref);
  g_clear_pointer (&self->result, convolve_lr_finder_result_free);
  G_OBJECT_CLASS (convolve_lr_dialog_parent_class)->finalize (object);
}

static void
convolve_lr_dialog_class_init (ConvolveLrDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = convolve_lr_dialog_dispose;
  object_class->finalize = convolve_lr_dialog_finalize;
  window_class->close_request = convolve_lr_dialog_close_request;

  signals[USE_LEARNING_RATE] =
    g_signal_new ("use-learning-rate", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  gtk_widget_class_install_action (GTK_WIDGET_CLASS (klass), "lr.use", NULL, use_action);
  gtk_widget_class_add_binding_action (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
convolve_lr_dialog_init (ConvolveLrDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = adw_window_title_new (_("Find Learning Rate"), _("A short sweep on a copy of the weights"));

  self->cancellable = g_cancellable_new ();
  self->points = g_array_new (FALSE, FALSE, sizeof (ConvolveLrPoint));

  gtk_window_set_title (GTK_WINDOW (self), _("Find Learning Rate"));
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 520);
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  self->use_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Use This")));
  gtk_widget_add_css_class (GTK_WIDGET (self->use_button), "suggested-action");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->use_button), "lr.use");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "lr.use", FALSE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->use_button), _("Put the suggested rate into the training settings"));
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), GTK_WIDGET (self->use_button));
  gtk_box_append (GTK_BOX (box), header);

  gtk_widget_set_margin_top (content, 12);
  gtk_widget_set_margin_bottom (content, 12);
  gtk_widget_set_margin_start (content, 12);
  gtk_widget_set_margin_end (content, 12);
  gtk_widget_set_vexpand (content, TRUE);
  self->plot_area = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->plot_area), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->plot_area), "card");
  gtk_drawing_area_set_draw_func (self->plot_area, draw_plot, self, NULL);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (self->plot_area));
  self->progress_bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (self->progress_bar));
  self->status_label = GTK_LABEL (gtk_label_new (_("Sweeping the learning rate from 1e-7 upwards…")));
  gtk_label_set_wrap (self->status_label, TRUE);
  gtk_label_set_xalign (self->status_label, 0.0);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (self->status_label));
  gtk_box_append (GTK_BOX (box), content);
  adw_window_set_content (ADW_WINDOW (self), box);
}

ConvolveLrDialog *
convolve_lr_dialog_new (GtkWindow                    *parent,
                        const ConvolveModel          *model,
                        ConvolveDataset              *train,
                        const ConvolveLrFinderConfig *config)
{
  ConvolveLrDialog *self;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (train != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (CONVOLVE_TYPE_LR_DIALOG,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
  self->running = TRUE;
  /* The sweep holds a reference until found_cb: progress_data stays valid. */
  convolve_lr_find_async (model, train, config, progress_cb, self, self->cancellable,
                          found_cb, g_object_ref (self));
  return self;
}
