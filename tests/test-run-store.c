/* test-run-store.c: the SQLite run store: schema and migration, every
 * field written and read back, the recorder's batches, a run killed
 * mid-write found interrupted, concurrent readers, and damaged, locked and
 * full database files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convolve-json.h"
#include "convolve-train.h"
#include "convolve-progress-private.h"
#include "convolve-run-recorder.h"
#include "convolve-run-store-private.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture      *fixture,
                gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("convolve-run-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "runs.sqlite", NULL);
}

static void
fixture_tear_down (Fixture      *fixture,
                   gconstpointer data)
{
  g_autoptr(GDir) handle = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static void
test_config (ConvolveTrainConfig *config)
{
  convolve_train_config_init (config);
  config->epochs = 3;
  config->augment_epochs = 2;
  config->batch_size = 64;
  config->optimizer = CONVOLVE_OPTIMIZER_SGD;
  config->learning_rate = 0.025f;
  config->seed = G_GUINT64_CONSTANT (0xfedcba9876543210);  /* above INT64_MAX */
  config->threads = 3;
  config->train_limit = 5000;
  config->eval_batch_size = 128;
  config->snapshot_every_steps = 50;
  config->progress_interval_ms = 250;
  config->augment.width_shift_range = 0.125f;
  config->augment.height_shift_range = 0.25f;
  config->augment.horizontal_flip = FALSE;
  config->early_stopping_patience = 4;
  config->early_stopping_monitor = CONVOLVE_MONITOR_VAL_ACCURACY;
  config->early_stopping_min_delta = 0.005;
  config->restore_best_weights = TRUE;
}

static void
test_info (ConvolveRunInfo *info,
           const char      *name,
           const char      *dataset)
{
  *info = (ConvolveRunInfo) {
    .name = name,
    .dataset_name = dataset,
    .dataset_path = "/data/fashion-mnist",
    .n_train = 5000,
    .n_test = 1000,
    .n_classes = 10,
    .model_spec = "conv2d(4,3,same,relu),flatten,dense(10,softmax)",
    .n_parameters = 31402,
  };
}

static ConvolveHistoryStep
make_step (gint64 global_step)
{
  return (ConvolveHistoryStep) {
    .global_step = global_step,
    .epoch = (int) ((global_step - 1) / 100 + 1),
    .step = (int) ((global_step - 1) % 100 + 1),
    .loss = 2.0 / (double) global_step,
    .accuracy = 1.0 - 1.0 / (double) (global_step + 1),
  };
}

static ConvolveHistoryEpoch
make_epoch (int epoch)
{
  static const double val_losses[] = { 0.9, 0.5, 0.6, 0.45, 0.47 };

  return (ConvolveHistoryEpoch) {
    .epoch = epoch,
    .augmented = epoch > 3,
    .loss = 1.0 / epoch,
    .accuracy = 0.5 + 0.05 * epoch,
    .val_loss = val_losses[(epoch - 1) % 5],
    .val_accuracy = 0.6 + 0.04 * epoch,
    .seconds = 1.5 * epoch,
  };
}

