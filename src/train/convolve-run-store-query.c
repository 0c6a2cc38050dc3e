/* convolve-run-store-query.c: reading runs back, and exporting them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-run-store-private.h"

#include <glib/gi18n.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "convolve-json.h"

/* The columns of a record, in the order record_from_row reads them. */
#define RECORD_COLUMNS \
  "id, name, status, error_message, created_at, started_at, ended_at, updated_at," \
  " dataset_name, dataset_path, n_train, n_test, n_classes, model_spec, n_parameters," \
  " epochs, augment_epochs, batch_size, optimizer, learning_rate, seed, threads," \
  " train_limit, eval_batch_size, snapshot_every_steps, progress_interval_ms," \
  " width_shift_range, height_shift_range, horizontal_flip," \
  " final_loss, final_accuracy, best_epoch, best_val_loss, best_val_accuracy," \
  " checkpoint_path, best_checkpoint_path, model_path, owner_pid," \
  " (SELECT max (epoch) FROM epochs WHERE run_id = runs.id)," \
  " (SELECT max (global_step) FROM steps WHERE run_id = runs.id)," \
  " early_stopping_monitor, early_stopping_patience, early_stopping_min_delta, restore_best_weights"

/* Paths: the bytes as stored (a file name need not be UTF-8). */
static char *
column_strdup (sqlite3_stmt *stmt,
               int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

/* Text shown as it is (names, messages, the spec): always valid UTF-8,
 * whatever a damaged or hand-edited file holds, so no label or JSON
 * writer downstream sees broken text. NULL stays NULL. */
static char *
column_text (sqlite3_stmt *stmt,
             int           column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  if (text == NULL)
    return NULL;
  return g_utf8_make_valid (text, sqlite3_column_bytes (stmt, column));
}

/* A REAL stored for a float field: a value beyond float's range becomes
 * an infinity instead of an undefined conversion (validation then
 * refuses it where it matters). */
static float
column_float (sqlite3_stmt *stmt,
              int           column)
{
  double value = sqlite3_column_double (stmt, column);

  if (isfinite (value) && fabs (value) > FLT_MAX)
    return value > 0 ? INFINITY : -INFINITY;
  return (float) value;
}

/* NULL reads back as NaN. */
static double
column_double (sqlite3_stmt *stmt,
               int           column)
{
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return NAN;
  return sqlite3_column_double (stmt, column);
}

static ConvolveRunRecord *
record_from_row (sqlite3_stmt *stmt)
{
  ConvolveRunRecord *record = g_new0 (ConvolveRunRecord, 1);
  ConvolveTrainConfig *config = &record->config;
  const char *optimizer;
  gint64 patience;

  record->id = sqlite3_column_int64 (stmt, 0);
  record->name = column_text (stmt, 1);
  if (!convolve_run_status_from_string ((const char *) sqlite3_column_text (stmt, 2), &record->status))
    record->status = CONVOLVE_RUN_STATUS_FAILED;
  record->error_message = column_text (stmt, 3);
  record->created_at = sqlite3_column_int64 (stmt, 4);
  record->started_at = sqlite3_column_int64 (stmt, 5);
  record->ended_at = sqlite3_column_int64 (stmt, 6);
  record->updated_at = sqlite3_column_int64 (stmt, 7);
  record->dataset_name = column_text (stmt, 8);
  record->dataset_path = column_strdup (stmt, 9);
  record->n_train = (guint) sqlite3_column_int64 (stmt, 10);
  record->n_test = (guint) sqlite3_column_int64 (stmt, 11);
  record->n_classes = sqlite3_column_int (stmt, 12);
  record->model_spec = column_text (stmt, 13);
  record->n_parameters = sqlite3_column_int64 (stmt, 14);

  convolve_train_config_init (config);
  config->epochs = sqlite3_column_int (stmt, 15);
  config->augment_epochs = sqlite3_column_int (stmt, 16);
  config->batch_size = sqlite3_column_int (stmt, 17);
  optimizer = (const char *) sqlite3_column_text (stmt, 18);
  config->optimizer = g_strcmp0 (optimizer, "sgd") == 0 ? CONVOLVE_OPTIMIZER_SGD
                                                        : CONVOLVE_OPTIMIZER_ADAM;
  config->learning_rate = column_float (stmt, 19);
  config->seed = (guint64) sqlite3_column_int64 (stmt, 20);
  config->threads = sqlite3_column_int (stmt, 21);
  config->train_limit = (guint) sqlite3_column_int64 (stmt, 22);
  config->eval_batch_size = sqlite3_column_int (stmt, 23);
  config->snapshot_every_steps = sqlite3_column_int (stmt, 24);
  config->progress_interval_ms = sqlite3_column_int (stmt, 25);
  config->augment.width_shift_range = column_float (stmt, 26);
  config->augment.height_shift_range = column_float (stmt, 27);
  config->augment.horizontal_flip = sqlite3_column_int (stmt, 28) != 0;

  record->final_loss = column_double (stmt, 29);
  record->final_accuracy = column_double (stmt, 30);
  record->best_epoch = sqlite3_column_int (stmt, 31);
  record->best_val_loss = column_double (stmt, 32);
  record->best_val_accuracy = column_double (stmt, 33);
  record->checkpoint_path = column_strdup (stmt, 34);
  record->best_checkpoint_path = column_strdup (stmt, 35);
  record->model_path = column_strdup (stmt, 36);
  record->owner_pid = sqlite3_column_int64 (stmt, 37);
  record->n_epochs_done = sqlite3_column_int (stmt, 38);
  record->n_steps_done = sqlite3_column_int64 (stmt, 39);

  /* Early stopping: off when NULL (older runs) or not a patience the
   * trainer takes; a monitor it does not know reads as the default. */
  patience = sqlite3_column_int64 (stmt, 41);
  if (sqlite3_column_type (stmt, 41) != SQLITE_NULL && patience > 0 && patience <= G_MAXINT)
    {
      double min_delta = column_double (stmt, 42);

      config->early_stopping_patience = (int) patience;
      convolve_monitor_from_string ((const char *) sqlite3_column_text (stmt, 40),
                                    &config->early_stopping_monitor);
      config->early_stopping_min_delta = isfinite (min_delta) && min_delta > 0.0 ? min_delta : 0.0;
      config->restore_best_weights = sqlite3_column_int (stmt, 43) != 0;
    }
  return record;
}

static void
set_not_found (ConvolveRunStore *store,
               gint64            run_id,
               GError          **error)
{
  g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND,
               _("There is no run %lld in the run database “%s”"),
               (long long) run_id, store->path);
}

