/* convolve-report.c: drawings as PNG and SVG bytes and files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <gio/gio.h>
#include <cairo-svg.h>

#include "convolve-report.h"

static cairo_status_t
write_to_byte_array (void                *closure,
                     const unsigned char *data,
                     unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static void
set_cairo_error (GError         **error,
                 cairo_status_t   status)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not draw the report: %s"),
               cairo_status_to_string (status));
}

GBytes *
convolve_report_render (ConvolveReportFormat     format,
                        int                      width,
                        int                      height,
                        ConvolveReportDrawFunc   draw,
                        gpointer                 user_data,
                        GError                 **error)
{
  GByteArray *bytes;
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  g_return_val_if_fail (draw != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (width < 1 || height < 1 || width > 16384 || height > 16384)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot draw a report of %d × %d pixels: each side must be between 1 and 16384"),
                   width, height);
      return NULL;
    }

  bytes = g_byte_array_new ();
  if (format == CONVOLVE_REPORT_FORMAT_SVG)
    surface = cairo_svg_surface_create_for_stream (write_to_byte_array, bytes, width, height);
  else
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);

  cr = cairo_create (surface);
  draw (cr, width, height, user_data);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (format == CONVOLVE_REPORT_FORMAT_SVG)
    cairo_surface_finish (surface);  /* flushes the SVG into bytes */
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS && format == CONVOLVE_REPORT_FORMAT_PNG)
    status = cairo_surface_write_to_png_stream (surface, write_to_byte_array, bytes);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_byte_array_unref (bytes);
      set_cairo_error (error, status);
      return NULL;
    }
  return g_byte_array_free_to_bytes (bytes);
}

GBytes *
convolve_report_surface_to_png (cairo_surface_t  *surface,
                                GError          **error)
{
  GByteArray *bytes;
  cairo_status_t status;

  g_return_val_if_fail (surface != NULL, NULL);

  bytes = g_byte_array_new ();
  status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, write_to_byte_array, bytes);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_byte_array_unref (bytes);
      set_cairo_error (error, status);
      return NULL;
    }
  return g_byte_array_free_to_bytes (bytes);
}

gboolean
convolve_report_save (GBytes      *bytes,
                      const char  *path,
                      GError     **error)
{
  gsize size;
  const char *data;

  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  data = g_bytes_get_data (bytes, &size);
  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (path, data, (gssize) size, error))
    {
      g_prefix_error (error, _("Could not save “%s”: "), path);
      return FALSE;
    }
  return TRUE;
}

void
convolve_report_set_source (cairo_t                   *cr,
                            const ConvolveReportColor *color)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha);
}
