/* test-runs-page.c: ConvolveRunsPage on a store of real (tiny) runs:
 * it lists them, filters by dataset, sorts, compares the selected ones
 * (a seed group is one curve), renames and deletes (with the runs'
 * files), and the changes are in the database.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-runs-page.h"
#include "test-recorded-runs.h"

#define TIMEOUT_US (30 * G_USEC_PER_SEC)

static void
wait_idle (ConvolveRunsPage *page)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  while (convolve_runs_page_is_busy (page) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_false (convolve_runs_page_is_busy (page));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static char *
row_string (GListModel *runs,
            guint       index,
            const char *property)
{
  g_autoptr(GObject) row = g_list_model_get_item (runs, index);
  char *value = NULL;

  g_object_get (row, property, &value, NULL);
  return value;
}

static gint64
row_id (GListModel *runs,
        guint       index)
{
  g_autoptr(GObject) row = g_list_model_get_item (runs, index);
  gint64 id = 0;

  g_object_get (row, "id", &id, NULL);
  return id;
}

static guint
find_row (GListModel *runs,
          gint64      id)
{
  for (guint i = 0; i < g_list_model_get_n_items (runs); i++)
    if (row_id (runs, i) == id)
      return i;
  return G_MAXUINT;
}

/* The database with its SQLite companions, then its folder. */
static void
remove_store (const char *db,
              const char *dir)
{
  for (guint i = 0; i < 4; i++)
    {
      static const char *suffixes[] = { "", "-wal", "-shm", "-owners" };
      g_autofree char *file = g_strconcat (db, suffixes[i], NULL);

      g_unlink (file);
    }
  g_rmdir (dir);
}

static void
store_id (gint64 *out,
          gint64  id)
{
  *out = id;
}

