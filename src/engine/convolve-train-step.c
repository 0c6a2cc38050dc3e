/* convolve-train-step.c: one training step, the backward pass fused with
 * the optimizer's update.
 *
 * The optimizer updates each parameter from its own gradient only, so the
 * update of a large Dense kernel can run while its gradient is computed,
 * a cache-sized block of rows at a time (the blocks split over the
 * engine's threads), and the rest of the parameters are updated
 * afterwards from the gradient block.
 *
 * convolve_model_train_step_profile() is the same step with a clock around
 * each layer's forward and backward pass, the loss and the optimizer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-train-step.h"

#include <glib/gi18n-lib.h>

#include "convolve-model-private.h"
#include "convolve-optimizer-private.h"
#include "convolve-parallel.h"

/* The backward pass of a large Dense layer fused with its kernel's update,
 * CONVOLVE_FUSED_UPDATE_ROWS rows of the kernel at a time: the input
 * gradient's columns from those rows, before their update, then the
 * kernel gradient's rows into a buffer that stays in cache, applied at
 * once. So the kernel (33 MB for the tutorial's dense layer) is read once
 * for both products and its update, and its gradient is never written out
 * in full, read back by the optimizer, or zeroed by sgemm beforehand. */
static inline gint64
profile_clock (const ConvolveStepProfile *profile)
{
  return profile != NULL ? g_get_monotonic_time () : 0;
}

typedef struct {
  ConvolveModel     *model;
  ConvolveLayer     *layer;
  ConvolveOptimizer *optimizer;
  float             *buffers;
  float              alpha;
  int                n_blocks;
} FusedJob;

/* One thread's run of row blocks: each block's gradient into the
 * thread's own buffer, then its update. The blocks are the same at any
 * thread count, so are the numbers. */
static void
fused_update_run (int task, int n_tasks, gpointer data)
{
  const FusedJob *j = data;
  int in_features = j->layer->in_shape.c, out_features = j->layer->spec.units;
  gsize offset = (gsize) (j->layer->kernel - j->model->params);
  float *buffer = j->buffers + (gsize) task * j->model->update_buffer_size;
  gsize first, last;

  convolve_parallel_range ((gsize) j->n_blocks, task, n_tasks, &first, &last);
  for (gsize block = first; block < last; block++)
    {
      int row = (int) block * CONVOLVE_FUSED_UPDATE_ROWS;
      int rows = MIN (CONVOLVE_FUSED_UPDATE_ROWS, in_features - row);

      if (j->layer->din != NULL)
        convolve_dense_input_gradient (j->layer->din, j->layer->dout, j->layer->kernel,
                                       j->model->batch, in_features, out_features, row, rows);
      convolve_dense_kernel_gradient (buffer, j->layer->dout, j->layer->in,
                                      j->model->batch, in_features, out_features, row, rows);
      _convolve_optimizer_update_block (j->optimizer, j->model->params,
                                        offset + (gsize) row * out_features,
                                        buffer, (gsize) rows * out_features, j->alpha);
    }
}

static void
dense_backward_update (ConvolveModel *model, ConvolveLayer *layer,
                       ConvolveOptimizer *optimizer, float alpha, ConvolveStepProfile *profile)
{
  int in_features = layer->in_shape.c, out_features = layer->spec.units;
  ConvolveActivation activation = layer->spec.activation == CONVOLVE_ACTIVATION_RELU
                                  ? CONVOLVE_ACTIVATION_RELU : CONVOLVE_ACTIVATION_LINEAR;
  FusedJob job = { model, layer, optimizer, NULL, alpha,
                   (in_features + CONVOLVE_FUSED_UPDATE_ROWS - 1) / CONVOLVE_FUSED_UPDATE_ROWS };
  int n_buffers;
  gint64 start;

  convolve_dense_backward_input (NULL, layer->dbias, layer->dout, layer->out, layer->kernel,
                                 model->batch, in_features, out_features, activation);
  start = profile_clock (profile);
  job.buffers = _convolve_model_update_buffers (model, &n_buffers);
  /* (buffers grown for more threads stay after the count is lowered) */
  convolve_parallel_run (MAX (1, MIN (MIN (n_buffers, convolve_parallel_get_threads ()), job.n_blocks)),
                         fused_update_run, &job);
  /* The gradient blocks and their updates are interleaved: the profile
   * counts them all (the input gradient too) as the optimizer's. */
  if (profile != NULL)
    profile->optimizer_us += g_get_monotonic_time () - start;
}

