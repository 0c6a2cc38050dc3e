/* test-discover.c: finding datasets on the machine, and loading a folder
 * whatever its layout. HOME, XDG_DATA_HOME and XDG_CACHE_HOME point to a
 * temporary folder, set before GLib first reads them; each test leaves
 * them empty. (G_TEST_OPTION_ISOLATE_DIRS would do the same per test, but
 * GLib keeps the replaced paths alive, which LeakSanitizer reports.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-data-private.h"
#include "convolve-loaders.h"
#include "data-test-util.h"

#define DEBIAN_FASHION "/usr/share/datasets/fashion-mnist"

static char *
write_sized (const char *dir,
             const char *name,
             gsize       size,
             guint8      fill)
{
  g_autofree guint8 *data = g_malloc (MAX (size, 1));

  memset (data, fill, size);
  return data_test_write (dir, name, data, size);
}

static char *user_root;

static void
make_user_dirs (void)
{
  const char * const names[] = { "home", "data", "cache" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *dir = g_build_filename (user_root, names[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    }
}

/* Leaves HOME and the XDG folders as the next test expects them: empty. */
static void
empty_user_dirs (void)
{
  data_test_remove_dir (user_root);
  make_user_dirs ();
}

static const ConvolveDatasetLocation *
find_location (GPtrArray  *locations,
               const char *path)
{
  for (guint i = 0; i < locations->len; i++)
    {
      const ConvolveDatasetLocation *location = g_ptr_array_index (locations, i);

      if (g_str_equal (location->path, path))
        return location;
    }

  return NULL;
}

static void
assert_location (GPtrArray           *locations,
                 const char          *path,
                 const char          *id,
                 ConvolveDatasetKind  kind,
                 const char          *origin)
{
  const ConvolveDatasetLocation *location = find_location (locations, path);

  if (location == NULL)
    g_error ("%s was not discovered", path);
  g_assert_cmpstr (location->id, ==, id);
  g_assert_cmpint (location->kind, ==, kind);
  g_assert_cmpstr (location->origin, ==, origin);
  g_assert_nonnull (location->title);
  g_assert_cmpstr (location->title, !=, "");
}

static void
test_discover_data_dir (void)
{
  g_autofree char *dir = convolve_data_dir ();
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "convolve", NULL);

  g_assert_cmpstr (dir, ==, expected);
  g_assert_true (g_str_has_prefix (dir, user_root));
}

