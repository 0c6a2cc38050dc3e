/* convolve-trainer.h: fitting a model on its own thread, with progress
 * snapshots, pause/resume/stop, weight snapshots and exact checkpoints.
 *
 * Threads. convolve_trainer_start() spawns one thread ("convolve-trainer")
 * that owns the model and optimizer until it ends; nothing else touches
 * them. Every other call here is safe from any thread. The thread sets the
 * engine's thread count from the config (0: all cores), which is global to
 * the process. The UI stays responsive because all heavy work (batches,
 * backward passes, validation) runs on that thread and the main thread only
 * receives small immutable ConvolveProgress snapshots:
 *
 * - the "progress" signal is emitted on the GMainContext that was the
 *   thread-default one when convolve_trainer_start() was called. Emissions
 *   are coalesced (at most one is pending; it carries the latest snapshot)
 *   and rate-limited to config.progress_interval_ms, except that state
 *   changes and epoch ends are always delivered. The main loop never waits
 *   for the trainer and is never flooded.
 * - convolve_trainer_get_progress() returns the latest snapshot at any time.
 *
 * Control. pause(), resume() and stop() take effect between two optimizer
 * steps, so within one batch; the model is always left consistent (never
 * half-updated). stop() also cancels a running end-of-epoch validation.
 *
 * Fit. config.epochs plain epochs, then config.augment_epochs augmented
 * ones (the tutorial's 5 + 2). Every epoch uses a fresh permutation derived
 * from (seed, epoch); the last partial batch is included, as Keras does.
 * loss and accuracy are Keras-style running means over the epoch so far;
 * after each epoch the test set (if any) is evaluated in inference mode
 * (config.eval_batch_size images at a time, on a private model copy).
 * Augmentation draws from an RNG derived from (seed, global step), Dropout
 * from the model's own RNG; so a run is a pure function of the seed, and a
 * checkpoint (model, optimizer, position, running sums, history) resumes it
 * bit for bit.
 *
 * Early stopping and the best epoch. After each validated epoch the
 * trainer compares the monitored figure (config.early_stopping_monitor)
 * with the best so far, Keras's EarlyStopping rule: an improvement beats
 * it by more than min_delta. The best epoch's weights are always kept, in
 * memory and, with every checkpoint, in a plain model file beside it
 * (convolve_trainer_best_path_for). After early_stopping_patience epochs in
 * a row without an improvement the run ends FINISHED with stop reason
 * EARLY_STOPPED; with restore_best_weights the best weights then become the
 * model's (restore_best_at_end: also after the last epoch). A checkpoint
 * carries the counters, so a resumed run stops where an uninterrupted one
 * would.
 *
 * Weights for prediction. Every config.snapshot_every_steps steps and at
 * each epoch end the trainer publishes a copy of its weights;
 * convolve_trainer_get_weights_snapshot() returns a private model built
 * from the latest one (progress->weights_version says when it changed).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-engine.h"
#include "convolve-dataset.h"
#include "convolve-distributed.h"
#include "convolve-history.h"
#include "convolve-progress.h"
#include "convolve-run-store.h"
#include "convolve-train-config.h"
#include "convolve-train-error.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_TRAINER (convolve_trainer_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveTrainer, convolve_trainer, CONVOLVE, TRAINER, GObject)

/* Takes ownership of model and optimizer (nullable: a new one from config).
 * If the model's max_batch is below config->batch_size the trainer uses a
 * resized copy. train and test (nullable) are referenced. Fails with
 * CONVOLVE_TRAIN_ERROR_MISMATCH when the datasets' shape or class count do
 * not fit the model, INVALID_CONFIG for a bad config; on failure model and
 * optimizer are freed. */
ConvolveTrainer *convolve_trainer_new (ConvolveModel             *model,
                                       ConvolveOptimizer         *optimizer,
                                       ConvolveDataset           *train,
                                       ConvolveDataset           *test,
                                       const ConvolveTrainConfig *config,
                                       GError                   **error);

