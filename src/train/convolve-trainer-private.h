/* convolve-trainer-private.h: what the two halves of ConvolveTrainer share.
 *
 * convolve-trainer.c is the object (construction, config, control,
 * progress delivery, weights, saves); convolve-trainer-thread.c is the fit
 * loop that runs on the "convolve-trainer" thread.
 *
 * Locks, all short:
 * - model_mutex: held by the trainer thread around each optimizer step and
 *   the bookkeeping that goes with it (position, running sums, history), so
 *   a save from another thread sees model, optimizer, position and history
 *   agree, always between two steps.
 * - weights_mutex: guards the published weight copy.
 * - control_mutex + control_cond: pause/stop requests, the state, the end.
 * - progress_mutex: the latest snapshot and the pending main-loop dispatch.
 * The trainer never holds two of them at once, except model_mutex around a
 * history append (which takes none).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-checkpoint.h"
#include "convolve-checkpoint-writer.h"
#include "convolve-evaluation.h"
#include "convolve-trainer.h"

G_BEGIN_DECLS

/* Tests only: called on the trainer thread after each epoch's validation
 * with that epoch's number (1-based) and its measured figures, which it may
 * replace: a scripted validation curve for the early stopping tests. The
 * real evaluation (confusion matrix and so on) is left as measured.
 * Production code never sets one. */
typedef void (*ConvolveTrainerValidationHook) (int       epoch,
                                               double   *val_loss,
                                               double   *val_accuracy,
                                               gpointer  user_data);

/* Where the run is (see convolve-checkpoint.h), by a shorter name. */
typedef ConvolveTrainPosition Position;

struct _ConvolveTrainer {
  GObject              parent_instance;

  ConvolveTrainConfig  config;
  char                *checkpoint_path;
  ConvolveCheckpointMode checkpoint_mode;
  ConvolveCheckpointWriter *checkpoint_writer; /* BACKGROUND: made at start */
  ConvolveDataset     *train;
  ConvolveDataset     *test;
  guint                n_train;        /* images used: train_limit applied */
  char               **class_names;
  char                *model_spec;     /* immutable after construction */
  gint64               n_parameters;

  /* the trainer thread's; others only read them under model_mutex */
  GMutex               model_mutex;
  ConvolveModel       *model;
  ConvolveOptimizer   *optimizer;
  Position             position;
  ConvolveModel       *eval_model;     /* trainer thread only; a view of model */
  double               last_val_loss;  /* trainer thread only */
  double               last_val_accuracy;
  gboolean             has_validation;
  double               last_validation_seconds;
  ConvolveEvaluation  *last_evaluation; /* trainer thread only; shared read-only through progress */
  guint                validation_done; /* images of the running validation, trainer thread only */
  guint                validation_total;
  /* the best epoch: under model_mutex, written by the trainer thread */
  ConvolveModel       *best_model;     /* its weights (max_batch 1), NULL: unknown */
  char                *best_written_path; /* the best file last written, and for which epoch */
  int                  best_written_epoch;
  int                  best_epoch_atomic; /* position.best_epoch, for lock-free readers */
  ConvolveStopReason   stop_reason;    /* set once the run ends */
  int                  stopped_epoch;
  gboolean             restored_best;
  ConvolveTrainerValidationHook validation_hook; /* tests only, see below */
  gpointer             validation_hook_data;

  GMutex               weights_mutex;
  ConvolveModel       *published;
  guint64              weights_version;

  GMutex               control_mutex;
  GCond                control_cond;
  ConvolveTrainerState state;
  gboolean             pause_requested;
  gboolean             stop_requested;
  gboolean             started;
  gboolean             ended;
  GThread             *thread;
  GCancellable        *stop_cancellable;
  GError              *error;

  GMutex               progress_mutex;
  ConvolveProgress    *progress;
  GMainContext        *context;
  gboolean             dispatch_pending;
  gint64               last_dispatch_time;
  ConvolveHistory     *history;

  /* session timing, trainer thread only */
  gint64               session_start;      /* run time in this session starts here */
  gint64               epoch_session_start;
  gint64               paused_us;          /* paused time since session_start */
  gint64               epoch_paused_us;
  int                  epoch_session_first_step;
  gint64               budget_start;       /* the time budget counts from here */
  gint64               budget_paused_us;   /* paused time since budget_start */

