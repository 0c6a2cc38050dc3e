/* convolve-image-view.h: shows a small image (a dataset sample or a model
 * input) crisp, nearest-neighbour upscaled, from planar uint8 pixels.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CONVOLVE_TYPE_IMAGE_VIEW (convolve_image_view_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveImageView, convolve_image_view, CONVOLVE, IMAGE_VIEW, GtkWidget)

GtkWidget  *convolve_image_view_new          (void);
/* pixels: channels x height x width bytes, planar (all of channel 0, then
 * channel 1, ...); channels is 1 (grey) or 3 (RGB). Copied. NULL clears. */
void        convolve_image_view_set_pixels   (ConvolveImageView *view,
                                              const guint8      *pixels,
                                              int                channels,
                                              int                height,
                                              int                width);
gboolean    convolve_image_view_has_pixels   (ConvolveImageView *view);
/* map: one value in [0, 1] per pixel of the current image (height x
 * width), drawn over it in viridis at opacity alpha; copied; NULL: the
 * image alone. New pixels clear the heatmap. */
void        convolve_image_view_set_heatmap  (ConvolveImageView *view,
                                              const float       *map,
                                              double             alpha);
gboolean    convolve_image_view_has_heatmap  (ConvolveImageView *view);
/* Where the image is drawn inside the view (FALSE when nothing is). */
gboolean    convolve_image_view_get_image_rect (ConvolveImageView *view,
                                                graphene_rect_t   *rect);
/* The natural size of the longer side, in logical pixels (default 96). */
int         convolve_image_view_get_natural_size (ConvolveImageView *view);
void        convolve_image_view_set_natural_size (ConvolveImageView *view,
                                                  int                size);

/* An RGB texture of planar pixels (as above), each pixel repeated scale x
 * scale times (scale >= 1). */
GdkTexture *convolve_texture_new_from_planar (const guint8 *pixels,
                                              int           channels,
                                              int           height,
                                              int           width,
                                              int           scale);

G_END_DECLS
