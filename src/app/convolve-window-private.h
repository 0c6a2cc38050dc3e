/* convolve-window-private.h: the window's state, shared by the files that
 * implement it by concern (convolve-window.c: layout, datasets and
 * settings; convolve-window-actions.c: model files, history and plot
 * export;
 * convolve-window-training.c: following the session's run in the panel,
 * the plots and the grid). The session (convolve-session.h) holds the
 * state; the window only shows it and forwards what the user asks.
 * Tests include it to look inside.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-dataset-page.h"
#include "convolve-evaluation-page.h"
#include "convolve-engine.h"
#include "convolve-loaders.h"
#include "convolve-plot.h"
#include "convolve-predictor.h"
#include "convolve-runs-page.h"
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
  GtkProgressBar        *loading_progress;
  GtkButton             *loading_cancel;
  ConvolveDatasetPage   *dataset_page;
  AdwFlap               *flap;
  ConvolveTrainingPanel *training_panel;
  GtkViewport           *content_viewport;
  GtkBox                *content_box;
  ConvolveSampleGrid    *sample_grid;
  ConvolvePredictor     *predictor;
  ConvolvePlot          *loss_plot;
  ConvolvePlot          *accuracy_plot;
  AdwViewSwitcher       *view_switcher;
  AdwViewSwitcherBar    *view_switcher_bar;
  AdwViewStack          *view_stack;
  ConvolveEvaluationPage *evaluation_page;
  ConvolveRunsPage      *runs_page;

  /* What the window shows: the datasets, the weights, the run. */
  ConvolveSession       *session;

  /* the dataset switcher: locations[i] is the i-th entry of dataset_list */
  GPtrArray             *locations;
  gulong                 dropdown_handler;
  /* how much of the run's history the plots show */
  guint                  plotted_steps;
  guint                  plotted_epochs;

  GCancellable          *cancellable;  /* file and dataset work for this window */
};

/* convolve-window.c */
/* Background work keeps only a weak reference to the window: a result
 * that arrives after the window is gone is dropped. steal frees the
 * GWeakRef and returns a strong reference or NULL. */
GWeakRef *convolve_weak_ref_new             (gpointer        object);
gpointer  convolve_weak_ref_steal           (GWeakRef       *ref);
void     convolve_window_update_actions     (ConvolveWindow *self);
void     convolve_window_update_title       (ConvolveWindow *self);
/* The spec and seed the settings ask for new models. */
char    *convolve_window_dup_spec_text      (ConvolveWindow *self);
guint64  convolve_window_get_seed           (ConvolveWindow *self);

/* convolve-window-import.c */
void     convolve_window_init_import            (ConvolveWindow *self);
/* The image-folder settings to the session, before a folder is opened. */
void     convolve_window_apply_import_settings  (ConvolveWindow *self);
void     convolve_window_cancel_import          (ConvolveWindow *self);
/* Resets the loading page and tells of skipped files. */
void     convolve_window_import_done            (ConvolveWindow *self,
                                                 gboolean        opened);

/* convolve-window-actions.c */
void     convolve_window_init_actions       (ConvolveWindow *self);
/* What win.export-plot does once the file is chosen: target is one of
 * "loss-png", "loss-svg", "accuracy-png", "accuracy-svg". Writes off the
 * main thread; the outcome is a toast. */
void     convolve_window_export_plot        (ConvolveWindow *self,
                                             const char     *target,
                                             GFile          *file);

/* What win.save-best-model does once the file is chosen: the run's best
 * epoch as a plain model file, written off the main thread; the outcome
 * is a toast. */
void     convolve_window_save_best_model    (ConvolveWindow *self,
                                             GFile          *file);

/* What win.export-onnx does once the file is chosen: the newest weights
 * with the dataset's class names and scaling, written off the main
 * thread (convolve_onnx_export_async); the outcome is a toast. */
void     convolve_window_export_onnx        (ConvolveWindow *self,
                                             GFile          *file);

/* convolve-window-training.c */
/* Connects the panel, plots and grid to the session. */
void     convolve_window_init_training      (ConvolveWindow *self);
/* Starts a run with the panel's and the settings' configuration. */
void     convolve_window_train              (ConvolveWindow *self);

G_END_DECLS
