/* convolve-session.h: what the app (and any other face) acts on: the
 * datasets, the current weights, the run that trains them, and the latest
 * predictions on the test set. The window only views a session.
 *
 * The weights. There is always at most one current model, behind
 * convolve_session_get_model(): when idle it is the model itself (new,
 * opened, or the last run's final weights); while a run goes on it is the
 * latest weight snapshot the trainer published, copied off the main thread
 * and swapped in on it ("weights-changed"). It is sized for one image and
 * used only for inference, so it holds no gradient or optimizer memory.
 * The trainer trains a private copy, so nothing has to move back when a
 * run fails.
 *
 * Threads. Every call is for the main thread (the thread-default main
 * context when the session was created); loading, copying, training,
 * saving and evaluating happen on worker threads and their results come
 * back on that context. Results that a newer request made stale are
 * dropped.
 *
 * Signals:
 * "datasets-changed" (): the training and test sets were replaced.
 * "load-progress" (guint done, guint total, guint skipped): pictures of an
 *   image folder decoded so far, while it is opened.
 * "model-changed" (): another model (new, opened, or one that fits a new
 *   dataset) replaced the current one, after its "weights-changed"; the
 *   run was cleared before it.
 * "weights-changed" (): the current weights changed (a new model, or a
 *   snapshot from the run).
 * "run-changed" (): a run started or the run was forgotten; progress and
 *   history start over (convolve_session_get_progress may be NULL).
 * "progress" (ConvolveProgress *progress): the run's coalesced progress.
 * "predictions-changed" (): the test-set evaluation was replaced or
 *   cleared (at each epoch end, after a stopped run, on request).
 * "error" (const char *message): background work failed (a weight copy,
 *   the evaluation); message is translated and says why.
 * Properties (notify): "state", "training", "has-model", "model-path",
 * "dirty", "evaluating", "evaluation-fraction".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-engine.h"
#include "convolve-dataset.h"
#include "convolve-image-folder.h"
#include "convolve-evaluation.h"
#include "convolve-trainer.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_SESSION (convolve_session_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveSession, convolve_session, CONVOLVE, SESSION, GObject)

ConvolveSession *convolve_session_new (void);

/* ---- datasets ---- */

/* Installs train and test (both referenced; test nullable) from path
 * (nullable). When the current model does not fit them, a new one is made
 * from spec_text (NULL or "": the tutorial's) and seed. FALSE with
 * CONVOLVE_TRAIN_ERROR_BUSY while training, or the model's error; nothing
 * changes then. */
gboolean         convolve_session_set_datasets       (ConvolveSession  *session,
                                                      ConvolveDataset  *train,
                                                      ConvolveDataset  *test,
                                                      const char       *path,
                                                      const char       *spec_text,
                                                      guint64           seed,
                                                      GError          **error);
/* The same, loading the folder (convolve_dataset_load_dir) and making any
 * new model on a worker thread. A newer call cancels an older one. */
