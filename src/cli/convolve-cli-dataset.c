/* convolve-cli-dataset.c: finding the dataset a command was asked for,
 * and loading an image folder with the settings given.
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

static void
set_not_image_folder_error (GError     **error,
                            const char  *name)
{
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _("“%s” is not an image folder: --image-size, --fit and --validation-fraction "
                 "apply to image folders only"),
               name);
}

gboolean
convolve_cli_load_dataset (const ConvolveCliOptions  *options,
                           const ConvolveShape       *model_input,
                           ConvolveDataset          **train,
                           ConvolveDataset          **test,
                           GError                   **error)
{
  const char *data_dir = options->data_dir;
  const char *dataset_name = options->dataset_name;
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
    {
      ConvolveImageFolderOptions image_options;
      ConvolveImageFolderReport report = { 0 };
      g_autoptr(ConvolveDataset) loaded_train = NULL;
      g_autoptr(ConvolveDataset) loaded_test = NULL;

      convolve_cli_options_get_image_folder_options (options, model_input, &image_options);
      if (!convolve_dataset_load_dir_full (data_dir, &image_options, &report,
                                           &loaded_train, &loaded_test, NULL, error))
        return FALSE;
      /* the report is left alone for other layouts */
      if (report.n_files == 0 && convolve_cli_options_has_image_folder_options (options))
        {
          g_autofree char *display = g_filename_display_name (data_dir);

          set_not_image_folder_error (error, display);
          return FALSE;
        }
      *train = g_steal_pointer (&loaded_train);
      *test = g_steal_pointer (&loaded_test);
      return TRUE;
    }

  id = canonical_dataset_id (dataset_name);
  if (id == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("unknown dataset “%s”: use cifar10, fashion-mnist or mnist"),
                   dataset_name);
      return FALSE;
    }
  if (convolve_cli_options_has_image_folder_options (options))
    {
      set_not_image_folder_error (error, id);
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
