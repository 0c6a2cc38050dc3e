/* convolve-discover.c: which datasets are on this machine, and loading a
 * folder whatever its layout.
 *
 * Discovery only looks at file names and sizes, so it is quick enough to
 * run when a window opens; reading and checking the contents is left to the
 * loaders.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "convolve-data-private.h"

/* Where the usual tools put each dataset below a root folder. */
static const char * const dataset_subdirs[] = {
  "cifar-10-batches-bin",   /* Convolve's download, the binary tarball */
  "cifar-10-batches-py",    /* Keras, torchvision */
  "fashion-mnist",          /* Keras (~/.keras/datasets/fashion-mnist) */
  "FashionMNIST/raw",       /* torchvision */
  "mnist",
  "MNIST/raw",              /* torchvision */
};

char *
convolve_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "convolve", NULL);
}

void
convolve_dataset_location_free (ConvolveDatasetLocation *location)
{
  if (location == NULL)
    return;

  g_free (location->id);
  g_free (location->title);
  g_free (location->path);
  g_free (location->origin);
  g_free (location);
}

static goffset
file_size (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return -1;

  return (goffset) st.st_size;
}

static gboolean
has_cifar10_batch (const char *dir,
                   const char *suffix,
                   gsize       record_size)
{
  for (int i = 1; i <= 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("data_batch_%d%s", i, suffix);
      goffset size = file_size (dir, name);

      if (size > 0 && (record_size == 0 || size % (goffset) record_size == 0))
        return TRUE;
    }

  return FALSE;
}

static gboolean
has_idx_pair (const char *dir)
{
  g_autofree char *images = convolve_idx_find_file (dir, "train-images", "idx3-ubyte");
  g_autofree char *labels = convolve_idx_find_file (dir, "train-labels", "idx1-ubyte");
  GStatBuf st_images, st_labels;

  /* Smaller than a header (or an empty gzip stream) cannot hold data. */
  return images != NULL && labels != NULL &&
         g_stat (images, &st_images) == 0 && st_images.st_size > 16 &&
         g_stat (labels, &st_labels) == 0 && st_labels.st_size > 8;
}

gboolean
convolve_dataset_detect_kind (const char          *dir,
                              ConvolveDatasetKind *kind)
{
  g_return_val_if_fail (dir != NULL && kind != NULL, FALSE);

  if (has_cifar10_batch (dir, ".bin", CONVOLVE_CIFAR10_RECORD_SIZE))
    *kind = CONVOLVE_DATASET_KIND_CIFAR10_BINARY;
  else if (has_cifar10_batch (dir, "", 0))
    *kind = CONVOLVE_DATASET_KIND_CIFAR10_PYTHON;
  else if (has_idx_pair (dir))
    *kind = CONVOLVE_DATASET_KIND_IDX;
  else if (convolve_image_folder_detect (dir))
    *kind = CONVOLVE_DATASET_KIND_IMAGE_FOLDER;
  else
    return FALSE;

  return TRUE;
}

typedef struct {
  const ConvolveImageFolderOptions *options;
  ConvolveImageFolderReport        *report;
} ImageSettings;

static gboolean
load_kind (const char           *dir,
           ConvolveDatasetKind   kind,
           const ImageSettings  *image,
           ConvolveDataset     **train,
           ConvolveDataset     **test,
           GCancellable         *cancellable,
           GError              **error)
{
  switch (kind)
    {
    case CONVOLVE_DATASET_KIND_IMAGE_FOLDER:
      return convolve_image_folder_load (dir, image->options, image->report, train, test,
                                         cancellable, error);
    case CONVOLVE_DATASET_KIND_CIFAR10_BINARY:
      return convolve_cifar10_load_binary (dir, train, test, cancellable, error);
    case CONVOLVE_DATASET_KIND_CIFAR10_PYTHON:
      return convolve_cifar10_load_python (dir, train, test, cancellable, error);
    case CONVOLVE_DATASET_KIND_IDX:
    default:
      return convolve_idx_load_dir (dir, train, test, cancellable, error);
    }
}

static gboolean
name_present (const char *dir,
              const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  /* lstat: a dangling link is there too, and its loader says so. */
  return g_lstat (path, &st) == 0;
}