GPtrArray *
convolve_run_store_list_runs (ConvolveRunStore *store,
                              const char       *dataset_name,
                              ConvolveRunSort   sort,
                              GError          **error)
{
  /* Only these fixed texts go into the SQL; the dataset is bound. */
  static const char *const orders[] = {
    [CONVOLVE_RUN_SORT_NEWEST]        = "created_at DESC, id DESC",
    [CONVOLVE_RUN_SORT_OLDEST]        = "created_at, id",
    [CONVOLVE_RUN_SORT_NAME]          = "name COLLATE NOCASE, created_at DESC, id DESC",
    [CONVOLVE_RUN_SORT_BEST_ACCURACY] = "best_val_accuracy IS NULL, best_val_accuracy DESC, created_at DESC, id DESC",
  };
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_run_record_free);
  g_autofree char *sql = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail ((guint) sort < G_N_ELEMENTS (orders), NULL);

  sql = g_strconcat ("SELECT " RECORD_COLUMNS " FROM runs WHERE ?1 IS NULL OR dataset_name = ?1 ORDER BY ",
                     orders[sort], NULL);
  g_mutex_lock (&store->lock);
  stmt = _convolve_run_store_prepare (store, sql, error);
  if (stmt == NULL)
    {
      g_mutex_unlock (&store->lock);
      return NULL;
    }
  if (dataset_name != NULL)
    sqlite3_bind_text (stmt, 1, dataset_name, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (runs, record_from_row (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    _convolve_run_store_set_error (store, rc, error);
  g_mutex_unlock (&store->lock);
  return rc == SQLITE_DONE ? g_steal_pointer (&runs) : NULL;
}

ConvolveRunRecord *
convolve_run_store_get_run (ConvolveRunStore *store,
                            gint64            run_id,
                            GError          **error)
{
  ConvolveRunRecord *record = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);

  g_mutex_lock (&store->lock);
  stmt = _convolve_run_store_prepare (store, "SELECT " RECORD_COLUMNS " FROM runs WHERE id = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, run_id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        record = record_from_row (stmt);
      else if (rc == SQLITE_DONE)
        set_not_found (store, run_id, error);
      else
        _convolve_run_store_set_error (store, rc, error);
      sqlite3_finalize (stmt);
    }
  g_mutex_unlock (&store->lock);
  return record;
}

/* Fills rows from a query on ?1 = run_id; NOT_FOUND when the run does not
 * exist (an existing run without rows gives an empty array). */
typedef void (*RowFunc) (sqlite3_stmt *stmt, GArray *rows);

static GArray *
read_rows (ConvolveRunStore *store,
           gint64            run_id,
           const char       *sql,
           gsize             element_size,
           RowFunc           read_row,
           GError          **error)
{
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, element_size);
  sqlite3_stmt *stmt;
  gboolean found = FALSE;
  int rc = SQLITE_ERROR;

  g_mutex_lock (&store->lock);
  /* One read transaction: the run and its rows from the same snapshot. */
  if (!_convolve_run_store_exec (store, "BEGIN", error))
    goto out;
  stmt = _convolve_run_store_prepare (store, "SELECT 1 FROM runs WHERE id = ?1", error);
  if (stmt == NULL)
    goto end;
  sqlite3_bind_int64 (stmt, 1, run_id);
  rc = sqlite3_step (stmt);
  found = rc == SQLITE_ROW;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _convolve_run_store_set_error (store, rc, error);
      goto end;
    }
  if (!found)
    {
      set_not_found (store, run_id, error);
      rc = SQLITE_ERROR;
      goto end;
    }
  stmt = _convolve_run_store_prepare (store, sql, error);
  if (stmt == NULL)
    {
      rc = SQLITE_ERROR;
      goto end;
    }
  sqlite3_bind_int64 (stmt, 1, run_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    read_row (stmt, rows);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    _convolve_run_store_set_error (store, rc, error);
end:
  sqlite3_exec (store->db, "COMMIT", NULL, NULL, NULL);
out:
  g_mutex_unlock (&store->lock);
  return rc == SQLITE_DONE ? g_steal_pointer (&rows) : NULL;
}

