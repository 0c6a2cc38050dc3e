/* convolve-model.c: the sequential model: building and shape checking,
 * Keras names and initialisation, the memory plan, forward, loss, backward,
 * prediction, evaluation and the summary.
 *
 * Memory: one block of trainable parameters, one of gradients with the same
 * layout, one of non-trainable state, one arena of activations for
 * max_batch images and one im2col workspace sized for the largest conv.
 * All of it is allocated when the model is built; a batch allocates nothing
 * (but the first one with more engine threads: a workspace per thread).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include "convolve-limits.h"
#include "convolve-memory.h"
#include "convolve-model-private.h"
#include "convolve-parallel.h"

/* The arena hands out buffers aligned to 64 bytes. */
#define ALIGN_FLOATS 16

static gsize
round_up (gsize n)
{
  return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static float *
aligned_floats (gsize n, GError **error)
{
  float *p = convolve_memory_alloc_floats (n);

  if (p == NULL)
    g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                 _("Not enough memory for %zu MB of model data"),
                 (MIN (n, G_MAXSIZE / sizeof (float)) * sizeof (float)) >> 20);
  return p;
}

static const char *
layer_type_name (ConvolveLayerKind kind)
{
  switch (kind)
    {
    case CONVOLVE_LAYER_CONV2D:     return "Conv2D";
    case CONVOLVE_LAYER_BATCH_NORM: return "BatchNormalization";
    case CONVOLVE_LAYER_MAX_POOL:   return "MaxPooling2D";
    case CONVOLVE_LAYER_FLATTEN:    return "Flatten";
    case CONVOLVE_LAYER_DENSE:      return "Dense";
    case CONVOLVE_LAYER_DROPOUT:    return "Dropout";
    case CONVOLVE_LAYER_RELU:       return "ReLU";
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL: return "GlobalAveragePooling2D";
    default:                        return "Layer";
    }
}

/* Keras's automatic names: the class name in snake case, then _1, _2, ... */
static const char *
layer_base_name (ConvolveLayerKind kind)
{
  switch (kind)
    {
    case CONVOLVE_LAYER_CONV2D:     return "conv2d";
    case CONVOLVE_LAYER_BATCH_NORM: return "batch_normalization";
    case CONVOLVE_LAYER_MAX_POOL:   return "max_pooling2d";
    case CONVOLVE_LAYER_FLATTEN:    return "flatten";
    case CONVOLVE_LAYER_DENSE:      return "dense";
    case CONVOLVE_LAYER_DROPOUT:    return "dropout";
    case CONVOLVE_LAYER_RELU:       return "re_lu";
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL: return "global_average_pooling2d";
    default:                        return "layer";
    }
}

static gboolean
shape_error (GError **error, int index, const char *name, const char *message)
{
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_SHAPE,
               _("Layer %d (%s): %s"), index + 1, name, message);
  return FALSE;
}

