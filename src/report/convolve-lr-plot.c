/* convolve-lr-plot.c: an LR finder's curve, see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-lr-plot.h"

#include <glib/gi18n.h>
#include <math.h>

#define MARGIN_LEFT   64.0
#define MARGIN_RIGHT  24.0
#define MARGIN_TOP    24.0
#define MARGIN_BOTTOM 52.0
#define FONT_SIZE     12.0

void
convolve_lr_plot_style_init (ConvolveLrPlotStyle *style)
{
  g_return_if_fail (style != NULL);

  *style = (ConvolveLrPlotStyle) {
    .foreground = { 0.0, 0.0, 0.0, 1.0 },
    .background = { 1.0, 1.0, 1.0, 1.0 },
    .smoothed = { 0.11, 0.44, 0.85, 1.0 },   /* GNOME blue 3 */
    .raw = { 0.11, 0.44, 0.85, 0.25 },
    .steep = { 0.88, 0.11, 0.14, 1.0 },      /* red 3 */
    .valley = { 0.15, 0.64, 0.41, 1.0 },     /* green 4 */
  };
}

typedef struct {
  double x0, x1;        /* data: log10 lr */
  double y0, y1;        /* data: loss */
  double left, right;   /* device */
  double top, bottom;
} Frame;

static double
frame_x (const Frame *f,
         double       log_lr)
{
  return f->left + (log_lr - f->x0) / (f->x1 - f->x0) * (f->right - f->left);
}

static double
frame_y (const Frame *f,
         double       loss)
{
  return f->bottom - (loss - f->y0) / (f->y1 - f->y0) * (f->bottom - f->top);
}

static void
show_text_at (cairo_t    *cr,
              const char *text,
              double      x,
              double      y,
              double      align_x,  /* 0 left, 0.5 centre, 1 right */
              double      align_y)  /* 0 top, 1 baseline */
{
  cairo_text_extents_t extents;

  cairo_text_extents (cr, text, &extents);
  cairo_move_to (cr, x - extents.x_advance * align_x, y + FONT_SIZE * (1.0 - align_y));
  cairo_show_text (cr, text);
}

static void
draw_series (cairo_t                      *cr,
             const Frame                  *f,
             const ConvolveLrFinderResult *result,
             gboolean                      smoothed)
{
  gboolean started = FALSE;

  for (guint i = 0; i < result->n_points; i++)
    {
      const ConvolveLrPoint *p = &result->points[i];
      double loss = smoothed ? p->smoothed_loss : p->loss;

      if (!isfinite (loss))
        break;
      if (started)
        cairo_line_to (cr, frame_x (f, log10 (p->lr)), frame_y (f, loss));
      else
        cairo_move_to (cr, frame_x (f, log10 (p->lr)), frame_y (f, loss));
      started = TRUE;
    }
  cairo_stroke (cr);
}

static void
draw_suggestion (cairo_t                      *cr,
                 const Frame                  *f,
                 const ConvolveLrFinderResult *result,
                 guint                         index,
                 const char                   *name,
                 const ConvolveReportColor    *color,
                 int                           row)
{
  const ConvolveLrPoint *p;
  g_autofree char *label = NULL;
  double x, y;

  if (index >= result->n_points)
    return;
  p = &result->points[index];
  x = frame_x (f, log10 (p->lr));
  y = frame_y (f, p->smoothed_loss);

  convolve_report_set_source (cr, color);
  cairo_set_line_width (cr, 1.0);
  cairo_set_dash (cr, (double[]) { 4.0, 3.0 }, 2, 0.0);
  cairo_move_to (cr, x, f->top);
  cairo_line_to (cr, x, f->bottom);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0.0);
  cairo_arc (cr, x, y, 5.0, 0.0, 2 * G_PI);
  cairo_fill (cr);

  /* Translators: a suggested learning rate on the LR finder's plot, e.g. "valley: 0.0038" */
  label = g_strdup_printf (_("%s: %.2g"), name, p->lr);
  show_text_at (cr, label, x < (f->left + f->right) / 2 ? x + 6.0 : x - 6.0,
                f->top + 4.0 + row * (FONT_SIZE + 4.0),
                x < (f->left + f->right) / 2 ? 0.0 : 1.0, 0.0);
}

