/* test-history.c: the training history: reading while writing, CSV and
 * JSON exports, the exact round trip checkpoints rely on.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convolve-history.h"

static ConvolveHistory *
make_small_history (void)
{
  ConvolveHistory *history = convolve_history_new ();
  ConvolveHistoryStep steps[] = {
    { 1, 1, 1, 2.5, 0.25 },
    { 2, 1, 2, 1.75, 0.5 },
    { 3, 2, 1, 0.1, 1.0 / 3.0 },
  };
  ConvolveHistoryEpoch epochs[] = {
    { 1, FALSE, 1.75, 0.5, 1.5, 0.625, 12.5 },
    { 2, TRUE, 0.1, 1.0 / 3.0, NAN, NAN, 3.0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++)
    g_assert_true (convolve_history_append_step (history, &steps[i]));
  for (gsize i = 0; i < G_N_ELEMENTS (epochs); i++)
    g_assert_true (convolve_history_append_epoch (history, &epochs[i]));
  return history;
}

static void
test_history_append_read (void)
{
  g_autoptr(ConvolveHistory) history = convolve_history_new ();

  g_assert_cmpuint (convolve_history_get_n_steps (history), ==, 0);
  g_assert_cmpuint (convolve_history_get_n_epochs (history), ==, 0);

  /* Across several chunks (16384 points each). */
  for (guint i = 0; i < 40000; i++)
    {
      ConvolveHistoryStep step = { i + 1, 1 + i / 1000, 1 + i % 1000, 1.0 / (i + 1), i * 1e-5 };

      g_assert_true (convolve_history_append_step (history, &step));
    }
  g_assert_cmpuint (convolve_history_get_n_steps (history), ==, 40000);
  for (guint i = 0; i < 40000; i += 997)
    {
      const ConvolveHistoryStep *step = convolve_history_get_step (history, i);

      g_assert_cmpint (step->global_step, ==, i + 1);
      g_assert_cmpint (step->epoch, ==, 1 + i / 1000);
      g_assert_cmpint (step->step, ==, 1 + i % 1000);
      g_assert_true (step->loss == 1.0 / (i + 1));
    }
}

typedef struct {
  ConvolveHistory *history;
  guint            total;
  gint             done;    /* atomic */
} ReaderData;

static gpointer
reader_thread (gpointer data)
{
  ReaderData *reader = data;
  guint checked = 0;

  /* Read every point as soon as it is published: each must be complete. */
  while (checked < reader->total)
    {
      guint n = convolve_history_get_n_steps (reader->history);

      for (; checked < n; checked++)
        {
          const ConvolveHistoryStep *step = convolve_history_get_step (reader->history, checked);

          if (step->global_step != (gint64) checked + 1 ||
              step->loss != (double) checked * 0.5 ||
              step->accuracy != (double) checked * 0.25)
            return GINT_TO_POINTER (FALSE);
        }
    }
  g_atomic_int_set (&reader->done, 1);
  return GINT_TO_POINTER (TRUE);
}

static void
test_history_concurrent_reader (void)
{
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  ReaderData reader = { history, 100000, 0 };
  GThread *thread = g_thread_new ("reader", reader_thread, &reader);

  for (guint i = 0; i < reader.total; i++)
    {
      ConvolveHistoryStep step = { (gint64) i + 1, 1, (int) i + 1, i * 0.5, i * 0.25 };

      convolve_history_append_step (history, &step);
    }

  g_assert_true (GPOINTER_TO_INT (g_thread_join (thread)));
  g_assert_cmpint (g_atomic_int_get (&reader.done), ==, 1);
}

static void
test_history_csv (void)
{
  g_autoptr(ConvolveHistory) history = make_small_history ();
  g_autofree char *steps = convolve_history_steps_to_csv (history);
  g_autofree char *epochs = convolve_history_epochs_to_csv (history);

  g_assert_cmpstr (steps, ==,
                   "global_step,epoch,step,loss,accuracy\n"
                   "1,1,1,2.5,0.25\n"
                   "2,1,2,1.75,0.5\n"
                   "3,2,1,0.1,0.3333333333333333\n");
  g_assert_cmpstr (epochs, ==,
                   "epoch,loss,accuracy,val_loss,val_accuracy,seconds,augmented\n"
                   "1,1.75,0.5,1.5,0.625,12.5,0\n"
                   "2,0.1,0.3333333333333333,nan,nan,3,1\n");
}

