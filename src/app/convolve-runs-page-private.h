/* convolve-runs-page-private.h: the runs page's state, shared by the
 * files that implement it by concern (convolve-runs-page.c: the list and
 * the store work; convolve-runs-page-compare.c: the selected runs' plots,
 * their export and the table of what differs).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-runs-page.h"

G_BEGIN_DECLS

struct _ConvolveRunsPage
{
  GtkWidget              parent_instance;

  AdwToastOverlay       *toast_overlay;
  GtkStack              *stack;
  AdwStatusPage         *empty_page;
  GtkRevealer           *interrupted_revealer;
  GtkLabel              *interrupted_label;
  GtkLabel              *subtitle_label;
  GtkDropDown           *dataset_dropdown;
  GtkStringList         *dataset_list;
  GtkToggleButton       *group_button;
  GtkColumnView         *run_view;
  GtkDrawingArea        *accuracy_area;
  GtkDrawingArea        *loss_area;
  GtkGrid               *compare_grid;

  GListStore            *rows;       /* ConvolveRunRow, as read */
  GtkFilterListModel    *filtered;
  GtkSortListModel      *sorted;
  GtkMultiSelection     *selection;
  char                  *dataset_filter;  /* NULL: every dataset */
  GPtrArray             *dataset_keys;    /* the dropdown's datasets as stored (0: NULL, all) */

  char                  *store_path;
  ConvolveRunStore      *store;      /* opened by the first read */
  GCancellable          *cancellable;
  guint                  n_pending;  /* store tasks under way */
  guint64                list_serial;
  guint64                compare_serial;
  ConvolveRunComparison *comparison;

  ConvolveSession       *session;    /* weak: disconnected on dispose */
  gulong                 run_changed_handler;
  gulong                 progress_handler;
  int                    live_epoch;
  ConvolveTrainerState   live_state;
  guint                  reload_source;
  guint                  poll_source;
  gboolean               behind;     /* hidden while a run went on: reload when shown */
};

/* convolve-runs-page.c */
GWeakRef *_convolve_runs_page_weak_ref_new   (gpointer          object);
/* Frees ref; a new reference to its object, or NULL. */
gpointer  _convolve_runs_page_weak_ref_steal (GWeakRef         *ref);
void      _convolve_runs_page_show_toast     (ConvolveRunsPage *self,
                                              const char       *message);

/* convolve-runs-page-compare.c */
/* Redraws the plots and rebuilds the table of what differs from
 * self->comparison (NULL: nothing selected). */
void      _convolve_runs_page_show_differing (ConvolveRunsPage *self);
/* The draw function of both plot areas. */
void      _convolve_runs_page_draw_plot      (GtkDrawingArea   *area,
                                              cairo_t          *cr,
                                              int               width,
                                              int               height,
                                              gpointer          user_data);
/* runs.export: "accuracy-png", "accuracy-svg", "loss-png", "loss-svg". */
void      _convolve_runs_page_export_action  (GtkWidget        *widget,
                                              const char       *action_name,
                                              GVariant         *parameter);

G_END_DECLS
