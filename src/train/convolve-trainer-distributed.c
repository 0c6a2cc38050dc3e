/* convolve-trainer-distributed.c: the trainer thread's part of
 * data-parallel training (see convolve-distributed.h for the collectives).
 *
 * Every rank holds the whole model and optimizer. Each step, every rank
 * takes its slice of the global batch (the same shuffled order on every
 * rank), computes the gradient of its slice, the gradients are summed
 * over the ranks (each weighted by its share of the global batch, so the
 * sum is the global batch's mean gradient), and every rank applies the
 * same update: the weights stay identical, which each epoch end checks.
 *
 * The engine's fused step updates the large Dense kernels while their
 * gradient is computed, before any allreduce could run, so this path takes
 * the plain forward, backward and optimizer step instead.
 *
 * BatchNorm normalises with each rank's own batch statistics (as PyTorch's
 * DDP does by default); the moving statistics, which only evaluation
 * uses, are averaged over the ranks at each epoch end, before validation
 * and the checkpoint.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include "convolve-trainer-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "convolve-evaluation.h"

/* Rank 0's weights, moving statistics, optimizer state and position
 * become every rank's: a fresh run starts from rank 0's seeded weights, a
 * resumed one from rank 0's checkpoint. Dropout masks are then drawn per
 * rank (rank 0 keeps the generator a single process would have). */
gboolean
_convolve_trainer_distributed_begin (ConvolveTrainer  *self,
                                     GError          **error)
{
  ConvolveDistributed *dist = self->distributed;
  gsize n_params = 0, n_state = 0;
  float *params = convolve_model_get_params (self->model, &n_params);
  float *state = convolve_model_get_state (self->model, &n_state);
  guint64 shape[3] = { n_params, n_state, self->n_train }, shape_0[3];
  gint64 iterations = convolve_optimizer_get_iterations (self->optimizer);
  int rank = convolve_distributed_get_rank (dist);

  /* The same model and data on every rank, else nothing below fits. */
  memcpy (shape_0, shape, sizeof shape);
  if (!convolve_distributed_broadcast_bytes (dist, shape_0, sizeof shape_0, error))
    return FALSE;
  if (memcmp (shape, shape_0, sizeof shape) != 0)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_DISTRIBUTED,
                   _("rank %d has a model of %" PRIu64 " parameters and %" PRIu64 " training images, "
                     "rank 0 one of %" PRIu64 " and %" PRIu64 ": every rank needs the same model and dataset"),
                   rank, shape[0], shape[2], shape_0[0], shape_0[2]);
      return FALSE;
    }

  if (!convolve_distributed_broadcast_floats (dist, params, n_params, error) ||
      (n_state > 0 && !convolve_distributed_broadcast_floats (dist, state, n_state, error)) ||
      !convolve_distributed_broadcast_bytes (dist, &iterations, sizeof iterations, error) ||
      !convolve_distributed_broadcast_bytes (dist, &self->position, sizeof self->position, error))
    return FALSE;
  convolve_optimizer_set_iterations (self->optimizer, iterations);
  for (int i = 0; i < convolve_optimizer_get_n_slots (self->optimizer); i++)
    if (!convolve_distributed_broadcast_floats (dist, convolve_optimizer_get_slot (self->optimizer, i),
                                                n_params, error))
      return FALSE;

  if (rank > 0)
    convolve_rng_init (convolve_model_get_rng (self->model),
                       self->config.seed ^ ((guint64) rank * 0xbf58476d1ce4e5b9ULL));
  return TRUE;
}

/* One step on this rank's slice (x, labels: local_count images) of a
 * global batch of global_count. *loss gets the global batch's mean loss,
 * *hits its hits. */
gboolean
_convolve_trainer_distributed_step (ConvolveTrainer  *self,
                                    const float      *x,
                                    const int32_t    *labels,
                                    int               local_count,
                                    int               global_count,
                                    float            *loss,
                                    int              *hits,
                                    GError          **error)
{
  gsize n_params = 0;
  float *params = convolve_model_get_params (self->model, &n_params);
  float *grads = convolve_model_get_grads (self->model, NULL);
  double sums[2] = { 0.0, 0.0 };
  gint64 start = g_get_monotonic_time ();

  if (grads == NULL)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("Not enough memory for the gradients"));
      return FALSE;
    }

  if (local_count > 0)
    {
      /* The engine's gradient is the mean over the rank's slice: weighted
       * by the slice's share, the ranks' gradients sum to the global mean. */
      float share = (float) local_count / (float) global_count;
      int local_hits = 0;
      float local_loss;

      if (!convolve_model_forward (self->model, x, local_count, TRUE, error))
        return FALSE;
      local_loss = convolve_model_loss (self->model, labels, &local_hits);
      convolve_model_backward (self->model);
      if (local_count != global_count)
        for (gsize i = 0; i < n_params; i++)
          grads[i] *= share;
      sums[0] = (double) local_loss * local_count;
      sums[1] = local_hits;
    }
  else
    /* A last batch smaller than the ranks: this one adds nothing. */
    memset (grads, 0, n_params * sizeof (float));

  if (!convolve_distributed_sum_gradients (self->distributed, grads, n_params, error) ||
      !convolve_distributed_sum_doubles (self->distributed, sums, G_N_ELEMENTS (sums), error))
    return FALSE;
  convolve_optimizer_step (self->optimizer, params, grads);
  self->distributed_stats.n_steps++;
  self->distributed_stats.step_seconds += (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  *loss = (float) (sums[0] / global_count);
  *hits = (int) sums[1];
  return TRUE;
}