static void
test_runs_page (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-runs-page-XXXXXX", &error);
  g_autofree char *db = g_build_filename (dir, "runs.sqlite", NULL);
  g_autofree char *model_file = g_build_filename (dir, "run-b.safetensors", NULL);
  g_autoptr(ConvolveRunStore) store = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = convolve_runs_page_new ();
  ConvolveRunsPage *runs_page = CONVOLVE_RUNS_PAGE (page);
  GListModel *runs;
  GtkColumnView *view = NULL;
  const ConvolveRunComparison *comparison;
  gint64 a, b, c, d;

  g_assert_no_error (error);
  store = convolve_run_store_open (db, &error);
  g_assert_no_error (error);
  a = test_record_run (store, "seed one", "bands", 1, 0.01f, 2);
  b = test_record_run (store, "seed two", "bands", 2, 0.01f, 2);
  c = test_record_run (store, "seed three", "bands", 3, 0.01f, 2);
  d = test_record_run (store, "other data", "stripes", 1, 0.05f, 2);
  /* Run b left a model file behind: deleting the run deletes it. */
  g_assert_true (g_file_set_contents (model_file, "weights", -1, NULL));
  g_assert_true (convolve_run_store_set_paths (store, b, NULL, NULL, model_file, &error));

  g_object_ref (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  gtk_window_present (GTK_WINDOW (window));
  convolve_runs_page_set_store_path (runs_page, db);
  wait_idle (runs_page);

  /* Every run, newest first. */
  runs = convolve_runs_page_get_runs (runs_page);
  g_assert_cmpuint (g_list_model_get_n_items (runs), ==, 4);
  g_assert_cmpint (row_id (runs, 0), ==, d);
  g_assert_cmpint (row_id (runs, 3), ==, a);
  {
    g_autofree char *name = row_string (runs, 3, "name");
    g_autofree char *status = row_string (runs, 3, "status");
    g_autofree char *dataset = row_string (runs, 0, "dataset");

    g_assert_cmpstr (name, ==, "seed one");
    g_assert_cmpstr (status, ==, "Finished");
    g_assert_cmpstr (dataset, ==, "stripes");
  }

  /* Sorted by name through the column's sorter. */
  for (GtkWidget *child = gtk_widget_get_first_child (page); child != NULL && view == NULL;)
    {
      /* depth-first search for the column view */
      if (GTK_IS_COLUMN_VIEW (child))
        view = GTK_COLUMN_VIEW (child);
      else if (gtk_widget_get_first_child (child) != NULL)
        child = gtk_widget_get_first_child (child);
      else
        {
          while (child != page && gtk_widget_get_next_sibling (child) == NULL)
            child = gtk_widget_get_parent (child);
          child = child == page ? NULL : gtk_widget_get_next_sibling (child);
        }
    }
  g_assert_nonnull (view);
  {
    GListModel *columns = gtk_column_view_get_columns (view);
    g_autoptr(GtkColumnViewColumn) name_column = g_list_model_get_item (columns, 0);
    g_autofree char *first = NULL;
    g_autofree char *last = NULL;

    gtk_column_view_sort_by_column (view, name_column, GTK_SORT_ASCENDING);
    first = row_string (runs, 0, "name");
    last = row_string (runs, 3, "name");
    g_assert_cmpstr (first, ==, "other data");
    g_assert_cmpstr (last, ==, "seed two");
    gtk_column_view_sort_by_column (view, NULL, GTK_SORT_ASCENDING);
  }

  /* Filtered by dataset: only the runs on "stripes", then all again. */
  {
    GtkDropDown *dropdown = GTK_DROP_DOWN (gtk_widget_get_template_child (page, CONVOLVE_TYPE_RUNS_PAGE,
                                                                          "dataset_dropdown"));
    GListModel *datasets = gtk_drop_down_get_model (dropdown);
    guint stripes = G_MAXUINT;

    g_assert_cmpuint (g_list_model_get_n_items (datasets), ==, 3);  /* all, stripes, bands */
    for (guint i = 0; i < 3; i++)
      if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (datasets), i), "stripes") == 0)
        stripes = i;
    g_assert_cmpuint (stripes, !=, G_MAXUINT);
    gtk_drop_down_set_selected (dropdown, stripes);
    g_assert_cmpuint (g_list_model_get_n_items (runs), ==, 1);
    g_assert_cmpint (row_id (runs, 0), ==, d);
    gtk_drop_down_set_selected (dropdown, 0);
    g_assert_cmpuint (g_list_model_get_n_items (runs), ==, 4);
    wait_idle (runs_page);
  }

  /* Three seeds selected: one curve, their mean. */
  convolve_runs_page_select_runs (runs_page, (gint64[]) { a, b, c }, 3);
  wait_idle (runs_page);
  comparison = convolve_runs_page_get_comparison (runs_page);
  g_assert_nonnull (comparison);
  g_assert_cmpuint (convolve_run_comparison_get_n_runs (comparison), ==, 3);
  g_assert_cmpuint (convolve_run_comparison_get_n_curves (comparison), ==, 1);
  g_assert_cmpuint (convolve_run_comparison_get_curve (comparison, 0)->n_runs, ==, 3);
  /* And another run besides: two curves. */
  convolve_runs_page_select_runs (runs_page, (gint64[]) { a, b, c, d }, 4);
  wait_idle (runs_page);
  comparison = convolve_runs_page_get_comparison (runs_page);
  g_assert_cmpuint (convolve_run_comparison_get_n_curves (comparison), ==, 2);

  /* Rename: in the list and in the database. */
  convolve_runs_page_rename_run (runs_page, a, "baseline");
  wait_idle (runs_page);
  {
    g_autofree char *name = row_string (runs, find_row (runs, a), "name");
    g_autoptr(ConvolveRunRecord) record = convolve_run_store_get_run (store, a, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (name, ==, "baseline");
    g_assert_cmpstr (record->name, ==, "baseline");
  }

  /* Delete: the row, the record and the run's file are gone. */
  g_assert_true (g_file_test (model_file, G_FILE_TEST_EXISTS));
  convolve_runs_page_delete_runs (runs_page, (gint64[]) { b }, 1);
  wait_idle (runs_page);
  g_assert_cmpuint (g_list_model_get_n_items (runs), ==, 3);
  g_assert_cmpuint (find_row (runs, b), ==, G_MAXUINT);
  g_assert_false (g_file_test (model_file, G_FILE_TEST_EXISTS));
  g_assert_null (convolve_run_store_get_run (store, b, &error));
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Still selected: a and c (one group) and d. */
  comparison = convolve_runs_page_get_comparison (runs_page);
  g_assert_nonnull (comparison);
  g_assert_cmpuint (convolve_run_comparison_get_n_runs (comparison), ==, 3);

  /* A stopped run with a checkpoint is offered for resume. */
  {
    g_autofree char *checkpoint = g_build_filename (dir, "stopped.safetensors", NULL);
    ConvolveRunInfo info = { .name = "stopped", .dataset_name = "bands", .n_classes = 4 };
    ConvolveTrainConfig config;
    gint64 resumed = 0;
    gint64 stopped;

    convolve_train_config_init (&config);
    stopped = convolve_run_store_create_run (store, &info, &config, &error);
    g_assert_no_error (error);
    g_assert_true (g_file_set_contents (checkpoint, "checkpoint", -1, NULL));
    g_assert_true (convolve_run_store_set_paths (store, stopped, checkpoint, NULL, NULL, &error));
    g_assert_true (convolve_run_store_finish_run (store, stopped, CONVOLVE_RUN_STATUS_STOPPED, NULL, NULL, &error));
    convolve_runs_page_reload (runs_page);
    wait_idle (runs_page);
    g_signal_connect_swapped (page, "resume-run", G_CALLBACK (store_id), &resumed);
    convolve_runs_page_select_runs (runs_page, &a, 1);
    wait_idle (runs_page);
    g_assert_false (gtk_widget_activate_action (page, "runs.resume", NULL) && resumed != 0);
    g_assert_cmpint (resumed, ==, 0);  /* a finished run is not resumed */
    convolve_runs_page_select_runs (runs_page, &stopped, 1);
    wait_idle (runs_page);
    g_assert_true (gtk_widget_activate_action (page, "runs.resume", NULL));
    g_assert_cmpint (resumed, ==, stopped);
    convolve_runs_page_delete_runs (runs_page, &stopped, 1);
    wait_idle (runs_page);
    g_assert_false (g_file_test (checkpoint, G_FILE_TEST_EXISTS));
  }

  /* A run recorded elsewhere (the CLI) appears on reload. */
  {
    gint64 e = test_record_run (store, "from the CLI", "bands", 4, 0.01f, 1);

    convolve_runs_page_reload (runs_page);
    wait_idle (runs_page);
    g_assert_cmpuint (find_row (runs, e), !=, G_MAXUINT);
    g_assert_cmpuint (g_list_model_get_n_items (runs), ==, 4);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (page);

  g_clear_pointer (&store, convolve_run_store_unref);
  remove_store (db, dir);
}

/* A damaged database: the page says so instead of listing, no crash. */
static void
test_runs_page_damaged (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-runs-page-XXXXXX", &error);
  g_autofree char *db = g_build_filename (dir, "runs.sqlite", NULL);
  GtkWidget *page = g_object_ref_sink (convolve_runs_page_new ());
  AdwStatusPage *empty;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (db, "this is not a database, it only has a name like one", -1, NULL));
  convolve_runs_page_set_store_path (CONVOLVE_RUNS_PAGE (page), db);
  wait_idle (CONVOLVE_RUNS_PAGE (page));
  g_assert_cmpuint (g_list_model_get_n_items (convolve_runs_page_get_runs (CONVOLVE_RUNS_PAGE (page))), ==, 0);
  empty = ADW_STATUS_PAGE (gtk_widget_get_template_child (page, CONVOLVE_TYPE_RUNS_PAGE, "empty_page"));
  g_assert_nonnull (strstr (adw_status_page_get_description (empty), "Could not read the runs"));
  g_assert_finalize_object (page);
  g_unlink (db);
  g_rmdir (dir);
}

