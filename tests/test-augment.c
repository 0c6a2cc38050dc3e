/* test-augment.c: shifts with bilinear interpolation and edge replication,
 * flips, and the random draws, as Keras's ImageDataGenerator.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-data-private.h"

#include "augment-reference.h"

#define H 4
#define W 5

/* in[y][x] = 10 * y + x: every pixel tells where it came from */
static void
fill_coordinates (float *image,
                  int    c)
{
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        image[(ch * H + y) * W + x] = (float) (100 * ch + 10 * y + x);
}

static float
source (int ch,
        int y,
        int x)
{
  y = CLAMP (y, 0, H - 1);
  x = CLAMP (x, 0, W - 1);
  return (float) (100 * ch + 10 * y + x);
}

static void
test_augment_tutorial (void)
{
  ConvolveAugment augment;

  convolve_augment_init_tutorial (&augment);
  g_assert_cmpfloat (augment.width_shift_range, ==, 0.1f);
  g_assert_cmpfloat (augment.height_shift_range, ==, 0.1f);
  g_assert_true (augment.horizontal_flip);
}

static void
test_augment_identity (void)
{
  float in[H * W], out[H * W];

  fill_coordinates (in, 1);
  convolve_augment_apply (in, out, 1, H, W, 0.0f, 0.0f, FALSE);
  g_assert_cmpmem (in, sizeof in, out, sizeof out);
}

/* Whole-pixel shifts copy pixels exactly; what moves in from outside is
 * the nearest edge pixel. */
static void
test_augment_integer_shift (void)
{
  static const int shifts[][2] = {
    { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 }, { 2, -1 }, { -3, 2 }, { 4, 3 },
  };
  float in[2 * H * W], out[2 * H * W];

  fill_coordinates (in, 2);
  for (gsize s = 0; s < G_N_ELEMENTS (shifts); s++)
    {
      int dx = shifts[s][0], dy = shifts[s][1];

      convolve_augment_apply (in, out, 2, H, W, (float) dx, (float) dy, FALSE);
      for (int ch = 0; ch < 2; ch++)
        for (int y = 0; y < H; y++)
          for (int x = 0; x < W; x++)
            g_assert_cmpfloat (out[(ch * H + y) * W + x], ==, source (ch, y - dy, x - dx));
    }

  /* content moves right: the first column repeats the old first column */
  convolve_augment_apply (in, out, 1, H, W, 1.0f, 0.0f, FALSE);
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat (out[1], ==, 0.0f);
  g_assert_cmpfloat (out[2], ==, 1.0f);
  g_assert_cmpfloat (out[W - 1], ==, 3.0f);
}

/* Half a pixel: the mean of two neighbours (four for both axes). */
static void
test_augment_half_shift (void)
{
  float in[H * W], out[H * W];

  fill_coordinates (in, 1);

  convolve_augment_apply (in, out, 1, H, W, 0.5f, 0.0f, FALSE);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      g_assert_cmpfloat_with_epsilon (out[y * W + x],
                                      0.5f * (source (0, y, x - 1) + source (0, y, x)), 1e-5);

  convolve_augment_apply (in, out, 1, H, W, 0.0f, -0.5f, FALSE);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      g_assert_cmpfloat_with_epsilon (out[y * W + x],
                                      0.5f * (source (0, y, x) + source (0, y + 1, x)), 1e-5);

  convolve_augment_apply (in, out, 1, H, W, -0.5f, 0.5f, FALSE);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      g_assert_cmpfloat_with_epsilon (out[y * W + x],
                                      0.25f * (source (0, y - 1, x) + source (0, y - 1, x + 1) +
                                               source (0, y, x) + source (0, y, x + 1)), 1e-5);

  /* a quarter pixel weighs the neighbours 3:1 */
  convolve_augment_apply (in, out, 1, H, W, 0.25f, 0.0f, FALSE);
  g_assert_cmpfloat_with_epsilon (out[2], 0.75f * 2.0f + 0.25f * 1.0f, 1e-5);
}

