/* convolve-run-store-private.h: what the run store's files share, and the
 * hooks its tests use.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <sqlite3.h>

#include "convolve-run-store.h"

G_BEGIN_DECLS

struct _ConvolveRunStore {
  gatomicrefcount ref_count;
  GMutex          lock;          /* serialises every use of db */
  sqlite3        *db;
  char           *path;
  int             busy_timeout_ms;
  /* The hot statements, prepared once. */
  sqlite3_stmt   *insert_step;
  sqlite3_stmt   *insert_epoch;
  sqlite3_stmt   *touch_run;
  /* Owner locks: byte run_id of PATH-owners, an OFD lock held while this
   * connection runs that run (see convolve-run-store.c). */
  int             owner_fd;      /* -1 until needed, or when it cannot be opened */
  GArray         *held_runs;     /* gint64 ids locked through owner_fd */
};

/* Sets error from SQLite's result code rc, naming store->path (the
 * caller holds the lock). */
void     _convolve_run_store_set_error  (ConvolveRunStore *store,
                                         int               rc,
                                         GError          **error);
/* Executes sql (no parameters: schema text and PRAGMAs only). */
gboolean _convolve_run_store_exec       (ConvolveRunStore *store,
                                         const char       *sql,
                                         GError          **error);
/* Prepares sql (the caller finalizes it). */
sqlite3_stmt *_convolve_run_store_prepare (ConvolveRunStore *store,
                                           const char       *sql,
                                           GError          **error);

/* Steps a statement that returns no rows, then resets it and clears its
 * bindings. */
gboolean _convolve_run_store_step_done  (ConvolveRunStore *store,
                                         sqlite3_stmt     *stmt,
                                         GError          **error);
/* Rolls back the open transaction, if any. */
void     _convolve_run_store_rollback   (ConvolveRunStore *store);

/* Owner locks (convolve-run-store-owner.c; the caller holds the lock):
 * take or drop this connection's lock on run_id. lock_run is FALSE when
 * the lock file cannot be made or another connection holds the lock. */
gboolean _convolve_run_store_lock_run   (ConvolveRunStore *store,
                                         gint64            run_id);
void     _convolve_run_store_unlock_run (ConvolveRunStore *store,
                                         gint64            run_id);

/* Steps and epochs of one run in one transaction (the recorder's batch).
 * Either array may be empty. */
gboolean _convolve_run_store_write_rows (ConvolveRunStore           *store,
                                         gint64                      run_id,
                                         const ConvolveHistoryStep  *steps,
                                         guint                       n_steps,
                                         const ConvolveHistoryEpoch *epochs,
                                         guint                       n_epochs,
                                         GError                    **error);

/* Schema (convolve-run-store-schema.c): creates the current schema on an
 * empty database or migrates an older one, in one transaction. */
gboolean _convolve_run_store_migrate    (ConvolveRunStore *store,
                                         GError          **error);
/* The layout before schema version 1 (user_version 0), for the tests. */
extern const char *const _convolve_run_store_schema_v0;

/* For tests: runs sql on the store's connection (e.g. PRAGMA
 * max_page_count to simulate a full disk). Takes the lock. */
gboolean _convolve_run_store_exec_locked (ConvolveRunStore *store,
                                          const char       *sql,
                                          GError          **error);

/* For tests: the recorder's own connection (see convolve-run-recorder.h). */
typedef struct _ConvolveRunRecorder ConvolveRunRecorder;
ConvolveRunStore *_convolve_run_recorder_get_writer_store (ConvolveRunRecorder *recorder);

/* The owner of a run: this process, on this boot. The boot id is empty
 * where the system has none. */
void     _convolve_run_store_get_owner  (gint64  *pid,
                                         char   **boot_id,
                                         gint64  *start_ticks);

G_END_DECLS
