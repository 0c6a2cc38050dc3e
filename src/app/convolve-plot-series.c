/* convolve-plot-series.c: the data of one plot series and the pure
 * computation on it (smoothing, decimation, ranges).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-plot-series.h"

/* The decimated form of one array of a series for one width and x range. */
typedef struct {
  GArray *columns;    /* ConvolvePlotColumn, first = NAN when the column is empty */
  guint64 serial;     /* the series' serial it was made from */
  int     n_columns;
  double  x_lo;
  double  x_hi;
} PlotDecimation;

struct _ConvolvePlotSeries
{
  GArray         *x;       /* double */
  GArray         *y;       /* double, raw */
  GArray         *smooth;  /* double, exponentially smoothed y */
  double          ema_last;
  guint64         ema_count;

  double          x_min, x_max;
  double          y_min, y_max;  /* finite y at finite x only */
  guint64         serial;  /* bumped whenever the points change */

  PlotDecimation  raw_cache;
  PlotDecimation  smooth_cache;
};

static void
plot_decimation_clear (PlotDecimation *decimation)
{
  g_clear_pointer (&decimation->columns, g_array_unref);
  decimation->n_columns = 0;
}

ConvolvePlotSeries *
convolve_plot_series_new (void)
{
  ConvolvePlotSeries *series = g_new0 (ConvolvePlotSeries, 1);

  series->x = g_array_new (FALSE, FALSE, sizeof (double));
  series->y = g_array_new (FALSE, FALSE, sizeof (double));
  series->smooth = g_array_new (FALSE, FALSE, sizeof (double));
  convolve_plot_series_clear (series);
  return series;
}

void
convolve_plot_series_free (ConvolvePlotSeries *series)
{
  if (series == NULL)
    return;
  g_array_unref (series->x);
  g_array_unref (series->y);
  g_array_unref (series->smooth);
  plot_decimation_clear (&series->raw_cache);
  plot_decimation_clear (&series->smooth_cache);
  g_free (series);
}

void
convolve_plot_series_clear (ConvolvePlotSeries *series)
{
  g_return_if_fail (series != NULL);

  g_array_set_size (series->x, 0);
  g_array_set_size (series->y, 0);
  g_array_set_size (series->smooth, 0);
  series->ema_last = 0.0;
  series->ema_count = 0;
  series->x_min = series->y_min = INFINITY;
  series->x_max = series->y_max = -INFINITY;
  series->serial++;
}

/* TensorBoard's smoothing: an exponential moving average, debiased so the
 * first points are not pulled towards zero. */
static double
plot_series_smooth_next (ConvolvePlotSeries *series,
                         double              y,
                         double              weight)
{
  if (!isfinite (y))
    return y;

  series->ema_last = series->ema_last * weight + (1.0 - weight) * y;
  series->ema_count++;
  if (weight <= 0.0)
    return y;
  return series->ema_last / (1.0 - pow (weight, (double) series->ema_count));
}

void
convolve_plot_series_resmooth (ConvolvePlotSeries *series,
                               double              weight)
{
  g_return_if_fail (series != NULL);

  series->ema_last = 0.0;
  series->ema_count = 0;
  for (guint i = 0; i < series->y->len; i++)
    g_array_index (series->smooth, double, i) =
      plot_series_smooth_next (series, g_array_index (series->y, double, i), weight);
  series->serial++;
}

void
convolve_plot_series_append (ConvolvePlotSeries *series,
                             const double       *x,
                             const double       *y,
                             gsize               n,
                             double              weight)
{
  g_return_if_fail (series != NULL);
  g_return_if_fail (n == 0 || (x != NULL && y != NULL));

  for (gsize i = 0; i < n; i++)
    {
      double s = plot_series_smooth_next (series, y[i], weight);

      g_array_append_val (series->x, x[i]);
      g_array_append_val (series->y, y[i]);
      g_array_append_val (series->smooth, s);

      if (isfinite (x[i]))
        {
          series->x_min = MIN (series->x_min, x[i]);
          series->x_max = MAX (series->x_max, x[i]);
        }
      if (isfinite (y[i]) && isfinite (x[i]))
        {
          series->y_min = MIN (series->y_min, y[i]);
          series->y_max = MAX (series->y_max, y[i]);
        }
    }
  series->serial++;
}

gsize
convolve_plot_series_get_n_points (const ConvolvePlotSeries *series)
{
  g_return_val_if_fail (series != NULL, 0);
  return series->x->len;
}

const double *
convolve_plot_series_get_x (const ConvolvePlotSeries *series)
{
  g_return_val_if_fail (series != NULL, NULL);
  return (const double *) (void *) series->x->data;
}