/* Works out every layer's output shape and parameter counts. */
static gboolean
plan_shapes (ConvolveModel *model, GError **error)
{
  ConvolveShape shape = model->input;
  int rank = 3;
  int counts[CONVOLVE_N_LAYER_KINDS] = { 0 };

  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      const ConvolveLayerSpec *ls = &layer->spec;
      int count = counts[ls->kind]++;

      model->planning_layer = i;

      layer->name = count == 0 ? g_strdup (layer_base_name (ls->kind))
                               : g_strdup_printf ("%s_%d", layer_base_name (ls->kind), count);
      layer->in_shape = shape;
      layer->in_rank = rank;

      if (ls->activation == CONVOLVE_ACTIVATION_SOFTMAX
          && (ls->kind != CONVOLVE_LAYER_DENSE || i != model->n_layers - 1))
        return shape_error (error, i, layer->name,
                            _("softmax is only allowed on the last layer, a dense layer"));

      switch (ls->kind)
        {
        case CONVOLVE_LAYER_CONV2D:
          {
            int k = ls->kernel_size;

            if (rank != 3)
              return shape_error (error, i, layer->name,
                                  _("a convolution needs an image input (channels, height, width), not a flat one"));
            if (ls->units < 1 || k < 1)
              return shape_error (error, i, layer->name,
                                  _("the number of filters and the kernel size must be positive"));
            if (ls->padding == CONVOLVE_PADDING_VALID && (shape.h < k || shape.w < k))
              return shape_error (error, i, layer->name,
                                  _("the kernel is larger than its input"));
            shape.c = ls->units;
            shape.h = convolve_conv2d_output_size (shape.h, k, ls->padding);
            shape.w = convolve_conv2d_output_size (shape.w, k, ls->padding);
            layer->n_params = (gsize) ls->units * layer->in_shape.c * k * k + (gsize) ls->units;
            model->workspace_size = MAX (model->workspace_size,
                                         convolve_conv2d_workspace_size (layer->in_shape.c,
                                                                         layer->in_shape.h,
                                                                         layer->in_shape.w,
                                                                         ls->units, k, ls->padding));
            break;
          }
        case CONVOLVE_LAYER_BATCH_NORM:
          if (!(ls->momentum >= 0.0f && ls->momentum < 1.0f))
            return shape_error (error, i, layer->name,
                                _("the momentum must be above 0 and below 1"));
          /* Over channels for images, over features for flat inputs. */
          layer->n_params = 2 * (gsize) shape.c;
          layer->n_state = 2 * (gsize) shape.c;
          break;
        case CONVOLVE_LAYER_MAX_POOL:
          if (rank != 3)
            return shape_error (error, i, layer->name,
                                _("pooling needs an image input (channels, height, width), not a flat one"));
          if (ls->kernel_size < 1)
            return shape_error (error, i, layer->name, _("the pool size must be positive"));
          if (shape.h < ls->kernel_size || shape.w < ls->kernel_size)
            return shape_error (error, i, layer->name, _("the pool is larger than its input"));
          shape.h /= ls->kernel_size;
          shape.w /= ls->kernel_size;
          break;
        case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
          if (rank != 3)
            return shape_error (error, i, layer->name,
                                _("global average pooling needs an image input (channels, height, width), not a flat one; put it before flatten and dense layers"));
          shape.h = shape.w = 1;
          rank = 1;
          break;
        case CONVOLVE_LAYER_FLATTEN:
          shape.c = shape.c * shape.h * shape.w;
          shape.h = shape.w = 1;
          rank = 1;
          break;
        case CONVOLVE_LAYER_DENSE:
          if (rank != 1)
            return shape_error (error, i, layer->name,
                                _("a dense layer needs a flat input; put flatten before it"));
          if (ls->units < 1)
            return shape_error (error, i, layer->name, _("the number of units must be positive"));
          layer->n_params = (gsize) shape.c * ls->units + (gsize) ls->units;
          shape.c = ls->units;
          break;
        case CONVOLVE_LAYER_DROPOUT:
          if (!(ls->rate >= 0.0f && ls->rate < 1.0f))
            return shape_error (error, i, layer->name,
                                _("the dropout rate must be from 0 up to (not including) 1"));
          break;
        case CONVOLVE_LAYER_RELU:
          break;
        default:
          return shape_error (error, i, layer->name, _("unknown layer kind"));
        }

      /* Kernels index with int and sgemm takes int dimensions. */
      if (layer->n_params > (gsize) G_MAXINT32 || model->workspace_size > (gsize) G_MAXINT32)
        return shape_error (error, i, layer->name, _("the layer has too many parameters"));

      layer->out_shape = shape;
      layer->out_rank = rank;
      layer->in_size = (gsize) layer->in_shape.c * layer->in_shape.h * layer->in_shape.w;
      layer->out_size = (gsize) shape.c * shape.h * shape.w;
      if (layer->out_size > (gsize) G_MAXINT32)
        return shape_error (error, i, layer->name, _("the layer’s output is too large"));

      layer->info.name = layer->name;
      layer->info.type_name = layer_type_name (ls->kind);
      layer->info.rank = rank;
      layer->info.shape[0] = shape.c;
      layer->info.shape[1] = rank == 3 ? shape.h : 0;
      layer->info.shape[2] = rank == 3 ? shape.w : 0;
      layer->info.n_trainable = layer->n_params;
      layer->info.n_non_trainable = layer->n_state;
      model->n_params += layer->n_params;
      model->n_state += layer->n_state;
    }

  {
    ConvolveLayer *last = &model->layers[model->n_layers - 1];

    model->planning_layer = model->n_layers - 1;

    if (last->spec.kind != CONVOLVE_LAYER_DENSE)
      return shape_error (error, model->n_layers - 1, last->name,
                          _("the last layer must be a dense layer giving one score per class"));
    if (last->spec.units < 2)
      return shape_error (error, model->n_layers - 1, last->name,
                          _("the last layer needs at least 2 units (classes)"));
    model->n_classes = last->spec.units;
  }
  return TRUE;
}

/* Registers a tensor at offset floats into the parameter block (trainable)
 * or the state block; plan_memory() points it there once they exist. */
static void
add_tensor (ConvolveModel *model, const ConvolveLayer *layer, const char *suffix,
            int rank, const int *shape, gboolean trainable, gsize offset)
{
  ConvolveTensorInfo *t = &model->tensors[model->n_tensors];
  gsize size = 1;

  model->tensor_offsets[model->n_tensors++] = offset;

  t->name = g_strdup_printf ("%s/%s", layer->name, suffix);
  t->rank = rank;
  for (int i = 0; i < rank; i++)
    {
      t->shape[i] = shape[i];
      size *= (gsize) shape[i];
    }
  t->trainable = trainable;
  t->data = NULL;
  t->grad = NULL;
  t->size = size;
}

/* Names and shapes of every tensor, and where each goes, before any
 * memory exists: a model file is matched against them first. */
