/* test-predictor.c: ConvolvePredictor takes dropped, pasted and dragged
 * images, predicts with a real model and reports bad input.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "widget-test-util.h"
#include "convolve-activations-view.h"
#include "convolve-activations-window.h"
#include "convolve-colormap.h"
#include "convolve-engine.h"
#include "convolve-explain.h"
#include "convolve-loaders.h"
#include "convolve-image-view.h"
#include "convolve-predictor.h"
#include "convolve-predictor-private.h"
#include "convolve-sample-grid.h"
#include "convolve-session.h"
#include "test-cifar-folder.h"

#define N_CLASSES 10

static const char * const class_names[] = {
  "airplane", "automobile", "bird", "cat", "deer",
  "dog", "frog", "horse", "ship", "truck", NULL
};

static const ConvolveShape input_shape = { 3, 32, 32 };

typedef struct {
  ConvolvePredictor *predictor;
  ConvolveModel     *reference;   /* same weights as the predictor's model */
  char              *dir;
  char              *red_png;
  char              *blue_png;
  char              *text_file;
  guint              n_predicted;
  guint              n_explained;
  guint              n_errors;
  char              *last_error;
} Fixture;

static ConvolveModel *
new_model (uint64_t seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  ConvolveModel *model;

  spec = convolve_model_spec_parse ("conv2d(4,3,same,relu),maxpool(2),flatten,dense(10,softmax)", &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input_shape, 1, seed, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_model_get_n_classes (model), ==, N_CLASSES);
  return model;
}

/* A 40 x 30 image: a colour gradient so that predictions depend on it. */
static char *
write_png (const char *dir,
           const char *name,
           guint8      base_r,
           guint8      base_b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GBytes) bytes = NULL;
  char *path = g_build_filename (dir, name, NULL);
  guint8 *data = g_malloc (40 * 30 * 3);

  for (int y = 0; y < 30; y++)
    for (int x = 0; x < 40; x++)
      {
        data[(y * 40 + x) * 3 + 0] = base_r;
        data[(y * 40 + x) * 3 + 1] = x * 6;
        data[(y * 40 + x) * 3 + 2] = base_b ^ (y * 8);
      }
  bytes = g_bytes_new_take (data, 40 * 30 * 3);
  texture = gdk_memory_texture_new (40, 30, GDK_MEMORY_R8G8B8, bytes, 40 * 3);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  return path;
}

static void
on_predicted (ConvolvePredictor *predictor,
              Fixture           *fixture)
{
  fixture->n_predicted++;
}

static void
on_explained (ConvolvePredictor *predictor,
              Fixture           *fixture)
{
  fixture->n_explained++;
}

static void
on_error (ConvolvePredictor *predictor,
          const char        *message,
          Fixture           *fixture)
{
  g_assert_nonnull (message);
  g_assert_cmpstr (message, !=, "");
  fixture->n_errors++;
  g_free (fixture->last_error);
  fixture->last_error = g_strdup (message);
}

