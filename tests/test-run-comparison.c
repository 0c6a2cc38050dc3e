/* test-run-comparison.c: which runs differ only in the seed, which
 * settings differ, and the curves of a comparison, on real runs trained
 * into a temporary store.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>

#include "convolve-train.h"
#include "test-recorded-runs.h"

static char *work_dir;
static ConvolveRunStore *store;
/* Seeds 1, 2 and 3 at lr 0.01, and seed 1 at lr 0.05: three epochs each. */
static gint64 run_a, run_b, run_c, run_d;

static ConvolveRunRecord *
get_run (gint64 id)
{
  g_autoptr(GError) error = NULL;
  ConvolveRunRecord *run = convolve_run_store_get_run (store, id, &error);

  g_assert_no_error (error);
  return run;
}

static void
assert_settings (GArray     *differing,
                 const guint *expected,
                 guint        n_expected)
{
  g_assert_cmpuint (differing->len, ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    g_assert_cmpuint (g_array_index (differing, guint, i), ==, expected[i]);
}

static void
test_settings (void)
{
  g_autoptr(ConvolveRunRecord) a = get_run (run_a);
  g_autoptr(ConvolveRunRecord) d = get_run (run_d);
  g_autofree char *lr = convolve_run_setting_format (CONVOLVE_RUN_SETTING_LEARNING_RATE, d);
  g_autofree char *seed = convolve_run_setting_format (CONVOLVE_RUN_SETTING_SEED, d);
  g_autofree char *model = convolve_run_setting_format (CONVOLVE_RUN_SETTING_MODEL, a);

  g_assert_cmpstr (lr, ==, "0.05");
  g_assert_cmpstr (seed, ==, "1");
  g_assert_cmpstr (model, ==, a->model_spec);
  g_assert_cmpstr (convolve_run_setting_get_key (CONVOLVE_RUN_SETTING_LEARNING_RATE), ==, "learning_rate");
  g_assert_cmpstr (convolve_run_setting_get_title (CONVOLVE_RUN_SETTING_LEARNING_RATE), ==, "Learning rate");
  for (guint s = 0; s < CONVOLVE_RUN_N_SETTINGS; s++)
    {
      g_autofree char *value = convolve_run_setting_format (s, a);

      g_assert_nonnull (value);
      g_assert_nonnull (convolve_run_setting_get_key (s));
    }
}

static void
test_differing (void)
{
  g_autoptr(ConvolveRunRecord) a = get_run (run_a);
  g_autoptr(ConvolveRunRecord) b = get_run (run_b);
  g_autoptr(ConvolveRunRecord) c = get_run (run_c);
  g_autoptr(ConvolveRunRecord) d = get_run (run_d);
  const ConvolveRunRecord *seeds[] = { a, b, c };
  const ConvolveRunRecord *rates[] = { a, d };
  const ConvolveRunRecord *mixed[] = { a, b, d };
  g_autoptr(GArray) by_seed = convolve_run_records_differing_settings (seeds, 3);
  g_autoptr(GArray) by_rate = convolve_run_records_differing_settings (rates, 2);
  g_autoptr(GArray) by_both = convolve_run_records_differing_settings (mixed, 3);
  g_autoptr(GArray) alone = convolve_run_records_differing_settings (seeds, 1);

  assert_settings (by_seed, (guint[]) { CONVOLVE_RUN_SETTING_SEED }, 1);
  assert_settings (by_rate, (guint[]) { CONVOLVE_RUN_SETTING_LEARNING_RATE }, 1);
  assert_settings (by_both, (guint[]) { CONVOLVE_RUN_SETTING_LEARNING_RATE, CONVOLVE_RUN_SETTING_SEED }, 2);
  g_assert_cmpuint (alone->len, ==, 0);

  g_assert_true (convolve_run_records_differ_only_in_seed (a, b));
  g_assert_true (convolve_run_records_differ_only_in_seed (a, a));
  g_assert_false (convolve_run_records_differ_only_in_seed (a, d));
  g_assert_false (convolve_run_records_differ_only_in_seed (b, d));

  /* The threads are not a hyperparameter; the dataset is. */
  b->config.threads = 2;
  g_assert_true (convolve_run_records_differ_only_in_seed (a, b));
  {
    g_autoptr(GArray) differing = convolve_run_records_differing_settings (seeds, 3);

    assert_settings (differing, (guint[]) { CONVOLVE_RUN_SETTING_SEED, CONVOLVE_RUN_SETTING_THREADS }, 2);
  }
  /* Early stopping is one (recorded since schema 2), written as one value. */
  b->config.threads = a->config.threads;
  {
    g_autofree char *off = convolve_run_setting_format (CONVOLVE_RUN_SETTING_EARLY_STOPPING, a);
    g_autofree char *on = NULL;
    g_autofree char *fine = NULL;
    g_autoptr(GArray) differing = NULL;

    g_assert_cmpstr (off, ==, "off");
    b->config.early_stopping_patience = 3;
    b->config.early_stopping_monitor = CONVOLVE_MONITOR_VAL_ACCURACY;
    b->config.restore_best_weights = TRUE;
    on = convolve_run_setting_format (CONVOLVE_RUN_SETTING_EARLY_STOPPING, b);
    g_assert_cmpstr (on, ==, "val_accuracy/3/restore");
    b->config.early_stopping_monitor = CONVOLVE_MONITOR_VAL_LOSS;
    b->config.early_stopping_min_delta = 0.01;
    b->config.restore_best_weights = FALSE;
    fine = convolve_run_setting_format (CONVOLVE_RUN_SETTING_EARLY_STOPPING, b);
    g_assert_cmpstr (fine, ==, "val_loss/3/0.01");
    g_assert_false (convolve_run_records_differ_only_in_seed (a, b));
    differing = convolve_run_records_differing_settings (seeds, 3);
    assert_settings (differing, (guint[]) { CONVOLVE_RUN_SETTING_EARLY_STOPPING, CONVOLVE_RUN_SETTING_SEED }, 2);
    b->config.early_stopping_patience = 0;
  }
  g_free (b->dataset_name);
  b->dataset_name = g_strdup ("other");
  g_assert_false (convolve_run_records_differ_only_in_seed (a, b));
}

static void
test_groups (void)
{
  g_autoptr(ConvolveRunRecord) a = get_run (run_a);
  g_autoptr(ConvolveRunRecord) b = get_run (run_b);
  g_autoptr(ConvolveRunRecord) c = get_run (run_c);
  g_autoptr(ConvolveRunRecord) d = get_run (run_d);
  const ConvolveRunRecord *runs[] = { a, d, b, c };
  g_autoptr(GPtrArray) groups = convolve_run_records_group_by_seed (runs, 4);
  g_autoptr(GPtrArray) none = convolve_run_records_group_by_seed (NULL, 0);
  GArray *first, *second;

  g_assert_cmpuint (groups->len, ==, 2);
  first = g_ptr_array_index (groups, 0);
  second = g_ptr_array_index (groups, 1);
  g_assert_cmpuint (first->len, ==, 3);
  g_assert_cmpuint (g_array_index (first, guint, 0), ==, 0);
  g_assert_cmpuint (g_array_index (first, guint, 1), ==, 2);
  g_assert_cmpuint (g_array_index (first, guint, 2), ==, 3);
  g_assert_cmpuint (second->len, ==, 1);
  g_assert_cmpuint (g_array_index (second, guint, 0), ==, 1);
  g_assert_cmpuint (none->len, ==, 0);
}

/* The group's curve is the mean, min and max of its runs' recorded epochs. */
static void
test_curves (void)
{
  const gint64 ids[] = { run_a, run_d, run_b, run_c };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunComparison) grouped = convolve_run_comparison_load (store, ids, 4, TRUE, &error);
  g_autoptr(ConvolveRunComparison) separate = NULL;
  g_autoptr(GArray) epochs_a = convolve_run_store_get_epochs (store, run_a, NULL);
  g_autoptr(GArray) epochs_b = convolve_run_store_get_epochs (store, run_b, NULL);
  g_autoptr(GArray) epochs_c = convolve_run_store_get_epochs (store, run_c, NULL);
  const ConvolveRunCurve *seeds, *single;
  gboolean spread = FALSE;

  g_assert_no_error (error);
  g_assert_cmpuint (convolve_run_comparison_get_n_curves (grouped), ==, 2);
  g_assert_cmpuint (convolve_run_comparison_get_n_runs (grouped), ==, 4);
  g_assert_cmpuint (convolve_run_comparison_get_n_epochs (grouped), ==, 3);
  g_assert_cmpuint (convolve_run_comparison_get_differing (grouped)->len, ==, 2);
  seeds = convolve_run_comparison_get_curve (grouped, 0);
  single = convolve_run_comparison_get_curve (grouped, 1);
  g_assert_cmpuint (seeds->n_runs, ==, 3);
  g_assert_cmpint (seeds->run_ids[0], ==, run_a);
  g_assert_cmpint (seeds->run_ids[1], ==, run_b);
  g_assert_cmpint (seeds->run_ids[2], ==, run_c);
  g_assert_cmpstr (seeds->label, ==, "seed 1 (3 seeds)");
  g_assert_cmpuint (seeds->n_epochs, ==, 3);
  g_assert_cmpuint (epochs_a->len, ==, 3);

  for (guint e = 0; e < 3; e++)
    {
      double values[3] = {
        g_array_index (epochs_a, ConvolveHistoryEpoch, e).val_accuracy,
        g_array_index (epochs_b, ConvolveHistoryEpoch, e).val_accuracy,
        g_array_index (epochs_c, ConvolveHistoryEpoch, e).val_accuracy,
      };
      double losses[3] = {
        g_array_index (epochs_a, ConvolveHistoryEpoch, e).val_loss,
        g_array_index (epochs_b, ConvolveHistoryEpoch, e).val_loss,
        g_array_index (epochs_c, ConvolveHistoryEpoch, e).val_loss,
      };

      g_assert_cmpfloat_with_epsilon (seeds->val_accuracy[e], (values[0] + values[1] + values[2]) / 3, 1e-12);
      g_assert_cmpfloat (seeds->val_accuracy_min[e], ==, MIN (values[0], MIN (values[1], values[2])));
      g_assert_cmpfloat (seeds->val_accuracy_max[e], ==, MAX (values[0], MAX (values[1], values[2])));
      g_assert_cmpfloat_with_epsilon (seeds->val_loss[e], (losses[0] + losses[1] + losses[2]) / 3, 1e-12);
      g_assert_cmpfloat (seeds->val_loss_min[e], ==, MIN (losses[0], MIN (losses[1], losses[2])));
      g_assert_cmpfloat (seeds->val_loss_max[e], ==, MAX (losses[0], MAX (losses[1], losses[2])));
      spread |= seeds->val_loss_max[e] > seeds->val_loss_min[e];
    }
  /* Different seeds really trained differently. */
  g_assert_true (spread);
  /* The group's best epoch: the lowest mean validation loss. */
  g_assert_cmpint (seeds->best_epoch, >=, 1);
  for (guint e = 0; e < 3; e++)
    g_assert_cmpfloat (seeds->val_loss[seeds->best_epoch - 1], <=, seeds->val_loss[e]);

  /* A single run: its own curve, band of zero width, its recorded best epoch. */
  {
    g_autoptr(ConvolveRunRecord) d = get_run (run_d);

    g_assert_cmpuint (single->n_runs, ==, 1);
    g_assert_cmpstr (single->label, ==, "rate");
    g_assert_cmpint (single->best_epoch, ==, d->best_epoch);
    g_assert_cmpint (d->best_epoch, >=, 1);
    for (guint e = 0; e < 3; e++)
      g_assert_cmpfloat (single->val_accuracy_min[e], ==, single->val_accuracy[e]);
  }

  separate = convolve_run_comparison_load (store, ids, 4, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_run_comparison_get_n_curves (separate), ==, 4);
  for (guint c = 0; c < 4; c++)
    g_assert_cmpint (convolve_run_comparison_get_curve (separate, c)->run_ids[0], ==, ids[c]);
}

