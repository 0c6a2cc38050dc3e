/* test-session-import.c: the session opening image folders, as the window
 * does: the settings it is given, "load-progress" on the main context,
 * cancel (the datasets there were stay), the skipped count, and a model
 * made for the folder's shape and classes that trains on it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <stdio.h>

#include "convolve-loaders.h"
#include "convolve-model-check.h"
#include "convolve-session.h"
#include "data-test-util.h"
#include "session-test-util.h"

static char *cache_root;

static void
write_picture (const char *root,
               const char *name,
               int         size,
               guint32     colour)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, size, size * 3 / 4);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (root, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  gdk_pixbuf_fill (pixbuf, colour);
  gdk_pixbuf_save (pixbuf, path, "jpeg", &error, NULL);
  g_assert_no_error (error);
}

/* n JPEGs per class (copies of one each, written without syncing), and a
 * file that is no picture. */
static char *
make_folder (guint n)
{
  g_autofree char *base = data_test_make_dir ();
  char *root = g_build_filename (base, "shapes", NULL);
  static const char * const classes[] = { "circle", "square", "star" };

  for (guint k = 0; k < G_N_ELEMENTS (classes); k++)
    {
      g_autofree char *first = g_strdup_printf ("%s/0000.jpg", classes[k]);
      g_autofree char *first_path = g_build_filename (root, first, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      write_picture (root, first, 200, 0x20000000u * (k + 1) + 0x4080c0ffu);
      g_assert_true (g_file_get_contents (first_path, &contents, &length, NULL));
      for (guint i = 1; i < n; i++)
        {
          g_autofree char *path = g_strdup_printf ("%s/%s/%04u.jpg", root, classes[k], i);
          FILE *file = fopen (path, "wb");

          g_assert_nonnull (file);
          g_assert_cmpuint (fwrite (contents, 1, length, file), ==, length);
          g_assert_cmpint (fclose (file), ==, 0);
        }
    }
  g_free (data_test_write (root, "star/readme.txt", "no picture", 10));
  return root;
}

static void
remove_folder (char *root)
{
  g_autofree char *base = g_path_get_dirname (root);

  data_test_remove_dir (base);
  data_test_remove_dir (cache_root);
  g_free (root);
}

typedef struct {
  guint calls;
  guint done;
  guint total;
  guint skipped;
  gboolean cancel;
  ConvolveSession *session;
} Progress;

static void
load_progress_cb (ConvolveSession *session,
                  guint            done,
                  guint            total,
                  guint            skipped,
                  Progress        *progress)
{
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_assert_cmpuint (done, <=, total);
  g_assert_cmpuint (done, >=, progress->done);
  progress->calls++;
  progress->done = done;
  progress->total = total;
  progress->skipped = skipped;
  if (progress->cancel && done > 0)
    convolve_session_cancel_load (session);
}

static void
test_open (void)
{
  g_autoptr(ConvolveSession) session = convolve_session_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *root = make_folder (12);
  ConvolveImageFolderOptions options;
  ConvolveImageFolderReport report;
  Progress progress = { 0 };
  ConvolveDataset *train;
  ConvolveShape shape;

  g_signal_connect (session, "load-progress", G_CALLBACK (load_progress_cb), &progress);
  convolve_image_folder_options_init (&options);
  options.side = 64;
  options.validation_fraction = 0.25;
  convolve_session_set_image_folder_options (session, &options);

  convolve_session_open_dataset_async (session, root, NULL, 3, NULL, session_test_result_cb, &result);
  g_assert_true (convolve_session_open_dataset_finish (session, session_test_wait_result (&result), &error));
  g_assert_no_error (error);

  train = convolve_session_get_train (session);
  shape = convolve_dataset_get_shape (train);
  g_assert_cmpint (shape.h, ==, 64);
  g_assert_cmpint (shape.c, ==, 3);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 27);
  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_test (session)), ==, 9);
  g_assert_cmpstr (convolve_session_get_class_names (session)[2], ==, "star");
  /* a model for 64 x 64 x 3 and three classes */
  g_assert_true (convolve_check_model_for_dataset (convolve_session_get_model (session), train, NULL));
  g_assert_true (convolve_session_get_import_report (session, &report));
  g_assert_cmpuint (report.n_files, ==, 37);
  g_assert_cmpuint (report.n_skipped, ==, 1);
  g_assert_false (report.from_cache);
  g_assert_cmpuint (progress.calls, >=, 1);
  g_assert_cmpuint (progress.done, ==, 37);
  g_assert_cmpuint (progress.skipped, ==, 1);

  /* a dataset set directly is no image folder */
  g_assert_true (convolve_session_set_datasets (session, train, NULL, NULL, NULL, 3, &error));
  g_assert_false (convolve_session_get_import_report (session, &report));

  remove_folder (root);
}

static void
test_cancel (void)
{
  g_autoptr(ConvolveSession) session = convolve_session_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) before = convolve_dataset_new ("before", 4, 3, 32, 32,
                                                             (const char * const[]) { "a", "b", NULL });
  char *root = make_folder (1500);
  Progress progress = { .cancel = TRUE };

  g_assert_true (convolve_session_set_datasets (session, before, NULL, "/before", NULL, 3, &error));
  g_signal_connect (session, "load-progress", G_CALLBACK (load_progress_cb), &progress);

  convolve_session_open_dataset_async (session, root, NULL, 3, NULL, session_test_result_cb, &result);
  g_assert_true (convolve_session_is_loading (session));
  g_assert_false (convolve_session_open_dataset_finish (session, session_test_wait_result (&result), &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (convolve_session_is_loading (session));
  g_assert_true (convolve_session_get_train (session) == before);
  g_assert_cmpstr (convolve_session_get_dataset_path (session), ==, "/before");
  g_assert_cmpuint (progress.calls, >=, 1);
  g_assert_cmpuint (progress.done, <, progress.total);

  /* opening it again works, whatever the cancelled one left; its
   * progress starts again from nothing */
  progress.cancel = FALSE;
  progress.done = 0;
  convolve_session_open_dataset_async (session, root, NULL, 3, NULL, session_test_result_cb, &second);
  g_assert_true (convolve_session_open_dataset_finish (session, session_test_wait_result (&second), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_train (session)) +
                    convolve_dataset_get_n_images (convolve_session_get_test (session)), ==, 4500);

  remove_folder (root);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  cache_root = data_test_make_dir ();
  g_setenv ("CONVOLVE_CACHE_DIR", cache_root, TRUE);

  g_test_add_func ("/session/import/open", test_open);
  g_test_add_func ("/session/import/cancel", test_cancel);

  status = g_test_run ();
  data_test_remove_dir (cache_root);
  g_free (cache_root);
  return status;
}