static gboolean
wake_up (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until a prediction or an error arrives (20 s at most). */
static void
wait_for_result (Fixture *fixture)
{
  guint predicted = fixture->n_predicted, errors = fixture->n_errors;
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint wake = g_timeout_add (50, wake_up, NULL);

  while (fixture->n_predicted == predicted && fixture->n_errors == errors &&
         g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  g_assert_true (fixture->n_predicted != predicted || fixture->n_errors != errors);
}

/* Runs the main loop until a map (or why there is none) is shown. */
static void
wait_for_explained (Fixture *fixture)
{
  guint explained = fixture->n_explained;
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint wake = g_timeout_add (50, wake_up, NULL);

  while (fixture->n_explained == explained && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  g_assert_cmpuint (fixture->n_explained, !=, explained);
}

static void
settle (void)
{
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC / 5;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  ConvolveModel *model = new_model (7);

  fixture->reference = convolve_model_copy (model, 1, &error);
  g_assert_no_error (error);

  fixture->dir = g_dir_make_tmp ("convolve-predictor-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->red_png = write_png (fixture->dir, "red.png", 230, 20);
  fixture->blue_png = write_png (fixture->dir, "blue.png", 10, 240);
  fixture->text_file = g_build_filename (fixture->dir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (fixture->text_file, "This is not an image.\n", -1, &error));

  fixture->predictor = CONVOLVE_PREDICTOR (convolve_predictor_new ());
  g_object_ref_sink (fixture->predictor);
  g_signal_connect (fixture->predictor, "predicted", G_CALLBACK (on_predicted), fixture);
  g_signal_connect (fixture->predictor, "error", G_CALLBACK (on_error), fixture);
  g_signal_connect (fixture->predictor, "explained", G_CALLBACK (on_explained), fixture);
  convolve_predictor_set_model (fixture->predictor, model, class_names);
  g_assert_true (convolve_predictor_has_model (fixture->predictor));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  settle ();  /* any load or map still running holds a reference */
  while (G_OBJECT (fixture->predictor)->ref_count > 1 && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_finalize_object (fixture->predictor);
  convolve_model_free (fixture->reference);
  g_assert_cmpint (g_remove (fixture->red_png), ==, 0);
  g_assert_cmpint (g_remove (fixture->blue_png), ==, 0);
  g_assert_cmpint (g_remove (fixture->text_file), ==, 0);
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->red_png);
  g_free (fixture->blue_png);
  g_free (fixture->text_file);
  g_free (fixture->dir);
  g_free (fixture->last_error);
}

/* What the model says about path, computed without the widget. */
static void
expected_for_file (Fixture    *fixture,
                   const char *path,
                   float       probabilities[N_CLASSES])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  float input[3 * 32 * 32];

  g_assert_true (convolve_image_load_file (file, input_shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_model_predict (fixture->reference, input, 1, probabilities, &error));
  g_assert_no_error (error);
}

static void
assert_shows (Fixture     *fixture,
              const float  expected[N_CLASSES])
{
  const float *probabilities;
  guint n = 0;
  double sum = 0.0;

  probabilities = convolve_predictor_get_probabilities (fixture->predictor, &n);
  g_assert_nonnull (probabilities);
  g_assert_cmpuint (n, ==, N_CLASSES);
  for (guint i = 0; i < n; i++)
    {
      GtkWidget *bar = convolve_predictor_get_bar (fixture->predictor, i);

      g_assert_true (GTK_IS_PROGRESS_BAR (bar));
      g_assert_cmpfloat (probabilities[i], >=, 0.0f);
      g_assert_cmpfloat (probabilities[i], <=, 1.0f);
      g_assert_cmpfloat_with_epsilon (gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (bar)), probabilities[i], 1e-6);
      if (expected != NULL)
        g_assert_cmpfloat_with_epsilon (probabilities[i], expected[i], 1e-6);
      sum += probabilities[i];
    }
  g_assert_null (convolve_predictor_get_bar (fixture->predictor, N_CLASSES));
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
}

static void
drop_file (ConvolvePredictor *predictor,
           const char        *path,
           gboolean           expect_accepted)
{
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GSList *files = g_slist_prepend (NULL, file);
  GdkFileList *list = gdk_file_list_new_from_list (files);

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);
  g_assert_true (convolve_predictor_load_value (predictor, &value) == expect_accepted);
  g_slist_free (files);
}

static void
test_predictor_drop_file (Fixture       *fixture,
                          gconstpointer  data)
{
  float expected[N_CLASSES];

  g_assert_false (convolve_predictor_has_image (fixture->predictor));
  g_assert_null (convolve_predictor_get_probabilities (fixture->predictor, NULL));

  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_errors, ==, 0);
  g_assert_cmpuint (fixture->n_predicted, ==, 1);
  g_assert_true (convolve_predictor_has_image (fixture->predictor));

  expected_for_file (fixture, fixture->red_png, expected);
  assert_shows (fixture, expected);
}

static void
test_predictor_rejects (Fixture       *fixture,
                        gconstpointer  data)
{
  float expected[N_CLASSES];
  g_auto(GValue) text = G_VALUE_INIT;

  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);
  expected_for_file (fixture, fixture->red_png, expected);

  /* a text file: an error that names it; the red image stays */
  drop_file (fixture->predictor, fixture->text_file, TRUE);
  wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_errors, ==, 1);
  g_assert_nonnull (strstr (fixture->last_error, "notes.txt"));
  g_assert_true (convolve_predictor_has_image (fixture->predictor));
  assert_shows (fixture, expected);

  /* a missing file */
  {
    g_autofree char *missing = g_build_filename (fixture->dir, "missing.png", NULL);
    drop_file (fixture->predictor, missing, TRUE);
    wait_for_result (fixture);
    g_assert_cmpuint (fixture->n_errors, ==, 2);
    assert_shows (fixture, expected);
  }

  /* something that is not an image at all is refused at once */
  g_value_init (&text, G_TYPE_STRING);
  g_value_set_string (&text, "hello");
  g_assert_false (convolve_predictor_load_value (fixture->predictor, &text));
  g_assert_cmpuint (fixture->n_errors, ==, 3);
  assert_shows (fixture, expected);
}

static void
test_predictor_stale_load (Fixture       *fixture,
                           gconstpointer  data)
{
  float expected[N_CLASSES];
  g_autoptr(GFile) red = g_file_new_for_path (fixture->red_png);
  g_autoptr(GFile) blue = g_file_new_for_path (fixture->blue_png);

  /* the second image cancels the first: only blue is ever shown */
  convolve_predictor_open_file (fixture->predictor, red);
  convolve_predictor_open_file (fixture->predictor, blue);
  wait_for_result (fixture);
  settle ();
  g_assert_cmpuint (fixture->n_predicted, ==, 1);
  g_assert_cmpuint (fixture->n_errors, ==, 0);
  expected_for_file (fixture, fixture->blue_png, expected);
  assert_shows (fixture, expected);
}

