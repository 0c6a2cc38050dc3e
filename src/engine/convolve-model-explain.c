/* convolve-model-explain.c: why the model decides as it does. The gradient
 * of one class score with respect to the input (for saliency maps) or to
 * the last convolution's feature maps (for Grad-CAM), and the activations
 * a forward pass leaves behind.
 *
 * Explaining is inference: BatchNorm on its moving statistics, Dropout
 * off. The backward pass here carries only activation gradients, never
 * parameter gradients, through two scratch buffers the size of one image's
 * largest activation, allocated per call (a few hundred kilobytes for the
 * tutorial's model): a snapshot used for prediction need not take on the
 * training gradient blocks (33 MB for the tutorial) to be explained, and a
 * model in training keeps its gradients and state untouched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <string.h>

#include "convolve-model-private.h"

static gboolean
check_explain_arguments (const ConvolveModel *model, const float *x, int class_index,
                         const float *result, GError **error)
{
  if (x == NULL || result == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("No image or no buffer for the explanation was given"));
      return FALSE;
    }
  if (class_index < 0 || class_index >= model->n_classes)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("Class %d is out of range: the model has %d classes"),
                   class_index, model->n_classes);
      return FALSE;
    }
  return TRUE;
}

/* The backward pass of one layer of the inference forward, for image 0:
 * din only (overwritten). dout may be overwritten too. */
static void
layer_backward_input (ConvolveModel *model, ConvolveLayer *layer, float *din, float *dout)
{
  const ConvolveShape *in = &layer->in_shape;

  switch (layer->spec.kind)
    {
    case CONVOLVE_LAYER_CONV2D:
      convolve_conv2d_backward_input (din, _convolve_model_conv_workspace (model), dout, layer->out, layer->kernel,
                                      1, in->c, in->h, in->w, layer->spec.units,
                                      layer->spec.kernel_size, layer->spec.padding,
                                      layer->spec.activation);
      break;
    case CONVOLVE_LAYER_BATCH_NORM:
      convolve_batchnorm_backward_infer (din, dout, layer->gamma, layer->moving_variance,
                                         1, in->c, in->h * in->w, CONVOLVE_BATCHNORM_EPSILON);
      break;
    case CONVOLVE_LAYER_MAX_POOL:
      convolve_maxpool_backward (din, dout, layer->argmax,
                                 1, in->c, in->h, in->w, layer->spec.kernel_size);
      break;
    case CONVOLVE_LAYER_DENSE:
      convolve_dense_backward_input (din, NULL, dout, layer->out, layer->kernel,
                                     1, in->c, layer->spec.units,
                                     layer->spec.activation == CONVOLVE_ACTIVATION_RELU
                                       ? CONVOLVE_ACTIVATION_RELU : CONVOLVE_ACTIVATION_LINEAR);
      break;
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
      convolve_globalavgpool_backward (din, dout, 1, in->c, in->h * in->w);
      break;
    case CONVOLVE_LAYER_FLATTEN:
    case CONVOLVE_LAYER_DROPOUT: /* identity in inference */
      memcpy (din, dout, sizeof (float) * layer->out_size);
      break;
    case CONVOLVE_LAYER_RELU:
      convolve_relu_backward (din, dout, layer->out, layer->out_size);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Inference forward of x, then the backward pass from logit[class_index]
 * down to the input of layer first: result gets layers[first].in_size
 * floats, d logit / d (that input). */
static gboolean
forward_backward_to (ConvolveModel *model, const float *x, int class_index, int first,
                     float *result, GError **error)
{
  gsize largest = 0;
  float *scratch[2] = { NULL, NULL };
  float *dout;
  int which = 0;

  if (!convolve_model_forward (model, x, 1, FALSE, error))
    return FALSE;

  for (int i = first; i < model->n_layers; i++)
    largest = MAX (largest, MAX (model->layers[i].in_size, model->layers[i].out_size));
  scratch[0] = g_try_new (float, 2 * largest);
  if (scratch[0] == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                   _("Not enough memory for %zu MB of model data"),
                   (2 * largest * sizeof (float)) >> 20);
      return FALSE;
    }
  scratch[1] = scratch[0] + largest;

  /* The logits are the last Dense layer's output before the softmax (the
   * forward pass never applies it): d logit[c] / d logits is one-hot. */
  dout = scratch[0];
  memset (dout, 0, sizeof (float) * (gsize) model->n_classes);
  dout[class_index] = 1.0f;
  for (int i = model->n_layers - 1; i >= first; i--)
    {
      ConvolveLayer *layer = &model->layers[i];
      float *din = i == first ? result : scratch[1 - which];

      if (layer->spec.kind == CONVOLVE_LAYER_FLATTEN && i != first)
        continue; /* a view: the gradient is already in place */
      layer_backward_input (model, layer, din, dout);
      dout = din;
      which = 1 - which;
    }

  g_free (scratch[0]);
  return TRUE;
}

gboolean
convolve_model_input_gradient (ConvolveModel *model,
                               const float   *x,
                               int            class_index,
                               float         *grad,
                               GError       **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_explain_arguments (model, x, class_index, grad, error))
    return FALSE;
  return forward_backward_to (model, x, class_index, 0, grad, error);
}

