/* convolve-plot-export.c: the plot as a PNG or SVG file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <cairo.h>
#include <cairo-svg.h>

#include "convolve-plot-private.h"

static cairo_status_t
write_to_byte_array (void                *closure,
                     const unsigned char *data,
                     unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

GBytes *
convolve_plot_render (ConvolvePlot        *plot,
                      ConvolvePlotFormat   format,
                      int                  width,
                      int                  height,
                      GError             **error)
{
  GByteArray *bytes;
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot export a plot of %d × %d pixels: each side must be between 1 and 16384"),
                   width, height);
      return NULL;
    }

  bytes = g_byte_array_new ();
  if (format == CONVOLVE_PLOT_FORMAT_SVG)
    surface = cairo_svg_surface_create_for_stream (write_to_byte_array, bytes, width, height);
  else
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);

  cr = cairo_create (surface);
  _convolve_plot_draw_for_export (plot, cr, width, height);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (format == CONVOLVE_PLOT_FORMAT_SVG)
    cairo_surface_finish (surface);  /* flushes the SVG into bytes */
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS && format == CONVOLVE_PLOT_FORMAT_PNG)
    status = cairo_surface_write_to_png_stream (surface, write_to_byte_array, bytes);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_byte_array_unref (bytes);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Could not draw the plot for export: %s"),
                   cairo_status_to_string (status));
      return NULL;
    }

  return g_byte_array_free_to_bytes (bytes);
}

gboolean
convolve_plot_export (ConvolvePlot        *plot,
                      GFile               *file,
                      ConvolvePlotFormat   format,
                      int                  width,
                      int                  height,
                      GError             **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  bytes = convolve_plot_render (plot, format, width, height, error);
  if (bytes == NULL)
    return FALSE;

  /* g_file_replace_contents writes a temporary file and renames it over the
   * target, so a failed export never destroys an earlier one. */
  if (!g_file_replace_contents (file, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                NULL, NULL, error))
    {
      g_prefix_error (error, _("Could not save the plot: "));
      return FALSE;
    }

  return TRUE;
}