static void
test_predictor_texture_and_sample (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) dataset = convolve_dataset_new ("samples", 2, 3, 32, 32, class_names);
  g_autoptr(ConvolveSampleRef) ref = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  g_auto(GValue) texture_value = G_VALUE_INIT;
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  float input[3 * 32 * 32], expected[N_CLASSES];

  for (gsize i = 0; i < 2 * 3 * 32 * 32; i++)
    pixels[i] = (guint8) ((i * 37) % 251);
  convolve_dataset_get_labels_mutable (dataset)[1] = 3;

  /* a sample from the grid: the dataset's own pixels, scaled to [0,1] */
  ref = convolve_sample_ref_new (dataset, 1);
  g_value_init (&value, CONVOLVE_TYPE_SAMPLE_REF);
  g_value_set_boxed (&value, ref);
  g_assert_true (convolve_predictor_load_value (fixture->predictor, &value));
  if (fixture->n_predicted == 0)
    wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_predicted, ==, 1);

  for (gsize i = 0; i < G_N_ELEMENTS (input); i++)
    input[i] = convolve_dataset_get_image (dataset, 1)[i] / 255.0f;
  g_assert_true (convolve_model_predict (fixture->reference, input, 1, expected, &error));
  g_assert_no_error (error);
  assert_shows (fixture, expected);

  /* the same sample as a plain texture (from another program) goes through
   * the image loader and lands on the same pixels */
  texture = convolve_texture_new_from_planar (convolve_dataset_get_image (dataset, 1), 3, 32, 32, 1);
  g_value_init (&texture_value, GDK_TYPE_TEXTURE);
  g_value_set_object (&texture_value, texture);
  g_assert_true (convolve_predictor_load_value (fixture->predictor, &texture_value));
  wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_predicted, ==, 2);
  assert_shows (fixture, expected);
}

static void
test_predictor_paste (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GdkTexture) texture = NULL;
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (fixture->predictor));
  guint8 pixels[3 * 32 * 32];

  for (gsize i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) (i * 13);
  texture = convolve_texture_new_from_planar (pixels, 3, 32, 32, 1);

  gdk_clipboard_set_texture (clipboard, texture);
  convolve_predictor_paste (fixture->predictor);
  wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_errors, ==, 0);
  assert_shows (fixture, NULL);

  /* text on the clipboard is no image */
  gdk_clipboard_set_text (clipboard, "just words");
  convolve_predictor_paste (fixture->predictor);
  if (fixture->n_errors == 0)
    wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_errors, ==, 1);
  g_assert_true (convolve_predictor_has_image (fixture->predictor));
}

static void
test_predictor_model_changes (Fixture       *fixture,
                              gconstpointer  data)
{
  float before[N_CLASSES];
  const float *after;
  gboolean differs = FALSE;
  guint n;

  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);
  memcpy (before, convolve_predictor_get_probabilities (fixture->predictor, NULL), sizeof before);

  /* new weights (a model of another seed): predicted again at once */
  convolve_predictor_set_model (fixture->predictor, new_model (99), class_names);
  g_assert_cmpuint (fixture->n_predicted, ==, 2);
  after = convolve_predictor_get_probabilities (fixture->predictor, &n);
  g_assert_cmpuint (n, ==, N_CLASSES);
  for (guint i = 0; i < n; i++)
    differs = differs || fabsf (after[i] - before[i]) > 1e-6f;
  g_assert_true (differs);
  assert_shows (fixture, NULL);

  /* no model: the image stays, without probabilities */
  convolve_predictor_set_model (fixture->predictor, NULL, NULL);
  g_assert_false (convolve_predictor_has_model (fixture->predictor));
  g_assert_true (convolve_predictor_has_image (fixture->predictor));
  g_assert_null (convolve_predictor_get_probabilities (fixture->predictor, &n));
  g_assert_cmpuint (n, ==, 0);

  /* a grey 28 x 28 model: the image is decoded again for its shape */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(10,softmax)", &error);
    ConvolveShape grey = { 1, 28, 28 };
    ConvolveModel *model = convolve_model_new (spec, &grey, 1, 3, &error);

    g_assert_no_error (error);
    convolve_predictor_set_model (fixture->predictor, model, class_names);
    wait_for_result (fixture);
    g_assert_cmpuint (fixture->n_predicted, ==, 3);
    assert_shows (fixture, NULL);
  }

  convolve_predictor_clear (fixture->predictor);
  g_assert_false (convolve_predictor_has_image (fixture->predictor));
  g_assert_null (convolve_predictor_get_probabilities (fixture->predictor, NULL));
}


/* ---------------------------------------------------- why this answer */

/* The widget as it draws itself, at its size. */
static cairo_surface_t *
render_widget (GtkWidget *widget)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  GskRenderNode *node = widget_test_snapshot (widget);
  cairo_t *cr;

  cr = cairo_create (surface);
  gsk_render_node_draw (node, cr);
  cairo_destroy (cr);
  gsk_render_node_unref (node);
  cairo_surface_flush (surface);
  return surface;
}

static void
pixel_rgb (cairo_surface_t *surface,
           int              x,
           int              y,
           int              rgb[3])
{
  const guint8 *data = cairo_image_surface_get_data (surface);
  guint32 pixel = *(const guint32 *) (const void *) (data + (gsize) y * cairo_image_surface_get_stride (surface) + 4 * x);

  rgb[0] = (pixel >> 16) & 0xff;
  rgb[1] = (pixel >> 8) & 0xff;
  rgb[2] = pixel & 0xff;
}

