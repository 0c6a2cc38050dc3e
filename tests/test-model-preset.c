/* test-model-preset.c: the named models and the check of a spec without
 * building it (what the model editor shows live).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-engine.h"

static ConvolveModelSpec *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  ConvolveModelSpec *spec = convolve_model_spec_parse (text, &error);

  g_assert_no_error (error);
  return spec;
}

/* Every preset parses, builds for CIFAR-10 and Fashion-MNIST shapes with
 * the class count asked for, and is recognised again from its layers. */
static void
test_preset_all_build (void)
{
  const ConvolveShape shapes[] = { { 3, 32, 32 }, { 1, 28, 28 } };
  const ConvolveModelPreset *presets;
  guint n = 0;

  presets = convolve_model_preset_get_all (&n);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (presets[0].name, ==, CONVOLVE_MODEL_PRESET_DEFAULT);
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (convolve_model_preset_find (presets[i].name) == &presets[i]);
      for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
        for (int classes = 2; classes <= 12; classes += 5)
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_new_preset (presets[i].name, classes, &error);
            g_autoptr(ConvolveModel) model = NULL;
            g_autofree char *text = NULL;
            g_autoptr(ConvolveModelSpec) reparsed = NULL;

            g_assert_no_error (error);
            model = convolve_model_new (spec, &shapes[s], 2, 1, &error);
            g_assert_no_error (error);
            g_assert_cmpint (convolve_model_get_n_classes (model), ==, classes);
            g_assert_true (convolve_model_preset_match (spec) == &presets[i]);
            /* ... also through the text the CLI's --spec takes. */
            text = convolve_model_spec_to_string (spec);
            reparsed = parse (text);
            g_assert_true (convolve_model_preset_match (reparsed) == &presets[i]);
          }
    }
}

static void
test_preset_tutorial (void)
{
  g_autoptr(ConvolveModelSpec) tutorial = convolve_model_spec_new_tutorial (10);
  g_autoptr(ConvolveModelSpec) preset = convolve_model_spec_new_preset ("tutorial", 10, NULL);
  g_autofree char *a = convolve_model_spec_to_string (tutorial);
  g_autofree char *b = convolve_model_spec_to_string (preset);

  g_assert_cmpstr (a, ==, "conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),"
                          "dropout(0.2),dense(10,softmax)");
  g_assert_cmpstr (a, ==, b);
}

/* "better" is what the issue asks for: Conv-BN-ReLU blocks of 32, 64 and
 * 128 filters with pooling, a small Dense head with dropout, and far fewer
 * weights than the tutorial. */
static void
test_preset_better (void)
{
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_new_preset ("better", 10, NULL);
  g_autoptr(ConvolveModelSpec) tutorial = convolve_model_spec_new_tutorial (10);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModel) tutorial_model = NULL;
  ConvolveShape input = { 3, 32, 32 };
  int filters[3], n_filters = 0, n_pools = 0, n_dropout = 0;

  for (int i = 0; i < spec->n_layers; i++)
    {
      const ConvolveLayerSpec *l = &spec->layers[i];

      if (l->kind == CONVOLVE_LAYER_CONV2D)
        {
          g_assert_cmpint (n_filters, <, 3);
          filters[n_filters++] = l->units;
          g_assert_cmpint (spec->layers[i + 1].kind, ==, CONVOLVE_LAYER_BATCH_NORM);
          g_assert_cmpint (spec->layers[i + 2].kind, ==, CONVOLVE_LAYER_RELU);
        }
      n_pools += l->kind == CONVOLVE_LAYER_MAX_POOL;
      n_dropout += l->kind == CONVOLVE_LAYER_DROPOUT;
    }
  g_assert_cmpint (n_filters, ==, 3);
  g_assert_cmpint (filters[0], ==, 32);
  g_assert_cmpint (filters[1], ==, 64);
  g_assert_cmpint (filters[2], ==, 128);
  g_assert_cmpint (n_pools, ==, 3);
  g_assert_cmpint (n_dropout, ==, 1);

  model = convolve_model_new (spec, &input, 1, 0, NULL);
  tutorial_model = convolve_model_new (tutorial, &input, 1, 0, NULL);
  g_assert_cmpuint (convolve_model_get_n_trainable (model) * 10, <,
                    convolve_model_get_n_trainable (tutorial_model));
}

