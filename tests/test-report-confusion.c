/* test-report-confusion.c: the confusion matrix's layout, hit-testing,
 * colours and files, and the top-losses grid, without a display.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-confusion-render.h"
#include "convolve-image-grid.h"
#include "convolve-metrics.h"

static const char * const names[] = {
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", NULL
};

/* Ten classes; class t has 10 + t images; class 0 all right, class 1
 * all taken for class 2, the others 7 right and the rest as class 0. */
static ConvolveEvaluation *
make_evaluation (void)
{
  ConvolveEvaluation *evaluation = convolve_evaluation_new ();
  guint n = 0, i = 0;

  evaluation->n_classes = 10;
  evaluation->class_names = g_strdupv ((char **) names);
  evaluation->confusion = g_new0 (guint, 100);
  for (int t = 0; t < 10; t++)
    {
      guint count = 10 + t;

      if (t == 0)
        evaluation->confusion[0] = count;
      else if (t == 1)
        evaluation->confusion[1 * 10 + 2] = count;
      else
        {
          evaluation->confusion[t * 10 + t] = 7;
          evaluation->confusion[t * 10 + 0] = count - 7;
        }
      n += count;
    }
  evaluation->n_images = n;
  evaluation->labels = g_new (gint32, n);
  evaluation->predictions = g_new (gint32, n);
  evaluation->confidences = g_new (float, n);
  evaluation->losses = g_new (float, n);
  for (int t = 0; t < 10; t++)
    for (int p = 0; p < 10; p++)
      for (guint k = 0; k < evaluation->confusion[t * 10 + p]; k++, i++)
        {
          evaluation->labels[i] = t;
          evaluation->predictions[i] = p;
          evaluation->confidences[i] = 0.75f;
          evaluation->losses[i] = (float) (t == p ? 0.1 : 1.0 + i / 1000.0);
        }
  return evaluation;
}

static guint32
pixel_at (cairo_surface_t *surface, int x, int y)
{
  const guint8 *data = cairo_image_surface_get_data (surface);

  return ((const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (surface)))[x] & 0xffffff;
}

static guint32
colormap_pixel (double t)
{
  guint8 rgb[3];

  convolve_colormap_lookup_rgb8 (CONVOLVE_COLORMAP_VIRIDIS, t, rgb);
  return (guint32) rgb[0] << 16 | (guint32) rgb[1] << 8 | rgb[2];
}

