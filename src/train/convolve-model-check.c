/* convolve-model-check.c: does a model fit a dataset?
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-model-check.h"

static gboolean
check_classes (int      model_classes,
               int      data_classes,
               GError **error)
{
  if (data_classes > model_classes)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                   _("The dataset has %d classes, but the model only knows %d"),
                   data_classes, model_classes);
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_check_model_for_dataset (const ConvolveModel   *model,
                                  const ConvolveDataset *dataset,
                                  GError               **error)
{
  g_return_val_if_fail (model != NULL, FALSE);

  return convolve_check_input_for_dataset (convolve_model_get_input (model),
                                           convolve_model_get_n_classes (model),
                                           dataset, error);
}

gboolean
convolve_check_input_for_dataset (ConvolveShape          m,
                                  int                    model_classes,
                                  const ConvolveDataset *dataset,
                                  GError               **error)
{
  ConvolveShape d;
  int data_classes;

  g_return_val_if_fail (dataset != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  d = convolve_dataset_get_shape (dataset);
  if (!convolve_shape_equal (m, d))
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                   _("The model expects images of %d×%d×%d (height × width × channels), "
                     "but the dataset’s are %d×%d×%d"),
                   m.h, m.w, m.c, d.h, d.w, d.c);
      return FALSE;
    }

  data_classes = convolve_dataset_get_n_classes (dataset);
  return check_classes (model_classes, data_classes, error);
}

char *
convolve_check_spec (const ConvolveModelSpec *spec,
                     ConvolveShape            input,
                     int                      n_classes,
                     int                     *bad_layer,
                     GError                 **error)
{
  g_autofree char *summary = NULL;
  int last;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  summary = convolve_model_spec_summarize (spec, &input, bad_layer, error);
  if (summary == NULL)
    return NULL;
  /* A valid spec ends in a Dense layer: its units are the model's classes. */
  last = spec->n_layers - 1;
  if (!check_classes (spec->layers[last].units, n_classes, error))
    {
      if (bad_layer != NULL)
        *bad_layer = last;
      return NULL;
    }
  return g_steal_pointer (&summary);
}
