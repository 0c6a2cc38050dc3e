/* test-optimizer.c: Adam and SGD updates against values worked out by hand
 * and against the Keras formulas evaluated in double precision.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-engine.h"

/* First Adam step, lr 1e-3, g = 0.5, by hand:
 *   m = 0.1 * 0.5 = 0.05;  v = 0.001 * 0.25 = 0.00025
 *   alpha = 1e-3 * sqrt(1 - 0.999) / (1 - 0.9) = 3.16227766e-4
 *   step = alpha * 0.05 / (sqrt(0.00025) + 1e-7) = 9.99993675e-4 */
static void
test_adam_first_step (void)
{
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) opt = NULL;
  g_autoptr(GError) error = NULL;
  float p[3] = { 1.0f, -2.0f, 0.0f };
  float g[3] = { 0.5f, -0.5f, 0.0f };

  convolve_optimizer_config_init_adam (&config);
  g_assert_cmpfloat (config.learning_rate, ==, 1e-3f);
  g_assert_cmpfloat (config.beta_1, ==, 0.9f);
  g_assert_cmpfloat (config.beta_2, ==, 0.999f);
  g_assert_cmpfloat (config.epsilon, ==, 1e-7f);
  opt = convolve_optimizer_new (&config, 3, &error);
  g_assert_no_error (error);

  convolve_optimizer_step (opt, p, g);
  g_assert_cmpfloat_with_epsilon (p[0], 1.0 - 9.99993675e-4, 1e-7);
  g_assert_cmpfloat_with_epsilon (p[1], -2.0 + 9.99993675e-4, 1e-7);
  g_assert_cmpfloat (p[2], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (convolve_optimizer_get_slot (opt, 0)[0], 0.05, 1e-7);
  g_assert_cmpfloat_with_epsilon (convolve_optimizer_get_slot (opt, 1)[0], 0.00025, 1e-8);
  g_assert_cmpint (convolve_optimizer_get_iterations (opt), ==, 1);
}

/* Many steps and a length that is not a multiple of any vector width,
 * against the Keras formula run in double. */
static void
test_adam_formula (void)
{
  enum { N = 1037, STEPS = 25 };
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) opt = NULL;
  g_autofree float *p = g_new (float, N), *g = g_new (float, N);
  g_autofree double *pd = g_new (double, N), *md = g_new0 (double, N), *vd = g_new0 (double, N);
  ConvolveRng rng;

  convolve_optimizer_config_init_adam (&config);
  config.learning_rate = 0.01f;
  config.beta_1 = 0.8f;
  config.beta_2 = 0.99f;
  config.epsilon = 1e-4f;
  opt = convolve_optimizer_new (&config, N, NULL);
  g_assert_nonnull (opt);

  convolve_rng_init (&rng, 7);
  for (int i = 0; i < N; i++)
    pd[i] = p[i] = convolve_rng_uniform (&rng) * 2 - 1;
  for (int t = 1; t <= STEPS; t++)
    {
      double alpha = 0.01 * sqrt (1.0 - pow (0.99, t)) / (1.0 - pow (0.8, t));

      for (int i = 0; i < N; i++)
        g[i] = convolve_rng_uniform (&rng) * 2 - 1;
      convolve_optimizer_step (opt, p, g);
      for (int i = 0; i < N; i++)
        {
          md[i] += (g[i] - md[i]) * (1.0 - 0.8);
          vd[i] += ((double) g[i] * g[i] - vd[i]) * (1.0 - 0.99);
          pd[i] -= alpha * md[i] / (sqrt (vd[i]) + 1e-4);
        }
    }
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat_with_epsilon (p[i], pd[i], 1e-5);
  g_assert_cmpint (convolve_optimizer_get_iterations (opt), ==, STEPS);
}

/* Plain SGD: p -= lr * g. */
static void
test_sgd_plain (void)
{
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) opt = NULL;
  float p[2] = { 1.0f, 2.0f }, g[2] = { 10.0f, -4.0f };

  convolve_optimizer_config_init_sgd (&config);
  g_assert_cmpfloat (config.learning_rate, ==, 1e-2f);
  g_assert_cmpfloat (config.momentum, ==, 0.0f);
  opt = convolve_optimizer_new (&config, 2, NULL);
  g_assert_cmpint (convolve_optimizer_get_n_slots (opt), ==, 0);
  convolve_optimizer_step (opt, p, g);
  g_assert_cmpfloat_with_epsilon (p[0], 0.9, 1e-7);
  g_assert_cmpfloat_with_epsilon (p[1], 2.04, 1e-7);
}

/* Keras momentum: v = 0.9 v - 0.1 g; p += v. With g = 1 twice:
 *   v1 = -0.1, p1 = 0.9;  v2 = -0.09 - 0.1 = -0.19, p2 = 0.71
 * Nesterov: p += 0.9 v - 0.1 g:
 *   p1 = 1 - 0.09 - 0.1 = 0.81;  p2 = 0.81 - 0.171 - 0.1 = 0.539 */
