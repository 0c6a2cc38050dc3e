/* convolve-runs-plot.h: recorded runs' validation curves overlaid, drawn
 * with cairo: one colour per curve (a run, or a seed group's mean over a
 * min-max band), a legend, and each curve's best epoch marked with a dot.
 * `convolve-cli runs compare --out` writes it as PNG or SVG; the app's
 * Runs page draws it into its own areas with the theme's colours.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "convolve-report.h"
#include "convolve-run-comparison.h"

G_BEGIN_DECLS

#define CONVOLVE_RUNS_PLOT_EXPORT_WIDTH  1200
#define CONVOLVE_RUNS_PLOT_EXPORT_HEIGHT 480
/* Curves beyond this many reuse the palette's colours. */
#define CONVOLVE_RUNS_PLOT_N_COLORS      8

typedef enum {
  CONVOLVE_RUNS_PLOT_VAL_ACCURACY,
  CONVOLVE_RUNS_PLOT_VAL_LOSS,
} ConvolveRunsPlotMetric;

typedef struct {
  ConvolveReportColor foreground;  /* axes, ticks, labels, legend text */
  ConvolveReportColor background;  /* painted first unless alpha is 0; legend box */
  ConvolveReportColor grid;
  gboolean            dark;        /* the palette's variant for dark backgrounds */
  const char         *empty_text;  /* without any figure; NULL: "No validation figures recorded" */
} ConvolveRunsPlotStyle;

/* Black on white (dark FALSE), or light on dark. */
void    convolve_runs_plot_style_init (ConvolveRunsPlotStyle *style,
                                       gboolean               dark);
/* Curve index's colour: GNOME's palette, lighter shades when dark. */
void    convolve_runs_plot_get_color  (guint                  index,
                                       gboolean               dark,
                                       ConvolveReportColor   *color);

/* One metric's curves into width x height; style NULL: the default. */
void    convolve_runs_plot_draw       (cairo_t                     *cr,
                                       int                          width,
                                       int                          height,
                                       const ConvolveRunComparison *comparison,
                                       ConvolveRunsPlotMetric       metric,
                                       const ConvolveRunsPlotStyle *style);

/* Both metrics side by side (accuracy left, loss right) as PNG or SVG
 * bytes, black on white (see convolve_report_render). */
GBytes *convolve_runs_plot_render     (ConvolveReportFormat          format,
                                       int                           width,
                                       int                           height,
                                       const ConvolveRunComparison  *comparison,
                                       GError                      **error);

/* One metric alone, as the app's plots export it. */
GBytes *convolve_runs_plot_render_metric (ConvolveReportFormat          format,
                                          int                           width,
                                          int                           height,
                                          const ConvolveRunComparison  *comparison,
                                          ConvolveRunsPlotMetric        metric,
                                          GError                      **error);

G_END_DECLS