static GtkWidget *
show_in_window (Fixture *fixture)
{
  GtkWidget *window = gtk_window_new ();
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  gtk_window_set_default_size (GTK_WINDOW (window), 640, 400);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (fixture->predictor));
  gtk_window_present (GTK_WINDOW (window));
  while (!gtk_widget_get_mapped (GTK_WIDGET (fixture->predictor)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (fixture->predictor)));
  return window;
}

/* Lets the window lay out and draw what changed. */
static void
relayout (GtkWidget *window)
{
  gtk_widget_queue_resize (window);
  settle ();
}

static int
argmax (const float *values,
        int          n)
{
  int best = 0;

  for (int i = 1; i < n; i++)
    if (values[i] > values[best])
      best = i;
  return best;
}

static void
test_predictor_explain_overlay (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (fixture->red_png);
  GtkWidget *window = show_in_window (fixture);
  GtkWidget *view = convolve_predictor_get_image_view (fixture->predictor);
  cairo_surface_t *plain, *overlaid;
  graphene_rect_t plain_rect, rect;
  float input[3 * 32 * 32], probabilities[N_CLASSES], map[32 * 32];
  int top, high, x, y, before[3], after[3];
  double heat[3];

  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);
  relayout (window);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, -1);
  g_assert_null (convolve_predictor_get_explain_text (fixture->predictor));
  plain = render_widget (view);
  g_assert_true (convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (view), &plain_rect));

  /* the map the widget should show, computed without it */
  g_assert_true (convolve_image_load_file (file, input_shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_true (convolve_model_predict (fixture->reference, input, 1, probabilities, &error));
  top = argmax (probabilities, N_CLASSES);
  g_assert_true (convolve_explain (fixture->reference, input, top, CONVOLVE_EXPLAIN_SALIENCY, map, &error));
  g_assert_no_error (error);
  high = argmax (map, 32 * 32);
  g_assert_cmpfloat (map[high], ==, 1.0f);

  convolve_predictor_set_view (fixture->predictor, CONVOLVE_PREDICTOR_VIEW_SALIENCY);
  wait_for_explained (fixture);
  relayout (window);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, top);
  g_assert_true (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));
  {
    g_autofree char *expected = g_strdup_printf ("Saliency for %s", class_names[top]);
    g_assert_cmpstr (convolve_predictor_get_explain_text (fixture->predictor), ==, expected);
  }
  g_assert_true (gtk_widget_has_css_class (convolve_predictor_get_bar (fixture->predictor, top), "explained"));
  overlaid = render_widget (view);

  /* where the map is highest the image is blended with viridis' top (the
   * caption may have widened the view meanwhile, moving the image) */
  g_assert_true (convolve_image_view_get_image_rect (CONVOLVE_IMAGE_VIEW (view), &rect));
  g_assert_cmpfloat (rect.size.width, >=, 32.0f);
  x = (int) (plain_rect.origin.x + (high % 32 + 0.5) * plain_rect.size.width / 32);
  y = (int) (plain_rect.origin.y + (high / 32 + 0.5) * plain_rect.size.height / 32);
  pixel_rgb (plain, x, y, before);
  x = (int) (rect.origin.x + (high % 32 + 0.5) * rect.size.width / 32);
  y = (int) (rect.origin.y + (high / 32 + 0.5) * rect.size.height / 32);
  pixel_rgb (overlaid, x, y, after);
  convolve_colormap_lookup (CONVOLVE_COLORMAP_VIRIDIS, 1.0, &heat[0], &heat[1], &heat[2]);
  {
    int distance = 0;
    for (int c = 0; c < 3; c++)
      {
        double expected = (1.0 - 0.55) * before[c] + 0.55 * 255.0 * heat[c];
        g_assert_cmpfloat (fabs (after[c] - expected), <=, 3.0);
        distance += abs (after[c] - before[c]);
      }
    g_assert_cmpint (distance, >, 60);
  }

  /* back to the image: the plain pixels again */
  convolve_predictor_set_view (fixture->predictor, CONVOLVE_PREDICTOR_VIEW_IMAGE);
  g_assert_false (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, -1);

  cairo_surface_destroy (plain);
  cairo_surface_destroy (overlaid);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Emits what a click on widget does. */
static void
click (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
  gboolean clicked = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_GESTURE_CLICK (controller))
        {
          g_signal_emit_by_name (controller, "pressed", 1, 2.0, 2.0);
          clicked = TRUE;
        }
    }
  g_assert_true (clicked);
}

