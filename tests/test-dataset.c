/* test-dataset.c: the uint8 store and the batch maker.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-data-private.h"

static const char * const names[] = { "zero", "one", "two", NULL };

static ConvolveDataset *
make_dataset (guint n,
              int   c,
              int   h,
              int   w)
{
  ConvolveDataset *dataset = convolve_dataset_new ("test", n, c, h, w, names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  gsize size = (gsize) n * c * h * w;

  for (gsize i = 0; i < size; i++)
    pixels[i] = (guint8) ((i * 37 + 11) % 256);
  for (guint i = 0; i < n; i++)
    labels[i] = (guint8) (i % 3);

  return dataset;
}

static void
test_dataset_new (void)
{
  g_autoptr(ConvolveDataset) dataset = convolve_dataset_new ("cifar10", 4, 3, 2, 5, names);
  ConvolveDataset *extra;
  ConvolveShape shape;

  g_assert_cmpstr (convolve_dataset_get_name (dataset), ==, "cifar10");
  g_assert_cmpuint (convolve_dataset_get_n_images (dataset), ==, 4);
  shape = convolve_dataset_get_shape (dataset);
  g_assert_cmpint (shape.c, ==, 3);
  g_assert_cmpint (shape.h, ==, 2);
  g_assert_cmpint (shape.w, ==, 5);
  g_assert_cmpint (convolve_dataset_get_n_classes (dataset), ==, 3);
  g_assert_cmpstrv (convolve_dataset_get_class_names (dataset), names);
  g_assert_true (convolve_dataset_get_class_names (dataset) != names);

  /* zeroed, and image i starts i * c * h * w bytes in */
  for (guint i = 0; i < 4; i++)
    {
      const guint8 *image = convolve_dataset_get_image (dataset, i);

      g_assert_true (image == convolve_dataset_get_pixels_mutable (dataset) + i * 30);
      for (int p = 0; p < 30; p++)
        g_assert_cmpuint (image[p], ==, 0);
      g_assert_cmpuint (convolve_dataset_get_label (dataset, i), ==, 0);
    }

  extra = convolve_dataset_ref (dataset);
  g_assert_true (extra == dataset);
  convolve_dataset_unref (extra);
  g_assert_cmpuint (convolve_dataset_get_n_images (dataset), ==, 4);
}

static void
test_dataset_empty (void)
{
  g_autoptr(ConvolveDataset) dataset = convolve_dataset_new ("empty", 0, 1, 28, 28, NULL);

  g_assert_cmpuint (convolve_dataset_get_n_images (dataset), ==, 0);
  g_assert_cmpint (convolve_dataset_get_n_classes (dataset), ==, 0);
  g_assert_nonnull (convolve_dataset_get_class_names (dataset));
}

static void
test_dataset_error_domain (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) dataset = NULL;

  g_assert_cmpstr (g_quark_to_string (CONVOLVE_DATA_ERROR), ==, "convolve-data-error-quark");

  /* impossible sizes are an error, not a crash */
  dataset = convolve_dataset_try_new ("x", G_MAXUINT, 3, G_MAXINT, G_MAXINT, NULL, &error);
  g_assert_null (dataset);
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
}

static void
test_dataset_make_batch (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset (6, 3, 4, 4);
  const guint32 indices[] = { 5, 0, 3, 3 };
  float x[4 * 48];
  int32_t y[4];

  convolve_dataset_make_batch (dataset, indices, 4, x, y, NULL, NULL);
  for (int i = 0; i < 4; i++)
    {
      const guint8 *image = convolve_dataset_get_image (dataset, indices[i]);

      g_assert_cmpint (y[i], ==, (int32_t) (indices[i] % 3));
      for (int p = 0; p < 48; p++)
        {
          /* exactly Keras's x.astype('float32') / 255 */
          g_assert_cmpfloat (x[i * 48 + p], ==, (float) image[p] / 255.0f);
          g_assert_cmpfloat (x[i * 48 + p], >=, 0.0f);
          g_assert_cmpfloat (x[i * 48 + p], <=, 1.0f);
        }
    }

  /* the ends of the range */
  {
    g_autoptr(ConvolveDataset) ends = convolve_dataset_new ("ends", 1, 1, 1, 2, NULL);
    guint8 *pixels = convolve_dataset_get_pixels_mutable (ends);
    const guint32 first = 0;
    float v[2];

    pixels[0] = 0;
    pixels[1] = 255;
    convolve_dataset_make_batch (ends, &first, 1, v, NULL, NULL, NULL);
    g_assert_cmpfloat (v[0], ==, 0.0f);
    g_assert_cmpfloat (v[1], ==, 1.0f);
  }
}

