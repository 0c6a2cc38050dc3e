/* test-image-folder.c: folders of pictures, one subfolder per class, as
 * datasets: layouts, formats, grey and alpha, damaged and foreign files,
 * empty classes, link loops, many files, the cache, the split, cancel.
 * Every picture is made here with gdk-pixbuf (GIF, which it cannot write,
 * from bytes); CONVOLVE_CACHE_DIR points to a folder of each test's own.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-image-folder.h"
#include "convolve-loaders.h"
#include "data-test-util.h"

/* A 1 x 1 GIF of one red pixel. */
static const guint8 red_gif[] = {
  'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0,
  0xff, 0, 0, 0, 0, 0,
  ',', 0, 0, 0, 0, 1, 0, 1, 0, 0,
  2, 2, 'D', 1, 0, ';',
};

static char *cache_root;   /* CONVOLVE_CACHE_DIR, emptied after each test */

typedef struct {
  char *root;    /* the image folder */
  char *cache;   /* CONVOLVE_CACHE_DIR */
  char *base;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->base = data_test_make_dir ();
  fixture->root = g_build_filename (fixture->base, "pictures", NULL);
  fixture->cache = g_strdup (cache_root);
  g_assert_cmpint (g_mkdir_with_parents (fixture->root, 0700), ==, 0);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  data_test_remove_dir (fixture->base);
  data_test_remove_dir (fixture->cache);
  g_free (fixture->base);
  g_free (fixture->root);
  g_free (fixture->cache);
}

/* A solid picture of r, g, b (and alpha when has_alpha), saved as type. */
static void
write_picture (const char *root,
               const char *name,
               const char *type,
               int         width,
               int         height,
               guint8      r,
               guint8      g,
               guint8      b,
               gboolean    has_alpha,
               guint8      alpha)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, has_alpha, 8, width, height);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (root, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  guint32 pixel = ((guint32) r << 24) | ((guint32) g << 16) | ((guint32) b << 8) | alpha;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  gdk_pixbuf_fill (pixbuf, pixel);
  if (g_str_equal (type, "jpeg"))
    gdk_pixbuf_save (pixbuf, path, type, &error, "quality", "100", NULL);
  else
    gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
}

static void
write_png (const char *root,
           const char *name,
           guint8      r,
           guint8      g,
           guint8      b)
{
  write_picture (root, name, "png", 8, 8, r, g, b, FALSE, 255);
}

/* Plain stdio: g_file_set_contents() syncs each file to disk, which
 * makes 10,000 of them take half a minute. */
