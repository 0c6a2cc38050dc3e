/* fuzz-image-folder.c: convolve_image_folder_load() on a folder the input
 * describes. The input holds up to six files, split at
 * CONVOLVE_FUZZ_SEPARATOR; each file's first byte places it (bits 0-1:
 * class folder a, b or c; bits 2-3: directly in it, in a folder nested in
 * it, or in train/ or test/) and the rest is its content. The folder is
 * loaded twice: decoded, then from the cache the first load wrote, which
 * must give the same datasets.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-image-folder.h"
#include "fuzz-common.h"

#define MAX_FILES 6

static void
check_same (ConvolveDataset *a,
            ConvolveDataset *b)
{
  ConvolveShape shape = convolve_dataset_get_shape (a);
  guint n = convolve_dataset_get_n_images (a);

  g_assert (convolve_dataset_get_n_images (b) == n);
  g_assert (convolve_dataset_get_shape (b).c == shape.c);
  g_assert (shape.c == 1 || shape.c == 3);
  for (guint i = 0; i < n; i++)
    {
      g_assert (convolve_dataset_get_label (a, i) == convolve_dataset_get_label (b, i));
      g_assert (convolve_dataset_get_label (a, i) < convolve_dataset_get_n_classes (a));
      g_assert (memcmp (convolve_dataset_get_image (a, i), convolve_dataset_get_image (b, i),
                        (gsize) shape.c * shape.h * shape.w) == 0);
    }
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  static const char * const classes[] = { "a", "b", "c", "a" };
  static const char * const prefixes[] = { ".", "train", "test" };
  const char *dir = convolve_fuzz_temp_dir ();
  g_autofree char *root = g_build_filename (dir, "folder", NULL);
  const uint8_t *parts[MAX_FILES];
  size_t sizes[MAX_FILES];
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveImageFolderOptions options;
  ConvolveImageFolderReport report;
  guint n_parts;

  convolve_fuzz_init ();
  if (g_getenv ("CONVOLVE_CACHE_DIR") == NULL)
    {
      g_autofree char *cache = g_build_filename (dir, "cache", NULL);

      g_setenv ("CONVOLVE_CACHE_DIR", cache, TRUE);
    }

  n_parts = convolve_fuzz_split (data, size, MAX_FILES, parts, sizes);
  for (guint i = 0; i < n_parts; i++)
    {
      guint8 place = sizes[i] > 0 ? parts[i][0] : 0;
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;
      g_autofree char *parent = NULL;

      guint where = (place >> 2) & 3;
      g_autofree char *file = g_strdup_printf ("%u.img", i);

      /* class/N.img, class/deep/N.img, train/class/N.img, test/class/N.img */
      name = g_build_filename (prefixes[where == 0 || where == 1 ? 0 : where - 1],
                               classes[place & 3], where == 1 ? "deep" : ".", file, NULL);
      path = g_build_filename (root, name, NULL);
      parent = g_path_get_dirname (path);
      g_assert (g_mkdir_with_parents (parent, 0700) == 0);
      g_free (convolve_fuzz_write_file (root, name, parts[i] + (sizes[i] > 0),
                                        sizes[i] - (sizes[i] > 0)));
    }

  convolve_image_folder_options_init (&options);
  options.side = 8;
  options.fit = size % 2 == 0 ? CONVOLVE_IMAGE_FIT_CROP : CONVOLVE_IMAGE_FIT_PAD;
  options.n_threads = 2;
  if (convolve_image_folder_load (root, &options, &report, &train, &test, NULL, &error))
    {
      g_autoptr(ConvolveDataset) train2 = NULL;
      g_autoptr(ConvolveDataset) test2 = NULL;
      ConvolveImageFolderReport report2;

      g_assert (report.n_skipped <= report.n_files);
      g_assert (convolve_image_folder_load (root, &options, &report2, &train2, &test2, NULL, NULL));
      g_assert (report2.n_skipped == report.n_skipped);
      check_same (train, train2);
      check_same (test, test2);
    }
  else
    {
      g_assert (error != NULL);
    }
  convolve_fuzz_clear_dir (dir);
  return 0;
}