static void
plan_tensors (ConvolveModel *model)
{
  gsize p = 0, s = 0;

  model->tensors = g_new0 (ConvolveTensorInfo, 4 * (gsize) model->n_layers);
  model->tensor_offsets = g_new0 (gsize, 4 * (gsize) model->n_layers);
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      int c = layer->in_shape.c;
      int units = layer->spec.units;

      switch (layer->spec.kind)
        {
        case CONVOLVE_LAYER_CONV2D:
          {
            int k = layer->spec.kernel_size;
            int kshape[4] = { units, c, k, k };

            add_tensor (model, layer, "kernel", 4, kshape, TRUE, p);
            add_tensor (model, layer, "bias", 1, &units, TRUE, p + (gsize) units * c * k * k);
            break;
          }
        case CONVOLVE_LAYER_DENSE:
          {
            int kshape[2] = { c, units };

            add_tensor (model, layer, "kernel", 2, kshape, TRUE, p);
            add_tensor (model, layer, "bias", 1, &units, TRUE, p + (gsize) c * units);
            break;
          }
        case CONVOLVE_LAYER_BATCH_NORM:
          add_tensor (model, layer, "gamma", 1, &c, TRUE, p);
          add_tensor (model, layer, "beta", 1, &c, TRUE, p + (gsize) c);
          add_tensor (model, layer, "moving_mean", 1, &c, FALSE, s);
          add_tensor (model, layer, "moving_variance", 1, &c, FALSE, s + (gsize) c);
          break;
        default:
          break;
        }
      p += layer->n_params;
      s += layer->n_state;
    }
  g_assert (p == model->n_params && s == model->n_state);
}

/* Carves parameters, gradients, state and activations out of their blocks
 * (parameters and state: owner's, when given). */
static gboolean
plan_memory (ConvolveModel *model, ConvolveModel *owner, GError **error)
{
  gsize p = 0, s = 0, arena = 0, grad_arena = 0;
  gsize batch = (gsize) model->max_batch;
  gsize input_offset, *out_offset, *cache_offset, *aux_offset;
  gboolean seen_params = FALSE;

  if (owner != NULL)
    {
      model->params = owner->params;
      model->state = owner->state;
      model->borrows_weights = TRUE;
    }
  else
    {
      model->params = aligned_floats (model->n_params, error);
      if (model->params == NULL)
        return FALSE;
      model->state = aligned_floats (model->n_state, error);
      if (model->state == NULL)
        return FALSE;
    }
  model->workspace = aligned_floats (model->workspace_size, error);
  if (model->workspace == NULL)
    return FALSE;
  model->conv_ws = (ConvolveWorkspace) { model->workspace, round_up (model->workspace_size), 1 };

  for (int i = 0; i < model->n_tensors; i++)
    model->tensors[i].data = (model->tensors[i].trainable ? model->params : model->state)
                             + model->tensor_offsets[i];
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      int c = layer->in_shape.c;

      switch (layer->spec.kind)
        {
        case CONVOLVE_LAYER_CONV2D:
          {
            int k = layer->spec.kernel_size;

            layer->kernel = model->params + p;
            layer->bias = layer->kernel + (gsize) layer->spec.units * c * k * k;
            break;
          }
        case CONVOLVE_LAYER_DENSE:
          layer->kernel = model->params + p;
          layer->bias = layer->kernel + (gsize) c * layer->spec.units;
          break;
        case CONVOLVE_LAYER_BATCH_NORM:
          layer->gamma = model->params + p;
          layer->beta = layer->gamma + c;
          layer->moving_mean = model->state + s;
          layer->moving_variance = layer->moving_mean + c;
          break;
        default:
          break;
        }
      p += layer->n_params;
      s += layer->n_state;
    }

  /* Activations: offsets first, then one allocation. */
  out_offset = g_new0 (gsize, model->n_layers);
  cache_offset = g_new0 (gsize, model->n_layers);
  aux_offset = g_new0 (gsize, model->n_layers);

  input_offset = arena;
  arena += round_up (batch * model->layers[0].in_size);
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      gsize out_n = round_up (batch * layer->out_size);

      /* Only layers after the first one with parameters need the gradient
       * of their input; the ones before it skip that work. */
      layer->needs_din = seen_params;
      if (layer->n_params > 0)
        seen_params = TRUE;
      if (layer->spec.kind == CONVOLVE_LAYER_BATCH_NORM && i + 1 < model->n_layers
          && model->layers[i + 1].spec.kind == CONVOLVE_LAYER_RELU)
        {
          layer->relu_fused = TRUE;
          model->layers[i + 1].fused_away = TRUE;
        }
      if (layer->spec.kind == CONVOLVE_LAYER_DENSE
          && (gsize) layer->in_shape.c * layer->spec.units >= CONVOLVE_FUSED_UPDATE_MIN_FLOATS)
        {
          layer->fused_update = TRUE;
          model->update_buffer_size = MAX (model->update_buffer_size,
                                           round_up ((gsize) CONVOLVE_FUSED_UPDATE_ROWS * layer->spec.units));
        }

      if (layer->spec.kind == CONVOLVE_LAYER_FLATTEN)
        continue; /* a view of its input: NCHW is already flat */
      out_offset[i] = arena;
      arena += out_n;
      layer->dout_offset = grad_arena;
      grad_arena += out_n;
      switch (layer->spec.kind)
        {
        case CONVOLVE_LAYER_BATCH_NORM:
          aux_offset[i] = arena;                      /* mean, invstd */
          arena += 2 * round_up ((gsize) layer->out_shape.c);
          break;
        case CONVOLVE_LAYER_DROPOUT:
          cache_offset[i] = arena;                    /* mask */
          arena += out_n;
          break;
        case CONVOLVE_LAYER_MAX_POOL:
          cache_offset[i] = arena;                    /* argmax, int32 */
          arena += out_n;
          break;
        default:
          break;
        }
    }

  model->arena = aligned_floats (arena, error);
  if (model->arena == NULL)
    {
      g_free (out_offset);
      g_free (cache_offset);
      g_free (aux_offset);
      return FALSE;
    }

  model->input_buffer = model->arena + input_offset;
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      float *prev_out = i == 0 ? model->input_buffer : model->layers[i - 1].out;

      layer->in = prev_out;
      if (layer->spec.kind == CONVOLVE_LAYER_FLATTEN)
        {
          layer->out = prev_out;
          continue;
        }
      layer->out = model->arena + out_offset[i];
      switch (layer->spec.kind)
        {
        case CONVOLVE_LAYER_BATCH_NORM:
          layer->mean = model->arena + aux_offset[i];
          layer->invstd = layer->mean + round_up ((gsize) layer->out_shape.c);
          break;
        case CONVOLVE_LAYER_DROPOUT:
          layer->cache = model->arena + cache_offset[i];
          break;
        case CONVOLVE_LAYER_MAX_POOL:
          layer->argmax = (int32_t *) (model->arena + cache_offset[i]);
          break;
        default:
          break;
        }
    }

  g_free (out_offset);
  g_free (cache_offset);
  g_free (aux_offset);
  model->grad_arena_size = grad_arena;
  return TRUE;
}

