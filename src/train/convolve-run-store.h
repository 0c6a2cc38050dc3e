/* convolve-run-store.h: every training run remembered, in one SQLite file.
 *
 * A ConvolveRunStore is one connection to the run database (by default
 * $XDG_DATA_HOME/convolve/runs.sqlite; $CONVOLVE_RUNS_DB overrides it).
 * Opening it creates or migrates the schema (PRAGMA user_version, see
 * convolve-run-store-schema.c), turns on foreign keys and WAL, and marks
 * runs whose owner is gone (killed, power loss) as
 * CONVOLVE_RUN_STATUS_INTERRUPTED, so they can be offered for resume from
 * their checkpoint_path.
 *
 * Owners. The connection that creates (or reopens) a run holds a lock on
 * it (an OFD lock on one byte of PATH-owners) until it finishes the run or
 * is closed; the kernel drops it when the process dies, however it dies.
 * A RUNNING run whose lock nobody holds, or that was started on another
 * boot, is interrupted. Where the lock file cannot be made, the owner's
 * pid and its start time stand in. So: keep the store that created a run
 * open until convolve_run_store_finish_run (a ConvolveRunRecorder does).
 *
 * Threads. Every call is safe from any thread (one mutex per store), and
 * each call is one transaction. Other connections (another store on the
 * same file, another process) read while one writes: WAL gives readers the
 * last committed state without waiting. Writes wait up to the busy timeout
 * for a lock held elsewhere, then fail with CONVOLVE_RUN_STORE_ERROR_LOCKED.
 * These calls do I/O: during training, write through a ConvolveRunRecorder
 * (convolve-run-recorder.h), which batches rows on its own thread.
 *
 * Errors. A file that is not a database, is damaged or truncated gives
 * CONVOLVE_RUN_STORE_ERROR_CORRUPT; a locked one LOCKED; a full disk FULL;
 * each with a translated message naming the file. A failed write changes
 * nothing (its transaction is rolled back). A caller that cannot open the
 * store trains anyway, without a record.
 *
 * Values. Times are microseconds since the Unix epoch (g_get_real_time),
 * 0 when unknown. NaN metrics are stored as NULL and read back as NaN.
 * seed is stored as a signed 64-bit integer and read back unchanged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <glib-object.h>

#include "convolve-evaluation.h"
#include "convolve-history.h"
#include "convolve-train-config.h"

G_BEGIN_DECLS

#define CONVOLVE_RUN_STORE_ERROR (convolve_run_store_error_quark ())

typedef enum {
  CONVOLVE_RUN_STORE_ERROR_CORRUPT,   /* not a database, damaged or truncated */
  CONVOLVE_RUN_STORE_ERROR_LOCKED,    /* another connection holds the lock past the busy timeout */
  CONVOLVE_RUN_STORE_ERROR_FULL,      /* no space left (disk or page limit) */
  CONVOLVE_RUN_STORE_ERROR_IO,        /* cannot open, read or write the file */
  CONVOLVE_RUN_STORE_ERROR_VERSION,   /* written by a newer Convolve (a schema this one does not know) */
  CONVOLVE_RUN_STORE_ERROR_NOT_FOUND, /* no run with that id */
  CONVOLVE_RUN_STORE_ERROR_FAILED,    /* anything else SQLite reports */
} ConvolveRunStoreError;

GQuark convolve_run_store_error_quark (void);

/* The schema version this build writes (PRAGMA user_version). */
#define CONVOLVE_RUN_STORE_SCHEMA_VERSION 2
/* Default busy timeout of convolve_run_store_open. */
#define CONVOLVE_RUN_STORE_BUSY_TIMEOUT_MS 3000

typedef enum {
  CONVOLVE_RUN_STATUS_RUNNING,
  CONVOLVE_RUN_STATUS_FINISHED,    /* every epoch done */
  CONVOLVE_RUN_STATUS_STOPPED,     /* stopped by the user; consistent, resumable */
  CONVOLVE_RUN_STATUS_FAILED,      /* error_message says why */
  CONVOLVE_RUN_STATUS_INTERRUPTED, /* its process died while it ran */
} ConvolveRunStatus;

/* "running", "finished", ... as stored; NULL for a value out of range. */
const char *convolve_run_status_to_string   (ConvolveRunStatus  status);
/* FALSE for an unknown name. */
gboolean    convolve_run_status_from_string (const char        *text,
                                             ConvolveRunStatus *status);

/* What a new run is about, besides its config. Strings are copied and
 * nullable (stored as NULL, read back as NULL; name NULL: "Run N"). */
