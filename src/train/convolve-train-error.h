/* convolve-train-error.h: the train layer's GError domain.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CONVOLVE_TRAIN_ERROR (convolve_train_error_quark ())

typedef enum {
  CONVOLVE_TRAIN_ERROR_INVALID_CONFIG, /* an impossible setting (epochs < 0, batch size 0, ...) */
  CONVOLVE_TRAIN_ERROR_MISMATCH,       /* dataset and model do not fit (shape, classes) */
  CONVOLVE_TRAIN_ERROR_BUSY,           /* not allowed in the trainer's current state */
  CONVOLVE_TRAIN_ERROR_CHECKPOINT,     /* a model file that is not a usable checkpoint */
  CONVOLVE_TRAIN_ERROR_HISTORY,        /* a damaged history table */
  CONVOLVE_TRAIN_ERROR_CANCELLED,      /* stopped or cancelled before the end */
  CONVOLVE_TRAIN_ERROR_NO_BEST,        /* no best epoch's weights to give (no validation yet, or lost) */
  CONVOLVE_TRAIN_ERROR_DISTRIBUTED,    /* MPI: not built in, or a collective failed */
} ConvolveTrainError;

GQuark convolve_train_error_quark (void);

G_END_DECLS