/* The same place as param, in the gradient block. */
static float *
grad_of (ConvolveModel *model, const float *param)
{
  return model->grads + (param - model->params);
}

/* Gradients (of the parameters and of the activations) are only needed for
 * training: a model used for prediction (the snapshots the app and the
 * evaluation use) never allocates them. Called by the first training
 * forward pass and by convolve_model_get_grads(). */
static gboolean
attach_gradient_buffers (ConvolveModel *model, GError **error)
{
  if (model->grads != NULL)
    return TRUE;

  model->grads = aligned_floats (model->n_params, error);
  if (model->grads == NULL)
    return FALSE;
  model->grad_arena = aligned_floats (model->grad_arena_size, error);
  if (model->grad_arena == NULL)
    goto fail;
  if (model->update_buffer_size > 0)
    {
      model->update_buffer = aligned_floats (model->update_buffer_size, error);
      if (model->update_buffer == NULL)
        goto fail;
      model->update_buffer_count = 1;
    }
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      float *prev_dout = i == 0 ? NULL : model->layers[i - 1].dout;

      layer->din = layer->needs_din ? prev_dout : NULL;
      layer->dout = layer->spec.kind == CONVOLVE_LAYER_FLATTEN
                    ? prev_dout : model->grad_arena + layer->dout_offset;
      switch (layer->spec.kind)
        {
        case CONVOLVE_LAYER_CONV2D:
        case CONVOLVE_LAYER_DENSE:
          layer->dkernel = grad_of (model, layer->kernel);
          layer->dbias = grad_of (model, layer->bias);
          break;
        case CONVOLVE_LAYER_BATCH_NORM:
          layer->dgamma = grad_of (model, layer->gamma);
          layer->dbeta = grad_of (model, layer->beta);
          break;
        default:
          break;
        }
    }
  for (int i = 0; i < model->n_tensors; i++)
    if (model->tensors[i].trainable)
      model->tensors[i].grad = grad_of (model, model->tensors[i].data);
  return TRUE;

fail:
  g_clear_pointer (&model->grads, free);
  g_clear_pointer (&model->grad_arena, free);
  return FALSE;
}

/* The memory a planned model will ask for, against the limits: the
 * header of a model file sizes all of it, so this runs before any of it
 * is allocated. The sums cannot overflow: each term is below 2^31 (see
 * plan_shapes) and there are at most a few per layer. */
