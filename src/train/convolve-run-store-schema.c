/* convolve-run-store-schema.c: the run database's schema and its
 * migrations.
 *
 * PRAGMA user_version is the schema version. A new database gets the
 * current schema at once; an older one runs the migrations from its
 * version up, in order, all in one transaction with the version bump, so a
 * migration either happens whole or not at all. Version 0 with a runs
 * table is the layout of the first prototype (kept in
 * _convolve_run_store_schema_v0 for the tests); version 0 without one is
 * an empty file.
 *
 * Version 1 added the failure message, the heartbeat, the best epoch,
 * the owner's boot id and lock, and each epoch's augmentation flag and
 * time; version 2 the early stopping settings.
 *
 * To change the schema: edit schema_current, append a migration from the
 * previous version to migrations[], bump CONVOLVE_RUN_STORE_SCHEMA_VERSION,
 * and add a test that migrates a database of the previous version (for
 * version 1, tests/test-run-store.c makes one from a new database by
 * dropping what version 2 added).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-run-store-private.h"

#include <glib/gi18n.h>
#include <inttypes.h>

static const char schema_current[] =
  "CREATE TABLE runs ("
  "  id                   INTEGER PRIMARY KEY,"
  "  name                 TEXT,"
  "  status               TEXT NOT NULL DEFAULT 'running'"
  "                       CHECK (status IN ('running', 'finished', 'stopped', 'failed', 'interrupted')),"
  "  error_message        TEXT,"
  "  created_at           INTEGER NOT NULL,"
  "  started_at           INTEGER,"
  "  ended_at             INTEGER,"
  "  updated_at           INTEGER,"
  "  dataset_name         TEXT,"
  "  dataset_path         TEXT,"
  "  n_train              INTEGER NOT NULL DEFAULT 0,"
  "  n_test               INTEGER NOT NULL DEFAULT 0,"
  "  n_classes            INTEGER NOT NULL DEFAULT 0,"
  "  model_spec           TEXT,"
  "  n_parameters         INTEGER NOT NULL DEFAULT 0,"
  "  epochs               INTEGER NOT NULL,"
  "  augment_epochs       INTEGER NOT NULL,"
  "  batch_size           INTEGER NOT NULL,"
  "  optimizer            TEXT NOT NULL,"
  "  learning_rate        REAL NOT NULL,"
  "  seed                 INTEGER NOT NULL,"
  "  threads              INTEGER NOT NULL,"
  "  train_limit          INTEGER NOT NULL,"
  "  eval_batch_size      INTEGER NOT NULL,"
  "  snapshot_every_steps INTEGER NOT NULL,"
  "  progress_interval_ms INTEGER NOT NULL,"
  "  width_shift_range    REAL NOT NULL,"
  "  height_shift_range   REAL NOT NULL,"
  "  horizontal_flip      INTEGER NOT NULL,"
  "  early_stopping_monitor   TEXT CHECK (early_stopping_monitor IN ('val_loss', 'val_accuracy')),"
  "  early_stopping_patience  INTEGER,"
  "  early_stopping_min_delta REAL,"
  "  restore_best_weights     INTEGER,"
  "  final_loss           REAL,"
  "  final_accuracy       REAL,"
  "  best_epoch           INTEGER,"
  "  best_val_loss        REAL,"
  "  best_val_accuracy    REAL,"
  "  checkpoint_path      TEXT,"
  "  best_checkpoint_path TEXT,"
  "  model_path           TEXT,"
  "  owner_pid            INTEGER,"
  "  owner_boot_id        TEXT,"
  "  owner_start_ticks    INTEGER,"
  "  owner_locked         INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX runs_by_dataset ON runs (dataset_name, created_at);"
  "CREATE INDEX runs_by_status ON runs (status);"
  "CREATE TABLE steps ("
  "  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  global_step INTEGER NOT NULL,"
  "  epoch       INTEGER NOT NULL,"
  "  step        INTEGER NOT NULL,"
  "  loss        REAL,"
  "  accuracy    REAL,"
  "  PRIMARY KEY (run_id, global_step)"
  ") WITHOUT ROWID;"
  "CREATE TABLE epochs ("
  "  run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  epoch        INTEGER NOT NULL,"
  "  augmented    INTEGER NOT NULL DEFAULT 0,"
  "  loss         REAL,"
  "  accuracy     REAL,"
  "  val_loss     REAL,"
  "  val_accuracy REAL,"
  "  seconds      REAL,"
  "  PRIMARY KEY (run_id, epoch)"
  ") WITHOUT ROWID;";

/* The prototype's layout: no failure message, no heartbeat, no best
 * epoch, no boot id or owner lock, and epochs without their augmentation flag and time. */