typedef struct {
  const char *name;
  const char *dataset_name;
  const char *dataset_path;
  guint       n_train;       /* training images used (train_limit applied) */
  guint       n_test;
  int         n_classes;
  const char *model_spec;    /* convolve_model_spec_to_string */
  gint64      n_parameters;  /* trainable */
} ConvolveRunInfo;

/* One run as stored. Owned strings (nullable), freed with the record. */
typedef struct {
  gint64              id;
  char               *name;
  ConvolveRunStatus   status;
  char               *error_message;   /* FAILED, else NULL */
  gint64              created_at;
  gint64              started_at;
  gint64              ended_at;        /* 0 while running; INTERRUPTED: the last write seen */
  gint64              updated_at;      /* the last committed write */
  char               *dataset_name;
  char               *dataset_path;
  guint               n_train;
  guint               n_test;
  int                 n_classes;
  char               *model_spec;
  gint64              n_parameters;
  ConvolveTrainConfig config;          /* every hyperparameter, seed and threads; early
                                        * stopping (schema 2) off for older runs */
  double              final_loss;      /* the final evaluation; NaN when none */
  double              final_accuracy;
  int                 best_epoch;      /* 1-based; 0 when none */
  double              best_val_loss;   /* NaN when none */
  double              best_val_accuracy;
  int                 n_epochs_done;   /* epochs recorded */
  gint64              n_steps_done;    /* the highest global step recorded */
  char               *checkpoint_path; /* the last checkpoint: where to resume */
  char               *best_checkpoint_path;
  char               *model_path;      /* the saved model */
  gint64              owner_pid;       /* the process that ran it */
} ConvolveRunRecord;

ConvolveRunRecord *convolve_run_record_copy (const ConvolveRunRecord *record);
void convolve_run_record_free (ConvolveRunRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveRunRecord, convolve_run_record_free)

typedef enum {
  CONVOLVE_RUN_SORT_NEWEST,        /* created_at descending (then id) */
  CONVOLVE_RUN_SORT_OLDEST,
  CONVOLVE_RUN_SORT_NAME,          /* by name, case-folded, then newest */
  CONVOLVE_RUN_SORT_BEST_ACCURACY, /* best_val_accuracy descending, none last */
} ConvolveRunSort;

typedef enum {
  CONVOLVE_RUN_EXPORT_JSON,        /* {"run": {...every field...}, "history": convolve_history_to_json} */
  CONVOLVE_RUN_EXPORT_EPOCHS_CSV,  /* as convolve_history_epochs_to_csv */
  CONVOLVE_RUN_EXPORT_STEPS_CSV,   /* as convolve_history_steps_to_csv */
} ConvolveRunExportFormat;

typedef struct _ConvolveRunStore ConvolveRunStore;

#define CONVOLVE_TYPE_RUN_STORE (convolve_run_store_get_type ())
GType convolve_run_store_get_type (void) G_GNUC_CONST;

/* $CONVOLVE_RUNS_DB when set and not empty, else
 * g_get_user_data_dir()/convolve/runs.sqlite. */
char             *convolve_run_store_get_default_path (void);

/* Opens (creating the file and its folder if needed) and migrates.
 * path NULL: the default path. */
ConvolveRunStore *convolve_run_store_open         (const char  *path,
                                                   GError     **error);
ConvolveRunStore *convolve_run_store_open_default (GError     **error);
/* The same with a busy timeout other than CONVOLVE_RUN_STORE_BUSY_TIMEOUT_MS. */
ConvolveRunStore *convolve_run_store_open_full    (const char  *path,
                                                   int          busy_timeout_ms,
                                                   GError     **error);

/* Atomically reference-counted; the last unref closes the connection. */
ConvolveRunStore *convolve_run_store_ref      (ConvolveRunStore *store);
void              convolve_run_store_unref    (ConvolveRunStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveRunStore, convolve_run_store_unref)

const char       *convolve_run_store_get_path (ConvolveRunStore *store);
int               convolve_run_store_get_busy_timeout (ConvolveRunStore *store);

/* Runs the checks of open again (e.g. on a store kept open for long):
 * RUNNING runs whose owner is gone become INTERRUPTED. Returns how many. */
guint             convolve_run_store_mark_interrupted (ConvolveRunStore *store,
                                                       GError          **error);

/* Writes. ---------------------------------------------------------------- */

/* A new RUNNING run owned by this process, started now. Returns its id
 * (> 0), or 0 with error. */