/* Hidden (another view is shown), the page does not follow a running run
 * on its poll: rebinding rows asks the window for a new size, a round trip
 * to the X server per cell. Shown again, it catches up. */
static void
test_runs_page_hidden (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-runs-page-XXXXXX", &error);
  g_autofree char *db = g_build_filename (dir, "runs.sqlite", NULL);
  g_autoptr(ConvolveRunStore) store = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *stack = gtk_stack_new ();
  GtkWidget *other = gtk_label_new ("another view");
  GtkWidget *page = convolve_runs_page_new ();
  ConvolveRunsPage *runs_page = CONVOLVE_RUNS_PAGE (page);
  ConvolveTrainConfig config;
  ConvolveRunInfo info = { 0 };
  GListModel *runs;
  gint64 running, deadline;

  g_assert_no_error (error);
  store = convolve_run_store_open (db, &error);
  g_assert_no_error (error);
  convolve_train_config_init (&config);
  info.name = "before";
  info.dataset_name = "bands";
  info.model_spec = "flatten,dense(4,softmax)";
  running = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (running, >, 0);

  g_object_ref (page);
  gtk_stack_add_named (GTK_STACK (stack), other, "other");
  gtk_stack_add_named (GTK_STACK (stack), page, "runs");
  gtk_stack_set_visible_child (GTK_STACK (stack), other);
  gtk_window_set_child (GTK_WINDOW (window), stack);
  gtk_window_present (GTK_WINDOW (window));
  convolve_runs_page_set_store_path (runs_page, db);
  wait_idle (runs_page);
  g_assert_false (gtk_widget_get_mapped (page));
  runs = convolve_runs_page_get_runs (runs_page);
  g_assert_cmpuint (g_list_model_get_n_items (runs), ==, 1);

  /* The run goes on (here: renamed) while the page is hidden; its 2 s poll
   * passes without a reload. */
  g_assert_true (convolve_run_store_rename_run (store, running, "after", &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  wait_idle (runs_page);
  {
    g_autofree char *name = row_string (runs, 0, "name");

    g_assert_cmpstr (name, ==, "before");
  }

  /* Shown: it reloads and shows the run as it is now. */
  gtk_stack_set_visible_child (GTK_STACK (stack), page);
  deadline = g_get_monotonic_time () + TIMEOUT_US;
  for (;;)
    {
      g_autofree char *name = NULL;

      wait_idle (runs_page);
      name = row_string (runs, 0, "name");
      if (g_strcmp0 (name, "after") == 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);
    }
  g_assert_true (gtk_widget_get_mapped (page));

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_finalize_object (page);
  g_clear_pointer (&store, convolve_run_store_unref);
  remove_store (db, dir);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/runs-page/page", test_runs_page);
  g_test_add_func ("/app/runs-page/damaged", test_runs_page_damaged);
  g_test_add_func ("/app/runs-page/hidden", test_runs_page_hidden);

  return g_test_run ();
}
