/* convolve-window-private.h: the window's state, shared by the files that
 * implement it by concern (convolve-window.c: layout, datasets and
 * settings; convolve-window-actions.c: model files, history and plot
 * export;
 * convolve-window-training.c: the trainer, progress, plots and predictions).
 * Tests include it to look inside.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-dataset-page.h"
#include "convolve-engine.h"
#include "convolve-loaders.h"
#include "convolve-plot.h"
#include "convolve-predictor.h"
#include "convolve-sample-grid.h"
#include "convolve-train.h"
#include "convolve-training-panel.h"
#include "convolve-window.h"

G_BEGIN_DECLS

struct _ConvolveWindow
{
  AdwApplicationWindow   parent_instance;

  GSettings             *settings;

  /* template children */
  AdwToastOverlay       *toast_overlay;
  AdwWindowTitle        *window_title;
  GtkToggleButton       *sidebar_button;
  GtkDropDown           *dataset_dropdown;
  GtkStringList         *dataset_list;
  GtkMenuButton         *primary_menu_button;
  GtkMenuButton         *model_menu_button;
  GtkStack              *main_stack;
  AdwStatusPage         *loading_page;
  GtkSpinner            *loading_spinner;
  ConvolveDatasetPage   *dataset_page;
  AdwFlap               *flap;
  ConvolveTrainingPanel *training_panel;
  GtkViewport           *content_viewport;
  GtkBox                *content_box;
  ConvolveSampleGrid    *sample_grid;
  ConvolvePredictor     *predictor;
  ConvolvePlot          *loss_plot;
  ConvolvePlot          *accuracy_plot;

  /* datasets: locations[i] is the i-th entry of dataset_list */
  GPtrArray             *locations;
  gulong                 dropdown_handler;
  char                  *dataset_path;
  ConvolveDataset       *train;
  ConvolveDataset       *test;
  GCancellable          *load_cancellable;

  /* The model when no run holds it (after New, Open or a dataset change);
   * NULL while a trainer exists, which then holds the weights. */
  ConvolveModel         *model;
  ConvolveModelMeta     *model_meta;
  char                  *model_path;   /* where Save writes; NULL: ask */
  /* A one-image copy of the latest weights, for the sample view. */
  ConvolveModel         *predict_model;

  /* the latest run */
  gboolean               starting;     /* a trainer is being built */
  ConvolveTrainer       *trainer;
  ConvolveProgress      *progress;
  guint                  plotted_steps;
  guint                  plotted_epochs;
  guint64                weights_version;
  GCancellable          *snapshot_cancellable;
  gboolean               snapshot_running;
  gboolean               snapshot_again;

  GCancellable          *file_cancellable;
};

/* convolve-window.c */
/* Background work keeps only a weak reference to the window: a result
 * that arrives after the window is gone is dropped. steal frees the
 * GWeakRef and returns a strong reference or NULL. */
GWeakRef *convolve_weak_ref_new             (gpointer        object);
gpointer  convolve_weak_ref_steal           (GWeakRef       *ref);
void     convolve_window_update_actions     (ConvolveWindow *self);
void     convolve_window_update_title       (ConvolveWindow *self);
/* Installs model (owned) as the current one, sized for prediction; drops
 * the latest run. meta (owned, nullable) and path (nullable) describe it. */
void     convolve_window_set_model          (ConvolveWindow    *self,
                                             ConvolveModel     *model,
                                             ConvolveModelMeta *meta,
                                             const char        *path);
/* A new model for the current dataset from the settings' spec and seed. */
ConvolveModel *convolve_window_create_model (ConvolveWindow  *self,
                                             GError         **error);

/* convolve-window-actions.c */
void     convolve_window_init_actions       (ConvolveWindow *self);
/* A copy of the current weights sized for max_batch; NULL with error when
 * there is no model. */
ConvolveModel *convolve_window_dup_model    (ConvolveWindow  *self,
                                             int              max_batch,
                                             GError         **error);
/* What win.export-plot does once the file is chosen: target is one of
 * "loss-png", "loss-svg", "accuracy-png", "accuracy-svg". Writes off the
 * main thread; the outcome is a toast. */
void     convolve_window_export_plot        (ConvolveWindow *self,
                                             const char     *target,
                                             GFile          *file);

/* convolve-window-training.c */
void     convolve_window_train              (ConvolveWindow *self);
void     convolve_window_pause              (ConvolveWindow *self);
void     convolve_window_resume             (ConvolveWindow *self);
void     convolve_window_stop               (ConvolveWindow *self);
/* Stops any run and waits for its thread (window closing). */
void     convolve_window_shutdown_training  (ConvolveWindow *self);
/* Forgets the latest run: plots cleared, panel reset. */
void     convolve_window_clear_run          (ConvolveWindow *self);
gboolean convolve_window_is_training        (ConvolveWindow *self);
/* Gives the predictor and the sample view fresh copies of the weights. */
void     convolve_window_refresh_predictions (ConvolveWindow *self);

G_END_DECLS
