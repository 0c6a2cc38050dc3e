/* convolve-plot-private.h: the plot widget's state, shared by the files
 * that implement it by concern (convolve-plot.c: properties, series,
 * drawing, menu; convolve-plot-hover.c: the hover readout;
 * convolve-plot-export.c: PNG and SVG export).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-plot.h"
#include "convolve-plot-axes.h"
#include "convolve-plot-series.h"

G_BEGIN_DECLS

/* A series as the plot shows it. */
typedef struct {
  char                    *id;
  char                    *label;
  ConvolvePlotSeriesFlags  flags;
  GdkRGBA                  color;
  gboolean                 has_color;
  guint                    palette_index;
  gboolean                 visible;
  ConvolvePlotSeries      *points;
} ConvolvePlotEntry;

struct _ConvolvePlot
{
  GtkWidget  parent_instance;

  GPtrArray *series;      /* ConvolvePlotEntry, in order of addition */
  guint      next_palette_index;

  char      *title;
  char      *x_label;
  char      *y_label;
  char      *empty_text;
  double     smoothing;
  gboolean   fixed_y_range;
  double     y_min;
  double     y_max;
  gboolean   ignore_outliers;

  /* the y extent fitted to the data, kept until the data change */
  guint64    data_serial;
  guint64    fit_serial;
  gboolean   fit_valid;
  double     fit_lo;
  double     fit_hi;

  GMenuModel *menu_model;
  GtkWidget  *menu_button;   /* GtkMenuButton, while menu_model is set */
  GtkWidget  *context_menu;  /* GtkPopoverMenu, made on first use */

  /* hover readout, in widget coordinates */
  gboolean   hovering;
  double     hover_x;

  guint      redraw_source;
  gboolean   redraw_pending;
  gint64     description_time;
};

/* convolve-plot.c */
gboolean                    _convolve_plot_entry_is_smoothed (ConvolvePlot            *self,
                                                              ConvolvePlotEntry       *entry);
GdkRGBA                     _convolve_plot_entry_color       (ConvolvePlotEntry       *entry,
                                                              const ConvolvePlotStyle *style);
/* A value for the readout and screen readers ("—" when missing). */
char                       *_convolve_plot_format_value      (double                   value);
const PangoFontDescription *_convolve_plot_get_font          (ConvolvePlot            *self);
/* The whole plot with light colours on white, without the readout. */
void                        _convolve_plot_draw_for_export   (ConvolvePlot            *self,
                                                              cairo_t                 *cr,
                                                              int                      width,
                                                              int                      height);

/* convolve-plot-hover.c */
/* Adds the controllers that move the readout: the pointer, Left/Right. */
void                        _convolve_plot_hover_init        (ConvolvePlot             *self);
void                        _convolve_plot_hover_draw        (ConvolvePlot             *self,
                                                              cairo_t                  *cr,
                                                              const ConvolvePlotLayout *layout,
                                                              const ConvolvePlotStyle  *style,
                                                              int                       width);

G_END_DECLS