gint64   convolve_run_store_create_run    (ConvolveRunStore          *store,
                                           const ConvolveRunInfo     *info,
                                           const ConvolveTrainConfig *config,
                                           GError                   **error);
/* Rows are keyed by (run, global_step) and (run, epoch): writing one again
 * (a resumed run repeating steps after its checkpoint) replaces it. */
gboolean convolve_run_store_append_steps  (ConvolveRunStore           *store,
                                           gint64                      run_id,
                                           const ConvolveHistoryStep  *steps,
                                           guint                       n_steps,
                                           GError                    **error);
gboolean convolve_run_store_append_epochs (ConvolveRunStore           *store,
                                           gint64                      run_id,
                                           const ConvolveHistoryEpoch *epochs,
                                           guint                       n_epochs,
                                           GError                    **error);
/* Paths are nullable: NULL leaves that path as it is, "" clears it. */
gboolean convolve_run_store_set_paths     (ConvolveRunStore *store,
                                           gint64            run_id,
                                           const char       *checkpoint_path,
                                           const char       *best_checkpoint_path,
                                           const char       *model_path,
                                           GError          **error);
gboolean convolve_run_store_set_best_epoch (ConvolveRunStore *store,
                                            gint64            run_id,
                                            int               epoch,
                                            double            val_loss,
                                            double            val_accuracy,
                                            GError          **error);
/* Sets the final status (not RUNNING), the end time and, when evaluation
 * is not NULL, the final loss and accuracy; error_message (nullable) is
 * kept for FAILED runs. */
gboolean convolve_run_store_finish_run    (ConvolveRunStore         *store,
                                           gint64                    run_id,
                                           ConvolveRunStatus         status,
                                           const ConvolveEvaluation *evaluation,
                                           const char               *error_message,
                                           GError                  **error);
/* Continues an INTERRUPTED or STOPPED run (train --resume-run): RUNNING
 * again, owned by this process. */
gboolean convolve_run_store_reopen_run    (ConvolveRunStore *store,
                                           gint64            run_id,
                                           GError          **error);
gboolean convolve_run_store_rename_run    (ConvolveRunStore *store,
                                           gint64            run_id,
                                           const char       *name,
                                           GError          **error);
/* Deletes the run's rows (its steps and epochs with it); deleting its
 * files is the caller's. */
gboolean convolve_run_store_delete_run    (ConvolveRunStore *store,
                                           gint64            run_id,
                                           GError          **error);
/* Removes the files of run (a record read before deleting it): its
 * checkpoint and best checkpoint, with_model also its saved model, each
 * once; then its folder under convolve_run_store_get_run_dir when that is
 * left empty. Files that are gone already are no error. Returns how many
 * files it removed. */
guint    convolve_run_store_delete_run_files (ConvolveRunStore        *store,
                                              const ConvolveRunRecord *run,
                                              gboolean                 with_model);
/* Where the app keeps a run's own files (its checkpoints): "runs/ID"
 * beside the database file. Not created here. */
char    *convolve_run_store_get_run_dir   (ConvolveRunStore *store,
                                           gint64            run_id);

/* Reads. ---------------------------------------------------------------- */

/* ConvolveRunRecord*s (free func set); dataset_name NULL: every dataset. */
GPtrArray         *convolve_run_store_list_runs  (ConvolveRunStore *store,
                                                  const char       *dataset_name,
                                                  ConvolveRunSort   sort,
                                                  GError          **error);
/* CONVOLVE_RUN_STORE_ERROR_NOT_FOUND for an unknown id. */
ConvolveRunRecord *convolve_run_store_get_run    (ConvolveRunStore *store,
                                                  gint64            run_id,
                                                  GError          **error);
/* ConvolveHistoryStep / ConvolveHistoryEpoch in order. */
GArray            *convolve_run_store_get_steps  (ConvolveRunStore *store,
                                                  gint64            run_id,
                                                  GError          **error);
GArray            *convolve_run_store_get_epochs (ConvolveRunStore *store,
                                                  gint64            run_id,
                                                  GError          **error);
/* Both as a new history (for the plots and CSV export). */
ConvolveHistory   *convolve_run_store_get_history (ConvolveRunStore *store,
                                                   gint64            run_id,
                                                   GError          **error);
/* The run as text in format; NaN written as the history writers do. */
char              *convolve_run_store_export_run  (ConvolveRunStore        *store,
                                                   gint64                   run_id,
                                                   ConvolveRunExportFormat  format,
                                                   GError                 **error);

G_END_DECLS
