/* test-report.c: colour maps and heatmap overlays, without a display.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-colormap.h"
#include "convolve-heatmap.h"

static double
luminance (ConvolveColormap map, double t)
{
  double r, g, b;

  convolve_colormap_lookup (map, t, &r, &g, &b);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

static void
test_colormap_ends (void)
{
  double r, g, b;
  guint8 rgb[3];

  /* matplotlib's published end points of viridis and cividis. */
  convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, 0.0, &r, &g, &b);
  g_assert_cmpfloat_with_epsilon (r, 0.267004, 1e-5);
  g_assert_cmpfloat_with_epsilon (g, 0.004874, 1e-5);
  g_assert_cmpfloat_with_epsilon (b, 0.329415, 1e-5);
  convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, 1.0, &r, &g, &b);
  g_assert_cmpfloat_with_epsilon (r, 0.993248, 1e-5);
  g_assert_cmpfloat_with_epsilon (g, 0.906157, 1e-5);
  g_assert_cmpfloat_with_epsilon (b, 0.143936, 1e-5);
  convolve_colormap_lookup (CONVOLVE_COLORMAP_CIVIDIS, 0.0, &r, &g, &b);
  g_assert_cmpfloat_with_epsilon (r, 0.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (g, 0.135112, 1e-5);
  g_assert_cmpfloat_with_epsilon (b, 0.304751, 1e-5);

  /* Out of range and NaN clamp. */
  convolve_colormap_lookup_rgb8 (CONVOLVE_COLORMAP_VIRIDIS, -3.0, rgb);
  g_assert_cmpuint (rgb[0], ==, 68);
  g_assert_cmpuint (rgb[1], ==, 1);
  g_assert_cmpuint (rgb[2], ==, 84);
  convolve_colormap_lookup_rgb8 (CONVOLVE_COLORMAP_VIRIDIS, NAN, rgb);
  g_assert_cmpuint (rgb[0], ==, 68);
  convolve_colormap_lookup_rgb8 (CONVOLVE_COLORMAP_VIRIDIS, 7.0, rgb);
  g_assert_cmpuint (rgb[0], ==, 253);
  g_assert_cmpuint (rgb[1], ==, 231);
  g_assert_cmpuint (rgb[2], ==, 37);
}

static void
test_colormap_uniform (void)
{
  /* Both maps get steadily lighter: a heatmap reads as more = brighter,
   * in colour or in grey. */
  for (int map = CONVOLVE_COLORMAP_VIRIDIS; map <= CONVOLVE_COLORMAP_CIVIDIS; map++)
    for (int i = 1; i <= 100; i++)
      g_assert_cmpfloat (luminance (map, i / 100.0), >, luminance (map, (i - 1) / 100.0));

  /* Interpolation between table entries is linear. */
  {
    double r0, g0, b0, r1, g1, b1, r, g, b;

    convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, 100 / 255.0, &r0, &g0, &b0);
    convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, 101 / 255.0, &r1, &g1, &b1);
    convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, 100.5 / 255.0, &r, &g, &b);
    g_assert_cmpfloat_with_epsilon (r, (r0 + r1) / 2, 1e-6);
    g_assert_cmpfloat_with_epsilon (g, (g0 + g1) / 2, 1e-6);
    g_assert_cmpfloat_with_epsilon (b, (b0 + b1) / 2, 1e-6);
  }

  /* Text on the dark end is light, on the bright end dark. */
  g_assert_false (convolve_colormap_text_is_dark (CONVOLVE_COLORMAP_VIRIDIS, 0.0));
  g_assert_true (convolve_colormap_text_is_dark (CONVOLVE_COLORMAP_VIRIDIS, 1.0));
  g_assert_false (convolve_colormap_text_is_dark (CONVOLVE_COLORMAP_CIVIDIS, 0.0));
  g_assert_true (convolve_colormap_text_is_dark (CONVOLVE_COLORMAP_CIVIDIS, 1.0));
}

static guint32
pixel_at (cairo_surface_t *surface, int x, int y)
{
  const guint8 *data = cairo_image_surface_get_data (surface);

  return ((const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (surface)))[x] & 0xffffff;
}