static void
test_history_json (void)
{
  g_autoptr(ConvolveHistory) history = make_small_history ();
  g_autoptr(ConvolveHistory) empty = convolve_history_new ();
  g_autofree char *json = convolve_history_to_json (history);
  g_autofree char *empty_json = convolve_history_to_json (empty);
  g_autofree char *line = convolve_history_epoch_to_json (convolve_history_get_epoch (history, 0));
  g_autofree char *augmented = convolve_history_epoch_to_json (convolve_history_get_epoch (history, 1));

  g_assert_cmpstr (line, ==,
                   "{\"epoch\": 1, \"loss\": 1.75, \"accuracy\": 0.5, \"val_loss\": 1.5, "
                   "\"val_accuracy\": 0.625, \"seconds\": 12.5, \"augmented\": false}");
  g_assert_cmpstr (augmented, ==,
                   "{\"epoch\": 2, \"loss\": 0.1, \"accuracy\": 0.3333333333333333, \"val_loss\": null, "
                   "\"val_accuracy\": null, \"seconds\": 3, \"augmented\": true}");
  g_assert_cmpstr (json, ==,
                   "{\n"
                   "  \"epochs\": [\n"
                   "    {\"epoch\": 1, \"loss\": 1.75, \"accuracy\": 0.5, \"val_loss\": 1.5, \"val_accuracy\": 0.625, \"seconds\": 12.5, \"augmented\": false},\n"
                   "    {\"epoch\": 2, \"loss\": 0.1, \"accuracy\": 0.3333333333333333, \"val_loss\": null, \"val_accuracy\": null, \"seconds\": 3, \"augmented\": true}\n"
                   "  ],\n"
                   "  \"steps\": [\n"
                   "    {\"global_step\": 1, \"epoch\": 1, \"step\": 1, \"loss\": 2.5, \"accuracy\": 0.25},\n"
                   "    {\"global_step\": 2, \"epoch\": 1, \"step\": 2, \"loss\": 1.75, \"accuracy\": 0.5},\n"
                   "    {\"global_step\": 3, \"epoch\": 2, \"step\": 1, \"loss\": 0.1, \"accuracy\": 0.3333333333333333}\n"
                   "  ]\n"
                   "}\n");
  g_assert_cmpstr (empty_json, ==, "{\n  \"epochs\": [],\n  \"steps\": []\n}\n");
}

static void
test_history_round_trip (void)
{
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveHistory) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *steps = NULL;
  g_autofree char *epochs = NULL;
  guint32 state = 12345;

  /* Awkward doubles: every bit must survive the text form. */
  for (guint i = 0; i < 500; i++)
    {
      ConvolveHistoryStep step;

      state = state * 1664525u + 1013904223u;
      step.global_step = i + 1;
      step.epoch = 1 + i / 100;
      step.step = 1 + i % 100;
      step.loss = (double) state / 3.0e9 * 7.123456789;
      step.accuracy = 1.0 / (1.0 + state % 977);
      convolve_history_append_step (history, &step);
      if (i % 100 == 99)
        {
          ConvolveHistoryEpoch epoch = { step.epoch, i > 300, step.loss, step.accuracy,
                                         step.loss * 1.1, i % 200 == 99 ? NAN : step.accuracy / 3.0,
                                         i * 0.0123 };

          convolve_history_append_epoch (history, &epoch);
        }
    }

  steps = convolve_history_steps_to_csv (history);
  epochs = convolve_history_epochs_to_csv (history);
  copy = convolve_history_new_from_csv (steps, epochs, &error);
  g_assert_no_error (error);
  g_assert_nonnull (copy);

  g_assert_cmpuint (convolve_history_get_n_steps (copy), ==, 500);
  g_assert_cmpuint (convolve_history_get_n_epochs (copy), ==, 5);
  for (guint i = 0; i < 500; i++)
    g_assert_cmpmem (convolve_history_get_step (history, i), sizeof (ConvolveHistoryStep),
                     convolve_history_get_step (copy, i), sizeof (ConvolveHistoryStep));
  for (guint i = 0; i < 5; i++)
    {
      const ConvolveHistoryEpoch *a = convolve_history_get_epoch (history, i);
      const ConvolveHistoryEpoch *b = convolve_history_get_epoch (copy, i);

      g_assert_cmpint (a->epoch, ==, b->epoch);
      g_assert_cmpint (a->augmented, ==, b->augmented);
      g_assert_true (a->loss == b->loss);
      g_assert_true (a->accuracy == b->accuracy);
      g_assert_true (a->val_loss == b->val_loss);
      g_assert_true (a->val_accuracy == b->val_accuracy || (isnan (a->val_accuracy) && isnan (b->val_accuracy)));
      g_assert_true (a->seconds == b->seconds);
    }
}

