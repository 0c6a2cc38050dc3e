/* convolve-runs-page.h: the runs recorded in the run store: a sortable
 * list (name editable, date, dataset, model, key settings, best and final
 * validation accuracy, duration, status) filtered by dataset, and for the
 * selected runs their validation curves overlaid (seed groups as a mean
 * with a band) with the settings that differ. Deleting a run deletes its
 * files too, after a confirmation; "Open Model" asks the window to load
 * the run's model ("open-model").
 *
 * The store is read on a worker thread; the page follows a session's run
 * ("run-changed", "progress") so the current run appears live.
 *
 * Signals:
 * "open-model" (const char *path): the model file of the selected run.
 * "resume-run" (gint64 id): continue this interrupted or stopped run from
 *   its last checkpoint (Resume: the selected run, else the newest
 *   interrupted one that has a checkpoint).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-train.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_RUNS_PAGE (convolve_runs_page_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveRunsPage, convolve_runs_page, CONVOLVE, RUNS_PAGE, GtkWidget)

GtkWidget  *convolve_runs_page_new            (void);

/* The run store file; NULL: the default (convolve_run_store_get_default_path).
 * Reloads. */
void        convolve_runs_page_set_store_path (ConvolveRunsPage *self,
                                               const char       *path);
/* The session whose runs the page follows (nullable; not referenced
 * beyond the page's life: the page disconnects on dispose). */
void        convolve_runs_page_set_session    (ConvolveRunsPage *self,
                                               ConvolveSession  *session);
/* Reads the runs again, off the main thread. */
void        convolve_runs_page_reload         (ConvolveRunsPage *self);
/* Whether a read or write of the store is under way. */
gboolean    convolve_runs_page_is_busy        (ConvolveRunsPage *self);

/* The runs as listed (after the dataset filter, in the list's order):
 * a GListModel of GObjects with properties "id" (gint64), "name",
 * "dataset", "status" (strings) and "best-accuracy" (double). */
GListModel *convolve_runs_page_get_runs       (ConvolveRunsPage *self);
/* Selects the runs with these ids (others are unselected). */
void        convolve_runs_page_select_runs    (ConvolveRunsPage *self,
                                               const gint64     *ids,
                                               guint             n_ids);
/* The comparison of the selected runs the plots show, or NULL. */
const ConvolveRunComparison *convolve_runs_page_get_comparison (ConvolveRunsPage *self);

/* What the name cell and the delete confirmation do (off the main
 * thread; the list reloads after). delete_runs also deletes each run's
 * checkpoints and model file. */
void        convolve_runs_page_rename_run     (ConvolveRunsPage *self,
                                               gint64            id,
                                               const char       *name);
void        convolve_runs_page_delete_runs    (ConvolveRunsPage *self,
                                               const gint64     *ids,
                                               guint             n_ids);

G_END_DECLS
