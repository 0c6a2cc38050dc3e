/* convolve-train-config.h: what a training run is asked to do.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-engine.h"
#include "convolve-dataset.h"
#include "convolve-train-error.h"

G_BEGIN_DECLS

typedef struct {
  int                   epochs;               /* plain epochs: 5 */
  int                   augment_epochs;       /* augmented epochs after them: 0 (the app uses 2) */
  int                   batch_size;           /* 32 */
  ConvolveOptimizerKind optimizer;            /* Adam */
  float                 learning_rate;        /* 1e-3 */
  guint64               seed;                 /* 0; model init is the caller's, see convolve_trainer_new */
  int                   threads;              /* OpenBLAS threads; 0: all cores */
  guint                 train_limit;          /* 0: all training images, else only the first N */
  int                   eval_batch_size;      /* validation batch: 256 */
  int                   snapshot_every_steps; /* publish weights every N steps (200), 0: epoch ends only */
  int                   progress_interval_ms; /* minimum gap between progress emissions: 100 */
  ConvolveAugment       augment;              /* the tutorial's: shifts 0.1, horizontal flip */
} ConvolveTrainConfig;

/* The defaults above. */
void     convolve_train_config_init     (ConvolveTrainConfig       *config);
/* CONVOLVE_TRAIN_ERROR_INVALID_CONFIG naming the bad field. */
gboolean convolve_train_config_validate (const ConvolveTrainConfig *config,
                                         GError                   **error);

G_END_DECLS