static void
read_step (sqlite3_stmt *stmt,
           GArray       *rows)
{
  ConvolveHistoryStep step = {
    .global_step = sqlite3_column_int64 (stmt, 0),
    .epoch = sqlite3_column_int (stmt, 1),
    .step = sqlite3_column_int (stmt, 2),
    .loss = column_double (stmt, 3),
    .accuracy = column_double (stmt, 4),
  };

  g_array_append_val (rows, step);
}

static void
read_epoch (sqlite3_stmt *stmt,
            GArray       *rows)
{
  ConvolveHistoryEpoch epoch = {
    .epoch = sqlite3_column_int (stmt, 0),
    .augmented = sqlite3_column_int (stmt, 1) != 0,
    .loss = column_double (stmt, 2),
    .accuracy = column_double (stmt, 3),
    .val_loss = column_double (stmt, 4),
    .val_accuracy = column_double (stmt, 5),
    .seconds = column_double (stmt, 6),
  };

  g_array_append_val (rows, epoch);
}

GArray *
convolve_run_store_get_steps (ConvolveRunStore *store,
                              gint64            run_id,
                              GError          **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  return read_rows (store, run_id,
                    "SELECT global_step, epoch, step, loss, accuracy FROM steps"
                    " WHERE run_id = ?1 ORDER BY global_step",
                    sizeof (ConvolveHistoryStep), read_step, error);
}

GArray *
convolve_run_store_get_epochs (ConvolveRunStore *store,
                               gint64            run_id,
                               GError          **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  return read_rows (store, run_id,
                    "SELECT epoch, augmented, loss, accuracy, val_loss, val_accuracy, seconds FROM epochs"
                    " WHERE run_id = ?1 ORDER BY epoch",
                    sizeof (ConvolveHistoryEpoch), read_epoch, error);
}

ConvolveHistory *
convolve_run_store_get_history (ConvolveRunStore *store,
                                gint64            run_id,
                                GError          **error)
{
  g_autoptr(GArray) steps = convolve_run_store_get_steps (store, run_id, error);
  g_autoptr(GArray) epochs = NULL;
  g_autoptr(ConvolveHistory) history = NULL;

  if (steps == NULL)
    return NULL;
  epochs = convolve_run_store_get_epochs (store, run_id, error);
  if (epochs == NULL)
    return NULL;
  history = convolve_history_new ();
  /* A history holds fewer rows than a database can: keep what fits. */
  for (guint i = 0; i < steps->len; i++)
    if (!convolve_history_append_step (history, &g_array_index (steps, ConvolveHistoryStep, i)))
      break;
  for (guint i = 0; i < epochs->len; i++)
    if (!convolve_history_append_epoch (history, &g_array_index (epochs, ConvolveHistoryEpoch, i)))
      break;
  return g_steal_pointer (&history);
}

/* Export ---------------------------------------------------------------- */

static void
json_key (GString    *out,
          const char *key)
{
  if (out->str[out->len - 1] != '{')
    g_string_append (out, ", ");
  convolve_json_append_string (out, key);
  g_string_append (out, ": ");
}

static void
json_string (GString    *out,
             const char *key,
             const char *value)
{
  json_key (out, key);
  if (value != NULL)
    convolve_json_append_string (out, value);
  else
    g_string_append (out, "null");
}

static void
json_int (GString    *out,
          const char *key,
          gint64      value)
{
  json_key (out, key);
  g_string_append_printf (out, "%" G_GINT64_FORMAT, value);
}

