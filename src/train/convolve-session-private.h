/* convolve-session-private.h: the session's insides, shared by the files
 * that implement it by concern (convolve-session.c: datasets, the model
 * and the GObject; convolve-session-files.c: model files;
 * convolve-session-run.c: the run, weight snapshots and the test set's
 * predictions).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-run-recorder.h"
#include "convolve-session.h"

G_BEGIN_DECLS

/* For tests: called on the main thread with each new run's trainer just
 * before it starts, e.g. to set a validation hook (convolve-trainer-private.h)
 * that pauses it at an exact epoch. Production code never sets one. */
typedef void (*ConvolveSessionTrainerHook) (ConvolveTrainer *trainer,
                                            gpointer         user_data);

struct _ConvolveSession
{
  GObject              parent_instance;

  /* datasets */
  ConvolveDataset     *train;
  ConvolveDataset     *test;
  char                *dataset_path;
  GCancellable        *load_cancellable;
  ConvolveImageFolderOptions image_options;
  ConvolveImageFolderReport  import_report;   /* n_files 0: not an image folder */

  /* the current weights: inference only, one image */
  ConvolveModel       *model;
  ConvolveModelMeta   *meta;
  char                *model_path;
  gboolean             dirty;

  /* the latest run */
  gboolean             starting;
  ConvolveTrainer     *trainer;
  ConvolveProgress    *progress;
  guint64              weights_version;
  gint64               trained_steps;
  GCancellable        *run_cancellable;   /* this run's snapshots and evaluation */
  gboolean             snapshot_running;
  gboolean             snapshot_again;
  ConvolveRunStore    *run_store;         /* opened at the first run */
  gboolean             run_store_failed;  /* said once; runs go unrecorded */
  ConvolveRunRecorder *recorder;          /* the running run's record */
  gint64               last_run_id;
  guint                checkpoint_saves;    /* the run's progress last seen: */
  guint                checkpoint_failures; /* what is recorded, and said */
  gboolean             checkpoint_warned;   /* a failure was said since the last save */
  ConvolveSessionTrainerHook trainer_hook; /* tests only, see below */
  gpointer             trainer_hook_data;

  /* the test set's predictions: each epoch's, or the session's own */
  ConvolveEvaluation  *evaluation;
  gboolean             evaluating;         /* the session's own is under way */
  gboolean             validating;         /* the run's is under way */
  double               evaluation_fraction;
  guint                evaluation_serial;  /* results of older requests are dropped */
  GCancellable        *evaluation_cancellable;
  guint                evaluation_timeout;
  gpointer             evaluation_counter; /* the running one's images done (atomic rc box) */

  /* what was last notified */
  ConvolveTrainerState notified_state;
  gboolean             notified_training;
};

typedef enum {
  PROP_0,
  PROP_STATE,
  PROP_TRAINING,
  PROP_HAS_MODEL,
  PROP_MODEL_PATH,
  PROP_DIRTY,
  PROP_EVALUATING,
  PROP_EVALUATION_FRACTION,
  N_PROPS
} ConvolveSessionProperty;


extern GParamSpec *_convolve_session_properties[N_PROPS];

typedef enum {
  DATASETS_CHANGED,
  MODEL_CHANGED,
  WEIGHTS_CHANGED,
  RUN_CHANGED,
  PROGRESS,
  PREDICTIONS_CHANGED,
  ERROR,
  LOAD_PROGRESS,
  N_SIGNALS
} ConvolveSessionSignal;


extern guint _convolve_session_signals[N_SIGNALS];

/* convolve-session-run.c */
void     _convolve_session_set_trainer_hook (ConvolveSession            *self,
                                             ConvolveSessionTrainerHook  hook,
                                             gpointer                    user_data);

/* convolve-session.c */
/* FALSE with CONVOLVE_TRAIN_ERROR_BUSY and message while training. */
gboolean _convolve_session_check_idle       (ConvolveSession  *self,
                                             const char       *message,
                                             GError          **error);
/* Notifies "state" and "training" when they changed since last time. */
void     _convolve_session_update_state     (ConvolveSession  *self);
void     _convolve_session_set_dirty        (ConvolveSession  *self,
                                             gboolean          dirty);
void     _convolve_session_set_model_path   (ConvolveSession  *self,
                                             const char       *path);
/* Emits "error" for background work that failed, in a translated sentence. */
void     _convolve_session_emit_error       (ConvolveSession  *self,
                                             const char       *format,
                                             ...) G_GNUC_PRINTF (2, 3);
/* Swaps in new current weights (owned) and emits "weights-changed". */
void     _convolve_session_replace_weights  (ConvolveSession  *self,
                                             ConvolveModel    *model);
/* convolve-session-evaluate.c */
/* Drops the test set's predictions and any evaluation under way (and says
 * so when there were any). */
void     _convolve_session_clear_evaluation (ConvolveSession  *self);
/* Follows the run's progress: its evaluations and validation. */
void     _convolve_session_evaluation_progress (ConvolveSession  *self,
                                                ConvolveProgress *progress);
/* Ends background evaluation for good (dispose). */
void     _convolve_session_dispose_evaluation (ConvolveSession *self);

G_END_DECLS
