/* convolve-plot-axes.h: the layout of a ConvolvePlot (margins, nice tick
 * steps and their labels, where the title and the legend go) and the
 * cairo drawing of its axes, grid, title and legend.
 *
 * Cairo, Pango and GdkRGBA only: no widget, so it lays out and draws
 * without a display. The widget (convolve-plot.c) says what to show in a
 * ConvolvePlotAxes; the series are drawn by convolve-plot-lines.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gdk/gdk.h>
#include <pango/pangocairo.h>

G_BEGIN_DECLS

#define CONVOLVE_PLOT_PAD           8.0  /* around the whole plot */
#define CONVOLVE_PLOT_TICK_LENGTH   4.0
#define CONVOLVE_PLOT_MARKER_RADIUS 3.0

typedef struct {
  GdkRGBA  foreground;  /* text and axes, drawn at various alphas */
  gboolean dark;        /* light text: a dark background */
} ConvolvePlotStyle;

typedef struct {
  const char *label;
  GdkRGBA     color;
  gboolean    line;    /* a line for a swatch */
  gboolean    marker;  /* a dot for a swatch (on the line if both) */
} ConvolvePlotLegendEntry;

/* What the axes show. */
typedef struct {
  const PangoFontDescription    *font;        /* the base font; NULL: Sans 10 */
  const char                    *title;       /* nullable, as are the labels */
  const char                    *x_label;
  const char                    *y_label;
  const char                    *empty_text;  /* over the area while empty */
  const ConvolvePlotLegendEntry *legend;
  guint                          n_legend;
  gboolean                       empty;       /* no data to show */
  double                         x_lo, x_hi;  /* the data's ranges, hi > lo */
  double                         y_lo, y_hi;
  gboolean                       round_y;     /* widen y_lo .. y_hi to whole ticks */
  /* Room kept free in the top right corner (a menu button): the title and
   * legend end corner_width short of the right margin, the data area
   * starts at corner_bottom or below. 0: none. */
  double                         corner_width;
  double                         corner_bottom;
} ConvolvePlotAxes;

typedef struct {
  double            x_lo, x_hi, x_step;
  double            y_lo, y_hi, y_step;
  gboolean          empty;
  double            header_top;
  double            header_right;  /* the legend's right limit */
  cairo_rectangle_t area;          /* the data area, in whole pixels */
} ConvolvePlotLayout;

/* Text: the base font scaled (1.0 for labels, 0.85 for ticks and the
 * legend), bold for the title. */
PangoLayout *convolve_plot_text_layout_new (cairo_t                    *cr,
                                            const PangoFontDescription *base,
                                            double                      scale,
                                            gboolean                    bold);
void         convolve_plot_text_size       (PangoLayout *layout,
                                            const char  *text,
                                            double      *width,
                                            double      *height);
/* Shows text so that (x, y) falls at (xalign, yalign) of its box. */
void         convolve_plot_draw_text       (cairo_t     *cr,
                                            PangoLayout *layout,
                                            const char  *text,
                                            double       x,
                                            double       y,
                                            double       xalign,
                                            double       yalign);
void         convolve_plot_set_foreground  (cairo_t                 *cr,
                                            const ConvolvePlotStyle *style,
                                            double                   alpha);

/* 1-2-5 steps: the "nice" step that gives about target intervals (1 for
 * an empty or non-finite range). */
double       convolve_plot_nice_step       (double range,
                                            double target);
/* A tick label: as many decimals as the step needs, thousands as "k". */
char        *convolve_plot_format_tick     (double value,
                                            double step);

void         convolve_plot_axes_layout     (const ConvolvePlotAxes *axes,
                                            cairo_t                *cr,
                                            int                     width,
                                            int                     height,
                                            ConvolvePlotLayout     *layout);
/* The grid, the tick marks and labels, the axes and their titles: what
 * the series are drawn over. */
void         convolve_plot_axes_draw_frame (const ConvolvePlotAxes   *axes,
                                            const ConvolvePlotLayout *layout,
                                            cairo_t                  *cr,
                                            const ConvolvePlotStyle  *style,
                                            int                       height);
/* The title, the legend and (when empty) the empty text: what is drawn
 * over the series. */
void         convolve_plot_axes_draw_legend (const ConvolvePlotAxes   *axes,
                                             const ConvolvePlotLayout *layout,
                                             cairo_t                  *cr,
                                             const ConvolvePlotStyle  *style);

static inline double
convolve_plot_layout_x_to_pixel (const ConvolvePlotLayout *layout,
                                 double                    x)
{
  return layout->area.x + (x - layout->x_lo) / (layout->x_hi - layout->x_lo) * layout->area.width;
}

static inline double
convolve_plot_layout_y_to_pixel (const ConvolvePlotLayout *layout,
                                 double                    y)
{
  return layout->area.y + layout->area.height
         - (y - layout->y_lo) / (layout->y_hi - layout->y_lo) * layout->area.height;
}

G_END_DECLS