static void
test_predictor_explain_class (Fixture       *fixture,
                              gconstpointer  data)
{
  GtkWidget *view = convolve_predictor_get_image_view (fixture->predictor);
  const float *probabilities;
  int top, other;
  g_autofree char *expected = NULL;

  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);
  probabilities = convolve_predictor_get_probabilities (fixture->predictor, NULL);
  top = argmax (probabilities, N_CLASSES);
  other = (top + 3) % N_CLASSES;

  /* clicking a bar on the plain image shows that class's saliency */
  click (convolve_predictor_get_bar (fixture->predictor, other));
  g_assert_cmpint (convolve_predictor_get_view (fixture->predictor), ==, CONVOLVE_PREDICTOR_VIEW_SALIENCY);
  wait_for_explained (fixture);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, other);
  expected = g_strdup_printf ("Saliency for %s", class_names[other]);
  g_assert_cmpstr (convolve_predictor_get_explain_text (fixture->predictor), ==, expected);
  g_assert_true (gtk_widget_has_css_class (convolve_predictor_get_bar (fixture->predictor, other), "explained"));
  g_assert_false (gtk_widget_has_css_class (convolve_predictor_get_bar (fixture->predictor, top), "explained"));
  g_assert_true (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));

  /* Grad-CAM keeps the class */
  convolve_predictor_set_view (fixture->predictor, CONVOLVE_PREDICTOR_VIEW_GRAD_CAM);
  wait_for_explained (fixture);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, other);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("Grad-CAM for %s", class_names[other]);
  g_assert_cmpstr (convolve_predictor_get_explain_text (fixture->predictor), ==, expected);

  /* new weights: computed again, for the same class */
  convolve_predictor_set_model (fixture->predictor, new_model (99), class_names);
  wait_for_explained (fixture);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, other);
  g_assert_true (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));

  /* the explained bar again: back to the top class */
  click (convolve_predictor_get_bar (fixture->predictor, other));
  wait_for_explained (fixture);
  top = argmax (convolve_predictor_get_probabilities (fixture->predictor, NULL), N_CLASSES);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, top);

  /* a new image: explained anew; clearing removes the map */
  drop_file (fixture->predictor, fixture->blue_png, TRUE);
  wait_for_explained (fixture);
  g_assert_true (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));
  convolve_predictor_clear (fixture->predictor);
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, -1);
}

static void
test_predictor_explain_no_conv (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(10,softmax)", &error);
  ConvolveModel *model = convolve_model_new (spec, &input_shape, 1, 5, &error);
  GtkWidget *view = convolve_predictor_get_image_view (fixture->predictor);
  const char *text;

  g_assert_no_error (error);
  convolve_predictor_set_model (fixture->predictor, model, class_names);
  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);

  convolve_predictor_set_view (fixture->predictor, CONVOLVE_PREDICTOR_VIEW_GRAD_CAM);
  if (convolve_predictor_get_explain_text (fixture->predictor) == NULL)
    wait_for_explained (fixture);
  text = convolve_predictor_get_explain_text (fixture->predictor);
  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "convolution"));
  g_assert_false (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));
  g_assert_cmpint (convolve_predictor_get_explained_class (fixture->predictor), ==, -1);

  /* saliency needs no convolution */
  convolve_predictor_set_view (fixture->predictor, CONVOLVE_PREDICTOR_VIEW_SALIENCY);
  wait_for_explained (fixture);
  g_assert_true (convolve_image_view_has_heatmap (CONVOLVE_IMAGE_VIEW (view)));
  g_assert_nonnull (strstr (convolve_predictor_get_explain_text (fixture->predictor), "Saliency for"));
}

/* The layer's output normalised over the layer, as the view draws it. */
static void
assert_tiles_show (ConvolveActivationsView *view,
                   guint                    section,
                   const float             *output,
                   int                      channels)
{
  int tile_channels, height, width;
  gsize plane;
  float lo = INFINITY, hi = -INFINITY;

  g_assert_nonnull (convolve_activations_view_get_tile (view, section, 0, &tile_channels, &height, &width));
  g_assert_cmpint (tile_channels, ==, 1);
  plane = (gsize) height * width;
  for (gsize i = 0; i < channels * plane; i++)
    {
      lo = MIN (lo, output[i]);
      hi = MAX (hi, output[i]);
    }
  g_assert_cmpfloat (hi, >, lo);
  for (int c = 0; c < channels; c++)
    {
      const guint8 *tile = convolve_activations_view_get_tile (view, section, c, NULL, NULL, NULL);
      for (gsize p = 0; p < plane; p++)
        g_assert_cmpfloat (fabsf (tile[p] - 255.0f * (output[c * plane + p] - lo) / (hi - lo)), <=, 0.51f);
    }
}

