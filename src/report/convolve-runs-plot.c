/* convolve-runs-plot.c: recorded runs' curves overlaid, see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-runs-plot.h"

#include <glib/gi18n.h>
#include <math.h>

#define MARGIN_LEFT   64.0
#define MARGIN_RIGHT  20.0
#define MARGIN_TOP    34.0
#define MARGIN_BOTTOM 46.0
#define FONT_SIZE     12.0
#define LEGEND_ROW    (FONT_SIZE + 6.0)
#define LEGEND_SWATCH 22.0

/* GNOME's palette (blue 3, orange 3, green 4, purple 3, red 3, brown 3,
 * yellow 5, and a teal), and lighter shades of them for dark themes. */
static const ConvolveReportColor palette_light[CONVOLVE_RUNS_PLOT_N_COLORS] = {
  { 0.110, 0.443, 0.847, 1.0 },
  { 1.000, 0.471, 0.000, 1.0 },
  { 0.180, 0.761, 0.494, 1.0 },
  { 0.569, 0.255, 0.675, 1.0 },
  { 0.878, 0.106, 0.141, 1.0 },
  { 0.596, 0.416, 0.267, 1.0 },
  { 0.898, 0.647, 0.039, 1.0 },
  { 0.000, 0.545, 0.545, 1.0 },
};
static const ConvolveReportColor palette_dark[CONVOLVE_RUNS_PLOT_N_COLORS] = {
  { 0.384, 0.627, 0.918, 1.0 },
  { 1.000, 0.639, 0.282, 1.0 },
  { 0.341, 0.890, 0.537, 1.0 },
  { 0.753, 0.380, 0.796, 1.0 },
  { 0.965, 0.380, 0.318, 1.0 },
  { 0.804, 0.671, 0.561, 1.0 },
  { 0.973, 0.894, 0.361, 1.0 },
  { 0.380, 0.835, 0.835, 1.0 },
};

void
convolve_runs_plot_style_init (ConvolveRunsPlotStyle *style,
                               gboolean               dark)
{
  g_return_if_fail (style != NULL);

  if (dark)
    *style = (ConvolveRunsPlotStyle) {
      .foreground = { 1.0, 1.0, 1.0, 0.9 },
      .background = { 0.14, 0.14, 0.14, 1.0 },
      .grid = { 1.0, 1.0, 1.0, 0.1 },
      .dark = TRUE,
    };
  else
    *style = (ConvolveRunsPlotStyle) {
      .foreground = { 0.0, 0.0, 0.0, 1.0 },
      .background = { 1.0, 1.0, 1.0, 1.0 },
      .grid = { 0.0, 0.0, 0.0, 0.1 },
      .dark = FALSE,
    };
}

void
convolve_runs_plot_get_color (guint                index,
                              gboolean             dark,
                              ConvolveReportColor *color)
{
  g_return_if_fail (color != NULL);
  *color = (dark ? palette_dark : palette_light)[index % CONVOLVE_RUNS_PLOT_N_COLORS];
}

typedef struct {
  double x0, x1;        /* data: epochs */
  double y0, y1;        /* data: the metric */
  double left, right;   /* device */
  double top, bottom;
} Frame;

static double
frame_x (const Frame *f,
         double       epoch)
{
  return f->left + (epoch - f->x0) / (f->x1 - f->x0) * (f->right - f->left);
}

static double
frame_y (const Frame *f,
         double       value)
{
  return f->bottom - (value - f->y0) / (f->y1 - f->y0) * (f->bottom - f->top);
}

static void
show_text_at (cairo_t    *cr,
              const char *text,
              double      x,
              double      y,
              double      align_x)  /* 0 left, 0.5 centre, 1 right; y is the top */
{
  cairo_text_extents_t extents;

  cairo_text_extents (cr, text, &extents);
  cairo_move_to (cr, x - extents.x_advance * align_x, y + FONT_SIZE);
  cairo_show_text (cr, text);
}

typedef struct {
  const double *mean;
  const double *lo;
  const double *hi;
} Series;

static Series
curve_series (const ConvolveRunCurve *curve,
              ConvolveRunsPlotMetric  metric)
{
  if (metric == CONVOLVE_RUNS_PLOT_VAL_LOSS)
    return (Series) { curve->val_loss, curve->val_loss_min, curve->val_loss_max };
  return (Series) { curve->val_accuracy, curve->val_accuracy_min, curve->val_accuracy_max };
}

/* A step of 1, 2 or 5 times a power of ten giving about n ticks. */
static double
nice_step (double span,
           int    n)
{
  double raw = span / MAX (n, 1);
  double power = pow (10.0, floor (log10 (raw)));
  double fraction = raw / power;

  if (fraction <= 1.0)
    return power;
  if (fraction <= 2.0)
    return 2.0 * power;
  if (fraction <= 5.0)
    return 5.0 * power;
  return 10.0 * power;
}

