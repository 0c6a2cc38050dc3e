/* convolve-plot-series.h: the data of one ConvolvePlot series, and the
 * pure computation on it: the smoothed copy of its values, their
 * decimation to pixel columns, and the ranges the axes are fitted to.
 *
 * GLib and libm only, no GTK: the model of the plot (in the manner of
 * libdazzle's DzlGraphModel), testable without a display. The widget
 * (convolve-plot.c) owns the series and draws them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ConvolvePlotSeries ConvolvePlotSeries;

/* The points of a series that fall in one pixel column, in data space. */
typedef struct {
  double first;  /* NAN: no point falls in this column */
  double lo;
  double hi;
} ConvolvePlotColumn;

/* Tukey's "far out" fences: values more than this many interquartile
 * ranges beyond the quartiles are outliers for the automatic y range. */
#define CONVOLVE_PLOT_OUTLIER_FENCE      3.0
/* Below this many points quartiles say little: the range covers them all. */
#define CONVOLVE_PLOT_OUTLIER_MIN_POINTS 8

ConvolvePlotSeries *convolve_plot_series_new          (void);
void                convolve_plot_series_free         (ConvolvePlotSeries *series);

/* Drops every point. */
void                convolve_plot_series_clear        (ConvolvePlotSeries *series);
/* Appends n points, smoothing y with the given weight (0 .. <1; 0 keeps
 * the raw values). x should be non-decreasing; non-finite values are kept
 * (they leave a gap) but count towards no extent. */
void                convolve_plot_series_append       (ConvolvePlotSeries *series,
                                                       const double       *x,
                                                       const double       *y,
                                                       gsize               n,
                                                       double              weight);
/* Smooths every point again with a new weight. */
void                convolve_plot_series_resmooth     (ConvolvePlotSeries *series,
                                                       double              weight);

gsize               convolve_plot_series_get_n_points (const ConvolvePlotSeries *series);
const double       *convolve_plot_series_get_x        (const ConvolvePlotSeries *series);
/* The raw values, or (smoothed) their exponential moving average. */
const double       *convolve_plot_series_get_y        (const ConvolvePlotSeries *series,
                                                       gboolean                  smoothed);
/* The extent of the finite x, and of the finite y at finite x; FALSE (and
 * min > max) when there is none. Either pointer may be NULL. */
gboolean            convolve_plot_series_get_x_extent (const ConvolvePlotSeries *series,
                                                       double                   *min,
                                                       double                   *max);
gboolean            convolve_plot_series_get_y_extent (const ConvolvePlotSeries *series,
                                                       double                   *min,
                                                       double                   *max);
/* Changes whenever the points or their smoothing do. */
guint64             convolve_plot_series_get_serial   (const ConvolvePlotSeries *series);

/* Index of the point nearest to x (x sorted), or -1 when there is none. */
gssize              convolve_plot_series_nearest      (const ConvolvePlotSeries *series,
                                                       double                    x);

/* The min and max of the finite points that fall in each of n_columns
 * equal columns over x_lo .. x_hi (points outside go to the first or the
 * last column), so that drawing costs the same however many points there
 * are. Cached until the points, the columns or the range change; valid
 * until the next call. */
const ConvolvePlotColumn *
                    convolve_plot_series_decimate     (ConvolvePlotSeries *series,
                                                       gboolean            smoothed,
                                                       double              x_lo,
                                                       double              x_hi,
                                                       int                 n_columns);

/* The x range to show for these series: their joint extent, from 0 when
 * none is negative (training curves start at step or epoch 0). FALSE when
 * there is no point, and then 0 .. 1. hi > lo on return. */
gboolean            convolve_plot_series_fit_x        (ConvolvePlotSeries * const *series,
                                                       guint                       n_series,
                                                       double                     *lo,
                                                       double                     *hi);
/* The y extent to show: that of every point of lines and whole, or with
 * ignore_outliers, that of the points of lines within Tukey's far-out
 * fences (Q1 - 3 IQR .. Q3 + 3 IQR) together with every point of whole
 * (series drawn with markers). lo > hi when there is nothing to show. */
void                convolve_plot_series_fit_y        (ConvolvePlotSeries * const *lines,
                                                       guint                       n_lines,
                                                       ConvolvePlotSeries * const *whole,
                                                       guint                       n_whole,
                                                       gboolean                    ignore_outliers,
                                                       double                     *lo,
                                                       double                     *hi);
/* Makes a fitted y range fit to draw: 0 .. 1 when it is empty (lo > hi or
 * NaN), widened by 10% of |hi| (or 1 at 0) each way when it is a single
 * value. */
void                convolve_plot_series_pad_y        (double *lo,
                                                       double *hi);

/* The k-th smallest of values[0..n) (Wirth's selection; reorders them). */
double              convolve_plot_select_kth          (double *values,
                                                       gsize   n,
                                                       gsize   k);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolvePlotSeries, convolve_plot_series_free)

G_END_DECLS