const double *
convolve_plot_series_get_y (const ConvolvePlotSeries *series,
                            gboolean                  smoothed)
{
  g_return_val_if_fail (series != NULL, NULL);
  return (const double *) (void *) (smoothed ? series->smooth->data : series->y->data);
}

gboolean
convolve_plot_series_get_x_extent (const ConvolvePlotSeries *series,
                                   double                   *min,
                                   double                   *max)
{
  g_return_val_if_fail (series != NULL, FALSE);

  if (min)
    *min = series->x_min;
  if (max)
    *max = series->x_max;
  return series->x_min <= series->x_max;
}

gboolean
convolve_plot_series_get_y_extent (const ConvolvePlotSeries *series,
                                   double                   *min,
                                   double                   *max)
{
  g_return_val_if_fail (series != NULL, FALSE);

  if (min)
    *min = series->y_min;
  if (max)
    *max = series->y_max;
  return series->y_min <= series->y_max;
}

guint64
convolve_plot_series_get_serial (const ConvolvePlotSeries *series)
{
  g_return_val_if_fail (series != NULL, 0);
  return series->serial;
}

gssize
convolve_plot_series_nearest (const ConvolvePlotSeries *series,
                              double                    x)
{
  const double *xs;
  guint lo = 0, hi;

  g_return_val_if_fail (series != NULL, -1);

  xs = (const double *) (void *) series->x->data;
  hi = series->x->len;
  if (series->x->len == 0)
    return -1;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (xs[mid] < x)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == series->x->len)
    return lo - 1;
  if (lo > 0 && fabs (xs[lo - 1] - x) <= fabs (xs[lo] - x))
    return lo - 1;
  return lo;
}

const ConvolvePlotColumn *
convolve_plot_series_decimate (ConvolvePlotSeries *series,
                               gboolean            smoothed,
                               double              x_lo,
                               double              x_hi,
                               int                 n_columns)
{
  PlotDecimation *cache;
  const double *xs, *ys;
  double scale;

  g_return_val_if_fail (series != NULL, NULL);
  g_return_val_if_fail (n_columns > 0, NULL);

  cache = smoothed ? &series->smooth_cache : &series->raw_cache;
  if (cache->columns != NULL &&
      cache->serial == series->serial &&
      cache->n_columns == n_columns &&
      cache->x_lo == x_lo &&
      cache->x_hi == x_hi)
    return (const ConvolvePlotColumn *) (void *) cache->columns->data;

  if (cache->columns == NULL)
    cache->columns = g_array_new (FALSE, FALSE, sizeof (ConvolvePlotColumn));
  g_array_set_size (cache->columns, n_columns);
  for (int c = 0; c < n_columns; c++)
    g_array_index (cache->columns, ConvolvePlotColumn, c).first = NAN;

  xs = convolve_plot_series_get_x (series);
  ys = convolve_plot_series_get_y (series, smoothed);
  scale = n_columns / (x_hi - x_lo);
  for (guint i = 0; i < series->x->len; i++)
    {
      ConvolvePlotColumn *column;
      double y = ys[i];
      int c;

      if (!isfinite (y) || !isfinite (xs[i]))
        continue;
      c = (int) floor ((xs[i] - x_lo) * scale);
      c = CLAMP (c, 0, n_columns - 1);
      column = &g_array_index (cache->columns, ConvolvePlotColumn, c);
      if (isnan (column->first))
        {
          column->first = column->lo = column->hi = y;
        }
      else
        {
          column->lo = MIN (column->lo, y);
          column->hi = MAX (column->hi, y);
        }
    }

  cache->serial = series->serial;
  cache->n_columns = n_columns;
  cache->x_lo = x_lo;
  cache->x_hi = x_hi;
  return (const ConvolvePlotColumn *) (void *) cache->columns->data;
}

/* ------------------------------------------------------------- ranges */

gboolean
convolve_plot_series_fit_x (ConvolvePlotSeries * const *series,
                            guint                       n_series,
                            double                     *lo,
                            double                     *hi)
{
  double x_lo = INFINITY, x_hi = -INFINITY;
  gboolean all_non_negative = TRUE;
  gboolean empty;

  g_return_val_if_fail (n_series == 0 || series != NULL, FALSE);
  g_return_val_if_fail (lo != NULL && hi != NULL, FALSE);

  for (guint i = 0; i < n_series; i++)
    {
      if (!(series[i]->x_min <= series[i]->x_max))
        continue;
      x_lo = MIN (x_lo, series[i]->x_min);
      x_hi = MAX (x_hi, series[i]->x_max);
      if (series[i]->x_min < 0.0)
        all_non_negative = FALSE;
    }

  empty = !(x_lo <= x_hi);
  if (empty)
    {
      x_lo = 0.0;
      x_hi = 1.0;
    }
  else if (all_non_negative)
    x_lo = 0.0;  /* training curves start at step or epoch 0 */
  if (!(x_hi > x_lo))
    x_hi = x_lo + 1.0;

  *lo = x_lo;
  *hi = x_hi;
  return !empty;
}

