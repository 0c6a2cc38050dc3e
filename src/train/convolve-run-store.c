/* convolve-run-store.c: opening the run database, its errors, run owners
 * and the writes.
 *
 * Every value goes through a bound parameter of a prepared statement; the
 * only SQL built at run time is the schema's own text and PRAGMAs with
 * our constants.
 *
 * Owners and interrupted runs are in convolve-run-store-owner.c, the
 * schema in convolve-run-store-schema.c, reads in
 * convolve-run-store-query.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-run-store-private.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK (convolve-run-store-error-quark, convolve_run_store_error)

G_DEFINE_BOXED_TYPE (ConvolveRunStore, convolve_run_store,
                     convolve_run_store_ref, convolve_run_store_unref)

static const char *const status_names[] = {
  [CONVOLVE_RUN_STATUS_RUNNING]     = "running",
  [CONVOLVE_RUN_STATUS_FINISHED]    = "finished",
  [CONVOLVE_RUN_STATUS_STOPPED]     = "stopped",
  [CONVOLVE_RUN_STATUS_FAILED]      = "failed",
  [CONVOLVE_RUN_STATUS_INTERRUPTED] = "interrupted",
};

const char *
convolve_run_status_to_string (ConvolveRunStatus status)
{
  if ((guint) status >= G_N_ELEMENTS (status_names))
    return NULL;
  return status_names[status];
}

gboolean
convolve_run_status_from_string (const char        *text,
                                 ConvolveRunStatus *status)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (status_names); i++)
    if (strcmp (text, status_names[i]) == 0)
      {
        *status = (ConvolveRunStatus) i;
        return TRUE;
      }
  return FALSE;
}

void
convolve_run_record_free (ConvolveRunRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->name);
  g_free (record->error_message);
  g_free (record->dataset_name);
  g_free (record->dataset_path);
  g_free (record->model_spec);
  g_free (record->checkpoint_path);
  g_free (record->best_checkpoint_path);
  g_free (record->model_path);
  g_free (record);
}

ConvolveRunRecord *
convolve_run_record_copy (const ConvolveRunRecord *record)
{
  ConvolveRunRecord *copy;

  g_return_val_if_fail (record != NULL, NULL);

  copy = g_memdup2 (record, sizeof *record);
  copy->name = g_strdup (record->name);
  copy->error_message = g_strdup (record->error_message);
  copy->dataset_name = g_strdup (record->dataset_name);
  copy->dataset_path = g_strdup (record->dataset_path);
  copy->model_spec = g_strdup (record->model_spec);
  copy->checkpoint_path = g_strdup (record->checkpoint_path);
  copy->best_checkpoint_path = g_strdup (record->best_checkpoint_path);
  copy->model_path = g_strdup (record->model_path);
  return copy;
}

/* Errors ----------------------------------------------------------------- */

void
_convolve_run_store_set_error (ConvolveRunStore *store,
                               int               rc,
                               GError          **error)
{
  const char *detail = store->db != NULL ? sqlite3_errmsg (store->db) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT,
                   _("The run database “%s” is damaged or is not a database (%s)"),
                   store->path, detail);
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_LOCKED,
                   _("The run database “%s” is locked by another program (waited %d ms)"),
                   store->path, store->busy_timeout_ms);
      break;
    case SQLITE_FULL:
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_FULL,
                   _("The run database “%s” is full: there is no space left for it"),
                   store->path);
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_AUTH:
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_IO,
                   _("Could not read or write the run database “%s”: %s"),
                   store->path, detail);
      break;
    default:
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_FAILED,
                   _("The run database “%s” failed: %s"), store->path, detail);
      break;
    }
}

gboolean
_convolve_run_store_exec (ConvolveRunStore *store,
                          const char       *sql,
                          GError          **error)
{
  int rc = sqlite3_exec (store->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      _convolve_run_store_set_error (store, rc, error);
      return FALSE;
    }
  return TRUE;
}

gboolean
_convolve_run_store_exec_locked (ConvolveRunStore *store,
                                 const char       *sql,
                                 GError          **error)
{
  gboolean ok;

  g_mutex_lock (&store->lock);
  ok = _convolve_run_store_exec (store, sql, error);
  g_mutex_unlock (&store->lock);
  return ok;
}

sqlite3_stmt *
_convolve_run_store_prepare (ConvolveRunStore *store,
                             const char       *sql,
                             GError          **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      _convolve_run_store_set_error (store, rc, error);
      sqlite3_finalize (stmt);
      return NULL;
    }
  return stmt;
}

