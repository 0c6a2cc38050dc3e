/* test-plot.c: ConvolvePlot draws axes, series and exports.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convolve-plot.h"

#define WIDTH  480
#define HEIGHT 320

typedef struct {
  cairo_surface_t *surface;
  guchar          *data;
  int              stride;
} Canvas;

static void
canvas_draw (Canvas       *canvas,
             ConvolvePlot *plot,
             int           width,
             int           height)
{
  cairo_t *cr;

  canvas->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (canvas->surface);
  convolve_plot_draw (plot, cr, width, height);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (canvas->surface);
  canvas->data = cairo_image_surface_get_data (canvas->surface);
  canvas->stride = cairo_image_surface_get_stride (canvas->surface);
}

static void
canvas_clear (Canvas *canvas)
{
  cairo_surface_destroy (canvas->surface);
  memset (canvas, 0, sizeof *canvas);
}

/* Premultiplied ARGB32 in native endianness. */
static void
canvas_pixel (Canvas *canvas,
              int     x,
              int     y,
              guint  *a,
              guint  *r,
              guint  *g,
              guint  *b)
{
  guint32 pixel;

  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, cairo_image_surface_get_width (canvas->surface));
  g_assert_cmpint (y, <, cairo_image_surface_get_height (canvas->surface));
  pixel = *(guint32 *) (void *) (canvas->data + y * canvas->stride + x * 4);
  *a = pixel >> 24;
  *r = (pixel >> 16) & 0xff;
  *g = (pixel >> 8) & 0xff;
  *b = pixel & 0xff;
}

static guint
canvas_alpha (Canvas *canvas,
              int     x,
              int     y)
{
  guint a, r, g, b;
  canvas_pixel (canvas, x, y, &a, &r, &g, &b);
  return a;
}

/* A pixel of the first palette colour (blue, #1c71d8 on light themes or
 * #62a0ea on dark ones) drawn opaque: blue well above red. */
static gboolean
canvas_is_series_blue (Canvas *canvas,
                       int     x,
                       int     y)
{
  guint a, r, g, b;
  canvas_pixel (canvas, x, y, &a, &r, &g, &b);
  return a > 200 && b > r + 60;
}

/* Is there a blue series pixel within +-radius rows of y? */
static gboolean
canvas_blue_near (Canvas *canvas,
                  int     x,
                  int     y,
                  int     radius)
{
  for (int dy = -radius; dy <= radius; dy++)
    if (canvas_is_series_blue (canvas, x, y + dy))
      return TRUE;
  return FALSE;
}

static ConvolvePlot *
new_plot (void)
{
  ConvolvePlot *plot = CONVOLVE_PLOT (convolve_plot_new ());
  g_object_ref_sink (plot);
  return plot;
}