static void
test_dataset_make_batch_augmented (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset (8, 3, 32, 32);
  const guint32 indices[] = { 7, 1, 2, 2, 4 };
  const int n = G_N_ELEMENTS (indices);
  const gsize image = 3 * 32 * 32;
  g_autofree float *plain = g_new (float, n * image);
  g_autofree float *a = g_new (float, n * image);
  g_autofree float *b = g_new (float, n * image);
  g_autofree float *expected = g_new (float, image);
  g_autofree float *scaled = g_new (float, image);
  ConvolveAugment augment;
  ConvolveRng rng, replay;
  int32_t y[5];
  int n_changed = 0;

  convolve_augment_init_tutorial (&augment);
  convolve_dataset_make_batch (dataset, indices, n, plain, NULL, NULL, NULL);

  /* same seed, same batch */
  convolve_rng_init (&rng, 99);
  convolve_dataset_make_batch (dataset, indices, n, a, y, &augment, &rng);
  convolve_rng_init (&rng, 99);
  convolve_dataset_make_batch (dataset, indices, n, b, NULL, &augment, &rng);
  g_assert_cmpmem (a, n * image * sizeof (float), b, n * image * sizeof (float));
  for (int i = 0; i < n; i++)
    g_assert_cmpint (y[i], ==, (int32_t) (indices[i] % 3));

  /* each image is the plain one moved by the draw the batch maker made */
  convolve_rng_init (&replay, 99);
  for (int i = 0; i < n; i++)
    {
      float dx, dy;
      gboolean flip;

      convolve_augment_draw (&augment, &replay, 32, 32, &dx, &dy, &flip);
      for (gsize p = 0; p < image; p++)
        scaled[p] = plain[i * image + p];
      convolve_augment_apply (scaled, expected, 3, 32, 32, dx, dy, flip);
      g_assert_cmpmem (expected, image * sizeof (float), a + i * image, image * sizeof (float));
      if (memcmp (a + i * image, plain + i * image, image * sizeof (float)) != 0)
        n_changed++;
    }
  g_assert_cmpint (n_changed, ==, n);

  /* an augmentation that does nothing gives the plain batch */
  augment.width_shift_range = 0.0f;
  augment.height_shift_range = 0.0f;
  augment.horizontal_flip = FALSE;
  convolve_dataset_make_batch (dataset, indices, n, b, NULL, &augment, &rng);
  g_assert_cmpmem (plain, n * image * sizeof (float), b, n * image * sizeof (float));
}

/* The batch maker is quick: it runs once per training step, beside a
 * forward and backward pass that take milliseconds. */
static void
test_dataset_make_batch_speed (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset (64, 3, 32, 32);
  g_autofree float *x = g_new (float, 32 * 3072);
  guint32 indices[32];
  ConvolveAugment augment;
  ConvolveRng rng;
  gint64 start, plain_us, augmented_us;
  const int rounds = 200;

  for (int i = 0; i < 32; i++)
    indices[i] = (guint32) (i * 2);
  convolve_augment_init_tutorial (&augment);
  convolve_rng_init (&rng, 1);

  start = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++)
    convolve_dataset_make_batch (dataset, indices, 32, x, NULL, NULL, NULL);
  plain_us = g_get_monotonic_time () - start;

  start = g_get_monotonic_time ();
  for (int r = 0; r < rounds; r++)
    convolve_dataset_make_batch (dataset, indices, 32, x, NULL, &augment, &rng);
  augmented_us = g_get_monotonic_time () - start;

  g_test_message ("batch of 32: %.1f µs plain, %.1f µs augmented",
                  (double) plain_us / rounds, (double) augmented_us / rounds);
  /* generous (sanitizers, a loaded machine): 20 ms per batch */
  g_assert_cmpint (augmented_us / rounds, <, 20000);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/dataset/new", test_dataset_new);
  g_test_add_func ("/data/dataset/empty", test_dataset_empty);
  g_test_add_func ("/data/dataset/error-domain", test_dataset_error_domain);
  g_test_add_func ("/data/dataset/make-batch", test_dataset_make_batch);
  g_test_add_func ("/data/dataset/make-batch-augmented", test_dataset_make_batch_augmented);
  g_test_add_func ("/data/dataset/make-batch-speed", test_dataset_make_batch_speed);

  return g_test_run ();
}