static void
test_heatmap_overlay (void)
{
  /* 2 x 2 colour image: red, green / blue, grey. */
  static const guint8 pixels[3 * 4] = {
    255, 0,   0,   128,
    0,   255, 0,   128,
    0,   0,   255, 128,
  };
  static const float map[4] = { 0.0f, 1.0f, NAN, 0.5f };
  cairo_surface_t *plain, *full, *half;
  guint8 heat[3];

  plain = convolve_heatmap_overlay (pixels, 3, 2, 2, NULL, 3, CONVOLVE_COLORMAP_VIRIDIS, 0.5);
  g_assert_nonnull (plain);
  g_assert_cmpint (cairo_image_surface_get_width (plain), ==, 6);
  g_assert_cmpint (cairo_image_surface_get_height (plain), ==, 6);
  /* Nearest neighbour: every 3 x 3 block is its pixel. */
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 3; x++)
      {
        g_assert_cmphex (pixel_at (plain, x, y), ==, 0xff0000);
        g_assert_cmphex (pixel_at (plain, 3 + x, y), ==, 0x00ff00);
        g_assert_cmphex (pixel_at (plain, x, 3 + y), ==, 0x0000ff);
        g_assert_cmphex (pixel_at (plain, 3 + x, 3 + y), ==, 0x808080);
      }

  /* Opaque: the colour map itself, except where the map has no value. */
  full = convolve_heatmap_overlay (pixels, 3, 2, 2, map, 1, CONVOLVE_COLORMAP_VIRIDIS, 1.0);
  convolve_colormap_lookup_rgb8 (CONVOLVE_COLORMAP_VIRIDIS, 1.0, heat);
  g_assert_cmphex (pixel_at (full, 1, 0), ==, (guint32) heat[0] << 16 | heat[1] << 8 | heat[2]);
  g_assert_cmphex (pixel_at (full, 0, 1), ==, 0x0000ff);

  /* Half: the mean of image and colour, per channel. */
  half = convolve_heatmap_overlay (pixels, 3, 2, 2, map, 1, CONVOLVE_COLORMAP_VIRIDIS, 0.5);
  convolve_colormap_lookup_rgb8 (CONVOLVE_COLORMAP_VIRIDIS, 0.0, heat);
  {
    guint32 p = pixel_at (half, 0, 0);

    g_assert_cmpint (abs ((int) (p >> 16 & 0xff) - (255 + heat[0]) / 2), <=, 1);
    g_assert_cmpint (abs ((int) (p >> 8 & 0xff) - (0 + heat[1]) / 2), <=, 1);
    g_assert_cmpint (abs ((int) (p & 0xff) - (0 + heat[2]) / 2), <=, 1);
  }

  /* Grey images and impossible sizes. */
  {
    static const guint8 grey[4] = { 0, 64, 128, 255 };
    cairo_surface_t *g = convolve_heatmap_overlay (grey, 1, 2, 2, NULL, 1, CONVOLVE_COLORMAP_CIVIDIS, 0.5);

    g_assert_cmphex (pixel_at (g, 1, 0), ==, 0x404040);
    g_assert_cmphex (pixel_at (g, 1, 1), ==, 0xffffff);
    cairo_surface_destroy (g);
  }
  g_assert_null (convolve_heatmap_overlay (pixels, 2, 2, 2, NULL, 1, CONVOLVE_COLORMAP_VIRIDIS, 0.5));
  g_assert_null (convolve_heatmap_overlay (pixels, 3, 0, 2, NULL, 1, CONVOLVE_COLORMAP_VIRIDIS, 0.5));
  g_assert_null (convolve_heatmap_overlay (pixels, 3, 2, 2, NULL, 0, CONVOLVE_COLORMAP_VIRIDIS, 0.5));
  g_assert_null (convolve_heatmap_overlay (pixels, 3, 2, 2, NULL, 65, CONVOLVE_COLORMAP_VIRIDIS, 0.5));

  cairo_surface_destroy (plain);
  cairo_surface_destroy (full);
  cairo_surface_destroy (half);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/report/colormap/ends", test_colormap_ends);
  g_test_add_func ("/report/colormap/uniform", test_colormap_uniform);
  g_test_add_func ("/report/heatmap/overlay", test_heatmap_overlay);
  return g_test_run ();
}
