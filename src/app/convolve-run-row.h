/* convolve-run-row.h: one recorded run as the runs page lists it: the
 * record, with properties for the list's sorters ("id", "name",
 * "started", "dataset", "model", "settings", "epochs", "best-accuracy",
 * "final-accuracy" (NaN as -1, so it sorts last), "duration", "status").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "convolve-train.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_RUN_ROW (convolve_run_row_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveRunRow, convolve_run_row, CONVOLVE, RUN_ROW, GObject)

/* Takes record. */
ConvolveRunRow    *convolve_run_row_new          (ConvolveRunRecord *record);
/* The row's record (a rename changes its name in place). */
ConvolveRunRecord *convolve_run_row_get_record   (ConvolveRunRow    *self);
/* The key hyperparameters in one line: "adam, lr 0.001, batch 32, seed 1". */
const char        *convolve_run_row_get_settings (ConvolveRunRow    *self);
/* Start to end (or to the last write), in seconds; 0 when unknown. */
double             convolve_run_row_get_duration (ConvolveRunRow    *self);

/* "Running", "Finished", … translated. */
const char        *convolve_run_status_get_title (ConvolveRunStatus  status);

G_END_DECLS
