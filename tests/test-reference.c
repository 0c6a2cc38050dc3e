/* test-reference.c: the engine against an independent implementation.
 *
 * The fixtures in tests/fixtures/ were computed in float64 by PyTorch
 * (tests/make-fixtures.py, which documents every convention) from weights
 * and inputs it drew itself. Here the same weights go into a ConvolveModel
 * through convolve_model_find_tensor() and the engine runs inference, a
 * training forward, the loss, the backward pass and two train steps of
 * Adam, SGD with momentum and Nesterov SGD.
 *
 * Error norm, per tensor: max_i |engine_i - reference_i| / max(max_i
 * |reference_i|, 1e-6), which must stay within 1e-4 (float32 arithmetic
 * against a float64 reference lands near 1e-6).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convolve-engine.h"
#include "fixture-reader.h"

#define TOLERANCE 1e-4
/* The batch statistics recovered from the moving averages lose two digits
 * to cancellation (moving = 0.99 moving + 0.01 batch). */
#define STATS_TOLERANCE 1e-3

typedef struct {
  const char *file;
} ReferenceCase;

static const ReferenceCase cases[] = {
  { "reference-small.safetensors" },
  { "reference-odd.safetensors" },
  { "reference-gap.safetensors" },
};

static FixtureFile *
open_fixture (const ReferenceCase *rc)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", rc->file, NULL);

  return fixture_file_read (path);
}

static const char *
fixture_meta (FixtureFile *fixture, const char *key)
{
  const char *value = g_hash_table_lookup (fixture->metadata, key);

  if (value == NULL)
    g_error ("fixture lacks metadata “%s”", key);
  return value;
}

static double
fixture_meta_double (FixtureFile *fixture, const char *key)
{
  return g_ascii_strtod (fixture_meta (fixture, key), NULL);
}

static float *
fixture_floats (FixtureFile *fixture, const char *name, gsize *n)
{
  FixtureTensor *tensor = fixture_file_find (fixture, name);

  if (tensor == NULL)
    g_error ("fixture lacks tensor “%s”", name);
  return fixture_tensor_dup_floats (tensor, n);
}

static int
fixture_batch (FixtureFile *fixture)
{
  return atoi (fixture_meta (fixture, "batch"));
}

/* Builds the model of spec_key and loads the fixture's starting weights. */
static ConvolveModel *
model_from_fixture (FixtureFile *fixture, const char *spec_key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  ConvolveModel *model;
  ConvolveShape input;
  int loaded = 0;

  spec = convolve_model_spec_parse (fixture_meta (fixture, spec_key), &error);
  g_assert_no_error (error);
  g_assert_cmpint (sscanf (fixture_meta (fixture, "input_shape"), "[%d,%d,%d]",
                           &input.c, &input.h, &input.w), ==, 3);
  model = convolve_model_new (spec, &input, fixture_batch (fixture), 1, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < fixture->tensors->len; i++)
    {
      FixtureTensor *tensor = g_ptr_array_index (fixture->tensors, i);
      const ConvolveTensorInfo *info;
      g_autofree float *values = NULL;
      gsize n;

      if (!g_str_has_prefix (tensor->name, "weights/"))
        continue;
      info = convolve_model_find_tensor (model, tensor->name + strlen ("weights/"));
      if (info == NULL)
        g_error ("the model has no tensor “%s”", tensor->name + strlen ("weights/"));
      g_assert_cmpint (info->rank, ==, tensor->rank);
      for (int d = 0; d < info->rank; d++)
        g_assert_cmpint (info->shape[d], ==, tensor->shape[d]);
      values = fixture_tensor_dup_floats (tensor, &n);
      g_assert_cmpuint (n, ==, info->size);
      memcpy (info->data, values, n * sizeof (float));
      loaded++;
    }
  g_assert_cmpint (loaded, ==, convolve_model_get_n_tensors (model));
  return model;
}

static double
relative_error (const float *actual, const float *expected, gsize n)
{
  double max_diff = 0.0, max_ref = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (actual[i]));
      max_diff = MAX (max_diff, fabs ((double) actual[i] - expected[i]));
      max_ref = MAX (max_ref, fabs ((double) expected[i]));
    }
  return max_diff / MAX (max_ref, 1e-6);
}

