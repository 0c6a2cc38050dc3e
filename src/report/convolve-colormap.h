/* convolve-colormap.h: perceptually uniform colour maps for heatmaps
 * (confusion matrices, saliency, Grad-CAM). viridis reads well on light
 * and dark backgrounds; cividis is also uniform for readers with red-green
 * colour blindness. Tables from matplotlib (scripts/make-colormaps.py).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_COLORMAP_VIRIDIS,
  CONVOLVE_COLORMAP_CIVIDIS,
} ConvolveColormap;

/* The colour at t in [0, 1] (clamped; NaN gives the lowest), interpolated
 * linearly between the 256 table entries; components in [0, 1]. */
void convolve_colormap_lookup (ConvolveColormap  colormap,
                               double            t,
                               double           *red,
                               double           *green,
                               double           *blue);
/* The same as 8-bit sRGB. */
void convolve_colormap_lookup_rgb8 (ConvolveColormap  colormap,
                                    double            t,
                                    guint8            rgb[3]);
/* Black or white, whichever reads better on the colour at t (for counts
 * written on heatmap cells), by the colour's relative luminance. */
gboolean convolve_colormap_text_is_dark (ConvolveColormap colormap,
                                         double           t);

G_END_DECLS
