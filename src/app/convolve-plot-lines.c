/* convolve-plot-lines.c: draws the lines and markers of plot series.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-plot-lines.h"

/* Cuts the segment (x0, y0)-(x1, y1) to the rows top..bottom; FALSE
 * when none of it falls there. */
static gboolean
clip_segment (double *x0,
              double *y0,
              double *x1,
              double *y1,
              double  top,
              double  bottom)
{
  double dx = *x1 - *x0, dy = *y1 - *y0;
  double t0 = 0.0, t1 = 1.0;

  if (dy == 0.0)
    return *y0 >= top && *y0 <= bottom;
  t0 = MAX (t0, MIN ((top - *y0) / dy, (bottom - *y0) / dy));
  t1 = MIN (t1, MAX ((top - *y0) / dy, (bottom - *y0) / dy));
  if (t0 > t1)
    return FALSE;
  /* ends inside stay exactly where they were */
  if (t1 < 1.0)
    {
      *x1 = *x0 + dx * t1;
      *y1 = *y0 + dy * t1;
    }
  if (t0 > 0.0)
    {
      *x0 += dx * t0;
      *y0 += dy * t0;
    }
  return TRUE;
}

/* Every point, for series with no more than two points per column. */
static void
draw_line_points (cairo_t                  *cr,
                  const ConvolvePlotSeries *series,
                  gboolean                  smoothed,
                  const ConvolvePlotLayout *layout,
                  double                    top,
                  double                    bottom)
{
  const double *xs = convolve_plot_series_get_x (series);
  const double *ys = convolve_plot_series_get_y (series, smoothed);
  gsize n = convolve_plot_series_get_n_points (series);
  double last_x = 0.0, last_y = 0.0;
  gboolean have_last = FALSE, pen_down = FALSE;

  for (gsize i = 0; i < n; i++)
    {
      double px, py, x0, y0, x1, y1;

      if (!isfinite (ys[i]) || !isfinite (xs[i]))
        {
          have_last = pen_down = FALSE;
          continue;
        }
      px = convolve_plot_layout_x_to_pixel (layout, xs[i]);
      py = CLAMP (convolve_plot_layout_y_to_pixel (layout, ys[i]), -1e9, 1e9);
      x0 = last_x;
      y0 = last_y;
      x1 = px;
      y1 = py;
      if (have_last && clip_segment (&x0, &y0, &x1, &y1, top, bottom))
        {
          if (!pen_down || x0 != last_x || y0 != last_y)
            cairo_move_to (cr, x0, y0);
          cairo_line_to (cr, x1, y1);
          pen_down = x1 == px && y1 == py;
        }
      else
        pen_down = FALSE;
      last_x = px;
      last_y = py;
      have_last = TRUE;
    }
  cairo_stroke (cr);
}

/* The min..max of each pixel column, for dense series. */
static void
draw_line_columns (cairo_t                  *cr,
                   ConvolvePlotSeries       *series,
                   gboolean                  smoothed,
                   const ConvolvePlotLayout *layout,
                   int                       n_columns,
                   double                    top,
                   double                    bottom)
{
  const ConvolvePlotColumn *columns =
    convolve_plot_series_decimate (series, smoothed, layout->x_lo, layout->x_hi, n_columns);
  double half = cairo_get_line_width (cr) / 2.0;
  gboolean pen_down = FALSE;

  /* A polyline through the middle of each column's min..max, plus a
   * filled bar over min..max where that is taller than the line.
   * Stroking the classic first/min/max/last zigzag instead makes
   * cairo's stroker slow (~100 ms) on its thousands of overlapping
   * segments; this costs a few ms and looks the same. */
  for (int c = 0; c < n_columns; c++)
    {
      double px = layout->area.x + c + 0.5;
      double y_mid;

      if (isnan (columns[c].first))
        continue;
      y_mid = CLAMP (convolve_plot_layout_y_to_pixel (layout, (columns[c].lo + columns[c].hi) / 2.0),
                     top, bottom);
      if (pen_down)
        cairo_line_to (cr, px, y_mid);
      else
        cairo_move_to (cr, px, y_mid);
      pen_down = TRUE;
    }
  cairo_stroke (cr);

  for (int c = 0; c < n_columns; c++)
    {
      double bar_top, bar_bottom;

      if (isnan (columns[c].first))
        continue;
      bar_top = CLAMP (convolve_plot_layout_y_to_pixel (layout, columns[c].hi) - half, top, bottom);
      bar_bottom = CLAMP (convolve_plot_layout_y_to_pixel (layout, columns[c].lo) + half, top, bottom);
      if (bar_bottom - bar_top > 2.0 * half + 0.5)
        cairo_rectangle (cr, layout->area.x + c + 0.5 - half, bar_top, 2.0 * half, bar_bottom - bar_top);
    }
  cairo_fill (cr);
}

