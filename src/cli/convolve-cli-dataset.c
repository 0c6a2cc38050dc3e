/* convolve-cli-dataset.c: finding the dataset a command was asked for.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <string.h>

#include "convolve-cli-dataset.h"

static const char *
canonical_dataset_id (const char *name)
{
  static const struct {
    const char *alias;
    const char *id;
  } aliases[] = {
    { "cifar10", "cifar10" },
    { "cifar-10", "cifar10" },
    { "cifar_10", "cifar10" },
    { "fashion-mnist", "fashion-mnist" },
    { "fashion_mnist", "fashion-mnist" },
    { "fashionmnist", "fashion-mnist" },
    { "fashion", "fashion-mnist" },
    { "mnist", "mnist" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (g_ascii_strcasecmp (name, aliases[i].alias) == 0)
      return aliases[i].id;
  return NULL;
}

gboolean
convolve_cli_load_dataset (const char       *data_dir,
                           const char       *dataset_name,
                           ConvolveDataset **train,
                           ConvolveDataset **test,
                           GError          **error)
{
  g_autoptr(GPtrArray) locations = NULL;
  const char *id;

  if (data_dir != NULL && dataset_name != NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("give either --data or --dataset, not both"));
      return FALSE;
    }
  if (data_dir == NULL && dataset_name == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("no dataset: give --data DIR or --dataset cifar10|fashion-mnist|mnist"));
      return FALSE;
    }
  if (data_dir != NULL)
    return convolve_dataset_load_dir (data_dir, train, test, NULL, error);

  id = canonical_dataset_id (dataset_name);
  if (id == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("unknown dataset “%s”: use cifar10, fashion-mnist or mnist"),
                   dataset_name);
      return FALSE;
    }

  locations = convolve_dataset_discover (NULL);
  for (guint i = 0; i < locations->len; i++)
    {
      ConvolveDatasetLocation *location = g_ptr_array_index (locations, i);

      if (strcmp (location->id, id) == 0)
        return convolve_dataset_load_dir (location->path, train, test, NULL, error);
    }

  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
               _("dataset “%s” is not on this machine (looked in Convolve’s data folder, "
                 "the Keras cache, torchvision folders and /usr/share/datasets); "
                 "download it with “convolve-cli download” or give --data DIR"),
               id);
  return FALSE;
}
