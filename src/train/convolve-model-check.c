/* convolve-model-check.c: does a model fit a dataset?
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-model-check.h"

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
  if (data_classes > model_classes)
    {
      g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                   _("The dataset has %d classes, but the model only knows %d"),
                   data_classes, model_classes);
      return FALSE;
    }
  return TRUE;
}