static void
write_bytes (const char   *root,
             const char   *name,
             const void   *data,
             gsize         length)
{
  g_autofree char *path = g_build_filename (root, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  FILE *file;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  file = fopen (path, "wb");
  g_assert_nonnull (file);
  g_assert_cmpuint (fwrite (data, 1, length, file), ==, length);
  g_assert_cmpint (fclose (file), ==, 0);
}

static gboolean
load (const char                       *root,
      const ConvolveImageFolderOptions *options,
      ConvolveImageFolderReport        *report,
      ConvolveDataset                 **train,
      ConvolveDataset                 **test,
      GError                          **error)
{
  return convolve_image_folder_load (root, options, report, train, test, NULL, error);
}

static const guint8 *
pixel_of (ConvolveDataset *dataset,
          guint            index)
{
  return convolve_dataset_get_image (dataset, index);
}

/* ------------------------------------------------------------------ */

static void
test_flat_mixed (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveDataset) train2 = NULL;
  g_autoptr(ConvolveDataset) test2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) jpeg = NULL;
  ConvolveImageFolderReport report = { 0 };
  ConvolveImageFolderOptions options;
  g_autofree char *jpeg_path = NULL;
  g_autofree char *truncated = NULL;
  const guint8 *jpeg_data;
  gsize jpeg_size;
  ConvolveShape shape;
  guint counts[3] = { 0 };

  /* three classes, in byte order: "Zebra" before "cat" */
  write_picture (fixture->root, "cat/a.png", "png", 40, 30, 200, 10, 10, FALSE, 255);
  write_picture (fixture->root, "cat/b.jpg", "jpeg", 64, 48, 10, 200, 10, FALSE, 255);
  write_picture (fixture->root, "cat/nested/deeper/c.bmp", "bmp", 20, 50, 10, 10, 200, FALSE, 255);
  write_bytes (fixture->root, "cat/d.gif", red_gif, sizeof red_gif);
  write_picture (fixture->root, "dog/a.png", "png", 500, 3, 0, 0, 0, TRUE, 0);
  write_picture (fixture->root, "dog/b.jpeg", "jpeg", 33, 33, 90, 90, 250, FALSE, 255);
  write_picture (fixture->root, "Zebra/a.PNG", "png", 3, 7, 1, 2, 3, TRUE, 128);
  write_picture (fixture->root, "Zebra/b.png", "png", 96, 96, 50, 60, 70, FALSE, 255);
  /* not pictures: counted and skipped; hidden files are not even listed */
  write_bytes (fixture->root, "dog/notes.txt", "not a picture", 13);
  write_bytes (fixture->root, "dog/.DS_Store", "\0\0\0\1Bud1", 9);
  jpeg_path = g_build_filename (fixture->root, "cat", "b.jpg", NULL);
  jpeg = convolve_data_read_regular_file (jpeg_path, 1 << 20, &error);
  g_assert_no_error (error);
  jpeg_data = g_bytes_get_data (jpeg, &jpeg_size);
  write_bytes (fixture->root, "Zebra/corrupt.jpg", jpeg_data, jpeg_size / 2);
  /* files at the top are no class */
  write_png (fixture->root, "stray.png", 1, 1, 1);

  convolve_image_folder_options_init (&options);
  options.validation_fraction = 0.0;
  options.shuffle = FALSE;
  g_assert_true (load (fixture->root, &options, &report, &train, &test, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (report.n_files, ==, 10);
  g_assert_cmpuint (report.n_skipped, ==, 2);
  g_assert_false (report.from_cache);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 8);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 0);
  shape = convolve_dataset_get_shape (train);
  g_assert_cmpint (shape.c, ==, 3);
  g_assert_cmpint (shape.h, ==, 32);
  g_assert_cmpint (shape.w, ==, 32);
  g_assert_cmpint (convolve_dataset_get_n_classes (train), ==, 3);
  g_assert_cmpstr (convolve_dataset_get_class_names (train)[0], ==, "Zebra");
  g_assert_cmpstr (convolve_dataset_get_class_names (train)[1], ==, "cat");
  g_assert_cmpstr (convolve_dataset_get_class_names (train)[2], ==, "dog");
  g_assert_cmpstr (convolve_dataset_get_name (train), ==, "pictures");
  for (guint i = 0; i < convolve_dataset_get_n_images (train); i++)
    counts[convolve_dataset_get_label (train, i)]++;
  g_assert_cmpuint (counts[0], ==, 2);
  g_assert_cmpuint (counts[1], ==, 4);
  g_assert_cmpuint (counts[2], ==, 2);

  /* in walk order: Zebra/a.PNG (grey over white at half alpha), b.png;
   * cat/a.png, b.jpg, d.gif, nested/deeper/c.bmp; dog/a.png (transparent:
   * white), b.jpeg */
  {
    const guint8 *zebra_a = pixel_of (train, 0);
    const guint8 *cat_a = pixel_of (train, 2);
    const guint8 *cat_gif = pixel_of (train, 4);
    const guint8 *cat_bmp = pixel_of (train, 5);
    const guint8 *dog_a = pixel_of (train, 6);
    gsize plane = 32 * 32;

    g_assert_cmpint (zebra_a[0], ==, (1 * 128 + 255 * 127 + 127) / 255);
    g_assert_cmpint (cat_a[0], ==, 200);
    g_assert_cmpint (cat_a[plane], ==, 10);
    g_assert_cmpint (cat_gif[0], ==, 255);
    g_assert_cmpint (cat_gif[plane + 5], ==, 0);
    g_assert_cmpint (cat_bmp[2 * plane + 100], ==, 200);
    g_assert_cmpint (dog_a[0], ==, 255);
    g_assert_cmpint (dog_a[2 * plane + 31], ==, 255);
  }

  /* again: from the cache, the same pixels */
  g_assert_true (load (fixture->root, &options, &report, &train2, &test2, &error));
  g_assert_no_error (error);
  g_assert_true (report.from_cache);
  g_assert_cmpuint (report.n_skipped, ==, 2);
  g_assert_cmpuint (convolve_dataset_get_n_images (train2), ==, 8);
  g_assert_cmpmem (pixel_of (train, 0), 8 * 3 * 32 * 32, pixel_of (train2, 0), 8 * 3 * 32 * 32);
  for (guint i = 0; i < 8; i++)
    g_assert_cmpint (convolve_dataset_get_label (train, i), ==, convolve_dataset_get_label (train2, i));

  /* other settings: another cache, another size */
  g_clear_pointer (&train2, convolve_dataset_unref);
  g_clear_pointer (&test2, convolve_dataset_unref);
  options.side = 64;
  g_assert_true (load (fixture->root, &options, &report, &train2, &test2, &error));
  g_assert_false (report.from_cache);
  shape = convolve_dataset_get_shape (train2);
  g_assert_cmpint (shape.h, ==, 64);
  g_assert_cmpint (shape.w, ==, 64);
}

