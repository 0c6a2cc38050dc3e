/* convolve-heatmap.c: image and heatmap blended per pixel, then scaled.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-heatmap.h"

cairo_surface_t *
convolve_heatmap_overlay (const guint8     *pixels,
                          int               channels,
                          int               height,
                          int               width,
                          const float      *map,
                          int               scale,
                          ConvolveColormap  colormap,
                          double            alpha)
{
  cairo_surface_t *surface;
  guint8 *data;
  int stride;
  gsize plane = (gsize) height * width;

  g_return_val_if_fail (pixels != NULL, NULL);
  if ((channels != 1 && channels != 3) || height < 1 || width < 1 || height > 4096 || width > 4096 ||
      scale < 1 || scale > 64)
    return NULL;
  alpha = CLAMP (alpha, 0.0, 1.0);

  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width * scale, height * scale);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      return NULL;
    }
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        gsize at = (gsize) y * width + x;
        double rgb[3];
        guint32 pixel;

        for (int c = 0; c < 3; c++)
          rgb[c] = pixels[(channels == 3 ? c : 0) * plane + at] / 255.0;
        if (map != NULL && isfinite (map[at]))
          {
            double heat[3];

            convolve_colormap_lookup (colormap, map[at], &heat[0], &heat[1], &heat[2]);
            for (int c = 0; c < 3; c++)
              rgb[c] = (1.0 - alpha) * rgb[c] + alpha * heat[c];
          }
        pixel = 0xff000000u
              | (guint32) lround (rgb[0] * 255.0) << 16
              | (guint32) lround (rgb[1] * 255.0) << 8
              | (guint32) lround (rgb[2] * 255.0);
        for (int dy = 0; dy < scale; dy++)
          {
            guint32 *row = (guint32 *) (data + (gsize) (y * scale + dy) * stride) + (gsize) x * scale;

            for (int dx = 0; dx < scale; dx++)
              row[dx] = pixel;
          }
      }
  cairo_surface_mark_dirty (surface);
  return surface;
}