static void
assert_close (const char *what, const float *actual, const float *expected, gsize n, double tolerance)
{
  double err = relative_error (actual, expected, n);

  g_test_message ("%s: relative error %.2e", what, err);
  if (!(err <= tolerance))
    g_error ("%s: relative error %.3e exceeds %.1e", what, err, tolerance);
}

static void
assert_matches_fixture (FixtureFile *fixture, const char *name, const float *actual, gsize n)
{
  gsize m;
  g_autofree float *expected = fixture_floats (fixture, name, &m);

  g_assert_cmpuint (m, ==, n);
  assert_close (name, actual, expected, n, TOLERANCE);
}

static void
load_batch (FixtureFile *fixture, float **x, gint32 **labels)
{
  gsize n;

  *x = fixture_floats (fixture, "x", &n);
  *labels = fixture_tensor_dup_ints (fixture_file_find (fixture, "labels"), &n);
  g_assert_cmpuint (n, ==, (gsize) fixture_batch (fixture));
}

static void
test_reference_predict (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  g_autoptr(ConvolveModel) model = model_from_fixture (fixture, "infer_spec");
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL;
  g_autofree gint32 *labels = NULL;
  g_autofree float *probabilities = NULL;
  g_autofree float *expected = NULL;
  g_autofree gint32 *argmax = NULL;
  g_autofree gint32 *predictions = NULL;
  g_autofree float *loss_sum_ref = NULL;
  int batch = fixture_batch (fixture);
  int classes = convolve_model_get_n_classes (model);
  int n_correct = 0, expected_correct = 0;
  double loss_sum = 0.0;
  gsize n;

  load_batch (fixture, &x, &labels);
  probabilities = g_new (float, (gsize) batch * classes);
  convolve_model_predict (model, x, batch, probabilities, &error);
  g_assert_no_error (error);
  assert_matches_fixture (fixture, "predict/probabilities", probabilities, (gsize) batch * classes);

  /* Inference must not touch the moving statistics. */
  expected = fixture_floats (fixture, "weights/batch_normalization/moving_variance", &n);
  g_assert_cmpmem (convolve_model_find_tensor (model, "batch_normalization/moving_variance")->data,
                   n * sizeof (float), expected, n * sizeof (float));

  predictions = g_new (gint32, batch);
  convolve_model_evaluate (model, x, labels, batch, &loss_sum, &n_correct, predictions, &error);
  g_assert_no_error (error);
  loss_sum_ref = fixture_floats (fixture, "predict/loss_sum", &n);
  g_assert_cmpfloat (fabs (loss_sum - loss_sum_ref[0]), <=, TOLERANCE * fabs (loss_sum_ref[0]));
  argmax = fixture_tensor_dup_ints (fixture_file_find (fixture, "predict/argmax"), &n);
  for (int i = 0; i < batch; i++)
    {
      g_assert_cmpint (predictions[i], ==, argmax[i]);
      expected_correct += argmax[i] == labels[i];
    }
  g_assert_cmpint (n_correct, ==, expected_correct);
}