  /* data-parallel training (not owned; NULL: this process alone) */
  ConvolveDistributed *distributed;
  ConvolveDistributedStats distributed_stats; /* trainer thread; others read it after the run */
};

static inline int
_convolve_trainer_epochs_total (ConvolveTrainer *self)
{
  return self->config.epochs + self->config.augment_epochs;
}

/* The most images one step takes: a batch size beyond the training set
 * must not cost memory for images that never come. */
static inline int
_convolve_trainer_largest_batch (ConvolveTrainer *self)
{
  return (int) MIN ((guint) self->config.batch_size, MAX (self->n_train, 1u));
}

static inline int
_convolve_trainer_steps_per_epoch (ConvolveTrainer *self)
{
  return (int) ((self->n_train + (guint) self->config.batch_size - 1) / (guint) self->config.batch_size);
}

static inline double
_convolve_trainer_seconds_since (gint64 start,
                                 gint64 paused_us,
                                 gint64 now)
{
  return MAX (0, now - start - paused_us) / (double) G_USEC_PER_SEC;
}

/* A snapshot of the trainer thread's view (running: with this session's
 * timing; validating: evaluating the test set). Transfer full. */
ConvolveProgress     *_convolve_trainer_make_progress    (ConvolveTrainer      *self,
                                                          ConvolveTrainerState  state,
                                                          gboolean              running,
                                                          gboolean              validating);
/* Makes progress (taking ownership) the latest snapshot and schedules its
 * delivery on the start() context; urgent: without the rate limit. */
void                  _convolve_trainer_publish_progress (ConvolveTrainer      *self,
                                                          ConvolveProgress     *progress,
                                                          gboolean              urgent);
/* The writer's callback (a ConvolveCheckpointWrittenFunc; user_data: the
 * trainer): publishes the latest snapshot again with its checkpoint news. */
void                  _convolve_trainer_checkpoint_written (gpointer            user_data);
/* RUNNING, or STOPPING once stop() was called. */
ConvolveTrainerState  _convolve_trainer_running_state    (ConvolveTrainer      *self);
/* Copies the model's weights into the published copy, bumping its version. */
gboolean              _convolve_trainer_publish_weights  (ConvolveTrainer      *self,
                                                          GError              **error);
/* convolve_trainer_save() with model_mutex held (or by the trainer thread). */
gboolean              _convolve_trainer_save_locked      (ConvolveTrainer      *self,
                                                          const char           *path,
                                                          gboolean              with_optimizer,
                                                          GError              **error);

/* convolve-trainer-checkpoint.c */
/* The checkpoint after an epoch (or a stop), when there is a path: saved
 * here (FALSE on failure) or, in the background, copied and handed to the
 * writer (TRUE; a failure shows in the progress). Trainer thread. */
gboolean              _convolve_trainer_checkpoint        (ConvolveTrainer      *self,
                                                          GError              **error);
/* Fills progress's checkpoint_* fields from the writer (background only). */
void                  _convolve_trainer_checkpoint_status (ConvolveTrainer      *self,
                                                          ConvolveProgress     *progress);

/* Only before start. See ConvolveTrainerValidationHook. */
void                  _convolve_trainer_set_validation_hook (ConvolveTrainer               *self,
                                                             ConvolveTrainerValidationHook  hook,
                                                             gpointer                       user_data);

/* Data-parallel training (convolve-trainer-distributed.c), all on the
 * trainer thread and only with self->distributed set. */
gboolean              _convolve_trainer_distributed_begin     (ConvolveTrainer  *self,
                                                               GError          **error);
gboolean              _convolve_trainer_distributed_step      (ConvolveTrainer  *self,
                                                               const float      *x,
                                                               const int32_t    *labels,
                                                               int               local_count,
                                                               int               global_count,
                                                               float            *loss,
                                                               int              *hits,
                                                               GError          **error);
gboolean              _convolve_trainer_distributed_end_epoch (ConvolveTrainer  *self,
                                                               GError          **error);
ConvolveEvaluation   *_convolve_trainer_distributed_evaluate  (ConvolveTrainer               *self,
                                                               ConvolveModel                 *model,
                                                               ConvolveEvaluateProgressFunc   progress_func,
                                                               gpointer                       progress_data,
                                                               GError                       **error);

/* The trainer thread's body; data is a reference to the trainer, which it
 * drops at the end. */
gpointer              _convolve_trainer_thread           (gpointer              data);

G_END_DECLS
