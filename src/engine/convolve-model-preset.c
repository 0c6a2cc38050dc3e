/* convolve-model-preset.c: the named models, as spec text.
 *
 * "better" is a small VGG-style network (Simonyan and Zisserman 2014, as
 * the Keras CIFAR-10 examples scale it down): Conv-BN-ReLU blocks of 32, 64
 * and 128 filters, each halved by max pooling, then a small Dense head with
 * dropout. It has far fewer weights than the tutorial's 8.4 million (most
 * of those in its one big Dense layer), so each step costs less in the
 * optimizer. Its BatchNormalization layers average their statistics with
 * momentum 0.9 rather than Keras's 0.99: with 0.99 the moving statistics
 * lag the weights by a hundred steps or more, and a short run on a small
 * dataset validates far below what it has learnt.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <string.h>

#include "convolve-model-preset.h"

static const ConvolveModelPreset presets[] = {
  { "tutorial", N_("Tutorial"),
    N_("One convolution and a large dense layer, as in the TensorFlow tutorial"),
    "conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),dropout(0.2),dense(10,softmax)" },
  { "better", N_("Better"),
    N_("Three convolution blocks of 32, 64 and 128 filters and a small dense head"),
    "conv2d(32,3,same,linear),batchnorm(0.9),relu,maxpool(2),"
    "conv2d(64,3,same,linear),batchnorm(0.9),relu,maxpool(2),"
    "conv2d(128,3,same,linear),batchnorm(0.9),relu,maxpool(2),"
    "flatten,dense(128,relu),dropout(0.3),dense(10,softmax)" },
};

const ConvolveModelPreset *
convolve_model_preset_get_all (guint *n_presets)
{
  g_return_val_if_fail (n_presets != NULL, NULL);

  *n_presets = G_N_ELEMENTS (presets);
  return presets;
}

const ConvolveModelPreset *
convolve_model_preset_find (const char *name)
{
  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (presets); i++)
    if (strcmp (presets[i].name, name) == 0)
      return &presets[i];
  return NULL;
}

ConvolveModelSpec *
convolve_model_preset_new_spec (const ConvolveModelPreset *preset,
                                int                        n_classes)
{
  g_autoptr(GError) error = NULL;
  ConvolveModelSpec *spec;

  g_return_val_if_fail (preset != NULL, NULL);
  g_return_val_if_fail (n_classes >= 2, NULL);

  spec = convolve_model_spec_parse (preset->spec_text, &error);
  /* The texts above are fixed; a test parses every one. */
  g_assert_no_error (error);
  g_assert (spec->n_layers > 0 && spec->layers[spec->n_layers - 1].kind == CONVOLVE_LAYER_DENSE);
  spec->layers[spec->n_layers - 1].units = n_classes;
  return spec;
}

ConvolveModelSpec *
convolve_model_spec_new_preset (const char  *name,
                                int          n_classes,
                                GError     **error)
{
  const ConvolveModelPreset *preset = convolve_model_preset_find (name);

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (preset == NULL)
    {
      g_autoptr(GString) names = g_string_new (NULL);
      g_autofree char *shown = g_utf8_make_valid (name != NULL ? name : "", -1);

      for (gsize i = 0; i < G_N_ELEMENTS (presets); i++)
        g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", presets[i].name);
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("Unknown model preset “%s” (expected one of: %s)"), shown, names->str);
      return NULL;
    }
  if (n_classes < 2)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("A model needs at least 2 classes, not %d"), n_classes);
      return NULL;
    }
  return convolve_model_preset_new_spec (preset, n_classes);
}

static gboolean
same_layer (const ConvolveLayerSpec *a,
            const ConvolveLayerSpec *b)
{
  if (a->kind != b->kind)
    return FALSE;
  switch (a->kind)
    {
    case CONVOLVE_LAYER_CONV2D:
      return a->units == b->units && a->kernel_size == b->kernel_size &&
             a->padding == b->padding && a->activation == b->activation;
    case CONVOLVE_LAYER_MAX_POOL:
      return a->kernel_size == b->kernel_size;
    case CONVOLVE_LAYER_DENSE:
      return a->units == b->units && a->activation == b->activation;
    case CONVOLVE_LAYER_DROPOUT:
      return a->rate == b->rate;
    case CONVOLVE_LAYER_BATCH_NORM:
      return a->momentum == b->momentum;
    case CONVOLVE_LAYER_FLATTEN:
    case CONVOLVE_LAYER_RELU:
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
    default:
      return TRUE;
    }
}

const ConvolveModelPreset *
convolve_model_preset_match (const ConvolveModelSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (presets); i++)
    {
      g_autoptr(ConvolveModelSpec) candidate = NULL;
      gboolean same;

      if (spec->n_layers < 1 || spec->layers[spec->n_layers - 1].kind != CONVOLVE_LAYER_DENSE ||
          spec->layers[spec->n_layers - 1].units < 2)
        return NULL;
      candidate = convolve_model_preset_new_spec (&presets[i], spec->layers[spec->n_layers - 1].units);
      same = candidate->n_layers == spec->n_layers;
      for (int l = 0; same && l < spec->n_layers; l++)
        same = same_layer (&candidate->layers[l], &spec->layers[l]);
      if (same)
        return &presets[i];
    }
  return NULL;
}
