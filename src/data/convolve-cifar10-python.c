/* convolve-cifar10-python.c: the CIFAR-10 python layout
 * (cifar-10-batches-py: data_batch_1 … data_batch_5, test_batch,
 * batches.meta), as Keras caches it and torchvision keeps it.
 *
 * Those files are pickles, and loading a pickle with Python runs whatever
 * code it names. They are run here by the restricted machine in
 * convolve-pickle.c, which executes nothing; this file only maps the values
 * it makes (a dictionary with a uint8 array of images and a list of labels,
 * or a list of class names) to a dataset, and refuses values of another
 * shape.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>

#include <string.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-limits.h"
#include "convolve-pickle.h"

#define N_TRAIN_BATCHES 5

static gboolean
array_is_images (const ConvolvePickleValue *array)
{
  const ConvolvePickleValue *rows;
  const ConvolvePickleValue *columns;

  if (array->kind != CONVOLVE_PICKLE_NDARRAY || !array->built || array->fortran ||
      !(strcmp (array->dtype, "u1") == 0 || strcmp (array->dtype, "|u1") == 0) ||
      array->items->len != 2)
    return FALSE;

  rows = convolve_pickle_value_get_item (array, 0);
  columns = convolve_pickle_value_get_item (array, 1);
  return rows->integer > 0 && rows->integer <= G_MAXUINT32 &&
         columns->integer == CONVOLVE_CIFAR10_IMAGE_SIZE &&
         array->length == (gsize) rows->integer * CONVOLVE_CIFAR10_IMAGE_SIZE;
}

gboolean
convolve_cifar10_python_read_batch (GBytes               *contents,
                                    const char           *path,
                                    ConvolveCifar10Batch *batch,
                                    GError              **error)
{
  g_autoptr(ConvolvePickle) pickle = NULL;
  const ConvolvePickleValue *root;
  const ConvolvePickleValue *data;
  const ConvolvePickleValue *labels;
  guint n_images;

  g_return_val_if_fail (contents != NULL && path != NULL && batch != NULL, FALSE);

  pickle = convolve_pickle_load (contents, path, error);
  if (pickle == NULL)
    return FALSE;
  root = convolve_pickle_get_root (pickle);

  if (root->kind != CONVOLVE_PICKLE_DICT)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT, _("it does not hold a dictionary"));
      return FALSE;
    }

  data = convolve_pickle_value_lookup (root, "data");
  labels = convolve_pickle_value_lookup (root, "labels");
  if (data == NULL || labels == NULL)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                 _("it has no “data” and “labels” entries"));
      return FALSE;
    }

  if (!array_is_images (data))
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("its “data” is not an array of uint8 images of 3072 bytes"));
      return FALSE;
    }
  n_images = (guint) convolve_pickle_value_get_item (data, 0)->integer;

  if (labels->kind != CONVOLVE_PICKLE_LIST)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("its “labels” are not a list"));
      return FALSE;
    }

  if (labels->items->len != n_images)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                 _("it holds %u images but %u labels"), n_images, labels->items->len);
      return FALSE;
    }

  batch->labels = g_malloc (n_images);
  for (guint i = 0; i < n_images; i++)
    {
      const ConvolvePickleValue *label = convolve_pickle_value_get_item (labels, i);

      if (label->kind != CONVOLVE_PICKLE_INT || label->integer < 0 ||
          label->integer >= CONVOLVE_CIFAR10_N_CLASSES)
        {
          convolve_cifar10_batch_clear (batch);
          convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                     _("label %u is not a number from 0 to 9"), i + 1);
          return FALSE;
        }
      batch->labels[i] = (guint8) label->integer;
    }

  /* The pixels stay in the file's bytes unless they had to be decoded. */
  batch->pixels = convolve_pickle_value_dup_bytes (pickle, data);
  batch->n_images = n_images;

  return TRUE;
}