static void
json_double (GString    *out,
             const char *key,
             double      value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  json_key (out, key);
  if (!isfinite (value))
    g_string_append (out, "null");
  else
    g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.17g", value));
}

static char *
run_to_json (const ConvolveRunRecord *run,
             const ConvolveHistory   *history)
{
  const ConvolveTrainConfig *config = &run->config;
  GString *out = g_string_new ("{\"run\": {");
  g_autofree char *history_json = convolve_history_to_json (history);

  json_int (out, "id", run->id);
  json_string (out, "name", run->name);
  json_string (out, "status", convolve_run_status_to_string (run->status));
  json_string (out, "error_message", run->error_message);
  json_int (out, "created_at_us", run->created_at);
  json_int (out, "started_at_us", run->started_at);
  json_int (out, "ended_at_us", run->ended_at);
  json_string (out, "dataset_name", run->dataset_name);
  json_string (out, "dataset_path", run->dataset_path);
  json_int (out, "n_train", run->n_train);
  json_int (out, "n_test", run->n_test);
  json_int (out, "n_classes", run->n_classes);
  json_string (out, "model_spec", run->model_spec);
  json_int (out, "n_parameters", run->n_parameters);
  json_int (out, "epochs", config->epochs);
  json_int (out, "augment_epochs", config->augment_epochs);
  json_int (out, "batch_size", config->batch_size);
  json_string (out, "optimizer", config->optimizer == CONVOLVE_OPTIMIZER_SGD ? "sgd" : "adam");
  json_double (out, "learning_rate", config->learning_rate);
  /* As text: a 64-bit seed does not fit a JSON reader's double. */
  json_key (out, "seed");
  g_string_append_printf (out, "\"%" G_GUINT64_FORMAT "\"", config->seed);
  json_int (out, "threads", config->threads);
  json_int (out, "train_limit", config->train_limit);
  json_int (out, "eval_batch_size", config->eval_batch_size);
  json_int (out, "snapshot_every_steps", config->snapshot_every_steps);
  json_int (out, "progress_interval_ms", config->progress_interval_ms);
  json_double (out, "width_shift_range", config->augment.width_shift_range);
  json_double (out, "height_shift_range", config->augment.height_shift_range);
  json_key (out, "horizontal_flip");
  g_string_append (out, config->augment.horizontal_flip ? "true" : "false");
  /* Early stopping, null when off. */
  if (config->early_stopping_patience > 0)
    {
      json_string (out, "early_stopping_monitor", convolve_monitor_to_string (config->early_stopping_monitor));
      json_int (out, "early_stopping_patience", config->early_stopping_patience);
      json_double (out, "early_stopping_min_delta", config->early_stopping_min_delta);
      json_key (out, "restore_best_weights");
      g_string_append (out, config->restore_best_weights ? "true" : "false");
    }
  else
    {
      json_string (out, "early_stopping_monitor", NULL);
      json_key (out, "early_stopping_patience");
      g_string_append (out, "null");
      json_key (out, "early_stopping_min_delta");
      g_string_append (out, "null");
      json_key (out, "restore_best_weights");
      g_string_append (out, "null");
    }
  json_double (out, "final_loss", run->final_loss);
  json_double (out, "final_accuracy", run->final_accuracy);
  json_int (out, "best_epoch", run->best_epoch);
  json_double (out, "best_val_loss", run->best_val_loss);
  json_double (out, "best_val_accuracy", run->best_val_accuracy);
  json_string (out, "checkpoint_path", run->checkpoint_path);
  json_string (out, "best_checkpoint_path", run->best_checkpoint_path);
  json_string (out, "model_path", run->model_path);
  g_string_append (out, "}, \"history\": ");
  g_string_append (out, history_json);
  g_string_append (out, "}\n");
  return g_string_free (out, FALSE);
}

char *
convolve_run_store_export_run (ConvolveRunStore        *store,
                               gint64                   run_id,
                               ConvolveRunExportFormat  format,
                               GError                 **error)
{
  g_autoptr(ConvolveRunRecord) run = NULL;
  g_autoptr(ConvolveHistory) history = NULL;

  g_return_val_if_fail (store != NULL, NULL);

  run = convolve_run_store_get_run (store, run_id, error);
  if (run == NULL)
    return NULL;
  history = convolve_run_store_get_history (store, run_id, error);
  if (history == NULL)
    return NULL;
  switch (format)
    {
    case CONVOLVE_RUN_EXPORT_EPOCHS_CSV:
      return convolve_history_epochs_to_csv (history);
    case CONVOLVE_RUN_EXPORT_STEPS_CSV:
      return convolve_history_steps_to_csv (history);
    case CONVOLVE_RUN_EXPORT_JSON:
    default:
      return run_to_json (run, history);
    }
}
