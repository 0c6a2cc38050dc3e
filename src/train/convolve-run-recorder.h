/* convolve-run-recorder.h: recording a training run into the run store
 * without slowing it down.
 *
 * A recorder owns a writer thread ("convolve-run-store") with its own
 * connection to the store's file. The calls below only copy rows into a
 * GAsyncQueue and return: no I/O, no lock held across a write. The writer
 * commits what came in as one transaction every
 * CONVOLVE_RUN_RECORDER_INTERVAL_MS or CONVOLVE_RUN_RECORDER_BATCH_ROWS
 * rows, whichever comes first. So a process killed mid-run loses at most
 * the rows of the last half second, and the database stays consistent.
 *
 * Typical use (the session, on the main thread):
 *   recorder = convolve_run_recorder_new (store, &info, config, &error);
 *   ... in the trainer's "progress" handler:
 *   convolve_run_recorder_add_progress (recorder, progress);
 *   ... after each checkpoint save:
 *   convolve_run_recorder_set_paths (recorder, checkpoint_path, NULL, NULL);
 *   ... when progress->state is final:
 *   convolve_run_recorder_finish (recorder, progress->state, evaluation,
 *                                 progress->error, &error);
 *   convolve_run_recorder_free (recorder);
 *
 * Write failures (a locked file past the busy timeout is retried with the
 * next batch; a full disk or a damaged file drops that batch) never reach
 * the trainer: the first one is kept for convolve_run_recorder_dup_error,
 * and flush/finish return it.
 *
 * Every call is safe from any thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-progress.h"
#include "convolve-run-store.h"

G_BEGIN_DECLS

#define CONVOLVE_RUN_RECORDER_INTERVAL_MS 500
#define CONVOLVE_RUN_RECORDER_BATCH_ROWS  4096

typedef struct _ConvolveRunRecorder ConvolveRunRecorder;

/* Opens the writer's connection to store's file, creates the run there
 * (on the caller's thread; that connection holds its owner lock) and
 * starts the writer. NULL with error when any of it fails. */
ConvolveRunRecorder *convolve_run_recorder_new         (ConvolveRunStore          *store,
                                                        const ConvolveRunInfo     *info,
                                                        const ConvolveTrainConfig *config,
                                                        GError                   **error);
/* Continues recording an existing run (a resume): it becomes RUNNING and
 * owned by this process again (convolve_run_store_reopen_run). */
ConvolveRunRecorder *convolve_run_recorder_new_for_run (ConvolveRunStore          *store,
                                                        gint64                     run_id,
                                                        GError                   **error);

gint64   convolve_run_recorder_get_run_id      (ConvolveRunRecorder *recorder);

/* Queues the history rows of progress->history that are new since the
 * last call (up to progress->history_n_steps / _n_epochs). Tracks the best
 * epoch by validation loss (lowest; ties: the earlier one) unless
 * convolve_run_recorder_set_best_epoch was called. Rows already recorded
 * (a resumed history starting again from 0) are simply replaced. */
void     convolve_run_recorder_add_progress    (ConvolveRunRecorder        *recorder,
                                                const ConvolveProgress     *progress);
/* Single rows, for callers without a ConvolveProgress. */
void     convolve_run_recorder_add_step        (ConvolveRunRecorder        *recorder,
                                                const ConvolveHistoryStep  *step);
void     convolve_run_recorder_add_epoch       (ConvolveRunRecorder        *recorder,
                                                const ConvolveHistoryEpoch *epoch);
/* As convolve_run_store_set_paths: NULL keeps a path, "" clears it. */
void     convolve_run_recorder_set_paths       (ConvolveRunRecorder        *recorder,
                                                const char                 *checkpoint_path,
                                                const char                 *best_checkpoint_path,
                                                const char                 *model_path);
/* The best epoch as the caller judges it (e.g. early stopping on
 * validation accuracy); from now on add_progress no longer tracks it. */
void     convolve_run_recorder_set_best_epoch  (ConvolveRunRecorder        *recorder,
                                                int                         epoch,
                                                double                      val_loss,
                                                double                      val_accuracy);

/* Blocks until everything queued so far is committed (at most one
 * transaction, or the busy timeout when the file is locked). FALSE with
 * the first write error not reported yet. */
gboolean convolve_run_recorder_flush           (ConvolveRunRecorder        *recorder,
                                                GError                    **error);
/* Commits the rest and ends the run: FINISHED -> finished, CANCELLED ->
 * stopped, FAILED -> failed with run_error's message (nullable), any
 * other state -> stopped. evaluation (nullable) is the final one. Blocks
 * like flush; the writer thread ends. Later calls do nothing. */
gboolean convolve_run_recorder_finish          (ConvolveRunRecorder        *recorder,
                                                ConvolveTrainerState        state,
                                                const ConvolveEvaluation   *evaluation,
                                                const GError               *run_error,
                                                GError                    **error);
/* The first write error since the recorder was made, or NULL. */
GError  *convolve_run_recorder_dup_error       (ConvolveRunRecorder        *recorder);

/* Finishes as stopped when finish was not called, then frees. */
void     convolve_run_recorder_free            (ConvolveRunRecorder        *recorder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveRunRecorder, convolve_run_recorder_free)

G_END_DECLS
