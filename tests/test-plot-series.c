/* test-plot-series.c: the plot's series model (smoothing, decimation,
 * ranges) against values worked out by hand. GLib only: no display.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "convolve-plot-series.h"

#define TOLERANCE 1e-12

static ConvolvePlotSeries *
series_new_with (const double *x,
                 const double *y,
                 gsize         n,
                 double        weight)
{
  ConvolvePlotSeries *series = convolve_plot_series_new ();
  convolve_plot_series_append (series, x, y, n, weight);
  return series;
}

/* y = 0, 1, ..., n - 1 at x = 0, 1, ..., n - 1 */
static ConvolvePlotSeries *
series_new_ramp (gsize n)
{
  g_autofree double *x = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    x[i] = i;
  return series_new_with (x, x, n, 0.0);
}

static void
test_series_smoothing (void)
{
  const double x[] = { 0, 1, 2 };
  const double y[] = { 1, 2, 3 };
  const double y_gap[] = { 1, NAN, 3 };
  g_autoptr(ConvolvePlotSeries) series = series_new_with (x, y, 3, 0.5);
  g_autoptr(ConvolvePlotSeries) gap = series_new_with (x, y_gap, 3, 0.5);
  g_autoptr(ConvolvePlotSeries) pieces = convolve_plot_series_new ();
  const double *smooth = convolve_plot_series_get_y (series, TRUE);
  const double *raw = convolve_plot_series_get_y (series, FALSE);

  /* Debiased EMA with weight 0.5: the weights of the points so far are
   * 1, 0.5, 0.25 from the newest back, normalised by their sum:
   * 1; (0.5 * 1 + 2) / 1.5 = 5/3; (0.25 * 1 + 0.5 * 2 + 3) / 1.75 = 17/7. */
  g_assert_cmpuint (convolve_plot_series_get_n_points (series), ==, 3);
  g_assert_cmpfloat_with_epsilon (smooth[0], 1.0, TOLERANCE);
  g_assert_cmpfloat_with_epsilon (smooth[1], 5.0 / 3.0, TOLERANCE);
  g_assert_cmpfloat_with_epsilon (smooth[2], 17.0 / 7.0, TOLERANCE);
  g_assert_cmpfloat (raw[2], ==, 3.0);

  /* a gap stays a gap and does not count: (0.5 * 1 + 3) / 1.5 = 7/3 */
  smooth = convolve_plot_series_get_y (gap, TRUE);
  g_assert_cmpfloat_with_epsilon (smooth[0], 1.0, TOLERANCE);
  g_assert_true (isnan (smooth[1]));
  g_assert_cmpfloat_with_epsilon (smooth[2], 7.0 / 3.0, TOLERANCE);

  /* appending in pieces carries the average on */
  convolve_plot_series_append (pieces, x, y, 1, 0.5);
  convolve_plot_series_append (pieces, x + 1, y + 1, 2, 0.5);
  g_assert_cmpfloat_with_epsilon (convolve_plot_series_get_y (pieces, TRUE)[2], 17.0 / 7.0, TOLERANCE);

  /* weight 0 is the raw values; smoothing again restarts the average */
  convolve_plot_series_resmooth (series, 0.0);
  smooth = convolve_plot_series_get_y (series, TRUE);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (smooth[i], ==, y[i]);
  convolve_plot_series_resmooth (series, 0.5);
  g_assert_cmpfloat_with_epsilon (convolve_plot_series_get_y (series, TRUE)[1], 5.0 / 3.0, TOLERANCE);
  /* a heavy weight still starts at the first value (no pull to 0) */
  convolve_plot_series_resmooth (series, 0.99);
  g_assert_cmpfloat_with_epsilon (convolve_plot_series_get_y (series, TRUE)[0], 1.0, TOLERANCE);
}

