/* test-sample-grid.c: ConvolveSampleGrid shows the right samples, labels
 * and pixels, pages, filters, and hands out drag content.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "widget-test-util.h"
#include "convolve-dataset.h"
#include "convolve-evaluation.h"
#include "convolve-image-view.h"
#include "convolve-sample-grid.h"

#define N_TRAIN 60
#define N_TEST  7

static const char * const class_names[] = {
  "class-0", "class-1", "class-2", "class-3", "class-4",
  "class-5", "class-6", "class-7", "class-8", "class-9", NULL
};

/* Image i: red = 4i, green = 255 - i everywhere; blue 10 in the top half
 * and 200 in the bottom half (so a flipped or transposed image shows). */
static guint8
expected_channel (guint i,
                  int   channel,
                  int   y)
{
  switch (channel)
    {
    case 0:
      return (i * 4) % 256;
    case 1:
      return 255 - i;
    default:
      return y < 16 ? 10 : 200;
    }
}

static ConvolveDataset *
make_dataset (const char *name,
              guint       n,
              guint       label_offset)
{
  ConvolveDataset *dataset = convolve_dataset_new (name, n, 3, 32, 32, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);

  for (guint i = 0; i < n; i++)
    {
      guint8 *image = pixels + (gsize) i * 3 * 32 * 32;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 32; y++)
          memset (image + (c * 32 + y) * 32, expected_channel (i, c, y), 32);
      labels[i] = (i + label_offset) % 10;
    }
  return dataset;
}

typedef struct {
  guchar *data;
  gsize   stride;
  int     width;
  int     height;
} Pixels;

static void
pixels_download (Pixels     *pixels,
                 GdkTexture *texture)
{
  pixels->width = gdk_texture_get_width (texture);
  pixels->height = gdk_texture_get_height (texture);
  pixels->stride = (gsize) pixels->width * 4;
  pixels->data = g_malloc (pixels->stride * pixels->height);
  gdk_texture_download (texture, pixels->data, pixels->stride);
}

/* gdk_texture_download gives cairo's ARGB32: native-endian 0xAARRGGBB. */
static void
pixels_get (Pixels *pixels,
            double  x,
            double  y,
            guint8  rgb[3])
{
  int px = (int) floor (x), py = (int) floor (y);
  guint32 value;

  g_assert_cmpint (px, >=, 0);
  g_assert_cmpint (py, >=, 0);
  g_assert_cmpint (px, <, pixels->width);
  g_assert_cmpint (py, <, pixels->height);
  value = *(guint32 *) (void *) (pixels->data + py * pixels->stride + px * 4);
  g_assert_cmphex (value >> 24, ==, 0xff);
  rgb[0] = (value >> 16) & 0xff;
  rgb[1] = (value >> 8) & 0xff;
  rgb[2] = value & 0xff;
}

/* Where the centre of source pixel (sx, sy) of a 32x32 image lands. */
static void
image_pixel_position (GtkWidget *grid,
                      GtkWidget *view,
                      int        sx,
                      int        sy,
                      double    *x,
                      double    *y)
{
  graphene_rect_t bounds, image;

  g_assert_true (gtk_widget_compute_bounds (view, grid, &bounds));
  g_assert_true (convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (view), &image));
  /* the image fits in the view, keeps its aspect and is at least native size */
  g_assert_cmpfloat (image.origin.x, >=, 0.0);
  g_assert_cmpfloat (image.origin.y, >=, 0.0);
  g_assert_cmpfloat (image.origin.x + image.size.width, <=, bounds.size.width);
  g_assert_cmpfloat (image.origin.y + image.size.height, <=, bounds.size.height);
  g_assert_cmpfloat (image.size.width, ==, image.size.height);
  g_assert_cmpfloat (image.size.width, >=, 32.0);
  *x = bounds.origin.x + image.origin.x + (sx + 0.5) * image.size.width / 32.0;
  *y = bounds.origin.y + image.origin.y + (sy + 0.5) * image.size.height / 32.0;
}