static gint64
query_int (const char *path,
           const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static char *
query_text (const char *path,
            const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static void
assert_integrity (const char *path)
{
  g_autofree char *result = query_text (path, "PRAGMA integrity_check");

  g_assert_cmpstr (result, ==, "ok");
}

/* steps must be exactly 1..n in order. */
static void
assert_steps_prefix (GArray *steps)
{
  for (guint i = 0; i < steps->len; i++)
    {
      const ConvolveHistoryStep *step = &g_array_index (steps, ConvolveHistoryStep, i);
      ConvolveHistoryStep expected = make_step (i + 1);

      g_assert_cmpint (step->global_step, ==, expected.global_step);
      g_assert_cmpint (step->epoch, ==, expected.epoch);
      g_assert_cmpint (step->step, ==, expected.step);
      g_assert_cmpfloat (step->loss, ==, expected.loss);
      g_assert_cmpfloat (step->accuracy, ==, expected.accuracy);
    }
}

/* Schema and fields ------------------------------------------------------ */

static void
test_schema (Fixture      *fixture,
             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autofree char *mode = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_cmpint (query_int (fixture->path, "PRAGMA user_version"), ==, CONVOLVE_RUN_STORE_SCHEMA_VERSION);
  mode = query_text (fixture->path, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (query_int (fixture->path,
                              "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                              " AND name IN ('runs', 'steps', 'epochs')"), ==, 3);
  /* foreign_keys is per connection: ask the store's own. */
  g_assert_cmpint (sqlite3_prepare_v2 (store->db, "PRAGMA foreign_keys", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);
  sqlite3_finalize (stmt);
  g_assert_cmpint (convolve_run_store_get_busy_timeout (store), ==, CONVOLVE_RUN_STORE_BUSY_TIMEOUT_MS);

  /* Opening again changes nothing. */
  g_clear_pointer (&store, convolve_run_store_unref);
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (fixture->path, "PRAGMA user_version"), ==, CONVOLVE_RUN_STORE_SCHEMA_VERSION);
}

static void
test_default_path (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("CONVOLVE_RUNS_DB"));
  g_autofree char *from_env = NULL;
  g_autofree char *from_xdg = NULL;
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "convolve", "runs.sqlite", NULL);

  g_setenv ("CONVOLVE_RUNS_DB", "/tmp/elsewhere.sqlite", TRUE);
  from_env = convolve_run_store_get_default_path ();
  g_assert_cmpstr (from_env, ==, "/tmp/elsewhere.sqlite");
  g_setenv ("CONVOLVE_RUNS_DB", "", TRUE);
  from_xdg = convolve_run_store_get_default_path ();
  g_assert_cmpstr (from_xdg, ==, expected);
  if (saved != NULL)
    g_setenv ("CONVOLVE_RUNS_DB", saved, TRUE);
  else
    g_unsetenv ("CONVOLVE_RUNS_DB");
}

static void
test_roundtrip (Fixture      *fixture,
                gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(GArray) steps = NULL;
  g_autoptr(GArray) epochs = NULL;
  g_autoptr(ConvolveEvaluation) evaluation = convolve_evaluation_new ();
  ConvolveHistoryStep step_rows[250];
  ConvolveHistoryEpoch epoch_rows[5];
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  gint64 id;
  gint64 before = g_get_real_time ();

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, "first", "Fashion-MNIST");
  id = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);

  for (int i = 0; i < 250; i++)
    step_rows[i] = make_step (i + 1);
  step_rows[7].loss = NAN;  /* NaN survives as NULL -> NaN */
  for (int i = 0; i < 5; i++)
    epoch_rows[i] = make_epoch (i + 1);
  epoch_rows[4].val_loss = NAN;
  epoch_rows[4].val_accuracy = NAN;
  g_assert_true (convolve_run_store_append_steps (store, id, step_rows, 200, &error));
  g_assert_no_error (error);
  /* Written again (a resume) and continued: replaced, not duplicated. */
  g_assert_true (convolve_run_store_append_steps (store, id, step_rows + 150, 100, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_run_store_append_epochs (store, id, epoch_rows, 5, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_run_store_set_paths (store, id, "/ck/last.safetensors", "/ck/best.safetensors",
                                               NULL, &error));
  g_assert_true (convolve_run_store_set_paths (store, id, NULL, NULL, "/models/final.safetensors", &error));
  g_assert_true (convolve_run_store_set_best_epoch (store, id, 4, 0.45, 0.76, &error));
  g_assert_no_error (error);

  run = convolve_run_store_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_RUNNING);
  g_assert_cmpint (run->ended_at, ==, 0);
  g_clear_pointer (&run, convolve_run_record_free);

  evaluation->loss = 0.41;
  evaluation->accuracy = 0.875;
  g_assert_true (convolve_run_store_finish_run (store, id, CONVOLVE_RUN_STATUS_FINISHED, evaluation,
                                                "ignored unless failed", &error));
  g_assert_no_error (error);

  run = convolve_run_store_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->id, ==, id);
  g_assert_cmpstr (run->name, ==, "first");
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_null (run->error_message);
  g_assert_cmpint (run->created_at, >=, before);
  g_assert_cmpint (run->started_at, ==, run->created_at);
  g_assert_cmpint (run->ended_at, >=, run->started_at);
  g_assert_cmpstr (run->dataset_name, ==, "Fashion-MNIST");
  g_assert_cmpstr (run->dataset_path, ==, "/data/fashion-mnist");
  g_assert_cmpuint (run->n_train, ==, 5000);
  g_assert_cmpuint (run->n_test, ==, 1000);
  g_assert_cmpint (run->n_classes, ==, 10);
  g_assert_cmpstr (run->model_spec, ==, info.model_spec);
  g_assert_cmpint (run->n_parameters, ==, 31402);
  g_assert_cmpint (run->config.epochs, ==, config.epochs);
  g_assert_cmpint (run->config.augment_epochs, ==, config.augment_epochs);
  g_assert_cmpint (run->config.batch_size, ==, config.batch_size);
  g_assert_cmpint (run->config.optimizer, ==, CONVOLVE_OPTIMIZER_SGD);
  g_assert_cmpfloat (run->config.learning_rate, ==, config.learning_rate);
  g_assert_cmpuint (run->config.seed, ==, config.seed);
  g_assert_cmpint (run->config.threads, ==, config.threads);
  g_assert_cmpuint (run->config.train_limit, ==, config.train_limit);
  g_assert_cmpint (run->config.eval_batch_size, ==, config.eval_batch_size);
  g_assert_cmpint (run->config.snapshot_every_steps, ==, config.snapshot_every_steps);
  g_assert_cmpint (run->config.progress_interval_ms, ==, config.progress_interval_ms);
  g_assert_cmpfloat (run->config.augment.width_shift_range, ==, config.augment.width_shift_range);
  g_assert_cmpfloat (run->config.augment.height_shift_range, ==, config.augment.height_shift_range);
  g_assert_false (run->config.augment.horizontal_flip);
  g_assert_cmpint (run->config.early_stopping_patience, ==, 4);
  g_assert_cmpint (run->config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_ACCURACY);
  g_assert_cmpfloat (run->config.early_stopping_min_delta, ==, 0.005);
  g_assert_true (run->config.restore_best_weights);
  g_assert_cmpfloat (run->final_loss, ==, 0.41);
  g_assert_cmpfloat (run->final_accuracy, ==, 0.875);
  g_assert_cmpint (run->best_epoch, ==, 4);
  g_assert_cmpfloat (run->best_val_loss, ==, 0.45);
  g_assert_cmpfloat (run->best_val_accuracy, ==, 0.76);
  g_assert_cmpint (run->n_epochs_done, ==, 5);
  g_assert_cmpint (run->n_steps_done, ==, 250);
  g_assert_cmpstr (run->checkpoint_path, ==, "/ck/last.safetensors");
  g_assert_cmpstr (run->best_checkpoint_path, ==, "/ck/best.safetensors");
  g_assert_cmpstr (run->model_path, ==, "/models/final.safetensors");
  g_assert_cmpint (run->owner_pid, ==, getpid ());

  steps = convolve_run_store_get_steps (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (steps->len, ==, 250);
  g_assert_true (isnan (g_array_index (steps, ConvolveHistoryStep, 7).loss));
  g_array_index (steps, ConvolveHistoryStep, 7).loss = make_step (8).loss;
  assert_steps_prefix (steps);

  epochs = convolve_run_store_get_epochs (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (epochs->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      const ConvolveHistoryEpoch *got = &g_array_index (epochs, ConvolveHistoryEpoch, i);

      g_assert_cmpint (got->epoch, ==, epoch_rows[i].epoch);
      g_assert_cmpint (got->augmented, ==, epoch_rows[i].augmented);
      g_assert_cmpfloat (got->loss, ==, epoch_rows[i].loss);
      g_assert_cmpfloat (got->accuracy, ==, epoch_rows[i].accuracy);
      g_assert_cmpfloat (got->seconds, ==, epoch_rows[i].seconds);
      if (i < 4)
        {
          g_assert_cmpfloat (got->val_loss, ==, epoch_rows[i].val_loss);
          g_assert_cmpfloat (got->val_accuracy, ==, epoch_rows[i].val_accuracy);
        }
      else
        g_assert_true (isnan (got->val_loss) && isnan (got->val_accuracy));
    }

  /* A failed run keeps its message. */
  g_assert_true (convolve_run_store_finish_run (store, id, CONVOLVE_RUN_STATUS_FAILED, NULL,
                                                "out of memory", &error));
  g_clear_pointer (&run, convolve_run_record_free);
  run = convolve_run_store_get_run (store, id, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_FAILED);
  g_assert_cmpstr (run->error_message, ==, "out of memory");
  g_assert_cmpfloat (run->final_accuracy, ==, 0.875);  /* no evaluation: kept */
}

static void
test_list_rename_delete_export (Fixture      *fixture,
                                gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GArray) steps = NULL;
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autofree char *json = NULL;
  g_autofree char *epochs_csv = NULL;
  g_autofree char *steps_csv = NULL;
  g_autofree char *expected_csv = NULL;
  g_autofree char *expected_steps_csv = NULL;
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  gint64 ids[4];
  const char *datasets[] = { "MNIST", "CIFAR-10", "MNIST", "MNIST" };
  const char *names[] = { "beta", "alpha", NULL, "Gamma" };

  g_assert_no_error (error);
  test_config (&config);
  for (int i = 0; i < 4; i++)
    {
      ConvolveHistoryEpoch epoch = make_epoch (1);

      test_info (&info, names[i], datasets[i]);
      ids[i] = convolve_run_store_create_run (store, &info, &config, &error);
      g_assert_no_error (error);
      epoch.val_accuracy = 0.5 + 0.1 * ((i * 3) % 4);   /* 0.5, 0.8, 0.7, 0.6 */
      g_assert_true (convolve_run_store_append_epochs (store, ids[i], &epoch, 1, &error));
      g_assert_true (convolve_run_store_set_best_epoch (store, ids[i], 1, epoch.val_loss,
                                                        epoch.val_accuracy, &error));
      g_assert_true (convolve_run_store_finish_run (store, ids[i], CONVOLVE_RUN_STATUS_STOPPED,
                                                    NULL, NULL, &error));
      g_assert_no_error (error);
    }

  /* A run without a name gets one from its id. */
  run = convolve_run_store_get_run (store, ids[2], &error);
  g_assert_no_error (error);
  {
    g_autofree char *expected = g_strdup_printf ("Run %lld", (long long) ids[2]);

    g_assert_cmpstr (run->name, ==, expected);
  }

  runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_OLDEST, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (((ConvolveRunRecord *) runs->pdata[i])->id, ==, ids[i]);
  g_clear_pointer (&runs, g_ptr_array_unref);

  runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_NEWEST, &error);
  g_assert_cmpint (((ConvolveRunRecord *) runs->pdata[0])->id, ==, ids[3]);
  g_clear_pointer (&runs, g_ptr_array_unref);

  runs = convolve_run_store_list_runs (store, "MNIST", CONVOLVE_RUN_SORT_NAME, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 3);
  g_assert_cmpstr (((ConvolveRunRecord *) runs->pdata[0])->name, ==, "beta");
  g_assert_cmpstr (((ConvolveRunRecord *) runs->pdata[1])->name, ==, "Gamma");
  g_clear_pointer (&runs, g_ptr_array_unref);

  runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_BEST_ACCURACY, &error);
  g_assert_cmpint (((ConvolveRunRecord *) runs->pdata[0])->id, ==, ids[1]);
  g_assert_cmpint (((ConvolveRunRecord *) runs->pdata[3])->id, ==, ids[0]);
  g_clear_pointer (&runs, g_ptr_array_unref);

  g_assert_true (convolve_run_store_rename_run (store, ids[0], "renamed “run”", &error));
  g_clear_pointer (&run, convolve_run_record_free);
  run = convolve_run_store_get_run (store, ids[0], &error);
  g_assert_cmpstr (run->name, ==, "renamed “run”");

  /* Export: the CSVs are the history writers' own; JSON holds the run. */
  {
    ConvolveHistoryStep rows[3] = { make_step (1), make_step (2), make_step (3) };
    ConvolveHistoryEpoch epoch = make_epoch (1);

    epoch.val_accuracy = 0.5;
    g_assert_true (convolve_run_store_append_steps (store, ids[0], rows, 3, &error));
    for (int i = 0; i < 3; i++)
      convolve_history_append_step (history, &rows[i]);
    convolve_history_append_epoch (history, &epoch);
  }
  epochs_csv = convolve_run_store_export_run (store, ids[0], CONVOLVE_RUN_EXPORT_EPOCHS_CSV, &error);
  g_assert_no_error (error);
  expected_csv = convolve_history_epochs_to_csv (history);
  g_assert_cmpstr (epochs_csv, ==, expected_csv);
  steps_csv = convolve_run_store_export_run (store, ids[0], CONVOLVE_RUN_EXPORT_STEPS_CSV, &error);
  expected_steps_csv = convolve_history_steps_to_csv (history);
  g_assert_cmpstr (steps_csv, ==, expected_steps_csv);
  json = convolve_run_store_export_run (store, ids[0], CONVOLVE_RUN_EXPORT_JSON, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (json, "\"name\": \"renamed “run”\""));
  g_assert_nonnull (strstr (json, "\"seed\": \"18364758544493064720\""));
  g_assert_nonnull (strstr (json, "\"optimizer\": \"sgd\""));
  g_assert_nonnull (strstr (json, "\"status\": \"stopped\""));
  g_assert_nonnull (strstr (json, "\"final_loss\": null"));
  g_assert_nonnull (strstr (json, "\"history\": {"));
  {
    g_autoptr(ConvolveJsonValue) parsed = convolve_json_parse (json, strlen (json), NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (convolve_json_value_get_member (parsed, "run"));
  }

  /* Delete: the run and, by cascade, its rows. */
  g_assert_true (convolve_run_store_delete_run (store, ids[0], &error));
  g_assert_no_error (error);
  g_assert_null (convolve_run_store_get_run (store, ids[0], &error));
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  steps = convolve_run_store_get_steps (store, ids[0], &error);
  g_assert_null (steps);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (query_int (fixture->path, "SELECT count(*) FROM steps"), ==, 0);
  g_assert_cmpint (query_int (fixture->path, "SELECT count(*) FROM epochs"), ==, 3);
  g_assert_false (convolve_run_store_delete_run (store, ids[0], &error));
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (convolve_run_store_rename_run (store, 9999, "x", &error));
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
}

/* Migration ------------------------------------------------------------- */

static void
exec_raw (sqlite3    *db,
          const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static void
test_migrate_v0 (Fixture      *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(GArray) epochs = NULL;
  g_autoptr(GArray) steps = NULL;
  sqlite3 *db = NULL;

  /* A prototype's database: user_version 0, the v0 layout, one run. */
  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  exec_raw (db, _convolve_run_store_schema_v0);
  exec_raw (db,
    "INSERT INTO runs (id, name, status, created_at, started_at, ended_at, dataset_name, n_train,"
    " n_test, n_classes, model_spec, n_parameters, epochs, augment_epochs, batch_size, optimizer,"
    " learning_rate, seed, threads, train_limit, eval_batch_size, snapshot_every_steps,"
    " progress_interval_ms, width_shift_range, height_shift_range, horizontal_flip, final_loss,"
    " final_accuracy, checkpoint_path, model_path, owner_pid)"
    " VALUES (7, 'old run', 'finished', 1000, 1000, 5000, 'MNIST', 60000, 10000, 10, 'dense(10)',"
    " 7850, 2, 0, 32, 'adam', 0.001, 42, 1, 0, 256, 200, 100, 0.1, 0.1, 1, 0.3, 0.9,"
    " '/ck/old.safetensors', NULL, 1);"
    "INSERT INTO epochs VALUES (7, 1, 0.5, 0.8, 0.40, 0.85), (7, 2, 0.3, 0.9, 0.42, 0.86);"
    "INSERT INTO steps VALUES (7, 1, 1, 1, 2.3, 0.1), (7, 2, 1, 2, 2.0, 0.2);");
  sqlite3_close (db);
  g_assert_cmpint (query_int (fixture->path, "PRAGMA user_version"), ==, 0);

  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  /* Through every version since. */
  g_assert_cmpint (query_int (fixture->path, "PRAGMA user_version"), ==, CONVOLVE_RUN_STORE_SCHEMA_VERSION);
  assert_integrity (fixture->path);
  g_assert_cmpint (query_int (fixture->path, "PRAGMA foreign_key_check"), ==, -1);  /* no rows */

  run = convolve_run_store_get_run (store, 7, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (run->name, ==, "old run");
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_cmpint (run->ended_at, ==, 5000);
  g_assert_cmpint (run->updated_at, ==, 5000);
  g_assert_cmpuint (run->n_train, ==, 60000);
  g_assert_cmpuint (run->config.seed, ==, 42);
  g_assert_cmpfloat (run->final_accuracy, ==, 0.9);
  g_assert_cmpstr (run->checkpoint_path, ==, "/ck/old.safetensors");
  g_assert_null (run->best_checkpoint_path);
  /* The new best-epoch columns are filled from the old epochs. */
  g_assert_cmpint (run->best_epoch, ==, 1);
  g_assert_cmpfloat (run->best_val_loss, ==, 0.40);
  g_assert_cmpfloat (run->best_val_accuracy, ==, 0.85);
  g_assert_cmpint (run->config.early_stopping_patience, ==, 0);

  epochs = convolve_run_store_get_epochs (store, 7, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (epochs->len, ==, 2);
  g_assert_false (g_array_index (epochs, ConvolveHistoryEpoch, 1).augmented);
  g_assert_true (isnan (g_array_index (epochs, ConvolveHistoryEpoch, 1).seconds));
  g_assert_cmpfloat (g_array_index (epochs, ConvolveHistoryEpoch, 1).val_accuracy, ==, 0.86);
  steps = convolve_run_store_get_steps (store, 7, &error);
  g_assert_cmpuint (steps->len, ==, 2);

  /* And the migrated database takes new runs. */
  {
    ConvolveTrainConfig config;
    ConvolveRunInfo info;

    test_config (&config);
    test_info (&info, "new", "MNIST");
    g_assert_cmpint (convolve_run_store_create_run (store, &info, &config, &error), ==, 8);
    g_assert_no_error (error);
  }
}

/* A version 1 database: a new one without what version 2 added (the
 * early stopping settings), holding a run recorded before. */
static void
test_migrate_v1 (Fixture      *fixture,
                 gconstpointer data)
{
  static const char *const v2_columns[] = {
    "early_stopping_monitor", "early_stopping_patience", "early_stopping_min_delta", "restore_best_weights",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autofree char *json = NULL;
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  ConvolveHistoryEpoch epoch = make_epoch (1);
  sqlite3 *db = NULL;
  gint64 old_id, new_id;

  test_config (&config);
  test_info (&info, "before", "MNIST");
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  old_id = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_run_store_append_epochs (store, old_id, &epoch, 1, &error));
  g_assert_true (convolve_run_store_finish_run (store, old_id, CONVOLVE_RUN_STATUS_FINISHED, NULL, NULL, &error));
  g_clear_pointer (&store, convolve_run_store_unref);

  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  for (guint i = 0; i < G_N_ELEMENTS (v2_columns); i++)
    {
      g_autofree char *sql = g_strdup_printf ("ALTER TABLE runs DROP COLUMN %s", v2_columns[i]);

      exec_raw (db, sql);
    }
  exec_raw (db, "PRAGMA user_version = 1");
  sqlite3_close (db);
  g_assert_cmpint (query_int (fixture->path, "SELECT count(*) FROM pragma_table_info ('runs')"
                                             " WHERE name LIKE 'early_stopping%'"), ==, 0);

  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (fixture->path, "PRAGMA user_version"), ==, 2);
  assert_integrity (fixture->path);
  g_assert_cmpint (query_int (fixture->path, "SELECT count(*) FROM pragma_table_info ('runs')"
                                             " WHERE name IN ('early_stopping_monitor', 'early_stopping_patience',"
                                             " 'early_stopping_min_delta', 'restore_best_weights')"), ==, 4);

  /* The old run kept everything, with early stopping off (NULL). */
  run = convolve_run_store_get_run (store, old_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (run->name, ==, "before");
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_cmpint (run->n_epochs_done, ==, 1);
  g_assert_cmpuint (run->config.seed, ==, config.seed);
  g_assert_cmpint (run->config.early_stopping_patience, ==, 0);
  g_assert_false (run->config.restore_best_weights);
  json = convolve_run_store_export_run (store, old_id, CONVOLVE_RUN_EXPORT_JSON, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (json, "\"early_stopping_patience\": null"));
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&run, convolve_run_record_free);

  /* A new run records its settings; with early stopping off they are NULL. */
  new_id = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  run = convolve_run_store_get_run (store, new_id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->config.early_stopping_patience, ==, 4);
  g_assert_cmpint (run->config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_ACCURACY);
  g_assert_true (run->config.restore_best_weights);
  json = convolve_run_store_export_run (store, new_id, CONVOLVE_RUN_EXPORT_JSON, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (json, "\"early_stopping_monitor\": \"val_accuracy\", \"early_stopping_patience\": 4"));
  g_assert_nonnull (strstr (json, "\"restore_best_weights\": true"));
  config.early_stopping_patience = 0;
  new_id = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM runs WHERE id = %" G_GINT64_FORMAT
                                            " AND early_stopping_monitor IS NULL AND early_stopping_patience IS NULL"
                                            " AND early_stopping_min_delta IS NULL AND restore_best_weights IS NULL",
                                            new_id);

    g_assert_cmpint (query_int (fixture->path, sql), ==, 1);
  }
}

/* A runs table under schema version `version`: opening it fails with
 * `code`, naming the file, and leaves the file as it was. */
static void
assert_version_refused (const char *path,
                        int         version,
                        int         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autofree char *sql = g_strdup_printf ("CREATE TABLE runs (id INTEGER PRIMARY KEY); "
                                          "PRAGMA user_version = %d;", version);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  exec_raw (db, sql);
  sqlite3_close (db);

  store = convolve_run_store_open (path, &error);
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_cmpint (query_int (path, "PRAGMA user_version"), ==, version);
}

static void
test_newer_version (Fixture      *fixture,
                    gconstpointer data)
{
  assert_version_refused (fixture->path, 99, CONVOLVE_RUN_STORE_ERROR_VERSION);
}

/* A negative schema version (found by the fuzzer): no migration is looked
 * up for it, the file is not ours, and it is left as it was. */
static void
test_negative_version (Fixture      *fixture,
                       gconstpointer data)
{
  assert_version_refused (fixture->path, -249, CONVOLVE_RUN_STORE_ERROR_CORRUPT);
}

/* Damaged, locked and full files --------------------------------------- */

static void
test_corrupt_garbage (Fixture      *fixture,
                      gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  guint8 garbage[8192];
  ConvolveRng rng;

  convolve_rng_init (&rng, 3);
  for (gsize i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8) convolve_rng_below (&rng, 256);
  g_assert_true (g_file_set_contents (fixture->path, (const char *) garbage, sizeof garbage, NULL));

  store = convolve_run_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* A text file is no better; and the caller can still use another file. */
  g_assert_true (g_file_set_contents (fixture->path, "epoch,loss\n1,0.5\n", -1, NULL));
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT);
  g_clear_error (&error);
}