static void
test_sgd_momentum (void)
{
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) opt = NULL, nesterov = NULL;
  float p[1] = { 1.0f }, q[1] = { 1.0f }, g[1] = { 1.0f };

  convolve_optimizer_config_init_sgd (&config);
  config.learning_rate = 0.1f;
  config.momentum = 0.9f;
  opt = convolve_optimizer_new (&config, 1, NULL);
  config.nesterov = TRUE;
  nesterov = convolve_optimizer_new (&config, 1, NULL);
  g_assert_cmpint (convolve_optimizer_get_n_slots (opt), ==, 1);
  g_assert_cmpstr (convolve_optimizer_get_slot_name (opt, 0), ==, "velocity");

  convolve_optimizer_step (opt, p, g);
  convolve_optimizer_step (nesterov, q, g);
  g_assert_cmpfloat_with_epsilon (p[0], 0.9, 1e-6);
  g_assert_cmpfloat_with_epsilon (convolve_optimizer_get_slot (opt, 0)[0], -0.1, 1e-7);
  g_assert_cmpfloat_with_epsilon (q[0], 0.81, 1e-6);
  convolve_optimizer_step (opt, p, g);
  convolve_optimizer_step (nesterov, q, g);
  g_assert_cmpfloat_with_epsilon (p[0], 0.71, 1e-6);
  g_assert_cmpfloat_with_epsilon (convolve_optimizer_get_slot (opt, 0)[0], -0.19, 1e-6);
  g_assert_cmpfloat_with_epsilon (q[0], 0.539, 1e-6);
}

static void
test_accessors (void)
{
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) opt = NULL;
  float p[1] = { 0.0f }, g[1] = { 1.0f };

  convolve_optimizer_config_init_adam (&config);
  opt = convolve_optimizer_new (&config, 1, NULL);
  g_assert_cmpuint (convolve_optimizer_get_n_params (opt), ==, 1);
  g_assert_cmpint (convolve_optimizer_get_n_slots (opt), ==, 2);
  g_assert_cmpstr (convolve_optimizer_get_slot_name (opt, 0), ==, "m");
  g_assert_cmpstr (convolve_optimizer_get_slot_name (opt, 1), ==, "v");
  g_assert_true (convolve_optimizer_get_config (opt)->kind == CONVOLVE_OPTIMIZER_ADAM);

  convolve_optimizer_set_learning_rate (opt, 0.5f);
  g_assert_cmpfloat (convolve_optimizer_get_config (opt)->learning_rate, ==, 0.5f);

  /* Resuming at iteration 999: the next step uses t = 1000's bias
   * correction, alpha = 0.5 * sqrt(1 - 0.999^1000) / (1 - 0.9^1000). */
  convolve_optimizer_set_iterations (opt, 999);
  convolve_optimizer_step (opt, p, g);
  g_assert_cmpint (convolve_optimizer_get_iterations (opt), ==, 1000);
  {
    double alpha = 0.5 * sqrt (1.0 - pow (0.999, 1000)) / (1.0 - pow (0.9, 1000));
    double step = alpha * 0.1 / (sqrt (0.001) + 1e-7);

    g_assert_cmpfloat_with_epsilon (p[0], -step, 2e-5); /* float32 slots, as Keras keeps them */
  }

  /* A copy goes on exactly as the original does, in its own memory. */
  {
    g_autoptr(ConvolveOptimizer) copy = convolve_optimizer_copy (opt, NULL);
    float q[1] = { p[0] };

    g_assert_nonnull (copy);
    g_assert_cmpint (convolve_optimizer_get_iterations (copy), ==, 1000);
    g_assert_cmpfloat (convolve_optimizer_get_config (copy)->learning_rate, ==, 0.5f);
    g_assert_true (convolve_optimizer_get_slot (copy, 0) != convolve_optimizer_get_slot (opt, 0));
    g_assert_cmpfloat (convolve_optimizer_get_slot (copy, 1)[0], ==, convolve_optimizer_get_slot (opt, 1)[0]);
    convolve_optimizer_step (opt, p, g);
    convolve_optimizer_step (copy, q, g);
    g_assert_cmpfloat (q[0], ==, p[0]);
    g_assert_cmpfloat (convolve_optimizer_get_slot (copy, 0)[0], ==, convolve_optimizer_get_slot (opt, 0)[0]);
  }

  /* programmer errors */
  g_test_expect_message ("Convolve-Engine", G_LOG_LEVEL_CRITICAL, "*index*");
  g_assert_null (convolve_optimizer_get_slot (opt, 2));
  g_test_assert_expected_messages ();
  g_test_expect_message ("Convolve-Engine", G_LOG_LEVEL_CRITICAL, "*learning_rate*");
  convolve_optimizer_set_learning_rate (opt, -1.0f);
  g_test_assert_expected_messages ();
  g_test_expect_message ("Convolve-Engine", G_LOG_LEVEL_CRITICAL, "*grads != NULL*");
  convolve_optimizer_step (opt, p, NULL);
  g_test_assert_expected_messages ();
}