typedef struct {
  GtkWidget          *window;
  ConvolveSampleGrid *grid;
  ConvolveDataset    *train;
  ConvolveDataset    *test;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->train = make_dataset ("train", N_TRAIN, 0);
  fixture->test = make_dataset ("test", N_TEST, 5);
  fixture->grid = CONVOLVE_SAMPLE_GRID (convolve_sample_grid_new ());
  g_object_add_weak_pointer (G_OBJECT (fixture->grid), (gpointer *) &fixture->grid);
  fixture->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 720, 860);
  gtk_window_set_child (GTK_WINDOW (fixture->window), GTK_WIDGET (fixture->grid));
  convolve_sample_grid_set_datasets (fixture->grid, fixture->train, fixture->test);
  gtk_window_present (GTK_WINDOW (fixture->window));
  widget_test_wait_for_layout (GTK_WIDGET (fixture->grid));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  for (int i = 0; i < 20 && fixture->grid != NULL; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (fixture->grid);  /* the grid was finalized with its window */
  convolve_dataset_unref (fixture->train);
  convolve_dataset_unref (fixture->test);
}

static void
test_grid_cells (Fixture       *fixture,
                 gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  g_autoptr(GdkTexture) texture = NULL;
  Pixels pixels;

  g_assert_true (convolve_sample_grid_get_dataset (grid) == fixture->train);
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 3);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "1–25 of 60");

  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    {
      g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, position), ==, position);
      g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, position), ==, class_names[position % 10]);
    }

  /* Render the widget as GTK does and look at each cell's pixels. */
  texture = widget_test_render_texture (GTK_WIDGET (grid));
  pixels_download (&pixels, texture);
  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    {
      GtkWidget *view = convolve_sample_grid_get_cell_image (grid, position);
      double x, y;
      guint8 top[3], bottom[3];
      graphene_rect_t bounds;

      /* each image gets at least 3 screen pixels per image pixel here */
      g_assert_true (gtk_widget_compute_bounds (view, GTK_WIDGET (grid), &bounds));
      g_assert_cmpfloat (MIN (bounds.size.width, bounds.size.height), >=, 96.0);

      image_pixel_position (GTK_WIDGET (grid), view, 16, 8, &x, &y);
      pixels_get (&pixels, x, y, top);
      image_pixel_position (GTK_WIDGET (grid), view, 5, 27, &x, &y);
      pixels_get (&pixels, x, y, bottom);

      g_assert_cmpuint (top[0], ==, expected_channel (position, 0, 8));
      g_assert_cmpuint (top[1], ==, expected_channel (position, 1, 8));
      g_assert_cmpuint (top[2], ==, expected_channel (position, 2, 8));
      g_assert_cmpuint (bottom[0], ==, expected_channel (position, 0, 27));
      g_assert_cmpuint (bottom[1], ==, expected_channel (position, 1, 27));
      g_assert_cmpuint (bottom[2], ==, expected_channel (position, 2, 27));
    }
  g_free (pixels.data);
}

static void
test_grid_paging (Fixture       *fixture,
                  gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.next-page", NULL));
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 1);
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 0), ==, 25);
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, 0), ==, "class-5");
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "26–50 of 60");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.last-page", NULL));
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 2);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "51–60 of 60");
  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, position), ==,
                     position < 10 ? 50 + (gint64) position : -1);

  /* past the end clamps */
  convolve_sample_grid_set_page (grid, 99);
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 2);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.previous-page", NULL));
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.first-page", NULL));
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 0);
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 24), ==, 24);
}

static void
test_grid_filter_and_sets (Fixture       *fixture,
                           gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;

  convolve_sample_grid_set_class_filter (grid, 3);
  g_assert_cmpint (convolve_sample_grid_get_class_filter (grid), ==, 3);
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 1);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "1–6 of 6");
  for (guint position = 0; position < 6; position++)
    {
      g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, position), ==, 3 + 10 * position);
      g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, position), ==, "class-3");
    }
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 6), ==, -1);

  /* the filter stays on the test set, whose labels are (i + 5) % 10: class 3
   * would be image 8, and there are only 7 */
  convolve_sample_grid_set_show_test (grid, TRUE);
  g_assert_true (convolve_sample_grid_get_show_test (grid));
  g_assert_true (convolve_sample_grid_get_dataset (grid) == fixture->test);
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 0);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "No images");

  convolve_sample_grid_set_class_filter (grid, -1);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "1–7 of 7");
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 6), ==, 6);
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, 0), ==, "class-5");
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 7), ==, -1);

  /* without a test set the switch falls back to training */
  convolve_sample_grid_set_datasets (grid, fixture->train, NULL);
  g_assert_false (convolve_sample_grid_get_show_test (grid));
  convolve_sample_grid_set_show_test (grid, TRUE);
  g_assert_false (convolve_sample_grid_get_show_test (grid));
  g_assert_true (convolve_sample_grid_get_dataset (grid) == fixture->train);

  /* no dataset: nothing shown */
  convolve_sample_grid_set_datasets (grid, NULL, NULL);
  g_assert_null (convolve_sample_grid_get_dataset (grid));
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 0);
  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, position), ==, -1);
}