/* A file whose tables are views (one that never ends) or that carries
 * triggers was not written by Convolve: refused, without hanging. And
 * values a hand edit can leave (invalid UTF-8, a float beyond float's
 * range) read back as valid text and an infinity. Both found by
 * fuzz-run-store. */
static void
test_corrupt_foreign_layout (Fixture      *fixture,
                             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) record = NULL;
  ConvolveRunInfo info;
  ConvolveTrainConfig config;
  sqlite3 *db = NULL;
  gint64 id;

  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  test_info (&info, "edited", "cifar10");
  test_config (&config);
  id = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  g_clear_pointer (&store, convolve_run_store_unref);

  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  exec_raw (db, "UPDATE runs SET name = X'41C328FF42', learning_rate = 1e300, model_spec = X'FF';");
  sqlite3_close (db);
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  record = convolve_run_store_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (record->name, -1, NULL));
  g_assert_true (g_str_has_prefix (record->name, "A"));
  g_assert_true (g_utf8_validate (record->model_spec, -1, NULL));
  g_assert_true (isinf (record->config.learning_rate));
  g_assert_false (convolve_train_config_validate (&record->config, NULL));
  g_clear_pointer (&store, convolve_run_store_unref);

  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  exec_raw (db, "DROP TABLE epochs; CREATE VIEW epochs AS WITH RECURSIVE r(x) AS"
                " (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT 1 AS run_id, x AS epoch FROM r;");
  sqlite3_close (db);
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_clear_error (&error);

  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  exec_raw (db, "DROP VIEW epochs; CREATE TABLE epochs (run_id, epoch);"
                "CREATE TRIGGER t AFTER UPDATE ON runs BEGIN DELETE FROM steps; END;");
  sqlite3_close (db);
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT);
}

