/* convolve-progress.h: the trainer's state and its progress snapshots.
 *
 * A ConvolveProgress is what the trainer thread hands to everyone else:
 * immutable once published and atomically reference-counted, so any thread
 * may hold and read one while the trainer goes on (see convolve-trainer.h
 * for how they are delivered).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "convolve-evaluation.h"
#include "convolve-history.h"

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_TRAINER_IDLE,       /* created, not started */
  CONVOLVE_TRAINER_RUNNING,
  CONVOLVE_TRAINER_PAUSED,
  CONVOLVE_TRAINER_STOPPING,   /* stop() was called; ends after the current batch */
  CONVOLVE_TRAINER_FINISHED,   /* every epoch done */
  CONVOLVE_TRAINER_FAILED,     /* progress->error says why */
  CONVOLVE_TRAINER_CANCELLED,  /* stopped before the end; the model is consistent */
} ConvolveTrainerState;

/* Why a run ended (NONE while it has not). */
typedef enum {
  CONVOLVE_STOP_REASON_NONE,
  CONVOLVE_STOP_REASON_FINISHED,       /* every epoch done */
  CONVOLVE_STOP_REASON_EARLY_STOPPED,  /* early stopping ended it after stopped_epoch */
  CONVOLVE_STOP_REASON_STOPPED,        /* convolve_trainer_stop() */
  CONVOLVE_STOP_REASON_FAILED,
  CONVOLVE_STOP_REASON_TIME_BUDGET,    /* the time budget ran out; the last epoch may be partial */
} ConvolveStopReason;

#define CONVOLVE_TYPE_STOP_REASON (convolve_stop_reason_get_type ())
GType convolve_stop_reason_get_type (void) G_GNUC_CONST;

#define CONVOLVE_TYPE_TRAINER_STATE (convolve_trainer_state_get_type ())
GType convolve_trainer_state_get_type (void) G_GNUC_CONST;

/* TRUE for FINISHED, FAILED and CANCELLED. */
gboolean convolve_trainer_state_is_final (ConvolveTrainerState state);

/* An immutable, atomically reference-counted snapshot. Read the fields
 * directly; never modify them. */
typedef struct {
  ConvolveTrainerState state;
  int              epoch;              /* 1-based: the running epoch, or the last one when final; 0 before the first */
  int              epochs_total;       /* epochs + augment_epochs */
  gboolean         augmented;          /* this epoch is augmented */
  int              step;               /* steps done in this epoch */
  int              steps_per_epoch;
  gint64           global_step;        /* steps done in the whole run */
  gint64           total_steps;        /* steps_per_epoch * epochs_total */
  double           loss;               /* running means over this epoch (NaN before its first step) */
  double           accuracy;
  double           images_per_second;  /* this epoch, pauses excluded (0 before its first step) */
  double           eta_epoch_seconds;  /* estimates; -1 when unknown */
  double           eta_total_seconds;
  double           elapsed_seconds;    /* whole run, pauses excluded */
  gboolean         validating;         /* evaluating the test set after an epoch */
  double           validation_fraction; /* of that evaluation, 0 to 1 (0 when not validating) */
  gboolean         has_validation;     /* val_* below are set */
  double           val_loss;           /* last finished epoch's */
  double           val_accuracy;
  ConvolveEvaluation *evaluation;      /* that epoch's whole test-set evaluation (shared,
                                        * read-only; convolve_evaluation_ref to keep it), or NULL */
  guint64          weights_version;    /* bumped whenever weights are published */
  ConvolveHistory *history;            /* shared with the trainer, append-only */
  guint            history_n_steps;    /* the consistent prefix of history at this snapshot */
  guint            history_n_epochs;
  GError          *error;              /* FAILED only, else NULL */
  int              best_epoch;         /* 1-based epoch with the best monitored figure; 0: none yet */
  double           best_val_loss;      /* that epoch's (NaN while best_epoch is 0) */
  double           best_val_accuracy;
  ConvolveStopReason stop_reason;      /* set in the final snapshot */
  int              stopped_epoch;      /* EARLY_STOPPED: the last epoch trained, else 0 */
  gboolean         restored_best;      /* the model now holds the best epoch's weights */
  /* Background checkpoints (CONVOLVE_CHECKPOINT_MODE_BACKGROUND), else 0 / NULL: */
  guint            checkpoint_saves;   /* checkpoints saved so far */
  int              checkpoint_epoch;   /* the last saved one's epochs done */
  int              checkpoint_best_epoch; /* the best epoch it names, its file beside it (0: none) */
  guint            checkpoint_failures; /* saves that failed (the run went on) */
  GError          *checkpoint_error;   /* the latest failure's reason, or NULL */
} ConvolveProgress;

#define CONVOLVE_TYPE_PROGRESS (convolve_progress_get_type ())
GType             convolve_progress_get_type (void) G_GNUC_CONST;
ConvolveProgress *convolve_progress_ref      (ConvolveProgress *progress);
void              convolve_progress_unref    (ConvolveProgress *progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveProgress, convolve_progress_unref)

G_END_DECLS