static void
on_sample_activated (ConvolveSampleGrid *grid,
                     gpointer            dataset,
                     guint               index,
                     gpointer            user_data)
{
  gint64 *activated = user_data;

  g_assert_nonnull (dataset);
  g_assert_true (dataset == convolve_sample_grid_get_dataset (grid));
  *activated = index;
}

static GtkDragSource *
find_drag_source (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_DRAG_SOURCE (controller))
        return GTK_DRAG_SOURCE (controller);
    }
  return NULL;
}

static void
test_grid_activate_and_drag (Fixture       *fixture,
                             gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  GtkWidget *button;
  GtkDragSource *source;
  GdkContentProvider *provider = NULL;
  g_auto(GValue) ref_value = G_VALUE_INIT;
  g_auto(GValue) texture_value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  ConvolveSampleRef *ref;
  GdkTexture *texture;
  gint64 activated = -1;
  guint8 rgb[4 * 32 * 32];
  guint32 pixel;

  convolve_sample_grid_set_page (grid, 1);
  button = gtk_widget_get_ancestor (convolve_sample_grid_get_cell_image (grid, 7), GTK_TYPE_BUTTON);
  g_assert_nonnull (button);

  g_signal_connect (grid, "sample-activated", G_CALLBACK (on_sample_activated), &activated);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpint (activated, ==, 32);

  /* what a drag of that cell carries */
  source = find_drag_source (button);
  g_assert_nonnull (source);
  g_signal_emit_by_name (source, "prepare", 10.0, 10.0, &provider);
  g_assert_nonnull (provider);

  g_value_init (&ref_value, CONVOLVE_TYPE_SAMPLE_REF);
  g_assert_true (gdk_content_provider_get_value (provider, &ref_value, &error));
  g_assert_no_error (error);
  ref = g_value_get_boxed (&ref_value);
  g_assert_true (ref->dataset == fixture->train);
  g_assert_cmpuint (ref->index, ==, 32);

  g_value_init (&texture_value, GDK_TYPE_TEXTURE);
  g_assert_true (gdk_content_provider_get_value (provider, &texture_value, &error));
  g_assert_no_error (error);
  texture = g_value_get_object (&texture_value);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 32);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 32);
  gdk_texture_download (texture, rgb, 4 * 32);
  pixel = *(guint32 *) (void *) (rgb + 4 * (30 * 32 + 3));  /* x 3, y 30: bottom half */
  g_assert_cmphex (pixel, ==, 0xff000000u | ((guint32) expected_channel (32, 0, 30) << 16) |
                              ((guint32) expected_channel (32, 1, 30) << 8) | expected_channel (32, 2, 30));
  g_object_unref (provider);
}

static void
test_grid_predictions (Fixture       *fixture,
                       gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  gint32 predictions[N_TRAIN];
  GtkWidget *button0, *button1;

  /* even images right, odd ones guessed as class 9 */
  for (guint i = 0; i < N_TRAIN; i++)
    predictions[i] = i % 2 == 0 ? (gint32) (i % 10) : 9;
  convolve_sample_grid_set_predictions (grid, fixture->train, predictions, N_TRAIN);

  button0 = gtk_widget_get_ancestor (convolve_sample_grid_get_cell_image (grid, 0), GTK_TYPE_BUTTON);
  button1 = gtk_widget_get_ancestor (convolve_sample_grid_get_cell_image (grid, 1), GTK_TYPE_BUTTON);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (button0), ==, "Predicted: class-0");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (button1), ==, "Predicted: class-9");

  /* predictions belong to their dataset: the test set shows none */
  convolve_sample_grid_set_show_test (grid, TRUE);
  g_assert_null (gtk_widget_get_tooltip_text (button0));

  convolve_sample_grid_set_show_test (grid, FALSE);
  g_assert_nonnull (gtk_widget_get_tooltip_text (button0));
  convolve_sample_grid_set_predictions (grid, fixture->train, NULL, 0);
  g_assert_null (gtk_widget_get_tooltip_text (button0));
}

