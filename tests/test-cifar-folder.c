/* test-cifar-folder.c: see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "test-cifar-folder.h"
#include "convolve-rng.h"

#define RECORD 3073

const char *test_cifar_class_names[] = {
  "airplane", "automobile", "bird", "cat", "deer",
  "dog", "frog", "horse", "ship", "truck", NULL
};

static void
write_batch (const char *path,
             guint       n,
             guint32     seed)
{
  g_autofree guint8 *data = g_malloc (RECORD * (gsize) n);
  g_autoptr(GError) error = NULL;
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  for (guint i = 0; i < n; i++)
    {
      guint8 *record = data + (gsize) i * RECORD;
      guint label = i % 10;

      record[0] = label;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 32; y++)
          for (int x = 0; x < 32; x++)
            {
              int band = (y / 4 + c) % 10 == (int) label ? 180 : 40;
              record[1 + c * 1024 + y * 32 + x] = (guint8) (band + convolve_rng_below (&rng, 60));
            }
    }
  g_file_set_contents (path, (const char *) data, RECORD * (gssize) n, &error);
  g_assert_no_error (error);
}

char *
test_cifar_folder_new (const char *parent,
                       const char *name,
                       guint       n_train,
                       guint       n_test)
{
  char *dir = g_build_filename (parent, name, NULL);
  g_autofree char *train = g_build_filename (dir, "data_batch_1.bin", NULL);
  g_autofree char *test = g_build_filename (dir, "test_batch.bin", NULL);
  g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);
  g_autofree char *names = g_strjoinv ("\n", (char **) test_cifar_class_names);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_batch (train, n_train, 1);
  write_batch (test, n_test, 2);
  g_file_set_contents (meta, names, -1, &error);
  g_assert_no_error (error);
  return dir;
}

void
test_remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}