static void
test_train_test (Fixture       *fixture,
                 gconstpointer  data)
{
  const char *test_name = data;
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveImageFolderOptions options;
  g_autofree char *a = g_build_filename (test_name, "apple", "1.png", NULL);
  g_autofree char *b = g_build_filename (test_name, "banana", "1.png", NULL);
  g_autofree char *c = g_build_filename (test_name, "cherry", "1.png", NULL);

  write_png (fixture->root, "train/apple/1.png", 10, 0, 0);
  write_png (fixture->root, "train/apple/2.png", 11, 0, 0);
  write_png (fixture->root, "train/banana/1.png", 20, 0, 0);
  write_png (fixture->root, "train/cherry/1.png", 30, 0, 0);
  write_png (fixture->root, a, 12, 0, 0);
  write_png (fixture->root, b, 21, 0, 0);
  write_png (fixture->root, c, 31, 0, 0);

  g_assert_true (convolve_image_folder_detect (fixture->root));
  /* whatever the fraction: the test folder is the test set */
  convolve_image_folder_options_init (&options);
  options.shuffle = FALSE;
  g_assert_true (load (fixture->root, &options, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 4);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 3);
  g_assert_cmpint (convolve_dataset_get_n_classes (test), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (convolve_dataset_get_label (test, i), ==, i);
      g_assert_cmpint (pixel_of (test, i)[0], ==, (int) (i + 1) * 10 + 1 + (i == 0));
    }
  g_assert_cmpint (pixel_of (train, 1)[0], ==, 11);
}

/* train/ without a test folder is split like a flat folder */
static void
test_train_only (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 10; i++)
    {
      g_autofree char *a = g_strdup_printf ("train/a/%d.png", i);
      g_autofree char *b = g_strdup_printf ("train/b/%d.png", i);

      write_png (fixture->root, a, (guint8) i, 0, 0);
      write_png (fixture->root, b, (guint8) i, 1, 0);
    }
  g_assert_true (load (fixture->root, NULL, NULL, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 16);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 4);
}

