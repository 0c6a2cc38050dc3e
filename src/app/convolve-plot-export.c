/* convolve-plot-export.c: the plot as a PNG or SVG file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include "convolve-plot-private.h"
#include "convolve-report.h"

static void
draw_plot (cairo_t  *cr,
           int       width,
           int       height,
           gpointer  user_data)
{
  _convolve_plot_draw_for_export (user_data, cr, width, height);
}

/* Drawn by the shared report renderer (src/report): the same sizes, the
 * same PNG and SVG output as the CLI's reports. */
GBytes *
convolve_plot_render (ConvolvePlot        *plot,
                      ConvolvePlotFormat   format,
                      int                  width,
                      int                  height,
                      GError             **error)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return convolve_report_render (format == CONVOLVE_PLOT_FORMAT_SVG ? CONVOLVE_REPORT_FORMAT_SVG
                                                                    : CONVOLVE_REPORT_FORMAT_PNG,
                                 width, height, draw_plot, plot, error);
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
