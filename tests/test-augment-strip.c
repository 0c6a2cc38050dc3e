/* test-augment-strip.c: the augmentation preview shows exactly what the
 * trainer's batch maker gives for its seed, pixel for pixel, and a shuffle
 * draws new variants.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "widget-test-util.h"
#include "convolve-augment-strip.h"
#include "convolve-image-view.h"
#include "convolve-sample-view.h"
#include "convolve-trainer.h"

#define N  CONVOLVE_AUGMENT_STRIP_N_VARIANTS
#define C  3
#define H  32
#define W  32
#define IMAGE_SIZE (C * H * W)

static const char * const class_names[] = { "left", "right", NULL };

/* No symmetry, so that every shift and flip shows: red grows to the
 * right, green downwards, blue with both; image 1 is darker. */
static ConvolveDataset *
make_dataset (void)
{
  ConvolveDataset *dataset = convolve_dataset_new ("strip", 2, C, H, W, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);

  for (int i = 0; i < 2; i++)
    for (int c = 0; c < C; c++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            int value = c == 0 ? x * 8 : (c == 1 ? y * 8 : (x * 5 + y * 3) % 256);
            pixels[((i * C + c) * H + y) * W + x] = (guint8) (i == 0 ? value : value / 2);
          }
  convolve_dataset_get_labels_mutable (dataset)[1] = 1;
  return dataset;
}

/* What the trainer's call gives: the batch of index eight times over. */
static float *
expected_variants (ConvolveDataset       *dataset,
                   guint                  index,
                   const ConvolveAugment *augment,
                   guint64                seed)
{
  guint32 indices[N];
  int32_t labels[N];
  float *x = g_new (float, N * IMAGE_SIZE);
  ConvolveRng rng;

  for (guint i = 0; i < N; i++)
    indices[i] = index;
  convolve_rng_init (&rng, seed);
  convolve_dataset_make_batch (dataset, indices, N, x, labels, augment, &rng);
  for (guint i = 0; i < N; i++)
    g_assert_cmpint (labels[i], ==, convolve_dataset_get_label (dataset, index));
  return x;
}

static void
assert_strip_shows (ConvolveAugmentStrip *strip,
                    const float          *expected)
{
  for (guint i = 0; i < N; i++)
    {
      const float *variant = convolve_augment_strip_get_variant (strip, i);

      g_assert_nonnull (variant);
      g_assert_cmpmem (variant, IMAGE_SIZE * sizeof (float), expected + i * IMAGE_SIZE, IMAGE_SIZE * sizeof (float));
      g_assert_true (convolve_image_view_has_pixels (CONVOLVE_IMAGE_VIEW (convolve_augment_strip_get_variant_view (strip, i))));
    }
}