static void
test_series_extents (void)
{
  const double x[] = { 0, 1, 2, 3, NAN, 4 };
  const double y[] = { 1, NAN, INFINITY, -2, 100, 0.5 };
  g_autoptr(ConvolvePlotSeries) series = series_new_with (x, y, 6, 0.0);
  guint64 serial = convolve_plot_series_get_serial (series);
  double lo, hi;

  /* every point is kept, but only finite ones (at finite x) count */
  g_assert_cmpuint (convolve_plot_series_get_n_points (series), ==, 6);
  g_assert_true (convolve_plot_series_get_x_extent (series, &lo, &hi));
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 4.0);
  g_assert_true (convolve_plot_series_get_y_extent (series, &lo, &hi));
  g_assert_cmpfloat (lo, ==, -2.0);
  g_assert_cmpfloat (hi, ==, 1.0);

  convolve_plot_series_clear (series);
  g_assert_cmpuint (convolve_plot_series_get_n_points (series), ==, 0);
  g_assert_cmpuint (convolve_plot_series_get_serial (series), !=, serial);
  g_assert_false (convolve_plot_series_get_x_extent (series, NULL, NULL));
  g_assert_false (convolve_plot_series_get_y_extent (series, &lo, &hi));
  g_assert_cmpfloat (lo, >, hi);

  /* only non-finite values: still no extent */
  {
    const double nan_y[] = { NAN, INFINITY };
    convolve_plot_series_append (series, x, nan_y, 2, 0.0);
    g_assert_cmpuint (convolve_plot_series_get_n_points (series), ==, 2);
    g_assert_true (convolve_plot_series_get_x_extent (series, NULL, NULL));
    g_assert_false (convolve_plot_series_get_y_extent (series, NULL, NULL));
  }
}

static void
test_series_nearest (void)
{
  const double x[] = { 0, 10, 20 };
  g_autoptr(ConvolvePlotSeries) series = series_new_with (x, x, 3, 0.0);
  g_autoptr(ConvolvePlotSeries) empty = convolve_plot_series_new ();

  g_assert_cmpint (convolve_plot_series_nearest (series, -5), ==, 0);
  g_assert_cmpint (convolve_plot_series_nearest (series, 4), ==, 0);
  g_assert_cmpint (convolve_plot_series_nearest (series, 5), ==, 0);   /* a tie goes left */
  g_assert_cmpint (convolve_plot_series_nearest (series, 6), ==, 1);
  g_assert_cmpint (convolve_plot_series_nearest (series, 20), ==, 2);
  g_assert_cmpint (convolve_plot_series_nearest (series, 1e9), ==, 2);
  g_assert_cmpint (convolve_plot_series_nearest (empty, 1), ==, -1);
}

static void
test_series_decimate (void)
{
  enum { N = 1000, COLUMNS = 10 };
  g_autofree double *x = g_new (double, N);
  g_autofree double *y = g_new (double, N);
  g_autoptr(ConvolvePlotSeries) series = NULL;
  const ConvolvePlotColumn *columns;

  /* a saw tooth 0..9 with one spike up in column 5 and one down in 7 */
  for (int i = 0; i < N; i++)
    {
      x[i] = i;
      y[i] = i % 10;
    }
  y[505] = 100.0;
  y[750] = -50.0;
  y[300] = NAN;  /* skipped, not a column's value */
  series = series_new_with (x, y, N, 0.0);

  columns = convolve_plot_series_decimate (series, FALSE, 0.0, N, COLUMNS);
  for (int c = 0; c < COLUMNS; c++)
    {
      /* 1000 points become 10 columns, each with its min and max */
      g_assert_cmpfloat (columns[c].first, ==, c == 3 ? 1.0 : 0.0);
      g_assert_cmpfloat (columns[c].lo, ==, c == 7 ? -50.0 : 0.0);
      g_assert_cmpfloat (columns[c].hi, ==, c == 5 ? 100.0 : 9.0);
    }

  /* the same request is served from the cache, new points are seen */
  g_assert_true (convolve_plot_series_decimate (series, FALSE, 0.0, N, COLUMNS) == columns);
  {
    double more_x = 999.5, more_y = 1000.0;
    convolve_plot_series_append (series, &more_x, &more_y, 1, 0.0);
  }
  columns = convolve_plot_series_decimate (series, FALSE, 0.0, N, COLUMNS);
  g_assert_cmpfloat (columns[9].hi, ==, 1000.0);

  /* a range twice as wide: the right half of the columns is empty, and
   * points beyond the range go to the edge columns */
  columns = convolve_plot_series_decimate (series, FALSE, 0.0, 2.0 * N, COLUMNS);
  g_assert_cmpfloat (columns[2].hi, ==, 100.0);  /* x = 505 of 0..2000 */
  g_assert_cmpfloat (columns[3].lo, ==, -50.0);  /* x = 750 */
  g_assert_cmpfloat (columns[4].hi, ==, 1000.0); /* x = 999.5 */
  for (int c = 5; c < COLUMNS; c++)
    g_assert_true (isnan (columns[c].first));
  columns = convolve_plot_series_decimate (series, FALSE, 600.0, 700.0, 4);
  g_assert_cmpfloat (columns[0].lo, ==, 0.0);    /* x < 600 lands in column 0 */
  g_assert_cmpfloat (columns[0].hi, ==, 100.0);
  g_assert_cmpfloat (columns[3].lo, ==, -50.0);  /* x > 700 in the last */
  g_assert_cmpfloat (columns[3].hi, ==, 1000.0);

  /* the smoothed values have their own columns */
  convolve_plot_series_resmooth (series, 0.9);
  columns = convolve_plot_series_decimate (series, TRUE, 0.0, N, COLUMNS);
  for (int c = 0; c < COLUMNS; c++)
    {
      g_assert_cmpfloat (columns[c].lo, <=, columns[c].first);
      g_assert_cmpfloat (columns[c].first, <=, columns[c].hi);
    }
  /* the spikes are smoothed away: 0.1 of 100 on top of about 4.5 */
  g_assert_cmpfloat (columns[5].hi, <, 20.0);
  g_assert_cmpfloat (columns[7].lo, >, -10.0);
}

