/* convolve-optimizer-private.h: the optimizer's update, a slice at a time,
 * for the engine's own fused training step (convolve-train-step.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-optimizer.h"

G_BEGIN_DECLS

/* Advances the iteration count and returns the step size for it (Adam's
 * bias-corrected alpha; SGD uses its learning rate and ignores it). Every
 * parameter is then updated exactly once with _convolve_optimizer_update_slice(). */
float _convolve_optimizer_begin_step  (ConvolveOptimizer *optimizer);
/* Updates params[offset, offset + n) from grads, the n gradients of that
 * slice, with the alpha of _convolve_optimizer_begin_step(). */
void  _convolve_optimizer_update_slice (ConvolveOptimizer *optimizer,
                                        float             *params,
                                        gsize              offset,
                                        const float       *grads,
                                        gsize              n,
                                        float              alpha);
/* The same on the calling thread only, for a block that is itself one of
 * the engine's parallel tasks. */
void  _convolve_optimizer_update_block (ConvolveOptimizer *optimizer,
                                        float             *params,
                                        gsize              offset,
                                        const float       *grads,
                                        gsize              n,
                                        float              alpha);

G_END_DECLS