static guint
count_distinct (const float *variants)
{
  guint distinct = 0;

  for (guint i = 0; i < N; i++)
    {
      gboolean seen = FALSE;
      for (guint k = 0; k < i && !seen; k++)
        seen = memcmp (variants + i * IMAGE_SIZE, variants + k * IMAGE_SIZE, IMAGE_SIZE * sizeof (float)) == 0;
      distinct += !seen;
    }
  return distinct;
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_strip_variants (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  ConvolveAugmentStrip *strip = CONVOLVE_AUGMENT_STRIP (g_object_ref_sink (convolve_augment_strip_new ()));
  ConvolveTrainConfig config;
  g_autofree float *expected = NULL;
  g_autofree float *plain = g_new (float, IMAGE_SIZE);
  guint32 index = 1;
  int32_t label;
  gboolean any_changed = FALSE;

  /* the trainer's settings: the tutorial's shifts of 0.1 and flips */
  convolve_train_config_init (&config);
  g_assert_cmpmem (convolve_augment_strip_get_augment (strip), sizeof (ConvolveAugment),
                   &config.augment, sizeof (ConvolveAugment));
  g_assert_cmpfloat (config.augment.width_shift_range, ==, 0.1f);
  g_assert_true (config.augment.horizontal_flip);
  g_assert_cmpstr (convolve_augment_strip_get_caption (strip), ==, "Shifts up to 10 %, horizontal flips, nearest fill");

  g_assert_null (convolve_augment_strip_get_variant (strip, 0));
  convolve_augment_strip_set_seed (strip, 42);
  convolve_augment_strip_set_sample (strip, dataset, 1);
  expected = expected_variants (dataset, 1, &config.augment, 42);
  assert_strip_shows (strip, expected);

  /* they are variants: not all alike, and not the image itself */
  g_assert_cmpuint (count_distinct (expected), >=, 6);
  convolve_dataset_make_batch (dataset, &index, 1, plain, &label, NULL, NULL);
  for (guint i = 0; i < N; i++)
    any_changed |= memcmp (expected + i * IMAGE_SIZE, plain, IMAGE_SIZE * sizeof (float)) != 0;
  g_assert_true (any_changed);

  /* the same seed on another sample: that sample's variants */
  g_clear_pointer (&expected, g_free);
  convolve_augment_strip_set_sample (strip, dataset, 0);
  expected = expected_variants (dataset, 0, &config.augment, 42);
  assert_strip_shows (strip, expected);

  convolve_augment_strip_set_sample (strip, NULL, 0);
  g_assert_null (convolve_augment_strip_get_variant (strip, 0));
  g_assert_false (convolve_image_view_has_pixels (CONVOLVE_IMAGE_VIEW (convolve_augment_strip_get_variant_view (strip, 0))));
  g_assert_finalize_object (strip);
}

static void
test_strip_shuffle (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  ConvolveAugmentStrip *strip = CONVOLVE_AUGMENT_STRIP (g_object_ref_sink (convolve_augment_strip_new ()));
  g_autofree float *before = NULL;
  guint64 seeds[4];
  guint notified = 0;

  convolve_augment_strip_set_sample (strip, dataset, 0);
  g_signal_connect (strip, "notify::seed", G_CALLBACK (count_notify), &notified);
  seeds[0] = convolve_augment_strip_get_seed (strip);
  before = g_memdup2 (convolve_augment_strip_get_variant (strip, 0), N * IMAGE_SIZE * sizeof (float));
  assert_strip_shows (strip, before);

  for (guint k = 1; k < G_N_ELEMENTS (seeds); k++)
    {
      g_autofree float *expected = NULL;

      /* the Shuffle button's action */
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (strip), "strip.shuffle", NULL));
      seeds[k] = convolve_augment_strip_get_seed (strip);
      g_assert_cmpuint (notified, ==, k);
      for (guint j = 0; j < k; j++)
        g_assert_cmpuint (seeds[k], !=, seeds[j]);

      expected = expected_variants (dataset, 0, convolve_augment_strip_get_augment (strip), seeds[k]);
      assert_strip_shows (strip, expected);
      g_assert_true (memcmp (expected, before, N * IMAGE_SIZE * sizeof (float)) != 0);
    }

  /* back to the first seed: the first variants */
  convolve_augment_strip_set_seed (strip, seeds[0]);
  assert_strip_shows (strip, before);
  g_assert_finalize_object (strip);
}

static void
test_strip_caption (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  ConvolveAugmentStrip *strip = CONVOLVE_AUGMENT_STRIP (g_object_ref_sink (convolve_augment_strip_new ()));
  ConvolveAugment augment = { 0.2f, 0.1f, FALSE };
  ConvolveAugment none = { 0.0f, 0.0f, FALSE };
  g_autofree float *plain = g_new (float, N * IMAGE_SIZE);
  guint32 indices[N] = { 0 };
  int32_t labels[N];

  convolve_augment_strip_set_sample (strip, dataset, 0);
  convolve_augment_strip_set_augment (strip, &augment);
  g_assert_cmpstr (convolve_augment_strip_get_caption (strip), ==,
                   "Shifts up to 20 % across and 10 % up or down, no flips, nearest fill");
  /* a range of 1 or more counts pixels, as in Keras: 8 of 32 is 25 % */
  augment.width_shift_range = augment.height_shift_range = 8.0f;
  augment.horizontal_flip = TRUE;
  convolve_augment_strip_set_augment (strip, &augment);
  g_assert_cmpstr (convolve_augment_strip_get_caption (strip), ==, "Shifts up to 25 %, horizontal flips, nearest fill");

  /* nothing to augment: eight copies of the image */
  convolve_augment_strip_set_augment (strip, &none);
  g_assert_cmpstr (convolve_augment_strip_get_caption (strip), ==, "No shifts, no flips, nearest fill");
  convolve_dataset_make_batch (dataset, indices, N, plain, labels, NULL, NULL);
  assert_strip_shows (strip, plain);
  g_assert_finalize_object (strip);
}

