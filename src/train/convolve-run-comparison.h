/* convolve-run-comparison.h: recorded runs side by side: their settings,
 * which of them differ, which runs differ only in the seed, and their
 * validation curves (a seed group's as the mean with a min-max band).
 *
 * The one place these rules live: `convolve-cli runs compare`, its plot
 * (convolve-runs-plot.h) and the app's Runs page all use them.
 *
 * Settings. Every run has the same fixed list of settings (the dataset,
 * the model and every stored hyperparameter), each with a key for scripts
 * ("learning_rate"), a translated title and a value written the same way
 * whatever the locale, so two runs' values compare as text. The thread
 * count is a setting but not a hyperparameter: runs that differ only in
 * the seed and the threads still form one seed group.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-run-store.h"

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_RUN_SETTING_DATASET,
  CONVOLVE_RUN_SETTING_MODEL,
  CONVOLVE_RUN_SETTING_PARAMETERS,
  CONVOLVE_RUN_SETTING_TRAIN_IMAGES,
  CONVOLVE_RUN_SETTING_EPOCHS,
  CONVOLVE_RUN_SETTING_AUGMENT_EPOCHS,
  CONVOLVE_RUN_SETTING_AUGMENT,
  CONVOLVE_RUN_SETTING_BATCH_SIZE,
  CONVOLVE_RUN_SETTING_OPTIMIZER,
  CONVOLVE_RUN_SETTING_LEARNING_RATE,
  CONVOLVE_RUN_SETTING_EARLY_STOPPING, /* "off", or monitor/patience[/min_delta][/restore] */
  CONVOLVE_RUN_SETTING_SEED,
  CONVOLVE_RUN_SETTING_THREADS,
  CONVOLVE_RUN_N_SETTINGS
} ConvolveRunSetting;

/* "learning_rate": for scripts, untranslated. */
const char *convolve_run_setting_get_key   (ConvolveRunSetting       setting);
/* "Learning rate", translated. */
const char *convolve_run_setting_get_title (ConvolveRunSetting       setting);
/* The value as text ("0.001", "adam", "shift 0.1×0.1, flip"). */
char       *convolve_run_setting_format    (ConvolveRunSetting       setting,
                                            const ConvolveRunRecord *run);
/* Whether the setting changes what a run learns (all but the threads). */
gboolean    convolve_run_setting_is_hyperparameter (ConvolveRunSetting setting);

/* Whether a and b have the same value of every hyperparameter but the
 * seed (the threads are not compared either). */
gboolean    convolve_run_records_differ_only_in_seed (const ConvolveRunRecord *a,
                                                      const ConvolveRunRecord *b);
/* The settings whose value is not the same in all n runs, in setting
 * order, as ConvolveRunSetting values in a guint array. Fewer than two
 * runs: none. */
GArray     *convolve_run_records_differing_settings (const ConvolveRunRecord * const *runs,
                                                     guint                            n_runs);
/* Partitions n runs into seed groups: runs that differ only in the seed
 * share a group. Returns a GPtrArray of GArray of guint indices into
 * runs; groups in the order of their first run, members in run order. */
GPtrArray  *convolve_run_records_group_by_seed     (const ConvolveRunRecord * const *runs,
                                                    guint                            n_runs);

/* One curve of a comparison: a run, or the mean of a seed group. */
typedef struct {
  char    *label;            /* the run's name; a group: "NAME (3 seeds)" */
  guint    n_runs;           /* 1 for a single run */
  gint64  *run_ids;
  guint    n_epochs;         /* the longest member's */
  /* Per epoch (index 0 is epoch 1): the mean over the members that have
   * that epoch and a finite value, and their min and max (equal to the
   * mean for one run). NaN where no member has a value. */
  double  *val_accuracy;
  double  *val_accuracy_min;
  double  *val_accuracy_max;
  double  *val_loss;
  double  *val_loss_min;
  double  *val_loss_max;
  /* 1-based, 0 when none: a run's recorded best epoch; a group's, the
   * epoch of the lowest mean validation loss. */
  int      best_epoch;
} ConvolveRunCurve;

typedef struct _ConvolveRunComparison ConvolveRunComparison;

/* Curves for runs (n_runs records) with their epochs (n_runs GArrays of
 * ConvolveHistoryEpoch, as convolve_run_store_get_epochs returns them).
 * group_seeds: runs that differ only in the seed become one curve, else
 * each run is its own. Records and epochs are copied from. */
ConvolveRunComparison *convolve_run_comparison_new  (const ConvolveRunRecord * const *runs,
                                                     GArray * const                  *epochs,
                                                     guint                            n_runs,
                                                     gboolean                         group_seeds);
/* Reads the runs and their epochs from store (one read each);
 * CONVOLVE_RUN_STORE_ERROR_NOT_FOUND names an unknown id. */
ConvolveRunComparison *convolve_run_comparison_load (ConvolveRunStore                *store,
                                                     const gint64                    *run_ids,
                                                     guint                            n_runs,
                                                     gboolean                         group_seeds,
                                                     GError                         **error);
void                   convolve_run_comparison_free (ConvolveRunComparison           *comparison);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveRunComparison, convolve_run_comparison_free)

guint                   convolve_run_comparison_get_n_curves (const ConvolveRunComparison *comparison);
const ConvolveRunCurve *convolve_run_comparison_get_curve    (const ConvolveRunComparison *comparison,
                                                              guint                        index);
/* The compared runs (in the order given) and their differing settings. */
guint                   convolve_run_comparison_get_n_runs   (const ConvolveRunComparison *comparison);
const ConvolveRunRecord *convolve_run_comparison_get_run     (const ConvolveRunComparison *comparison,
                                                              guint                        index);
const GArray           *convolve_run_comparison_get_differing (const ConvolveRunComparison *comparison);
/* The most epochs of any curve. */
guint                   convolve_run_comparison_get_n_epochs (const ConvolveRunComparison *comparison);

G_END_DECLS