/* The training forward: logits, loss and the moving statistics it leaves. */
static void
test_reference_forward (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  g_autoptr(ConvolveModel) model = model_from_fixture (fixture, "train_spec");
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL;
  g_autofree gint32 *labels = NULL;
  g_autofree float *loss_ref = NULL;
  int batch = fixture_batch (fixture);
  int classes = convolve_model_get_n_classes (model);
  double momentum = fixture_meta_double (fixture, "bn_momentum");
  gboolean discriminates = FALSE;
  float loss;
  gsize n;

  load_batch (fixture, &x, &labels);
  convolve_model_forward (model, x, batch, TRUE, &error);
  g_assert_no_error (error);
  assert_matches_fixture (fixture, "forward/logits", convolve_model_get_logits (model),
                          (gsize) batch * classes);
  loss = convolve_model_loss (model, labels, NULL);
  loss_ref = fixture_floats (fixture, "forward/loss", &n);
  assert_close ("forward/loss", &loss, loss_ref, 1, TOLERANCE);

  for (int i = 0; i < convolve_model_get_n_tensors (model); i++)
    {
      const ConvolveTensorInfo *info = convolve_model_get_tensor (model, i);
      g_autofree char *name = NULL;
      g_autofree char *layer = NULL;
      g_autofree float *before = NULL;
      g_autofree float *batch_stat = NULL;
      g_autofree float *biased = NULL;
      g_autofree double *implied = NULL;
      g_autofree float *implied_f = NULL;
      gboolean is_variance;

      if (info->trainable)
        continue;
      name = g_strconcat ("forward/", info->name, NULL);
      assert_matches_fixture (fixture, name, info->data, info->size);

      /* Recover the batch statistic the engine folded in and hold it to
       * the reference: for the variance this tells the unbiased (tf.keras)
       * form from the biased one, which the moving average alone, damped
       * by 1 - momentum, hardly shows. */
      is_variance = g_str_has_suffix (info->name, "/moving_variance");
      layer = g_strndup (info->name, strrchr (info->name, '/') - info->name);
      g_free (name);
      name = g_strconcat ("weights/", info->name, NULL);
      before = fixture_floats (fixture, name, &n);
      g_free (name);
      name = g_strconcat ("batch_stats/", layer, is_variance ? "/unbiased_variance" : "/mean", NULL);
      batch_stat = fixture_floats (fixture, name, &n);
      implied = g_new (double, n);
      implied_f = g_new (float, n);
      for (gsize k = 0; k < n; k++)
        {
          implied[k] = ((double) info->data[k] - momentum * before[k]) / (1.0 - momentum);
          implied_f[k] = (float) implied[k];
        }
      assert_close (name, implied_f, batch_stat, n, STATS_TOLERANCE);

      if (is_variance)
        {
          g_free (name);
          name = g_strconcat ("batch_stats/", layer, "/variance", NULL);
          biased = fixture_floats (fixture, name, &n);
          discriminates = relative_error (biased, batch_stat, n) > 2 * STATS_TOLERANCE;
          g_assert_true (discriminates);
        }
    }
  g_assert_true (discriminates);
}

static void
test_reference_backward (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  g_autoptr(ConvolveModel) model = model_from_fixture (fixture, "train_spec");
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL;
  g_autofree gint32 *labels = NULL;
  int batch = fixture_batch (fixture);
  int n_grads = 0;

  load_batch (fixture, &x, &labels);
  convolve_model_forward (model, x, batch, TRUE, &error);
  g_assert_no_error (error);
  convolve_model_loss (model, labels, NULL);
  convolve_model_backward (model);

  for (int i = 0; i < convolve_model_get_n_tensors (model); i++)
    {
      const ConvolveTensorInfo *info = convolve_model_get_tensor (model, i);
      g_autofree char *name = NULL;

      if (!info->trainable)
        continue;
      g_assert_nonnull (info->grad);
      name = g_strconcat ("grad/", info->name, NULL);
      assert_matches_fixture (fixture, name, info->grad, info->size);
      n_grads++;
    }
  g_assert_cmpint (n_grads, >=, 6);
}

static void
run_optimizer (FixtureFile *fixture, const char *prefix, const ConvolveOptimizerConfig *config)
{
  g_autoptr(ConvolveModel) model = model_from_fixture (fixture, "train_spec");
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL;
  g_autofree gint32 *labels = NULL;
  g_autofree float *losses_ref = NULL;
  g_autofree char *losses_name = g_strconcat (prefix, "/loss", NULL);
  int batch = fixture_batch (fixture);
  gsize n_params, n;

  load_batch (fixture, &x, &labels);
  convolve_model_get_params (model, &n_params);
  optimizer = convolve_optimizer_new (config, n_params, &error);
  g_assert_no_error (error);
  losses_ref = fixture_floats (fixture, losses_name, &n);
  g_assert_cmpuint (n, ==, 2);

  for (int step = 1; step <= 2; step++)
    {
      g_autofree char *loss_name = g_strdup_printf ("%s/loss[%d]", prefix, step - 1);
      float loss = 0.0f;

      convolve_model_train_step (model, optimizer, x, labels, batch, &loss, NULL, &error);
      g_assert_no_error (error);
      assert_close (loss_name, &loss, &losses_ref[step - 1], 1, TOLERANCE);
      g_assert_cmpint (convolve_optimizer_get_iterations (optimizer), ==, step);

      for (int i = 0; i < convolve_model_get_n_tensors (model); i++)
        {
          const ConvolveTensorInfo *info = convolve_model_get_tensor (model, i);
          g_autofree char *name = g_strdup_printf ("%s/%d/%s", prefix, step, info->name);

          assert_matches_fixture (fixture, name, info->data, info->size);
        }
    }
}