/* Shifting by the whole width or more leaves only the edge. */
static void
test_augment_edges (void)
{
  float in[H * W], out[H * W];

  fill_coordinates (in, 1);

  convolve_augment_apply (in, out, 1, H, W, 10.0f, 0.0f, FALSE);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      g_assert_cmpfloat (out[y * W + x], ==, source (0, y, 0));

  convolve_augment_apply (in, out, 1, H, W, -1000.0f, 7.5f, FALSE);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      g_assert_cmpfloat (out[y * W + x], ==, source (0, 0, W - 1));

  /* a non-finite shift does not crash or read outside the image */
  convolve_augment_apply (in, out, 1, H, W, NAN, INFINITY, FALSE);
  g_assert_cmpmem (in, sizeof in, out, sizeof out);
}

static void
test_augment_flip (void)
{
  float in[2 * H * W], out[2 * H * W];

  fill_coordinates (in, 2);

  convolve_augment_apply (in, out, 2, H, W, 0.0f, 0.0f, TRUE);
  for (int ch = 0; ch < 2; ch++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        g_assert_cmpfloat (out[(ch * H + y) * W + x], ==, source (ch, y, W - 1 - x));

  /* the shift comes first, the flip second (as in Keras) */
  convolve_augment_apply (in, out, 2, H, W, 1.0f, 0.0f, TRUE);
  for (int ch = 0; ch < 2; ch++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        g_assert_cmpfloat (out[(ch * H + y) * W + x], ==, source (ch, y, W - 1 - x - 1));
}

/* Against scipy.ndimage.affine_transform as Keras calls it (see
 * tests/make-augment-reference.py). */
static void
test_augment_keras_reference (void)
{
  float in[30], out[30];

  for (int i = 0; i < 30; i++)
    in[i] = (float) reference_image[i];

  for (gsize k = 0; k < G_N_ELEMENTS (reference_cases); k++)
    {
      convolve_augment_apply (in, out, 1, 5, 6, reference_cases[k].dx, reference_cases[k].dy,
                              reference_cases[k].flip);
      for (int i = 0; i < 30; i++)
        g_assert_cmpfloat_with_epsilon (out[i], reference_cases[k].out[i], 1e-5);
    }
}

/* Straight from uint8 gives the very floats of scaling first. */
static void
test_augment_u8_matches_float (void)
{
  guint8 in_u8[3 * 7 * 9];
  float in_f[3 * 7 * 9], out_a[3 * 7 * 9], out_b[3 * 7 * 9];
  ConvolveRng rng;

  convolve_rng_init (&rng, 11);
  for (gsize i = 0; i < G_N_ELEMENTS (in_u8); i++)
    {
      in_u8[i] = (guint8) convolve_rng_below (&rng, 256);
      in_f[i] = (float) in_u8[i] / 255.0f;
    }

  for (int k = 0; k < 50; k++)
    {
      float dx = 8.0f * convolve_rng_uniform (&rng) - 4.0f;
      float dy = 8.0f * convolve_rng_uniform (&rng) - 4.0f;
      gboolean flip = (k & 1) != 0;

      if (k == 0)
        dx = dy = 0.0f;
      convolve_augment_apply (in_f, out_a, 3, 7, 9, dx, dy, flip);
      convolve_augment_apply_u8 (in_u8, out_b, 3, 7, 9, dx, dy, flip);
      g_assert_cmpmem (out_a, sizeof out_a, out_b, sizeof out_b);
    }
}

/* The draws: uniform in +-0.1 * size (3.2 pixels at 32), flips half the
 * time, seeded. */
static void
test_augment_draw_ranges (void)
{
  ConvolveAugment augment;
  ConvolveRng rng, again;
  const int n = 100000;
  double sum_x = 0, sum_y = 0, sum_xx = 0;
  float min_x = 100, max_x = -100, min_y = 100, max_y = -100;
  int flips = 0;

  convolve_augment_init_tutorial (&augment);
  convolve_rng_init (&rng, 2024);
  convolve_rng_init (&again, 2024);

  for (int i = 0; i < n; i++)
    {
      float dx, dy, dx2, dy2;
      gboolean flip, flip2;

      convolve_augment_draw (&augment, &rng, 32, 32, &dx, &dy, &flip);
      convolve_augment_draw (&augment, &again, 32, 32, &dx2, &dy2, &flip2);
      g_assert_cmpfloat (dx, ==, dx2);
      g_assert_cmpfloat (dy, ==, dy2);
      g_assert_cmpint (flip, ==, flip2);

      g_assert_cmpfloat (dx, >=, -3.2f);
      g_assert_cmpfloat (dx, <=, 3.2f);
      g_assert_cmpfloat (dy, >=, -3.2f);
      g_assert_cmpfloat (dy, <=, 3.2f);
      min_x = MIN (min_x, dx);
      max_x = MAX (max_x, dx);
      min_y = MIN (min_y, dy);
      max_y = MAX (max_y, dy);
      sum_x += dx;
      sum_y += dy;
      sum_xx += (double) dx * dx;
      flips += flip ? 1 : 0;
    }

  /* the whole range is used */
  g_assert_cmpfloat (min_x, <, -3.15f);
  g_assert_cmpfloat (max_x, >, 3.15f);
  g_assert_cmpfloat (min_y, <, -3.15f);
  g_assert_cmpfloat (max_y, >, 3.15f);
  /* mean 0 and variance (6.4)^2 / 12 of a uniform; standard errors are
   * about 0.006 and 0.01 */
  g_assert_cmpfloat_with_epsilon (sum_x / n, 0.0, 0.03);
  g_assert_cmpfloat_with_epsilon (sum_y / n, 0.0, 0.03);
  g_assert_cmpfloat_with_epsilon (sum_xx / n, 6.4 * 6.4 / 12.0, 0.05);
  g_assert_cmpfloat_with_epsilon ((double) flips / n, 0.5, 0.006);

  /* non-square images scale each range by its own side */
  augment.width_shift_range = 0.25f;
  augment.height_shift_range = 0.0f;
  augment.horizontal_flip = FALSE;
  for (int i = 0; i < 10000; i++)
    {
      float dx, dy;
      gboolean flip;

      convolve_augment_draw (&augment, &rng, 8, 40, &dx, &dy, &flip);
      g_assert_cmpfloat (fabsf (dx), <=, 10.0f);
      g_assert_cmpfloat (dy, ==, 0.0f);
      g_assert_false (flip);
    }

  /* as in Keras, a range of 1 or more is in pixels */
  augment.width_shift_range = 2.0f;
  for (int i = 0; i < 10000; i++)
    {
      float dx, dy;
      gboolean flip;

      convolve_augment_draw (&augment, &rng, 32, 32, &dx, &dy, &flip);
      g_assert_cmpfloat (fabsf (dx), <=, 2.0f);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/augment/tutorial", test_augment_tutorial);
  g_test_add_func ("/data/augment/identity", test_augment_identity);
  g_test_add_func ("/data/augment/integer-shift", test_augment_integer_shift);
  g_test_add_func ("/data/augment/half-shift", test_augment_half_shift);
  g_test_add_func ("/data/augment/edges", test_augment_edges);
  g_test_add_func ("/data/augment/flip", test_augment_flip);
  g_test_add_func ("/data/augment/keras-reference", test_augment_keras_reference);
  g_test_add_func ("/data/augment/u8-matches-float", test_augment_u8_matches_float);
  g_test_add_func ("/data/augment/draw-ranges", test_augment_draw_ranges);

  return g_test_run ();
}
