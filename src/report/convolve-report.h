/* convolve-report.h: what the report drawings share: colours, and
 * drawings turned into PNG or SVG bytes and files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

/* Components in [0, 1], not premultiplied; GdkRGBA has the same layout
 * in doubles' place of floats, but this layer knows no GDK. */
typedef struct {
  double red;
  double green;
  double blue;
  double alpha;
} ConvolveReportColor;

typedef enum {
  CONVOLVE_REPORT_FORMAT_PNG,
  CONVOLVE_REPORT_FORMAT_SVG,
} ConvolveReportFormat;

typedef void (*ConvolveReportDrawFunc) (cairo_t  *cr,
                                        int       width,
                                        int       height,
                                        gpointer  user_data);

/* draw on a width x height surface (1 to 16384 each side) of format,
 * returned as the file's bytes. */
GBytes  *convolve_report_render         (ConvolveReportFormat     format,
                                         int                      width,
                                         int                      height,
                                         ConvolveReportDrawFunc   draw,
                                         gpointer                 user_data,
                                         GError                 **error);
/* An image surface as PNG bytes. */
GBytes  *convolve_report_surface_to_png (cairo_surface_t         *surface,
                                         GError                 **error);
/* bytes saved atomically: a temporary file renamed over path. */
gboolean convolve_report_save           (GBytes                  *bytes,
                                         const char              *path,
                                         GError                 **error);

void     convolve_report_set_source     (cairo_t                   *cr,
                                         const ConvolveReportColor *color);

G_END_DECLS
