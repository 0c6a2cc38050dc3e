/* convolve-checkpoint.h: the trainer's part of a checkpoint file, private
 * to the train layer (and its tests).
 *
 * A checkpoint is a model file with optimizer state whose extra metadata
 * (ConvolveModelMeta.extra) holds "convolve.trainer" = the format, then
 * one "convolve.config.*" or "convolve.position.*" entry per field of
 * ConvolveCheckpointState, and the history as two CSV texts. Each entry is
 * named once, in the key table of convolve-checkpoint.c, which both the
 * writer and the reader walk. The early stopping entries came later: a
 * checkpoint without them reads as a run with early stopping off and no
 * best epoch yet.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-history.h"
#include "convolve-trainer.h"

G_BEGIN_DECLS

#define CONVOLVE_CHECKPOINT_FORMAT "1"

/* Where the run is; all of it goes into a checkpoint. */
typedef struct {
  int     epoch;            /* 0-based index of the current epoch */
  int     step;             /* steps done in it */
  gint64  global_step;      /* steps done in the run */
  double  loss_sum;         /* sum of batch loss * batch size this epoch */
  gint64  n_correct;        /* this epoch */
  gint64  n_seen;           /* images this epoch */
  double  epoch_seconds;    /* active time in this epoch before this session */
  double  elapsed_seconds;  /* active time in the run before this session */
  /* early stopping: a resumed run stops where an uninterrupted one would */
  int     best_epoch;       /* 1-based epoch with the best monitored figure; 0: none yet */
  double  best_value;       /* that figure (0 while best_epoch is 0) */
  int     wait;             /* epochs since the best one without an improvement */
} ConvolveTrainPosition;

/* What a checkpoint records besides the model, the optimizer and the
 * history. */
typedef struct {
  ConvolveTrainConfig   config;
  ConvolveTrainPosition position;
  guint                 n_train;   /* training images used: train_limit applied */
} ConvolveCheckpointState;

/* TRUE when extra (nullable) is the metadata of a checkpoint of this
 * format, not of a plain model. */
gboolean _convolve_checkpoint_has_format (GHashTable *extra);

/* Adds the format, every entry of state and the history to extra
 * (a string-to-string table that owns its keys and values). */
void     _convolve_checkpoint_write      (GHashTable                    *extra,
                                          const ConvolveCheckpointState *state,
                                          const ConvolveHistory         *history);

/* Fills state (fields a checkpoint does not hold keep their defaults) and
 * *history from extra. CONVOLVE_TRAIN_ERROR_CHECKPOINT naming the first
 * entry that is missing, not a number of its kind or out of its bounds, or
 * when the position contradicts itself; CONVOLVE_TRAIN_ERROR_HISTORY for a
 * damaged history. The format entry is not checked here (see
 * _convolve_checkpoint_has_format), nor the config as a whole
 * (convolve_train_config_validate). */
gboolean _convolve_checkpoint_read       (GHashTable                    *extra,
                                          ConvolveCheckpointState       *state,
                                          ConvolveHistory              **history,
                                          GError                       **error);

G_END_DECLS