static void
test_grey (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveImageFolderOptions options;
  ConvolveImageFolderReport report;

  convolve_image_folder_options_init (&options);
  options.validation_fraction = 0.0;
  options.shuffle = FALSE;
  /* grey whichever way it is stored: RGB with R = G = B, grey with alpha */
  write_picture (fixture->root, "dark/1.png", "png", 10, 10, 40, 40, 40, FALSE, 255);
  write_picture (fixture->root, "dark/2.jpg", "jpeg", 10, 10, 60, 60, 60, FALSE, 255);
  write_picture (fixture->root, "light/1.png", "png", 10, 10, 0, 0, 0, TRUE, 51);
  g_assert_true (load (fixture->root, &options, &report, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpint (convolve_dataset_get_shape (train).c, ==, 1);
  g_assert_cmpint (pixel_of (train, 0)[0], ==, 40);
  g_assert_cmpint (pixel_of (train, 2)[0], ==, (255 * 204 + 127) / 255);

  /* one colour picture makes the whole folder colour (and a new cache) */
  g_clear_pointer (&train, convolve_dataset_unref);
  g_clear_pointer (&test, convolve_dataset_unref);
  write_picture (fixture->root, "light/2.png", "png", 10, 10, 250, 0, 0, FALSE, 255);
  g_assert_true (load (fixture->root, &options, &report, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_false (report.from_cache);
  g_assert_cmpint (convolve_dataset_get_shape (train).c, ==, 3);
  g_assert_cmpint (pixel_of (train, 0)[32 * 32], ==, 40);
}

static void
test_crop_pad (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 96, 32);
  g_autofree char *path = g_build_filename (fixture->root, "wide", "1.png", NULL);
  g_autoptr(GError) error = NULL;
  ConvolveImageFolderOptions options;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  gsize plane = 32 * 32;

  /* thirds: red, green, blue */
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 96; x++)
      {
        guint8 *p = pixels + y * rowstride + x * 3;

        p[0] = x < 32 ? 255 : 0;
        p[1] = x >= 32 && x < 64 ? 255 : 0;
        p[2] = x >= 64 ? 255 : 0;
      }
  {
    g_autofree char *dir = g_path_get_dirname (path);

    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  }
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);
  write_png (fixture->root, "other/1.png", 0, 0, 0);

  convolve_image_folder_options_init (&options);
  options.validation_fraction = 0.0;
  options.shuffle = FALSE;
  for (int fit = CONVOLVE_IMAGE_FIT_CROP; fit <= CONVOLVE_IMAGE_FIT_PAD; fit++)
    {
      g_autoptr(ConvolveDataset) train = NULL;
      g_autoptr(ConvolveDataset) test = NULL;
      const guint8 *image;

      options.fit = (ConvolveImageFit) fit;
      g_assert_true (load (fixture->root, &options, NULL, &train, &test, &error));
      g_assert_no_error (error);
      image = pixel_of (train, 1);   /* "other" sorts first */
      g_assert_cmpint (convolve_dataset_get_label (train, 1), ==, 1);
      if (fit == CONVOLVE_IMAGE_FIT_CROP)
        {
          /* the centre square: all green */
          for (gsize i = 0; i < plane; i++)
            {
              g_assert_cmpint (image[i], ==, 0);
              g_assert_cmpint (image[plane + i], ==, 255);
            }
        }
      else
        {
          /* 32 x 11 in the middle (rows 10 to 20), black above and below */
          g_assert_cmpint (image[0 * 32 + 0], ==, 0);
          g_assert_cmpint (image[plane + 5 * 32 + 16], ==, 0);
          g_assert_cmpint (image[15 * 32 + 2], ==, 255);
          g_assert_cmpint (image[plane + 15 * 32 + 16], ==, 255);
          g_assert_cmpint (image[2 * plane + 15 * 32 + 30], ==, 255);
          g_assert_cmpint (image[2 * plane + 27 * 32 + 30], ==, 0);
        }
    }
}

static void
test_errors (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = g_build_filename (fixture->root, "empty", NULL);

  /* one class */
  write_png (fixture->root, "only/1.png", 1, 2, 3);
  g_assert_false (load (fixture->root, NULL, NULL, &train, &test, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "1 class folder"));
  g_assert_null (train);
  g_clear_error (&error);
  /* convolve_dataset_load_dir says the same */
  g_assert_false (convolve_dataset_load_dir (fixture->root, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_clear_error (&error);

  /* an empty class */
  g_assert_cmpint (g_mkdir (empty, 0700), ==, 0);
  g_assert_false (load (fixture->root, NULL, NULL, &train, &test, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "“empty”"));
  g_clear_error (&error);

  /* a class of nothing but files that are no pictures */
  write_bytes (fixture->root, "empty/broken.png", "\x89PNG\r\n\x1a\n", 8);
  g_assert_false (load (fixture->root, NULL, NULL, &train, &test, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "“empty”"));
  g_clear_error (&error);

  /* no folder at all */
  g_assert_false (convolve_image_folder_load ("/nonexistent/convolve", NULL, NULL, &train, &test,
                                              NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND);
}

static void
test_symlink_loop (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *loop = g_build_filename (fixture->root, "a", "sub", "loop", NULL);
  g_autofree char *to_root = g_build_filename (fixture->root, "b", "up", NULL);
  g_autofree char *self = g_build_filename (fixture->root, "b", "self", NULL);
  g_autofree char *file_link = g_build_filename (fixture->root, "b", "link.png", NULL);
  g_autofree char *dangling = g_build_filename (fixture->root, "b", "gone.png", NULL);
  g_autofree char *target = g_build_filename (fixture->root, "a", "1.png", NULL);
  ConvolveImageFolderReport report;
  ConvolveImageFolderOptions options;

  write_png (fixture->root, "a/1.png", 1, 0, 0);
  write_png (fixture->root, "a/sub/2.png", 2, 0, 0);
  write_png (fixture->root, "b/1.png", 3, 0, 0);
  g_assert_cmpint (symlink ("..", loop), ==, 0);            /* a/sub/loop -> a */
  g_assert_cmpint (symlink (fixture->root, to_root), ==, 0);
  g_assert_cmpint (symlink ("self", self), ==, 0);          /* points at itself */
  g_assert_cmpint (symlink (target, file_link), ==, 0);     /* a file: followed */
  g_assert_cmpint (symlink ("nowhere.png", dangling), ==, 0);

  convolve_image_folder_options_init (&options);
  options.validation_fraction = 0.0;
  g_assert_true (load (fixture->root, &options, &report, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 4);
  /* the self link and the dangling one cannot be read */
  g_assert_cmpuint (report.n_skipped, ==, 2);
}

static void
count_progress (guint    done,
                guint    total,
                guint    skipped,
                gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* 10,000 tiny pictures: the walk, the threads and the cache at scale. */
static void
test_many (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2, 2);
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveDataset) train2 = NULL;
  g_autoptr(ConvolveDataset) test2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *png = NULL;
  gsize png_size;
  ConvolveImageFolderReport report;
  ConvolveImageFolderOptions options;
  guint n_progress = 0;

  gdk_pixbuf_fill (pixbuf, 0x336699ff);
  gdk_pixbuf_save_to_buffer (pixbuf, &png, &png_size, "png", &error, NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *name = g_strdup_printf ("class%u/%05u.png", i % 4, i);

      write_bytes (fixture->root, name, png, png_size);
    }

  g_assert_true (load (fixture->root, NULL, &report, &train, &test, &error));
  g_assert_no_error (error);
  g_assert_false (report.from_cache);
  g_assert_cmpuint (report.n_skipped, ==, 0);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 8000);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 2000);
  g_assert_cmpint (pixel_of (test, 1999)[2 * 32 * 32 + 1023], ==, 0x99);

  /* from the cache: quick, so no progress is reported */
  convolve_image_folder_options_init (&options);
  options.progress = count_progress;
  options.progress_data = &n_progress;
  g_assert_true (load (fixture->root, &options, &report, &train2, &test2, &error));
  g_assert_true (report.from_cache);
  g_assert_cmpuint (n_progress, ==, 0);
  g_assert_cmpuint (convolve_dataset_get_n_images (test2), ==, 2000);
}

static char *
only_cache_file (const char *cache)
{
  g_autofree char *dir = g_build_filename (cache, "image-folders", NULL);
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;
  char *found = NULL;

  g_assert_nonnull (folder);
  while ((name = g_dir_read_name (folder)) != NULL)
    {
      g_assert_null (found);
      found = g_build_filename (dir, name, NULL);
    }
  g_assert_nonnull (found);
  return found;
}

static void
test_cache (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cache_file = NULL;
  g_autofree char *changed = g_build_filename (fixture->root, "b", "1.png", NULL);
  g_autofree char *contents = NULL;
  gsize length;
  ConvolveImageFolderReport report;

  write_png (fixture->root, "a/1.png", 10, 0, 0);
  write_png (fixture->root, "a/2.png", 11, 0, 0);
  write_png (fixture->root, "b/1.png", 20, 0, 0);

  for (int round = 0; round < 7; round++)
    {
      g_autoptr(ConvolveDataset) train = NULL;
      g_autoptr(ConvolveDataset) test = NULL;
      gboolean expect_cache = FALSE;
      guint8 expect_b = 20;

      switch (round)
        {
        case 0:   /* first open */
          break;
        case 1:   /* nothing changed */
          expect_cache = TRUE;
          break;
        case 2:   /* a file rewritten with other pixels, same size, other time */
          {
            const struct timespec times[2] = { { 0, UTIME_OMIT }, { 2000000000, 7 } };

            write_png (fixture->root, "b/1.png", 99, 0, 0);
            g_assert_cmpint (utimensat (AT_FDCWD, changed, times, 0), ==, 0);
            expect_b = 99;
          }
          break;
        case 3:
          expect_cache = TRUE;
          expect_b = 99;
          break;
        case 4:   /* the cache cut short */
          cache_file = only_cache_file (fixture->cache);
          g_assert_true (g_file_get_contents (cache_file, &contents, &length, NULL));
          g_assert_true (g_file_set_contents (cache_file, contents, (gssize) length - 1, NULL));
          expect_b = 99;
          break;
        case 5:   /* one pixel changed in the cache */
          g_free (contents);
          g_assert_true (g_file_get_contents (cache_file, &contents, &length, NULL));
          contents[length - 40] ^= 1;
          g_assert_true (g_file_set_contents (cache_file, contents, (gssize) length, NULL));
          expect_b = 99;
          break;
        case 6:   /* the cache replaced by a folder: no cache, still loads */
          g_assert_cmpint (g_remove (cache_file), ==, 0);
          g_assert_cmpint (g_mkdir (cache_file, 0700), ==, 0);
          expect_b = 99;
          break;
        default:
          g_assert_not_reached ();
        }

      g_assert_true (convolve_image_folder_load (fixture->root, NULL, &report, &train, &test, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpint (report.from_cache, ==, expect_cache);
      g_assert_cmpuint (convolve_dataset_get_n_images (train) + convolve_dataset_get_n_images (test), ==, 3);
      for (guint i = 0; i < convolve_dataset_get_n_images (train); i++)
        if (convolve_dataset_get_label (train, i) == 1)
          g_assert_cmpint (pixel_of (train, i)[0], ==, expect_b);
    }
  g_rmdir (cache_file);
}

/* Each picture's colour says which it is: index = r + 256 g. */
static guint
picture_id (ConvolveDataset *dataset,
            guint            index)
{
  const guint8 *p = pixel_of (dataset, index);

  return p[0] + 256u * p[32 * 32];
}

static GHashTable *
test_ids (ConvolveDataset *test)
{
  GHashTable *ids = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < convolve_dataset_get_n_images (test); i++)
    g_hash_table_add (ids, GUINT_TO_POINTER (picture_id (test, i) + 1));
  return ids;
}

static void
test_split (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) first = NULL;
  ConvolveImageFolderOptions options;
  guint n_differ = 0;

  /* a: 50 pictures, b: 20, c: 1 */
  for (guint i = 0; i < 71; i++)
    {
      const char *cls = i < 50 ? "a" : i < 70 ? "b" : "c";
      g_autofree char *name = g_strdup_printf ("%s/%02u.png", cls, i);

      write_png (fixture->root, name, (guint8) (i % 256), (guint8) (i / 256), 128);
    }

  convolve_image_folder_options_init (&options);
  for (guint64 seed = 1; seed <= 3; seed++)
    for (int again = 0; again < 2; again++)
      {
        g_autoptr(ConvolveDataset) train = NULL;
        g_autoptr(ConvolveDataset) test = NULL;
        g_autoptr(GHashTable) ids = NULL;
        guint per_class[3] = { 0 };
        g_autoptr(GHashTable) all = g_hash_table_new (NULL, NULL);

        options.split_seed = seed;
        g_assert_true (convolve_image_folder_load (fixture->root, &options, NULL, &train, &test, NULL, &error));
        g_assert_no_error (error);
        /* stratified: 20% of each class, and a class of one stays in training */
        for (guint i = 0; i < convolve_dataset_get_n_images (test); i++)
          per_class[convolve_dataset_get_label (test, i)]++;
        g_assert_cmpuint (per_class[0], ==, 10);
        g_assert_cmpuint (per_class[1], ==, 4);
        g_assert_cmpuint (per_class[2], ==, 0);
        g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 57);
        /* every picture exactly once, with its own class */
        for (guint i = 0; i < convolve_dataset_get_n_images (train); i++)
          g_assert_true (g_hash_table_add (all, GUINT_TO_POINTER (picture_id (train, i) + 1)));
        for (guint i = 0; i < convolve_dataset_get_n_images (test); i++)
          {
            guint id = picture_id (test, i);

            g_assert_true (g_hash_table_add (all, GUINT_TO_POINTER (id + 1)));
            g_assert_cmpint (convolve_dataset_get_label (test, i), ==, id < 50 ? 0 : id < 70 ? 1 : 2);
          }
        g_assert_cmpuint (g_hash_table_size (all), ==, 71);

        ids = test_ids (test);
        if (seed == 1 && again == 0)
          first = g_hash_table_ref (ids);
        else
          {
            GHashTableIter iter;
            gpointer key;
            gboolean same = g_hash_table_size (ids) == g_hash_table_size (first);

            g_hash_table_iter_init (&iter, ids);
            while (g_hash_table_iter_next (&iter, &key, NULL))
              same = same && g_hash_table_contains (first, key);
            if (seed == 1)
              g_assert_true (same);   /* the same seed, the same split */
            else if (!same)
              n_differ++;
          }
      }
  g_assert_cmpuint (n_differ, ==, 4);   /* other seeds, other splits */

  /* both sets shuffled, the same way for the same seed */
  {
    g_autoptr(ConvolveDataset) train = NULL;
    g_autoptr(ConvolveDataset) test = NULL;
    g_autoptr(ConvolveDataset) train2 = NULL;
    g_autoptr(ConvolveDataset) test2 = NULL;
    gboolean sorted = TRUE;

    options.split_seed = 1;
    g_assert_true (convolve_image_folder_load (fixture->root, &options, NULL, &train, &test, NULL, &error));
    g_assert_true (convolve_image_folder_load (fixture->root, &options, NULL, &train2, &test2, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (convolve_dataset_get_image (train, 0), 57 * 3 * 32 * 32,
                     convolve_dataset_get_image (train2, 0), 57 * 3 * 32 * 32);
    g_assert_cmpmem (convolve_dataset_get_image (test, 0), 14 * 3 * 32 * 32,
                     convolve_dataset_get_image (test2, 0), 14 * 3 * 32 * 32);
    for (guint i = 1; i < convolve_dataset_get_n_images (train); i++)
      sorted = sorted && convolve_dataset_get_label (train, i - 1) <= convolve_dataset_get_label (train, i);
    g_assert_false (sorted);
  }
}

/* A large JPEG is decoded at a fraction of its size by libjpeg; what
 * comes out is still the picture's centre. */
static void
test_large_jpeg (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 800, 600);
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (fixture->root, "halves", NULL);
  g_autofree char *path = g_build_filename (dir, "1.jpg", NULL);
  ConvolveImageFolderOptions options;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *image;
  gsize plane = 32 * 32;

  for (int y = 0; y < 600; y++)
    for (int x = 0; x < 800; x++)
      {
        guint8 *p = pixels + y * rowstride + x * 3;

        p[0] = x < 400 ? 240 : 10;
        p[1] = 10;
        p[2] = x < 400 ? 10 : 240;
      }
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  gdk_pixbuf_save (pixbuf, path, "jpeg", &error, "quality", "95", NULL);
  g_assert_no_error (error);
  write_png (fixture->root, "other/1.png", 0, 0, 0);

  convolve_image_folder_options_init (&options);
  options.validation_fraction = 0.0;
  options.shuffle = FALSE;
  g_assert_true (load (fixture->root, &options, NULL, &train, &test, &error));
  g_assert_no_error (error);
  image = pixel_of (train, 0);
  /* the centre 600 x 600: red on the left half, blue on the right */
  for (int y = 0; y < 32; y += 5)
    {
      g_assert_cmpint (abs (image[y * 32 + 2] - 240), <=, 6);
      g_assert_cmpint (abs (image[2 * plane + y * 32 + 2] - 10), <=, 6);
      g_assert_cmpint (abs (image[y * 32 + 29] - 10), <=, 6);
      g_assert_cmpint (abs (image[2 * plane + y * 32 + 29] - 240), <=, 6);
    }
}

/* The number of decoding threads changes nothing. */
static void
test_threads (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(ConvolveDataset) reference = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 60; i++)
    {
      g_autofree char *name = g_strdup_printf ("%c/%02u.jpg", 'a' + (i % 3), i);

      write_picture (fixture->root, name, "jpeg", 17 + (int) i, 40 - (int) (i % 7), (guint8) (4 * i), 7, 99, FALSE, 255);
    }
  write_bytes (fixture->root, "b/zz.jpg", "garbage", 7);
  for (guint threads = 1; threads <= 4; threads++)
    {
      g_autoptr(ConvolveDataset) train = NULL;
      g_autoptr(ConvolveDataset) test = NULL;
      ConvolveImageFolderOptions options;
      ConvolveImageFolderReport report;

      convolve_image_folder_options_init (&options);
      options.n_threads = threads;
      data_test_remove_dir (fixture->cache);
      g_assert_true (convolve_image_folder_load (fixture->root, &options, &report, &train, &test, NULL, &error));
      g_assert_no_error (error);
      g_assert_false (report.from_cache);
      g_assert_cmpuint (report.n_skipped, ==, 1);
      if (reference == NULL)
        reference = convolve_dataset_ref (train);
      else
        g_assert_cmpmem (convolve_dataset_get_image (reference, 0),
                         convolve_dataset_get_n_images (reference) * 3 * 32 * 32,
                         convolve_dataset_get_image (train, 0),
                         convolve_dataset_get_n_images (train) * 3 * 32 * 32);
    }
}

typedef struct {
  GCancellable *cancellable;
  guint         calls;
  guint         last_done;
  guint         total;
} CancelState;

static void
cancel_on_progress (guint    done,
                    guint    total,
                    guint    skipped,
                    gpointer user_data)
{
  CancelState *state = user_data;

  g_assert_cmpuint (done, <=, total);
  g_assert_cmpuint (skipped, <=, done);
  g_assert_cmpuint (done, >=, state->last_done);
  state->last_done = done;
  state->total = total;
  state->calls++;
  if (done > 0)
    g_cancellable_cancel (state->cancellable);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cache_dir = g_build_filename (fixture->cache, "image-folders", NULL);
  ConvolveImageFolderOptions options;
  CancelState state = { cancellable, 0, 0, 0 };

  for (guint i = 0; i < 3000; i++)
    {
      g_autofree char *name = g_strdup_printf ("%c/%04u.jpg", 'a' + (i % 2), i);

      if (i < 2)
        write_picture (fixture->root, name, "jpeg", 300, 200, 1, 2, 3, FALSE, 255);
      else
        {
          g_autofree char *first = g_strdup_printf ("%s/%c/%04u.jpg", fixture->root, 'a' + (i % 2), i % 2);
          g_autofree char *contents = NULL;
          gsize length;

          g_assert_true (g_file_get_contents (first, &contents, &length, NULL));
          write_bytes (fixture->root, name, contents, length);
        }
    }

  convolve_image_folder_options_init (&options);
  options.progress = cancel_on_progress;
  options.progress_data = &state;
  g_assert_false (convolve_image_folder_load (fixture->root, &options, NULL, &train, &test,
                                              cancellable, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);
  g_assert_null (train);
  g_assert_cmpuint (state.calls, >=, 1);
  g_assert_cmpuint (state.total, ==, 3000);
  g_assert_cmpuint (state.last_done, <, 3000);
  /* nothing half done was cached */
  if (g_file_test (cache_dir, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GDir) dir = g_dir_open (cache_dir, 0, NULL);

      g_assert_nonnull (dir);
      g_assert_null (g_dir_read_name (dir));
    }
  g_clear_error (&error);

  /* cancelled before it starts */
  g_assert_false (convolve_image_folder_load (fixture->root, NULL, NULL, &train, &test,
                                              cancellable, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);
}

/* convolve_dataset_load_dir, detection and discovery know image folders. */
static void
test_load_dir (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) locations = NULL;
  const char *extra[] = { fixture->root, NULL };
  ConvolveDatasetKind kind;
  gboolean found = FALSE;

  g_assert_false (convolve_image_folder_detect (fixture->root));
  write_png (fixture->root, "cats/1.png", 1, 2, 3);
  g_assert_false (convolve_image_folder_detect (fixture->root));
  write_png (fixture->root, "dogs/1.png", 1, 2, 3);
  write_png (fixture->root, "dogs/2.png", 1, 2, 3);
  g_assert_true (convolve_image_folder_detect (fixture->root));
  g_assert_true (convolve_dataset_detect_kind (fixture->root, &kind));
  g_assert_cmpint (kind, ==, CONVOLVE_DATASET_KIND_IMAGE_FOLDER);

  g_assert_true (convolve_dataset_load_dir (fixture->root, &train, &test, NULL, &error));
  g_assert_no_error (error);
  /* too few pictures per class to set one aside */
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 3);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 0);

  locations = convolve_dataset_discover (extra);
  for (guint i = 0; i < locations->len; i++)
    {
      ConvolveDatasetLocation *location = g_ptr_array_index (locations, i);

      if (g_str_equal (location->path, fixture->root))
        {
          g_assert_cmpstr (location->id, ==, "image-folder");
          g_assert_cmpstr (location->title, ==, "pictures");
          g_assert_cmpint (location->kind, ==, CONVOLVE_DATASET_KIND_IMAGE_FOLDER);
          found = TRUE;
        }
    }
  g_assert_true (found);
}