static void
test_unknown_run (void)
{
  const gint64 ids[] = { run_a, 9999 };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunComparison) comparison = convolve_run_comparison_load (store, ids, 2, TRUE, &error);

  g_assert_null (comparison);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  work_dir = g_dir_make_tmp ("convolve-run-comparison-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (work_dir, "runs.sqlite", NULL);
  store = convolve_run_store_open (path, &error);
  g_assert_no_error (error);
  run_a = test_record_run (store, "seed 1", "bands", 1, 0.01f, 3);
  run_b = test_record_run (store, "seed 2", "bands", 2, 0.01f, 3);
  run_c = test_record_run (store, "seed 3", "bands", 3, 0.01f, 3);
  run_d = test_record_run (store, "rate", "bands", 1, 0.05f, 3);

  g_test_add_func ("/train/run-comparison/settings", test_settings);
  g_test_add_func ("/train/run-comparison/differing", test_differing);
  g_test_add_func ("/train/run-comparison/groups", test_groups);
  g_test_add_func ("/train/run-comparison/curves", test_curves);
  g_test_add_func ("/train/run-comparison/unknown-run", test_unknown_run);
  status = g_test_run ();

  convolve_run_store_unref (store);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);
    g_autofree char *owners = g_strconcat (path, "-owners", NULL);

    g_unlink (path);
    g_unlink (wal);
    g_unlink (shm);
    g_unlink (owners);
  }
  g_rmdir (work_dir);
  g_free (work_dir);
  return status;
}
