/* test-runs-plot.c: recorded runs' curves drawn: PNG and SVG files, one
 * colour per curve (a seed group is one), the best epochs marked.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-runs-plot.h"
#include "test-recorded-runs.h"

static char *work_dir;
static char *db_path;
static ConvolveRunStore *store;
static gint64 ids[4];  /* seeds 1, 2, 3 at one rate, seed 1 at another */

/* Pixels within 1 of the colour in every channel (cairo rounds). */
static guint
count_color (cairo_surface_t           *surface,
             const ConvolveReportColor *color)
{
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  int r = (int) (color->red * 255 + 0.5), g = (int) (color->green * 255 + 0.5), b = (int) (color->blue * 255 + 0.5);
  guint n = 0;

  cairo_surface_flush (surface);
  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
      {
        guint32 pixel = *(const guint32 *) (data + y * stride + x * 4);

        if (ABS ((int) ((pixel >> 16) & 0xff) - r) <= 1 && ABS ((int) ((pixel >> 8) & 0xff) - g) <= 1 &&
            ABS ((int) (pixel & 0xff) - b) <= 1)
          n++;
      }
  return n;
}

/* How many palette colours the drawing shows (each at least 20 pixels:
 * its line, its legend swatch and its best-epoch dot). */
static guint
count_series (const ConvolveRunComparison *comparison,
              ConvolveRunsPlotMetric       metric,
              gboolean                     dark)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 640, 400);
  cairo_t *cr = cairo_create (surface);
  ConvolveRunsPlotStyle style;
  guint n = 0;

  convolve_runs_plot_style_init (&style, dark);
  convolve_runs_plot_draw (cr, 640, 400, comparison, metric, &style);
  cairo_destroy (cr);
  for (guint c = 0; c < CONVOLVE_RUNS_PLOT_N_COLORS; c++)
    {
      ConvolveReportColor color;

      convolve_runs_plot_get_color (c, dark, &color);
      if (count_color (surface, &color) >= 20)
        n++;
    }
  cairo_surface_destroy (surface);
  return n;
}

static void
test_series (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunComparison) grouped = convolve_run_comparison_load (store, ids, 4, TRUE, &error);
  g_autoptr(ConvolveRunComparison) separate = convolve_run_comparison_load (store, ids, 4, FALSE, &error);
  g_autoptr(ConvolveRunComparison) seeds = convolve_run_comparison_load (store, ids, 3, TRUE, &error);

  g_assert_no_error (error);
  for (int dark = 0; dark <= 1; dark++)
    {
      g_assert_cmpuint (count_series (grouped, CONVOLVE_RUNS_PLOT_VAL_ACCURACY, dark), ==, 2);
      g_assert_cmpuint (count_series (grouped, CONVOLVE_RUNS_PLOT_VAL_LOSS, dark), ==, 2);
      g_assert_cmpuint (count_series (separate, CONVOLVE_RUNS_PLOT_VAL_ACCURACY, dark), ==, 4);
      g_assert_cmpuint (count_series (seeds, CONVOLVE_RUNS_PLOT_VAL_LOSS, dark), ==, 1);
    }
}

/* A seed group's band: faint pixels of its colour over the background,
 * which a single run's plot does not have. */
static guint
count_band (const ConvolveRunComparison *comparison)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 640, 400);
  cairo_t *cr = cairo_create (surface);
  ConvolveReportColor color, band;
  guint n;

  convolve_runs_plot_draw (cr, 640, 400, comparison, CONVOLVE_RUNS_PLOT_VAL_LOSS, NULL);
  cairo_destroy (cr);
  convolve_runs_plot_get_color (0, FALSE, &color);
  /* 22% of the colour over white, as the renderer fills it */
  band.red = 1.0 - 0.22 * (1.0 - color.red);
  band.green = 1.0 - 0.22 * (1.0 - color.green);
  band.blue = 1.0 - 0.22 * (1.0 - color.blue);
  n = count_color (surface, &band);
  cairo_surface_destroy (surface);
  return n;
}

static void
test_band (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunComparison) seeds = convolve_run_comparison_load (store, ids, 3, TRUE, &error);
  g_autoptr(ConvolveRunComparison) one = convolve_run_comparison_load (store, ids, 1, TRUE, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (count_band (seeds), >, 100);
  /* Only the legend box could come near it; a single run has no swatch. */
  g_assert_cmpuint (count_band (one), <, 10);
}

static void
test_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunComparison) grouped = convolve_run_comparison_load (store, ids, 4, TRUE, &error);
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GBytes) svg = NULL;
  g_autoptr(GBytes) one = NULL;
  const char *text;
  gsize size;

  g_assert_no_error (error);
  png = convolve_runs_plot_render (CONVOLVE_REPORT_FORMAT_PNG, CONVOLVE_RUNS_PLOT_EXPORT_WIDTH,
                                   CONVOLVE_RUNS_PLOT_EXPORT_HEIGHT, grouped, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (png), >, 1000);
  g_assert_cmpmem (g_bytes_get_data (png, NULL), 8, "\x89PNG\r\n\x1a\n", 8);

  svg = convolve_runs_plot_render (CONVOLVE_REPORT_FORMAT_SVG, 1200, 480, grouped, &error);
  g_assert_no_error (error);
  text = g_bytes_get_data (svg, &size);
  g_assert_cmpuint (size, >, 1000);
  g_assert_nonnull (g_strstr_len (text, size, "<svg"));
  g_assert_nonnull (g_strstr_len (text, size, "</svg>"));

  one = convolve_runs_plot_render_metric (CONVOLVE_REPORT_FORMAT_PNG, 600, 400, grouped,
                                          CONVOLVE_RUNS_PLOT_VAL_LOSS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (one), >, 1000);

  g_assert_null (convolve_runs_plot_render (CONVOLVE_REPORT_FORMAT_PNG, 0, 480, grouped, &error));
  g_assert_nonnull (error);
}

/* Runs without validation figures still draw (a message, no curve). */
static void
test_empty (void)
{
  g_autoptr(ConvolveRunComparison) empty = convolve_run_comparison_new (NULL, NULL, 0, TRUE);

  g_assert_cmpuint (count_series (empty, CONVOLVE_RUNS_PLOT_VAL_ACCURACY, FALSE), ==, 0);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  work_dir = g_dir_make_tmp ("convolve-runs-plot-XXXXXX", &error);
  g_assert_no_error (error);
  db_path = g_build_filename (work_dir, "runs.sqlite", NULL);
  store = convolve_run_store_open (db_path, &error);
  g_assert_no_error (error);
  ids[0] = test_record_run (store, "seed 1", "bands", 1, 0.01f, 3);
  ids[1] = test_record_run (store, "seed 2", "bands", 2, 0.01f, 3);
  ids[2] = test_record_run (store, "seed 3", "bands", 3, 0.01f, 3);
  ids[3] = test_record_run (store, "rate", "bands", 1, 0.05f, 3);

  g_test_add_func ("/report/runs-plot/series", test_series);
  g_test_add_func ("/report/runs-plot/band", test_band);
  g_test_add_func ("/report/runs-plot/files", test_files);
  g_test_add_func ("/report/runs-plot/empty", test_empty);
  status = g_test_run ();

  convolve_run_store_unref (store);
  for (guint i = 0; i < 4; i++)
    {
      static const char *suffixes[] = { "", "-wal", "-shm", "-owners" };
      g_autofree char *file = g_strconcat (db_path, suffixes[i], NULL);

      g_unlink (file);
    }
  g_rmdir (work_dir);
  g_free (db_path);
  g_free (work_dir);
  return status;
}