/* The band of a seed group: min to max, filled faintly. Gaps (epochs
 * without a value) split it. */
static void
draw_band (cairo_t      *cr,
           const Frame  *f,
           const Series *s,
           guint         n)
{
  guint start = 0;

  while (start < n)
    {
      guint end;

      while (start < n && !(isfinite (s->lo[start]) && isfinite (s->hi[start])))
        start++;
      end = start;
      while (end < n && isfinite (s->lo[end]) && isfinite (s->hi[end]))
        end++;
      if (end > start)
        {
          cairo_move_to (cr, frame_x (f, start + 1), frame_y (f, s->hi[start]));
          for (guint e = start + 1; e < end; e++)
            cairo_line_to (cr, frame_x (f, e + 1), frame_y (f, s->hi[e]));
          for (guint e = end; e-- > start;)
            cairo_line_to (cr, frame_x (f, e + 1), frame_y (f, s->lo[e]));
          cairo_close_path (cr);
          cairo_fill (cr);
        }
      start = end;
    }
}

static void
draw_line (cairo_t      *cr,
           const Frame  *f,
           const double *values,
           guint         n)
{
  gboolean started = FALSE;

  for (guint e = 0; e < n; e++)
    {
      if (!isfinite (values[e]))
        {
          started = FALSE;
          continue;
        }
      if (started)
        cairo_line_to (cr, frame_x (f, e + 1), frame_y (f, values[e]));
      else
        {
          /* A lone point still shows: a dot-long segment with round caps. */
          cairo_move_to (cr, frame_x (f, e + 1), frame_y (f, values[e]));
          cairo_rel_line_to (cr, 0.0, 0.0);
        }
      started = TRUE;
    }
  cairo_stroke (cr);
}

static void
draw_legend (cairo_t                     *cr,
             const Frame                 *f,
             const ConvolveRunComparison *comparison,
             ConvolveRunsPlotMetric       metric,
             const ConvolveRunsPlotStyle *style)
{
  guint n = convolve_run_comparison_get_n_curves (comparison);
  double width = 0.0, height, x, y;
  ConvolveReportColor box = style->background;

  for (guint c = 0; c < n; c++)
    {
      cairo_text_extents_t extents;

      cairo_text_extents (cr, convolve_run_comparison_get_curve (comparison, c)->label, &extents);
      width = MAX (width, extents.x_advance);
    }
  {
    cairo_text_extents_t extents;

    cairo_text_extents (cr, _("Best epoch"), &extents);
    width = MAX (width, extents.x_advance);
  }
  width = MIN (width, MAX (40.0, (f->right - f->left) * 0.6)) + LEGEND_SWATCH + 18.0;
  height = (n + 1) * LEGEND_ROW + 8.0;
  /* Accuracy rises and loss falls: the legend goes where the curves are not. */
  x = f->right - width - 8.0;
  y = metric == CONVOLVE_RUNS_PLOT_VAL_LOSS ? f->top + 8.0 : f->bottom - height - 8.0;

  box.alpha = 0.85;
  convolve_report_set_source (cr, &box);
  cairo_rectangle (cr, x, y, width, height);
  cairo_fill_preserve (cr);
  convolve_report_set_source (cr, &style->grid);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);

  for (guint c = 0; c < n; c++)
    {
      const ConvolveRunCurve *curve = convolve_run_comparison_get_curve (comparison, c);
      ConvolveReportColor color;
      double row = y + 4.0 + c * LEGEND_ROW;

      convolve_runs_plot_get_color (c, style->dark, &color);
      if (curve->n_runs > 1)
        {
          ConvolveReportColor faint = color;

          faint.alpha = 0.25;
          convolve_report_set_source (cr, &faint);
          cairo_rectangle (cr, x + 6.0, row + 3.0, LEGEND_SWATCH, LEGEND_ROW - 8.0);
          cairo_fill (cr);
        }
      convolve_report_set_source (cr, &color);
      cairo_set_line_width (cr, 2.0);
      cairo_move_to (cr, x + 6.0, row + LEGEND_ROW / 2.0 - 1.0);
      cairo_line_to (cr, x + 6.0 + LEGEND_SWATCH, row + LEGEND_ROW / 2.0 - 1.0);
      cairo_stroke (cr);

      cairo_save (cr);
      cairo_rectangle (cr, x, row, width - 4.0, LEGEND_ROW);
      cairo_clip (cr);
      convolve_report_set_source (cr, &style->foreground);
      show_text_at (cr, curve->label, x + LEGEND_SWATCH + 12.0, row, 0.0);
      cairo_restore (cr);
    }

  /* What the dots mean, in the foreground colour. */
  {
    double row = y + 4.0 + n * LEGEND_ROW;

    convolve_report_set_source (cr, &style->foreground);
    cairo_arc (cr, x + 6.0 + LEGEND_SWATCH / 2.0, row + LEGEND_ROW / 2.0 - 1.0, 4.0, 0.0, 2 * G_PI);
    cairo_fill (cr);
    show_text_at (cr, _("Best epoch"), x + LEGEND_SWATCH + 12.0, row, 0.0);
  }
}