static void
test_corrupt_truncated (Fixture      *fixture,
                        gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (ConvolveHistoryStep));
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  GStatBuf st;
  gint64 id;

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, NULL, "MNIST");
  id = convolve_run_store_create_run (store, &info, &config, &error);
  for (int i = 1; i <= 20000; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      g_array_append_val (rows, step);
    }
  g_assert_true (convolve_run_store_append_steps (store, id, (ConvolveHistoryStep *) (gpointer) rows->data,
                                                  rows->len, &error));
  g_assert_no_error (error);
  g_clear_pointer (&store, convolve_run_store_unref);  /* checkpoints the WAL into the file */

  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 100000);
  g_assert_cmpint (truncate (fixture->path, st.st_size / 2), ==, 0);

  store = convolve_run_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_test_message ("%s", error->message);
}

/* Another connection in rollback-journal mode holds an exclusive lock:
 * not even reading is possible. */
static void
test_locked_exclusive (Fixture      *fixture,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  sqlite3 *db = NULL;
  gint64 start;
  double waited;

  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  exec_raw (db, "CREATE TABLE other (x); BEGIN EXCLUSIVE; INSERT INTO other VALUES (1);");

  start = g_get_monotonic_time ();
  store = convolve_run_store_open_full (fixture->path, 300, &error);
  waited = (g_get_monotonic_time () - start) / 1e6;
  g_assert_null (store);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_test_message ("after %.3f s: %s", waited, error->message);
  g_assert_cmpfloat (waited, >=, 0.25);
  g_assert_cmpfloat (waited, <, 5.0);
  g_clear_error (&error);

  /* Once the lock is gone the same file opens. */
  exec_raw (db, "COMMIT");
  sqlite3_close (db);
  store = convolve_run_store_open_full (fixture->path, 300, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
}

/* In WAL mode a writer elsewhere blocks only writes: reads go on, writes
 * fail after the busy timeout, nothing is changed. */
static void
test_locked_writer (Fixture      *fixture,
                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open_full (fixture->path, 300, &error);
  g_autoptr(GPtrArray) runs = NULL;
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  sqlite3 *db = NULL;
  gint64 start, id;
  double waited;

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, "before", "MNIST");
  g_assert_cmpint (convolve_run_store_create_run (store, &info, &config, &error), >, 0);

  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  exec_raw (db, "BEGIN IMMEDIATE; UPDATE runs SET name = 'elsewhere';");

  runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_NEWEST, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 1);
  g_assert_cmpstr (((ConvolveRunRecord *) runs->pdata[0])->name, ==, "before");

  start = g_get_monotonic_time ();
  test_info (&info, "blocked", "MNIST");
  id = convolve_run_store_create_run (store, &info, &config, &error);
  waited = (g_get_monotonic_time () - start) / 1e6;
  g_assert_cmpint (id, ==, 0);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_LOCKED);
  g_assert_cmpfloat (waited, >=, 0.25);
  g_assert_cmpfloat (waited, <, 5.0);
  g_clear_error (&error);

  exec_raw (db, "ROLLBACK");
  sqlite3_close (db);
  g_assert_cmpint (convolve_run_store_create_run (store, &info, &config, &error), >, 0);
  g_assert_no_error (error);
}

