/* convolve-plot-axes.c: the layout, axes, ticks and legend of a plot.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-plot-axes.h"

#define LEGEND_SWATCH 18.0
#define LEGEND_GAP    16.0

/* ---------------------------------------------------------------- text */

PangoLayout *
convolve_plot_text_layout_new (cairo_t                    *cr,
                               const PangoFontDescription *base,
                               double                      scale,
                               gboolean                    bold)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font;
  int size;

  font = base ? pango_font_description_copy (base) : pango_font_description_new ();
  size = pango_font_description_get_size (font);
  if (size <= 0)
    size = 10 * PANGO_SCALE;
  if (pango_font_description_get_family (font) == NULL)
    pango_font_description_set_family (font, "Sans");
  if (pango_font_description_get_size_is_absolute (font))
    pango_font_description_set_absolute_size (font, size * scale);
  else
    pango_font_description_set_size (font, (int) (size * scale));
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  return layout;
}

void
convolve_plot_text_size (PangoLayout *layout,
                         const char  *text,
                         double      *width,
                         double      *height)
{
  PangoRectangle logical;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_extents (layout, NULL, &logical);
  if (width)
    *width = logical.width;
  if (height)
    *height = logical.height;
}

void
convolve_plot_draw_text (cairo_t     *cr,
                         PangoLayout *layout,
                         const char  *text,
                         double       x,
                         double       y,
                         double       xalign,
                         double       yalign)
{
  double width, height;

  convolve_plot_text_size (layout, text, &width, &height);
  cairo_move_to (cr, round (x - width * xalign), round (y - height * yalign));
  pango_cairo_show_layout (cr, layout);
}

void
convolve_plot_set_foreground (cairo_t                 *cr,
                              const ConvolvePlotStyle *style,
                              double                   alpha)
{
  cairo_set_source_rgba (cr, style->foreground.red, style->foreground.green,
                         style->foreground.blue, style->foreground.alpha * alpha);
}

static gboolean
is_nonempty (const char *text)
{
  return text != NULL && text[0] != '\0';
}

/* --------------------------------------------------------------- ticks */

double
convolve_plot_nice_step (double range,
                         double target)
{
  double raw, magnitude, normalized;

  if (!(range > 0.0) || !isfinite (range))
    return 1.0;
  raw = range / MAX (target, 1.0);
  magnitude = pow (10.0, floor (log10 (raw)));
  normalized = raw / magnitude;
  if (normalized < 1.5)
    return magnitude;
  if (normalized < 3.0)
    return 2.0 * magnitude;
  if (normalized < 7.0)
    return 5.0 * magnitude;
  return 10.0 * magnitude;
}

char *
convolve_plot_format_tick (double value,
                           double step)
{
  int decimals;

  if (fabs (value) < step * 1e-6)
    value = 0.0;
  if (step >= 1000.0 && fmod (step, 1000.0) == 0.0)
    return g_strdup_printf ("%gk", value / 1000.0);
  decimals = step >= 1.0 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  return g_strdup_printf ("%.*f", CLAMP (decimals, 0, 9), value);
}

/* The ticks on lo .. hi: for (v = first_tick (); v <= last_tick (); v += step),
 * the tolerances keep rounding from dropping the ends. */
static double
first_tick (double lo,
            double step)
{
  return ceil (lo / step - 1e-9) * step;
}

static double
last_tick (double hi,
           double step)
{
  return hi + step * 1e-6;
}

/* -------------------------------------------------------------- legend */

/* Lays out the title, and below it the legend entries in rows inside
 * [left, right]; draws them when style is non-NULL. Returns the height
 * used. */