/* --- what is on screen --------------------------------------------------- */

static void
test_strip_pixels (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  GtkWidget *window = gtk_window_new ();
  ConvolveAugmentStrip *strip = CONVOLVE_AUGMENT_STRIP (convolve_augment_strip_new ());
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *data = NULL;
  gsize stride;

  g_object_add_weak_pointer (G_OBJECT (strip), (gpointer *) &strip);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (strip));
  convolve_augment_strip_set_seed (strip, 7);
  convolve_augment_strip_set_sample (strip, dataset, 0);
  gtk_window_present (GTK_WINDOW (window));
  widget_test_wait_for_layout (GTK_WIDGET (strip));

  texture = widget_test_render_texture (GTK_WIDGET (strip));
  stride = (gsize) gdk_texture_get_width (texture) * 4;
  data = g_malloc (stride * gdk_texture_get_height (texture));
  gdk_texture_download (texture, data, stride);

  for (guint i = 0; i < N; i++)
    {
      GtkWidget *view = convolve_augment_strip_get_variant_view (strip, i);
      const float *variant = convolve_augment_strip_get_variant (strip, i);
      graphene_rect_t bounds, image;
      double scale;

      g_assert_true (gtk_widget_compute_bounds (view, GTK_WIDGET (strip), &bounds));
      g_assert_true (convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (view), &image));
      /* upscaled by a whole number: each image pixel a block of screen pixels */
      scale = image.size.width / W;
      g_assert_cmpfloat (scale, >=, 2.0);
      g_assert_cmpfloat (scale, ==, floor (scale));
      g_assert_cmpfloat (image.size.height, ==, H * scale);

      for (int sy = 0; sy < H; sy += 5)
        for (int sx = 0; sx < W; sx += 3)
          {
            int px = (int) floor (bounds.origin.x + image.origin.x + (sx + 0.5) * scale);
            int py = (int) floor (bounds.origin.y + image.origin.y + (sy + 0.5) * scale);
            guint32 value = *(guint32 *) (void *) (data + py * stride + px * 4);

            for (int c = 0; c < C; c++)
              {
                guint8 shown = (value >> (16 - 8 * c)) & 0xff;
                guint8 want = (guint8) lrintf (variant[(c * H + sy) * W + sx] * 255.0f);
                g_assert_cmpuint (shown, ==, want);
              }
          }
    }

  gtk_window_destroy (GTK_WINDOW (window));
  for (int k = 0; k < 20 && strip != NULL; k++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (strip);
}

/* The sample view shows the strip for its sample and follows it. */
static void
test_strip_in_sample_view (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  ConvolveSampleView *view = g_object_ref (convolve_sample_view_new (NULL, dataset, 0, NULL));
  ConvolveAugmentStrip *strip = convolve_sample_view_get_augment_strip (view);
  g_autofree float *first = NULL;
  g_autofree float *second = NULL;

  g_assert_nonnull (strip);
  g_assert_true (gtk_widget_is_ancestor (GTK_WIDGET (strip), GTK_WIDGET (view)));
  gtk_window_present (GTK_WINDOW (view));
  first = expected_variants (dataset, 0, convolve_augment_strip_get_augment (strip),
                             convolve_augment_strip_get_seed (strip));
  assert_strip_shows (strip, first);

  gtk_widget_activate_action (GTK_WIDGET (view), "sample.next", NULL);
  g_assert_cmpuint (convolve_sample_view_get_index (view), ==, 1);
  second = expected_variants (dataset, 1, convolve_augment_strip_get_augment (strip),
                              convolve_augment_strip_get_seed (strip));
  assert_strip_shows (strip, second);

  gtk_window_destroy (GTK_WINDOW (view));
  g_assert_finalize_object (view);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/augment-strip/variants", test_strip_variants);
  g_test_add_func ("/app/augment-strip/shuffle", test_strip_shuffle);
  g_test_add_func ("/app/augment-strip/caption", test_strip_caption);
  g_test_add_func ("/app/augment-strip/pixels", test_strip_pixels);
  g_test_add_func ("/app/augment-strip/sample-view", test_strip_in_sample_view);

  return g_test_run ();
}