static void
test_discover_locations (void)
{
  g_autofree char *data_dir = convolve_data_dir ();
  g_autofree char *keras = g_build_filename (g_get_home_dir (), ".keras", "datasets", NULL);
  g_autofree char *home_data = g_build_filename (g_get_home_dir (), "data", NULL);
  g_autofree char *torch_cache = g_build_filename (g_get_user_cache_dir (), "torchvision", NULL);
  g_autofree char *work = data_test_make_dir ();
  g_autofree char *extra = data_test_make_dir ();
  g_autofree char *old_cwd = g_get_current_dir ();
  g_autofree char *cifar_bin = g_build_filename (data_dir, "cifar-10-batches-bin", NULL);
  g_autofree char *keras_py = g_build_filename (keras, "cifar-10-batches-py", NULL);
  g_autofree char *keras_fashion = g_build_filename (keras, "fashion-mnist", NULL);
  g_autofree char *keras_bad = g_build_filename (keras, "cifar-10-batches-bin", NULL);
  g_autofree char *home_mnist = g_build_filename (home_data, "MNIST", "raw", NULL);
  g_autofree char *cache_fashion = g_build_filename (torch_cache, "FashionMNIST", "raw", NULL);
  g_autofree char *work_py = NULL;
  g_autofree char *cwd_data = NULL;
  const char *extra_dirs[] = { extra, data_dir, NULL };
  g_autoptr(GPtrArray) locations = NULL;
  gboolean debian = g_file_test (DEBIAN_FASHION "/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS);
  const ConvolveDatasetLocation *first;

  g_free (write_sized (cifar_bin, "data_batch_1.bin", 2 * 3073, 0));
  g_free (write_sized (keras_py, "data_batch_1", 1000, 'x'));
  g_free (write_sized (keras_fashion, "train-images-idx3-ubyte.gz", 100, 1));
  g_free (write_sized (keras_fashion, "train-labels-idx1-ubyte.gz", 50, 1));
  g_free (write_sized (home_mnist, "train-images-idx3-ubyte", 16 + 784, 0));
  g_free (write_sized (home_mnist, "train-labels-idx1-ubyte", 9, 0));
  g_free (write_sized (cache_fashion, "train-images-idx3-ubyte", 16 + 784, 0));
  g_free (write_sized (cache_fashion, "train-labels-idx1-ubyte", 9, 0));
  g_free (write_sized (extra, "data_batch_3.bin", 3073, 1));
  g_free (write_sized (extra, "test_batch.bin", 3073, 1));

  /* not datasets: a batch of the wrong size, images without labels, an
   * empty python batch */
  g_free (write_sized (keras_bad, "data_batch_1.bin", 3000, 0));
  g_free (write_sized (home_data, "mnist/train-images-idx3-ubyte", 800, 0));
  g_free (write_sized (torch_cache, "cifar-10-batches-py/data_batch_1", 0, 0));

  /* ./data, as torchvision's examples use */
  g_free (write_sized (work, "data/cifar-10-batches-py/data_batch_2", 500, 'y'));
  g_assert_cmpint (g_chdir (work), ==, 0);
  {
    g_autofree char *real_work = g_get_current_dir ();

    cwd_data = g_build_filename (real_work, "data", NULL);
    work_py = g_build_filename (cwd_data, "cifar-10-batches-py", NULL);
  }

  locations = convolve_dataset_discover (extra_dirs);
  g_assert_cmpint (g_chdir (old_cwd), ==, 0);

  for (guint i = 0; i < locations->len; i++)
    {
      const ConvolveDatasetLocation *location = g_ptr_array_index (locations, i);

      g_test_message ("%s: %s (%s)", location->origin, location->path, location->id);
    }

  assert_location (locations, cifar_bin, "cifar10", CONVOLVE_DATASET_KIND_CIFAR10_BINARY,
                   "Convolve’s data folder");
  assert_location (locations, keras_py, "cifar10", CONVOLVE_DATASET_KIND_CIFAR10_PYTHON, "Keras cache");
  assert_location (locations, keras_fashion, "fashion-mnist", CONVOLVE_DATASET_KIND_IDX, "Keras cache");
  assert_location (locations, home_mnist, "mnist", CONVOLVE_DATASET_KIND_IDX, "torchvision folder");
  assert_location (locations, cache_fashion, "fashion-mnist", CONVOLVE_DATASET_KIND_IDX,
                   "torchvision folder");
  assert_location (locations, work_py, "cifar10", CONVOLVE_DATASET_KIND_CIFAR10_PYTHON,
                   "torchvision folder");
  assert_location (locations, extra, "cifar10", CONVOLVE_DATASET_KIND_CIFAR10_BINARY, "Chosen folder");
  if (debian)
    assert_location (locations, DEBIAN_FASHION, "fashion-mnist", CONVOLVE_DATASET_KIND_IDX,
                     "Debian package dataset-fashion-mnist");

  /* nothing else, each once (the data folder passed again is not repeated),
   * Convolve's own first */
  g_assert_cmpuint (locations->len, ==, debian ? 8 : 7);
  first = g_ptr_array_index (locations, 0);
  g_assert_cmpstr (first->path, ==, cifar_bin);

  data_test_remove_dir (work);
  data_test_remove_dir (extra);
  empty_user_dirs ();
}

static void
test_discover_nothing (void)
{
  g_autoptr(GPtrArray) locations = convolve_dataset_discover (NULL);

  for (guint i = 0; i < locations->len; i++)
    {
      const ConvolveDatasetLocation *location = g_ptr_array_index (locations, i);

      /* only system-wide datasets can be found in an empty home */
      g_assert_true (g_str_has_prefix (location->path, "/usr/share/"));
    }
}

static void
test_discover_load_dir (void)
{
  g_autofree char *root = data_test_make_dir ();
  g_autofree char *cifar = g_build_filename (root, "cifar-10-batches-bin", NULL);
  g_autofree char *empty = g_build_filename (root, "empty", NULL);
  g_autofree char *missing = g_build_filename (root, "missing", NULL);
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveDatasetKind kind;
  guint8 record[3073] = { 4 };

  g_free (data_test_write (cifar, "data_batch_1.bin", record, sizeof record));
  g_assert_cmpint (g_mkdir (empty, 0700), ==, 0);

  g_assert_true (convolve_dataset_detect_kind (cifar, &kind));
  g_assert_cmpint (kind, ==, CONVOLVE_DATASET_KIND_CIFAR10_BINARY);
  g_assert_false (convolve_dataset_detect_kind (root, &kind));

  /* the folder itself, or a root above it */
  g_assert_true (convolve_dataset_load_dir (cifar, &train, &test, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 1);
  g_assert_cmpuint (convolve_dataset_get_label (train, 0), ==, 4);
  g_clear_pointer (&train, convolve_dataset_unref);
  g_clear_pointer (&test, convolve_dataset_unref);

  g_assert_true (convolve_dataset_load_dir (root, &train, &test, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 1);
  g_clear_pointer (&train, convolve_dataset_unref);
  g_clear_pointer (&test, convolve_dataset_unref);

  g_assert_false (convolve_dataset_load_dir (empty, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND);
  data_test_assert_names (error, "empty");
  g_clear_error (&error);

  g_assert_false (convolve_dataset_load_dir (missing, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND);
  data_test_assert_names (error, "missing");
  g_clear_error (&error);

  /* a damaged dataset is reported as such, not as missing */
  g_free (data_test_write (cifar, "data_batch_2.bin", record, sizeof record - 1));
  g_assert_false (convolve_dataset_load_dir (root, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED);
  data_test_assert_names (error, "data_batch_2.bin");
  g_clear_error (&error);
  {
    g_autofree char *idx = g_build_filename (root, "fashion", NULL);
    /* one 2 x 2 image, of which only half is there */
    guint8 images[18] = { 0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 7, 7 };
    guint8 labels[9] = { 0, 0, 8, 1, 0, 0, 0, 1, 0 };

    g_free (data_test_write (idx, "train-images-idx3-ubyte", images, sizeof images));
    g_free (data_test_write (idx, "train-labels-idx1-ubyte", labels, sizeof labels));
    g_assert_true (convolve_dataset_detect_kind (idx, &kind));
    g_assert_cmpint (kind, ==, CONVOLVE_DATASET_KIND_IDX);
    g_assert_false (convolve_dataset_load_dir (idx, &train, &test, NULL, &error));
    g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED);
    g_clear_error (&error);
  }

  data_test_remove_dir (root);
}

static void
assert_load_fails (const char *dir,
                   int         code,
                   const char *needle)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (convolve_dataset_load_dir (dir, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected “%s” in: %s", needle, error->message);
  g_assert_null (train);
  g_assert_null (test);
}

/* Folders that detection passes over, because their dataset files are
 * damaged or not files at all: the message says which file and why,
 * rather than "no dataset". */
static void
test_discover_explain (void)
{
  g_autofree char *root = data_test_make_dir ();
  g_autofree char *truncated = g_build_filename (root, "truncated", NULL);
  g_autofree char *test_only = g_build_filename (root, "test-only", NULL);
  g_autofree char *renamed_png = g_build_filename (root, "renamed-png", NULL);
  g_autofree char *folder_batch = g_build_filename (root, "folder-batch", NULL);
  g_autofree char *folder_batch_dir = g_build_filename (folder_batch, "data_batch_1.bin", NULL);
  g_autofree char *keras_root = g_build_filename (root, "keras", NULL);
  g_autofree char *labels_only = g_build_filename (root, "labels-only", NULL);
  g_autofree char *file = NULL;
  guint8 record[3073] = { 4 };
  const guint8 png_start[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13 };

  g_free (data_test_write (truncated, "data_batch_1.bin", record, 100));
  assert_load_fails (truncated, CONVOLVE_DATA_ERROR_TRUNCATED, "data_batch_1.bin");

  g_free (data_test_write (test_only, "test_batch.bin", record, sizeof record));
  assert_load_fails (test_only, CONVOLVE_DATA_ERROR_NOT_FOUND, "data_batch_1.bin");

  g_free (data_test_write (renamed_png, "data_batch_1.bin", png_start, sizeof png_start));
  assert_load_fails (renamed_png, CONVOLVE_DATA_ERROR_TRUNCATED, "data_batch_1.bin");

  g_assert_cmpint (g_mkdir_with_parents (folder_batch_dir, 0700), ==, 0);
  assert_load_fails (folder_batch, CONVOLVE_DATA_ERROR_FORMAT, "not a regular file");

  /* a root such as ~/.keras/datasets: its damaged dataset is explained */
  g_free (data_test_write (keras_root, "cifar-10-batches-py/data_batch_1", record, 0));
  assert_load_fails (keras_root, CONVOLVE_DATA_ERROR_TRUNCATED, "data_batch_1");

  g_free (data_test_write (labels_only, "train-labels-idx1-ubyte", record, 9));
  assert_load_fails (labels_only, CONVOLVE_DATA_ERROR_NOT_FOUND, "train-images");

  /* a file where a folder should be */
  file = g_build_filename (truncated, "data_batch_1.bin", NULL);
  assert_load_fails (file, CONVOLVE_DATA_ERROR_NOT_FOUND, "not a folder");

  data_test_remove_dir (root);
}

int
main (int argc, char *argv[])
{
  g_autofree char *home = NULL;
  g_autofree char *data = NULL;
  g_autofree char *cache = NULL;
  int status;

  /* before anything asks GLib for these folders (it reads them once) */
  user_root = g_dir_make_tmp ("convolve-discover-XXXXXX", NULL);
  g_assert_nonnull (user_root);
  home = g_build_filename (user_root, "home", NULL);
  data = g_build_filename (user_root, "data", NULL);
  cache = g_build_filename (user_root, "cache", NULL);
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_unsetenv ("KERAS_HOME");

  g_test_init (&argc, &argv, NULL);
  make_user_dirs ();

  g_test_add_func ("/data/discover/data-dir", test_discover_data_dir);
  g_test_add_func ("/data/discover/locations", test_discover_locations);
  g_test_add_func ("/data/discover/nothing", test_discover_nothing);
  g_test_add_func ("/data/discover/load-dir", test_discover_load_dir);
  g_test_add_func ("/data/discover/explain", test_discover_explain);

  status = g_test_run ();
  data_test_remove_dir (user_root);
  g_free (user_root);
  return status;
}