/* --- evaluation subsets ------------------------------------------------- */

/* An evaluation of make_dataset's images (label i % 10) made by hand: even
 * images right, odd ones guessed one class too high; distinct losses and
 * confidences in no particular order, but images 13 and 33 share a loss. */
static ConvolveEvaluation *
make_evaluation (ConvolveDataset *dataset)
{
  guint n = convolve_dataset_get_n_images (dataset);
  ConvolveEvaluation *evaluation = convolve_evaluation_new ();

  evaluation->n_classes = 10;
  evaluation->class_names = g_strdupv ((char **) class_names);
  evaluation->n_images = n;
  evaluation->class_counts = g_new0 (guint, 10);
  evaluation->class_correct = g_new0 (guint, 10);
  evaluation->class_accuracy = g_new0 (double, 10);
  evaluation->confusion = g_new0 (guint, 100);
  evaluation->predictions = g_new (gint32, n);
  evaluation->confidences = g_new (float, n);
  evaluation->losses = g_new (float, n);
  for (guint i = 0; i < n; i++)
    {
      int label = convolve_dataset_get_label (dataset, i);
      int predicted = i % 2 == 0 ? label : (label + 1) % 10;

      evaluation->predictions[i] = predicted;
      evaluation->confidences[i] = 0.2f + (float) ((i * 17) % 61) / 100.0f;
      evaluation->losses[i] = (float) ((i * 37) % 61) / 10.0f;
      evaluation->class_counts[label]++;
      evaluation->class_correct[label] += predicted == label;
      evaluation->confusion[label * 10 + predicted]++;
    }
  evaluation->losses[33] = evaluation->losses[13];
  evaluation->confidences[12] = 0.25f;
  return evaluation;
}

/* The expected subset, by selection of the best remaining image (not by
 * the grid's sort): highest loss first, or least confident first. */
static GArray *
expected_subset (ConvolveDataset          *dataset,
                 const ConvolveEvaluation *evaluation,
                 int                       true_class,
                 int                       predicted_class,
                 gboolean                  by_confidence)
{
  GArray *left = g_array_new (FALSE, FALSE, sizeof (guint32));
  GArray *order = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (guint32 i = 0; i < evaluation->n_images; i++)
    if ((true_class < 0 || convolve_dataset_get_label (dataset, i) == true_class) &&
        (predicted_class < 0 || evaluation->predictions[i] == predicted_class))
      g_array_append_val (left, i);

  while (left->len > 0)
    {
      guint best = 0;

      for (guint k = 1; k < left->len; k++)
        {
          guint32 i = g_array_index (left, guint32, k);
          guint32 b = g_array_index (left, guint32, best);
          gboolean better = by_confidence
                            ? evaluation->confidences[i] < evaluation->confidences[b]
                            : evaluation->losses[i] > evaluation->losses[b];
          if (better)  /* on a tie the earlier (lower) index stays best */
            best = k;
        }
      g_array_append_val (order, g_array_index (left, guint32, best));
      g_array_remove_index (left, best);
    }
  g_array_unref (left);
  return order;
}

static GtkWidget *
cell_button (ConvolveSampleGrid *grid,
             guint               position)
{
  return gtk_widget_get_ancestor (convolve_sample_grid_get_cell_image (grid, position), GTK_TYPE_BUTTON);
}