/* Any of data_batch_1 … data_batch_5 and test_batch, with suffix. */
static gboolean
any_batch_present (const char *dir,
                   const char *suffix)
{
  g_autofree char *test_name = g_strconcat ("test_batch", suffix, NULL);

  for (int i = 1; i <= 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("data_batch_%d%s", i, suffix);

      if (name_present (dir, name))
        return TRUE;
    }
  return name_present (dir, test_name);
}

/* Loads dir with the loader whose file names it holds, though detection
 * found no usable dataset there: that loader reports what is wrong.
 * *explained is FALSE (and nothing is loaded) when dir holds no dataset
 * file names at all. */
static gboolean
explain_folder (const char       *dir,
                ConvolveDataset **train,
                ConvolveDataset **test,
                GCancellable     *cancellable,
                gboolean         *explained,
                GError          **error)
{
  static const char * const idx_files[][2] = {
    { "train-images", "idx3-ubyte" },
    { "train-labels", "idx1-ubyte" },
    { "t10k-images", "idx3-ubyte" },
    { "t10k-labels", "idx1-ubyte" },
  };

  *explained = TRUE;
  if (any_batch_present (dir, ".bin"))
    return convolve_cifar10_load_binary (dir, train, test, cancellable, error);
  if (any_batch_present (dir, ""))
    return convolve_cifar10_load_python (dir, train, test, cancellable, error);
  for (gsize i = 0; i < G_N_ELEMENTS (idx_files); i++)
    {
      g_autofree char *path = convolve_idx_find_file (dir, idx_files[i][0], idx_files[i][1]);

      if (path != NULL)
        return convolve_idx_load_dir (dir, train, test, cancellable, error);
    }

  *explained = FALSE;
  return FALSE;
}

/* Whether dir has a folder in it: then it may be an image folder that
 * detection passed over (one class, no file named like a picture), whose
 * loader says what is wrong. */
static gboolean
has_subfolder (const char *dir)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
        return TRUE;
    }
  return FALSE;
}

gboolean
convolve_dataset_load_dir (const char       *dir,
                           ConvolveDataset **train,
                           ConvolveDataset **test,
                           GCancellable     *cancellable,
                           GError          **error)
{
  return convolve_dataset_load_dir_full (dir, NULL, NULL, train, test, cancellable, error);
}

gboolean
convolve_dataset_load_dir_full (const char                       *dir,
                                const ConvolveImageFolderOptions *image_options,
                                ConvolveImageFolderReport        *image_report,
                                ConvolveDataset                 **train,
                                ConvolveDataset                 **test,
                                GCancellable                     *cancellable,
                                GError                          **error)
{
  ImageSettings image = { image_options, image_report };
  g_autofree char *display = NULL;
  ConvolveDatasetKind kind;
  GStatBuf st;
  DIR *folder;
  gboolean explained = FALSE;
  gboolean ok = FALSE;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL && test != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (convolve_dataset_detect_kind (dir, &kind))
    return load_kind (dir, kind, &image, train, test, cancellable, error);

  /* A root such as ~/.keras/datasets: the first dataset below it. */
  for (gsize i = 0; i < G_N_ELEMENTS (dataset_subdirs); i++)
    {
      g_autofree char *subdir = g_build_filename (dir, dataset_subdirs[i], NULL);

      if (convolve_dataset_detect_kind (subdir, &kind))
        return load_kind (subdir, kind, &image, train, test, cancellable, error);
    }

  display = g_filename_display_name (dir);
  if (g_stat (dir, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT || saved_errno == ENOTDIR)
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                     _("The folder “%s” does not exist"), display);
      else
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                     _("Could not open the folder “%s”: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                   _("“%s” is a file, not a folder: give the folder that holds the dataset’s files"),
                   display);
      return FALSE;
    }
  folder = opendir (dir);
  if (folder == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not open the folder “%s”: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }
  closedir (folder);

  /* Dataset files that detection passed over (damaged, empty, not regular
   * files, a test set without training set): their loader says what is
   * wrong, which helps more than "no dataset". */
  ok = explain_folder (dir, train, test, cancellable, &explained, error);
  for (gsize i = 0; i < G_N_ELEMENTS (dataset_subdirs) && !explained; i++)
    {
      g_autofree char *subdir = g_build_filename (dir, dataset_subdirs[i], NULL);

      if (g_file_test (subdir, G_FILE_TEST_IS_DIR))
        ok = explain_folder (subdir, train, test, cancellable, &explained, error);
    }
  if (explained)
    return ok;
  if (has_subfolder (dir))
    return convolve_image_folder_load (dir, image_options, image_report, train, test,
                                       cancellable, error);

  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
               _("No dataset in “%s”: it holds neither CIFAR-10 batches "
                 "(binary or python) nor IDX files"),
               display);
  return FALSE;
}

