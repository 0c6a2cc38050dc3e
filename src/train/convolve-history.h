/* convolve-history.h: the record of a training run, per optimizer step and
 * per epoch.
 *
 * Append-only with one writer (the trainer thread) and any number of
 * readers on other threads, without locks: points live in fixed-size chunks
 * that never move, and the number of points is published atomically after
 * the point is written. A reader first takes the length (or uses the one
 * stored in a ConvolveProgress snapshot) and may then read every point
 * below it directly, for as long as it holds a reference, without copying.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <glib-object.h>

#include "convolve-train-error.h"

G_BEGIN_DECLS

/* One optimizer step. loss and accuracy are Keras-style running means over
 * the epoch so far (as the progress bar shows them). */
typedef struct {
  gint64 global_step;  /* 1-based, counts every step of the run */
  int    epoch;        /* 1-based */
  int    step;         /* 1-based within the epoch */
  double loss;
  double accuracy;
} ConvolveHistoryStep;

/* One finished epoch. val_loss and val_accuracy are NaN when there was no
 * test set (or validation was cancelled). */
typedef struct {
  int      epoch;       /* 1-based */
  gboolean augmented;
  double   loss;
  double   accuracy;
  double   val_loss;
  double   val_accuracy;
  double   seconds;     /* wall time of the epoch, validation included, pauses excluded */
} ConvolveHistoryEpoch;

typedef struct _ConvolveHistory ConvolveHistory;

#define CONVOLVE_TYPE_HISTORY (convolve_history_get_type ())
GType            convolve_history_get_type (void) G_GNUC_CONST;

ConvolveHistory *convolve_history_new   (void);
ConvolveHistory *convolve_history_ref   (ConvolveHistory *history);
void             convolve_history_unref (ConvolveHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveHistory, convolve_history_unref)

/* Readers (any thread). Indices must be below a length read before. The
 * returned pointers stay valid as long as the history lives. */
guint                       convolve_history_get_n_steps  (const ConvolveHistory *history);
const ConvolveHistoryStep  *convolve_history_get_step     (const ConvolveHistory *history,
                                                           guint                  index);
guint                       convolve_history_get_n_epochs (const ConvolveHistory *history);
const ConvolveHistoryEpoch *convolve_history_get_epoch    (const ConvolveHistory *history,
                                                           guint                  index);

/* The writer (one thread at a time). A history holds up to 2^26 steps and
 * 2^20 epochs; beyond that, appends return FALSE and record nothing. */
gboolean convolve_history_append_step  (ConvolveHistory            *history,
                                        const ConvolveHistoryStep  *step);
gboolean convolve_history_append_epoch (ConvolveHistory            *history,
                                        const ConvolveHistoryEpoch *epoch);

/* CSV with a header row and '.' decimals whatever the locale:
 *   steps:  global_step,epoch,step,loss,accuracy
 *   epochs: epoch,loss,accuracy,val_loss,val_accuracy,seconds,augmented
 * (NaN written as "nan"). Values are written so that they read back exactly. */
char    *convolve_history_steps_to_csv  (const ConvolveHistory *history);
char    *convolve_history_epochs_to_csv (const ConvolveHistory *history);
/* {"epochs": [{"epoch": 1, "loss": ..., "accuracy": ..., "val_loss": ...,
 *   "val_accuracy": ..., "seconds": ..., "augmented": false}, ...],
 *  "steps": [{"global_step": 1, "epoch": 1, "step": 1, "loss": ...,
 *   "accuracy": ...}, ...]}; NaN as null. */
char    *convolve_history_to_json       (const ConvolveHistory *history);
/* One epoch as a single-line JSON object (the CLI's --log-json lines). */
char    *convolve_history_epoch_to_json (const ConvolveHistoryEpoch *epoch);

/* Atomic saves (temporary file, then rename). */
gboolean convolve_history_save_steps_csv  (const ConvolveHistory *history,
                                           const char            *path,
                                           GError               **error);
gboolean convolve_history_save_epochs_csv (const ConvolveHistory *history,
                                           const char            *path,
                                           GError               **error);
gboolean convolve_history_save_json       (const ConvolveHistory *history,
                                           const char            *path,
                                           GError               **error);

/* Reads the two CSV tables back (as checkpoints store them); either may be
 * NULL. CONVOLVE_TRAIN_ERROR_HISTORY says which line is damaged. */
ConvolveHistory *convolve_history_new_from_csv (const char *steps_csv,
                                                const char *epochs_csv,
                                                GError    **error);

G_END_DECLS
