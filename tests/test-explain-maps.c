/* test-explain-maps.c: convolve_explain(), the saliency and Grad-CAM maps
 * at the input's size: normalisation and upsampling against values worked
 * out by hand, both maps of hand-built models, and both against PyTorch
 * (fixtures/explain.safetensors: torch's interpolate, bilinear,
 * align_corners=False).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convolve-train.h"
#include "fixture-reader.h"

#define REFERENCE_TOLERANCE 1e-4

static void
assert_floats (const float *actual, const float *expected, gsize n, float tolerance)
{
  for (gsize i = 0; i < n; i++)
    if (!(fabsf (actual[i] - expected[i]) <= tolerance))
      g_error ("value %" G_GSIZE_FORMAT ": %.7g, expected %.7g", i, actual[i], expected[i]);
}

static void
test_normalize (void)
{
  float map[] = { 0.0f, 2.0f, 4.0f, 1.0f };
  float zeros[] = { 0.0f, 0.0f, 0.0f };
  float odd[] = { -1.0f, NAN, 3.0f, INFINITY };
  float negative[] = { -1.0f, -2.0f };
  const float want[] = { 0.0f, 0.5f, 1.0f, 0.25f };
  const float want_zeros[] = { 0.0f, 0.0f, 0.0f };
  const float want_odd[] = { 0.0f, 0.0f, 0.0f, 0.0f };

  convolve_explain_normalize (map, G_N_ELEMENTS (map));
  assert_floats (map, want, G_N_ELEMENTS (map), 0.0f);
  /* all zero stays zero, not NaN */
  convolve_explain_normalize (zeros, G_N_ELEMENTS (zeros));
  assert_floats (zeros, want_zeros, G_N_ELEMENTS (zeros), 0.0f);
  /* nothing positive: zero */
  convolve_explain_normalize (negative, G_N_ELEMENTS (negative));
  assert_floats (negative, want_zeros, G_N_ELEMENTS (negative), 0.0f);
  /* an infinite maximum makes every finite value 0 and itself NaN -> 0 */
  convolve_explain_normalize (odd, G_N_ELEMENTS (odd));
  assert_floats (odd, want_odd, G_N_ELEMENTS (odd), 0.0f);
  convolve_explain_normalize (map, 0);
}

static void
test_upsample (void)
{
  /* 2x2 -> 4x4: destination cell y samples source row (y + 0.5) / 2 - 0.5,
   * i.e. -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the last centre:
   * the last row); per axis the weights of [a, b] are a, 3/4 a + 1/4 b,
   * 1/4 a + 3/4 b, b. */
  const float cam[] = { 0, 4,
                        8, 12 };
  const float want[] = { 0, 1, 3, 4,
                         2, 3, 5, 6,
                         6, 7, 9, 10,
                         8, 9, 11, 12 };
  /* 1x2 -> 1x3: (x + 0.5) 2/3 - 0.5 = -1/6 (0), 1/2, 7/6 (the last) */
  const float row[] = { 2, 6 };
  const float want_row[] = { 2, 4, 6 };
  /* 1x4 -> 1x2 (smaller): (x + 0.5) 2 - 0.5 = 0.5, 2.5 */
  const float wide[] = { 1, 3, 10, 20 };
  const float want_wide[] = { 2, 15 };
  /* 1x1 -> 2x3: constant */
  const float one[] = { 0.5f };
  const float want_one[] = { 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
  float out[16];

  convolve_explain_upsample (cam, 2, 2, out, 4, 4);
  assert_floats (out, want, 16, 1e-6f);
  convolve_explain_upsample (row, 1, 2, out, 1, 3);
  assert_floats (out, want_row, 3, 1e-6f);
  convolve_explain_upsample (wide, 1, 4, out, 1, 2);
  assert_floats (out, want_wide, 2, 1e-6f);
  convolve_explain_upsample (one, 1, 1, out, 2, 3);
  assert_floats (out, want_one, 6, 0.0f);
  /* the same size is the identity */
  convolve_explain_upsample (want, 4, 4, out, 4, 4);
  assert_floats (out, want, 16, 0.0f);
}

static ConvolveModel *
new_model (const char *spec_text, int c, int h, int w)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, &error);
  ConvolveShape input = { c, h, w };
  ConvolveModel *model;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 1, 1, &error);
  g_assert_no_error (error);
  return model;
}