static void
test_predictor_activations (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec =
    convolve_model_spec_parse ("conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,dense(10,softmax)", &error);
  g_autoptr(ConvolveModel) reference = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (fixture->red_png);
  ConvolveModel *model = convolve_model_new (spec, &input_shape, 1, 11, &error);
  ConvolveActivationsView *view;
  const ConvolveTensorInfo *kernel;
  float input[3 * 32 * 32], probabilities[N_CLASSES];
  static const int expected_layers[] = { 0, 0, 1, 2 };
  g_autofree guint8 *before = NULL;
  GtkWidget *window;

  g_assert_no_error (error);
  reference = convolve_model_copy (model, 1, &error);
  convolve_predictor_set_model (fixture->predictor, model, class_names);
  drop_file (fixture->predictor, fixture->red_png, TRUE);
  wait_for_result (fixture);

  convolve_predictor_show_activations (fixture->predictor);
  window = convolve_predictor_get_activations_window (fixture->predictor);
  g_assert_true (CONVOLVE_IS_ACTIVATIONS_WINDOW (window));
  g_assert_true (gtk_widget_get_visible (window));
  view = CONVOLVE_ACTIVATIONS_VIEW (convolve_activations_window_get_view (CONVOLVE_ACTIVATIONS_WINDOW (window)));

  /* the filters, then Conv2D, BatchNormalization, MaxPooling2D: a tile
   * per channel each */
  g_assert_cmpuint (convolve_activations_view_get_n_sections (view), ==, 4);
  for (guint s = 0; s < 4; s++)
    {
      int layer;
      gboolean is_filters;
      guint n_tiles;

      g_assert_true (convolve_activations_view_get_section (view, s, &layer, &is_filters, &n_tiles));
      g_assert_cmpint (layer, ==, expected_layers[s]);
      g_assert_true (is_filters == (s == 0));
      g_assert_cmpuint (n_tiles, ==, convolve_model_get_layer (reference, layer)->shape[0]);
    }
  g_assert_false (convolve_activations_view_get_section (view, 4, NULL, NULL, NULL));

  /* the feature maps are the layers' outputs for this image */
  g_assert_true (convolve_image_load_file (file, input_shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_true (convolve_model_predict (reference, input, 1, probabilities, &error));
  g_assert_no_error (error);
  for (guint s = 1; s < 4; s++)
    assert_tiles_show (view, s, convolve_model_get_layer_output (reference, expected_layers[s], 0),
                       convolve_model_get_layer (reference, expected_layers[s])->shape[0]);

  /* the filters: RGB 3 x 3, each normalised on its own */
  kernel = convolve_model_find_tensor (reference, "conv2d/kernel");
  for (guint f = 0; f < 4; f++)
    {
      int channels, height, width;
      const guint8 *tile = convolve_activations_view_get_tile (view, 0, f, &channels, &height, &width);
      const float *w = kernel->data + f * 27;
      float lo = INFINITY, hi = -INFINITY;

      g_assert_cmpint (channels, ==, 3);
      g_assert_cmpint (height, ==, 3);
      g_assert_cmpint (width, ==, 3);
      for (int i = 0; i < 27; i++)
        {
          lo = MIN (lo, w[i]);
          hi = MAX (hi, w[i]);
        }
      for (int i = 0; i < 27; i++)
        g_assert_cmpfloat (fabsf (tile[i] - 255.0f * (w[i] - lo) / (hi - lo)), <=, 0.51f);
    }

  /* new weights (as training publishes them): the tiles follow */
  before = g_memdup2 (convolve_activations_view_get_tile (view, 1, 0, NULL, NULL, NULL), 32 * 32);
  {
    ConvolveModel *trained = convolve_model_new (spec, &input_shape, 1, 12, &error);
    g_assert_no_error (error);
    g_assert_true (convolve_model_copy_weights (reference, trained, &error));
    convolve_predictor_set_model (fixture->predictor, trained, class_names);
  }
  g_assert_cmpint (memcmp (before, convolve_activations_view_get_tile (view, 1, 0, NULL, NULL, NULL), 32 * 32), !=, 0);
  g_assert_true (convolve_model_predict (reference, input, 1, probabilities, &error));
  assert_tiles_show (view, 1, convolve_model_get_layer_output (reference, 0, 0), 4);

  /* no image: nothing to show */
  convolve_predictor_clear (fixture->predictor);
  g_assert_true (convolve_activations_view_is_empty (view));
}

/* ---- pictures of another shape: cropped or padded ------------------ */

#define FIT_BLOCK 4

/* Square (bx, by) of FIT_BLOCK x FIT_BLOCK pixels of a block picture;
 * never 0, so padding (black) cannot pass for the picture. */
static guint8
fit_block_colour (int bx,
                  int by,
                  int k)
{
  return (guint8) (30 + (bx * 37 + by * 61 + k * 89) % 220);
}

/* A width x height PNG of FIT_BLOCK squares. Cropped into 32 x 32 a 128 x
 * 32 picture is not resized, padded it is quartered, so every input pixel
 * lies in one square and is known exactly. */
static char *
write_block_png (const char *dir,
                 const char *name,
                 int         width,
                 int         height)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GBytes) bytes = NULL;
  char *path = g_build_filename (dir, name, NULL);
  guint8 *data = g_malloc ((gsize) width * height * 3);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int k = 0; k < 3; k++)
        data[(y * width + x) * 3 + k] = fit_block_colour (x / FIT_BLOCK, y / FIT_BLOCK, k);
  bytes = g_bytes_new_take (data, (gsize) width * height * 3);
  texture = gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes, (gsize) width * 3);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  return path;
}

/* The 32 x 32 input a 128 x 32 (wide) or 32 x 128 picture gives, worked
 * out by hand: cropped, its middle 32 x 32 (from 48) as it is; padded, all
 * of it at a quarter, 32 x 8 in rows (or columns) 12 to 19, black around. */