static void
test_plot_axes (void)
{
  ConvolvePlot *plot = new_plot ();
  Canvas canvas = { 0 };
  cairo_rectangle_t area;
  double x[11], y[11];
  int axis_column, axis_row, mid_x;

  for (int i = 0; i <= 10; i++)
    {
      x[i] = i;
      y[i] = 0.25;
    }

  convolve_plot_set_fixed_y_range (plot, TRUE);
  convolve_plot_set_y_range (plot, 0.0, 1.0);
  convolve_plot_set_x_label (plot, "Epoch");
  convolve_plot_set_y_label (plot, "Accuracy");
  convolve_plot_add_series (plot, "quarter", "Quarter", CONVOLVE_PLOT_SERIES_LINE, NULL);
  convolve_plot_append_points (plot, "quarter", x, y, 11);
  g_assert_cmpuint (convolve_plot_get_n_points (plot, "quarter"), ==, 11);

  convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  g_assert_cmpfloat (area.x, >, 20.0);           /* room for tick labels and the y title */
  g_assert_cmpfloat (area.x + area.width, <, WIDTH);
  g_assert_cmpfloat (area.y, >, 0.0);
  g_assert_cmpfloat (area.y + area.height, <, HEIGHT - 20.0); /* room for the x labels and title */
  g_assert_cmpfloat (area.width, >, WIDTH / 2.0);
  g_assert_cmpfloat (area.height, >, HEIGHT / 3.0);

  canvas_draw (&canvas, plot, WIDTH, HEIGHT);

  /* The y axis is the column just left of the area, the x axis the row
   * just below it; both run the full length of the area. */
  axis_column = (int) area.x - 1;
  axis_row = (int) (area.y + area.height);
  for (int row = (int) area.y + 1; row < axis_row; row += 7)
    g_assert_cmpuint (canvas_alpha (&canvas, axis_column, row), >, 60);
  for (int column = (int) area.x + 1; column < area.x + area.width; column += 7)
    g_assert_cmpuint (canvas_alpha (&canvas, column, axis_row), >, 60);
  /* and nothing is drawn to the left of the tick labels' column of the y axis
   * well inside the data area's rows, in a gap between ticks */
  g_assert_cmpuint (canvas_alpha (&canvas, axis_column - 2, (int) (area.y + area.height * 0.125)), ==, 0);

  /* y = 0.25 on a 0..1 axis crosses three quarters down the area */
  mid_x = (int) (area.x + area.width / 2.0);
  g_assert_true (canvas_blue_near (&canvas, mid_x, (int) (area.y + area.height * 0.75), 1));
  g_assert_false (canvas_blue_near (&canvas, mid_x, (int) (area.y + area.height * 0.5), 3));
  g_assert_false (canvas_blue_near (&canvas, mid_x, (int) (area.y + area.height * 0.9), 3));
  canvas_clear (&canvas);

  /* a point at y = 0.75 at the right end bends the line upwards there */
  {
    double x2 = 11.0, y2 = 0.75;
    convolve_plot_append_points (plot, "quarter", &x2, &y2, 1);
    convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
    canvas_draw (&canvas, plot, WIDTH, HEIGHT);
    g_assert_true (canvas_blue_near (&canvas, (int) (area.x + area.width) - 1,
                                     (int) (area.y + area.height * 0.25), 2));
    canvas_clear (&canvas);
  }

  g_assert_finalize_object (plot);
}

static void
test_plot_empty (void)
{
  ConvolvePlot *plot = new_plot ();
  Canvas canvas = { 0 };
  cairo_rectangle_t area;
  guint drawn = 0;

  convolve_plot_add_series (plot, "loss", "Loss", CONVOLVE_PLOT_SERIES_LINE, NULL);
  convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  canvas_draw (&canvas, plot, WIDTH, HEIGHT);

  /* axes are there */
  g_assert_cmpuint (canvas_alpha (&canvas, (int) area.x - 1, (int) (area.y + area.height / 2)), >, 60);
  g_assert_cmpuint (canvas_alpha (&canvas, (int) (area.x + area.width / 2), (int) (area.y + area.height)), >, 60);
  /* and the "No data yet" text in the middle */
  for (int dy = -8; dy <= 8; dy++)
    for (int dx = -60; dx <= 60; dx++)
      if (canvas_alpha (&canvas, (int) (area.x + area.width / 2) + dx, (int) (area.y + area.height / 2) + dy) > 100)
        drawn++;
  g_assert_cmpuint (drawn, >, 30);
  canvas_clear (&canvas);

  /* without the empty text, the middle of the area stays clear but for grid lines */
  convolve_plot_set_empty_text (plot, NULL);
  canvas_draw (&canvas, plot, WIDTH, HEIGHT);
  drawn = 0;
  for (int dy = -8; dy <= 8; dy++)
    for (int dx = -60; dx <= 60; dx++)
      if (canvas_alpha (&canvas, (int) (area.x + area.width / 2) + dx, (int) (area.y + area.height / 2) + dy) > 100)
        drawn++;
  g_assert_cmpuint (drawn, ==, 0);
  canvas_clear (&canvas);

  g_assert_finalize_object (plot);
}

