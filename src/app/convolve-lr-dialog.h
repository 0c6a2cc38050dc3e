/* convolve-lr-dialog.h: "Find Learning Rate": the LR finder's sweep on a
 * copy of the current weights, off the main thread, its curve drawn as it
 * grows (convolve-lr-plot.h) with the suggested rates marked, and "Use
 * This" to take the valley suggestion. The weights the user had are
 * never touched; closing the dialog cancels the sweep.
 *
 * Signals:
 * "use-learning-rate" (double rate): the user took the suggestion.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-train.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_LR_DIALOG (convolve_lr_dialog_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveLrDialog, convolve_lr_dialog, CONVOLVE, LR_DIALOG, AdwWindow)

/* Starts the sweep at once on a copy of model (read now) over train
 * (referenced) with config. parent is nullable. */
ConvolveLrDialog *convolve_lr_dialog_new (GtkWindow                    *parent,
                                          const ConvolveModel          *model,
                                          ConvolveDataset              *train,
                                          const ConvolveLrFinderConfig *config);

gboolean                      convolve_lr_dialog_is_running (ConvolveLrDialog *self);
/* The finished sweep, or NULL (running, failed or cancelled). */
const ConvolveLrFinderResult *convolve_lr_dialog_get_result (ConvolveLrDialog *self);
/* The rate "Use This" gives: the valley suggestion, else the steep one;
 * NaN without a result. */
double                        convolve_lr_dialog_get_suggestion (ConvolveLrDialog *self);

G_END_DECLS
