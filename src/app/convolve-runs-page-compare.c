/* convolve-runs-page-compare.c: the runs page's comparison of the
 * selected runs: both plots (drawn by convolve-runs-plot.c with the
 * theme's colours), their export, and the table of the settings that
 * differ, highlighted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <inttypes.h>

#include "convolve-runs-page-private.h"
#include "convolve-runs-plot.h"

/* The plots' export size, as the training page's. */
#define EXPORT_WIDTH  1000
#define EXPORT_HEIGHT 600

void
_convolve_runs_page_show_differing (ConvolveRunsPage *self)
{
  GtkWidget *child;
  const GArray *differing;
  guint n_runs;

  gtk_widget_queue_draw (GTK_WIDGET (self->accuracy_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->loss_area));
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->compare_grid))) != NULL)
    gtk_grid_remove (self->compare_grid, child);
  if (self->comparison == NULL)
    {
      GtkWidget *label = gtk_label_new (_("Select runs to see their curves; Ctrl or Shift and click selects several."));

      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_widget_add_css_class (label, "dim-label");
      gtk_grid_attach (self->compare_grid, label, 0, 0, 1, 1);
      return;
    }

  differing = convolve_run_comparison_get_differing (self->comparison);
  n_runs = convolve_run_comparison_get_n_runs (self->comparison);

  /* A row per run, a column per setting that differs (highlighted). */
  for (guint d = 0; d < differing->len; d++)
    {
      GtkWidget *title = gtk_label_new (convolve_run_setting_get_title (g_array_index (differing, guint, d)));

      gtk_label_set_xalign (GTK_LABEL (title), 1.0);
      gtk_widget_add_css_class (title, "dim-label");
      gtk_grid_attach (self->compare_grid, title, d + 1, 0, 1, 1);
    }
  for (guint r = 0; r < n_runs; r++)
    {
      const ConvolveRunRecord *run = convolve_run_comparison_get_run (self->comparison, r);
      g_autofree char *tooltip = g_strdup_printf (_("Run %" PRId64), run->id);
      GtkWidget *name = gtk_label_new (run->name);

      gtk_label_set_xalign (GTK_LABEL (name), 0.0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (name), 18);
      gtk_widget_set_tooltip_text (name, tooltip);
      gtk_grid_attach (self->compare_grid, name, 0, r + 1, 1, 1);
      for (guint d = 0; d < differing->len; d++)
        {
          g_autofree char *value = convolve_run_setting_format (g_array_index (differing, guint, d), run);
          GtkWidget *label = gtk_label_new (value);

          gtk_label_set_xalign (GTK_LABEL (label), 1.0);
          gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
          gtk_label_set_max_width_chars (GTK_LABEL (label), 16);
          gtk_widget_set_tooltip_text (label, value);
          gtk_widget_add_css_class (label, "accent");
          gtk_widget_add_css_class (label, "numeric");
          gtk_grid_attach (self->compare_grid, label, d + 1, r + 1, 1, 1);
        }
    }
  if (differing->len == 0)
    {
      GtkWidget *label = gtk_label_new (n_runs > 1 ? _("Every setting is the same.")
                                                   : _("Select two or more runs to compare them."));

      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_widget_add_css_class (label, "dim-label");
      gtk_grid_attach (self->compare_grid, label, 0, n_runs + 1, 1, 1);
    }
}

void
_convolve_runs_page_draw_plot (GtkDrawingArea *area,
                               cairo_t        *cr,
                               int             width,
                               int             height,
                               gpointer        user_data)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (user_data);
  ConvolveRunsPlotStyle style;
  GdkRGBA foreground;
  double luminance;
  g_autoptr(ConvolveRunComparison) empty = NULL;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &foreground);
  G_GNUC_END_IGNORE_DEPRECATIONS
  luminance = 0.2126 * foreground.red + 0.7152 * foreground.green + 0.0722 * foreground.blue;
  convolve_runs_plot_style_init (&style, luminance > 0.5);
  style.foreground = (ConvolveReportColor) { foreground.red, foreground.green, foreground.blue, foreground.alpha };
  style.grid = (ConvolveReportColor) { foreground.red, foreground.green, foreground.blue, 0.12 };
  /* The card paints the background; the dots' rims take the card's shade. */
  style.background.alpha = 0.0;

  if (self->comparison == NULL)
    {
      empty = convolve_run_comparison_new (NULL, NULL, 0, FALSE);
      style.empty_text = _("No run selected");
    }
  convolve_runs_plot_draw (cr, width, height, self->comparison != NULL ? self->comparison : empty,
                           area == self->loss_area ? CONVOLVE_RUNS_PLOT_VAL_LOSS : CONVOLVE_RUNS_PLOT_VAL_ACCURACY,
                           &style);
}

static void
exported_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ConvolveRunsPage) self = _convolve_runs_page_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      if (self != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("Could not export the plot: %s"), error->message);

          _convolve_runs_page_show_toast (self, message);
        }
      return;
    }
  if (self != NULL)
    _convolve_runs_page_show_toast (self, _("Plot exported"));
}

static void
export_response_cb (GtkNativeDialog  *chooser,
                    int               response,
                    ConvolveRunsPage *self)
{
  const char *target = g_object_get_data (G_OBJECT (chooser), "convolve-target");
  g_autoptr(GFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT && self->comparison != NULL &&
      (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) != NULL)
    {
      bytes = convolve_runs_plot_render_metric (g_str_has_suffix (target, "svg") ? CONVOLVE_REPORT_FORMAT_SVG
                                                                                : CONVOLVE_REPORT_FORMAT_PNG,
                                                EXPORT_WIDTH, EXPORT_HEIGHT, self->comparison,
                                                g_str_has_prefix (target, "loss") ? CONVOLVE_RUNS_PLOT_VAL_LOSS
                                                                                  : CONVOLVE_RUNS_PLOT_VAL_ACCURACY,
                                                &error);
      if (bytes == NULL)
        _convolve_runs_page_show_toast (self, error->message);
      else
        g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                             self->cancellable, exported_cb, _convolve_runs_page_weak_ref_new (self));
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

void
_convolve_runs_page_export_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (widget);
  const char *target = g_variant_get_string (parameter, NULL);
  gboolean svg = g_str_has_suffix (target, "svg");
  gboolean loss = g_str_has_prefix (target, "loss");
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (self->comparison == NULL)
    {
      _convolve_runs_page_show_toast (self, _("Select runs to export their curves"));
      return;
    }
  chooser = gtk_file_chooser_native_new (loss ? _("Export Validation Loss Plot") : _("Export Validation Accuracy Plot"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_filter_set_name (filter, svg ? _("SVG Images") : _("PNG Images"));
  gtk_file_filter_add_suffix (filter, svg ? "svg" : "png");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser),
                                     loss ? (svg ? "runs-loss.svg" : "runs-loss.png")
                                          : (svg ? "runs-accuracy.svg" : "runs-accuracy.png"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "convolve-target", g_strdup (target), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