void
convolve_runs_plot_draw (cairo_t                     *cr,
                         int                          width,
                         int                          height,
                         const ConvolveRunComparison *comparison,
                         ConvolveRunsPlotMetric       metric,
                         const ConvolveRunsPlotStyle *style)
{
  ConvolveRunsPlotStyle default_style;
  guint n_curves, n_epochs;
  double low = INFINITY, high = -INFINITY, span, x_step, y_step;
  const char *title;
  Frame f;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (comparison != NULL);

  if (style == NULL)
    {
      convolve_runs_plot_style_init (&default_style, FALSE);
      style = &default_style;
    }
  n_curves = convolve_run_comparison_get_n_curves (comparison);
  n_epochs = convolve_run_comparison_get_n_epochs (comparison);

  cairo_save (cr);
  /* Only this plot's rectangle: two are drawn side by side in one file. */
  cairo_rectangle (cr, 0.0, 0.0, width, height);
  cairo_clip (cr);
  if (style->background.alpha > 0.0)
    {
      convolve_report_set_source (cr, &style->background);
      cairo_paint (cr);
    }
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT_SIZE);

  for (guint c = 0; c < n_curves; c++)
    {
      const ConvolveRunCurve *curve = convolve_run_comparison_get_curve (comparison, c);
      Series s = curve_series (curve, metric);

      for (guint e = 0; e < curve->n_epochs; e++)
        {
          if (isfinite (s.lo[e]))
            low = MIN (low, s.lo[e]);
          if (isfinite (s.hi[e]))
            high = MAX (high, s.hi[e]);
        }
    }

  f.left = MARGIN_LEFT;
  f.right = MAX (f.left + 1.0, width - MARGIN_RIGHT);
  f.top = MARGIN_TOP;
  f.bottom = MAX (f.top + 1.0, height - MARGIN_BOTTOM);
  title = metric == CONVOLVE_RUNS_PLOT_VAL_LOSS ? _("Validation loss") : _("Validation accuracy");
  convolve_report_set_source (cr, &style->foreground);
  cairo_set_font_size (cr, FONT_SIZE + 2.0);
  show_text_at (cr, title, (f.left + f.right) / 2.0, 8.0, 0.5);
  cairo_set_font_size (cr, FONT_SIZE);

  if (!isfinite (low) || n_epochs == 0)
    {
      show_text_at (cr, style->empty_text != NULL ? style->empty_text : _("No validation figures recorded"),
                    width / 2.0, height / 2.0 - FONT_SIZE, 0.5);
      cairo_restore (cr);
      return;
    }

  /* Epochs from 1; a single epoch gets some room either side. */
  f.x0 = n_epochs > 1 ? 1.0 : 0.5;
  f.x1 = n_epochs > 1 ? n_epochs : 1.5;
  span = high - low;
  if (span < 1e-9)
    span = MAX (fabs (high) * 0.2, 0.02);
  y_step = nice_step (span, 5);
  f.y0 = floor ((low - 0.02 * span) / y_step) * y_step;
  f.y1 = ceil ((high + 0.02 * span) / y_step) * y_step;
  if (metric == CONVOLVE_RUNS_PLOT_VAL_ACCURACY)
    {
      f.y0 = MAX (f.y0, 0.0);
      f.y1 = MIN (f.y1, 1.0);
    }
  if (f.y1 <= f.y0)
    f.y1 = f.y0 + y_step;
  x_step = MAX (1.0, nice_step (n_epochs, 10));

  /* Grid, axes, ticks. */
  cairo_set_line_width (cr, 1.0);
  for (double v = f.y0; v <= f.y1 + y_step * 1e-6; v += y_step)
    {
      char tick[G_ASCII_DTOSTR_BUF_SIZE];
      double y = round (frame_y (&f, v)) + 0.5;

      convolve_report_set_source (cr, &style->grid);
      cairo_move_to (cr, f.left, y);
      cairo_line_to (cr, f.right, y);
      cairo_stroke (cr);
      convolve_report_set_source (cr, &style->foreground);
      cairo_move_to (cr, f.left - 4.0, y);
      cairo_line_to (cr, f.left, y);
      cairo_stroke (cr);
      g_ascii_formatd (tick, sizeof tick, "%.3g", fabs (v) < y_step * 1e-6 ? 0.0 : v);
      show_text_at (cr, tick, f.left - 6.0, y - FONT_SIZE / 2.0 - 3.0, 1.0);
    }
  for (double e = 1.0; e <= n_epochs + 1e-9; e += x_step)
    {
      char tick[32];
      double x = round (frame_x (&f, e)) + 0.5;

      g_snprintf (tick, sizeof tick, "%d", (int) e);
      convolve_report_set_source (cr, &style->foreground);
      cairo_move_to (cr, x, f.bottom);
      cairo_line_to (cr, x, f.bottom + 4.0);
      cairo_stroke (cr);
      show_text_at (cr, tick, x, f.bottom + 6.0, 0.5);
    }
  convolve_report_set_source (cr, &style->foreground);
  cairo_rectangle (cr, f.left + 0.5, f.top + 0.5, f.right - f.left, f.bottom - f.top);
  cairo_stroke (cr);
  show_text_at (cr, _("Epoch"), (f.left + f.right) / 2.0, height - FONT_SIZE - 10.0, 0.5);

  /* Bands first, then lines over them, then the best epochs on top. */
  cairo_save (cr);
  cairo_rectangle (cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (guint c = 0; c < n_curves; c++)
    {
      const ConvolveRunCurve *curve = convolve_run_comparison_get_curve (comparison, c);
      Series s = curve_series (curve, metric);
      ConvolveReportColor color;

      if (curve->n_runs < 2)
        continue;
      convolve_runs_plot_get_color (c, style->dark, &color);
      color.alpha = 0.22;
      convolve_report_set_source (cr, &color);
      draw_band (cr, &f, &s, curve->n_epochs);
    }
  cairo_set_line_width (cr, 2.0);
  for (guint c = 0; c < n_curves; c++)
    {
      const ConvolveRunCurve *curve = convolve_run_comparison_get_curve (comparison, c);
      Series s = curve_series (curve, metric);
      ConvolveReportColor color;

      convolve_runs_plot_get_color (c, style->dark, &color);
      convolve_report_set_source (cr, &color);
      draw_line (cr, &f, s.mean, curve->n_epochs);
    }
  /* The dots are not clipped: a best last epoch sits on the frame. */
  cairo_restore (cr);
  for (guint c = 0; c < n_curves; c++)
    {
      const ConvolveRunCurve *curve = convolve_run_comparison_get_curve (comparison, c);
      Series s = curve_series (curve, metric);
      ConvolveReportColor color;
      double value;

      if (curve->best_epoch < 1 || (guint) curve->best_epoch > curve->n_epochs)
        continue;
      value = s.mean[curve->best_epoch - 1];
      if (!isfinite (value))
        continue;
      convolve_runs_plot_get_color (c, style->dark, &color);
      cairo_arc (cr, frame_x (&f, curve->best_epoch), frame_y (&f, value), 5.0, 0.0, 2 * G_PI);
      convolve_report_set_source (cr, &color);
      cairo_fill_preserve (cr);
      convolve_report_set_source (cr, style->background.alpha > 0.0 ? &style->background : &style->foreground);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke (cr);
    }

  draw_legend (cr, &f, comparison, metric, style);
  cairo_restore (cr);
}

