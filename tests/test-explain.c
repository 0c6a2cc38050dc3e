/* test-explain.c: explaining a prediction in the engine: the gradient of a
 * class score with respect to the input against finite differences,
 * Grad-CAM and the input gradient against PyTorch
 * (fixtures/explain.safetensors, made by make-explain-fixtures.py), the
 * model without a convolution, the layer outputs, and that explaining
 * leaves the model's parameters, state and training untouched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convolve-engine.h"
#include "fixture-reader.h"

/* float32 engine against a float64 reference, max-norm relative error */
#define REFERENCE_TOLERANCE 1e-4

static ConvolveModel *
new_model (const char *spec_text, int c, int h, int w, int max_batch, guint64 seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, &error);
  ConvolveShape input = { c, h, w };
  ConvolveModel *model;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, max_batch, seed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

static void
fill_uniform (float *x, gsize n, ConvolveRng *rng)
{
  for (gsize i = 0; i < n; i++)
    x[i] = convolve_rng_uniform (rng);
}

/* Non-trivial BatchNorm parameters and moving statistics, and non-zero
 * biases, so that none of them is special. */
static void
perturb_model (ConvolveModel *model, guint64 seed)
{
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  for (int i = 0; i < convolve_model_get_n_tensors (model); i++)
    {
      const ConvolveTensorInfo *t = convolve_model_get_tensor (model, i);

      for (gsize k = 0; k < t->size; k++)
        {
          float u = convolve_rng_uniform (&rng);

          if (g_str_has_suffix (t->name, "/gamma"))
            t->data[k] = 0.5f + u;
          else if (g_str_has_suffix (t->name, "/beta") || g_str_has_suffix (t->name, "/bias"))
            t->data[k] = 0.4f * u - 0.2f;
          else if (g_str_has_suffix (t->name, "/moving_mean"))
            t->data[k] = 0.6f * u - 0.3f;
          else if (g_str_has_suffix (t->name, "/moving_variance"))
            t->data[k] = 0.5f + u;
        }
    }
}

static double
inference_logit (ConvolveModel *model, const float *x, int class_index)
{
  g_assert_true (convolve_model_forward (model, x, 1, FALSE, NULL));
  return convolve_model_get_logits (model)[class_index];
}

/* Central difference of the float model's logit, the quotient in double;
 * *kink is set when the forward and backward one-sided quotients disagree
 * (the step crossed a ReLU or max-pool kink: the inference network is
 * piecewise linear, so elsewhere they agree up to rounding). */
static double
central_difference (ConvolveModel *model, float *x, int class_index, gsize i, float h,
                    gboolean *kink)
{
  float saved = x[i];
  double plus, minus, centre, forward, backward, central;

  centre = inference_logit (model, x, class_index);
  x[i] = saved + h;
  plus = inference_logit (model, x, class_index);
  x[i] = saved - h;
  minus = inference_logit (model, x, class_index);
  x[i] = saved;
  forward = (plus - centre) / (double) h;
  backward = (centre - minus) / (double) h;
  central = (plus - minus) / (2.0 * (double) h);
  if (fabs (forward - backward) > 5e-4 + 1e-2 * fabs (central))
    *kink = TRUE;
  return central;
}

/* d logit / d x for every class and input element against central
 * differences with h = 1e-3: the logit is ~1 and float rounding ~1e-7, so
 * the quotient is good to ~1e-4. Where a step crosses a ReLU or max-pool
 * kink the quotient is meaningless, which shows as a disagreement between
 * the one-sided quotients, or between the quotients for h and h/2: such
 * elements are skipped (at most 10 %); every other one must satisfy
 * |analytic - numeric| <= 2e-4 + 2e-3 |numeric|. */
