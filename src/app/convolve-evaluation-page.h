/* convolve-evaluation-page.h: the latest test-set evaluation: the
 * confusion matrix, a sortable per-class table with averages, the most
 * confused pairs, and exports. It shows what it is given; the window
 * feeds it from the session and follows its signals.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-evaluation.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_EVALUATION_PAGE (convolve_evaluation_page_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveEvaluationPage, convolve_evaluation_page, CONVOLVE, EVALUATION_PAGE, GtkWidget)

GtkWidget *convolve_evaluation_page_new            (void);

/* Shows a copy of evaluation; NULL: the empty state. class_names is
 * nullable and NULL-terminated (numbers then). */
void       convolve_evaluation_page_set_evaluation (ConvolveEvaluationPage   *self,
                                                    const ConvolveEvaluation *evaluation,
                                                    const char * const       *class_names);
/* Progress while an evaluation runs (fraction 0 to 1); over the last
 * results when there are any. */
void       convolve_evaluation_page_set_evaluating (ConvolveEvaluationPage   *self,
                                                    gboolean                  evaluating,
                                                    double                    fraction);

/* Targets of the page's evaluation.export action. */
#define CONVOLVE_EVALUATION_EXPORT_CONFUSION_PNG "confusion-png"
#define CONVOLVE_EVALUATION_EXPORT_CONFUSION_SVG "confusion-svg"
#define CONVOLVE_EVALUATION_EXPORT_PER_CLASS     "per-class-csv"
#define CONVOLVE_EVALUATION_EXPORT_PREDICTIONS   "predictions-csv"

/* What evaluation.export writes after its file chooser: the file's bytes
 * are made here, written off the main thread, replaced atomically; the
 * outcome is a toast on the page. */
void       convolve_evaluation_page_export         (ConvolveEvaluationPage   *self,
                                                    const char               *target,
                                                    GFile                    *file);

G_END_DECLS