static void
test_disk_full (Fixture      *fixture,
                gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(GArray) steps = NULL;
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(ConvolveRunRecorder) recorder = NULL;
  g_autoptr(GError) recorder_error = NULL;
  ConvolveHistoryStep rows[500];
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  gint64 id, page_count;
  g_autofree char *limit = NULL;
  gint64 committed = 0;
  gboolean full = FALSE;

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, "full", "MNIST");
  id = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);

  /* The page limit is per connection: a disk with room for a few pages. */
  page_count = query_int (fixture->path, "PRAGMA page_count");
  limit = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, page_count + 8);
  g_assert_true (_convolve_run_store_exec_locked (store, limit, &error));

  for (int batch = 0; batch < 200 && !full; batch++)
    {
      for (int i = 0; i < 500; i++)
        rows[i] = make_step (committed + i + 1);
      if (convolve_run_store_append_steps (store, id, rows, 500, &error))
        committed += 500;
      else
        full = TRUE;
    }
  g_assert_true (full);
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_FULL);
  g_test_message ("%s after %" G_GINT64_FORMAT " rows", error->message, committed);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_clear_error (&error);
  g_assert_cmpint (committed, >, 0);

  /* Consistent, readable, holding exactly the batches that committed. */
  assert_integrity (fixture->path);
  steps = convolve_run_store_get_steps (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (steps->len, ==, committed);
  assert_steps_prefix (steps);
  run = convolve_run_store_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->n_steps_done, ==, committed);

  /* The recorder on a full disk: the trainer side never sees it, flush
   * reports it once, the database stays consistent. */
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_true (_convolve_run_store_exec_locked (_convolve_run_recorder_get_writer_store (recorder),
                                                  limit, &error));
  for (int i = 1; i <= 20000; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      convolve_run_recorder_add_step (recorder, &step);
    }
  g_assert_false (convolve_run_recorder_flush (recorder, &error));
  g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_FULL);
  g_clear_error (&error);
  recorder_error = convolve_run_recorder_dup_error (recorder);
  g_assert_error (recorder_error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_FULL);
  g_assert_true (convolve_run_recorder_flush (recorder, &error));  /* reported once */
  g_clear_pointer (&recorder, convolve_run_recorder_free);
  assert_integrity (fixture->path);
}

