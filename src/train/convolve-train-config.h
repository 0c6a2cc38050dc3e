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

/* The validation figure early stopping watches; it also decides which
 * epoch is the best one. */
typedef enum {
  CONVOLVE_MONITOR_VAL_LOSS,      /* lower is better */
  CONVOLVE_MONITOR_VAL_ACCURACY,  /* higher is better */
} ConvolveMonitor;

typedef struct {
  int                   epochs;               /* plain epochs: 5 */
  int                   augment_epochs;       /* augmented epochs after them: 0 (the app uses 2) */
  int                   batch_size;           /* 32 */
  ConvolveOptimizerKind optimizer;            /* Adam */
  float                 learning_rate;        /* 1e-3 */
  guint64               seed;                 /* 0; model init is the caller's, see convolve_trainer_new */
  int                   threads;              /* engine threads; 0: all cores */
  guint                 train_limit;          /* 0: all training images, else only the first N */
  int                   eval_batch_size;      /* validation batch: 256 */
  int                   snapshot_every_steps; /* publish weights every N steps (200), 0: epoch ends only */
  int                   progress_interval_ms; /* minimum gap between progress emissions: 100 */
  ConvolveAugment       augment;              /* the tutorial's: shifts 0.1, horizontal flip */

  /* Early stopping and the best epoch, as Keras's EarlyStopping: an epoch
   * improves when its monitored figure beats the best so far by more than
   * min_delta; after patience epochs in a row without one the run stops.
   * The best epoch is tracked (and its weights kept) whenever there is a
   * test set, patience or not. */
  int                   early_stopping_patience;  /* 0: never stop early */
  ConvolveMonitor       early_stopping_monitor;   /* val_loss */
  double                early_stopping_min_delta; /* 0, at least 0 */
  gboolean              restore_best_weights;     /* on an early stop the best epoch's weights become the model's */
  gboolean              restore_best_at_end;      /* ... and also when the run ends after its last epoch */

  /* Wall-clock budget of this training session in seconds (validation
   * included, pauses not): once spent, the epoch under way is cut short,
   * validated and recorded, and the run ends (CONVOLVE_STOP_REASON_TIME_BUDGET).
   * Not kept in checkpoints: a resumed run has a fresh budget. */
  double                time_budget_seconds;      /* 0: none */
} ConvolveTrainConfig;

/* "val_loss" or "val_accuracy"; from_string: FALSE for anything else. */
const char *convolve_monitor_to_string   (ConvolveMonitor  monitor);
gboolean    convolve_monitor_from_string (const char      *text,
                                          ConvolveMonitor *monitor);

/* The longest time budget: a year. */
#define CONVOLVE_TIME_BUDGET_MAX (366.0 * 24 * 3600)

/* The defaults above. */
void     convolve_train_config_init     (ConvolveTrainConfig       *config);
/* CONVOLVE_TRAIN_ERROR_INVALID_CONFIG naming the bad field. */
gboolean convolve_train_config_validate (const ConvolveTrainConfig *config,
                                         GError                   **error);

G_END_DECLS