char **
convolve_cifar10_python_read_label_names (GBytes      *contents,
                                          const char  *path,
                                          GError     **error)
{
  g_autoptr(ConvolvePickle) pickle = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const ConvolvePickleValue *root;
  const ConvolvePickleValue *list;

  g_return_val_if_fail (contents != NULL && path != NULL, NULL);

  pickle = convolve_pickle_load (contents, path, error);
  if (pickle == NULL)
    return NULL;
  root = convolve_pickle_get_root (pickle);

  if (root->kind != CONVOLVE_PICKLE_DICT || (list = convolve_pickle_value_lookup (root, "label_names")) == NULL ||
      list->kind != CONVOLVE_PICKLE_LIST)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                 _("it has no “label_names” list"));
      return NULL;
    }

  if (list->items->len != CONVOLVE_CIFAR10_N_CLASSES)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                 _("it lists %u class names, but CIFAR-10 has 10"), list->items->len);
      return NULL;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < list->items->len; i++)
    {
      const ConvolvePickleValue *name = convolve_pickle_value_get_item (list, i);

      if (!convolve_pickle_value_is_string (name))
        {
          convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                     _("class name %u is not a string"), i + 1);
          return NULL;
        }
      g_ptr_array_add (names, g_strndup ((const char *) name->data, name->length));
    }

  return convolve_cifar10_class_names_from ((const char * const *) names->pdata, names->len);
}

/* One file of the layout, read whole through one descriptor (not mapped:
 * a file cut short while loading would be a SIGBUS). *contents is NULL
 * (no error) when the file does not exist. */
static gboolean
read_file (const char  *path,
           GBytes     **contents,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  *contents = convolve_data_read_regular_file (path, CONVOLVE_LIMIT_DATASET_BYTES, &local_error);
  if (*contents != NULL)
    return TRUE;
  if (g_error_matches (local_error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
convolve_cifar10_load_python (const char       *dir,
                              ConvolveDataset **train,
                              ConvolveDataset **test,
                              GCancellable     *cancellable,
                              GError          **error)
{
  g_autoptr(GArray) train_batches = NULL;
  g_autoptr(GArray) test_batches = NULL;
  g_auto(GStrv) class_names = NULL;
  g_autofree char *meta_path = NULL;
  g_autoptr(GBytes) meta = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL && test != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  train_batches = convolve_cifar10_batches_new ();
  test_batches = convolve_cifar10_batches_new ();

  for (int i = 0; i <= N_TRAIN_BATCHES; i++)
    {
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;
      g_autoptr(GBytes) contents = NULL;
      ConvolveCifar10Batch batch = { .fd = -1 };

      if (convolve_data_set_error_if_cancelled (cancellable, error))
        return FALSE;

      name = i < N_TRAIN_BATCHES ? g_strdup_printf ("data_batch_%d", i + 1) : g_strdup ("test_batch");
      path = g_build_filename (dir, name, NULL);
      if (!read_file (path, &contents, error))
        return FALSE;
      if (contents == NULL)
        continue;

      if (!convolve_cifar10_python_read_batch (contents, path, &batch, error))
        return FALSE;

      g_array_append_val (i < N_TRAIN_BATCHES ? train_batches : test_batches, batch);
    }

  if (train_batches->len == 0)
    {
      g_autofree char *display = g_filename_display_name (dir);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                   _("No CIFAR-10 training batches (data_batch_1 … data_batch_5) in “%s”"),
                   display);
      return FALSE;
    }

  meta_path = g_build_filename (dir, "batches.meta", NULL);
  if (!read_file (meta_path, &meta, error))
    return FALSE;
  if (meta != NULL)
    class_names = convolve_cifar10_python_read_label_names (meta, meta_path, error);
  else
    class_names = convolve_cifar10_standard_class_names ();
  if (class_names == NULL)
    return FALSE;

  /* Everything is read by now: joining only copies, and is not cancelled. */
  return convolve_cifar10_join_batches (train_batches, test_batches,
                                        (const char * const *) class_names,
                                        NULL, NULL, train, test, error);
}