double
convolve_plot_select_kth (double *values,
                          gsize   n,
                          gsize   k)
{
  gssize lo = 0, hi = (gssize) n - 1;

  g_return_val_if_fail (values != NULL && k < n, NAN);

  while (lo < hi)
    {
      double pivot = values[k];
      gssize i = lo, j = hi;

      do
        {
          while (values[i] < pivot)
            i++;
          while (pivot < values[j])
            j--;
          if (i <= j)
            {
              double swap = values[i];
              values[i] = values[j];
              values[j] = swap;
              i++;
              j--;
            }
        }
      while (i <= j);
      if (j < (gssize) k)
        lo = i;
      if ((gssize) k < i)
        hi = j;
    }
  return values[k];
}

/* Training curves start far above where they settle (a running loss from
 * ~5 down to ~0.3); the fences leave out that start once it is a small
 * part of the curve, but not a steady trend. */
void
convolve_plot_series_fit_y (ConvolvePlotSeries * const *lines,
                            guint                       n_lines,
                            ConvolvePlotSeries * const *whole,
                            guint                       n_whole,
                            gboolean                    ignore_outliers,
                            double                     *lo,
                            double                     *hi)
{
  double all_lo = INFINITY, all_hi = -INFINITY;
  double kept_lo = INFINITY, kept_hi = -INFINITY;
  gsize n_line_points = 0;

  g_return_if_fail (n_lines == 0 || lines != NULL);
  g_return_if_fail (n_whole == 0 || whole != NULL);
  g_return_if_fail (lo != NULL && hi != NULL);

  for (guint i = 0; i < n_whole; i++)
    {
      if (!(whole[i]->y_min <= whole[i]->y_max))
        continue;
      kept_lo = MIN (kept_lo, whole[i]->y_min);
      kept_hi = MAX (kept_hi, whole[i]->y_max);
    }
  all_lo = kept_lo;
  all_hi = kept_hi;
  for (guint i = 0; i < n_lines; i++)
    {
      if (!(lines[i]->y_min <= lines[i]->y_max))
        continue;
      all_lo = MIN (all_lo, lines[i]->y_min);
      all_hi = MAX (all_hi, lines[i]->y_max);
      n_line_points += lines[i]->y->len;
    }

  *lo = all_lo;
  *hi = all_hi;
  if (ignore_outliers && n_line_points >= CONVOLVE_PLOT_OUTLIER_MIN_POINTS)
    {
      g_autofree double *values = g_new (double, n_line_points);
      gsize n = 0;

      for (guint i = 0; i < n_lines; i++)
        {
          const double *xs = convolve_plot_series_get_x (lines[i]);
          const double *ys = convolve_plot_series_get_y (lines[i], FALSE);

          if (!(lines[i]->y_min <= lines[i]->y_max))
            continue;
          for (guint j = 0; j < lines[i]->y->len; j++)
            if (isfinite (xs[j]) && isfinite (ys[j]))
              values[n++] = ys[j];
        }

      if (n >= CONVOLVE_PLOT_OUTLIER_MIN_POINTS)
        {
          double q1 = convolve_plot_select_kth (values, n, (n - 1) / 4);
          double q3 = convolve_plot_select_kth (values, n, 3 * (n - 1) / 4);
          double iqr = q3 - q1;

          *lo = MIN (MAX (all_lo, q1 - CONVOLVE_PLOT_OUTLIER_FENCE * iqr), kept_lo);
          *hi = MAX (MIN (all_hi, q3 + CONVOLVE_PLOT_OUTLIER_FENCE * iqr), kept_hi);
        }
    }
}

void
convolve_plot_series_pad_y (double *lo,
                            double *hi)
{
  g_return_if_fail (lo != NULL && hi != NULL);

  if (!(*lo <= *hi))
    {
      *lo = 0.0;
      *hi = 1.0;
    }
  else if (*hi - *lo < 1e-12 * MAX (1.0, fabs (*hi)))
    {
      double half = fabs (*hi) > 0.0 ? fabs (*hi) * 0.1 : 1.0;
      *lo -= half;
      *hi += half;
    }
}