/* The recorder ------------------------------------------------------------- */

static void
test_recorder_progress (Fixture      *fixture,
                        gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveRunRecorder) recorder = NULL;
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(GArray) steps = NULL;
  g_autoptr(GArray) epochs = NULL;
  g_autoptr(ConvolveEvaluation) evaluation = convolve_evaluation_new ();
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  int n_epochs = 0;

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, "recorded", "MNIST");
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_run_recorder_get_run_id (recorder), >, 0);

  /* Snapshots as the trainer publishes them: the history grows, each
   * snapshot sees a prefix of it. */
  for (int i = 1; i <= 500; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      convolve_history_append_step (history, &step);
      if (i % 100 == 0)
        {
          ConvolveHistoryEpoch epoch = make_epoch (++n_epochs);

          convolve_history_append_epoch (history, &epoch);
        }
      if (i % 7 == 0 || i == 500)
        {
          g_autoptr(ConvolveProgress) progress = _convolve_progress_new ();

          progress->history = convolve_history_ref (history);
          progress->history_n_steps = convolve_history_get_n_steps (history);
          progress->history_n_epochs = convolve_history_get_n_epochs (history);
          convolve_run_recorder_add_progress (recorder, progress);
          convolve_run_recorder_add_progress (recorder, progress);  /* nothing new */
        }
      if (i == 250)
        convolve_run_recorder_set_paths (recorder, "/ck/run.safetensors", NULL, NULL);
    }
  evaluation->loss = 0.25;
  evaluation->accuracy = 0.93;
  g_assert_true (convolve_run_recorder_finish (recorder, CONVOLVE_TRAINER_FINISHED, evaluation,
                                               NULL, &error));
  g_assert_no_error (error);
  /* After finish: ignored, no crash. */
  convolve_run_recorder_set_paths (recorder, "/ck/late.safetensors", NULL, NULL);

  run = convolve_run_store_get_run (store, convolve_run_recorder_get_run_id (recorder), &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_cmpfloat (run->final_accuracy, ==, 0.93);
  g_assert_cmpstr (run->checkpoint_path, ==, "/ck/run.safetensors");
  /* Lowest validation loss among 0.9, 0.5, 0.6, 0.45, 0.47: epoch 4. */
  g_assert_cmpint (run->best_epoch, ==, 4);
  g_assert_cmpfloat (run->best_val_loss, ==, 0.45);
  g_assert_cmpfloat (run->best_val_accuracy, ==, make_epoch (4).val_accuracy);

  steps = convolve_run_store_get_steps (store, run->id, &error);
  g_assert_cmpuint (steps->len, ==, 500);
  assert_steps_prefix (steps);
  epochs = convolve_run_store_get_epochs (store, run->id, &error);
  g_assert_cmpuint (epochs->len, ==, 5);
}