typedef struct {
  const ConvolveRunComparison *comparison;
  int                          metric;  /* -1: both */
} RenderData;

static void
draw_for_render (cairo_t  *cr,
                 int       width,
                 int       height,
                 gpointer  user_data)
{
  const RenderData *data = user_data;

  if (data->metric >= 0)
    {
      convolve_runs_plot_draw (cr, width, height, data->comparison, data->metric, NULL);
      return;
    }
  convolve_runs_plot_draw (cr, width / 2, height, data->comparison, CONVOLVE_RUNS_PLOT_VAL_ACCURACY, NULL);
  cairo_save (cr);
  cairo_translate (cr, width / 2, 0.0);
  convolve_runs_plot_draw (cr, width - width / 2, height, data->comparison, CONVOLVE_RUNS_PLOT_VAL_LOSS, NULL);
  cairo_restore (cr);
}

GBytes *
convolve_runs_plot_render (ConvolveReportFormat          format,
                           int                           width,
                           int                           height,
                           const ConvolveRunComparison  *comparison,
                           GError                      **error)
{
  RenderData data = { comparison, -1 };

  g_return_val_if_fail (comparison != NULL, NULL);
  return convolve_report_render (format, width, height, draw_for_render, &data, error);
}

GBytes *
convolve_runs_plot_render_metric (ConvolveReportFormat          format,
                                  int                           width,
                                  int                           height,
                                  const ConvolveRunComparison  *comparison,
                                  ConvolveRunsPlotMetric        metric,
                                  GError                      **error)
{
  RenderData data = { comparison, (int) metric };

  g_return_val_if_fail (comparison != NULL, NULL);
  return convolve_report_render (format, width, height, draw_for_render, &data, error);
}