static void
check_input_gradient (const char *spec, int c, int h, int w, guint64 seed)
{
  g_autoptr(ConvolveModel) model = new_model (spec, c, h, w, 2, seed);
  gsize n = (gsize) c * h * w;
  g_autofree float *x = g_new (float, n);
  g_autofree float *grad = g_new (float, n);
  int n_classes = convolve_model_get_n_classes (model);
  gsize skipped = 0, checked = 0;
  double largest = 0.0;
  ConvolveRng rng;

  perturb_model (model, seed + 1);
  convolve_rng_init (&rng, seed + 2);
  fill_uniform (x, n, &rng);

  for (int k = 0; k < n_classes; k++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (convolve_model_input_gradient (model, x, k, grad, &error));
      g_assert_no_error (error);
      for (gsize i = 0; i < n; i++)
        {
          gboolean kink = FALSE;
          double numeric = central_difference (model, x, k, i, 1e-3f, &kink);
          double half = central_difference (model, x, k, i, 5e-4f, &kink);

          g_assert_true (isfinite (grad[i]));
          if (kink || fabs (numeric - half) > 1e-4 + 1e-2 * fabs (numeric))
            {
              skipped++;
              continue;
            }
          checked++;
          largest = MAX (largest, fabs (numeric));
          if (fabs (grad[i] - numeric) > 2e-4 + 2e-3 * fabs (numeric))
            g_error ("%s: class %d, input %" G_GSIZE_FORMAT ": analytic %.6g, numeric %.6g (h/2: %.6g)",
                     spec, k, i, (double) grad[i], numeric, half);
        }
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " inputs at a kink, skipped",
                  spec, skipped, skipped + checked);
  g_assert_cmpuint (skipped * 10, <=, skipped + checked);
  /* a gradient of zeros would pass trivially */
  g_assert_cmpfloat (largest, >, 1e-2);
}

static void
test_input_gradient (void)
{
  /* the tutorial's stack, with a second (linear, valid) convolution */
  check_input_gradient ("conv2d(3,3,same,relu),batchnorm,maxpool(2),conv2d(2,2,valid),flatten,"
                        "dense(6,relu),dropout(0.3),dense(4,softmax)", 2, 6, 6, 7);
  /* BatchNorm over features, a separate ReLU */
  check_input_gradient ("conv2d(3,3,same),batchnorm,flatten,dense(5),batchnorm,relu,"
                        "dense(4,softmax)", 1, 4, 4, 8);
  /* layers before the first one with parameters, whose input gradient
   * training never needs; pooling that drops a row */
  check_input_gradient ("dropout(0.5),maxpool(2),relu,conv2d(2,3,valid,relu),flatten,"
                        "dense(3,softmax)", 3, 9, 8, 9);
  /* no convolution, Flatten first */
  check_input_gradient ("flatten,dense(5,relu),dropout(0.2),dense(3,softmax)", 1, 3, 3, 10);
  /* global average pooling between the convolutions and the head */
  check_input_gradient ("conv2d(3,3,same,relu),batchnorm,conv2d(4,2,valid),globalavgpool,"
                        "dense(5,relu),dense(3,softmax)", 2, 5, 6, 11);
}

/* --- against PyTorch ------------------------------------------------------- */

static const char *
fixture_meta (FixtureFile *fixture, const char *key)
{
  const char *value = g_hash_table_lookup (fixture->metadata, key);

  if (value == NULL)
    g_error ("fixture lacks metadata “%s”", key);
  return value;
}

static float *
fixture_floats (FixtureFile *fixture, const char *name, gsize *n)
{
  FixtureTensor *tensor = fixture_file_find (fixture, name);

  if (tensor == NULL)
    g_error ("fixture lacks tensor “%s”", name);
  return fixture_tensor_dup_floats (tensor, n);
}