static void
test_recorder_resume (Fixture      *fixture,
                      gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(ConvolveRunRecorder) recorder = NULL;
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(GArray) steps = NULL;
  GError run_error = { CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT, (char *) "disk gone" };
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  gint64 id;

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, NULL, "MNIST");
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  id = convolve_run_recorder_get_run_id (recorder);
  for (int i = 1; i <= 120; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      convolve_run_recorder_add_step (recorder, &step);
    }
  g_assert_true (convolve_run_recorder_finish (recorder, CONVOLVE_TRAINER_CANCELLED, NULL, NULL, &error));
  g_clear_pointer (&recorder, convolve_run_recorder_free);
  run = convolve_run_store_get_run (store, id, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_STOPPED);
  g_clear_pointer (&run, convolve_run_record_free);

  /* Resumed from step 100: steps 101..120 are written again, then on. */
  recorder = convolve_run_recorder_new_for_run (store, id, &error);
  g_assert_no_error (error);
  run = convolve_run_store_get_run (store, id, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_RUNNING);
  g_assert_cmpint (run->ended_at, ==, 0);
  g_clear_pointer (&run, convolve_run_record_free);
  for (int i = 101; i <= 300; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      convolve_run_recorder_add_step (recorder, &step);
    }
  g_assert_true (convolve_run_recorder_finish (recorder, CONVOLVE_TRAINER_FAILED, NULL, &run_error, &error));
  run = convolve_run_store_get_run (store, id, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_FAILED);
  g_assert_cmpstr (run->error_message, ==, "disk gone");
  steps = convolve_run_store_get_steps (store, id, &error);
  g_assert_cmpuint (steps->len, ==, 300);
  assert_steps_prefix (steps);

  /* Freed without finish: stopped, not left running. */
  g_clear_pointer (&recorder, convolve_run_recorder_free);
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  id = convolve_run_recorder_get_run_id (recorder);
  g_clear_pointer (&recorder, convolve_run_recorder_free);
  g_clear_pointer (&run, convolve_run_record_free);
  run = convolve_run_store_get_run (store, id, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_STOPPED);
}

/* Concurrent readers ------------------------------------------------------- */

typedef struct {
  const char *path;
  gint64      run_id;
  int         done;     /* atomic */
  guint       n_reads;
  guint       max_seen;
} ReaderData;

static gpointer
reader_thread (gpointer user_data)
{
  ReaderData *reader = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (reader->path, &error);

  g_assert_no_error (error);
  while (!g_atomic_int_get (&reader->done))
    {
      g_autoptr(GArray) steps = convolve_run_store_get_steps (store, reader->run_id, &error);
      g_autoptr(GPtrArray) runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_NEWEST, &error);

      /* Never locked out, never a torn batch: always a prefix 1..n. */
      g_assert_no_error (error);
      g_assert_cmpuint (runs->len, ==, 1);
      g_assert_cmpint (((ConvolveRunRecord *) runs->pdata[0])->status, ==, CONVOLVE_RUN_STATUS_RUNNING);
      g_assert_cmpuint (steps->len, >=, reader->max_seen);
      g_assert_cmpuint (steps->len % 10, ==, 0);  /* whole add_progress batches only */
      assert_steps_prefix (steps);
      reader->max_seen = steps->len;
      reader->n_reads++;
    }
  return NULL;
}

static void
test_concurrent_reads (Fixture      *fixture,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveRunRecorder) recorder = NULL;
  g_autoptr(GArray) steps = NULL;
  ReaderData reader = { 0 };
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  GThread *threads[2];
  ReaderData same_store = { 0 };
  gint64 start;

  g_assert_no_error (error);
  test_config (&config);
  test_info (&info, "concurrent", "MNIST");
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  g_assert_no_error (error);

  reader.path = fixture->path;
  reader.run_id = convolve_run_recorder_get_run_id (recorder);
  same_store = reader;
  threads[0] = g_thread_new ("reader-1", reader_thread, &reader);
  threads[1] = g_thread_new ("reader-2", reader_thread, &same_store);

  /* About 1.5 s of writing, in batches of 10 rows per snapshot. */
  start = g_get_monotonic_time ();
  for (int i = 1; g_get_monotonic_time () - start < 1500000 || i <= 20000; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      convolve_history_append_step (history, &step);
      if (i % 10 == 0)
        {
          g_autoptr(ConvolveProgress) progress = _convolve_progress_new ();

          progress->history = convolve_history_ref (history);
          progress->history_n_steps = i;
          convolve_run_recorder_add_progress (recorder, progress);
          g_usleep (100);
        }
    }
  g_assert_true (convolve_run_recorder_flush (recorder, &error));
  g_assert_no_error (error);
  g_atomic_int_set (&reader.done, 1);
  g_atomic_int_set (&same_store.done, 1);
  g_thread_join (threads[0]);
  g_thread_join (threads[1]);
  g_test_message ("readers: %u and %u reads, up to %u and %u steps while %u were written",
                  reader.n_reads, same_store.n_reads, reader.max_seen, same_store.max_seen,
                  convolve_history_get_n_steps (history));
  g_assert_cmpuint (reader.n_reads, >, 5);
  g_assert_cmpuint (same_store.n_reads, >, 5);

  steps = convolve_run_store_get_steps (store, reader.run_id, &error);
  g_assert_cmpuint (steps->len, ==, convolve_history_get_n_steps (history) / 10 * 10);
}

/* Killed mid-run ------------------------------------------------------------ */

G_GNUC_NORETURN static void
child_writes_forever (const char *path)
{
  g_autoptr(GError) error = NULL;
  ConvolveRunStore *store = convolve_run_store_open (path, &error);
  ConvolveRunRecorder *recorder;
  ConvolveTrainConfig config;
  ConvolveRunInfo info;

  if (store == NULL)
    _exit (3);
  test_config (&config);
  test_info (&info, "doomed", "MNIST");
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  if (recorder == NULL)
    _exit (4);
  convolve_run_recorder_set_paths (recorder, "/ck/doomed-epoch-1.safetensors", NULL, NULL);
  for (gint64 i = 1;; i++)
    {
      ConvolveHistoryStep step = make_step (i);

      convolve_run_recorder_add_step (recorder, &step);
      if (i % 20 == 0)
        g_usleep (200);
    }
}