/* The grid shows expected (from page page on) and then nothing. */
static void
assert_page_shows (ConvolveSampleGrid       *grid,
                   const GArray             *expected,
                   guint                     page,
                   const ConvolveEvaluation *evaluation,
                   ConvolveDataset          *dataset)
{
  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    {
      guint nth = page * CONVOLVE_SAMPLE_GRID_CELLS + position;
      g_autofree char *label = NULL;
      guint32 index;
      int true_class, predicted;

      if (nth >= expected->len)
        {
          g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, position), ==, -1);
          continue;
        }
      index = g_array_index (expected, guint32, nth);
      true_class = convolve_dataset_get_label (dataset, index);
      predicted = evaluation->predictions[index];
      label = g_strdup_printf ("%s\n→ %s\n%.0f %%", class_names[true_class], class_names[predicted],
                               evaluation->confidences[index] * 100.0);
      g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, position), ==, index);
      g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, position), ==, label);
      g_assert_true (gtk_widget_has_css_class (cell_button (grid, position), "wrong") == (predicted != true_class));
    }
}

/* There are no synthetic key events in GTK 4: find the widget's shortcut
 * for the key and run it. */
static gboolean
activate_key_shortcut (GtkWidget *widget,
                       guint      keyval)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
  g_autoptr(GtkShortcutTrigger) trigger = gtk_keyval_trigger_new (keyval, 0);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint k = 0; k < g_list_model_get_n_items (G_LIST_MODEL (controller)); k++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), k);

          if (gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), trigger))
            return gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, widget,
                                                 gtk_shortcut_get_arguments (shortcut));
        }
    }
  return FALSE;
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_grid_subset_cell (Fixture       *fixture,
                       gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  ConvolveEvaluation *evaluation = make_evaluation (fixture->train);
  g_autoptr(GArray) expected = expected_subset (fixture->train, evaluation, 3, 4, FALSE);
  g_autoptr(ConvolveEvaluation) kept = convolve_evaluation_copy (evaluation);
  guint notified = 0;

  /* labels 3 are the odd images 3, 13, ..., 53: all guessed as 4 */
  static const guint32 by_hand[] = { 23, 13, 33, 3, 53, 43 };  /* losses 5.8, 5.4, 5.4, 5.0, 0.9, 0.5 */

  g_assert_cmpmem (expected->data, expected->len * sizeof (guint32), by_hand, sizeof by_hand);
  g_signal_connect (grid, "notify::showing-subset", G_CALLBACK (count_notify), &notified);

  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, 3, 4, "class-3 as class-4");
  g_assert_cmpuint (notified, ==, 1);
  /* the grid keeps a copy: scribble over the evaluation and free it */
  memset (evaluation->predictions, 0xff, evaluation->n_images * sizeof (gint32));
  memset (evaluation->losses, 0, evaluation->n_images * sizeof (float));
  convolve_evaluation_free (evaluation);

  g_assert_true (convolve_sample_grid_get_showing_subset (grid));
  g_assert_cmpstr (convolve_sample_grid_get_subset_title (grid), ==, "class-3 as class-4");
  g_assert_true (convolve_sample_grid_get_dataset (grid) == fixture->train);
  g_assert_cmpuint (convolve_sample_grid_get_n_shown (grid), ==, 6);
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 1);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "1–6 of 6");
  /* 13 and 33 share a loss: dataset order */
  for (guint k = 0; k + 1 < expected->len; k++)
    if (g_array_index (expected, guint32, k) == 13)
      g_assert_cmpuint (g_array_index (expected, guint32, k + 1), ==, 33);
  assert_page_shows (grid, expected, 0, kept, fixture->train);
  g_assert_true (gtk_widget_has_css_class (cell_button (grid, 0), "wrong"));

  /* a row and a column of the matrix: -1 is any class */
  {
    g_autoptr(GArray) row = expected_subset (fixture->train, kept, 5, -1, FALSE);
    g_autoptr(GArray) column = expected_subset (fixture->train, kept, -1, 4, FALSE);

    g_assert_cmpuint (row->len, ==, 6);
    g_assert_cmpuint (column->len, ==, 12);  /* right 4s and wrong 3s */
    convolve_sample_grid_show_evaluation_subset (grid, fixture->train, kept, 5, -1, "row");
    assert_page_shows (grid, row, 0, kept, fixture->train);
    convolve_sample_grid_show_evaluation_subset (grid, fixture->train, kept, -1, 4, "column");
    assert_page_shows (grid, column, 0, kept, fixture->train);
    g_assert_cmpstr (convolve_sample_grid_get_subset_title (grid), ==, "column");
  }

  /* an empty cell */
  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, kept, 3, 7, "none");
  g_assert_cmpuint (convolve_sample_grid_get_n_shown (grid), ==, 0);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "No images");
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 0), ==, -1);
}

