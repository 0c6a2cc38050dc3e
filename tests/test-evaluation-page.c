/* test-evaluation-page.c: ConvolveEvaluationPage and its confusion view:
 * the table's figures, cells and pairs that ask for their images, the
 * keyboard's focus, exports.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "widget-test-util.h"
#include "convolve-confusion-view.h"
#include "convolve-evaluation-page.h"

static const char * const names[] = { "plane", "car", "bird", "frog", NULL };

/* The matrix of test-metrics.c, whose figures are worked out there:
 * plane 0.75 / 0.6 / 0.667 (10 images), car 0.6 / 0.75 / 0.667 (4),
 * bird 0.667 / 0.8 / 0.727 (5), frog 0 / 0 / 0 (0). */
static const guint matrix[16] = {
  6, 2, 2, 0,
  1, 3, 0, 0,
  1, 0, 4, 0,
  0, 0, 0, 0,
};

static ConvolveEvaluation *
make_evaluation (void)
{
  ConvolveEvaluation *evaluation = convolve_evaluation_new ();
  guint i = 0;

  evaluation->n_classes = 4;
  evaluation->n_images = 19;
  evaluation->loss = 0.75;
  evaluation->accuracy = 13.0 / 19.0;
  evaluation->confusion = g_memdup2 (matrix, sizeof matrix);
  evaluation->class_counts = g_new0 (guint, 4);
  evaluation->class_correct = g_new0 (guint, 4);
  evaluation->class_accuracy = g_new0 (double, 4);
  evaluation->labels = g_new (gint32, 19);
  evaluation->predictions = g_new (gint32, 19);
  evaluation->confidences = g_new (float, 19);
  evaluation->losses = g_new (float, 19);
  for (int t = 0; t < 4; t++)
    for (int p = 0; p < 4; p++)
      for (guint k = 0; k < matrix[t * 4 + p]; k++, i++)
        {
          evaluation->labels[i] = t;
          evaluation->predictions[i] = p;
          evaluation->confidences[i] = 0.5f;
          evaluation->losses[i] = t == p ? 0.5f : 1.5f;
        }
  return evaluation;
}

typedef struct {
  int n_shown;
  int true_class;
  int predicted_class;
  int n_top_losses;
} Shown;

static void
show_images_cb (GtkWidget *page,
                int        true_class,
                int        predicted_class,
                Shown     *shown)
{
  shown->n_shown++;
  shown->true_class = true_class;
  shown->predicted_class = predicted_class;
}

static void
show_top_losses_cb (GtkWidget *page,
                    Shown     *shown)
{
  shown->n_top_losses++;
}

static GObject *
child (GtkWidget  *page,
       const char *name)
{
  return gtk_widget_get_template_child (page, CONVOLVE_TYPE_EVALUATION_PAGE, name);
}

static double
row_double (GListModel *model,
            guint       position,
            const char *property)
{
  g_autoptr(GObject) row = g_list_model_get_item (model, position);
  double value;

  g_object_get (row, property, &value, NULL);
  return value;
}

static char *
row_name (GListModel *model,
          guint       position)
{
  g_autoptr(GObject) row = g_list_model_get_item (model, position);
  char *name;

  g_object_get (row, "name", &name, NULL);
  return name;
}

/* A point in the view over cell (t, p), found by hit-testing a grid of
 * points: what a click there would land on. The view may not have its
 * size yet on a busy machine: the main loop runs until it has (or 10 s). */
static gboolean
find_cell_point (ConvolveConfusionView *view,
                 int                    t,
                 int                    p,
                 double                *x,
                 double                *y)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  do
    {
      int width = gtk_widget_get_width (GTK_WIDGET (view));
      int height = gtk_widget_get_height (GTK_WIDGET (view));

      for (int py = 0; py < height; py += 3)
        for (int px = 0; px < width; px += 3)
          {
            int ht, hp;

            if (convolve_confusion_view_get_cell_at (view, px, py, &ht, &hp) && ht == t && hp == p)
              {
                *x = px;
                *y = py;
                return TRUE;
              }
          }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  while (g_get_monotonic_time () < end);
  return FALSE;
}