int
convolve_model_find_last_conv (const ConvolveModel *model)
{
  g_return_val_if_fail (model != NULL, -1);

  for (int i = model->n_layers - 1; i >= 0; i--)
    if (model->layers[i].spec.kind == CONVOLVE_LAYER_CONV2D)
      return i;
  return -1;
}

gboolean
convolve_model_grad_cam (ConvolveModel *model,
                         const float   *x,
                         int            class_index,
                         float         *cam,
                         GError       **error)
{
  const ConvolveLayer *conv;
  g_autofree float *dfeatures = NULL;
  const float *features;
  g_autofree double *alpha = NULL;
  int last, channels, spatial;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_explain_arguments (model, x, class_index, cam, error))
    return FALSE;
  last = convolve_model_find_last_conv (model);
  if (last < 0)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("Grad-CAM needs a convolution layer, and this model has none"));
      return FALSE;
    }

  /* The last layer is Dense, so a Conv2D always has a layer after it. */
  conv = &model->layers[last];
  channels = conv->out_shape.c;
  spatial = conv->out_shape.h * conv->out_shape.w;
  dfeatures = g_try_new (float, conv->out_size);
  alpha = g_try_new (double, channels);
  if (dfeatures == NULL || alpha == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                   _("Not enough memory for %zu MB of model data"),
                   (conv->out_size * sizeof (float)) >> 20);
      return FALSE;
    }
  if (!forward_backward_to (model, x, class_index, last + 1, dfeatures, error))
    return FALSE;

  features = conv->out; /* image 0 of that forward pass */
  for (int k = 0; k < channels; k++)
    {
      double sum = 0.0;

      for (int p = 0; p < spatial; p++)
        sum += dfeatures[(gsize) k * spatial + p];
      alpha[k] = sum / spatial;
    }
  for (int p = 0; p < spatial; p++)
    {
      double sum = 0.0;

      for (int k = 0; k < channels; k++)
        sum += alpha[k] * features[(gsize) k * spatial + p];
      cam[p] = sum > 0.0 ? (float) sum : 0.0f;
    }
  return TRUE;
}

const float *
convolve_model_get_layer_output (const ConvolveModel *model,
                                 int                  layer_index,
                                 int                  image)
{
  const ConvolveLayer *layer;

  g_return_val_if_fail (model != NULL, NULL);

  if (layer_index < 0 || layer_index >= model->n_layers || image < 0 || image >= model->batch)
    return NULL;
  layer = &model->layers[layer_index];
  return layer->out + (gsize) image * layer->out_size;
}