/* Continues the run saved by convolve_trainer_save (..., TRUE, ...) with
 * its own config (change it with convolve_trainer_set_config before
 * starting). CONVOLVE_TRAIN_ERROR_CHECKPOINT for a plain model file or
 * damaged trainer metadata; engine errors for a damaged file. */
ConvolveTrainer *convolve_trainer_new_from_checkpoint (const char       *path,
                                                       ConvolveDataset  *train,
                                                       ConvolveDataset  *test,
                                                       GError          **error);

const ConvolveTrainConfig *convolve_trainer_get_config (ConvolveTrainer *trainer);
/* Only before start (else CONVOLVE_TRAIN_ERROR_BUSY). Changing batch_size,
 * seed, train_limit or the optimizer after a resume continues the run but no
 * longer reproduces an uninterrupted one. */
gboolean convolve_trainer_set_config          (ConvolveTrainer           *trainer,
                                               const ConvolveTrainConfig *config,
                                               GError                   **error);
/* Saved as a checkpoint (with optimizer) after each epoch, atomically;
 * NULL: none. Only before start. */
gboolean convolve_trainer_set_checkpoint_path (ConvolveTrainer *trainer,
                                               const char      *path,
                                               GError         **error);
/* The path set, or NULL (transfer none; valid while the trainer lives). */
const char *convolve_trainer_get_checkpoint_path (ConvolveTrainer *trainer);

typedef enum {
  /* Saved on the trainer thread; a failed save fails the run (the CLI:
   * the user asked for that file). */
  CONVOLVE_CHECKPOINT_MODE_SAVE,
  /* Copied at the epoch's end (a few memcpy) and saved by a writer thread
   * while training goes on; a stopped run also gets one where it stopped.
   * A failed save leaves the previous checkpoint as it was and does not
   * fail the run: progress->checkpoint_failures and checkpoint_error say
   * so, checkpoint_saves and checkpoint_epoch what is on disk. The final
   * progress comes once the last checkpoint is written. Costs up to two
   * more copies of the weights and optimizer state in memory. */
  CONVOLVE_CHECKPOINT_MODE_BACKGROUND,
} ConvolveCheckpointMode;

/* Only before start; the default is SAVE. */
gboolean convolve_trainer_set_checkpoint_mode (ConvolveTrainer        *trainer,
                                               ConvolveCheckpointMode  mode,
                                               GError                **error);

/* Makes this trainer one rank of a data-parallel run (see
 * convolve-distributed.h): every rank's trainer must have the same model,
 * datasets and config; rank 0's weights, optimizer state and position are
 * taken at the start. Each rank computes its slice of every global batch
 * (config.batch_size images), the gradients are summed over the ranks and
 * every rank applies the same update. dist (not owned) must outlive the
 * run. Only before start. */
gboolean convolve_trainer_set_distributed     (ConvolveTrainer     *trainer,
                                               ConvolveDistributed *dist,
                                               GError             **error);
/* What a distributed run measured, for after the run. */
typedef struct {
  guint   n_checks;          /* epoch ends that compared the weights of every rank */
  guint   n_resyncs;         /* of which found them apart (and made them rank 0's again) */
  guint64 n_steps;           /* steps this session */
  double  step_seconds;      /* their time: forward, backward, allreduce, update */
  double  allreduce_seconds; /* of which the gradient allreduce */
} ConvolveDistributedStats;

void     convolve_trainer_get_distributed_stats (ConvolveTrainer          *trainer,
                                                 ConvolveDistributedStats *stats);

/* Spawns the trainer thread. Only once (else CONVOLVE_TRAIN_ERROR_BUSY). */
gboolean convolve_trainer_start  (ConvolveTrainer *trainer,
                                  GError         **error);
void     convolve_trainer_pause  (ConvolveTrainer *trainer);
void     convolve_trainer_resume (ConvolveTrainer *trainer);
void     convolve_trainer_stop   (ConvolveTrainer *trainer);
/* Blocks until the thread has ended (returns at once if it never started).
 * FALSE with the run's error when it FAILED; TRUE when FINISHED or
 * CANCELLED. Do not call it on the main thread while the run is going. */