static void
set_tensor (ConvolveModel *model, const char *name, const float *values, gsize n)
{
  const ConvolveTensorInfo *info = convolve_model_find_tensor (model, name);

  g_assert_nonnull (info);
  g_assert_cmpuint (info->size, ==, n);
  memcpy (info->data, values, n * sizeof (float));
}

/* Linear in the input: the gradient is the kernel's column of the class. */
static void
test_saliency (void)
{
  g_autoptr(ConvolveModel) model = new_model ("flatten,dense(2,softmax)", 2, 1, 2);
  g_autoptr(GError) error = NULL;
  /* [in 4 x out 2]: class 0 reads 1, -3 (channel 0) and 2, 0.5 (channel 1) */
  const float kernel[] = { 1, 0,
                           -3, 0,
                           2, 0,
                           0.5f, 0 };
  const float bias[] = { 0.1f, -0.1f };
  const float x[] = { 0.2f, 0.9f, 0.4f, 0.7f };
  /* per pixel the larger |gradient| of the two channels: 2, 3; over 3 */
  const float want[] = { 2.0f / 3.0f, 1.0f };
  const float want_zero[] = { 0.0f, 0.0f };
  float map[2];

  set_tensor (model, "dense/kernel", kernel, G_N_ELEMENTS (kernel));
  set_tensor (model, "dense/bias", bias, G_N_ELEMENTS (bias));
  g_assert_true (convolve_explain (model, x, 0, CONVOLVE_EXPLAIN_SALIENCY, map, &error));
  g_assert_no_error (error);
  assert_floats (map, want, 2, 1e-6f);
  /* class 1 does not depend on the input: a zero map, not NaN */
  g_assert_true (convolve_explain (model, x, 1, CONVOLVE_EXPLAIN_SALIENCY, map, &error));
  g_assert_no_error (error);
  assert_floats (map, want_zero, 2, 0.0f);

  /* no convolution: no Grad-CAM, and the engine's reason */
  g_assert_false (convolve_explain (model, x, 0, CONVOLVE_EXPLAIN_GRAD_CAM, map, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (convolve_explain (model, x, 2, CONVOLVE_EXPLAIN_SALIENCY, map, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
}

/* maxpool(2) then a 1x1 identity convolution: the feature map A is the
 * pooled image. Class 0 sums A, so d logit / d A is 1 everywhere, alpha = 1
 * and the cam is A itself; class 1 subtracts it. */
static void
test_grad_cam (void)
{
  g_autoptr(ConvolveModel) model = new_model ("maxpool(2),conv2d(1,1,valid),flatten,dense(2,softmax)",
                                              1, 4, 4);
  g_autoptr(GError) error = NULL;
  const float one = 1.0f, zero = 0.0f;
  const float kernel[] = { 1, -1,
                           1, -1,
                           1, -1,
                           1, -1 };
  const float bias[] = { 0, 0 };
  /* 2x2 windows with the maxima 0, 4 / 8, 12 */
  const float x[] = { 0, -1,   4, 2,
                      -2, -3,  1, 3,
                      8, 7,    5, 12,
                      6, 7.5f, 11, 0 };
  /* the hand-worked 2x2 -> 4x4 of test_upsample, over its maximum 12 */
  const float want[] = { 0, 1, 3, 4,
                         2, 3, 5, 6,
                         6, 7, 9, 10,
                         8, 9, 11, 12 };
  float want_map[16], map[16], cam[4];
  const float want_zero[16] = { 0 };
  const float want_cam[] = { 0, 4, 8, 12 };

  for (int i = 0; i < 16; i++)
    want_map[i] = want[i] / 12.0f;
  set_tensor (model, "conv2d/kernel", &one, 1);
  set_tensor (model, "conv2d/bias", &zero, 1);
  set_tensor (model, "dense/kernel", kernel, G_N_ELEMENTS (kernel));
  set_tensor (model, "dense/bias", bias, G_N_ELEMENTS (bias));

  g_assert_true (convolve_model_grad_cam (model, x, 0, cam, &error));
  g_assert_no_error (error);
  assert_floats (cam, want_cam, 4, 1e-6f);
  g_assert_true (convolve_explain (model, x, 0, CONVOLVE_EXPLAIN_GRAD_CAM, map, &error));
  g_assert_no_error (error);
  assert_floats (map, want_map, 16, 1e-6f);
  /* class 1: alpha = -1 on a non-negative A, the ReLU leaves nothing */
  g_assert_true (convolve_explain (model, x, 1, CONVOLVE_EXPLAIN_GRAD_CAM, map, &error));
  g_assert_no_error (error);
  assert_floats (map, want_zero, 16, 0.0f);
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
test_reference (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "explain.safetensors", NULL);
  g_autoptr(FixtureFile) fixture = fixture_file_read (path);
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL, *saliency = NULL, *cam_maps = NULL;
  g_autofree gint32 *classes = NULL;
  g_autofree float *map = NULL;
  ConvolveShape input;
  int rows = atoi (fixture_meta (fixture, "batch"));
  gsize n_input, spatial, n;

  spec = convolve_model_spec_parse (fixture_meta (fixture, "spec"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (sscanf (fixture_meta (fixture, "input_shape"), "[%d,%d,%d]",
                           &input.c, &input.h, &input.w), ==, 3);
  model = convolve_model_new (spec, &input, 1, 1, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < fixture->tensors->len; i++)
    {
      FixtureTensor *tensor = g_ptr_array_index (fixture->tensors, i);
      g_autofree float *values = NULL;

      if (!g_str_has_prefix (tensor->name, "weights/"))
        continue;
      values = fixture_tensor_dup_floats (tensor, &n);
      set_tensor (model, tensor->name + strlen ("weights/"), values, n);
    }

  n_input = (gsize) input.c * input.h * input.w;
  spatial = (gsize) input.h * input.w;
  map = g_new (float, spatial);
  x = fixture_floats (fixture, "x", &n);
  g_assert_cmpuint (n, ==, rows * n_input);
  classes = fixture_tensor_dup_ints (fixture_file_find (fixture, "classes"), &n);
  saliency = fixture_floats (fixture, "saliency", &n);
  g_assert_cmpuint (n, ==, rows * spatial);
  cam_maps = fixture_floats (fixture, "grad_cam_map", &n);
  g_assert_cmpuint (n, ==, rows * spatial);

  for (int r = 0; r < rows; r++)
    {
      double err;

      g_assert_true (convolve_explain (model, x + r * n_input, classes[r], CONVOLVE_EXPLAIN_SALIENCY,
                                       map, &error));
      g_assert_no_error (error);
      err = relative_error (map, saliency + r * spatial, spatial);
      g_test_message ("saliency[%d]: relative error %.2e", r, err);
      g_assert_cmpfloat (err, <=, REFERENCE_TOLERANCE);

      g_assert_true (convolve_explain (model, x + r * n_input, classes[r], CONVOLVE_EXPLAIN_GRAD_CAM,
                                       map, &error));
      g_assert_no_error (error);
      err = relative_error (map, cam_maps + r * spatial, spatial);
      g_test_message ("grad_cam_map[%d]: relative error %.2e", r, err);
      g_assert_cmpfloat (err, <=, REFERENCE_TOLERANCE);
    }
}

static void
test_map_is_empty (void)
{
  static const float zeros[4] = { 0.0f, -0.0f, 0.0f, 0.0f };
  static const float one[4] = { 0.0f, 0.0f, 1e-6f, 0.0f };
  static const float negative[2] = { -1.0f, -0.5f };

  g_assert_true (convolve_explain_map_is_empty (zeros, 4));
  g_assert_true (convolve_explain_map_is_empty (negative, 2));
  g_assert_false (convolve_explain_map_is_empty (one, 4));
  g_assert_true (convolve_explain_map_is_empty (one, 2));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/explain/normalize", test_normalize);
  g_test_add_func ("/train/explain/upsample", test_upsample);
  g_test_add_func ("/train/explain/saliency", test_saliency);
  g_test_add_func ("/train/explain/grad-cam", test_grad_cam);
  g_test_add_func ("/train/explain/reference", test_reference);
  g_test_add_func ("/train/explain/map-is-empty", test_map_is_empty);

  return g_test_run ();
}