static void
test_killed_run (Fixture      *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GArray) steps = NULL;
  ConvolveRunRecord *run;
  gint64 seen = 0, deadline;
  int status = 0;
  pid_t pid;

  /* The parent opens nothing before the fork: a SQLite connection must
   * not cross one. */
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    child_writes_forever (fixture->path);

  /* Wait until a few batches are in, reading from another connection. */
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (seen < 3000 && g_get_monotonic_time () < deadline)
    {
      g_usleep (50000);
      if (store == NULL)
        {
          store = convolve_run_store_open (fixture->path, NULL);
          continue;
        }
      g_clear_pointer (&runs, g_ptr_array_unref);
      runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_NEWEST, NULL);
      if (runs != NULL && runs->len == 1)
        {
          run = runs->pdata[0];
          g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_RUNNING);
          seen = run->n_steps_done;
        }
    }
  g_assert_cmpint (seen, >=, 3000);

  /* Mid-write: the child never stops writing. */
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  /* A store kept open finds it on request, a new one at open. */
  g_assert_cmpuint (convolve_run_store_mark_interrupted (store, &error), ==, 1);
  g_assert_no_error (error);
  g_clear_pointer (&store, convolve_run_store_unref);
  assert_integrity (fixture->path);
  store = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  g_clear_pointer (&runs, g_ptr_array_unref);
  runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_NEWEST, &error);
  g_assert_cmpuint (runs->len, ==, 1);
  run = runs->pdata[0];
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_INTERRUPTED);
  g_assert_cmpint (run->owner_pid, ==, pid);
  g_assert_cmpint (run->ended_at, >=, run->started_at);
  g_assert_cmpstr (run->checkpoint_path, ==, "/ck/doomed-epoch-1.safetensors");
  g_assert_cmpint (run->n_steps_done, >=, seen);

  steps = convolve_run_store_get_steps (store, run->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (steps->len, ==, run->n_steps_done);
  assert_steps_prefix (steps);
  g_test_message ("killed after %" G_GINT64_FORMAT " committed steps (%" G_GINT64_FORMAT
                  " seen before the kill)", run->n_steps_done, seen);
  assert_integrity (fixture->path);
}

/* A run whose owner record points at another boot is interrupted too,
 * even when that pid is alive here. */
static void
test_other_boot (Fixture      *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (fixture->path, &error);
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autofree char *update = NULL;
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  gint64 mine, other;
  sqlite3 *db = NULL;

  test_config (&config);
  test_info (&info, NULL, "MNIST");
  mine = convolve_run_store_create_run (store, &info, &config, &error);
  other = convolve_run_store_create_run (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (fixture->path, &db), ==, SQLITE_OK);
  update = g_strdup_printf ("UPDATE runs SET owner_boot_id = 'another-boot' WHERE id = %" G_GINT64_FORMAT, other);
  exec_raw (db, update);
  sqlite3_close (db);

  g_assert_cmpuint (convolve_run_store_mark_interrupted (store, &error), ==, 1);
  run = convolve_run_store_get_run (store, other, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_INTERRUPTED);
  g_clear_pointer (&run, convolve_run_record_free);
  run = convolve_run_store_get_run (store, mine, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_RUNNING);
}

/* The owner is the connection: a store closed with its run still
 * running leaves it interrupted although the process lives on; one kept
 * open keeps it running for every other connection. */
static void
test_owner_lock (Fixture      *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) owner = convolve_run_store_open (fixture->path, &error);
  g_autoptr(ConvolveRunStore) other = NULL;
  g_autoptr(ConvolveRunRecord) run = NULL;
  ConvolveTrainConfig config;
  ConvolveRunInfo info;
  gint64 kept, dropped;

  test_config (&config);
  test_info (&info, NULL, "MNIST");
  kept = convolve_run_store_create_run (owner, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (fixture->path, "SELECT owner_locked FROM runs"), ==, 1);

  other = convolve_run_store_open (fixture->path, &error);
  g_assert_no_error (error);
  dropped = convolve_run_store_create_run (other, &info, &config, &error);
  g_assert_cmpuint (convolve_run_store_mark_interrupted (owner, &error), ==, 0);
  g_assert_cmpuint (convolve_run_store_mark_interrupted (other, &error), ==, 0);
  g_clear_pointer (&other, convolve_run_store_unref);

  g_assert_cmpuint (convolve_run_store_mark_interrupted (owner, &error), ==, 1);
  run = convolve_run_store_get_run (owner, dropped, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_INTERRUPTED);
  g_clear_pointer (&run, convolve_run_record_free);
  run = convolve_run_store_get_run (owner, kept, &error);
  g_assert_cmpint (run->status, ==, CONVOLVE_RUN_STATUS_RUNNING);
  g_clear_pointer (&run, convolve_run_record_free);

  /* Reopened for a resume, it is owned (and locked) again. */
  g_assert_true (convolve_run_store_reopen_run (owner, dropped, &error));
  other = convolve_run_store_open (fixture->path, &error);
  g_assert_cmpuint (convolve_run_store_mark_interrupted (other, &error), ==, 0);
  /* Finished, the lock goes; nothing is marked. */
  g_assert_true (convolve_run_store_finish_run (owner, kept, CONVOLVE_RUN_STATUS_FINISHED, NULL, NULL, &error));
  g_assert_true (convolve_run_store_finish_run (owner, dropped, CONVOLVE_RUN_STATUS_STOPPED, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_run_store_mark_interrupted (other, &error), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/train/run-store/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("schema", test_schema);
  g_test_add_func ("/train/run-store/default-path", test_default_path);
  ADD ("roundtrip", test_roundtrip);
  ADD ("list-rename-delete-export", test_list_rename_delete_export);
  ADD ("migrate-v0", test_migrate_v0);
  ADD ("migrate-v1", test_migrate_v1);
  ADD ("newer-version", test_newer_version);
  ADD ("negative-version", test_negative_version);
  ADD ("corrupt/garbage", test_corrupt_garbage);
  ADD ("corrupt/truncated", test_corrupt_truncated);
  ADD ("corrupt/foreign-layout", test_corrupt_foreign_layout);
  ADD ("locked/exclusive", test_locked_exclusive);
  ADD ("locked/writer", test_locked_writer);
  ADD ("disk-full", test_disk_full);
  ADD ("recorder/progress", test_recorder_progress);
  ADD ("recorder/resume", test_recorder_resume);
  ADD ("concurrent-reads", test_concurrent_reads);
  ADD ("interrupted/killed", test_killed_run);
  ADD ("interrupted/other-boot", test_other_boot);
  ADD ("interrupted/owner-lock", test_owner_lock);

  return g_test_run ();
}
