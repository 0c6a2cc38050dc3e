/* test-plot-axes.c: the plot's tick steps, tick labels and layout, on an
 * image surface: no display (GTK is linked, never initialised).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-plot-axes.h"

#define TOLERANCE 1e-12

static void
test_axes_nice_step (void)
{
  /* about target intervals, rounded to 1, 2 or 5 times a power of ten */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (10.0, 5.0), 2.0, TOLERANCE);     /* raw 2 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (10.0, 8.0), 1.0, TOLERANCE);     /* raw 1.25 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (100.0, 4.0), 20.0, TOLERANCE);   /* raw 25 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (100.0, 25.0), 5.0, TOLERANCE);   /* raw 4 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (7.0, 1.0), 10.0, TOLERANCE);     /* raw 7 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (0.74, 7.5), 0.1, TOLERANCE);     /* raw 0.0987 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (60000.0, 6.0), 10000.0, TOLERANCE);
  /* a target under 1 counts as 1 */
  g_assert_cmpfloat_with_epsilon (convolve_plot_nice_step (3.0, 0.2), 5.0, TOLERANCE);
  /* nothing to divide */
  g_assert_cmpfloat (convolve_plot_nice_step (0.0, 5.0), ==, 1.0);
  g_assert_cmpfloat (convolve_plot_nice_step (-1.0, 5.0), ==, 1.0);
  g_assert_cmpfloat (convolve_plot_nice_step (NAN, 5.0), ==, 1.0);
  g_assert_cmpfloat (convolve_plot_nice_step (INFINITY, 5.0), ==, 1.0);
}

static void
assert_tick (double      value,
             double      step,
             const char *expected)
{
  g_autofree char *text = convolve_plot_format_tick (value, step);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_axes_tick_labels (void)
{
  assert_tick (3.0, 1.0, "3");
  assert_tick (0.1 + 0.2, 0.1, "0.3");       /* not 0.30000000000000004 */
  assert_tick (0.25, 0.05, "0.25");
  assert_tick (-1e-17, 0.1, "0.0");           /* no "-0.0" from rounding */
  assert_tick (2500.0, 500.0, "2500");
  assert_tick (20000.0, 10000.0, "20k");      /* whole thousands */
  assert_tick (15000.0, 5000.0, "15k");
  assert_tick (1e-5, 1e-5, "0.00001");
  assert_tick (1e-12, 1e-12, "0.000000000"); /* at most 9 decimals */
}

static void
layout_at (const ConvolvePlotAxes *axes,
           int                     width,
           int                     height,
           ConvolvePlotLayout     *layout)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  convolve_plot_axes_layout (axes, cr, width, height, layout);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_axes_layout (void)
{
  ConvolvePlotLegendEntry legend[8];
  ConvolvePlotAxes axes = {
    .title = "Loss",
    .x_label = "Step",
    .y_label = "Loss",
    .legend = legend,
    .n_legend = 1,
    .x_lo = 0.0, .x_hi = 3000.0,
    .y_lo = 0.13, .y_hi = 0.87,
    .round_y = TRUE,
  };
  ConvolvePlotLayout layout, bare, wrapped, cornered;
  const int width = 480, height = 400;

  for (guint i = 0; i < G_N_ELEMENTS (legend); i++)
    legend[i] = (ConvolvePlotLegendEntry) { .label = "Training loss", .line = TRUE };

  layout_at (&axes, width, height, &layout);
  /* the data area is inside the margins, in whole pixels */
  g_assert_cmpfloat (layout.area.x, >, CONVOLVE_PLOT_PAD);
  g_assert_cmpfloat (layout.area.y, >, CONVOLVE_PLOT_PAD);
  g_assert_cmpfloat (layout.area.x + layout.area.width, <=, width - CONVOLVE_PLOT_PAD);
  g_assert_cmpfloat (layout.area.y + layout.area.height, <, height - CONVOLVE_PLOT_PAD);
  g_assert_cmpfloat (layout.area.x, ==, round (layout.area.x));
  g_assert_cmpfloat (layout.area.height, ==, round (layout.area.height));
  g_assert_cmpfloat (layout.header_right, ==, width - CONVOLVE_PLOT_PAD);
  /* y is widened to whole ticks of a nice step (0.1 for about 7 ticks),
   * x is not */
  g_assert_cmpfloat_with_epsilon (layout.y_step, 0.1, TOLERANCE);
  g_assert_cmpfloat_with_epsilon (layout.y_lo, 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon (layout.y_hi, 0.9, 1e-9);
  g_assert_cmpfloat (layout.x_lo, ==, 0.0);
  g_assert_cmpfloat (layout.x_hi, ==, 3000.0);
  g_assert_cmpfloat (fmod (layout.x_step, 100.0), ==, 0.0);
  /* and maps its ends to the area's edges */
  g_assert_cmpfloat_with_epsilon (convolve_plot_layout_x_to_pixel (&layout, 3000.0),
                                  layout.area.x + layout.area.width, 1e-9);
  g_assert_cmpfloat_with_epsilon (convolve_plot_layout_y_to_pixel (&layout, layout.y_lo),
                                  layout.area.y + layout.area.height, 1e-9);

  /* a fixed range stays as it is */
  axes.round_y = FALSE;
  layout_at (&axes, width, height, &bare);
  g_assert_cmpfloat (bare.y_lo, ==, 0.13);
  g_assert_cmpfloat (bare.y_hi, ==, 0.87);
  axes.round_y = TRUE;

  /* without titles, labels and legend the area grows up, left and down */
  axes.title = axes.x_label = axes.y_label = NULL;
  axes.n_legend = 0;
  layout_at (&axes, width, height, &bare);
  g_assert_cmpfloat (bare.area.x, <, layout.area.x);
  g_assert_cmpfloat (bare.area.y, <, layout.area.y);
  g_assert_cmpfloat (bare.area.y + bare.area.height, >, layout.area.y + layout.area.height);

  /* eight legend entries on a narrow plot wrap to more rows */
  axes.n_legend = 1;
  layout_at (&axes, 200, height, &layout);
  axes.n_legend = 8;
  layout_at (&axes, 200, height, &wrapped);
  g_assert_cmpfloat (wrapped.area.y, >, layout.area.y + 20.0);

  /* the corner kept free: the legend ends short of it, the area below it */
  axes.corner_width = 40.0;
  axes.corner_bottom = 150.0;
  layout_at (&axes, 200, height, &cornered);
  g_assert_cmpfloat (cornered.header_right, ==, 200 - CONVOLVE_PLOT_PAD - 40.0);
  g_assert_cmpfloat (cornered.area.y, >=, 150.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/plot-axes/nice-step", test_axes_nice_step);
  g_test_add_func ("/app/plot-axes/tick-labels", test_axes_tick_labels);
  g_test_add_func ("/app/plot-axes/layout", test_axes_layout);

  return g_test_run ();
}