gboolean convolve_trainer_join   (ConvolveTrainer *trainer,
                                  GError         **error);

ConvolveTrainerState convolve_trainer_get_state    (ConvolveTrainer *trainer);
/* The latest snapshot (transfer full). */
ConvolveProgress    *convolve_trainer_get_progress (ConvolveTrainer *trainer);
/* Shared, append-only (transfer none; valid while the trainer lives). */
ConvolveHistory     *convolve_trainer_get_history  (ConvolveTrainer *trainer);
const char * const  *convolve_trainer_get_class_names (ConvolveTrainer *trainer);

/* A new model (caller owns it) with the latest published weights, sized
 * for max_batch images; any thread, any state. NULL with
 * CONVOLVE_TRAIN_ERROR_INVALID_CONFIG when the trainer publishes none. */
ConvolveModel *convolve_trainer_get_weights_snapshot (ConvolveTrainer *trainer,
                                                      int              max_batch,
                                                      GError         **error);
/* Only before start. FALSE: no weight snapshots at all (not even at epoch
 * ends; progress->weights_version stays as it is), and no copy of the
 * weights kept for them: 33.6 MB less for the tutorial model, for a caller
 * such as convolve-cli that only reads the model after the run. */
gboolean convolve_trainer_set_publish_weights (ConvolveTrainer  *trainer,
                                               gboolean          publish,
                                               GError          **error);

/* Saves the model (with_optimizer: a checkpoint holding the optimizer, the
 * position in the run, the config and the history) atomically. Any thread,
 * any state: while running it waits for the current step to end (at most
 * one batch) and saves between two steps. The metadata records the dataset
 * name, class names and input scaling. */
gboolean convolve_trainer_save        (ConvolveTrainer *trainer,
                                       const char      *path,
                                       gboolean         with_optimizer,
                                       GError         **error);
/* The same on a worker thread, for the main thread. */
void     convolve_trainer_save_async  (ConvolveTrainer     *trainer,
                                       const char          *path,
                                       gboolean             with_optimizer,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
gboolean convolve_trainer_save_finish (ConvolveTrainer     *trainer,
                                       GAsyncResult        *result,
                                       GError             **error);

/* The best epoch so far (1-based; 0: none yet, e.g. without a test set).
 * Any thread, any state. */
int                convolve_trainer_get_best_epoch   (ConvolveTrainer *trainer);
/* Why the run ended; NONE while it has not. */
ConvolveStopReason convolve_trainer_get_stop_reason  (ConvolveTrainer *trainer);
/* A new model (caller owns it) with the best epoch's weights, for
 * max_batch images. CONVOLVE_TRAIN_ERROR_NO_BEST when there is none (no
 * validated epoch yet, or a resumed run whose best file was missing).
 * Any thread; while running it waits for the current step. */
ConvolveModel     *convolve_trainer_get_best_weights (ConvolveTrainer  *trainer,
                                                      int               max_batch,
                                                      GError          **error);
/* Saves the best epoch's weights as a plain model file, atomically, with
 * the metadata of convolve_trainer_save() and that epoch's number. Errors
 * as convolve_trainer_get_best_weights(), or the engine's. */
gboolean           convolve_trainer_save_best        (ConvolveTrainer  *trainer,
                                                      const char       *path,
                                                      GError          **error);
/* Where a checkpoint's best-epoch file goes: "run.safetensors" gives
 * "run-best.safetensors", "run" gives "run-best". */
char              *convolve_trainer_best_path_for    (const char       *checkpoint_path);

/* What the run store records of this run (see convolve-run-store.h): the
 * dataset's name and sizes, the model spec and its trainable parameter
 * count. Strings are the trainer's (valid while it lives); name and
 * dataset_path are left NULL for the caller. Any thread. */
void convolve_trainer_describe_run (ConvolveTrainer *trainer,
                                    ConvolveRunInfo *info);

/* Signals:
 * "progress" (ConvolveTrainer *trainer, ConvolveProgress *progress):
 *   on the start() context, coalesced, see above. The final snapshot
 *   (FINISHED, FAILED or CANCELLED) is always delivered. */

G_END_DECLS