static double
axes_header (const ConvolvePlotAxes  *axes,
             cairo_t                 *cr,
             PangoLayout             *title_layout,
             PangoLayout             *layout,
             double                   left,
             double                   right,
             double                   top,
             const ConvolvePlotStyle *style)
{
  double x = left;
  double y = top;
  double row_height = 0.0;
  double title_height = 0.0;
  gboolean any = FALSE;  /* an entry on the current row */

  if (is_nonempty (axes->title))
    {
      convolve_plot_text_size (title_layout, axes->title, NULL, &title_height);
      if (style != NULL)
        {
          convolve_plot_set_foreground (cr, style, 1.0);
          convolve_plot_draw_text (cr, title_layout, axes->title, x, y, 0.0, 0.0);
        }
      y += title_height + 4.0;
    }

  for (guint i = 0; i < axes->n_legend; i++)
    {
      const ConvolvePlotLegendEntry *entry = &axes->legend[i];
      double width, height, entry_width;

      if (!is_nonempty (entry->label))
        continue;

      convolve_plot_text_size (layout, entry->label, &width, &height);
      entry_width = LEGEND_SWATCH + 6.0 + width;
      if (any && x + entry_width > right)
        {
          x = left;
          y += row_height + 2.0;
          row_height = 0.0;
        }
      row_height = MAX (row_height, height);
      any = TRUE;

      if (style != NULL)
        {
          double cy = round (y + height / 2.0) + 0.5;

          gdk_cairo_set_source_rgba (cr, &entry->color);
          if (entry->line)
            {
              cairo_set_line_width (cr, 2.0);
              cairo_move_to (cr, x, cy);
              cairo_line_to (cr, x + LEGEND_SWATCH, cy);
              cairo_stroke (cr);
            }
          if (entry->marker)
            {
              cairo_arc (cr, x + LEGEND_SWATCH / 2.0, cy, CONVOLVE_PLOT_MARKER_RADIUS, 0, 2 * G_PI);
              cairo_fill (cr);
            }
          convolve_plot_set_foreground (cr, style, 0.85);
          convolve_plot_draw_text (cr, layout, entry->label, x + LEGEND_SWATCH + 6.0, y, 0.0, 0.0);
        }
      x += entry_width + LEGEND_GAP;
    }

  if (!any)
    return title_height;
  return (y - top) + row_height;
}

/* -------------------------------------------------------------- layout */