const char *const _convolve_run_store_schema_v0 =
  "CREATE TABLE runs ("
  "  id                   INTEGER PRIMARY KEY,"
  "  name                 TEXT,"
  "  status               TEXT NOT NULL DEFAULT 'running'"
  "                       CHECK (status IN ('running', 'finished', 'stopped', 'failed', 'interrupted')),"
  "  created_at           INTEGER NOT NULL,"
  "  started_at           INTEGER,"
  "  ended_at             INTEGER,"
  "  dataset_name         TEXT,"
  "  dataset_path         TEXT,"
  "  n_train              INTEGER NOT NULL DEFAULT 0,"
  "  n_test               INTEGER NOT NULL DEFAULT 0,"
  "  n_classes            INTEGER NOT NULL DEFAULT 0,"
  "  model_spec           TEXT,"
  "  n_parameters         INTEGER NOT NULL DEFAULT 0,"
  "  epochs               INTEGER NOT NULL,"
  "  augment_epochs       INTEGER NOT NULL,"
  "  batch_size           INTEGER NOT NULL,"
  "  optimizer            TEXT NOT NULL,"
  "  learning_rate        REAL NOT NULL,"
  "  seed                 INTEGER NOT NULL,"
  "  threads              INTEGER NOT NULL,"
  "  train_limit          INTEGER NOT NULL,"
  "  eval_batch_size      INTEGER NOT NULL,"
  "  snapshot_every_steps INTEGER NOT NULL,"
  "  progress_interval_ms INTEGER NOT NULL,"
  "  width_shift_range    REAL NOT NULL,"
  "  height_shift_range   REAL NOT NULL,"
  "  horizontal_flip      INTEGER NOT NULL,"
  "  final_loss           REAL,"
  "  final_accuracy       REAL,"
  "  checkpoint_path      TEXT,"
  "  model_path           TEXT,"
  "  owner_pid            INTEGER"
  ");"
  "CREATE TABLE steps ("
  "  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  global_step INTEGER NOT NULL,"
  "  epoch       INTEGER NOT NULL,"
  "  step        INTEGER NOT NULL,"
  "  loss        REAL,"
  "  accuracy    REAL,"
  "  PRIMARY KEY (run_id, global_step)"
  ") WITHOUT ROWID;"
  "CREATE TABLE epochs ("
  "  run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  epoch        INTEGER NOT NULL,"
  "  loss         REAL,"
  "  accuracy     REAL,"
  "  val_loss     REAL,"
  "  val_accuracy REAL,"
  "  PRIMARY KEY (run_id, epoch)"
  ") WITHOUT ROWID;";

