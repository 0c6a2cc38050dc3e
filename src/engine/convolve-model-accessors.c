/* convolve-model-accessors.c: what a built model tells about itself (its
 * spec, shapes, layers, parameter and state blocks, named tensors), split
 * from convolve-model.c, which builds and runs it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-model-private.h"

gboolean
convolve_shape_equal (ConvolveShape a, ConvolveShape b)
{
  return a.c == b.c && a.h == b.h && a.w == b.w;
}

const ConvolveModelSpec *
convolve_model_get_spec (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->spec;
}

ConvolveShape
convolve_model_get_input (const ConvolveModel *model)
{
  ConvolveShape none = { 0, 0, 0 };

  g_return_val_if_fail (model != NULL, none);
  return model->input;
}

int
convolve_model_get_max_batch (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->max_batch;
}

guint64
convolve_model_get_activation_floats (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->activation_floats;
}

int
convolve_model_get_n_classes (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_classes;
}

ConvolveRng *
convolve_model_get_rng (ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return &model->rng;
}

int
convolve_model_get_n_layers (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_layers;
}

const ConvolveLayerInfo *
convolve_model_get_layer (const ConvolveModel *model, int index)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < model->n_layers, NULL);
  return &model->layers[index].info;
}

gsize
convolve_model_get_n_trainable (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_params;
}

gsize
convolve_model_get_n_non_trainable (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_state;
}

float *
convolve_model_get_params (ConvolveModel *model, gsize *n_params)
{
  g_return_val_if_fail (model != NULL, NULL);
  if (n_params != NULL)
    *n_params = model->n_params;
  return model->params;
}


gboolean
convolve_model_has_gradients (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, FALSE);
  return model->grads != NULL;
}

float *
convolve_model_get_state (ConvolveModel *model, gsize *n_state)
{
  g_return_val_if_fail (model != NULL, NULL);
  if (n_state != NULL)
    *n_state = model->n_state;
  return model->state;
}

int
convolve_model_get_n_tensors (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_tensors;
}

const ConvolveTensorInfo *
convolve_model_get_tensor (const ConvolveModel *model, int index)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < model->n_tensors, NULL);
  return &model->tensors[index];
}

const ConvolveTensorInfo *
convolve_model_find_tensor (const ConvolveModel *model, const char *name)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (int i = 0; i < model->n_tensors; i++)
    if (strcmp (model->tensors[i].name, name) == 0)
      return &model->tensors[i];
  return NULL;
}