static gboolean
check_model_limits (ConvolveModel *model, GError **error)
{
  guint64 floats = (guint64) model->n_params + model->n_state;
  guint64 activations = model->layers[0].in_size + (guint64) model->workspace_size;

  for (int i = 0; i < model->n_layers; i++)
    {
      const ConvolveLayer *layer = &model->layers[i];

      if (layer->spec.kind == CONVOLVE_LAYER_FLATTEN)
        continue;
      activations += layer->out_size;
      if (layer->spec.kind == CONVOLVE_LAYER_DROPOUT || layer->spec.kind == CONVOLVE_LAYER_MAX_POOL)
        activations += layer->out_size;
      else if (layer->spec.kind == CONVOLVE_LAYER_BATCH_NORM)
        activations += 2 * (guint64) layer->out_shape.c;
    }

  if (floats > CONVOLVE_LIMIT_MODEL_FLOATS)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("The model has %" PRIu64 " weights, more than the limit of %"
                     PRIu64 " weights for a model"),
                   floats, (guint64) CONVOLVE_LIMIT_MODEL_FLOATS);
      return FALSE;
    }
  if (activations > CONVOLVE_LIMIT_ACTIVATION_FLOATS)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("The model needs %" PRIu64 " values of working memory per image, "
                     "more than the limit of %" PRIu64),
                   activations, (guint64) CONVOLVE_LIMIT_ACTIVATION_FLOATS);
      return FALSE;
    }
  model->activation_floats = activations;
  return TRUE;
}

/* Checks and plans a model: shapes, tensors, limits, nothing allocated
 * beyond the plan itself. */
static ConvolveModel *
model_plan (const ConvolveModelSpec *spec, const ConvolveShape *input, int max_batch,
            int *bad_layer, GError **error)
{
  g_autoptr(ConvolveModel) model = NULL;

  if (bad_layer != NULL)
    *bad_layer = -1;

  if (spec == NULL || spec->n_layers < 1 || spec->layers == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model spec has no layers"));
      return NULL;
    }
  if (input == NULL || input->c < 1 || input->h < 1 || input->w < 1
      || input->h > CONVOLVE_LIMIT_INPUT_SIDE || input->w > CONVOLVE_LIMIT_INPUT_SIDE
      || (gint64) input->c * input->h * input->w > CONVOLVE_LIMIT_INPUT_FLOATS)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The input shape must have a positive number of channels, rows and columns"));
      return NULL;
    }
  if (max_batch < 1 || max_batch > CONVOLVE_LIMIT_BATCH)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The batch size %d is out of range (1 to %d)"), max_batch, CONVOLVE_LIMIT_BATCH);
      return NULL;
    }

  model = g_new0 (ConvolveModel, 1);
  model->spec = convolve_model_spec_copy (spec);
  model->input = *input;
  model->max_batch = max_batch;
  model->n_layers = spec->n_layers;
  model->layers = g_new0 (ConvolveLayer, spec->n_layers);
  for (int i = 0; i < spec->n_layers; i++)
    model->layers[i].spec = spec->layers[i];

  model->planning_layer = -1;
  if (!plan_shapes (model, error))
    {
      if (bad_layer != NULL)
        *bad_layer = model->planning_layer;
      return NULL;
    }
  model->planning_layer = -1;
  if (!check_model_limits (model, error))
    return NULL;
  plan_tensors (model);
  return g_steal_pointer (&model);
}

ConvolveModel *
_convolve_model_plan (const ConvolveModelSpec *spec, const ConvolveShape *input, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return model_plan (spec, input, 1, NULL, error);
}

ConvolveModel *
_convolve_model_plan_full (const ConvolveModelSpec *spec, const ConvolveShape *input,
                           int *bad_layer, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return model_plan (spec, input, 1, bad_layer, error);
}

/* Allocates and plans a model without initialising its weights. */
static ConvolveModel *
model_build (const ConvolveModelSpec *spec, const ConvolveShape *input, int max_batch,
             GError **error)
{
  g_autoptr(ConvolveModel) model = model_plan (spec, input, max_batch, NULL, error);

  if (model == NULL || !plan_memory (model, NULL, error))
    return NULL;
  return g_steal_pointer (&model);
}

static void
glorot_uniform (float *w, gsize n, double fan_in, double fan_out, ConvolveRng *rng)
{
  float limit = (float) sqrt (6.0 / (fan_in + fan_out));

  for (gsize i = 0; i < n; i++)
    w[i] = (2.0f * convolve_rng_uniform (rng) - 1.0f) * limit;
}

ConvolveModel *
convolve_model_new (const ConvolveModelSpec *spec,
                    const ConvolveShape     *input,
                    int                      max_batch,
                    uint64_t                 seed,
                    GError                 **error)
{
  ConvolveModel *model;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  model = model_build (spec, input, max_batch, error);
  if (model == NULL)
    return NULL;

  convolve_rng_init (&model->rng, seed);
  /* Keras defaults: glorot-uniform kernels, zero biases, gamma 1, beta 0,
   * moving mean 0, moving variance 1. */
  for (int i = 0; i < model->n_layers; i++)
    {
      ConvolveLayer *layer = &model->layers[i];
      int c = layer->in_shape.c;
      int units = layer->spec.units;

      switch (layer->spec.kind)
        {
        case CONVOLVE_LAYER_CONV2D:
          {
            int kk = layer->spec.kernel_size * layer->spec.kernel_size;

            glorot_uniform (layer->kernel, (gsize) units * c * kk,
                            (double) c * kk, (double) units * kk, &model->rng);
            memset (layer->bias, 0, sizeof (float) * (gsize) units);
            break;
          }
        case CONVOLVE_LAYER_DENSE:
          glorot_uniform (layer->kernel, (gsize) c * units, c, units, &model->rng);
          memset (layer->bias, 0, sizeof (float) * (gsize) units);
          break;
        case CONVOLVE_LAYER_BATCH_NORM:
          for (int j = 0; j < c; j++)
            {
              layer->gamma[j] = 1.0f;
              layer->beta[j] = 0.0f;
              layer->moving_mean[j] = 0.0f;
              layer->moving_variance[j] = 1.0f;
            }
          break;
        default:
          break;
        }
    }
  return model;
}