static void
test_series_range_x (void)
{
  const double positive[] = { 5, 10 };
  const double negative[] = { -3, 4 };
  const double one[] = { -2 };
  g_autoptr(ConvolvePlotSeries) a = series_new_with (positive, positive, 2, 0.0);
  g_autoptr(ConvolvePlotSeries) b = series_new_with (negative, negative, 2, 0.0);
  g_autoptr(ConvolvePlotSeries) c = series_new_with (one, one, 1, 0.0);
  g_autoptr(ConvolvePlotSeries) empty = convolve_plot_series_new ();
  double lo, hi;

  /* non-negative x start at 0 */
  g_assert_true (convolve_plot_series_fit_x (&a, 1, &lo, &hi));
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 10.0);
  {
    ConvolvePlotSeries *both[] = { a, b };
    g_assert_true (convolve_plot_series_fit_x (both, 2, &lo, &hi));
    g_assert_cmpfloat (lo, ==, -3.0);
    g_assert_cmpfloat (hi, ==, 10.0);
  }
  /* one point: a unit wide range from it */
  g_assert_true (convolve_plot_series_fit_x (&c, 1, &lo, &hi));
  g_assert_cmpfloat (lo, ==, -2.0);
  g_assert_cmpfloat (hi, ==, -1.0);
  /* nothing: 0 .. 1 */
  g_assert_false (convolve_plot_series_fit_x (&empty, 1, &lo, &hi));
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1.0);
  g_assert_false (convolve_plot_series_fit_x (NULL, 0, &lo, &hi));
}