static void
test_preset_unknown (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_new_preset ("vgg16", 10, &error);
  g_autoptr(ConvolveModelSpec) custom = parse ("flatten,dense(10,softmax)");
  g_autoptr(ConvolveModelSpec) near = convolve_model_spec_new_preset ("better", 10, NULL);

  g_assert_null (spec);
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "vgg16"));
  g_assert_nonnull (strstr (error->message, "tutorial, better"));
  g_clear_error (&error);

  g_assert_null (convolve_model_spec_new_preset ("tutorial", 1, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);

  g_assert_null (convolve_model_preset_find ("Tutorial"));
  g_assert_null (convolve_model_preset_find (NULL));
  g_assert_null (convolve_model_preset_match (custom));
  /* One changed argument and it is no longer the preset. */
  near->layers[0].units = 33;
  g_assert_null (convolve_model_preset_match (near));
}

/* batchnorm(MOMENTUM): Keras's BatchNormalization(momentum=...), written
 * back as given, the default (0.99) as plain "batchnorm". */
static void
test_batchnorm_momentum (void)
{
  g_autoptr(ConvolveModelSpec) spec = parse ("batchnorm(0.9),flatten,batch_normalization,dense(2,softmax)");
  g_autofree char *text = convolve_model_spec_to_string (spec);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad[] = { "batchnorm(0)", "batchnorm(1)", "batchnorm(-0.5)", "batchnorm(nan)",
                        "batchnorm(0.9,0.9)", "batchnorm(x)", "batchnorm(1e-50)" };
  ConvolveShape input = { 2, 1, 1 };
  const float x[4] = { 1.0f, 3.0f, 5.0f, -1.0f };  /* two images, two channels */
  const ConvolveTensorInfo *mean0, *mean1;

  g_assert_cmpfloat (spec->layers[0].momentum, ==, 0.9f);
  g_assert_cmpfloat (spec->layers[2].momentum, ==, 0.0f);
  g_assert_cmpstr (text, ==, "batchnorm(0.9),flatten,batchnorm,dense(2,softmax)");

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *with_head = g_strconcat (bad[i], ",flatten,dense(2,softmax)", NULL);

      g_assert_null (convolve_model_spec_parse (with_head, &error));
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  /* One training pass: moving = momentum * moving + (1 - momentum) * batch. */
  model = convolve_model_new (spec, &input, 2, 1, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_model_forward (model, x, 2, TRUE, &error));
  g_assert_no_error (error);
  mean0 = convolve_model_find_tensor (model, "batch_normalization/moving_mean");
  mean1 = convolve_model_find_tensor (model, "batch_normalization_1/moving_mean");
  g_assert_nonnull (mean0);
  g_assert_nonnull (mean1);
  /* channel means of the input: 3 and 1 */
  g_assert_cmpfloat_with_epsilon (mean0->data[0], 0.1f * 3.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (mean0->data[1], 0.1f * 1.0f, 1e-6);
  /* the second layer, on the first's (zero-mean) output */
  g_assert_cmpfloat_with_epsilon (mean1->data[0], 0.0f, 1e-5);

  /* Plain batchnorm: Keras's 0.99. */
  {
    g_autoptr(ConvolveModelSpec) plain = parse ("batchnorm,flatten,dense(2,softmax)");
    g_autoptr(ConvolveModel) plain_model = convolve_model_new (plain, &input, 2, 1, &error);

    g_assert_no_error (error);
    g_assert_true (convolve_model_forward (plain_model, x, 2, TRUE, &error));
    mean0 = convolve_model_find_tensor (plain_model, "batch_normalization/moving_mean");
    g_assert_cmpfloat_with_epsilon (mean0->data[0], 0.01f * 3.0f, 1e-6);
  }
}

/* The better preset in a model file: its layers (momentum included) and
 * weights come back as they were. */
static void
test_preset_file_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_new_preset ("better", 10, NULL);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-preset-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "better.safetensors", NULL);
  g_autofree char *a = NULL, *b = NULL;
  ConvolveShape input = { 3, 32, 32 };
  gsize n_a = 0, n_b = 0;
  float *pa, *pb;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 1, 3, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_model_save (model, NULL, NULL, path, &error));
  g_assert_no_error (error);
  loaded = convolve_model_load (path, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  a = convolve_model_spec_to_string (convolve_model_get_spec (model));
  b = convolve_model_spec_to_string (convolve_model_get_spec (loaded));
  g_assert_cmpstr (a, ==, b);
  g_assert_nonnull (strstr (b, "batchnorm(0.9)"));
  g_assert_true (convolve_model_preset_match (convolve_model_get_spec (loaded)) == convolve_model_preset_find ("better"));
  pa = convolve_model_get_params (model, &n_a);
  pb = convolve_model_get_params (loaded, &n_b);
  g_assert_cmpuint (n_a, ==, n_b);
  g_assert_cmpmem (pa, n_a * sizeof (float), pb, n_b * sizeof (float));
  g_remove (path);
  g_rmdir (dir);
}