ConvolveModel *
convolve_model_copy (const ConvolveModel *model, int max_batch, GError **error)
{
  ConvolveModel *copy;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  copy = model_build (model->spec, &model->input, max_batch, error);
  if (copy == NULL)
    return NULL;
  memcpy (copy->params, model->params, sizeof (float) * model->n_params);
  memcpy (copy->state, model->state, sizeof (float) * model->n_state);
  copy->rng = model->rng;
  return copy;
}

ConvolveModel *
convolve_model_new_view (ConvolveModel *owner, int max_batch, GError **error)
{
  g_autoptr(ConvolveModel) view = NULL;

  g_return_val_if_fail (owner != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  view = model_plan (owner->spec, &owner->input, max_batch, NULL, error);
  if (view == NULL || !plan_memory (view, owner, error))
    return NULL;
  view->rng = owner->rng;
  return g_steal_pointer (&view);
}

static gboolean
same_architecture (const ConvolveModel *a, const ConvolveModel *b)
{
  if (a->n_layers != b->n_layers || a->n_params != b->n_params || a->n_state != b->n_state
      || !convolve_shape_equal (a->input, b->input))
    return FALSE;
  for (int i = 0; i < a->n_layers; i++)
    {
      const ConvolveLayerSpec *x = &a->layers[i].spec, *y = &b->layers[i].spec;

      if (x->kind != y->kind || x->units != y->units || x->kernel_size != y->kernel_size
          || x->padding != y->padding || x->activation != y->activation || x->rate != y->rate)
        return FALSE;
    }
  return TRUE;
}

gboolean
convolve_model_copy_weights (ConvolveModel *dest, const ConvolveModel *src, GError **error)
{
  g_return_val_if_fail (dest != NULL, FALSE);
  g_return_val_if_fail (src != NULL, FALSE);
  g_return_val_if_fail (!dest->borrows_weights, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!same_architecture (dest, src))
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH,
                   _("Cannot copy weights between models with different layers or input shapes"));
      return FALSE;
    }
  if (dest == src)
    return TRUE;
  memcpy (dest->params, src->params, sizeof (float) * src->n_params);
  memcpy (dest->state, src->state, sizeof (float) * src->n_state);
  return TRUE;
}

void
convolve_model_free (ConvolveModel *model)
{
  if (model == NULL)
    return;
  for (int i = 0; i < model->n_tensors; i++)
    g_free ((char *) model->tensors[i].name);
  g_free (model->tensors);
  g_free (model->tensor_offsets);
  if (model->layers != NULL)
    for (int i = 0; i < model->n_layers; i++)
      g_free (model->layers[i].name);
  g_free (model->layers);
  if (!model->borrows_weights)
    {
      free (model->params);
      free (model->state);
    }
  free (model->grads);
  free (model->workspace);
  free (model->arena);
  free (model->grad_arena);
  free (model->update_buffer);
  convolve_model_spec_free (model->spec);
  g_free (model);
}

float *
convolve_model_get_grads (ConvolveModel *model, gsize *n_params)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (!model->borrows_weights, NULL);
  if (n_params != NULL)
    *n_params = model->n_params;
  if (!attach_gradient_buffers (model, NULL))
    return NULL;
  return model->grads;
}

/* --- forward, loss, backward -------------------------------------------- */

const ConvolveWorkspace *
_convolve_model_conv_workspace (ConvolveModel *model)
{
  int threads = convolve_parallel_get_threads ();
  float *blocks;

  if (threads > model->conv_ws.count
      && (blocks = aligned_floats (model->conv_ws.stride * (gsize) threads, NULL)) != NULL)
    {
      free (model->workspace);
      model->workspace = blocks;
      model->conv_ws = (ConvolveWorkspace) { blocks, model->conv_ws.stride, threads };
    }
  return &model->conv_ws;
}

float *
_convolve_model_update_buffers (ConvolveModel *model, int *count)
{
  int threads = convolve_parallel_get_threads ();
  float *blocks;

  if (threads > model->update_buffer_count
      && (blocks = aligned_floats (model->update_buffer_size * (gsize) threads, NULL)) != NULL)
    {
      free (model->update_buffer);
      model->update_buffer = blocks;
      model->update_buffer_count = threads;
    }
  *count = model->update_buffer_count;
  return model->update_buffer;
}

