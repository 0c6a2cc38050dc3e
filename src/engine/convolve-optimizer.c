/* convolve-optimizer.c: Adam and SGD with momentum, exactly as Keras
 * writes them, as one flat pass over the model's contiguous parameter
 * block.
 *
 * The elementwise loops are plain and restrict-qualified so the compiler
 * vectorises them, in AVX-512, AVX2 and baseline copies picked at load
 * time (convolve-clones.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convolve-clones.h"
#include "convolve-memory.h"
#include "convolve-optimizer.h"
#include "convolve-optimizer-private.h"
#include "convolve-parallel.h"


struct _ConvolveOptimizer {
  ConvolveOptimizerConfig config;
  gsize                   n_params;
  gint64                  iterations;
  int                     n_slots;
  float                  *slots[2];
};

void
convolve_optimizer_config_init_adam (ConvolveOptimizerConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof *config);
  config->kind = CONVOLVE_OPTIMIZER_ADAM;
  config->learning_rate = 1e-3f;
  config->beta_1 = 0.9f;
  config->beta_2 = 0.999f;
  config->epsilon = 1e-7f;
}

void
convolve_optimizer_config_init_sgd (ConvolveOptimizerConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof *config);
  config->kind = CONVOLVE_OPTIMIZER_SGD;
  config->learning_rate = 1e-2f;
  config->momentum = 0.0f;
  config->nesterov = FALSE;
}

static gboolean
config_is_valid (const ConvolveOptimizerConfig *config, GError **error)
{
  const char *problem = NULL;

  if (!(config->learning_rate > 0.0f) || !isfinite (config->learning_rate))
    problem = _("the learning rate must be a positive number");
  else if (config->kind == CONVOLVE_OPTIMIZER_ADAM)
    {
      if (!(config->beta_1 >= 0.0f && config->beta_1 < 1.0f))
        problem = _("beta_1 must be from 0 up to (not including) 1");
      else if (!(config->beta_2 >= 0.0f && config->beta_2 < 1.0f))
        problem = _("beta_2 must be from 0 up to (not including) 1");
      else if (!(config->epsilon > 0.0f) || !isfinite (config->epsilon))
        problem = _("epsilon must be a positive number");
    }
  else if (config->kind == CONVOLVE_OPTIMIZER_SGD)
    {
      if (!(config->momentum >= 0.0f && config->momentum < 1.0f))
        problem = _("the momentum must be from 0 up to (not including) 1");
    }
  else
    problem = _("unknown optimizer");

  if (problem != NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("Invalid optimizer settings: %s"), problem);
      return FALSE;
    }
  return TRUE;
}

ConvolveOptimizer *
convolve_optimizer_new (const ConvolveOptimizerConfig *config,
                        gsize                          n_params,
                        GError                       **error)
{
  g_autoptr(ConvolveOptimizer) optimizer = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("No optimizer settings were given"));
      return NULL;
    }
  if (!config_is_valid (config, error))
    return NULL;
  if (n_params == 0 || n_params > G_MAXSIZE / sizeof (float) / 4)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("An optimizer needs a positive number of parameters"));
      return NULL;
    }

  optimizer = g_new0 (ConvolveOptimizer, 1);
  optimizer->config = *config;
  optimizer->n_params = n_params;
  if (config->kind == CONVOLVE_OPTIMIZER_ADAM)
    optimizer->n_slots = 2;
  else
    optimizer->n_slots = config->momentum > 0.0f ? 1 : 0;

  for (int i = 0; i < optimizer->n_slots; i++)
    {
      float *p = convolve_memory_alloc_floats (n_params);

      if (p == NULL)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                       _("Not enough memory for the optimizer’s %zu MB of state"),
                       (n_params * sizeof (float)) >> 20);
          return NULL;
        }
      optimizer->slots[i] = p;
    }
  return g_steal_pointer (&optimizer);
}

void
convolve_optimizer_free (ConvolveOptimizer *optimizer)
{
  if (optimizer == NULL)
    return;
  free (optimizer->slots[0]);
  free (optimizer->slots[1]);
  g_free (optimizer);
}

ConvolveOptimizer *
convolve_optimizer_copy (const ConvolveOptimizer  *optimizer,
                         GError                  **error)
{
  ConvolveOptimizer *copy;

  g_return_val_if_fail (optimizer != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  copy = convolve_optimizer_new (&optimizer->config, optimizer->n_params, error);
  if (copy == NULL)
    return NULL;
  copy->iterations = optimizer->iterations;
  for (int i = 0; i < optimizer->n_slots; i++)
    memcpy (copy->slots[i], optimizer->slots[i], optimizer->n_params * sizeof (float));
  return copy;
}

/* --- the update kernels -------------------------------------------------- */

CONVOLVE_CLONES static void
adam_update (float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
             gsize n, float alpha, float beta_1, float beta_2, float epsilon)
{
  float one_minus_b1 = 1.0f - beta_1;
  float one_minus_b2 = 1.0f - beta_2;

  for (gsize i = 0; i < n; i++)
    {
      float gi = g[i];
      float mi = m[i] + (gi - m[i]) * one_minus_b1;
      float vi = v[i] + (gi * gi - v[i]) * one_minus_b2;

      m[i] = mi;
      v[i] = vi;
      p[i] -= alpha * mi / (sqrtf (vi) + epsilon);
    }
}

CONVOLVE_CLONES static void
sgd_update (float *restrict p, const float *restrict g, gsize n, float lr)
{
  for (gsize i = 0; i < n; i++)
    p[i] -= lr * g[i];
}

