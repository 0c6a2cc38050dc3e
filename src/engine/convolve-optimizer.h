/* convolve-optimizer.h: Adam (exactly as Keras) and SGD with momentum over
 * a model's contiguous parameter block.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-error.h"

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_OPTIMIZER_ADAM,
  CONVOLVE_OPTIMIZER_SGD,
} ConvolveOptimizerKind;

typedef struct {
  ConvolveOptimizerKind kind;
  float    learning_rate;  /* Adam 1e-3, SGD 1e-2 */
  float    beta_1;         /* Adam 0.9 */
  float    beta_2;         /* Adam 0.999 */
  float    epsilon;        /* Adam 1e-7 */
  float    momentum;       /* SGD 0.0 */
  gboolean nesterov;       /* SGD */
} ConvolveOptimizerConfig;

void convolve_optimizer_config_init_adam (ConvolveOptimizerConfig *config);
void convolve_optimizer_config_init_sgd  (ConvolveOptimizerConfig *config);

typedef struct _ConvolveOptimizer ConvolveOptimizer;

ConvolveOptimizer *convolve_optimizer_new   (const ConvolveOptimizerConfig *config,
                                             gsize                          n_params,
                                             GError                       **error);
void               convolve_optimizer_free  (ConvolveOptimizer *optimizer);
/* The same settings, iteration count and slots, in new memory (e.g. to save
 * a checkpoint while training goes on). */
ConvolveOptimizer *convolve_optimizer_copy  (const ConvolveOptimizer  *optimizer,
                                             GError                  **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveOptimizer, convolve_optimizer_free)

/* One update of params from grads (both n_params floats). Keras Adam:
 *   t += 1; alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
 *   m += (g - m) * (1 - beta_1); v += (g*g - v) * (1 - beta_2)
 *   p -= alpha * m / (sqrt(v) + epsilon) */
void convolve_optimizer_step (ConvolveOptimizer *optimizer,
                              float             *params,
                              const float       *grads);

const ConvolveOptimizerConfig *convolve_optimizer_get_config (const ConvolveOptimizer *optimizer);
void     convolve_optimizer_set_learning_rate (ConvolveOptimizer *optimizer, float learning_rate);
gint64   convolve_optimizer_get_iterations    (const ConvolveOptimizer *optimizer);
void     convolve_optimizer_set_iterations    (ConvolveOptimizer *optimizer, gint64 iterations);
gsize    convolve_optimizer_get_n_params      (const ConvolveOptimizer *optimizer);
/* Slots: Adam has 2 (m, v), SGD with momentum 1 (velocity), plain SGD 0. */
int      convolve_optimizer_get_n_slots       (const ConvolveOptimizer *optimizer);
float   *convolve_optimizer_get_slot          (ConvolveOptimizer *optimizer, int index);
const char *convolve_optimizer_get_slot_name  (const ConvolveOptimizer *optimizer, int index);

G_END_DECLS