static void
test_bad_config (void)
{
  struct { void (*init) (ConvolveOptimizerConfig *); int field; float value; } cases[] = {
    { convolve_optimizer_config_init_adam, 0, 0.0f },
    { convolve_optimizer_config_init_adam, 0, NAN },
    { convolve_optimizer_config_init_adam, 1, 1.0f },
    { convolve_optimizer_config_init_adam, 2, -0.1f },
    { convolve_optimizer_config_init_adam, 3, 0.0f },
    { convolve_optimizer_config_init_sgd, 0, -1.0f },
    { convolve_optimizer_config_init_sgd, 4, 1.0f },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ConvolveOptimizerConfig config;
      g_autoptr(GError) error = NULL;
      ConvolveOptimizer *opt;

      cases[i].init (&config);
      switch (cases[i].field)
        {
        case 0: config.learning_rate = cases[i].value; break;
        case 1: config.beta_1 = cases[i].value; break;
        case 2: config.beta_2 = cases[i].value; break;
        case 3: config.epsilon = cases[i].value; break;
        default: config.momentum = cases[i].value; break;
        }
      opt = convolve_optimizer_new (&config, 10, &error);
      g_assert_null (opt);
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "optimizer"));
    }

  {
    ConvolveOptimizerConfig config;
    g_autoptr(GError) error = NULL;

    convolve_optimizer_config_init_adam (&config);
    g_assert_null (convolve_optimizer_new (&config, 0, &error));
    g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_null (convolve_optimizer_new (NULL, 10, &error));
    g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    config.kind = (ConvolveOptimizerKind) 42;
    g_assert_null (convolve_optimizer_new (&config, 10, &error));
    g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  }
}

/* train_step refuses an optimizer sized for another model. */
static void
test_train_step_mismatch (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(3,softmax)", NULL);
  ConvolveShape input = { 1, 2, 2 };
  g_autoptr(ConvolveModel) model = convolve_model_new (spec, &input, 2, 1, NULL);
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) opt = NULL;
  float x[8] = { 0 };
  int32_t labels[2] = { 0, 1 };

  convolve_optimizer_config_init_adam (&config);
  opt = convolve_optimizer_new (&config, 7, NULL);
  g_assert_false (convolve_model_train_step (model, opt, x, labels, 2, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH);
  g_assert_cmpint (convolve_optimizer_get_iterations (opt), ==, 0);
}

/* One train step equals forward + loss + backward + step done by hand. */
static void
test_train_step_composition (void)
{
  g_autoptr(ConvolveModelSpec) spec =
    convolve_model_spec_parse ("conv2d(2,3,same,relu),batchnorm,flatten,dense(3,softmax)", NULL);
  ConvolveShape input = { 1, 4, 4 };
  g_autoptr(ConvolveModel) a = convolve_model_new (spec, &input, 4, 5, NULL);
  g_autoptr(ConvolveModel) b = convolve_model_new (spec, &input, 4, 5, NULL);
  ConvolveOptimizerConfig config;
  g_autoptr(ConvolveOptimizer) oa = NULL, ob = NULL;
  float x[64];
  int32_t labels[4] = { 0, 1, 2, 1 };
  float loss_a = 0.0f, loss_b;
  int hits_a = -1, hits_b = -2;
  gsize n;
  ConvolveRng rng;

  convolve_rng_init (&rng, 3);
  for (int i = 0; i < 64; i++)
    x[i] = convolve_rng_uniform (&rng);
  convolve_optimizer_config_init_sgd (&config);
  config.momentum = 0.5f;
  oa = convolve_optimizer_new (&config, convolve_model_get_n_trainable (a), NULL);
  ob = convolve_optimizer_new (&config, convolve_model_get_n_trainable (b), NULL);

  g_assert_true (convolve_model_train_step (a, oa, x, labels, 4, &loss_a, &hits_a, NULL));
  g_assert_true (convolve_model_forward (b, x, 4, TRUE, NULL));
  loss_b = convolve_model_loss (b, labels, &hits_b);
  convolve_model_backward (b);
  convolve_optimizer_step (ob, convolve_model_get_params (b, NULL), convolve_model_get_grads (b, NULL));

  g_assert_cmpfloat (loss_a, ==, loss_b);
  g_assert_cmpint (hits_a, ==, hits_b);
  convolve_model_get_params (a, &n);
  g_assert_cmpmem (convolve_model_get_params (a, NULL), n * sizeof (float),
                   convolve_model_get_params (b, NULL), n * sizeof (float));
}

