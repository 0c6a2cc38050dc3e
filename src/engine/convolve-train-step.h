/* convolve-train-step.h: one training step of a model with an optimizer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "convolve-model.h"
#include "convolve-optimizer.h"

G_BEGIN_DECLS

/* Forward (training), loss, backward and update in one call. Returns the
 * mean loss; n_correct (nullable) gets the argmax hits. For speed, large Dense
 * kernels are updated block by block as their gradient is computed, so
 * afterwards the gradient block does not hold those kernels' gradients;
 * use convolve_model_backward() when the full gradient is wanted. */
gboolean convolve_model_train_step (ConvolveModel     *model,
                                    ConvolveOptimizer *optimizer,
                                    const float       *x,
                                    const int32_t     *labels,
                                    int                batch,
                                    float             *loss,
                                    int               *n_correct,
                                    GError           **error);

G_END_DECLS
