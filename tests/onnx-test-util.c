/* onnx-test-util.c: see onnx-test-util.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onnx-test-util.h"

#include <math.h>

#define TRAIN_BATCH 16

float *
onnx_test_images (ConvolveShape shape, int n, int n_classes, int32_t *labels, guint64 seed)
{
  gsize plane = (gsize) shape.h * shape.w;
  gsize per_image = (gsize) shape.c * plane;
  float *x = g_new (float, per_image * (gsize) n);
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  for (int i = 0; i < n; i++)
    {
      int label = (int) convolve_rng_below (&rng, (uint32_t) n_classes);

      if (labels != NULL)
        labels[i] = label;
      for (gsize j = 0; j < per_image; j++)
        {
          int y = (int) ((j % plane) / (gsize) shape.w);
          int x_pos = (int) (j % (gsize) shape.w);
          /* brighter in the class's band of rows or columns, plus noise */
          gboolean band = label % 2 == 0 ? (y * n_classes / shape.h == label)
                                         : (x_pos * n_classes / shape.w == label);
          float v = 0.6f * convolve_rng_uniform (&rng) + (band ? 0.4f : 0.0f);

          x[(gsize) i * per_image + j] = (float) (int) (v * 255.0f) / 255.0f;
        }
    }
  return x;
}

ConvolveModel *
onnx_test_trained_model (const char *spec_text, ConvolveShape shape, int n_steps, guint64 seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, &error);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  ConvolveOptimizerConfig config;
  gsize n_params;
  int n_classes;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &shape, TRAIN_BATCH, seed, &error);
  g_assert_no_error (error);
  n_classes = convolve_model_get_n_classes (model);

  convolve_optimizer_config_init_adam (&config);
  config.learning_rate = 3e-3f;
  convolve_model_get_params (model, &n_params);
  optimizer = convolve_optimizer_new (&config, n_params, &error);
  g_assert_no_error (error);

  for (int step = 0; step < n_steps; step++)
    {
      int32_t labels[TRAIN_BATCH];
      g_autofree float *x = onnx_test_images (shape, TRAIN_BATCH, n_classes, labels,
                                              seed * 1000 + (guint64) step);
      float loss = 0.0f;

      g_assert_true (convolve_model_train_step (model, optimizer, x, labels, TRAIN_BATCH,
                                                &loss, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (isfinite (loss));
    }
  return g_steal_pointer (&model);
}

ConvolveModelMeta *
onnx_test_meta (int n_classes)
{
  ConvolveModelMeta *meta = convolve_model_meta_new ();

  meta->class_names = g_new0 (char *, (gsize) n_classes + 1);
  for (int i = 0; i < n_classes; i++)
    meta->class_names[i] = g_strdup_printf ("class-%d “%s”", i, i % 2 == 0 ? "ä" : "b");
  meta->dataset = g_strdup ("generated");
  meta->input_scale = 1.0f / 255.0f;
  meta->input_offset = 0.0f;
  meta->epoch = 1;
  meta->step = 40;
  return meta;
}