void             convolve_session_open_dataset_async  (ConvolveSession     *session,
                                                       const char          *path,
                                                       const char          *spec_text,
                                                       guint64              seed,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean         convolve_session_open_dataset_finish (ConvolveSession     *session,
                                                       GAsyncResult        *result,
                                                       GError             **error);
/* Whether a dataset load is under way. */
gboolean         convolve_session_is_loading          (ConvolveSession  *session);
/* Stops the load under way, if any: it finishes with
 * CONVOLVE_DATA_ERROR_CANCELLED and the current datasets stay. */
void             convolve_session_cancel_load         (ConvolveSession  *session);
/* The settings for image folders opened from now on (side, fit,
 * validation fraction, split seed; progress is the session's own
 * "load-progress" signal). */
void             convolve_session_set_image_folder_options (ConvolveSession                  *session,
                                                            const ConvolveImageFolderOptions *options);
/* What importing the current datasets found, when they came from an image
 * folder (FALSE otherwise). */
gboolean         convolve_session_get_import_report   (ConvolveSession           *session,
                                                       ConvolveImageFolderReport *report);
ConvolveDataset *convolve_session_get_train           (ConvolveSession  *session);
ConvolveDataset *convolve_session_get_test            (ConvolveSession  *session);
/* The folder the datasets came from, or NULL. */
const char      *convolve_session_get_dataset_path    (ConvolveSession  *session);
/* The class names to show: the dataset's, else the model file's; may be NULL. */
const char * const *convolve_session_get_class_names  (ConvolveSession  *session);

/* ---- the model ---- */

gboolean         convolve_session_has_model           (ConvolveSession  *session);
/* The current weights (transfer none), for inference on the main thread
 * only; valid until the next "weights-changed". NULL without a model. */
ConvolveModel   *convolve_session_get_model           (ConvolveSession  *session);
/* The metadata of the opened file (transfer none), or NULL. */
const ConvolveModelMeta *convolve_session_get_model_meta (ConvolveSession *session);
/* A private copy of the newest weights (the trainer's latest when a run
 * exists), sized for max_batch images. */
ConvolveModel   *convolve_session_dup_model           (ConvolveSession  *session,
                                                       int               max_batch,
                                                       GError          **error);
/* Installs model (owned; resized for one image), with meta (owned,
 * nullable) and the file it came from (nullable); forgets the run.
 * FALSE with CONVOLVE_TRAIN_ERROR_BUSY while training (model is freed). */
gboolean         convolve_session_set_model           (ConvolveSession    *session,
                                                       ConvolveModel      *model,
                                                       ConvolveModelMeta  *meta,
                                                       const char         *path,
                                                       GError            **error);
/* Fresh weights for the training set from spec_text (NULL or "": the
 * tutorial's) and seed. */
gboolean         convolve_session_new_model           (ConvolveSession  *session,
                                                       const char       *spec_text,
                                                       guint64           seed,
                                                       GError          **error);
/* Loads a model file on a worker thread and installs it if it fits the
 * training set (convolve_check_model_for_dataset) and nothing trains. */
void             convolve_session_open_model_async    (ConvolveSession     *session,
                                                       const char          *path,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean         convolve_session_open_model_finish   (ConvolveSession     *session,
                                                       GAsyncResult        *result,
                                                       GError             **error);
/* Saves the newest weights atomically (with a run: between two steps,
 * through the trainer), with the dataset's class names and input scaling.
 * On success the path becomes the model's and it is no longer dirty. */
void             convolve_session_save_model_async    (ConvolveSession     *session,
                                                       const char          *path,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean         convolve_session_save_model_finish   (ConvolveSession     *session,
                                                       GAsyncResult        *result,
                                                       GError             **error);
/* The metadata a saved or exported file gets (owned by the caller): the
 * open dataset's class names and input scaling, else the opened file's. */
ConvolveModelMeta *convolve_session_dup_model_meta    (ConvolveSession  *session);
/* Where Save writes, or NULL (ask). */
const char      *convolve_session_get_model_path      (ConvolveSession  *session);
/* The weights changed since they were opened or saved. */
gboolean         convolve_session_get_dirty           (ConvolveSession  *session);

/* ---- training ---- */

/* Builds a trainer for the training and test sets on a worker thread from
 * a copy of the newest weights (so a run continues the last one) and
 * starts it; the callback runs once the run has started or failed to. The
 * previous run is forgotten when the new one starts. A recorded run saves
 * a checkpoint after each epoch (and where it was stopped), with the best
 * epoch's file beside it, in convolve_run_store_get_run_dir(), in the
 * background (CONVOLVE_CHECKPOINT_MODE_BACKGROUND): so a run killed
 * mid-way is found interrupted and resumes from its last epoch. A failed
 * checkpoint is said once through "error"; the run goes on. */
void             convolve_session_train_async         (ConvolveSession           *session,
                                                       const ConvolveTrainConfig *config,
                                                       GAsyncReadyCallback        callback,
                                                       gpointer                   user_data);
gboolean         convolve_session_train_finish        (ConvolveSession     *session,
                                                       GAsyncResult        *result,
                                                       GError             **error);
/* Continues the recorded run run_id (interrupted or stopped) exactly from
 * its last checkpoint, with the checkpoint's settings, on the session's
 * datasets, recorded as the same run; finish with
 * convolve_session_train_finish. The checkpoint must hold the current
 * model's layers (CONVOLVE_TRAIN_ERROR_MISMATCH otherwise: open the run's
 * model first); CONVOLVE_TRAIN_ERROR_CHECKPOINT when it has none. */
void             convolve_session_resume_run_async    (ConvolveSession     *session,
                                                       gint64               run_id,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
void             convolve_session_pause               (ConvolveSession  *session);
void             convolve_session_resume              (ConvolveSession  *session);
void             convolve_session_stop                (ConvolveSession  *session);
/* Stops the run and waits for its thread; pending results are dropped
 * (for closing the window). */
void             convolve_session_shutdown            (ConvolveSession  *session);
/* Forgets the run (stopping it if it still goes on): no progress, no
 * history, no predictions. The weights stay. */
void             convolve_session_clear_run           (ConvolveSession  *session);
/* Starting, running, paused or stopping. */
gboolean         convolve_session_is_training         (ConvolveSession  *session);
/* The run's state (IDLE without a run). */
ConvolveTrainerState convolve_session_get_state       (ConvolveSession  *session);
/* The latest snapshot (transfer none), or NULL without a run. */
ConvolveProgress *convolve_session_get_progress       (ConvolveSession  *session);
/* The run's history (transfer none), or NULL without a run. */
ConvolveHistory *convolve_session_get_history         (ConvolveSession  *session);
/* The run store's number for the latest run (recorded in
 * convolve-run-store.h's default store), or 0 when it is not recorded. */
gint64           convolve_session_get_run_id          (ConvolveSession  *session);
/* The run's trainer (transfer none), or NULL: for views that need more. */
ConvolveTrainer *convolve_session_get_trainer         (ConvolveSession  *session);

/* Whether background work for the session is pending: a dataset load, a
 * run being built, a weight copy or the evaluation. */
gboolean         convolve_session_is_busy             (ConvolveSession  *session);

/* ---- predictions ---- */

/* The test set's latest evaluation (transfer none; valid until the next
 * "predictions-changed"), or NULL: while a run trains, its latest epoch's
 * validation; after a run stopped mid-epoch, or on request, one of the
 * current weights, by convolve_evaluate_async. */
const ConvolveEvaluation *convolve_session_get_evaluation (ConvolveSession *session);
/* Evaluates the current weights on the test set off the main thread,
 * superseding any evaluation under way; without a test set or a model
 * that fits it, nothing happens. */
void             convolve_session_evaluate            (ConvolveSession  *session);
/* Whether an evaluation is under way (the run's validation or the
 * session's own), and how far it is: 0 to 1, or -1 when none is. */
gboolean         convolve_session_is_evaluating       (ConvolveSession  *session);
double           convolve_session_get_evaluation_fraction (ConvolveSession *session);

G_END_DECLS
