/* convolve-export-error.h: the export layer's GError domain. Writing the
 * file fails with the engine's CONVOLVE_ENGINE_ERROR_IO (the atomic
 * writer's), unchanged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CONVOLVE_EXPORT_ERROR (convolve_export_error_quark ())

typedef enum {
  CONVOLVE_EXPORT_ERROR_UNSUPPORTED, /* the model has something the format cannot express */
  CONVOLVE_EXPORT_ERROR_TOO_LARGE,   /* the model does not fit in one file of the format */
  CONVOLVE_EXPORT_ERROR_NOT_FINITE,  /* weights that are not finite numbers */
} ConvolveExportError;

GQuark convolve_export_error_quark (void);

G_END_DECLS