static void
test_plot_smoothing (void)
{
  ConvolvePlot *plot = new_plot ();
  Canvas canvas = { 0 };
  cairo_rectangle_t area;
  double x[400], y[400];
  int column, row_half, row_top;

  /* alternating 0 and 1: raw it fills the band, smoothed it is a line at 0.5 */
  for (int i = 0; i < 400; i++)
    {
      x[i] = i;
      y[i] = i % 2;
    }
  convolve_plot_set_fixed_y_range (plot, TRUE);
  convolve_plot_set_y_range (plot, -0.5, 1.5);
  convolve_plot_add_series (plot, "raw", "Raw", CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_SMOOTH, NULL);
  convolve_plot_set_points (plot, "raw", x, y, 400);
  convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  column = (int) (area.x + area.width * 0.8);
  row_half = (int) round (area.y + area.height * 0.5);
  row_top = (int) round (area.y + area.height * 0.25);  /* y = 1 */

  canvas_draw (&canvas, plot, WIDTH, HEIGHT);
  g_assert_true (canvas_blue_near (&canvas, column, row_top, 1));
  canvas_clear (&canvas);

  convolve_plot_set_smoothing (plot, 0.95);
  g_assert_cmpfloat (convolve_plot_get_smoothing (plot), ==, 0.95);
  canvas_draw (&canvas, plot, WIDTH, HEIGHT);
  /* the smoothed line is opaque at 0.5, the raw one faint at 1 */
  g_assert_true (canvas_blue_near (&canvas, column, row_half, 2));
  g_assert_false (canvas_blue_near (&canvas, column, row_top, 1));
  g_assert_cmpuint (canvas_alpha (&canvas, column, row_top), >, 0);
  canvas_clear (&canvas);

  /* out-of-range smoothing is clamped */
  convolve_plot_set_smoothing (plot, 5.0);
  g_assert_cmpfloat (convolve_plot_get_smoothing (plot), ==, 0.99);

  g_assert_finalize_object (plot);
}