static void
test_evaluation_page (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation ();
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = convolve_evaluation_page_new ();
  ConvolveConfusionView *view;
  GtkColumnView *class_view;
  GListModel *model;
  GtkStack *stack;
  Shown shown = { 0 };
  double x = 0, y = 0;
  int t, p;

  g_object_ref (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  g_signal_connect (page, "show-images", G_CALLBACK (show_images_cb), &shown);
  g_signal_connect (page, "show-top-losses", G_CALLBACK (show_top_losses_cb), &shown);
  gtk_window_present (GTK_WINDOW (window));
  widget_test_wait_for_layout (page);

  stack = GTK_STACK (child (page, "stack"));
  view = CONVOLVE_CONFUSION_VIEW (child (page, "confusion_view"));
  class_view = GTK_COLUMN_VIEW (child (page, "class_view"));
  model = G_LIST_MODEL (gtk_column_view_get_model (class_view));

  /* Before any evaluation: the empty state, nothing to export. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_false (gtk_widget_activate_action (page, "evaluation.show-top-losses", NULL) && shown.n_top_losses > 0);
  convolve_evaluation_page_set_evaluating (CONVOLVE_EVALUATION_PAGE (page), TRUE, 0.25);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (child (page, "empty_progress"))));
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (child (page, "empty_progress"))), ==, 0.25);

  convolve_evaluation_page_set_evaluation (CONVOLVE_EVALUATION_PAGE (page), evaluation, names);
  convolve_evaluation_page_set_evaluating (CONVOLVE_EVALUATION_PAGE (page), FALSE, 1.0);
  widget_test_wait_for_layout (page);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "results");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (child (page, "results_progress"))));

  /* The table: one row per class, in class order until sorted. */
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 4);
  {
    g_autofree char *first = row_name (model, 0);
    g_autofree char *last = row_name (model, 3);
    g_autoptr(GObject) car = g_list_model_get_item (model, 1);
    guint support;

    g_assert_cmpstr (first, ==, "plane");
    g_assert_cmpstr (last, ==, "frog");
    g_assert_cmpfloat_with_epsilon (row_double (model, 0, "precision"), 0.75, 1e-9);
    g_assert_cmpfloat_with_epsilon (row_double (model, 0, "recall"), 0.6, 1e-9);
    g_assert_cmpfloat_with_epsilon (row_double (model, 2, "f1"), 16.0 / 22.0, 1e-9);
    g_assert_cmpfloat (row_double (model, 3, "precision"), ==, 0.0);
    g_object_get (car, "support", &support, NULL);
    g_assert_cmpuint (support, ==, 4);
  }
  /* Sorted by recall, best first: bird (0.8), car (0.75), plane (0.6), frog. */
  {
    GListModel *columns = gtk_column_view_get_columns (class_view);
    g_autoptr(GtkColumnViewColumn) recall = g_list_model_get_item (columns, 2);
    g_autofree char *first = NULL;
    g_autofree char *second = NULL;

    gtk_column_view_sort_by_column (class_view, recall, GTK_SORT_DESCENDING);
    first = row_name (model, 0);
    second = row_name (model, 1);
    g_assert_cmpstr (first, ==, "bird");
    g_assert_cmpstr (second, ==, "car");
    gtk_column_view_sort_by_column (class_view, NULL, GTK_SORT_ASCENDING);
  }

  /* A click on a cell: the point hits cell (0, 1), and activating it
   * asks for the planes taken for cars. */
  g_assert_true (find_cell_point (view, 0, 1, &x, &y));
  g_assert_true (convolve_confusion_view_get_cell_at (view, x, y, &t, &p));
  g_assert_cmpint (t, ==, 0);
  g_assert_cmpint (p, ==, 1);
  g_assert_false (convolve_confusion_view_get_cell_at (view, 1, 1, &t, &p));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "confusion.activate-cell", "(ii)", t, p));
  g_assert_cmpint (shown.n_shown, ==, 1);
  g_assert_cmpint (shown.true_class, ==, 0);
  g_assert_cmpint (shown.predicted_class, ==, 1);

  /* Keyboard: the arrows move the focused cell, clamped at the edges;
   * Enter activates it; the readout follows. */
  g_assert_true (gtk_widget_grab_focus (GTK_WIDGET (view)));
  convolve_confusion_view_set_focus_cell (view, 0, 0);
  gtk_widget_activate_action (GTK_WIDGET (view), "confusion.move", "(ii)", 1, 0);
  gtk_widget_activate_action (GTK_WIDGET (view), "confusion.move", "(ii)", 0, 1);
  g_assert_true (convolve_confusion_view_get_focus_cell (view, &t, &p));
  g_assert_cmpint (t, ==, 1);
  g_assert_cmpint (p, ==, 1);
  g_assert_nonnull (strstr (convolve_confusion_view_get_readout (view), "car → car: 3"));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (child (page, "readout_label"))), "car → car: 3"));
  for (int i = 0; i < 6; i++)
    gtk_widget_activate_action (GTK_WIDGET (view), "confusion.move", "(ii)", -1, 1);
  g_assert_true (convolve_confusion_view_get_focus_cell (view, &t, &p));
  g_assert_cmpint (t, ==, 3);
  g_assert_cmpint (p, ==, 0);
  gtk_widget_activate_action (GTK_WIDGET (view), "confusion.move", "(ii)", 2, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "confusion.activate-focused", NULL));
  g_assert_cmpint (shown.n_shown, ==, 2);
  g_assert_cmpint (shown.true_class, ==, 2);
  g_assert_cmpint (shown.predicted_class, ==, 2);

  /* The most confused pairs, most first: plane → car, plane → bird, ... */
  {
    GtkListBox *pairs = GTK_LIST_BOX (child (page, "pairs_list"));
    GtkListBoxRow *second = gtk_list_box_get_row_at_index (pairs, 1);

    g_assert_nonnull (gtk_list_box_get_row_at_index (pairs, 3));
    g_assert_null (gtk_list_box_get_row_at_index (pairs, 4));
    g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (gtk_list_box_get_row_at_index (pairs, 0))),
                     ==, "plane → car: 2");
    g_signal_emit_by_name (pairs, "row-activated", second);
    g_assert_cmpint (shown.n_shown, ==, 3);
    g_assert_cmpint (shown.true_class, ==, 0);
    g_assert_cmpint (shown.predicted_class, ==, 2);
  }

  g_assert_true (gtk_widget_activate_action (page, "evaluation.show-top-losses", NULL));
  g_assert_cmpint (shown.n_top_losses, ==, 1);

  /* Export: written off the main thread, then a toast. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp ("convolve-evaluation-page-XXXXXX", &error);
    g_autofree char *path = g_build_filename (dir, "per-class.csv", NULL);
    g_autofree char *png_path = g_build_filename (dir, "confusion.png", NULL);
    g_autoptr(GFile) file = g_file_new_for_path (path);
    g_autoptr(GFile) png = g_file_new_for_path (png_path);
    g_autofree char *text = NULL;
    gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    convolve_evaluation_page_export (CONVOLVE_EVALUATION_PAGE (page), CONVOLVE_EVALUATION_EXPORT_PER_CLASS, file);
    convolve_evaluation_page_export (CONVOLVE_EVALUATION_PAGE (page), CONVOLVE_EVALUATION_EXPORT_CONFUSION_PNG, png);
    /* A new file is written in place (only an existing one goes through a
     * temporary file), so wait for its last line. */
    while (g_get_monotonic_time () < end)
      {
        g_clear_pointer (&text, g_free);
        if (g_file_get_contents (path, &text, NULL, NULL) && g_str_has_suffix (text, ",19\n") &&
            g_file_test (png_path, G_FILE_TEST_EXISTS))
          break;
        g_main_context_iteration (NULL, TRUE);
      }
    g_assert_nonnull (text);
    g_assert_true (g_str_has_prefix (text, "class,precision,recall,f1,support\nplane,0.750000,"));
    g_assert_true (g_str_has_suffix (text, "weighted avg,0.696491,0.684211,0.682616,19\n"));
    for (int i = 0; i < 20; i++)
      g_main_context_iteration (NULL, FALSE);
    g_unlink (path);
    g_unlink (png_path);
    g_rmdir (dir);
  }

  /* Gone again: the empty state. */
  convolve_evaluation_page_set_evaluation (CONVOLVE_EVALUATION_PAGE (page), NULL, NULL);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_false (convolve_confusion_view_get_focus_cell (view, NULL, NULL));

  gtk_window_destroy (GTK_WINDOW (window));
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (page);
}

