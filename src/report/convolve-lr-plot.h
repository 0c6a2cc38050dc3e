/* convolve-lr-plot.h: an LR finder's curve drawn with cairo: the smoothed
 * loss (and, faintly, the raw one) against log10 of the learning rate,
 * with the steep and valley suggestions marked and named. The CLI writes
 * it as PNG or SVG; the app's dialog draws it into its own area.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "convolve-lr-finder.h"
#include "convolve-report.h"

G_BEGIN_DECLS

#define CONVOLVE_LR_PLOT_EXPORT_WIDTH  800
#define CONVOLVE_LR_PLOT_EXPORT_HEIGHT 500

typedef struct {
  ConvolveReportColor foreground;  /* axes, ticks, labels */
  ConvolveReportColor background;  /* painted first unless alpha is 0 */
  ConvolveReportColor smoothed;
  ConvolveReportColor raw;
  ConvolveReportColor steep;
  ConvolveReportColor valley;
} ConvolveLrPlotStyle;

/* Black on white: how files are drawn. */
void    convolve_lr_plot_style_init (ConvolveLrPlotStyle          *style);

/* Draws result into width x height; style NULL: the default. The loss
 * axis spans the smoothed curve (raw points beyond it are clipped), so a
 * last exploding batch does not flatten the rest. */
void    convolve_lr_plot_draw       (cairo_t                      *cr,
                                     int                           width,
                                     int                           height,
                                     const ConvolveLrFinderResult *result,
                                     const ConvolveLrPlotStyle    *style);

/* The drawing as PNG or SVG bytes (see convolve_report_render). */
GBytes *convolve_lr_plot_render     (ConvolveReportFormat          format,
                                     int                           width,
                                     int                           height,
                                     const ConvolveLrFinderResult *result,
                                     GError                      **error);

G_END_DECLS
