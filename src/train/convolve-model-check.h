/* convolve-model-check.h: the one rule for whether a model can work on a
 * dataset, used wherever the two meet (trainer, evaluation, the CLI, the
 * app's open, predictor and sample view).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-engine.h"
#include "convolve-dataset.h"
#include "convolve-train-error.h"

G_BEGIN_DECLS

/* TRUE when the model takes the dataset's images as they are (the same
 * height, width and channels) and has an output for each of its classes
 * (it may have more). Otherwise FALSE with CONVOLVE_TRAIN_ERROR_MISMATCH
 * saying which of the two does not fit. */
gboolean convolve_check_model_for_dataset (const ConvolveModel   *model,
                                           const ConvolveDataset *dataset,
                                           GError               **error);
/* The same rule for a model known only by its input shape and class count
 * (e.g. on a thread that must not touch the model itself). */
gboolean convolve_check_input_for_dataset (ConvolveShape          input,
                                           int                    n_classes,
                                           const ConvolveDataset *dataset,
                                           GError               **error);
/* The rule for layers not yet built (the model editor's): spec fits input
 * (convolve_model_spec_summarize) and has an output for each of n_classes
 * classes (0: no dataset, any number). Returns the model's summary, or NULL
 * with the reason and *bad_layer (nullable) the 0-based index of the layer
 * at fault, -1 for the model as a whole. */
char    *convolve_check_spec              (const ConvolveModelSpec *spec,
                                           ConvolveShape            input,
                                           int                      n_classes,
                                           int                     *bad_layer,
                                           GError                 **error);

G_END_DECLS