static gboolean
train_step (ConvolveModel       *model,
            ConvolveOptimizer   *optimizer,
            const float         *x,
            const int32_t       *labels,
            int                  batch,
            float               *loss,
            int                 *n_correct,
            ConvolveStepProfile *profile,
            GError             **error)
{
  float value, alpha;
  gsize offset = 0;
  gint64 start;
  gboolean forward_ok;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (optimizer != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (convolve_optimizer_get_n_params (optimizer) != model->n_params)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH,
                   _("The optimizer holds %zu parameters but the model has %zu"),
                   convolve_optimizer_get_n_params (optimizer), model->n_params);
      return FALSE;
    }
  if (batch >= 1 && batch <= model->max_batch
      && !convolve_model_check_labels (model, labels, batch, error))
    return FALSE;
  model->forward_us = profile != NULL ? profile->forward_us : NULL;
  forward_ok = convolve_model_forward (model, x, batch, TRUE, error);
  model->forward_us = NULL;
  if (!forward_ok)
    return FALSE;
  start = profile_clock (profile);
  value = convolve_model_loss (model, labels, n_correct);
  if (profile != NULL)
    profile->loss_us += g_get_monotonic_time () - start;

  alpha = _convolve_optimizer_begin_step (optimizer);

  /* Backward, last layer first; large Dense kernels are updated on the
   * way (each parameter's update depends only on its own gradient, so the
   * order does not matter). */
  for (int i = model->n_layers - 1; i >= 0; i--)
    {
      ConvolveLayer *layer = &model->layers[i];
      gint64 optimizer_before = profile != NULL ? profile->optimizer_us : 0;

      start = profile_clock (profile);
      if (layer->fused_update)
        dense_backward_update (model, layer, optimizer, alpha, profile);
      else
        convolve_model_backward_layer (model, i);
      if (profile != NULL)
        profile->backward_us[i] += g_get_monotonic_time () - start
                                   - (profile->optimizer_us - optimizer_before);
    }
  model->have_loss = FALSE;

  start = profile_clock (profile);

  /* Then every other parameter from the gradient block, in one pass per
   * run of layers between the fused kernels. */
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];

      if (layer->fused_update)
        {
          gsize n_kernel = (gsize) layer->in_shape.c * layer->spec.units;
          gsize kernel_offset = (gsize) (layer->kernel - model->params);

          if (kernel_offset > offset)
            _convolve_optimizer_update_slice (optimizer, model->params, offset,
                                              model->grads + offset, kernel_offset - offset, alpha);
          offset = kernel_offset + n_kernel;
        }
    }
  if (model->n_params > offset)
    _convolve_optimizer_update_slice (optimizer, model->params, offset,
                                      model->grads + offset, model->n_params - offset, alpha);
  if (profile != NULL)
    profile->optimizer_us += g_get_monotonic_time () - start;

  if (loss != NULL)
    *loss = value;
  return TRUE;
}

gboolean
convolve_model_train_step (ConvolveModel     *model,
                           ConvolveOptimizer *optimizer,
                           const float       *x,
                           const int32_t     *labels,
                           int                batch,
                           float             *loss,
                           int               *n_correct,
                           GError           **error)
{
  return train_step (model, optimizer, x, labels, batch, loss, n_correct, NULL, error);
}

gboolean
convolve_model_train_step_profile (ConvolveModel       *model,
                                   ConvolveOptimizer   *optimizer,
                                   const float         *x,
                                   const int32_t       *labels,
                                   int                  batch,
                                   float               *loss,
                                   int                 *n_correct,
                                   ConvolveStepProfile *profile,
                                   GError             **error)
{
  g_return_val_if_fail (profile != NULL, FALSE);
  g_return_val_if_fail (model == NULL || profile->n_layers == convolve_model_get_n_layers (model), FALSE);
  g_return_val_if_fail (profile->forward_us != NULL && profile->backward_us != NULL, FALSE);

  return train_step (model, optimizer, x, labels, batch, loss, n_correct, profile, error);
}