static void
test_history_damaged (void)
{
  g_autoptr(GError) error = NULL;
  ConvolveHistory *history;

  history = convolve_history_new_from_csv ("global_step,epoch,step,loss,accuracy\n1,1,1,0.5,0.5\n2,1,x,0.5,0.5\n",
                                           NULL, &error);
  g_assert_null (history);
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY);
  g_assert_nonnull (strstr (error->message, "3"));
  g_clear_error (&error);

  history = convolve_history_new_from_csv ("step,loss\n1,0.5\n", NULL, &error);
  g_assert_null (history);
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY);
  g_clear_error (&error);

  history = convolve_history_new_from_csv (NULL,
                                           "epoch,loss,accuracy,val_loss,val_accuracy,seconds,augmented\n1,0.5,0.5,0.5,0.5,1,2\n",
                                           &error);
  g_assert_null (history);
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY);
  g_clear_error (&error);

  history = convolve_history_new_from_csv ("global_step,epoch,step,loss,accuracy\n1,1,1,0.5\n", NULL, &error);
  g_assert_null (history);
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY);
}

static void
test_history_save (void)
{
  g_autoptr(ConvolveHistory) history = make_small_history ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-history-XXXXXX", &error);
  g_autofree char *csv_path = NULL;
  g_autofree char *steps_path = NULL;
  g_autofree char *json_path = NULL;
  g_autofree char *bad_path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *expected = NULL;

  g_assert_no_error (error);
  csv_path = g_build_filename (dir, "epochs.csv", NULL);
  steps_path = g_build_filename (dir, "steps.csv", NULL);
  json_path = g_build_filename (dir, "history.json", NULL);
  bad_path = g_build_filename (dir, "missing", "history.json", NULL);

  g_assert_true (convolve_history_save_epochs_csv (history, csv_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (csv_path, &contents, NULL, NULL));
  expected = convolve_history_epochs_to_csv (history);
  g_assert_cmpstr (contents, ==, expected);
  g_clear_pointer (&contents, g_free);
  g_clear_pointer (&expected, g_free);

  g_assert_true (convolve_history_save_steps_csv (history, steps_path, &error));
  g_assert_true (g_file_get_contents (steps_path, &contents, NULL, NULL));
  expected = convolve_history_steps_to_csv (history);
  g_assert_cmpstr (contents, ==, expected);
  g_clear_pointer (&contents, g_free);
  g_clear_pointer (&expected, g_free);

  g_assert_true (convolve_history_save_json (history, json_path, &error));
  g_assert_true (g_file_get_contents (json_path, &contents, NULL, NULL));
  expected = convolve_history_to_json (history);
  g_assert_cmpstr (contents, ==, expected);

  g_assert_false (convolve_history_save_json (history, bad_path, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "history.json"));

  g_unlink (csv_path);
  g_unlink (steps_path);
  g_unlink (json_path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/history/append-read", test_history_append_read);
  g_test_add_func ("/train/history/concurrent-reader", test_history_concurrent_reader);
  g_test_add_func ("/train/history/csv", test_history_csv);
  g_test_add_func ("/train/history/json", test_history_json);
  g_test_add_func ("/train/history/round-trip", test_history_round_trip);
  g_test_add_func ("/train/history/damaged", test_history_damaged);
  g_test_add_func ("/train/history/save", test_history_save);

  return g_test_run ();
}