static void
test_grid_subset_diagonal (Fixture       *fixture,
                           gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (fixture->train);
  g_autoptr(GArray) expected = expected_subset (fixture->train, evaluation, 2, 2, TRUE);

  /* labels 2: the even images 2, 12, ..., 52, all right */
  static const guint32 by_hand[] = { 12, 22, 52, 2, 42, 32 };  /* 25, 28, 50, 54, 63, 76 % */

  g_assert_cmpmem (expected->data, expected->len * sizeof (guint32), by_hand, sizeof by_hand);

  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, 2, 2, "class-2");
  assert_page_shows (grid, expected, 0, evaluation, fixture->train);
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, 0), ==, "class-2\n→ class-2\n25 %");
  for (guint position = 0; position < 6; position++)
    g_assert_false (gtk_widget_has_css_class (cell_button (grid, position), "wrong"));
}

static void
test_grid_subset_paging_and_back (Fixture       *fixture,
                                  gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (fixture->train);
  g_autoptr(GArray) expected = expected_subset (fixture->train, evaluation, -1, -1, FALSE);
  gint32 predictions[N_TEST] = { 0 };

  /* nothing to go back from: Escape is left to others */
  g_assert_false (activate_key_shortcut (GTK_WIDGET (grid), GDK_KEY_Escape));

  convolve_sample_grid_set_page (grid, 1);
  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, -1, -1, "Top Losses");
  g_assert_cmpuint (expected->len, ==, N_TRAIN);
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 0);
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 3);
  assert_page_shows (grid, expected, 0, evaluation, fixture->train);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.next-page", NULL));
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 1);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "26–50 of 60");
  assert_page_shows (grid, expected, 1, evaluation, fixture->train);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.last-page", NULL));
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "51–60 of 60");
  assert_page_shows (grid, expected, 2, evaluation, fixture->train);

  /* back to the whole dataset, on the page it was left at */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.show-all", NULL));
  g_assert_false (convolve_sample_grid_get_showing_subset (grid));
  g_assert_null (convolve_sample_grid_get_subset_title (grid));
  g_assert_cmpuint (convolve_sample_grid_get_page (grid), ==, 1);
  g_assert_cmpstr (convolve_sample_grid_get_range_text (grid), ==, "26–50 of 60");
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 0), ==, 25);
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, 0), ==, "class-5");
  g_assert_false (gtk_widget_has_css_class (cell_button (grid, 1), "wrong"));
  g_assert_false (activate_key_shortcut (GTK_WIDGET (grid), GDK_KEY_Escape));

  /* Escape goes back too */
  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, -1, -1, "Top Losses");
  g_assert_true (activate_key_shortcut (GTK_WIDGET (grid), GDK_KEY_Escape));
  g_assert_false (convolve_sample_grid_get_showing_subset (grid));

  /* the datasets change: the subset ends */
  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, -1, -1, "Top Losses");
  convolve_sample_grid_set_datasets (grid, fixture->train, fixture->test);
  g_assert_false (convolve_sample_grid_get_showing_subset (grid));
  g_assert_cmpuint (convolve_sample_grid_get_n_shown (grid), ==, N_TRAIN);
  g_assert_cmpint (convolve_sample_grid_get_cell_index (grid, 0), ==, 0);
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, 0), ==, "class-0");

  /* so does a switch to the test set */
  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, -1, -1, "Top Losses");
  convolve_sample_grid_set_show_test (grid, TRUE);
  g_assert_false (convolve_sample_grid_get_showing_subset (grid));
  g_assert_true (convolve_sample_grid_get_dataset (grid) == fixture->test);
  g_assert_cmpuint (convolve_sample_grid_get_n_shown (grid), ==, N_TEST);

  /* the dataset's own prediction overlay is back as it was */
  convolve_sample_grid_set_predictions (grid, fixture->test, predictions, N_TEST);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (cell_button (grid, 0)), ==, "Predicted: class-0");
  g_assert_cmpstr (convolve_sample_grid_get_cell_label (grid, 0), ==, "class-5");
}