CONVOLVE_CLONES static void
sgd_momentum_update (float *restrict p, float *restrict velocity, const float *restrict g,
                     gsize n, float lr, float momentum, gboolean nesterov)
{
  if (nesterov)
    for (gsize i = 0; i < n; i++)
      {
        float vi = momentum * velocity[i] - lr * g[i];

        velocity[i] = vi;
        p[i] += momentum * vi - lr * g[i];
      }
  else
    for (gsize i = 0; i < n; i++)
      {
        float vi = momentum * velocity[i] - lr * g[i];

        velocity[i] = vi;
        p[i] += vi;
      }
}

/* Keras Adam's step size for iteration t (1-based), in double so that
 * beta_2^t is exact enough for long runs. */
static float
adam_alpha (const ConvolveOptimizerConfig *c, gint64 t)
{
  double b1t = pow ((double) c->beta_1, (double) t);
  double b2t = pow ((double) c->beta_2, (double) t);

  return (float) (c->learning_rate * sqrt (1.0 - b2t) / (1.0 - b1t));
}

float
_convolve_optimizer_begin_step (ConvolveOptimizer *optimizer)
{
  optimizer->iterations++;
  return adam_alpha (&optimizer->config, optimizer->iterations);
}

typedef struct {
  ConvolveOptimizer *optimizer;
  float             *params;
  gsize              offset, n;
  const float       *grads;
  float              alpha;
} UpdateJob;

static void
update_run (int task, int n_tasks, gpointer data)
{
  const UpdateJob *j = data;
  const ConvolveOptimizerConfig *c = &j->optimizer->config;
  gsize first, last, offset, n;
  const float *grads;

  convolve_parallel_range (j->n, task, n_tasks, &first, &last);
  offset = j->offset + first;
  n = last - first;
  grads = j->grads + first;
  switch (c->kind)
    {
    case CONVOLVE_OPTIMIZER_ADAM:
      adam_update (j->params + offset, j->optimizer->slots[0] + offset,
                   j->optimizer->slots[1] + offset, grads, n, j->alpha,
                   c->beta_1, c->beta_2, c->epsilon);
      break;
    case CONVOLVE_OPTIMIZER_SGD:
      if (j->optimizer->n_slots == 0)
        sgd_update (j->params + offset, grads, n, c->learning_rate);
      else
        sgd_momentum_update (j->params + offset, j->optimizer->slots[0] + offset, grads, n,
                             c->learning_rate, c->momentum, c->nesterov);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Each parameter is updated from its own gradient and moments only, so a
 * slice is split over the engine threads (the same numbers on any count).
 * A small one is not worth waking a thread for. (The fused Dense update
 * splits its blocks of rows over the threads itself, gradient and update
 * together: _convolve_optimizer_update_block.) */
#define PARALLEL_MIN_PARAMS (1 << 18)

void
_convolve_optimizer_update_slice (ConvolveOptimizer *optimizer, float *params, gsize offset,
                                  const float *grads, gsize n, float alpha)
{
  UpdateJob job = { optimizer, params, offset, n, grads, alpha };
  int runs = n < PARALLEL_MIN_PARAMS ? 1 : convolve_parallel_get_threads ();

  convolve_parallel_run (runs, update_run, &job);
}

void
_convolve_optimizer_update_block (ConvolveOptimizer *optimizer, float *params, gsize offset,
                                  const float *grads, gsize n, float alpha)
{
  UpdateJob job = { optimizer, params, offset, n, grads, alpha };

  update_run (0, 1, &job);
}

void
convolve_optimizer_step (ConvolveOptimizer *optimizer,
                         float             *params,
                         const float       *grads)
{
  float alpha;

  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (params != NULL);
  g_return_if_fail (grads != NULL);

  alpha = _convolve_optimizer_begin_step (optimizer);
  _convolve_optimizer_update_slice (optimizer, params, 0, grads, optimizer->n_params, alpha);
}

const ConvolveOptimizerConfig *
convolve_optimizer_get_config (const ConvolveOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  return &optimizer->config;
}

void
convolve_optimizer_set_learning_rate (ConvolveOptimizer *optimizer, float learning_rate)
{
  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (learning_rate > 0.0f && isfinite (learning_rate));
  optimizer->config.learning_rate = learning_rate;
}

gint64
convolve_optimizer_get_iterations (const ConvolveOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);
  return optimizer->iterations;
}

void
convolve_optimizer_set_iterations (ConvolveOptimizer *optimizer, gint64 iterations)
{
  g_return_if_fail (optimizer != NULL);
  g_return_if_fail (iterations >= 0);
  optimizer->iterations = iterations;
}

gsize
convolve_optimizer_get_n_params (const ConvolveOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);
  return optimizer->n_params;
}

int
convolve_optimizer_get_n_slots (const ConvolveOptimizer *optimizer)
{
  g_return_val_if_fail (optimizer != NULL, 0);
  return optimizer->n_slots;
}

float *
convolve_optimizer_get_slot (ConvolveOptimizer *optimizer, int index)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < optimizer->n_slots, NULL);
  return optimizer->slots[index];
}

const char *
convolve_optimizer_get_slot_name (const ConvolveOptimizer *optimizer, int index)
{
  g_return_val_if_fail (optimizer != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < optimizer->n_slots, NULL);

  if (optimizer->config.kind == CONVOLVE_OPTIMIZER_ADAM)
    return index == 0 ? "m" : "v";
  return "velocity";
}