static void
expected_fitted (gboolean          wide,
                 ConvolveImageFit  fit,
                 guint8           *pixels)
{
  for (int k = 0; k < 3; k++)
    for (int y = 0; y < 32; y++)
      for (int x = 0; x < 32; x++)
        {
          /* along and across the picture's long side */
          int along = wide ? x : y, across = wide ? y : x;
          int block_along, block_across;
          guint8 value;

          if (fit == CONVOLVE_IMAGE_FIT_CROP)
            {
              block_along = (48 + along) / FIT_BLOCK;
              block_across = across / FIT_BLOCK;
              value = fit_block_colour (wide ? block_along : block_across, wide ? block_across : block_along, k);
            }
          else if (across >= 12 && across < 20)
            {
              block_along = along;    /* a quarter of 4-pixel squares */
              block_across = across - 12;
              value = fit_block_colour (wide ? block_along : block_across, wide ? block_across : block_along, k);
            }
          else
            value = 0;
          pixels[(k * 32 + y) * 32 + x] = value;
        }
}

/* The predictor shows the picture as the model sees it (pixel for pixel
 * the expected input) and the model's probabilities for that input. */
static void
assert_fitted (Fixture          *fixture,
               ConvolveModel    *model,
               gboolean          wide,
               ConvolveImageFit  fit)
{
  g_autoptr(GError) error = NULL;
  guint8 pixels[3 * 32 * 32];
  float input[3 * 32 * 32], expected[N_CLASSES];
  const char *label = gtk_label_get_text (GTK_LABEL (fixture->predictor->input_label));
  guint n_classes = (guint) convolve_model_get_n_classes (model), n = 0;
  const float *probabilities;

  expected_fitted (wide, fit, pixels);
  g_assert_true (convolve_shape_equal (fixture->predictor->input_shape, input_shape));
  g_assert_cmpmem (fixture->predictor->preview, sizeof pixels, pixels, sizeof pixels);
  for (gsize i = 0; i < G_N_ELEMENTS (input); i++)
    input[i] = pixels[i] / 255.0f;
  g_assert_cmpuint (n_classes, <=, N_CLASSES);
  g_assert_true (convolve_model_predict (model, input, 1, expected, &error));
  g_assert_no_error (error);
  probabilities = convolve_predictor_get_probabilities (fixture->predictor, &n);
  g_assert_cmpuint (n, ==, n_classes);
  for (guint i = 0; i < n_classes; i++)
    {
      GtkWidget *bar = convolve_predictor_get_bar (fixture->predictor, i);

      g_assert_cmpfloat_with_epsilon (probabilities[i], expected[i], 1e-6);
      g_assert_cmpfloat_with_epsilon (gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (bar)), expected[i], 1e-6);
    }
  g_assert_cmpstr (label, ==, fit == CONVOLVE_IMAGE_FIT_PAD ? "32 × 32 colour, padded" : "32 × 32 colour, cropped");
}

static void
test_predictor_fit (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-predictor-fit-XXXXXX", &error);
  g_autofree char *wide = write_block_png (dir, "wide.png", 128, 32);
  g_autofree char *tall = write_block_png (dir, "tall.png", 32, 128);

  /* crop until told otherwise */
  g_assert_cmpint (convolve_predictor_get_fit (fixture->predictor), ==, CONVOLVE_IMAGE_FIT_CROP);
  for (int i = 0; i < 2; i++)
    {
      drop_file (fixture->predictor, i == 0 ? wide : tall, TRUE);
      wait_for_result (fixture);
      g_assert_cmpuint (fixture->n_errors, ==, 0);
      assert_fitted (fixture, fixture->reference, i == 0, CONVOLVE_IMAGE_FIT_CROP);

      /* another fit decodes the picture shown again */
      convolve_predictor_set_fit (fixture->predictor, CONVOLVE_IMAGE_FIT_PAD);
      wait_for_result (fixture);
      assert_fitted (fixture, fixture->reference, i == 0, CONVOLVE_IMAGE_FIT_PAD);
      convolve_predictor_set_fit (fixture->predictor, CONVOLVE_IMAGE_FIT_CROP);
      wait_for_result (fixture);
      assert_fitted (fixture, fixture->reference, i == 0, CONVOLVE_IMAGE_FIT_CROP);
    }

  /* the same fit again: nothing to do */
  {
    guint predicted = fixture->n_predicted;

    convolve_predictor_set_fit (fixture->predictor, CONVOLVE_IMAGE_FIT_CROP);
    settle ();
    g_assert_cmpuint (fixture->n_predicted, ==, predicted);
  }

  test_remove_tree (dir);
}

static void
open_dataset_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
open_folder (ConvolveSession *session,
             const char      *folder)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  convolve_session_open_dataset_async (session, folder, NULL, 1, NULL, open_dataset_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (convolve_session_open_dataset_finish (session, result, &error));
  g_assert_no_error (error);
}

/* Following a session, the fit of the image folder it has open wins over
 * the predictor's own (Preferences'): the model trained on the folder saw
 * its pictures so. Another dataset brings the predictor's own back. */