static void
test_plot_large (void)
{
  ConvolvePlot *plot = new_plot ();
  Canvas canvas = { 0 };
  cairo_rectangle_t area;
  const gsize n = 100000;
  double *x = g_new (double, n);
  double *y = g_new (double, n);
  gint64 start, elapsed;
  gsize spike = n / 2 + 7;
  int spike_column;
  gboolean found = FALSE;

  for (gsize i = 0; i < n; i++)
    {
      x[i] = i / 1000.0;                      /* 100 epochs of 1000 steps */
      y[i] = 1.0 + 0.1 * sin (i * 0.37);
    }
  y[spike] = 3.0;  /* one batch with a bad loss must survive decimation */

  convolve_plot_add_series (plot, "batch", "Batch", CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_SMOOTH, NULL);
  for (gsize i = 0; i < n; i += 1000)
    convolve_plot_append_points (plot, "batch", x + i, y + i, 1000);
  g_assert_cmpuint (convolve_plot_get_n_points (plot, "batch"), ==, n);
  convolve_plot_set_smoothing (plot, 0.6);

  convolve_plot_get_data_area (plot, 800, 400, &area);
  start = g_get_monotonic_time ();
  canvas_draw (&canvas, plot, 800, 400);
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("drawing 100,000 points took %.1f ms", elapsed / 1000.0);

  /* auto range: the spike lies far beyond the outlier fences, so the range
   * stays near 0.9 .. 1.1 and the spike's column runs to the top edge */
  {
    double y_lo, y_hi;

    convolve_plot_get_axis_ranges (plot, 800, 400, NULL, NULL, &y_lo, &y_hi);
    g_assert_cmpfloat (y_lo, <=, 0.9);
    g_assert_cmpfloat (y_hi, >=, 1.1);
    g_assert_cmpfloat (y_hi, <, 2.0);
  }
  spike_column = (int) (area.x + (x[spike] / x[n - 1]) * area.width);
  for (int dx = -2; dx <= 2 && !found; dx++)
    for (int row = (int) area.y; row < area.y + area.height * 0.2 && !found; row++)
      {
        guint a, r, g, b;
        canvas_pixel (&canvas, spike_column + dx, row, &a, &r, &g, &b);
        found = a > 40 && b > r;
      }
  g_assert_true (found);
  canvas_clear (&canvas);

  /* a second draw uses the cached decimation */
  start = g_get_monotonic_time ();
  canvas_draw (&canvas, plot, 800, 400);
  g_test_message ("drawing again took %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  canvas_clear (&canvas);

  g_free (x);
  g_free (y);
  g_assert_finalize_object (plot);
}

static void
test_plot_export (void)
{
  ConvolvePlot *plot = new_plot ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *png_path = NULL;
  g_autofree char *svg_path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GFile) png = NULL;
  g_autoptr(GFile) svg = NULL;
  g_autoptr(GFile) bad = NULL;
  g_autoptr(GMarkupParseContext) markup = NULL;
  static const GMarkupParser parser = { 0 };
  cairo_surface_t *image;
  double x[] = { 0, 1, 2, 3 }, y[] = { 2.3, 1.5, 1.1, 0.9 };
  gsize length;
  guint32 corner;

  convolve_plot_add_series (plot, "val", "Validation", CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_MARKERS, NULL);
  convolve_plot_append_points (plot, "val", x, y, 4);
  convolve_plot_set_title (plot, "Loss & <accuracy>");

  dir = g_dir_make_tmp ("convolve-plot-XXXXXX", &error);
  g_assert_no_error (error);
  png_path = g_build_filename (dir, "plot.png", NULL);
  svg_path = g_build_filename (dir, "plot.svg", NULL);
  png = g_file_new_for_path (png_path);
  svg = g_file_new_for_path (svg_path);

  g_assert_true (convolve_plot_export (plot, png, CONVOLVE_PLOT_FORMAT_PNG, 640, 360, &error));
  g_assert_no_error (error);
  image = cairo_image_surface_create_from_png (png_path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (image), ==, 640);
  g_assert_cmpint (cairo_image_surface_get_height (image), ==, 360);
  /* export has an opaque white background */
  corner = *(guint32 *) (void *) cairo_image_surface_get_data (image);
  g_assert_cmphex (corner, ==, 0xffffffff);
  cairo_surface_destroy (image);

  g_assert_true (convolve_plot_export (plot, svg, CONVOLVE_PLOT_FORMAT_SVG, 640, 360, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (svg_path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (contents, "<svg"));
  g_assert_nonnull (strstr (contents, "width=\"640"));
  markup = g_markup_parse_context_new (&parser, 0, NULL, NULL);
  g_assert_true (g_markup_parse_context_parse (markup, contents, length, &error));
  g_assert_true (g_markup_parse_context_end_parse (markup, &error));
  g_assert_no_error (error);

  /* a failed export reports why and leaves the earlier file alone */
  bad = g_file_new_build_filename (dir, "missing-folder", "plot.png", NULL);
  g_assert_false (convolve_plot_export (plot, bad, CONVOLVE_PLOT_FORMAT_PNG, 640, 360, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (convolve_plot_export (plot, png, CONVOLVE_PLOT_FORMAT_PNG, 0, 360, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  image = cairo_image_surface_create_from_png (png_path);
  g_assert_cmpint (cairo_image_surface_get_width (image), ==, 640);
  cairo_surface_destroy (image);

  g_assert_cmpint (g_remove (png_path), ==, 0);
  g_assert_cmpint (g_remove (svg_path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_assert_finalize_object (plot);
}

/* A running training loss: ~5 at first, settling near 0.3 (the shape of
 * Keras' running mean over an epoch's batches), with per-epoch markers. */
static void
test_plot_outliers (void)
{
  ConvolvePlot *plot = new_plot ();
  Canvas canvas = { 0 };
  cairo_rectangle_t area;
  const int n = 2000;
  double *x = g_new (double, n);
  double *y = g_new (double, n);
  double epoch_x[] = { 0.5, 1.0 }, epoch_y[] = { 0.42, 0.31 };
  double val_x[] = { 0.5, 1.0 }, val_y[] = { 0.55, 0.9 };
  double y_lo, y_hi, sum = 0.0;
  int first_column, row;
  gboolean above = FALSE, at_top = FALSE;

  for (int i = 0; i < n; i++)
    {
      double batch = 0.3 + 6.0 * exp (-i / 15.0) + 0.05 * sin (i * 0.7);

      sum += batch;
      x[i] = (i + 1) / (double) n;
      y[i] = sum / (i + 1);
    }

  convolve_plot_add_series (plot, "batch", "Training", CONVOLVE_PLOT_SERIES_LINE, NULL);
  convolve_plot_add_series (plot, "epoch", "Epoch average", CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_MARKERS, NULL);
  convolve_plot_add_series (plot, "val", "Validation", CONVOLVE_PLOT_SERIES_LINE | CONVOLVE_PLOT_SERIES_MARKERS, NULL);
  convolve_plot_set_points (plot, "batch", x, y, n);
  convolve_plot_set_points (plot, "epoch", epoch_x, epoch_y, 2);
  g_assert_true (convolve_plot_get_ignore_outliers (plot));

  /* The range follows where the loss settles, not its first batches... */
  convolve_plot_get_axis_ranges (plot, WIDTH, HEIGHT, NULL, NULL, &y_lo, &y_hi);
  g_test_message ("y range %g .. %g for a loss from %g to %g", y_lo, y_hi, y[0], y[n - 1]);
  g_assert_cmpfloat (y_lo, <=, y[n - 1]);
  g_assert_cmpfloat (y_hi, <, 2.0);
  g_assert_cmpfloat (y_hi, >, 0.5);

  /* ...and the first batches run off its top edge, without spilling over
   * the legend above it. */
  convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &area);
  canvas_draw (&canvas, plot, WIDTH, HEIGHT);
  first_column = (int) area.x + 1;
  for (int column = first_column; column < area.x + area.width * 0.2; column++)
    {
      for (row = (int) area.y; row < (int) area.y + 3; row++)
        at_top |= canvas_is_series_blue (&canvas, column, row);
      for (row = (int) area.y - 8; row < (int) area.y - 2; row++)
        above |= canvas_is_series_blue (&canvas, column, row);
    }
  g_assert_true (at_top);
  g_assert_false (above);
  canvas_clear (&canvas);

  /* Every marker stays in view, however far out. */
  convolve_plot_set_points (plot, "val", val_x, val_y, 2);
  convolve_plot_get_axis_ranges (plot, WIDTH, HEIGHT, NULL, NULL, &y_lo, &y_hi);
  g_assert_cmpfloat (y_hi, >=, 0.9);
  g_assert_cmpfloat (y_hi, <, 2.0);

  /* Without the fences, the range covers the first batches too. */
  convolve_plot_set_ignore_outliers (plot, FALSE);
  convolve_plot_get_axis_ranges (plot, WIDTH, HEIGHT, NULL, NULL, &y_lo, &y_hi);
  g_assert_cmpfloat (y_hi, >=, y[0]);

  /* A steady trend has no outliers: a line from 0.2 to 0.9 is all shown. */
  convolve_plot_set_ignore_outliers (plot, TRUE);
  for (int i = 0; i < n; i++)
    y[i] = 0.2 + 0.7 * i / (n - 1.0);
  convolve_plot_set_points (plot, "batch", x, y, n);
  convolve_plot_get_axis_ranges (plot, WIDTH, HEIGHT, NULL, NULL, &y_lo, &y_hi);
  g_assert_cmpfloat (y_lo, <=, 0.2);
  g_assert_cmpfloat (y_hi, >=, 0.9);

  /* A fixed range (accuracy's 0 .. 1) is left alone. */
  convolve_plot_set_fixed_y_range (plot, TRUE);
  convolve_plot_set_y_range (plot, 0.0, 1.0);
  convolve_plot_get_axis_ranges (plot, WIDTH, HEIGHT, NULL, NULL, &y_lo, &y_hi);
  g_assert_cmpfloat (y_lo, ==, 0.0);
  g_assert_cmpfloat (y_hi, ==, 1.0);

  g_free (x);
  g_free (y);
  g_assert_finalize_object (plot);
}

static void
test_plot_menu (void)
{
  ConvolvePlot *plot = new_plot ();
  g_autoptr(GMenu) menu = g_menu_new ();
  cairo_rectangle_t plain, with_menu;
  GtkWidget *child;

  convolve_plot_set_title (plot, "Loss");
  convolve_plot_add_series (plot, "a", "A series with a rather long name", CONVOLVE_PLOT_SERIES_LINE, NULL);
  convolve_plot_add_series (plot, "b", "Another series with a long name", CONVOLVE_PLOT_SERIES_LINE, NULL);
  g_assert_null (gtk_widget_get_first_child (GTK_WIDGET (plot)));
  convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &plain);

  g_menu_append (menu, "Export as PNG…", "win.export-plot::loss-png");
  convolve_plot_set_menu_model (plot, G_MENU_MODEL (menu));
  g_assert_true (convolve_plot_get_menu_model (plot) == G_MENU_MODEL (menu));

  /* a menu button in the corner, with the same menu */
  child = gtk_widget_get_first_child (GTK_WIDGET (plot));
  g_assert_true (GTK_IS_MENU_BUTTON (child));
  g_assert_true (gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (child)) == G_MENU_MODEL (menu));
  /* the legend keeps clear of it, so the data area is no taller */
  convolve_plot_get_data_area (plot, WIDTH, HEIGHT, &with_menu);
  g_assert_cmpfloat (with_menu.y, >=, plain.y);

  convolve_plot_set_menu_model (plot, NULL);
  g_assert_null (gtk_widget_get_first_child (GTK_WIDGET (plot)));
  convolve_plot_set_menu_model (plot, G_MENU_MODEL (menu));
  g_assert_nonnull (gtk_widget_get_first_child (GTK_WIDGET (plot)));

  g_assert_finalize_object (plot);
}

static void
test_plot_render (void)
{
  ConvolvePlot *plot = new_plot ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GBytes) svg = NULL;
  static const guint8 png_signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  double x[] = { 0, 1 }, y[] = { 1, 2 };
  gsize size;
  const char *data;

  convolve_plot_add_series (plot, "s", "S", CONVOLVE_PLOT_SERIES_LINE, NULL);
  convolve_plot_append_points (plot, "s", x, y, 2);

  png = convolve_plot_render (plot, CONVOLVE_PLOT_FORMAT_PNG, 320, 200, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (png, &size);
  g_assert_cmpuint (size, >, sizeof png_signature);
  g_assert_cmpmem (data, sizeof png_signature, png_signature, sizeof png_signature);

  svg = convolve_plot_render (plot, CONVOLVE_PLOT_FORMAT_SVG, 320, 200, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (svg, &size);
  g_assert_nonnull (g_strstr_len (data, size, "<svg"));

  g_assert_null (convolve_plot_render (plot, CONVOLVE_PLOT_FORMAT_PNG, 320, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  g_assert_finalize_object (plot);
}

static void
test_plot_in_window (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *plot = convolve_plot_new ();
  double x[] = { 0, 1, 2 }, y[] = { 1, 2, 3 };

  g_object_add_weak_pointer (G_OBJECT (plot), (gpointer *) &plot);
  gtk_window_set_child (GTK_WINDOW (window), plot);
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 300);
  convolve_plot_add_series (CONVOLVE_PLOT (plot), "s", "S", CONVOLVE_PLOT_SERIES_LINE, NULL);
  /* a burst of appends while the window is up: redraws are coalesced */
  for (int i = 0; i < 100; i++)
    convolve_plot_append_points (CONVOLVE_PLOT (plot), "s", x, y, 3);
  gtk_window_present (GTK_WINDOW (window));
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (convolve_plot_get_n_points (CONVOLVE_PLOT (plot), "s"), ==, 300);

  gtk_window_destroy (GTK_WINDOW (window));
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (plot);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/plot/axes", test_plot_axes);
  g_test_add_func ("/app/plot/empty", test_plot_empty);
  g_test_add_func ("/app/plot/smoothing", test_plot_smoothing);
  g_test_add_func ("/app/plot/large", test_plot_large);
  g_test_add_func ("/app/plot/export", test_plot_export);
  g_test_add_func ("/app/plot/render", test_plot_render);
  g_test_add_func ("/app/plot/outliers", test_plot_outliers);
  g_test_add_func ("/app/plot/menu", test_plot_menu);
  g_test_add_func ("/app/plot/in-window", test_plot_in_window);

  return g_test_run ();
}