static void
test_confusion_layout (void)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (surface);
  ConvolveConfusionLayout layout;
  int t = -1, p = -1;

  convolve_confusion_layout_compute (&layout, cr, 600, 500, 10, names);
  g_assert_cmpint (layout.n_classes, ==, 10);
  g_assert_cmpfloat (layout.cell, >=, 20);
  /* The cells and their labels fit the drawing. */
  g_assert_cmpfloat (layout.x - layout.row_label_width, >, 0);
  g_assert_cmpfloat (layout.x + 10 * layout.cell, <=, 600);
  g_assert_cmpfloat (layout.y + 10 * layout.cell + layout.column_label_extent, <, 500);
  g_assert_cmpfloat (layout.count_font_size, >, 0);

  /* Every cell's centre and corners hit that cell. */
  for (int row = 0; row < 10; row++)
    for (int column = 0; column < 10; column++)
      {
        double x, y, w, h;

        convolve_confusion_layout_cell_rect (&layout, row, column, &x, &y, &w, &h);
        g_assert_true (convolve_confusion_layout_cell_at (&layout, x + w / 2, y + h / 2, &t, &p));
        g_assert_cmpint (t, ==, row);
        g_assert_cmpint (p, ==, column);
        g_assert_true (convolve_confusion_layout_cell_at (&layout, x + 0.5, y + h - 0.5, &t, &p));
        g_assert_cmpint (t, ==, row);
        g_assert_cmpint (p, ==, column);
      }
  /* Outside the cells: on the labels, past the last column or row. */
  g_assert_false (convolve_confusion_layout_cell_at (&layout, layout.x - 1, layout.y + 5, &t, &p));
  g_assert_false (convolve_confusion_layout_cell_at (&layout, layout.x + 10 * layout.cell + 1, layout.y + 5, &t, &p));
  g_assert_false (convolve_confusion_layout_cell_at (&layout, layout.x + 5, layout.y + 10 * layout.cell, &t, &p));
  g_assert_false (convolve_confusion_layout_cell_at (&layout, layout.x + 5, layout.y - 0.5, &t, &p));

  /* Long names on a narrow drawing turn and shorten. */
  convolve_confusion_layout_compute (&layout, cr, 260, 260, 10, names);
  g_assert_true (layout.rotate_column_labels);
  g_assert_cmpfloat (layout.row_label_width, <=, 65);
  /* Too small for counts: none are drawn. */
  convolve_confusion_layout_compute (&layout, cr, 60, 60, 10, names);
  g_assert_cmpfloat (layout.count_font_size, ==, 0);
  g_assert_cmpfloat (layout.cell, >=, 1);

  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_confusion_colours (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation ();
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 640, 560);
  cairo_t *cr = cairo_create (surface);
  ConvolveConfusionLayout layout;
  ConvolveConfusionStyle style;
  double x, y, w, h;

  convolve_confusion_style_init (&style);
  convolve_confusion_layout_compute (&layout, cr, 640, 560, 10, names);
  convolve_confusion_draw (cr, &layout, evaluation, names, &style);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_flush (surface);

  g_assert_cmpfloat (convolve_confusion_row_fraction (evaluation, 1, 2), ==, 1.0);
  g_assert_cmpfloat_with_epsilon (convolve_confusion_row_fraction (evaluation, 3, 3), 7.0 / 13.0, 1e-12);

  /* A cell that holds its whole row is the colour map's top, one with
   * nothing its bottom (a corner: the count sits in the middle). */
  convolve_confusion_layout_cell_rect (&layout, 1, 2, &x, &y, &w, &h);
  g_assert_cmphex (pixel_at (surface, (int) x + 2, (int) y + 2), ==, colormap_pixel (1.0));
  convolve_confusion_layout_cell_rect (&layout, 0, 0, &x, &y, &w, &h);
  g_assert_cmphex (pixel_at (surface, (int) x + 2, (int) y + 2), ==, colormap_pixel (1.0));
  convolve_confusion_layout_cell_rect (&layout, 1, 1, &x, &y, &w, &h);
  g_assert_cmphex (pixel_at (surface, (int) x + 2, (int) y + 2), ==, colormap_pixel (0.0));
  /* Dark text on the bright cell: black pixels near its middle. */
  convolve_confusion_layout_cell_rect (&layout, 1, 2, &x, &y, &w, &h);
  {
    gboolean dark = FALSE;

    for (int dy = -4; dy <= 4; dy++)
      for (int dx = -8; dx <= 8; dx++)
        if (pixel_at (surface, (int) (x + w / 2) + dx, (int) (y + h / 2) + dy) < 0x404040)
          dark = TRUE;
    g_assert_true (dark);
  }
  /* The background outside the cells. */
  g_assert_cmphex (pixel_at (surface, 1, 1), ==, 0xffffff);

  /* A focused cell has a ring in the foreground colour. */
  style.foreground = (ConvolveReportColor) { 1.0, 0.0, 0.0, 1.0 };
  style.focus_true = 4;
  style.focus_predicted = 7;
  convolve_confusion_draw (cr, &layout, evaluation, names, &style);
  cairo_surface_flush (surface);
  convolve_confusion_layout_cell_rect (&layout, 4, 7, &x, &y, &w, &h);
  g_assert_cmphex (pixel_at (surface, (int) x + 1, (int) (y + h / 2)), ==, 0xff0000);
  convolve_confusion_layout_cell_rect (&layout, 4, 6, &x, &y, &w, &h);
  g_assert_cmphex (pixel_at (surface, (int) x + 1, (int) (y + h / 2)), ==, colormap_pixel (0.0));

  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

typedef struct {
  GBytes *bytes;
  gsize   offset;
} PngReader;

static cairo_status_t
read_png (void          *closure,
          unsigned char *data,
          unsigned int   length)
{
  PngReader *reader = closure;
  gsize size;
  const guint8 *bytes = g_bytes_get_data (reader->bytes, &size);

  if (reader->offset + length > size)
    return CAIRO_STATUS_READ_ERROR;
  memcpy (data, bytes + reader->offset, length);
  reader->offset += length;
  return CAIRO_STATUS_SUCCESS;
}