/* migrations[v] takes a database from version v to v + 1. */
static const char *const migrations[] = {
  /* 0 -> 1 */
  "ALTER TABLE runs ADD COLUMN error_message TEXT;"
  "ALTER TABLE runs ADD COLUMN updated_at INTEGER;"
  "ALTER TABLE runs ADD COLUMN best_epoch INTEGER;"
  "ALTER TABLE runs ADD COLUMN best_val_loss REAL;"
  "ALTER TABLE runs ADD COLUMN best_val_accuracy REAL;"
  "ALTER TABLE runs ADD COLUMN best_checkpoint_path TEXT;"
  "ALTER TABLE runs ADD COLUMN owner_boot_id TEXT;"
  "ALTER TABLE runs ADD COLUMN owner_start_ticks INTEGER;"
  "ALTER TABLE runs ADD COLUMN owner_locked INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE epochs ADD COLUMN augmented INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE epochs ADD COLUMN seconds REAL;"
  "UPDATE runs SET updated_at = coalesce (ended_at, started_at, created_at);"
  /* The best epoch by validation loss, as the trainer now records it. */
  "UPDATE runs SET (best_epoch, best_val_loss, best_val_accuracy) ="
  "  (SELECT epoch, val_loss, val_accuracy FROM epochs"
  "   WHERE epochs.run_id = runs.id AND val_loss IS NOT NULL"
  "   ORDER BY val_loss, epoch LIMIT 1);"
  "CREATE INDEX runs_by_dataset ON runs (dataset_name, created_at);"
  "CREATE INDEX runs_by_status ON runs (status);",
  /* 1 -> 2: the early stopping settings, all NULL when it is off (as it
   * was for every run before: the trainer had no early stopping then). */
  "ALTER TABLE runs ADD COLUMN early_stopping_monitor TEXT"
  "  CHECK (early_stopping_monitor IN ('val_loss', 'val_accuracy'));"
  "ALTER TABLE runs ADD COLUMN early_stopping_patience INTEGER;"
  "ALTER TABLE runs ADD COLUMN early_stopping_min_delta REAL;"
  "ALTER TABLE runs ADD COLUMN restore_best_weights INTEGER;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == CONVOLVE_RUN_STORE_SCHEMA_VERSION);

static gboolean
read_int (ConvolveRunStore *store,
          const char       *sql,
          gint64           *value,
          GError          **error)
{
  sqlite3_stmt *stmt = _convolve_run_store_prepare (store, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  else if (rc == SQLITE_DONE)
    *value = 0;
  else
    _convolve_run_store_set_error (store, rc, error);
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Convolve's tables are tables, and it makes no views or triggers: a file
 * where "runs" is a view (which may recurse without end) or a trigger
 * fires on its writes was not written by Convolve, and reading it could
 * hang (found by fuzzing the store). */
static gboolean
check_layout (ConvolveRunStore  *store,
              GError           **error)
{
  gint64 tables = 0, others = 0;

  if (!read_int (store,
                 "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                 " AND name IN ('runs', 'steps', 'epochs')", &tables, error) ||
      !read_int (store,
                 "SELECT count(*) FROM sqlite_schema WHERE type IN ('view', 'trigger')",
                 &others, error))
    return FALSE;
  if (tables == 3 && others == 0)
    return TRUE;
  g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT,
               _("The run database “%s” is damaged: its tables are not the ones Convolve writes"),
               store->path);
  return FALSE;
}

gboolean
_convolve_run_store_migrate (ConvolveRunStore *store,
                             GError          **error)
{
  gint64 version = 0, has_runs = 0;
  g_autofree char *set_version = NULL;

  /* The usual case reads only, so it needs no write lock: another process
   * may be recording a run. */
  if (!read_int (store, "PRAGMA user_version", &version, error))
    return FALSE;
  if (version == CONVOLVE_RUN_STORE_SCHEMA_VERSION)
    return check_layout (store, error);

  if (!_convolve_run_store_exec (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!read_int (store, "PRAGMA user_version", &version, error) ||
      !read_int (store, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'runs'",
                 &has_runs, error))
    goto fail;

  /* (a foreign or damaged file can hold any number there) */
  if (version < 0)
    {
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT,
                   _("“%s” is not a Convolve run database (its schema version is %" PRId64 ")"),
                   store->path, version);
      goto fail;
    }
  if (version > CONVOLVE_RUN_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_VERSION,
                   _("The run database “%s” was written by a newer version of Convolve (schema %d, this one knows %d)"),
                   store->path, (int) version, CONVOLVE_RUN_STORE_SCHEMA_VERSION);
      goto fail;
    }
  if (version == CONVOLVE_RUN_STORE_SCHEMA_VERSION)
    {
      if (!check_layout (store, error))
        goto fail;
      return _convolve_run_store_exec (store, "COMMIT", error);
    }

  if (version == 0 && !has_runs)
    {
      if (!_convolve_run_store_exec (store, schema_current, error))
        goto fail;
    }
  else
    {
      for (gint64 v = version; v < CONVOLVE_RUN_STORE_SCHEMA_VERSION; v++)
        if (!_convolve_run_store_exec (store, migrations[v], error))
          goto fail;
    }

  /* PRAGMA takes no parameters; the version is our own constant. */
  set_version = g_strdup_printf ("PRAGMA user_version = %d", CONVOLVE_RUN_STORE_SCHEMA_VERSION);
  if (!check_layout (store, error) ||
      !_convolve_run_store_exec (store, set_version, error) ||
      !_convolve_run_store_exec (store, "COMMIT", error))
    goto fail;
  return TRUE;

fail:
  sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}