static void
test_grid_subset_drag (Fixture       *fixture,
                       gconstpointer  data)
{
  ConvolveSampleGrid *grid = fixture->grid;
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (fixture->train);
  g_autoptr(GArray) expected = expected_subset (fixture->train, evaluation, -1, -1, FALSE);
  guint32 index = g_array_index (expected, guint32, 25 + 7);
  GtkDragSource *source;
  GdkContentProvider *provider = NULL;
  g_auto(GValue) ref_value = G_VALUE_INIT;
  g_auto(GValue) texture_value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  ConvolveSampleRef *ref;
  gint64 activated = -1;
  guint8 rgb[4 * 32 * 32];
  guint32 pixel;

  convolve_sample_grid_show_evaluation_subset (grid, fixture->train, evaluation, -1, -1, "Top Losses");
  convolve_sample_grid_set_page (grid, 1);

  g_signal_connect (grid, "sample-activated", G_CALLBACK (on_sample_activated), &activated);
  g_signal_emit_by_name (cell_button (grid, 7), "clicked");
  g_assert_cmpint (activated, ==, index);

  source = find_drag_source (cell_button (grid, 7));
  g_assert_nonnull (source);
  g_signal_emit_by_name (source, "prepare", 10.0, 10.0, &provider);
  g_assert_nonnull (provider);

  g_value_init (&ref_value, CONVOLVE_TYPE_SAMPLE_REF);
  g_assert_true (gdk_content_provider_get_value (provider, &ref_value, &error));
  g_assert_no_error (error);
  ref = g_value_get_boxed (&ref_value);
  g_assert_true (ref->dataset == fixture->train);
  g_assert_cmpuint (ref->index, ==, index);

  g_value_init (&texture_value, GDK_TYPE_TEXTURE);
  g_assert_true (gdk_content_provider_get_value (provider, &texture_value, &error));
  g_assert_no_error (error);
  gdk_texture_download (g_value_get_object (&texture_value), rgb, 4 * 32);
  pixel = *(guint32 *) (void *) (rgb + 4 * (30 * 32 + 3));
  g_assert_cmphex (pixel, ==, 0xff000000u | ((guint32) expected_channel (index, 0, 30) << 16) |
                              ((guint32) expected_channel (index, 1, 30) << 8) | expected_channel (index, 2, 30));
  g_object_unref (provider);
}

static void
test_grid_finalize (void)
{
  ConvolveSampleGrid *grid = CONVOLVE_SAMPLE_GRID (convolve_sample_grid_new ());
  g_autoptr(ConvolveDataset) train = make_dataset ("train", 30, 0);

  g_object_ref_sink (grid);
  convolve_sample_grid_set_datasets (grid, train, NULL);
  g_assert_cmpuint (convolve_sample_grid_get_n_pages (grid), ==, 2);
  g_assert_finalize_object (grid);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add ("/app/sample-grid/cells", Fixture, NULL, fixture_setup, test_grid_cells, fixture_teardown);
  g_test_add ("/app/sample-grid/paging", Fixture, NULL, fixture_setup, test_grid_paging, fixture_teardown);
  g_test_add ("/app/sample-grid/filter-and-sets", Fixture, NULL, fixture_setup, test_grid_filter_and_sets, fixture_teardown);
  g_test_add ("/app/sample-grid/activate-and-drag", Fixture, NULL, fixture_setup, test_grid_activate_and_drag, fixture_teardown);
  g_test_add ("/app/sample-grid/predictions", Fixture, NULL, fixture_setup, test_grid_predictions, fixture_teardown);
  g_test_add ("/app/sample-grid/subset/cell", Fixture, NULL, fixture_setup, test_grid_subset_cell, fixture_teardown);
  g_test_add ("/app/sample-grid/subset/diagonal", Fixture, NULL, fixture_setup, test_grid_subset_diagonal, fixture_teardown);
  g_test_add ("/app/sample-grid/subset/paging-and-back", Fixture, NULL, fixture_setup, test_grid_subset_paging_and_back, fixture_teardown);
  g_test_add ("/app/sample-grid/subset/drag", Fixture, NULL, fixture_setup, test_grid_subset_drag, fixture_teardown);
  g_test_add_func ("/app/sample-grid/finalize", test_grid_finalize);

  return g_test_run ();
}
