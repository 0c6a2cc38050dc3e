/* convolve-plot-lines.h: draws the series of a ConvolvePlot (lines,
 * decimated when dense, cut at the data area's edges; markers) with
 * cairo, in the manner of libdazzle's DzlGraphLineRenderer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-plot.h"
#include "convolve-plot-axes.h"
#include "convolve-plot-series.h"

G_BEGIN_DECLS

/* A series without a line is drawn as markers. */
static inline gboolean
convolve_plot_flags_have_markers (ConvolvePlotSeriesFlags flags)
{
  return (flags & CONVOLVE_PLOT_SERIES_MARKERS) != 0 || (flags & CONVOLVE_PLOT_SERIES_LINE) == 0;
}

/* Draws series as flags say, in color, inside layout's data area (lines
 * end at its edges, markers may overhang them a little). smoothed: the
 * line follows the smoothed values, with the raw ones faint behind. */
void convolve_plot_draw_series (cairo_t                  *cr,
                                const ConvolvePlotLayout *layout,
                                ConvolvePlotSeries       *series,
                                ConvolvePlotSeriesFlags   flags,
                                gboolean                  smoothed,
                                const GdkRGBA            *color);

G_END_DECLS