/* A hidden page (another view of the window is shown) keeps a new
 * evaluation and fills its views only when it is shown: while training, one
 * comes at every epoch's end. What it holds works at once. */
static void
test_evaluation_page_hidden (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation ();
  GtkWidget *window = gtk_window_new ();
  GtkWidget *stack = gtk_stack_new ();
  GtkWidget *other = gtk_label_new ("another view");
  GtkWidget *page = convolve_evaluation_page_new ();
  GListModel *model;

  g_object_ref (page);
  gtk_stack_add_named (GTK_STACK (stack), other, "other");
  gtk_stack_add_named (GTK_STACK (stack), page, "evaluation");
  gtk_stack_set_visible_child (GTK_STACK (stack), other);
  gtk_window_set_child (GTK_WINDOW (window), stack);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  gtk_window_present (GTK_WINDOW (window));
  widget_test_wait_for_layout (other);
  g_assert_false (gtk_widget_get_mapped (page));
  model = G_LIST_MODEL (gtk_column_view_get_model (GTK_COLUMN_VIEW (child (page, "class_view"))));

  convolve_evaluation_page_set_evaluation (CONVOLVE_EVALUATION_PAGE (page), evaluation, names);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (child (page, "stack"))), ==, "empty");
  g_assert_true (gtk_widget_activate_action (page, "evaluation.show-top-losses", NULL));

  /* Shown: the views catch up with the newest evaluation. */
  gtk_stack_set_visible_child (GTK_STACK (stack), page);
  widget_test_wait_for_layout (page);
  g_assert_true (gtk_widget_get_mapped (page));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 4);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (child (page, "stack"))), ==, "results");

  /* Shown, a new one is shown at once. */
  convolve_evaluation_page_set_evaluation (CONVOLVE_EVALUATION_PAGE (page), NULL, NULL);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);

  gtk_window_destroy (GTK_WINDOW (window));
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (page);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/evaluation-page/page", test_evaluation_page);
  g_test_add_func ("/app/evaluation-page/hidden", test_evaluation_page_hidden);

  return g_test_run ();
}
