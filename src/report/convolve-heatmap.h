/* convolve-heatmap.h: a heatmap (saliency, Grad-CAM) drawn translucently
 * over the image it explains, scaled up pixel-exact, for the predictor
 * and for convolve-cli explain.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "convolve-colormap.h"

G_BEGIN_DECLS

/* A new ARGB32 surface of (width * scale) x (height * scale): the planar
 * uint8 image (channels 1 or 3, height x width) upscaled nearest-neighbour,
 * with map (height x width values in [0, 1], nullable: the image alone)
 * over it in colormap at opacity alpha (0 to 1). NULL when a size is out of
 * range (scale 1 to 64, sides 1 to 4096). */
cairo_surface_t *convolve_heatmap_overlay (const guint8     *pixels,
                                           int               channels,
                                           int               height,
                                           int               width,
                                           const float      *map,
                                           int               scale,
                                           ConvolveColormap  colormap,
                                           double            alpha);

G_END_DECLS