typedef struct {
  GPtrArray  *locations;
  GHashTable *seen;       /* real paths already listed */
} Discovery;

static void
discovery_check (Discovery  *discovery,
                 const char *path,
                 const char *origin)
{
  g_autofree char *real = NULL;
  ConvolveDatasetLocation *location;
  ConvolveDatasetKind kind;

  if (!convolve_dataset_detect_kind (path, &kind))
    return;

  real = realpath (path, NULL);
  if (real == NULL)
    real = g_canonicalize_filename (path, NULL);
  if (!g_hash_table_add (discovery->seen, g_steal_pointer (&real)))
    return;

  location = g_new0 (ConvolveDatasetLocation, 1);
  location->path = g_strdup (path);
  location->origin = g_strdup (origin);
  location->kind = kind;
  if (kind == CONVOLVE_DATASET_KIND_IMAGE_FOLDER)
    {
      g_autofree char *basename = g_path_get_basename (path);

      location->id = g_strdup ("image-folder");
      location->title = g_filename_display_name (basename);
    }
  else if (kind != CONVOLVE_DATASET_KIND_IDX)
    {
      location->id = g_strdup ("cifar10");
      location->title = g_strdup (_("CIFAR-10"));
    }
  else if (convolve_idx_path_is_fashion (path))
    {
      location->id = g_strdup ("fashion-mnist");
      location->title = g_strdup (_("Fashion-MNIST"));
    }
  else
    {
      location->id = g_strdup ("mnist");
      location->title = g_strdup (_("MNIST"));
    }

  g_ptr_array_add (discovery->locations, location);
}

static void
discovery_check_root (Discovery  *discovery,
                      const char *root,
                      const char *origin)
{
  if (root == NULL || !g_file_test (root, G_FILE_TEST_IS_DIR))
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (dataset_subdirs); i++)
    {
      g_autofree char *path = g_build_filename (root, dataset_subdirs[i], NULL);

      discovery_check (discovery, path, origin);
    }
}

GPtrArray *
convolve_dataset_discover (const char * const *extra_dirs)
{
  g_autofree char *data_dir = convolve_data_dir ();
  g_autofree char *keras_dir = NULL;
  g_autofree char *home_data = g_build_filename (g_get_home_dir (), "data", NULL);
  g_autofree char *torch_cache = g_build_filename (g_get_user_cache_dir (), "torchvision", NULL);
  g_autofree char *current = g_get_current_dir ();
  g_autofree char *current_data = g_build_filename (current, "data", NULL);
  const char *keras_home = g_getenv ("KERAS_HOME");
  Discovery discovery;

  discovery.locations = g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_dataset_location_free);
  discovery.seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Keras keeps its cache in $KERAS_HOME, else ~/.keras. */
  if (keras_home != NULL && *keras_home != '\0')
    keras_dir = g_build_filename (keras_home, "datasets", NULL);
  else
    keras_dir = g_build_filename (g_get_home_dir (), ".keras", "datasets", NULL);

  discovery_check_root (&discovery, data_dir, _("Convolve’s data folder"));
  discovery_check_root (&discovery, keras_dir, _("Keras cache"));
  discovery_check_root (&discovery, home_data, _("torchvision folder"));
  discovery_check_root (&discovery, torch_cache, _("torchvision folder"));
  discovery_check_root (&discovery, current_data, _("torchvision folder"));
  discovery_check (&discovery, "/usr/share/datasets/fashion-mnist",
                   _("Debian package dataset-fashion-mnist"));

  for (gsize i = 0; extra_dirs != NULL && extra_dirs[i] != NULL; i++)
    {
      discovery_check (&discovery, extra_dirs[i], _("Chosen folder"));
      discovery_check_root (&discovery, extra_dirs[i], _("Chosen folder"));
    }

  g_hash_table_unref (discovery.seen);
  return discovery.locations;
}
