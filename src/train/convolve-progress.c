/* convolve-progress.c: the trainer's state and its progress snapshots.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-progress-private.h"

/* The public part first, so a ConvolveProgress * is a ProgressBox *. */
typedef struct {
  ConvolveProgress public;
  gatomicrefcount  ref_count;
} ProgressBox;

G_DEFINE_ENUM_TYPE (ConvolveTrainerState, convolve_trainer_state,
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_RUNNING, "running"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_STOPPING, "stopping"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_FINISHED, "finished"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_FAILED, "failed"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_TRAINER_CANCELLED, "cancelled"))

G_DEFINE_ENUM_TYPE (ConvolveStopReason, convolve_stop_reason,
  G_DEFINE_ENUM_VALUE (CONVOLVE_STOP_REASON_NONE, "none"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_STOP_REASON_FINISHED, "finished"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_STOP_REASON_EARLY_STOPPED, "early-stopped"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_STOP_REASON_STOPPED, "stopped"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_STOP_REASON_FAILED, "failed"),
  G_DEFINE_ENUM_VALUE (CONVOLVE_STOP_REASON_TIME_BUDGET, "time-budget"))

G_DEFINE_BOXED_TYPE (ConvolveProgress, convolve_progress,
                     convolve_progress_ref, convolve_progress_unref)

gboolean
convolve_trainer_state_is_final (ConvolveTrainerState state)
{
  return state == CONVOLVE_TRAINER_FINISHED ||
         state == CONVOLVE_TRAINER_FAILED ||
         state == CONVOLVE_TRAINER_CANCELLED;
}

static ProgressBox *
progress_box_new (void)
{
  ProgressBox *box = g_new0 (ProgressBox, 1);

  g_atomic_ref_count_init (&box->ref_count);
  return box;
}

ConvolveProgress *
_convolve_progress_new (void)
{
  return &progress_box_new ()->public;
}

ConvolveProgress *
convolve_progress_ref (ConvolveProgress *progress)
{
  ProgressBox *box = (ProgressBox *) progress;

  g_return_val_if_fail (progress != NULL, NULL);

  g_atomic_ref_count_inc (&box->ref_count);
  return progress;
}

void
convolve_progress_unref (ConvolveProgress *progress)
{
  ProgressBox *box = (ProgressBox *) progress;

  g_return_if_fail (progress != NULL);

  if (g_atomic_ref_count_dec (&box->ref_count))
    {
      g_clear_pointer (&progress->history, convolve_history_unref);
      g_clear_pointer (&progress->evaluation, convolve_evaluation_free);
      g_clear_error (&progress->error);
      g_clear_error (&progress->checkpoint_error);
      g_free (box);
    }
}

ConvolveProgress *
_convolve_progress_copy (const ConvolveProgress *progress)
{
  ProgressBox *box = progress_box_new ();

  box->public = *progress;
  if (box->public.history != NULL)
    convolve_history_ref (box->public.history);
  if (box->public.evaluation != NULL)
    convolve_evaluation_ref (box->public.evaluation);
  if (box->public.error != NULL)
    box->public.error = g_error_copy (box->public.error);
  if (box->public.checkpoint_error != NULL)
    box->public.checkpoint_error = g_error_copy (box->public.checkpoint_error);
  return &box->public;
}