static void
draw_line (cairo_t                  *cr,
           ConvolvePlotSeries       *series,
           gboolean                  smoothed,
           const ConvolvePlotLayout *layout)
{
  int n_columns = MAX (1, (int) layout->area.width);
  /* Values far beyond the y range would overflow cairo's fixed-point
   * coordinates: lines are cut a little outside the area (the clip then
   * ends them at its edge, at the true slope). */
  double top = layout->area.y - 4.0;
  double bottom = layout->area.y + layout->area.height + 4.0;

  if (convolve_plot_series_get_n_points (series) <= (gsize) n_columns * 2)
    draw_line_points (cr, series, smoothed, layout, top, bottom);
  else
    draw_line_columns (cr, series, smoothed, layout, n_columns, top, bottom);
}

static void
draw_markers (cairo_t                  *cr,
              const ConvolvePlotSeries *series,
              gboolean                  smoothed,
              const ConvolvePlotLayout *layout)
{
  const double *xs = convolve_plot_series_get_x (series);
  const double *ys = convolve_plot_series_get_y (series, smoothed);
  gsize n = convolve_plot_series_get_n_points (series);

  /* Markers on a dense series would only be a thick smear. */
  if (n > layout->area.width / 4.0)
    return;

  for (gsize i = 0; i < n; i++)
    {
      if (!isfinite (ys[i]) || !isfinite (xs[i]))
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, convolve_plot_layout_x_to_pixel (layout, xs[i]),
                 convolve_plot_layout_y_to_pixel (layout, ys[i]),
                 CONVOLVE_PLOT_MARKER_RADIUS, 0, 2 * G_PI);
    }
  cairo_fill (cr);
}

void
convolve_plot_draw_series (cairo_t                  *cr,
                           const ConvolvePlotLayout *layout,
                           ConvolvePlotSeries       *series,
                           ConvolvePlotSeriesFlags   flags,
                           gboolean                  smoothed,
                           const GdkRGBA            *color)
{
  const cairo_rectangle_t *area = &layout->area;
  const double r = CONVOLVE_PLOT_MARKER_RADIUS;

  g_return_if_fail (cr != NULL && layout != NULL && series != NULL && color != NULL);

  if (convolve_plot_series_get_n_points (series) == 0)
    return;

  if (flags & CONVOLVE_PLOT_SERIES_LINE)
    {
      cairo_save (cr);
      cairo_rectangle (cr, area->x - 1.0, area->y - 1.0, area->width + 2.0, area->height + 2.0);
      cairo_clip (cr);
      if (smoothed)
        {
          cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * 0.25);
          cairo_set_line_width (cr, 1.0);
          draw_line (cr, series, FALSE, layout);
        }
      gdk_cairo_set_source_rgba (cr, color);
      cairo_set_line_width (cr, smoothed ? 2.0 : 1.5);
      draw_line (cr, series, smoothed, layout);
      cairo_restore (cr);
    }
  if (convolve_plot_flags_have_markers (flags))
    {
      cairo_save (cr);
      cairo_rectangle (cr, area->x - r - 1.0, area->y - r - 1.0,
                       area->width + 2.0 * r + 2.0, area->height + 2.0 * r + 2.0);
      cairo_clip (cr);
      gdk_cairo_set_source_rgba (cr, color);
      draw_markers (cr, series, smoothed, layout);
      cairo_restore (cr);
    }
}