static void
test_series_range_outliers (void)
{
  double x[20], y[20];
  g_autoptr(ConvolvePlotSeries) loss = NULL;
  g_autoptr(ConvolvePlotSeries) markers = NULL;
  g_autoptr(ConvolvePlotSeries) trend = series_new_ramp (100);
  double lo, hi;

  /* 0, 1, ..., 18 and one start value of 1000: sorted, Q1 is the 5th
   * value (index (20 - 1) / 4 = 4): 4, Q3 the 15th (index 14): 14, so
   * the IQR is 10 and the far-out fences are 4 - 30 and 14 + 30. */
  y[0] = 1000.0;
  for (int i = 0; i < 20; i++)
    {
      x[i] = i;
      if (i > 0)
        y[i] = i - 1;
    }
  loss = series_new_with (x, y, 20, 0.0);

  convolve_plot_series_fit_y (&loss, 1, NULL, 0, TRUE, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.0);   /* the fence (-26) is below every point */
  g_assert_cmpfloat (hi, ==, 44.0);  /* 1000 is left out */
  convolve_plot_series_fit_y (&loss, 1, NULL, 0, FALSE, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1000.0);

  /* every point of a series with markers stays in */
  {
    const double mx[] = { 3, 5 };
    const double my[] = { -3, 500 };
    markers = series_new_with (mx, my, 2, 0.0);
  }
  convolve_plot_series_fit_y (&loss, 1, &markers, 1, TRUE, &lo, &hi);
  g_assert_cmpfloat (lo, ==, -3.0);
  g_assert_cmpfloat (hi, ==, 500.0);

  /* a steady trend is not cut: 0..99 has fences -126 and 224 */
  convolve_plot_series_fit_y (&trend, 1, NULL, 0, TRUE, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 99.0);

  /* under 8 finite points quartiles say little: all stay, even when
   * gaps bring the count of points to 8 or more */
  y[7] = y[8] = y[9] = NAN;
  {
    g_autoptr(ConvolvePlotSeries) few = series_new_with (x, y, 10, 0.0);
    convolve_plot_series_fit_y (&few, 1, NULL, 0, TRUE, &lo, &hi);
    g_assert_cmpfloat (lo, ==, 0.0);
    g_assert_cmpfloat (hi, ==, 1000.0);
  }
}

static void
test_series_range_empty (void)
{
  const double one_x[] = { 2 };
  const double one_y[] = { 0.5 };
  const double nan_y[] = { NAN };
  g_autoptr(ConvolvePlotSeries) empty = convolve_plot_series_new ();
  g_autoptr(ConvolvePlotSeries) one = series_new_with (one_x, one_y, 1, 0.0);
  g_autoptr(ConvolvePlotSeries) nan = series_new_with (one_x, nan_y, 1, 0.0);
  double lo, hi;

  convolve_plot_series_fit_y (NULL, 0, NULL, 0, TRUE, &lo, &hi);
  g_assert_cmpfloat (lo, >, hi);
  convolve_plot_series_fit_y (&empty, 1, &nan, 1, TRUE, &lo, &hi);
  g_assert_cmpfloat (lo, >, hi);
  /* and then the axes show 0 .. 1 */
  convolve_plot_series_pad_y (&lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1.0);

  /* one point: 10% of it each way */
  convolve_plot_series_fit_y (&one, 1, NULL, 0, TRUE, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.5);
  g_assert_cmpfloat (hi, ==, 0.5);
  convolve_plot_series_pad_y (&lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, 0.45, TOLERANCE);
  g_assert_cmpfloat_with_epsilon (hi, 0.55, TOLERANCE);
  /* at 0: 1 each way; a real range stays as it is */
  lo = hi = 0.0;
  convolve_plot_series_pad_y (&lo, &hi);
  g_assert_cmpfloat (lo, ==, -1.0);
  g_assert_cmpfloat (hi, ==, 1.0);
  lo = 0.25;
  hi = 4.0;
  convolve_plot_series_pad_y (&lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.25);
  g_assert_cmpfloat (hi, ==, 4.0);
  lo = NAN;
  convolve_plot_series_pad_y (&lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1.0);
}

static void
test_series_select_kth (void)
{
  const double values[] = { 5, 1, 4, 2, 3, 2 };
  const double sorted[] = { 1, 2, 2, 3, 4, 5 };

  for (gsize k = 0; k < G_N_ELEMENTS (values); k++)
    {
      double copy[G_N_ELEMENTS (values)];
      memcpy (copy, values, sizeof copy);
      g_assert_cmpfloat (convolve_plot_select_kth (copy, G_N_ELEMENTS (copy), k), ==, sorted[k]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/plot-series/smoothing", test_series_smoothing);
  g_test_add_func ("/app/plot-series/extents", test_series_extents);
  g_test_add_func ("/app/plot-series/nearest", test_series_nearest);
  g_test_add_func ("/app/plot-series/decimate", test_series_decimate);
  g_test_add_func ("/app/plot-series/range-x", test_series_range_x);
  g_test_add_func ("/app/plot-series/range-outliers", test_series_range_outliers);
  g_test_add_func ("/app/plot-series/range-empty", test_series_range_empty);
  g_test_add_func ("/app/plot-series/select-kth", test_series_select_kth);

  return g_test_run ();
}