static void
layer_forward (ConvolveModel *model, ConvolveLayer *layer, int batch, gboolean training)
{
  const ConvolveShape *in = &layer->in_shape;
  gsize n_out = (gsize) batch * layer->out_size;

  switch (layer->spec.kind)
    {
    case CONVOLVE_LAYER_CONV2D:
      convolve_conv2d_forward (layer->out, _convolve_model_conv_workspace (model), layer->in, layer->kernel, layer->bias,
                               batch, in->c, in->h, in->w, layer->spec.units,
                               layer->spec.kernel_size, layer->spec.padding,
                               layer->spec.activation);
      break;
    case CONVOLVE_LAYER_BATCH_NORM:
      if (training)
        {
          /* fused with the ReLU after it: straight into its output */
          float momentum = layer->spec.momentum > 0.0f ? layer->spec.momentum : CONVOLVE_BATCHNORM_MOMENTUM;

          (layer->relu_fused ? convolve_batchnorm_forward_train_relu : convolve_batchnorm_forward_train)
            (layer->relu_fused ? layer[1].out : layer->out, layer->mean, layer->invstd,
             layer->moving_mean, layer->moving_variance, layer->in, layer->gamma, layer->beta,
             batch, in->c, in->h * in->w, momentum, CONVOLVE_BATCHNORM_EPSILON);
        }
      else
        convolve_batchnorm_forward_infer (layer->out, layer->in, layer->gamma, layer->beta,
                                          layer->moving_mean, layer->moving_variance,
                                          batch, in->c, in->h * in->w, CONVOLVE_BATCHNORM_EPSILON);
      break;
    case CONVOLVE_LAYER_MAX_POOL:
      convolve_maxpool_forward (layer->out, layer->argmax, layer->in,
                                batch, in->c, in->h, in->w, layer->spec.kernel_size);
      break;
    case CONVOLVE_LAYER_FLATTEN:
      break;
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
      convolve_globalavgpool_forward (layer->out, layer->in, batch, in->c, in->h * in->w);
      break;
    case CONVOLVE_LAYER_DENSE:
      convolve_dense_forward (layer->out, layer->in, layer->kernel, layer->bias,
                              batch, in->c, layer->spec.units,
                              layer->spec.activation == CONVOLVE_ACTIVATION_RELU
                                ? CONVOLVE_ACTIVATION_RELU : CONVOLVE_ACTIVATION_LINEAR);
      break;
    case CONVOLVE_LAYER_DROPOUT:
      if (training && layer->spec.rate > 0.0f)
        convolve_dropout_forward (layer->out, layer->cache, layer->in, n_out,
                                  layer->spec.rate, &model->rng);
      else
        memcpy (layer->out, layer->in, sizeof (float) * n_out);
      break;
    case CONVOLVE_LAYER_RELU:
      if (!(training && layer->fused_away))
        convolve_relu_forward (layer->out, layer->in, n_out);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
layer_backward (ConvolveModel *model, ConvolveLayer *layer, int batch)
{
  const ConvolveShape *in = &layer->in_shape;
  gsize n_out = (gsize) batch * layer->out_size;

  switch (layer->spec.kind)
    {
    case CONVOLVE_LAYER_CONV2D:
      convolve_conv2d_backward (layer->din, layer->dkernel, layer->dbias,
                                _convolve_model_conv_workspace (model),
                                layer->dout, layer->out, layer->in, layer->kernel,
                                batch, in->c, in->h, in->w, layer->spec.units,
                                layer->spec.kernel_size, layer->spec.padding,
                                layer->spec.activation);
      break;
    case CONVOLVE_LAYER_BATCH_NORM:
      if (layer->relu_fused)
        convolve_batchnorm_backward_relu (layer->din, layer->dgamma, layer->dbeta,
                                          layer[1].dout, layer[1].out, layer->in,
                                          layer->mean, layer->invstd, layer->gamma,
                                          batch, in->c, in->h * in->w);
      else
        convolve_batchnorm_backward (layer->din, layer->dgamma, layer->dbeta,
                                     layer->dout, layer->in, layer->mean, layer->invstd,
                                     layer->gamma,
                                     batch, in->c, in->h * in->w);
      break;
    case CONVOLVE_LAYER_MAX_POOL:
      if (layer->din != NULL)
        convolve_maxpool_backward (layer->din, layer->dout, layer->argmax,
                                   batch, in->c, in->h, in->w, layer->spec.kernel_size);
      break;
    case CONVOLVE_LAYER_FLATTEN:
      break;
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
      if (layer->din != NULL)
        convolve_globalavgpool_backward (layer->din, layer->dout, batch, in->c, in->h * in->w);
      break;
    case CONVOLVE_LAYER_DENSE:
      convolve_dense_backward (layer->din, layer->dkernel, layer->dbias,
                               layer->dout, layer->out, layer->in, layer->kernel,
                               batch, in->c, layer->spec.units,
                               layer->spec.activation == CONVOLVE_ACTIVATION_RELU
                                 ? CONVOLVE_ACTIVATION_RELU : CONVOLVE_ACTIVATION_LINEAR);
      break;
    case CONVOLVE_LAYER_DROPOUT:
      if (layer->din == NULL)
        break;
      if (layer->spec.rate > 0.0f)
        convolve_dropout_backward (layer->din, layer->dout, layer->cache, n_out);
      else
        memcpy (layer->din, layer->dout, sizeof (float) * n_out);
      break;
    case CONVOLVE_LAYER_RELU:
      if (layer->din != NULL && !layer->fused_away)
        convolve_relu_backward (layer->din, layer->dout, layer->out, n_out);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
check_batch (const ConvolveModel *model, const float *x, int batch, GError **error)
{
  if (x == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("No input images were given"));
      return FALSE;
    }
  if (batch < 1 || batch > model->max_batch)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("A batch of %d images does not fit this model (1 to %d)"),
                   batch, model->max_batch);
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_model_check_labels (const ConvolveModel *model, const int32_t *labels, int batch,
                             GError **error)
{
  if (labels == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("No labels were given"));
      return FALSE;
    }
  for (int n = 0; n < batch; n++)
    if (labels[n] < 0 || labels[n] >= model->n_classes)
      {
        g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                     _("Label %d of image %d is out of range: the model has %d classes"),
                     (int) labels[n], n, model->n_classes);
        return FALSE;
      }
  return TRUE;
}

gboolean
convolve_model_forward (ConvolveModel *model,
                        const float   *x,
                        int            batch,
                        gboolean       training,
                        GError       **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_batch (model, x, batch, error))
    return FALSE;
  g_return_val_if_fail (!(training && model->borrows_weights), FALSE);
  if (training && !attach_gradient_buffers (model, error))
    return FALSE;

  /* The input is copied so the backward pass does not depend on the
   * caller keeping its buffer alive. */
  if (x != model->input_buffer)
    memcpy (model->input_buffer, x, sizeof (float) * (gsize) batch * model->layers[0].in_size);
  for (int i = 0; i < model->n_layers; i++)
    {
      gint64 start = model->forward_us != NULL ? g_get_monotonic_time () : 0;

      layer_forward (model, &model->layers[i], batch, training);
      if (model->forward_us != NULL)
        model->forward_us[i] += g_get_monotonic_time () - start;
    }

  model->batch = batch;
  model->training = training;
  model->have_loss = FALSE;
  return TRUE;
}

