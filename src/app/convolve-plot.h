/* convolve-plot.h: a line chart of named series (loss or accuracy over
 * steps or epochs), drawn with cairo.
 *
 * Series are keyed by an id chosen by the caller and grow by appending
 * points; drawing decimates long series to min/max per pixel column, so
 * 100,000 points per series stay cheap, and redraws are coalesced to at
 * most ~30 per second however often points arrive.
 *
 * The automatic y range ignores far outliers ("ignore-outliers", on by
 * default): a loss that starts at 5 and settles near 0.3 is shown around
 * 0.3, and the early values run off the top edge. Every point of a series
 * with markers stays in view.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONVOLVE_TYPE_PLOT (convolve_plot_get_type ())
G_DECLARE_FINAL_TYPE (ConvolvePlot, convolve_plot, CONVOLVE, PLOT, GtkWidget)

typedef enum {
  CONVOLVE_PLOT_SERIES_LINE    = 1 << 0, /* connect the points */
  CONVOLVE_PLOT_SERIES_MARKERS = 1 << 1, /* a dot on every point */
  CONVOLVE_PLOT_SERIES_SMOOTH  = 1 << 2, /* "smoothing" applies; raw drawn faint behind */
} ConvolvePlotSeriesFlags;

typedef enum {
  CONVOLVE_PLOT_FORMAT_PNG,
  CONVOLVE_PLOT_FORMAT_SVG,
} ConvolvePlotFormat;

GtkWidget *convolve_plot_new                (void);

/* Adds a series, or updates the label, flags and colour of an existing one.
 * color is nullable: a palette colour (light or dark to suit the theme) is
 * then picked by order of addition. */
void       convolve_plot_add_series         (ConvolvePlot            *plot,
                                             const char              *id,
                                             const char              *label,
                                             ConvolvePlotSeriesFlags  flags,
                                             const GdkRGBA           *color);
void       convolve_plot_remove_series      (ConvolvePlot            *plot,
                                             const char              *id);
void       convolve_plot_set_series_visible (ConvolvePlot            *plot,
                                             const char              *id,
                                             gboolean                 visible);
/* x must be non-decreasing within a series. Non-finite y values leave a gap. */
void       convolve_plot_append_points      (ConvolvePlot            *plot,
                                             const char              *id,
                                             const double            *x,
                                             const double            *y,
                                             gsize                    n);
void       convolve_plot_set_points         (ConvolvePlot            *plot,
                                             const char              *id,
                                             const double            *x,
                                             const double            *y,
                                             gsize                    n);
/* Drops every point, keeps the series. */
void       convolve_plot_clear              (ConvolvePlot            *plot);
gsize      convolve_plot_get_n_points       (ConvolvePlot            *plot,
                                             const char              *id);

const char *convolve_plot_get_title         (ConvolvePlot *plot);
void        convolve_plot_set_title         (ConvolvePlot *plot, const char *title);
const char *convolve_plot_get_x_label       (ConvolvePlot *plot);
void        convolve_plot_set_x_label       (ConvolvePlot *plot, const char *label);
const char *convolve_plot_get_y_label       (ConvolvePlot *plot);
void        convolve_plot_set_y_label       (ConvolvePlot *plot, const char *label);
const char *convolve_plot_get_empty_text    (ConvolvePlot *plot);
void        convolve_plot_set_empty_text    (ConvolvePlot *plot, const char *text);
double      convolve_plot_get_smoothing     (ConvolvePlot *plot);
void        convolve_plot_set_smoothing     (ConvolvePlot *plot, double smoothing);
/* A fixed y range (e.g. 0..1 for accuracy) instead of one fitted to the data. */
gboolean    convolve_plot_get_fixed_y_range (ConvolvePlot *plot);
void        convolve_plot_set_fixed_y_range (ConvolvePlot *plot, gboolean fixed);
void        convolve_plot_set_y_range       (ConvolvePlot *plot, double y_min, double y_max);
void        convolve_plot_get_y_range       (ConvolvePlot *plot, double *y_min, double *y_max);
/* When fitting the y range to the data, leave out values beyond Tukey's
 * far-out fences (3 interquartile ranges beyond the quartiles) of the
 * series without markers; lines to them are cut at the plot's edge. */
gboolean    convolve_plot_get_ignore_outliers (ConvolvePlot *plot);
void        convolve_plot_set_ignore_outliers (ConvolvePlot *plot, gboolean ignore);
/* A menu for the plot (e.g. export): a small menu button in the plot's
 * top right corner, and the same menu as a context menu (right click,
 * long press, Shift+F10 or the Menu key). NULL: neither. */
GMenuModel *convolve_plot_get_menu_model    (ConvolvePlot *plot);
void        convolve_plot_set_menu_model    (ConvolvePlot *plot, GMenuModel *model);

/* Draws the whole plot (no background fill, no hover readout) with the
 * widget's current theme colours into cr at width x height. */
void       convolve_plot_draw               (ConvolvePlot            *plot,
                                             cairo_t                 *cr,
                                             int                      width,
                                             int                      height);
/* Where the data area falls when drawn at width x height (its left edge is
 * the y axis, its bottom edge the x axis). For tests and for callers that
 * annotate the plot. */
void       convolve_plot_get_data_area      (ConvolvePlot            *plot,
                                             int                      width,
                                             int                      height,
                                             cairo_rectangle_t       *area);
/* The ranges of the axes when drawn at width x height (after fitting to
 * the data and rounding to whole ticks). Any pointer may be NULL. */
void       convolve_plot_get_axis_ranges    (ConvolvePlot            *plot,
                                             int                      width,
                                             int                      height,
                                             double                  *x_lo,
                                             double                  *x_hi,
                                             double                  *y_lo,
                                             double                  *y_hi);
/* The plot as a PNG or SVG file's contents at width x height, with light
 * colours on a white background (so it can be written off the main
 * thread, e.g. with g_file_replace_contents_bytes_async). */
GBytes    *convolve_plot_render             (ConvolvePlot            *plot,
                                             ConvolvePlotFormat       format,
                                             int                      width,
                                             int                      height,
                                             GError                 **error);
/* Writes the plot as PNG or SVG at width x height with light colours on a
 * white background. Atomic: a failed export leaves any previous file. */
gboolean   convolve_plot_export             (ConvolvePlot            *plot,
                                             GFile                   *file,
                                             ConvolvePlotFormat       format,
                                             int                      width,
                                             int                      height,
                                             GError                 **error);

G_END_DECLS