void
convolve_lr_plot_draw (cairo_t                      *cr,
                       int                           width,
                       int                           height,
                       const ConvolveLrFinderResult *result,
                       const ConvolveLrPlotStyle    *style)
{
  ConvolveLrPlotStyle default_style;
  Frame f;
  double low = INFINITY, high = -INFINITY, span;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (result != NULL);

  if (style == NULL)
    {
      convolve_lr_plot_style_init (&default_style);
      style = &default_style;
    }

  cairo_save (cr);
  if (style->background.alpha > 0.0)
    {
      convolve_report_set_source (cr, &style->background);
      cairo_paint (cr);
    }
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT_SIZE);

  for (guint i = 0; i < result->n_points; i++)
    if (isfinite (result->points[i].smoothed_loss))
      {
        low = MIN (low, result->points[i].smoothed_loss);
        high = MAX (high, result->points[i].smoothed_loss);
      }
  if (!isfinite (low))
    {
      low = 0.0;
      high = 1.0;
    }
  span = MAX (high - low, 1e-6);

  /* Whole decades; 10.000000000000002 is still 1e1. */
  f.x0 = result->n_points > 0 ? floor (log10 (result->points[0].lr) + 1e-9) : -7.0;
  f.x1 = result->n_points > 0 ? ceil (log10 (result->points[result->n_points - 1].lr) - 1e-9) : 1.0;
  if (f.x1 <= f.x0)
    f.x1 = f.x0 + 1.0;
  f.y0 = low - 0.05 * span;
  f.y1 = high + 0.05 * span;
  f.left = MARGIN_LEFT;
  f.right = MAX (f.left + 1.0, width - MARGIN_RIGHT);
  f.top = MARGIN_TOP;
  f.bottom = MAX (f.top + 1.0, height - MARGIN_BOTTOM);

  /* Axes, a tick per decade, five on the loss axis. */
  convolve_report_set_source (cr, &style->foreground);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, f.left + 0.5, f.top + 0.5, f.right - f.left, f.bottom - f.top);
  cairo_stroke (cr);
  for (double e = f.x0; e <= f.x1 + 1e-9; e += 1.0)
    {
      char tick[32];
      double x = frame_x (&f, e);

      g_snprintf (tick, sizeof tick, "1e%d", (int) e);
      cairo_move_to (cr, x, f.bottom);
      cairo_line_to (cr, x, f.bottom + 4.0);
      cairo_stroke (cr);
      show_text_at (cr, tick, x, f.bottom + 6.0, 0.5, 0.0);
    }
  for (int k = 0; k <= 4; k++)
    {
      char tick[G_ASCII_DTOSTR_BUF_SIZE];
      double value = f.y0 + (f.y1 - f.y0) * k / 4.0;
      double y = frame_y (&f, value);

      g_ascii_formatd (tick, sizeof tick, "%.3g", value);
      cairo_move_to (cr, f.left - 4.0, y);
      cairo_line_to (cr, f.left, y);
      cairo_stroke (cr);
      show_text_at (cr, tick, f.left - 6.0, y - FONT_SIZE / 2.0, 1.0, 0.0);
    }
  show_text_at (cr, _("Learning rate (log scale)"), (f.left + f.right) / 2.0, height - FONT_SIZE - 8.0, 0.5, 0.0);
  cairo_save (cr);
  cairo_translate (cr, 14.0, (f.top + f.bottom) / 2.0);
  cairo_rotate (cr, -G_PI / 2.0);
  show_text_at (cr, _("Smoothed loss"), 0.0, -FONT_SIZE / 2.0, 0.5, 0.0);
  cairo_restore (cr);

  /* The curves, clipped to the frame. */
  cairo_save (cr);
  cairo_rectangle (cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  convolve_report_set_source (cr, &style->raw);
  cairo_set_line_width (cr, 1.0);
  draw_series (cr, &f, result, FALSE);
  convolve_report_set_source (cr, &style->smoothed);
  cairo_set_line_width (cr, 2.0);
  draw_series (cr, &f, result, TRUE);
  cairo_restore (cr);

  draw_suggestion (cr, &f, result, result->steep_index, _("steep"), &style->steep, 0);
  draw_suggestion (cr, &f, result, result->valley_index, _("valley"), &style->valley, 1);
  cairo_restore (cr);
}

static void
draw_for_render (cairo_t  *cr,
                 int       width,
                 int       height,
                 gpointer  user_data)
{
  convolve_lr_plot_draw (cr, width, height, user_data, NULL);
}

GBytes *
convolve_lr_plot_render (ConvolveReportFormat          format,
                         int                           width,
                         int                           height,
                         const ConvolveLrFinderResult *result,
                         GError                      **error)
{
  g_return_val_if_fail (result != NULL, NULL);

  return convolve_report_render (format, width, height, draw_for_render, (gpointer) result, error);
}
