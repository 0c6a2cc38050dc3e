/* convolve-checkpoint-writer.h: checkpoints written on a thread of their
 * own, so that training goes on while one reaches the disk. Private to the
 * train layer (the trainer's background checkpoints).
 *
 * The trainer copies what a checkpoint holds (weights, optimizer state,
 * metadata: a few memcpy at an epoch's end) into a ConvolveCheckpointJob
 * and submits it; the writer's thread ("convolve-checkpoint") saves it
 * atomically, the best epoch's file first (so a checkpoint never names a
 * best epoch its neighbour does not hold). At most one job waits: a newer
 * one replaces it, since only the latest checkpoint is worth having. A
 * failed save is kept in the status and changes nothing on disk (the
 * previous files stay); the next job tries again.
 *
 * Every call is safe from any thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-engine.h"

G_BEGIN_DECLS

typedef struct {
  char              *path;
  ConvolveModel     *model;       /* with optimizer: the checkpoint */
  ConvolveOptimizer *optimizer;
  ConvolveModelMeta *meta;
  int                epoch;       /* epochs the checkpoint has done */
  int                best_epoch;  /* the best epoch it names (0: none) */
  /* The best epoch's plain model file; best_model NULL: already on disk. */
  char              *best_path;
  ConvolveModel     *best_model;
  ConvolveModelMeta *best_meta;
} ConvolveCheckpointJob;

void _convolve_checkpoint_job_free (ConvolveCheckpointJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveCheckpointJob, _convolve_checkpoint_job_free)

/* What the writer has done so far. */
typedef struct {
  guint   n_saved;          /* checkpoints saved */
  int     saved_epoch;      /* the last saved one's epochs done (0: none saved) */
  int     saved_best_epoch; /* the best epoch it names, on disk beside it (0: none) */
  int     best_on_disk;     /* the best epoch whose file was last written (0: none) */
  guint   n_failed;         /* saves that failed */
  GError *error;            /* the last failure's (a copy for the caller), or NULL */
} ConvolveCheckpointStatus;

typedef struct _ConvolveCheckpointWriter ConvolveCheckpointWriter;

/* Called on the writer's thread after each job, saved or failed (no lock
 * of the writer held), so that whoever shows the status can update it. */
typedef void (*ConvolveCheckpointWrittenFunc) (gpointer user_data);

/* func (nullable) and user_data must outlive the writer's last job. */
ConvolveCheckpointWriter *_convolve_checkpoint_writer_new    (ConvolveCheckpointWrittenFunc func,
                                                              gpointer                      user_data);
/* Takes job; replaces a job that waits (not the one being written). */
void                      _convolve_checkpoint_writer_submit (ConvolveCheckpointWriter *writer,
                                                              ConvolveCheckpointJob    *job);
/* Counts a checkpoint that failed before it was submitted (say its copy
 * found no memory) as a failed save. */
void                      _convolve_checkpoint_writer_add_failure (ConvolveCheckpointWriter *writer,
                                                                   const GError             *error);
/* Blocks until every job submitted so far is written or failed. */
void                      _convolve_checkpoint_writer_wait   (ConvolveCheckpointWriter *writer);
/* Fills status; free status->error with g_clear_error. */
void                      _convolve_checkpoint_writer_get_status (ConvolveCheckpointWriter *writer,
                                                                  ConvolveCheckpointStatus *status);
/* Waits, ends the thread, frees; NULL is ignored. */
void                      _convolve_checkpoint_writer_free   (ConvolveCheckpointWriter *writer);

G_END_DECLS