/* train_step updates Dense kernels of 2^18 floats or more block by block
 * while the backward pass runs; the result must match the plain path
 * (forward, loss, backward, one flat optimizer step) up to float rounding
 * (the blocked sgemm may sum in another order). The spec puts parameters
 * before the fused kernel (conv, BN), right after it (its bias) and after
 * that (a second dense layer). */
static void
check_fused_matches_plain (const ConvolveOptimizerConfig *config)
{
  const char *spec_text = "conv2d(4,3,same,relu),batchnorm,flatten,dense(300,relu),dropout(0.1),"
                          "dense(10,softmax)";
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, NULL);
  ConvolveShape input = { 1, 16, 16 };   /* 1024 inputs x 300 units = 307200 floats */
  g_autoptr(ConvolveModel) a = convolve_model_new (spec, &input, 8, 21, NULL);
  g_autoptr(ConvolveModel) b = convolve_model_new (spec, &input, 8, 21, NULL);
  g_autoptr(ConvolveOptimizer) oa = NULL, ob = NULL;
  float x[8 * 256];
  int32_t labels[8];
  ConvolveRng rng;
  gsize n;
  float *pa, *pb;

  convolve_rng_init (&rng, 4);
  oa = convolve_optimizer_new (config, convolve_model_get_n_trainable (a), NULL);
  ob = convolve_optimizer_new (config, convolve_model_get_n_trainable (b), NULL);
  for (int step = 0; step < 3; step++)
    {
      float loss_a, loss_b;

      for (int i = 0; i < 8 * 256; i++)
        x[i] = convolve_rng_uniform (&rng);
      for (int i = 0; i < 8; i++)
        labels[i] = (int32_t) convolve_rng_below (&rng, 10);

      g_assert_true (convolve_model_train_step (a, oa, x, labels, 8, &loss_a, NULL, NULL));
      g_assert_true (convolve_model_forward (b, x, 8, TRUE, NULL));
      loss_b = convolve_model_loss (b, labels, NULL);
      convolve_model_backward (b);
      convolve_optimizer_step (ob, convolve_model_get_params (b, NULL),
                               convolve_model_get_grads (b, NULL));
      g_assert_cmpfloat_with_epsilon (loss_a, loss_b, 1e-5 * (1.0 + fabs (loss_b)));
    }

  pa = convolve_model_get_params (a, &n);
  pb = convolve_model_get_params (b, NULL);
  for (gsize i = 0; i < n; i++)
    if (fabsf (pa[i] - pb[i]) > 1e-6f + 1e-5f * fabsf (pb[i]))
      g_error ("parameter %" G_GSIZE_FORMAT ": fused %.9g, plain %.9g", i, (double) pa[i], (double) pb[i]);
  for (int s = 0; s < convolve_optimizer_get_n_slots (oa); s++)
    {
      float *sa = convolve_optimizer_get_slot (oa, s), *sb = convolve_optimizer_get_slot (ob, s);

      for (gsize i = 0; i < n; i++)
        if (fabsf (sa[i] - sb[i]) > 1e-6f + 1e-5f * fabsf (sb[i]))
          g_error ("slot %d[%" G_GSIZE_FORMAT "]: fused %.9g, plain %.9g", s, i,
                   (double) sa[i], (double) sb[i]);
    }
  g_assert_cmpint (convolve_optimizer_get_iterations (oa), ==, 3);
}

static void
test_train_step_fused (void)
{
  ConvolveOptimizerConfig config;

  convolve_optimizer_config_init_adam (&config);
  check_fused_matches_plain (&config);
  convolve_optimizer_config_init_sgd (&config);
  config.momentum = 0.9f;
  config.nesterov = TRUE;
  check_fused_matches_plain (&config);
  convolve_optimizer_config_init_sgd (&config);
  check_fused_matches_plain (&config);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/optimizer/adam-first-step", test_adam_first_step);
  g_test_add_func ("/engine/optimizer/adam-formula", test_adam_formula);
  g_test_add_func ("/engine/optimizer/sgd-plain", test_sgd_plain);
  g_test_add_func ("/engine/optimizer/sgd-momentum", test_sgd_momentum);
  g_test_add_func ("/engine/optimizer/accessors", test_accessors);
  g_test_add_func ("/engine/optimizer/bad-config", test_bad_config);
  g_test_add_func ("/engine/optimizer/train-step-mismatch", test_train_step_mismatch);
  g_test_add_func ("/engine/optimizer/train-step-composition", test_train_step_composition);
  g_test_add_func ("/engine/optimizer/train-step-fused", test_train_step_fused);

  return g_test_run ();
}