void
convolve_plot_axes_layout (const ConvolvePlotAxes *axes,
                           cairo_t                *cr,
                           int                     width,
                           int                     height,
                           ConvolvePlotLayout     *out)
{
  g_autoptr(PangoLayout) tick_layout = NULL;
  g_autoptr(PangoLayout) text_layout = NULL;
  g_autoptr(PangoLayout) title_layout = NULL;
  double y_lo = axes->y_lo, y_hi = axes->y_hi;
  double line_height, text_height, top, bottom, left, right, label_width = 0.0;
  double header_height;

  g_return_if_fail (axes != NULL && cr != NULL && out != NULL);

  tick_layout = convolve_plot_text_layout_new (cr, axes->font, 0.85, FALSE);
  text_layout = convolve_plot_text_layout_new (cr, axes->font, 1.0, FALSE);
  title_layout = convolve_plot_text_layout_new (cr, axes->font, 1.0, TRUE);
  memset (out, 0, sizeof *out);
  out->empty = axes->empty;

  convolve_plot_text_size (tick_layout, "0123456789", NULL, &line_height);
  convolve_plot_text_size (text_layout, "Ag", NULL, &text_height);

  /* top: the title and the legend, clear of the corner */
  top = CONVOLVE_PLOT_PAD;
  out->header_top = top;
  out->header_right = width - CONVOLVE_PLOT_PAD - axes->corner_width;
  header_height = axes_header (axes, cr, title_layout, tick_layout, CONVOLVE_PLOT_PAD,
                               out->header_right, top, NULL);
  if (header_height > 0.0)
    top += header_height + line_height / 2.0 + 3.0;  /* clear of the top tick label */
  top = MAX (top, CONVOLVE_PLOT_PAD + line_height / 2.0);
  top = MAX (top, axes->corner_bottom);

  /* bottom: tick labels, x title */
  bottom = CONVOLVE_PLOT_PAD + CONVOLVE_PLOT_TICK_LENGTH + 2.0 + line_height;
  if (is_nonempty (axes->x_label))
    bottom += text_height + 2.0;

  /* y ticks need the data area's height; the left margin needs the ticks */
  out->area.height = MAX (1.0, height - top - bottom);
  out->y_step = convolve_plot_nice_step (y_hi - y_lo, out->area.height / 40.0);
  if (axes->round_y)
    {
      y_lo = floor (y_lo / out->y_step + 1e-9) * out->y_step;
      y_hi = ceil (y_hi / out->y_step - 1e-9) * out->y_step;
    }
  out->y_lo = y_lo;
  out->y_hi = y_hi;

  for (double v = first_tick (y_lo, out->y_step); v <= last_tick (y_hi, out->y_step); v += out->y_step)
    {
      g_autofree char *text = convolve_plot_format_tick (v, out->y_step);
      double w;
      convolve_plot_text_size (tick_layout, text, &w, NULL);
      label_width = MAX (label_width, w);
    }

  left = CONVOLVE_PLOT_PAD + label_width + CONVOLVE_PLOT_TICK_LENGTH + 4.0;
  if (is_nonempty (axes->y_label))
    left += text_height + 4.0;
  right = CONVOLVE_PLOT_PAD + 12.0;  /* room for half of the last x tick label */

  out->area.x = round (left);
  out->area.y = round (top);
  out->area.width = MAX (1.0, round (width - left - right));
  out->area.height = MAX (1.0, round (height - top - bottom));

  out->x_lo = axes->x_lo;
  out->x_hi = axes->x_hi;
  out->x_step = convolve_plot_nice_step (axes->x_hi - axes->x_lo, out->area.width / 90.0);
}

/* ------------------------------------------------------------- drawing */

/* A grid line across the data area from (x0, y0) to (x1, y1), its tick
 * mark from (tx0, ty0) to (tx1, ty1), and its label. */
static void
draw_tick (cairo_t                 *cr,
           const ConvolvePlotStyle *style,
           PangoLayout             *layout,
           const double             grid[4],
           const double             mark[4],
           const char              *text,
           double                   text_x,
           double                   text_y,
           double                   xalign,
           double                   yalign)
{
  convolve_plot_set_foreground (cr, style, 0.1);
  cairo_move_to (cr, grid[0], grid[1]);
  cairo_line_to (cr, grid[2], grid[3]);
  cairo_stroke (cr);
  convolve_plot_set_foreground (cr, style, 0.5);
  cairo_move_to (cr, mark[0], mark[1]);
  cairo_line_to (cr, mark[2], mark[3]);
  cairo_stroke (cr);
  convolve_plot_set_foreground (cr, style, 0.75);
  convolve_plot_draw_text (cr, layout, text, text_x, text_y, xalign, yalign);
}