/* --- checking a spec without building it ---------------------------------- */

static void
test_summarize_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_new_tutorial (10);
  g_autoptr(ConvolveModel) model = NULL;
  g_autofree char *built = NULL;
  g_autofree char *planned = NULL;
  ConvolveShape input = { 3, 32, 32 };
  int bad_layer = 42;

  /* The same table as the built model's. */
  model = convolve_model_new (spec, &input, 1, 0, &error);
  g_assert_no_error (error);
  built = convolve_model_summary (model);
  planned = convolve_model_spec_summarize (spec, &input, &bad_layer, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (planned, ==, built);
  g_assert_cmpint (bad_layer, ==, -1);
  g_assert_nonnull (strstr (planned, "Total params: 8,400,906"));
}

static void
test_summarize_invalid (void)
{
  const struct {
    const char *spec;
    int         bad_layer;
    const char *reason;
  } cases[] = {
    /* a Dense before Flatten */
    { "conv2d(8,3),dense(16,relu),flatten,dense(10,softmax)", 1, "flatten" },
    /* a shape that shrinks below 1 */
    { "maxpool(2),maxpool(2),maxpool(2),maxpool(2),maxpool(2),maxpool(2),flatten,dense(10,softmax)", 5,
      "larger than its input" },
    { "conv2d(8,5,valid),conv2d(8,5,valid),conv2d(8,5,valid),conv2d(8,5,valid),"
      "conv2d(8,5,valid),conv2d(8,5,valid),conv2d(8,5,valid),conv2d(8,5,valid),flatten,dense(10,softmax)", 7,
      "larger than its input" },
    /* a convolution after Flatten */
    { "flatten,conv2d(8,3),dense(10,softmax)", 1, "image input" },
    /* no Dense layer at the end */
    { "conv2d(8,3),flatten", 1, "last layer" },
    { "flatten,dense(1,softmax)", 1, "at least 2" },
    /* softmax in the middle */
    { "flatten,dense(16,softmax),dense(10,softmax)", 1, "softmax" },
  };
  ConvolveShape input = { 3, 32, 32 };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModelSpec) spec = parse (cases[i].spec);
      g_autofree char *summary = NULL;
      int bad_layer = 42;

      summary = convolve_model_spec_summarize (spec, &input, &bad_layer, &error);
      g_assert_null (summary);
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_SHAPE);
      g_test_message ("%s: %s", cases[i].spec, error->message);
      g_assert_cmpint (bad_layer, ==, cases[i].bad_layer);
      g_assert_nonnull (strstr (error->message, cases[i].reason));
    }
}

/* Too big to build is the model's fault as a whole, not a layer's. */
static void
test_summarize_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec =
    parse ("flatten,dense(12000,relu),dense(12000,relu),dense(12000,relu),dense(10,softmax)");
  ConvolveShape input = { 3, 32, 32 };
  int bad_layer = 42;

  g_assert_null (convolve_model_spec_summarize (spec, &input, &bad_layer, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED);
  g_assert_cmpint (bad_layer, ==, -1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/preset/all-build", test_preset_all_build);
  g_test_add_func ("/engine/preset/tutorial", test_preset_tutorial);
  g_test_add_func ("/engine/preset/better", test_preset_better);
  g_test_add_func ("/engine/preset/unknown", test_preset_unknown);
  g_test_add_func ("/engine/spec/batchnorm-momentum", test_batchnorm_momentum);
  g_test_add_func ("/engine/preset/file-round-trip", test_preset_file_round_trip);
  g_test_add_func ("/engine/spec/summarize-valid", test_summarize_valid);
  g_test_add_func ("/engine/spec/summarize-invalid", test_summarize_invalid);
  g_test_add_func ("/engine/spec/summarize-limits", test_summarize_limits);

  return g_test_run ();
}