/* FNV-1a over the 32-bit words (a word at a time: 33.6 MB in a few ms):
 * identical weights give identical sums. */
static guint64
checksum (const float *data,
          gsize        n)
{
  guint64 hash = 0xcbf29ce484222325ULL;

  for (gsize i = 0; i < n; i++)
    {
      guint32 word;

      memcpy (&word, data + i, sizeof word);
      hash = (hash ^ word) * 0x100000001b3ULL;
    }
  return hash;
}

/* At an epoch end: the moving statistics averaged over the ranks, then
 * the weights checked identical. An MPI whose float sums differ by a
 * rounding between ranks would let them drift apart: they are then made
 * rank 0's again, and counted. */
gboolean
_convolve_trainer_distributed_end_epoch (ConvolveTrainer  *self,
                                         GError          **error)
{
  ConvolveDistributed *dist = self->distributed;
  gsize n_params = 0, n_state = 0;
  float *params = convolve_model_get_params (self->model, &n_params);
  float *state = convolve_model_get_state (self->model, &n_state);
  float scale = 1.0f / (float) convolve_distributed_get_size (dist);
  guint64 sums[2], sums_0[2];
  gboolean same;

  if (n_state > 0)
    {
      for (gsize i = 0; i < n_state; i++)
        state[i] *= scale;
      if (!convolve_distributed_sum_floats (dist, state, n_state, error))
        return FALSE;
    }

  sums[0] = checksum (params, n_params);
  sums[1] = checksum (state, n_state);
  memcpy (sums_0, sums, sizeof sums);
  if (!convolve_distributed_broadcast_bytes (dist, sums_0, sizeof sums_0, error) ||
      !convolve_distributed_all (dist, memcmp (sums, sums_0, sizeof sums) == 0, &same, error))
    return FALSE;
  self->distributed_stats.n_checks++;
  if (!same)
    {
      self->distributed_stats.n_resyncs++;
      if (!convolve_distributed_broadcast_floats (dist, params, n_params, error) ||
          (n_state > 0 && !convolve_distributed_broadcast_floats (dist, state, n_state, error)))
        return FALSE;
    }
  return TRUE;
}

/* Each rank evaluates its part of the test set; the parts are summed. */
ConvolveEvaluation *
_convolve_trainer_distributed_evaluate (ConvolveTrainer               *self,
                                        ConvolveModel                 *model,
                                        ConvolveEvaluateProgressFunc   progress_func,
                                        gpointer                       progress_data,
                                        GError                       **error)
{
  ConvolveDistributed *dist = self->distributed;
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  guint n_images = convolve_dataset_get_n_images (self->test);
  gsize n_classes;
  double figures[2];
  guint first, end;

  convolve_distributed_slice (n_images, convolve_distributed_get_rank (dist),
                              convolve_distributed_get_size (dist), &first, &end);
  /* No cancellable: a rank that stopped in the middle would leave the
   * others waiting in the sum. */
  evaluation = convolve_evaluate_part (model, self->test, 0, first, end, progress_func, progress_data,
                                       NULL, error);
  if (evaluation == NULL)
    return NULL;

  n_classes = (gsize) evaluation->n_classes;
  figures[0] = evaluation->loss;
  figures[1] = evaluation->accuracy;
  if (!convolve_distributed_sum_doubles (dist, figures, 2, error) ||
      !convolve_distributed_sum_uints (dist, evaluation->class_counts, n_classes, error) ||
      !convolve_distributed_sum_uints (dist, evaluation->class_correct, n_classes, error) ||
      !convolve_distributed_sum_uints (dist, evaluation->confusion, n_classes * n_classes, error) ||
      !convolve_distributed_sum_ints (dist, evaluation->predictions, n_images, error) ||
      !convolve_distributed_sum_ints (dist, evaluation->labels, n_images, error) ||
      !convolve_distributed_sum_floats (dist, evaluation->confidences, n_images, error) ||
      !convolve_distributed_sum_floats (dist, evaluation->losses, n_images, error))
    return NULL;
  evaluation->loss = figures[0];
  evaluation->accuracy = figures[1];
  convolve_evaluation_complete (evaluation);
  return g_steal_pointer (&evaluation);
}