/* Steps a statement that returns no rows, then resets it. */
gboolean
_convolve_run_store_step_done (ConvolveRunStore *store,
                               sqlite3_stmt     *stmt,
                               GError          **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    {
      _convolve_run_store_set_error (store, rc, error);
      return FALSE;
    }
  return TRUE;
}

void
_convolve_run_store_rollback (ConvolveRunStore *store)
{
  if (!sqlite3_get_autocommit (store->db))
    sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Opening --------------------------------------------------------------- */

char *
convolve_run_store_get_default_path (void)
{
  const char *env = g_getenv ("CONVOLVE_RUNS_DB");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "convolve", "runs.sqlite", NULL);
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* SQLite trusts the file size when the header's page count is stale, so a
 * truncated file opens and fails only when a missing page is read. Catch
 * it at once: a header whose page count is valid (its version-valid-for
 * number matches the change counter) but larger than the file. Not
 * while a write-ahead log is left: a checkpoint cut short by a crash may
 * have written page 1 before the pages after it, and SQLite finishes it
 * from the log.
 *
 * The header is read through the connection's own file handle: opening
 * and closing the database file a second time would drop every POSIX lock
 * this process holds on it (another connection's, the recorder's, say),
 * and with the locks gone another process may write at the same time and
 * corrupt the file (it did, in the test suite's shared store). */
static gboolean
check_not_truncated (ConvolveRunStore  *store,
                     GError           **error)
{
  g_autofree char *wal = g_strconcat (store->path, "-wal", NULL);
  sqlite3_file *file = NULL;
  sqlite3_int64 size = 0;
  guint8 header[100];
  guint32 page_size, n_pages;
  GStatBuf st;

  if (g_stat (wal, &st) == 0 && st.st_size > 0)
    return TRUE;
  if (sqlite3_file_control (store->db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == NULL || file->pMethods == NULL ||
      file->pMethods->xFileSize (file, &size) != SQLITE_OK || size < (sqlite3_int64) sizeof header ||
      file->pMethods->xRead (file, header, sizeof header, 0) != SQLITE_OK)
    return TRUE;
  if (memcmp (header, "SQLite format 3", 16) != 0)
    return TRUE;  /* SQLite itself says "not a database" */
  page_size = ((guint32) header[16] << 8) | header[17];
  if (page_size == 1)
    page_size = 65536;
  n_pages = read_be32 (header + 28);
  if (n_pages == 0 || read_be32 (header + 24) != read_be32 (header + 92))
    return TRUE;
  if ((guint64) n_pages * page_size > (guint64) size)
    {
      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_CORRUPT,
                   _("The run database “%s” is truncated: the file is shorter than its header says"),
                   store->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
prepare_hot_statements (ConvolveRunStore *store,
                        GError          **error)
{
  static const struct {
    gsize       offset;
    const char *sql;
  } hot[] = {
    { G_STRUCT_OFFSET (ConvolveRunStore, insert_step),
      "INSERT OR REPLACE INTO steps (run_id, global_step, epoch, step, loss, accuracy)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)" },
    { G_STRUCT_OFFSET (ConvolveRunStore, insert_epoch),
      "INSERT OR REPLACE INTO epochs (run_id, epoch, augmented, loss, accuracy, val_loss, val_accuracy, seconds)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
    { G_STRUCT_OFFSET (ConvolveRunStore, touch_run),
      "UPDATE runs SET updated_at = ?2 WHERE id = ?1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (hot); i++)
    {
      sqlite3_stmt **slot = G_STRUCT_MEMBER_P (store, hot[i].offset);
      int rc = sqlite3_prepare_v3 (store->db, hot[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);

      if (rc != SQLITE_OK)
        {
          _convolve_run_store_set_error (store, rc, error);
          return FALSE;
        }
    }
  return TRUE;
}

ConvolveRunStore *
convolve_run_store_open_full (const char  *path,
                              int          busy_timeout_ms,
                              GError     **error)
{
  g_autoptr(ConvolveRunStore) store = g_new0 (ConvolveRunStore, 1);
  g_autofree char *dir = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_atomic_ref_count_init (&store->ref_count);
  g_mutex_init (&store->lock);
  store->path = path != NULL ? g_strdup (path) : convolve_run_store_get_default_path ();
  store->busy_timeout_ms = MAX (busy_timeout_ms, 0);
  store->owner_fd = -1;
  store->held_runs = g_array_new (FALSE, FALSE, sizeof (gint64));

  dir = g_path_get_dirname (store->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_IO,
                   _("Could not read or write the run database “%s”: %s"),
                   store->path, g_strerror (saved_errno));
      return NULL;
    }
  rc = sqlite3_open_v2 (store->path, &store->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      _convolve_run_store_set_error (store, rc, error);
      return NULL;
    }
  if (!check_not_truncated (store, error))
    return NULL;
  sqlite3_extended_result_codes (store->db, 1);
  sqlite3_busy_timeout (store->db, store->busy_timeout_ms);

  /* foreign_keys is per connection and cannot change inside a
   * transaction; WAL lets readers go on while a run is written, and with
   * WAL synchronous=NORMAL still never corrupts (a power loss may only
   * lose the last transactions). journal_mode answers with the mode it
   * got: a file system without shared memory keeps "delete", which works,
   * only with less concurrency. */
  if (!_convolve_run_store_exec (store, "PRAGMA foreign_keys = ON", error))
    return NULL;
  stmt = _convolve_run_store_prepare (store, "PRAGMA journal_mode = WAL", error);
  if (stmt == NULL)
    return NULL;
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _convolve_run_store_set_error (store, rc, error);
      return NULL;
    }
  if (!_convolve_run_store_exec (store, "PRAGMA synchronous = NORMAL", error) ||
      !_convolve_run_store_migrate (store, error) ||
      !prepare_hot_statements (store, error))
    return NULL;

  convolve_run_store_mark_interrupted (store, error);
  if (error != NULL && *error != NULL)
    return NULL;
  return g_steal_pointer (&store);
}

ConvolveRunStore *
convolve_run_store_open (const char  *path,
                         GError     **error)
{
  return convolve_run_store_open_full (path, CONVOLVE_RUN_STORE_BUSY_TIMEOUT_MS, error);
}

ConvolveRunStore *
convolve_run_store_open_default (GError **error)
{
  return convolve_run_store_open_full (NULL, CONVOLVE_RUN_STORE_BUSY_TIMEOUT_MS, error);
}

ConvolveRunStore *
convolve_run_store_ref (ConvolveRunStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_atomic_ref_count_inc (&store->ref_count);
  return store;
}

void
convolve_run_store_unref (ConvolveRunStore *store)
{
  if (store == NULL || !g_atomic_ref_count_dec (&store->ref_count))
    return;
  sqlite3_finalize (store->insert_step);
  sqlite3_finalize (store->insert_epoch);
  sqlite3_finalize (store->touch_run);
  /* close_v2: closes once the last statement is gone, never fails busy. */
  sqlite3_close_v2 (store->db);
  /* Closing the lock file drops the owner locks: runs left running
   * become interrupted for the next open. */
  if (store->owner_fd >= 0)
    close (store->owner_fd);
  g_array_unref (store->held_runs);
  g_mutex_clear (&store->lock);
  g_free (store->path);
  g_free (store);
}

const char *
convolve_run_store_get_path (ConvolveRunStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  return store->path;
}

int
convolve_run_store_get_busy_timeout (ConvolveRunStore *store)
{
  g_return_val_if_fail (store != NULL, 0);
  return store->busy_timeout_ms;
}

/* Writes ---------------------------------------------------------------- */

static void
bind_text_or_null (sqlite3_stmt *stmt,
                   int           index,
                   const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

/* NaN is bound as NULL (SQLite would do so anyway; this says it). */
static void
bind_double_or_null (sqlite3_stmt *stmt,
                     int           index,
                     double        value)
{
  if (isnan (value))
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_double (stmt, index, value);
}

static const char *
optimizer_name (ConvolveOptimizerKind kind)
{
  return kind == CONVOLVE_OPTIMIZER_SGD ? "sgd" : "adam";
}

gint64
convolve_run_store_create_run (ConvolveRunStore          *store,
                               const ConvolveRunInfo     *info,
                               const ConvolveTrainConfig *config,
                               GError                   **error)
{
  static const char sql[] =
    "INSERT INTO runs (name, status, created_at, started_at, updated_at,"
    " dataset_name, dataset_path, n_train, n_test, n_classes, model_spec, n_parameters,"
    " epochs, augment_epochs, batch_size, optimizer, learning_rate, seed, threads,"
    " train_limit, eval_batch_size, snapshot_every_steps, progress_interval_ms,"
    " width_shift_range, height_shift_range, horizontal_flip,"
    " owner_pid, owner_boot_id, owner_start_ticks,"
    " early_stopping_monitor, early_stopping_patience, early_stopping_min_delta, restore_best_weights)"
    " VALUES (?1, 'running', ?2, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,"
    " ?24, ?25, ?26, ?27, ?28, ?29, ?30)";
  static const char lock_sql[] = "UPDATE runs SET owner_locked = 1 WHERE id = ?1";
  g_autofree char *boot_id = NULL;
  sqlite3_stmt *stmt;
  gint64 pid, start_ticks, id = 0;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (store != NULL, 0);
  g_return_val_if_fail (info != NULL, 0);
  g_return_val_if_fail (config != NULL, 0);

  _convolve_run_store_get_owner (&pid, &boot_id, &start_ticks);

  g_mutex_lock (&store->lock);
  if (!_convolve_run_store_exec (store, "BEGIN IMMEDIATE", error))
    goto out;
  stmt = _convolve_run_store_prepare (store, sql, error);
  if (stmt == NULL)
    goto fail;
  bind_text_or_null (stmt, 1, info->name);
  sqlite3_bind_int64 (stmt, 2, now);
  bind_text_or_null (stmt, 3, info->dataset_name);
  bind_text_or_null (stmt, 4, info->dataset_path);
  sqlite3_bind_int64 (stmt, 5, info->n_train);
  sqlite3_bind_int64 (stmt, 6, info->n_test);
  sqlite3_bind_int (stmt, 7, info->n_classes);
  bind_text_or_null (stmt, 8, info->model_spec);
  sqlite3_bind_int64 (stmt, 9, info->n_parameters);
  sqlite3_bind_int (stmt, 10, config->epochs);
  sqlite3_bind_int (stmt, 11, config->augment_epochs);
  sqlite3_bind_int (stmt, 12, config->batch_size);
  sqlite3_bind_text (stmt, 13, optimizer_name (config->optimizer), -1, SQLITE_STATIC);
  sqlite3_bind_double (stmt, 14, config->learning_rate);
  sqlite3_bind_int64 (stmt, 15, (gint64) config->seed);
  sqlite3_bind_int (stmt, 16, config->threads);
  sqlite3_bind_int64 (stmt, 17, config->train_limit);
  sqlite3_bind_int (stmt, 18, config->eval_batch_size);
  sqlite3_bind_int (stmt, 19, config->snapshot_every_steps);
  sqlite3_bind_int (stmt, 20, config->progress_interval_ms);
  sqlite3_bind_double (stmt, 21, config->augment.width_shift_range);
  sqlite3_bind_double (stmt, 22, config->augment.height_shift_range);
  sqlite3_bind_int (stmt, 23, config->augment.horizontal_flip ? 1 : 0);
  sqlite3_bind_int64 (stmt, 24, pid);
  sqlite3_bind_text (stmt, 25, boot_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 26, start_ticks);
  /* Early stopping: NULL when off. */
  if (config->early_stopping_patience > 0)
    {
      sqlite3_bind_text (stmt, 27, convolve_monitor_to_string (config->early_stopping_monitor), -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 28, config->early_stopping_patience);
      sqlite3_bind_double (stmt, 29, config->early_stopping_min_delta);
      sqlite3_bind_int (stmt, 30, config->restore_best_weights ? 1 : 0);
    }
  if (!_convolve_run_store_step_done (store, stmt, error))
    {
      sqlite3_finalize (stmt);
      goto fail;
    }
  sqlite3_finalize (stmt);
  id = sqlite3_last_insert_rowid (store->db);

  /* In the same transaction, so no one sees the run running and
   * unlocked. Without a lock (no lock file) the pid stands in. */
  if (_convolve_run_store_lock_run (store, id))
    {
      stmt = _convolve_run_store_prepare (store, lock_sql, error);
      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, id);
      if (!_convolve_run_store_step_done (store, stmt, error))
        {
          sqlite3_finalize (stmt);
          goto fail;
        }
      sqlite3_finalize (stmt);
    }

  /* The default name needs the id. */
  if (info->name == NULL)
    {
      g_autofree char *name = g_strdup_printf (_("Run %lld"), (long long) id);

      stmt = _convolve_run_store_prepare (store, "UPDATE runs SET name = ?2 WHERE id = ?1", error);
      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, id);
      sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
      if (!_convolve_run_store_step_done (store, stmt, error))
        {
          sqlite3_finalize (stmt);
          goto fail;
        }
      sqlite3_finalize (stmt);
    }
  if (!_convolve_run_store_exec (store, "COMMIT", error))
    goto fail;
  goto out;

fail:
  _convolve_run_store_rollback (store);
  if (id != 0)
    _convolve_run_store_unlock_run (store, id);
  id = 0;
out:
  g_mutex_unlock (&store->lock);
  return id;
}

static gboolean
insert_steps (ConvolveRunStore          *store,
              gint64                     run_id,
              const ConvolveHistoryStep *steps,
              guint                      n_steps,
              GError                   **error)
{
  for (guint i = 0; i < n_steps; i++)
    {
      sqlite3_stmt *stmt = store->insert_step;

      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_int64 (stmt, 2, steps[i].global_step);
      sqlite3_bind_int (stmt, 3, steps[i].epoch);
      sqlite3_bind_int (stmt, 4, steps[i].step);
      bind_double_or_null (stmt, 5, steps[i].loss);
      bind_double_or_null (stmt, 6, steps[i].accuracy);
      if (!_convolve_run_store_step_done (store, stmt, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
insert_epochs (ConvolveRunStore           *store,
               gint64                      run_id,
               const ConvolveHistoryEpoch *epochs,
               guint                       n_epochs,
               GError                    **error)
{
  for (guint i = 0; i < n_epochs; i++)
    {
      sqlite3_stmt *stmt = store->insert_epoch;

      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_int (stmt, 2, epochs[i].epoch);
      sqlite3_bind_int (stmt, 3, epochs[i].augmented ? 1 : 0);
      bind_double_or_null (stmt, 4, epochs[i].loss);
      bind_double_or_null (stmt, 5, epochs[i].accuracy);
      bind_double_or_null (stmt, 6, epochs[i].val_loss);
      bind_double_or_null (stmt, 7, epochs[i].val_accuracy);
      bind_double_or_null (stmt, 8, epochs[i].seconds);
      if (!_convolve_run_store_step_done (store, stmt, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
_convolve_run_store_write_rows (ConvolveRunStore           *store,
                                gint64                      run_id,
                                const ConvolveHistoryStep  *steps,
                                guint                       n_steps,
                                const ConvolveHistoryEpoch *epochs,
                                guint                       n_epochs,
                                GError                    **error)
{
  gboolean ok;

  g_return_val_if_fail (store != NULL, FALSE);

  g_mutex_lock (&store->lock);
  ok = _convolve_run_store_exec (store, "BEGIN IMMEDIATE", error);
  if (ok)
    {
      sqlite3_bind_int64 (store->touch_run, 1, run_id);
      sqlite3_bind_int64 (store->touch_run, 2, g_get_real_time ());
      ok = insert_steps (store, run_id, steps, n_steps, error) &&
           insert_epochs (store, run_id, epochs, n_epochs, error) &&
           _convolve_run_store_step_done (store, store->touch_run, error) &&
           _convolve_run_store_exec (store, "COMMIT", error);
      if (!ok)
        _convolve_run_store_rollback (store);
    }
  g_mutex_unlock (&store->lock);
  return ok;
}

gboolean
convolve_run_store_append_steps (ConvolveRunStore           *store,
                                 gint64                      run_id,
                                 const ConvolveHistoryStep  *steps,
                                 guint                       n_steps,
                                 GError                    **error)
{
  return _convolve_run_store_write_rows (store, run_id, steps, n_steps, NULL, 0, error);
}

gboolean
convolve_run_store_append_epochs (ConvolveRunStore           *store,
                                  gint64                      run_id,
                                  const ConvolveHistoryEpoch *epochs,
                                  guint                       n_epochs,
                                  GError                    **error)
{
  return _convolve_run_store_write_rows (store, run_id, NULL, 0, epochs, n_epochs, error);
}

/* Runs one UPDATE of a single run under the lock; bind fills the
 * parameters after ?1 = run_id. NOT_FOUND when no row changed. */
typedef void (*BindFunc) (sqlite3_stmt *stmt, gconstpointer data);

static gboolean
update_run (ConvolveRunStore *store,
            gint64            run_id,
            const char       *sql,
            BindFunc          bind,
            gconstpointer     data,
            GError          **error)
{
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_mutex_lock (&store->lock);
  stmt = _convolve_run_store_prepare (store, sql, error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, run_id);
      bind (stmt, data);
      ok = _convolve_run_store_step_done (store, stmt, error);
      if (ok && sqlite3_changes (store->db) == 0)
        {
          g_set_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND,
                       _("There is no run %lld in the run database “%s”"),
                       (long long) run_id, store->path);
          ok = FALSE;
        }
      sqlite3_finalize (stmt);
    }
  g_mutex_unlock (&store->lock);
  return ok;
}

typedef struct {
  const char *paths[3];
} PathsData;

static void
bind_paths (sqlite3_stmt *stmt,
            gconstpointer data)
{
  const PathsData *paths = data;

  /* NULL keeps the column (coalesce), "" clears it (nullif). */
  for (int i = 0; i < 3; i++)
    bind_text_or_null (stmt, 2 + i, paths->paths[i]);
}

gboolean
convolve_run_store_set_paths (ConvolveRunStore *store,
                              gint64            run_id,
                              const char       *checkpoint_path,
                              const char       *best_checkpoint_path,
                              const char       *model_path,
                              GError          **error)
{
  PathsData data = { { checkpoint_path, best_checkpoint_path, model_path } };

  g_return_val_if_fail (store != NULL, FALSE);
  return update_run (store, run_id,
                     "UPDATE runs SET"
                     " checkpoint_path = CASE WHEN ?2 IS NULL THEN checkpoint_path ELSE nullif (?2, '') END,"
                     " best_checkpoint_path = CASE WHEN ?3 IS NULL THEN best_checkpoint_path ELSE nullif (?3, '') END,"
                     " model_path = CASE WHEN ?4 IS NULL THEN model_path ELSE nullif (?4, '') END"
                     " WHERE id = ?1",
                     bind_paths, &data, error);
}

typedef struct {
  int    epoch;
  double val_loss;
  double val_accuracy;
} BestData;

static void
bind_best (sqlite3_stmt *stmt,
           gconstpointer data)
{
  const BestData *best = data;

  if (best->epoch > 0)
    sqlite3_bind_int (stmt, 2, best->epoch);
  else
    sqlite3_bind_null (stmt, 2);
  bind_double_or_null (stmt, 3, best->val_loss);
  bind_double_or_null (stmt, 4, best->val_accuracy);
}

gboolean
convolve_run_store_set_best_epoch (ConvolveRunStore *store,
                                   gint64            run_id,
                                   int               epoch,
                                   double            val_loss,
                                   double            val_accuracy,
                                   GError          **error)
{
  BestData data = { epoch, val_loss, val_accuracy };

  g_return_val_if_fail (store != NULL, FALSE);
  return update_run (store, run_id,
                     "UPDATE runs SET best_epoch = ?2, best_val_loss = ?3, best_val_accuracy = ?4"
                     " WHERE id = ?1",
                     bind_best, &data, error);
}

typedef struct {
  ConvolveRunStatus         status;
  const ConvolveEvaluation *evaluation;
  const char               *error_message;
} FinishData;

static void
bind_finish (sqlite3_stmt *stmt,
             gconstpointer data)
{
  const FinishData *finish = data;

  sqlite3_bind_text (stmt, 2, convolve_run_status_to_string (finish->status), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  sqlite3_bind_int (stmt, 4, finish->evaluation != NULL);
  bind_double_or_null (stmt, 5, finish->evaluation != NULL ? finish->evaluation->loss : NAN);
  bind_double_or_null (stmt, 6, finish->evaluation != NULL ? finish->evaluation->accuracy : NAN);
  bind_text_or_null (stmt, 7, finish->status == CONVOLVE_RUN_STATUS_FAILED ? finish->error_message : NULL);
}

gboolean
convolve_run_store_finish_run (ConvolveRunStore         *store,
                               gint64                    run_id,
                               ConvolveRunStatus         status,
                               const ConvolveEvaluation *evaluation,
                               const char               *error_message,
                               GError                  **error)
{
  FinishData data = { status, evaluation, error_message };

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (status != CONVOLVE_RUN_STATUS_RUNNING &&
                        convolve_run_status_to_string (status) != NULL, FALSE);
  if (!update_run (store, run_id,
                   "UPDATE runs SET status = ?2, ended_at = ?3, updated_at = ?3,"
                   " final_loss = CASE WHEN ?4 THEN ?5 ELSE final_loss END,"
                   " final_accuracy = CASE WHEN ?4 THEN ?6 ELSE final_accuracy END,"
                   " error_message = ?7"
                   " WHERE id = ?1",
                   bind_finish, &data, error))
    return FALSE;
  g_mutex_lock (&store->lock);
  _convolve_run_store_unlock_run (store, run_id);
  g_mutex_unlock (&store->lock);
  return TRUE;
}

typedef struct {
  gint64      pid;
  const char *boot_id;
  gint64      start_ticks;
  gboolean    locked;
} OwnerData;

static void
bind_owner (sqlite3_stmt *stmt,
            gconstpointer data)
{
  const OwnerData *owner = data;

  sqlite3_bind_int64 (stmt, 2, owner->pid);
  sqlite3_bind_text (stmt, 3, owner->boot_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, owner->start_ticks);
  sqlite3_bind_int64 (stmt, 5, g_get_real_time ());
  sqlite3_bind_int (stmt, 6, owner->locked);
}

gboolean
convolve_run_store_reopen_run (ConvolveRunStore *store,
                               gint64            run_id,
                               GError          **error)
{
  g_autofree char *boot_id = NULL;
  OwnerData data;

  g_return_val_if_fail (store != NULL, FALSE);
  _convolve_run_store_get_owner (&data.pid, &boot_id, &data.start_ticks);
  data.boot_id = boot_id;
  g_mutex_lock (&store->lock);
  data.locked = _convolve_run_store_lock_run (store, run_id);
  g_mutex_unlock (&store->lock);
  if (!update_run (store, run_id,
                   "UPDATE runs SET status = 'running', ended_at = NULL, updated_at = ?5,"
                   " error_message = NULL, owner_pid = ?2, owner_boot_id = ?3, owner_start_ticks = ?4,"
                   " owner_locked = ?6"
                   " WHERE id = ?1",
                   bind_owner, &data, error))
    {
      g_mutex_lock (&store->lock);
      _convolve_run_store_unlock_run (store, run_id);
      g_mutex_unlock (&store->lock);
      return FALSE;
    }
  return TRUE;
}

static void
bind_name (sqlite3_stmt *stmt,
           gconstpointer data)
{
  bind_text_or_null (stmt, 2, data);
}

gboolean
convolve_run_store_rename_run (ConvolveRunStore *store,
                               gint64            run_id,
                               const char       *name,
                               GError          **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  return update_run (store, run_id, "UPDATE runs SET name = ?2 WHERE id = ?1",
                     bind_name, name, error);
}

static void
bind_nothing (sqlite3_stmt *stmt,
              gconstpointer data)
{
}

gboolean
convolve_run_store_delete_run (ConvolveRunStore *store,
                               gint64            run_id,
                               GError          **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  /* The steps and epochs go with it: ON DELETE CASCADE. */
  return update_run (store, run_id, "DELETE FROM runs WHERE id = ?1",
                     bind_nothing, NULL, error);
}

char *
convolve_run_store_get_run_dir (ConvolveRunStore *store,
                                gint64            run_id)
{
  g_autofree char *dir = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (run_id > 0, NULL);

  dir = g_path_get_dirname (store->path);
  name = g_strdup_printf ("%" PRId64, run_id);
  return g_build_filename (dir, "runs", name, NULL);
}

guint
convolve_run_store_delete_run_files (ConvolveRunStore        *store,
                                     const ConvolveRunRecord *run,
                                     gboolean                 with_model)
{
  const char *paths[] = { run->checkpoint_path, run->best_checkpoint_path,
                          with_model ? run->model_path : NULL };
  g_autofree char *dir = NULL;
  guint n_deleted = 0;

  g_return_val_if_fail (store != NULL, 0);
  g_return_val_if_fail (run != NULL, 0);

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      gboolean seen = FALSE;

      if (paths[i] == NULL || paths[i][0] == '\0')
        continue;
      for (guint j = 0; j < i; j++)
        seen |= g_strcmp0 (paths[i], paths[j]) == 0;
      if (!seen && g_unlink (paths[i]) == 0)
        n_deleted++;
    }
  /* Only when empty: rmdir never removes anything else. */
  dir = convolve_run_store_get_run_dir (store, run->id);
  g_rmdir (dir);
  return n_deleted;
}
