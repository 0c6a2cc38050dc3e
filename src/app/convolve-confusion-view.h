/* convolve-confusion-view.h: the confusion matrix as a widget, drawn by
 * src/report's renderer: hover reads a cell out, arrow keys move a focused
 * cell, Enter or a click activates it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-evaluation.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_CONFUSION_VIEW (convolve_confusion_view_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveConfusionView, convolve_confusion_view, CONVOLVE, CONFUSION_VIEW, GtkWidget)

GtkWidget  *convolve_confusion_view_new            (void);

/* Shows a copy of evaluation (nullable: nothing) with class_names
 * (nullable, NULL-terminated: numbers). Keeps the focused cell when the
 * number of classes stays. */
void        convolve_confusion_view_set_evaluation (ConvolveConfusionView    *self,
                                                    const ConvolveEvaluation *evaluation,
                                                    const char * const       *class_names);

/* The cell that keyboard focus is on (the diagonal's first at first);
 * FALSE without an evaluation. */
gboolean    convolve_confusion_view_get_focus_cell (ConvolveConfusionView    *self,
                                                    int                      *true_class,
                                                    int                      *predicted_class);
void        convolve_confusion_view_set_focus_cell (ConvolveConfusionView    *self,
                                                    int                       true_class,
                                                    int                       predicted_class);

/* The cell under (x, y) in widget coordinates, as last laid out. */
gboolean    convolve_confusion_view_get_cell_at    (ConvolveConfusionView    *self,
                                                    double                    x,
                                                    double                    y,
                                                    int                      *true_class,
                                                    int                      *predicted_class);

/* "cat → dog: 31 (12.4 % of the cat images)" for the hovered cell, else
 * the focused one while the view has focus, else "". */
const char *convolve_confusion_view_get_readout    (ConvolveConfusionView    *self);

G_END_DECLS
