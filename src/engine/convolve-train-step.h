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

/* Where the time of a training step goes, in microseconds, summed over the
 * steps it is handed to: each layer's forward and backward pass (index as
 * convolve_model_get_layer()), the loss, and the optimizer's update (for a
 * fused Dense kernel, its update and its gradient, computed together a
 * block at a time over the engine's threads, are counted here and not in
 * the layer's backward time). The caller allocates forward_us and backward_us, n_layers
 * each, and zeroes everything before the first step. */
typedef struct {
  int     n_layers;
  gint64 *forward_us;
  gint64 *backward_us;
  gint64  loss_us;
  gint64  optimizer_us;
} ConvolveStepProfile;

/* convolve_model_train_step() with the clock running: the same arithmetic,
 * the times added to profile. */
gboolean convolve_model_train_step_profile (ConvolveModel       *model,
                                            ConvolveOptimizer   *optimizer,
                                            const float         *x,
                                            const int32_t       *labels,
                                            int                  batch,
                                            float               *loss,
                                            int                 *n_correct,
                                            ConvolveStepProfile *profile,
                                            GError             **error);

G_END_DECLS