static void
test_confusion_files (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GBytes) svg = NULL;
  PngReader reader = { 0 };
  cairo_surface_t *decoded;
  gsize size;
  const char *text;

  png = convolve_confusion_render (CONVOLVE_REPORT_FORMAT_PNG, 720, 640, evaluation, names, NULL, &error);
  g_assert_no_error (error);
  reader.bytes = png;
  decoded = cairo_image_surface_create_from_png_stream (read_png, &reader);
  g_assert_cmpint (cairo_surface_status (decoded), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (decoded), ==, 720);
  g_assert_cmpint (cairo_image_surface_get_height (decoded), ==, 640);
  cairo_surface_destroy (decoded);

  svg = convolve_confusion_render (CONVOLVE_REPORT_FORMAT_SVG, 720, 640, evaluation, names, NULL, &error);
  g_assert_no_error (error);
  text = g_bytes_get_data (svg, &size);
  g_assert_nonnull (g_strstr_len (text, size, "<svg"));
  g_assert_nonnull (g_strstr_len (text, size, "720"));

  g_assert_null (convolve_confusion_render (CONVOLVE_REPORT_FORMAT_PNG, 0, 640, evaluation, names, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_top_losses_grid (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation ();
  g_autoptr(ConvolveDataset) dataset = convolve_dataset_new ("test", evaluation->n_images, 3, 32, 32, names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  cairo_surface_t *grid;
  guint top[CONVOLVE_TOP_LOSSES_COUNT];
  int width, height;

  /* Image i: red = i, green = 255 - i, blue 0 left and 200 right. */
  for (guint i = 0; i < evaluation->n_images; i++)
    {
      guint8 *image = pixels + (gsize) i * 3 * 32 * 32;

      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
          {
            image[(0 * 32 + y) * 32 + x] = (guint8) i;
            image[(1 * 32 + y) * 32 + x] = (guint8) (255 - i);
            image[(2 * 32 + y) * 32 + x] = x < 16 ? 0 : 200;
          }
      labels[i] = (guint8) evaluation->labels[i];
    }

  g_assert_cmpuint (convolve_metrics_top_losses (evaluation, CONVOLVE_TOP_LOSSES_COUNT, top), ==, 25);
  grid = convolve_top_losses_render (evaluation, dataset, names);
  g_assert_nonnull (grid);
  convolve_image_grid_get_size (dataset, 25, 5, CONVOLVE_TOP_LOSSES_SCALE, &width, &height);
  g_assert_cmpint (cairo_image_surface_get_width (grid), ==, width);
  g_assert_cmpint (cairo_image_surface_get_height (grid), ==, height);
  g_assert_cmpint (width, >=, 5 * 32 * CONVOLVE_TOP_LOSSES_SCALE);
  cairo_surface_flush (grid);

  /* The first tile is the highest loss, pixel-exact: find its top left
   * corner (the first non-white pixel of the first row of tiles), then
   * both halves are flat. */
  {
    int x0 = -1, y0 = -1;
    guint32 left, right;
    guint i = top[0];

    for (int y = 0; y < 40 && y0 < 0; y++)
      for (int x = 0; x < 200; x++)
        if (pixel_at (grid, x, y) != 0xffffff)
          {
            x0 = x;
            y0 = y;
            break;
          }
    g_assert_cmpint (x0, >=, 0);
    left = i << 16 | (255 - i) << 8 | 0;
    right = i << 16 | (255 - i) << 8 | 200;
    g_assert_cmphex (pixel_at (grid, x0, y0), ==, left);
    g_assert_cmphex (pixel_at (grid, x0 + 16 * CONVOLVE_TOP_LOSSES_SCALE - 1, y0 + 31 * CONVOLVE_TOP_LOSSES_SCALE), ==, left);
    g_assert_cmphex (pixel_at (grid, x0 + 16 * CONVOLVE_TOP_LOSSES_SCALE, y0), ==, right);
    g_assert_cmphex (pixel_at (grid, x0 + 32 * CONVOLVE_TOP_LOSSES_SCALE - 1, y0), ==, right);
    g_assert_cmphex (pixel_at (grid, x0 + 32 * CONVOLVE_TOP_LOSSES_SCALE, y0), ==, 0xffffff);
  }
  cairo_surface_destroy (grid);

  evaluation->n_images = 0;
  g_assert_null (convolve_top_losses_render (evaluation, dataset, names));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/report/confusion/layout", test_confusion_layout);
  g_test_add_func ("/report/confusion/colours", test_confusion_colours);
  g_test_add_func ("/report/confusion/files", test_confusion_files);
  g_test_add_func ("/report/top-losses/grid", test_top_losses_grid);
  return g_test_run ();
}