/* A photo-like picture (smooth gradients and a disc, colour) saved as
 * type: resizing it mixes neighbouring pixels, so a cut or bar in another
 * place than the dataset's shows. */
static void
write_photo (const char *root,
             const char *name,
             const char *type,
             int         width,
             int         height)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (root, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * rowstride + x * 3;
        double dx = x - width / 3.0, dy = y - height / 2.0;
        gboolean in_disc = dx * dx + dy * dy < (double) MIN (width, height) * MIN (width, height) / 9.0;

        p[0] = (guint8) (255 * x / width);
        p[1] = in_disc ? 230 : (guint8) (255 * y / height);
        p[2] = (guint8) ((x * 7 + y * 3) % 256);
      }
  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
}

/* A picture of the folder given to a model (convolve_image_load_file(),
 * as the predictor and `convolve-cli predict` do) with the folder's fit
 * is the very input the dataset holds for it: the same decoding (a JPEG
 * at the same reduced size), cut or bars and resize. */
static void
test_same_as_picture (Fixture       *fixture,
                      gconstpointer  data)
{
  static const char * const names[] = { "tall/photo.png", "wide/photo.jpg" };
  ConvolveImageFolderOptions options;
  g_autoptr(GError) error = NULL;

  /* a JPEG large enough to be decoded at a quarter */
  write_photo (fixture->root, names[0], "png", 90, 200);
  write_photo (fixture->root, names[1], "jpeg", 640, 300);

  convolve_image_folder_options_init (&options);
  options.validation_fraction = 0.0;
  options.shuffle = FALSE;
  for (int fit = CONVOLVE_IMAGE_FIT_CROP; fit <= CONVOLVE_IMAGE_FIT_PAD; fit++)
    {
      g_autoptr(ConvolveDataset) train = NULL;
      g_autoptr(ConvolveDataset) test = NULL;
      ConvolveImageFolderReport report;
      ConvolveShape shape;

      options.fit = (ConvolveImageFit) fit;
      g_assert_true (load (fixture->root, &options, &report, &train, &test, &error));
      g_assert_no_error (error);
      g_assert_cmpint (report.fit, ==, fit);
      g_assert_cmpint (report.side, ==, 32);
      g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 2);
      shape = convolve_dataset_get_shape (train);
      g_assert_cmpint (shape.c, ==, 3);

      for (guint i = 0; i < 2; i++)
        {
          g_autofree char *path = g_build_filename (fixture->root, names[i], NULL);
          g_autoptr(GFile) file = g_file_new_for_path (path);
          gsize size = (gsize) shape.c * shape.h * shape.w;
          g_autofree float *input = g_new (float, size);
          g_autofree guint8 *preview = g_new (guint8, size);
          const guint8 *image = convolve_dataset_get_image (train, i);

          /* "tall" sorts first */
          g_assert_cmpint (convolve_dataset_get_label (train, i), ==, (int) i);
          g_assert_true (convolve_image_load_file (file, shape, options.fit, input, preview, NULL, &error));
          g_assert_no_error (error);
          g_assert_cmpmem (preview, size, image, size);
          for (gsize j = 0; j < size; j++)
            g_assert_cmpfloat (input[j], ==, image[j] / 255.0f);

          /* the other fit gives another input */
          g_assert_true (convolve_image_load_file (file, shape,
                                                   fit == CONVOLVE_IMAGE_FIT_CROP ? CONVOLVE_IMAGE_FIT_PAD
                                                                                  : CONVOLVE_IMAGE_FIT_CROP,
                                                   input, preview, NULL, &error));
          g_assert_no_error (error);
          g_assert_true (memcmp (preview, image, size) != 0);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* set before any thread starts */
  cache_root = data_test_make_dir ();
  g_setenv ("CONVOLVE_CACHE_DIR", cache_root, TRUE);

  g_test_add ("/image-folder/flat-mixed", Fixture, NULL, fixture_set_up, test_flat_mixed, fixture_tear_down);
  g_test_add ("/image-folder/train-test", Fixture, "test", fixture_set_up, test_train_test, fixture_tear_down);
  g_test_add ("/image-folder/train-val", Fixture, "val", fixture_set_up, test_train_test, fixture_tear_down);
  g_test_add ("/image-folder/train-only", Fixture, NULL, fixture_set_up, test_train_only, fixture_tear_down);
  g_test_add ("/image-folder/grey", Fixture, NULL, fixture_set_up, test_grey, fixture_tear_down);
  g_test_add ("/image-folder/crop-pad", Fixture, NULL, fixture_set_up, test_crop_pad, fixture_tear_down);
  g_test_add ("/image-folder/same-as-picture", Fixture, NULL, fixture_set_up, test_same_as_picture,
              fixture_tear_down);
  g_test_add ("/image-folder/errors", Fixture, NULL, fixture_set_up, test_errors, fixture_tear_down);
  g_test_add ("/image-folder/symlink-loop", Fixture, NULL, fixture_set_up, test_symlink_loop, fixture_tear_down);
  g_test_add ("/image-folder/many", Fixture, NULL, fixture_set_up, test_many, fixture_tear_down);
  g_test_add ("/image-folder/cache", Fixture, NULL, fixture_set_up, test_cache, fixture_tear_down);
  g_test_add ("/image-folder/split", Fixture, NULL, fixture_set_up, test_split, fixture_tear_down);
  g_test_add ("/image-folder/large-jpeg", Fixture, NULL, fixture_set_up, test_large_jpeg, fixture_tear_down);
  g_test_add ("/image-folder/threads", Fixture, NULL, fixture_set_up, test_threads, fixture_tear_down);
  g_test_add ("/image-folder/cancel", Fixture, NULL, fixture_set_up, test_cancel, fixture_tear_down);
  g_test_add ("/image-folder/load-dir", Fixture, NULL, fixture_set_up, test_load_dir, fixture_tear_down);

  status = g_test_run ();
  data_test_remove_dir (cache_root);
  g_free (cache_root);
  return status;
}