static void
test_reference_adam (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  ConvolveOptimizerConfig config;

  convolve_optimizer_config_init_adam (&config);
  config.learning_rate = (float) fixture_meta_double (fixture, "adam.learning_rate");
  config.beta_1 = (float) fixture_meta_double (fixture, "adam.beta_1");
  config.beta_2 = (float) fixture_meta_double (fixture, "adam.beta_2");
  config.epsilon = (float) fixture_meta_double (fixture, "adam.epsilon");
  run_optimizer (fixture, "adam", &config);
}

static void
test_reference_sgd (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  ConvolveOptimizerConfig config;

  convolve_optimizer_config_init_sgd (&config);
  config.learning_rate = (float) fixture_meta_double (fixture, "sgd.learning_rate");
  config.momentum = (float) fixture_meta_double (fixture, "sgd.momentum");
  config.nesterov = FALSE;
  run_optimizer (fixture, "sgd", &config);
}

static void
test_reference_nesterov (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  ConvolveOptimizerConfig config;

  convolve_optimizer_config_init_sgd (&config);
  config.learning_rate = (float) fixture_meta_double (fixture, "sgd.learning_rate");
  config.momentum = (float) fixture_meta_double (fixture, "sgd.momentum");
  config.nesterov = TRUE;
  run_optimizer (fixture, "nesterov", &config);
}

/* The fixtures themselves: a damaged or regenerated-wrong fixture must not
 * make the comparisons vacuous. */
static void
test_reference_fixture_sane (gconstpointer data)
{
  g_autoptr(FixtureFile) fixture = open_fixture (data);
  g_autofree float *grad = NULL;
  g_autofree float *start = fixture_floats (fixture, "weights/dense/kernel", NULL);
  g_autofree float *after = NULL;
  gsize n;

  g_assert_cmpstr (fixture_meta (fixture, "bn_momentum"), ==, "0.99");
  g_assert_cmpstr (fixture_meta (fixture, "bn_epsilon"), ==, "0.001");
  /* Every optimizer moved the weights well beyond the tolerance. */
  for (guint i = 0; i < 3; i++)
    {
      const char *names[] = { "adam/1/dense/kernel", "sgd/1/dense/kernel", "nesterov/1/dense/kernel" };

      g_clear_pointer (&after, g_free);
      after = fixture_floats (fixture, names[i], &n);
      g_assert_cmpfloat (relative_error (after, start, n), >, 100 * TOLERANCE);
    }
  /* The gradient is far from zero, so the backward comparison means something. */
  g_clear_pointer (&grad, g_free);
  grad = fixture_floats (fixture, "grad/conv2d/kernel", &n);
  {
    double largest = 0.0;

    for (gsize i = 0; i < n; i++)
      largest = MAX (largest, fabs (grad[i]));
    g_assert_cmpfloat (largest, >, 1e-3);
  }
}

int
main (int argc, char *argv[])
{
  static const struct {
    const char *name;
    GTestDataFunc func;
  } tests[] = {
    { "fixture", test_reference_fixture_sane },
    { "predict", test_reference_predict },
    { "forward", test_reference_forward },
    { "backward", test_reference_backward },
    { "adam", test_reference_adam },
    { "sgd", test_reference_sgd },
    { "nesterov", test_reference_nesterov },
  };

  g_test_init (&argc, &argv, NULL);
  convolve_engine_set_threads (1);

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint t = 0; t < G_N_ELEMENTS (tests); t++)
      {
        g_autofree char *short_name = g_strndup (cases[c].file + strlen ("reference-"),
                                                 strlen (cases[c].file) - strlen ("reference-") -
                                                 strlen (".safetensors"));
        g_autofree char *path = g_strdup_printf ("/engine/reference/%s/%s", short_name, tests[t].name);

        g_test_add_data_func (path, &cases[c], tests[t].func);
      }

  return g_test_run ();
}
