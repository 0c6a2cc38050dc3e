/* convolve-error.h: the engine's GError domain.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CONVOLVE_ENGINE_ERROR (convolve_engine_error_quark ())

typedef enum {
  CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT, /* a caller passed something impossible */
  CONVOLVE_ENGINE_ERROR_SHAPE,            /* layer shapes do not fit together */
  CONVOLVE_ENGINE_ERROR_NO_MEMORY,        /* an allocation failed */
  CONVOLVE_ENGINE_ERROR_IO,               /* reading or writing a file failed */
  CONVOLVE_ENGINE_ERROR_CORRUPT,          /* a model file is truncated or damaged */
  CONVOLVE_ENGINE_ERROR_UNSUPPORTED,      /* a well-formed file that is not a Convolve model */
  CONVOLVE_ENGINE_ERROR_MISMATCH,         /* a model file that does not fit the expected model */
} ConvolveEngineError;

GQuark convolve_engine_error_quark (void);

G_END_DECLS