static void
test_predictor_fit_session (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-predictor-fit-XXXXXX", &error);
  g_autofree char *folder = g_build_filename (dir, "folder", NULL);
  g_autofree char *wide = write_block_png (dir, "wide.png", 128, 32);
  g_autoptr(ConvolveSession) session = convolve_session_new ();
  g_autoptr(ConvolveDataset) train = NULL;
  ConvolveImageFolderOptions options;
  ConvolveImageFolderReport report;

  /* two classes of two pictures, imported padded */
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 2; i++)
      {
        g_autofree char *class_dir = g_build_filename (folder, k == 0 ? "left" : "right", NULL);
        g_autofree char *name = g_strdup_printf ("%d.png", i);

        g_assert_cmpint (g_mkdir_with_parents (class_dir, 0700), ==, 0);
        g_free (write_png (class_dir, name, 100 * k + 20 * i, 200 - 90 * k));
      }
  convolve_image_folder_options_init (&options);
  options.fit = CONVOLVE_IMAGE_FIT_PAD;
  convolve_session_set_image_folder_options (session, &options);
  convolve_predictor_set_session (fixture->predictor, session);
  convolve_predictor_set_fit (fixture->predictor, CONVOLVE_IMAGE_FIT_CROP);

  open_folder (session, folder);
  g_assert_true (convolve_session_get_import_report (session, &report));
  g_assert_cmpint (report.fit, ==, CONVOLVE_IMAGE_FIT_PAD);
  g_assert_cmpint (convolve_predictor_get_fit (fixture->predictor), ==, CONVOLVE_IMAGE_FIT_PAD);
  g_assert_true (convolve_shape_equal (convolve_model_get_input (convolve_session_get_model (session)), input_shape));

  drop_file (fixture->predictor, wide, TRUE);
  wait_for_result (fixture);
  g_assert_cmpuint (fixture->n_errors, ==, 0);
  assert_fitted (fixture, convolve_session_get_model (session), TRUE, CONVOLVE_IMAGE_FIT_PAD);

  /* datasets that are no image folder: the predictor's own fit, and the
   * picture shown decoded again */
  train = convolve_dataset_new ("plain", 4, 3, 32, 32, NULL);
  g_assert_true (convolve_session_set_datasets (session, train, NULL, NULL, NULL, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (convolve_predictor_get_fit (fixture->predictor), ==, CONVOLVE_IMAGE_FIT_CROP);
  wait_for_result (fixture);
  assert_fitted (fixture, convolve_session_get_model (session), TRUE, CONVOLVE_IMAGE_FIT_CROP);

  /* the folder again (from the cache): padded again, decided when the
   * datasets changed */
  open_folder (session, folder);
  g_assert_cmpint (convolve_predictor_get_fit (fixture->predictor), ==, CONVOLVE_IMAGE_FIT_PAD);
  settle ();
  assert_fitted (fixture, convolve_session_get_model (session), TRUE, CONVOLVE_IMAGE_FIT_PAD);

  convolve_predictor_set_session (fixture->predictor, NULL);
  test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cache = NULL;
  int status;

  gtk_test_init (&argc, &argv, NULL);
  /* the image folder's import cache, of this run's own */
  cache = g_dir_make_tmp ("convolve-predictor-cache-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("CONVOLVE_CACHE_DIR", cache, TRUE);

  g_test_add ("/app/predictor/drop-file", Fixture, NULL, fixture_setup, test_predictor_drop_file, fixture_teardown);
  g_test_add ("/app/predictor/rejects", Fixture, NULL, fixture_setup, test_predictor_rejects, fixture_teardown);
  g_test_add ("/app/predictor/stale-load", Fixture, NULL, fixture_setup, test_predictor_stale_load, fixture_teardown);
  g_test_add ("/app/predictor/texture-and-sample", Fixture, NULL, fixture_setup, test_predictor_texture_and_sample, fixture_teardown);
  g_test_add ("/app/predictor/paste", Fixture, NULL, fixture_setup, test_predictor_paste, fixture_teardown);
  g_test_add ("/app/predictor/model-changes", Fixture, NULL, fixture_setup, test_predictor_model_changes, fixture_teardown);
  g_test_add ("/app/predictor/fit", Fixture, NULL, fixture_setup, test_predictor_fit, fixture_teardown);
  g_test_add ("/app/predictor/fit-session", Fixture, NULL, fixture_setup, test_predictor_fit_session, fixture_teardown);

  g_test_add ("/app/predictor/explain-overlay", Fixture, NULL, fixture_setup, test_predictor_explain_overlay, fixture_teardown);
  g_test_add ("/app/predictor/explain-class", Fixture, NULL, fixture_setup, test_predictor_explain_class, fixture_teardown);
  g_test_add ("/app/predictor/explain-no-conv", Fixture, NULL, fixture_setup, test_predictor_explain_no_conv, fixture_teardown);
  g_test_add ("/app/predictor/activations", Fixture, NULL, fixture_setup, test_predictor_activations, fixture_teardown);

  status = g_test_run ();
  test_remove_tree (cache);
  return status;
}