const float *
convolve_model_get_logits (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->layers[model->n_layers - 1].out;
}

float
convolve_model_loss (ConvolveModel *model,
                     const int32_t *labels,
                     int           *n_correct)
{
  ConvolveLayer *last;
  float loss;

  g_return_val_if_fail (model != NULL, NAN);
  g_return_val_if_fail (model->batch > 0, NAN);
  g_return_val_if_fail (convolve_model_check_labels (model, labels, model->batch, NULL), NAN);

  /* After an inference pass there are no gradient buffers (or no use for
   * them): only the loss is computed. */
  last = &model->layers[model->n_layers - 1];
  loss = convolve_softmax_cross_entropy (model->training ? last->dout : NULL, NULL, n_correct, NULL,
                                         last->out, labels, model->batch, model->n_classes);
  model->have_loss = TRUE;
  return loss;
}

void
convolve_model_backward_layer (ConvolveModel *model, int index)
{
  layer_backward (model, &model->layers[index], model->batch);
}

void
convolve_model_backward (ConvolveModel *model)
{
  g_return_if_fail (model != NULL);
  g_return_if_fail (model->batch > 0 && model->training && model->have_loss);

  for (int i = model->n_layers - 1; i >= 0; i--)
    layer_backward (model, &model->layers[i], model->batch);
  model->have_loss = FALSE; /* the dout buffers are consumed */
}

gboolean
convolve_model_predict (ConvolveModel *model,
                        const float   *x,
                        int            batch,
                        float         *probabilities,
                        GError       **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (probabilities == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("No buffer was given for the probabilities"));
      return FALSE;
    }
  if (!convolve_model_forward (model, x, batch, FALSE, error))
    return FALSE;
  convolve_softmax (probabilities, model->layers[model->n_layers - 1].out,
                    batch, model->n_classes);
  return TRUE;
}

gboolean
convolve_model_evaluate (ConvolveModel *model,
                         const float   *x,
                         const int32_t *labels,
                         int            batch,
                         double        *loss_sum,
                         int           *n_correct,
                         int32_t       *predictions,
                         GError       **error)
{
  int hits = 0;
  float mean;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_batch (model, x, batch, error))
    return FALSE;
  if (!convolve_model_check_labels (model, labels, batch, error))
    return FALSE;
  if (!convolve_model_forward (model, x, batch, FALSE, error))
    return FALSE;

  mean = convolve_softmax_cross_entropy (NULL, NULL, &hits, predictions,
                                         model->layers[model->n_layers - 1].out, labels,
                                         batch, model->n_classes);
  if (loss_sum != NULL)
    *loss_sum += (double) mean * batch;
  if (n_correct != NULL)
    *n_correct += hits;
  return TRUE;
}