static ConvolveModel *
model_from_fixture (FixtureFile *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  ConvolveModel *model;
  ConvolveShape input;
  int loaded = 0;

  spec = convolve_model_spec_parse (fixture_meta (fixture, "spec"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (sscanf (fixture_meta (fixture, "input_shape"), "[%d,%d,%d]",
                           &input.c, &input.h, &input.w), ==, 3);
  model = convolve_model_new (spec, &input, 1, 1, &error);
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
      g_assert_nonnull (info);
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
assert_close (const char *what, int row, const float *actual, const float *expected, gsize n)
{
  double err = relative_error (actual, expected, n);

  g_test_message ("%s[%d]: relative error %.2e", what, row, err);
  if (!(err <= REFERENCE_TOLERANCE))
    g_error ("%s[%d]: relative error %.3e exceeds %.1e", what, row, err, REFERENCE_TOLERANCE);
}

static void
test_reference (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "explain.safetensors", NULL);
  g_autoptr(FixtureFile) fixture = fixture_file_read (path);
  g_autoptr(ConvolveModel) model = model_from_fixture (fixture);
  g_autofree float *x = NULL, *logits = NULL, *gradient = NULL, *features = NULL, *cams = NULL;
  g_autofree gint32 *classes = NULL;
  ConvolveShape input = convolve_model_get_input (model);
  gsize n_input = (gsize) input.c * input.h * input.w;
  int last = convolve_model_find_last_conv (model);
  const ConvolveLayerInfo *info;
  int n_classes = convolve_model_get_n_classes (model);
  int rows = atoi (fixture_meta (fixture, "batch"));
  gsize n_features, n_cam, n;
  g_autofree float *grad = g_new (float, n_input);
  g_autofree float *cam = NULL;

  g_assert_cmpint (last, ==, atoi (fixture_meta (fixture, "last_conv")));
  info = convolve_model_get_layer (model, last);
  g_assert_cmpint (info->rank, ==, 3);
  n_cam = (gsize) info->shape[1] * info->shape[2];
  n_features = (gsize) info->shape[0] * n_cam;
  cam = g_new (float, n_cam);

  x = fixture_floats (fixture, "x", &n);
  g_assert_cmpuint (n, ==, rows * n_input);
  classes = fixture_tensor_dup_ints (fixture_file_find (fixture, "classes"), &n);
  g_assert_cmpuint (n, ==, (gsize) rows);
  logits = fixture_floats (fixture, "logits", &n);
  g_assert_cmpuint (n, ==, (gsize) rows * n_classes);
  gradient = fixture_floats (fixture, "input_gradient", &n);
  g_assert_cmpuint (n, ==, rows * n_input);
  features = fixture_floats (fixture, "features", &n);
  g_assert_cmpuint (n, ==, rows * n_features);
  cams = fixture_floats (fixture, "grad_cam", &n);
  g_assert_cmpuint (n, ==, rows * n_cam);

  for (int r = 0; r < rows; r++)
    {
      g_autoptr(GError) error = NULL;
      const float *xr = x + r * n_input;

      g_assert_true (convolve_model_input_gradient (model, xr, classes[r], grad, &error));
      g_assert_no_error (error);
      assert_close ("input_gradient", r, grad, gradient + r * n_input, n_input);
      assert_close ("logits", r, convolve_model_get_layer_output (model, convolve_model_get_n_layers (model) - 1, 0),
                    logits + r * n_classes, n_classes);

      g_assert_true (convolve_model_grad_cam (model, xr, classes[r], cam, &error));
      g_assert_no_error (error);
      assert_close ("grad_cam", r, cam, cams + r * n_cam, n_cam);
      assert_close ("features", r, convolve_model_get_layer_output (model, last, 0),
                    features + r * n_features, n_features);
    }
}

/* --- no convolution, bad arguments, layer outputs -------------------------- */

static void
test_no_conv (void)
{
  g_autoptr(ConvolveModel) model = new_model ("flatten,dense(4,relu),dense(3,softmax)", 1, 2, 2, 1, 3);
  g_autoptr(GError) error = NULL;
  float x[4] = { 0.1f, 0.5f, 0.9f, 0.3f }, grad[4], cam[4] = { 7, 7, 7, 7 };

  g_assert_cmpint (convolve_model_find_last_conv (model), ==, -1);
  g_assert_false (convolve_model_grad_cam (model, x, 0, cam, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "Grad-CAM"));
  g_assert_cmpfloat (cam[0], ==, 7.0f);
  g_clear_error (&error);
  /* the input gradient needs no convolution */
  g_assert_true (convolve_model_input_gradient (model, x, 2, grad, &error));
  g_assert_no_error (error);
}

static void
test_find_last_conv (void)
{
  g_autoptr(ConvolveModel) a = new_model ("conv2d(2,3,same,relu),batchnorm,conv2d(2,3,valid),maxpool(2),"
                                          "flatten,dense(3,softmax)", 1, 8, 8, 1, 3);
  g_autoptr(ConvolveModel) b = new_model ("conv2d(2,3,same,relu),flatten,dense(3,softmax)", 1, 4, 4, 1, 3);

  g_assert_cmpint (convolve_model_find_last_conv (a), ==, 2);
  g_assert_cmpint (convolve_model_find_last_conv (b), ==, 0);
}

static void
test_bad_arguments (void)
{
  g_autoptr(ConvolveModel) model = new_model ("conv2d(2,3,same,relu),flatten,dense(3,softmax)", 1, 4, 4, 1, 3);
  float x[16] = { 0 }, grad[16], cam[16];
  g_autoptr(GError) error = NULL;

  g_assert_false (convolve_model_input_gradient (model, x, 3, grad, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "3 classes"));
  g_clear_error (&error);
  g_assert_false (convolve_model_grad_cam (model, x, -1, cam, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (convolve_model_input_gradient (model, NULL, 0, grad, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (convolve_model_grad_cam (model, x, 0, NULL, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
}

static void
test_layer_output (void)
{
  g_autoptr(ConvolveModel) model = new_model ("conv2d(2,3,same,relu),maxpool(2),flatten,dense(3,softmax)",
                                              2, 4, 4, 2, 5);
  float x[2 * 32], probabilities[6], grad[32];
  int last = convolve_model_get_n_layers (model) - 1;
  const float *out;
  ConvolveRng rng;

  /* nothing before the first forward pass */
  g_assert_null (convolve_model_get_layer_output (model, 0, 0));

  convolve_rng_init (&rng, 4);
  fill_uniform (x, G_N_ELEMENTS (x), &rng);
  g_assert_true (convolve_model_predict (model, x, 2, probabilities, NULL));
  g_assert_true (convolve_model_get_layer_output (model, last, 0) == convolve_model_get_logits (model));
  g_assert_true (convolve_model_get_layer_output (model, last, 1) == convolve_model_get_logits (model) + 3);
  g_assert_null (convolve_model_get_layer_output (model, -1, 0));
  g_assert_null (convolve_model_get_layer_output (model, last + 1, 0));
  g_assert_null (convolve_model_get_layer_output (model, 0, 2));
  g_assert_null (convolve_model_get_layer_output (model, 0, -1));

  /* image 1's pooled maps: the maxima of its 2x2 windows of the conv output */
  {
    const float *conv = convolve_model_get_layer_output (model, 0, 1);

    out = convolve_model_get_layer_output (model, 1, 1);
    for (int c = 0; c < 2; c++)
      for (int y = 0; y < 2; y++)
        for (int xx = 0; xx < 2; xx++)
          {
            const float *p = conv + (c * 4 + 2 * y) * 4 + 2 * xx;

            g_assert_cmpfloat (out[(c * 2 + y) * 2 + xx], ==, MAX (MAX (p[0], p[1]), MAX (p[4], p[5])));
          }
    /* Flatten is a view of its input */
    g_assert_true (convolve_model_get_layer_output (model, 2, 1) == out);
  }

  /* explaining is a forward pass of one image */
  g_assert_true (convolve_model_input_gradient (model, x + 32, 1, grad, NULL));
  g_assert_nonnull (convolve_model_get_layer_output (model, 0, 0));
  g_assert_null (convolve_model_get_layer_output (model, 0, 1));
  for (int j = 0; j < 3; j++)
    g_assert_cmpfloat (fabsf (convolve_model_get_layer_output (model, last, 0)[j]
                              - logf (probabilities[3 + j] / probabilities[3])
                              - convolve_model_get_logits (model)[0]), <=, 1e-5f);
}

/* --- the model's training is untouched ------------------------------------- */

#define STATE_SPEC "conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,dense(8,relu),dropout(0.2),dense(3,softmax)"

static void
train_once (ConvolveModel *model, const float *x, const int32_t *labels, int batch)
{
  g_assert_true (convolve_model_forward (model, x, batch, TRUE, NULL));
  convolve_model_loss (model, labels, NULL);
  convolve_model_backward (model);
}

static void
test_state_unchanged (void)
{
  enum { B = 3, N = 3 * 8 * 8 };
  g_autoptr(ConvolveModel) model = new_model (STATE_SPEC, 3, 8, 8, B, 21);
  g_autoptr(ConvolveModel) twin = NULL;
  g_autoptr(ConvolveModel) fresh = new_model (STATE_SPEC, 3, 8, 8, B, 21);
  float x[B * N], grad[N], cam[64];
  int32_t labels[B] = { 2, 0, 1 };
  gsize n_params, n_state, n_params2;
  g_autofree float *params = NULL, *grads = NULL, *state = NULL;
  ConvolveRng rng, model_rng;

  convolve_rng_init (&rng, 22);
  fill_uniform (x, G_N_ELEMENTS (x), &rng);

  /* A prediction-only model gains no gradient memory by being explained. */
  g_assert_true (convolve_model_input_gradient (fresh, x, 0, grad, NULL));
  g_assert_true (convolve_model_grad_cam (fresh, x, 0, cam, NULL));
  g_assert_false (convolve_model_has_gradients (fresh));

  /* A model in training: parameters, gradients, state and RNG stay. */
  train_once (model, x, labels, B);
  twin = convolve_model_copy (model, B, NULL);
  convolve_model_get_params (model, &n_params);
  convolve_model_get_state (model, &n_state);
  params = g_memdup2 (convolve_model_get_params (model, NULL), n_params * sizeof (float));
  grads = g_memdup2 (convolve_model_get_grads (model, NULL), n_params * sizeof (float));
  state = g_memdup2 (convolve_model_get_state (model, NULL), n_state * sizeof (float));
  model_rng = *convolve_model_get_rng (model);

  for (int k = 0; k < 3; k++)
    {
      g_assert_true (convolve_model_input_gradient (model, x + N, k, grad, NULL));
      g_assert_true (convolve_model_grad_cam (model, x + 2 * N, k, cam, NULL));
    }
  g_assert_cmpmem (convolve_model_get_params (model, NULL), n_params * sizeof (float),
                   params, n_params * sizeof (float));
  g_assert_cmpmem (convolve_model_get_grads (model, NULL), n_params * sizeof (float),
                   grads, n_params * sizeof (float));
  g_assert_cmpmem (convolve_model_get_state (model, NULL), n_state * sizeof (float),
                   state, n_state * sizeof (float));
  g_assert_cmpmem (convolve_model_get_rng (model), sizeof model_rng, &model_rng, sizeof model_rng);

  /* ...and the next training step is the one it would have been. */
  train_once (model, x, labels, B);
  train_once (twin, x, labels, B);
  convolve_model_get_params (twin, &n_params2);
  g_assert_cmpuint (n_params2, ==, n_params);
  g_assert_cmpmem (convolve_model_get_grads (model, NULL), n_params * sizeof (float),
                   convolve_model_get_grads (twin, NULL), n_params * sizeof (float));
  g_assert_cmpmem (convolve_model_get_state (model, NULL), n_state * sizeof (float),
                   convolve_model_get_state (twin, NULL), n_state * sizeof (float));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/explain/input-gradient", test_input_gradient);
  g_test_add_func ("/engine/explain/reference", test_reference);
  g_test_add_func ("/engine/explain/no-conv", test_no_conv);
  g_test_add_func ("/engine/explain/find-last-conv", test_find_last_conv);
  g_test_add_func ("/engine/explain/bad-arguments", test_bad_arguments);
  g_test_add_func ("/engine/explain/layer-output", test_layer_output);
  g_test_add_func ("/engine/explain/state-unchanged", test_state_unchanged);

  return g_test_run ();
}