void
convolve_plot_axes_draw_frame (const ConvolvePlotAxes   *axes,
                               const ConvolvePlotLayout *layout,
                               cairo_t                  *cr,
                               const ConvolvePlotStyle  *style,
                               int                       height)
{
  g_autoptr(PangoLayout) tick_layout = NULL;
  g_autoptr(PangoLayout) text_layout = NULL;
  const cairo_rectangle_t *area = &layout->area;
  double axis_x = area->x - 0.5;
  double axis_y = area->y + area->height + 0.5;

  g_return_if_fail (axes != NULL && layout != NULL && cr != NULL && style != NULL);

  tick_layout = convolve_plot_text_layout_new (cr, axes->font, 0.85, FALSE);
  text_layout = convolve_plot_text_layout_new (cr, axes->font, 1.0, FALSE);

  /* grid lines and tick labels */
  cairo_set_line_width (cr, 1.0);
  for (double v = first_tick (layout->y_lo, layout->y_step);
       v <= last_tick (layout->y_hi, layout->y_step); v += layout->y_step)
    {
      g_autofree char *text = convolve_plot_format_tick (v, layout->y_step);
      double py = round (convolve_plot_layout_y_to_pixel (layout, v)) + 0.5;

      draw_tick (cr, style, tick_layout,
                 (double[4]) { area->x, py, area->x + area->width, py },
                 (double[4]) { axis_x - CONVOLVE_PLOT_TICK_LENGTH, py, axis_x, py },
                 text, axis_x - CONVOLVE_PLOT_TICK_LENGTH - 3.0, py, 1.0, 0.5);
    }
  for (double v = first_tick (layout->x_lo, layout->x_step);
       v <= last_tick (layout->x_hi, layout->x_step); v += layout->x_step)
    {
      g_autofree char *text = convolve_plot_format_tick (v, layout->x_step);
      double px = round (convolve_plot_layout_x_to_pixel (layout, v)) + 0.5;

      draw_tick (cr, style, tick_layout,
                 (double[4]) { px, area->y, px, area->y + area->height },
                 (double[4]) { px, axis_y, px, axis_y + CONVOLVE_PLOT_TICK_LENGTH },
                 text, px, axis_y + CONVOLVE_PLOT_TICK_LENGTH + 2.0, 0.5, 0.0);
    }

  /* axes */
  convolve_plot_set_foreground (cr, style, 0.6);
  cairo_move_to (cr, axis_x, area->y);
  cairo_line_to (cr, axis_x, axis_y);
  cairo_line_to (cr, area->x + area->width, axis_y);
  cairo_stroke (cr);

  /* axis titles */
  convolve_plot_set_foreground (cr, style, 0.85);
  if (is_nonempty (axes->x_label))
    convolve_plot_draw_text (cr, text_layout, axes->x_label,
                             area->x + area->width / 2.0, height - CONVOLVE_PLOT_PAD, 0.5, 1.0);
  if (is_nonempty (axes->y_label))
    {
      double w, h;
      convolve_plot_text_size (text_layout, axes->y_label, &w, &h);
      cairo_save (cr);
      cairo_move_to (cr, CONVOLVE_PLOT_PAD, round (area->y + area->height / 2.0 + w / 2.0));
      cairo_rotate (cr, -G_PI / 2.0);
      pango_cairo_update_layout (cr, text_layout);
      pango_cairo_show_layout (cr, text_layout);
      cairo_restore (cr);
    }
}

void
convolve_plot_axes_draw_legend (const ConvolvePlotAxes   *axes,
                                const ConvolvePlotLayout *layout,
                                cairo_t                  *cr,
                                const ConvolvePlotStyle  *style)
{
  g_autoptr(PangoLayout) tick_layout = NULL;
  g_autoptr(PangoLayout) text_layout = NULL;
  g_autoptr(PangoLayout) title_layout = NULL;

  g_return_if_fail (axes != NULL && layout != NULL && cr != NULL && style != NULL);

  tick_layout = convolve_plot_text_layout_new (cr, axes->font, 0.85, FALSE);
  text_layout = convolve_plot_text_layout_new (cr, axes->font, 1.0, FALSE);
  title_layout = convolve_plot_text_layout_new (cr, axes->font, 1.0, TRUE);

  axes_header (axes, cr, title_layout, tick_layout, CONVOLVE_PLOT_PAD,
               layout->header_right, layout->header_top, style);

  if (layout->empty && axes->empty_text != NULL)
    {
      convolve_plot_set_foreground (cr, style, 0.55);
      convolve_plot_draw_text (cr, text_layout, axes->empty_text,
                               layout->area.x + layout->area.width / 2.0,
                               layout->area.y + layout->area.height / 2.0, 0.5, 0.5);
    }
}
