/* test-model.c: the sequential model: specs, shapes, names, initialisation,
 * memory layout, forward/backward of the whole model against finite
 * differences, learning, determinism, summary and every error path.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "convolve-engine.h"

#define LOG_DOMAIN "Convolve-Engine"

static const char *tutorial_text =
  "conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),dropout(0.2),dense(10,softmax)";

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

/* --- specs ------------------------------------------------------------------ */

static void
test_spec_round_trip (void)
{
  g_autoptr(ConvolveModelSpec) tutorial = convolve_model_spec_new_tutorial (10);
  g_autofree char *text = convolve_model_spec_to_string (tutorial);
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) parsed = NULL, copy = NULL;
  g_autofree char *text2 = NULL;

  g_assert_cmpstr (text, ==, tutorial_text);
  parsed = convolve_model_spec_parse (text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->n_layers, ==, 7);
  g_assert_cmpmem (parsed->layers, sizeof (ConvolveLayerSpec) * 7,
                   tutorial->layers, sizeof (ConvolveLayerSpec) * 7);
  copy = convolve_model_spec_copy (parsed);
  text2 = convolve_model_spec_to_string (copy);
  g_assert_cmpstr (text2, ==, text);
}

static void
test_spec_defaults_and_aliases (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec =
    convolve_model_spec_parse (" Conv2D(8, 5) , batch_normalization, max_pooling2d, relu,"
                               " maxpool(3), conv2d(4,3,relu,same), flatten, dropout(0.5), dense(7)",
                               &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (spec->n_layers, ==, 9);
  /* Keras defaults: padding valid, activation linear, pool 2 */
  g_assert_cmpint (spec->layers[0].kind, ==, CONVOLVE_LAYER_CONV2D);
  g_assert_cmpint (spec->layers[0].padding, ==, CONVOLVE_PADDING_VALID);
  g_assert_cmpint (spec->layers[0].activation, ==, CONVOLVE_ACTIVATION_LINEAR);
  g_assert_cmpint (spec->layers[2].kernel_size, ==, 2);
  g_assert_cmpint (spec->layers[4].kernel_size, ==, 3);
  g_assert_cmpint (spec->layers[5].padding, ==, CONVOLVE_PADDING_SAME);
  g_assert_cmpint (spec->layers[5].activation, ==, CONVOLVE_ACTIVATION_RELU);
  g_assert_cmpfloat (spec->layers[7].rate, ==, 0.5f);
  g_assert_cmpint (spec->layers[8].activation, ==, CONVOLVE_ACTIVATION_LINEAR);
  text = convolve_model_spec_to_string (spec);
  g_assert_cmpstr (text, ==,
                   "conv2d(8,5,valid,linear),batchnorm,maxpool(2),relu,maxpool(3),"
                   "conv2d(4,3,same,relu),flatten,dropout(0.5),dense(7,linear)");
}

static void
test_spec_globalavgpool (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec =
    convolve_model_spec_parse ("conv2d(8,3,same,relu), GlobalAvgPool, dense(10,softmax),"
                               "global_average_pooling2d", &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (spec->n_layers, ==, 4);
  g_assert_cmpint (spec->layers[1].kind, ==, CONVOLVE_LAYER_GLOBAL_AVG_POOL);
  g_assert_cmpint (spec->layers[3].kind, ==, CONVOLVE_LAYER_GLOBAL_AVG_POOL);
  text = convolve_model_spec_to_string (spec);
  g_assert_cmpstr (text, ==,
                   "conv2d(8,3,same,relu),globalavgpool,dense(10,softmax),globalavgpool");
}

static void
test_spec_errors (void)
{
  const char *bad[] = {
    "", "   ", ",", "conv2d", "conv2d(32)", "conv2d(0,3)", "conv2d(32,3,sideways)",
    "conv2d(32,3,softmax)", "conv2d(3,3,same,relu,valid)", "dense(10,softmax", "dense(10))",
    "dense(x)", "dense()", "dense(10,tanh)", "dense(-3)", "dropout(1.0)", "dropout(-0.1)",
    "dropout(abc)", "dropout", "pool(2)", "flatten(1)", "globalavgpool(2)", "batchnorm(3)", "relu(1)",
    "maxpool(0)", "maxpool(2,2)", "dense(10,relu),,dense(3)", "dense(10),", "dense((3))",
    "dense(99999999999)",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      ConvolveModelSpec *spec = convolve_model_spec_parse (bad[i], &error);

      if (spec != NULL)
        g_error ("“%s” was accepted", bad[i]);
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, !=, "");
    }

  {
    g_autoptr(GError) error = NULL;

    g_assert_null (convolve_model_spec_parse (NULL, &error));
    g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr(GError) error = NULL;

    /* the message names the offending item */
    g_assert_null (convolve_model_spec_parse ("flatten,densse(3)", &error));
    g_assert_nonnull (strstr (error->message, "densse"));
  }

  /* ... and says which argument is wrong and what it may be */
  {
    const struct {
      const char *spec;
      const char *says;
    } reasons[] = {
      { "flatten,dense(2000000000)", "units" },
      { "flatten,dense(10,tanh)", "tanh" },
      { "conv2d(0,3)", "filters" },
      { "conv2d(8,99)", "kernel size" },
      { "conv2d(8,3,sideways)", "sideways" },
      { "maxpool(0)", "pool size" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (reasons); i++)
      {
        g_autoptr(GError) error = NULL;

        g_assert_null (convolve_model_spec_parse (reasons[i].spec, &error));
        if (strstr (error->message, reasons[i].says) == NULL)
          g_error ("“%s”: expected “%s” in: %s", reasons[i].spec, reasons[i].says, error->message);
      }
  }

  /* a hostile spec is quoted in part, not as a page of text */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *long_spec = g_strnfill (5000, '(');

    g_assert_null (convolve_model_spec_parse (long_spec, &error));
    g_assert_cmpuint (g_utf8_strlen (error->message, -1), <, 200);
    g_clear_error (&error);
    memset (long_spec, 'x', 5000);
    g_assert_null (convolve_model_spec_parse (long_spec, &error));
    g_assert_cmpuint (g_utf8_strlen (error->message, -1), <, 200);
  }
}

/* --- shapes, names, parameters ---------------------------------------------- */

static void
expect_shape_error (const char *spec_text, int c, int h, int w, const char *layer_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, &error);
  ConvolveShape input = { c, h, w };
  ConvolveModel *model;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 4, 1, &error);
  if (model != NULL)
    g_error ("“%s” on %dx%dx%d was accepted", spec_text, h, w, c);
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_SHAPE);
  if (strstr (error->message, layer_name) == NULL)
    g_error ("“%s”: message “%s” does not name %s", spec_text, error->message, layer_name);
}

static void
test_shape_errors (void)
{
  expect_shape_error ("flatten,conv2d(4,3),flatten,dense(2,softmax)", 3, 8, 8, "conv2d");
  expect_shape_error ("conv2d(4,3),dense(2,softmax)", 3, 8, 8, "dense");
  expect_shape_error ("conv2d(4,3),conv2d(4,9,valid),flatten,dense(2,softmax)", 3, 8, 8, "conv2d_1");
  expect_shape_error ("maxpool(20),flatten,dense(2,softmax)", 3, 16, 16, "max_pooling2d");
  expect_shape_error ("flatten,maxpool(2),dense(2,softmax)", 3, 8, 8, "max_pooling2d");
  expect_shape_error ("flatten,dense(4,softmax),dense(2,softmax)", 3, 8, 8, "dense");
  expect_shape_error ("flatten,dense(4,relu),dropout(0.5)", 3, 8, 8, "dropout");
  expect_shape_error ("flatten,dense(1,softmax)", 3, 8, 8, "dense");
  expect_shape_error ("conv2d(4,3),flatten", 1, 8, 8, "flatten");
  /* global average pooling takes an image, not a flat vector */
  expect_shape_error ("conv2d(4,3),flatten,globalavgpool,dense(2,softmax)", 3, 8, 8,
                      "global_average_pooling2d");
  expect_shape_error ("flatten,dense(8),globalavgpool,dense(2,softmax)", 3, 8, 8,
                      "global_average_pooling2d");
  expect_shape_error ("conv2d(4,3),globalavgpool,globalavgpool,dense(2,softmax)", 3, 8, 8,
                      "global_average_pooling2d_1");
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(ConvolveModelSpec) spec =
      convolve_model_spec_parse ("conv2d(4,3),flatten,globalavgpool,dense(2,softmax)", NULL);
    ConvolveShape input = { 3, 8, 8 };

    g_assert_null (convolve_model_new (spec, &input, 4, 1, &error));
    g_assert_nonnull (strstr (error->message, "image input"));
    g_assert_nonnull (strstr (error->message, "before flatten"));
  }
  /* 65536 x 65536 weights: refused before anything is allocated */
  expect_shape_error ("flatten,dense(65536),dense(65536,softmax)", 3, 32, 32, "dense_1");
}

static void
test_bad_construction (void)
{
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_new_tutorial (10);
  ConvolveShape good = { 3, 32, 32 }, zero = { 0, 32, 32 }, negative = { 3, -1, 32 };
  ConvolveModelSpec empty = { 0, NULL };
  struct { const ConvolveModelSpec *spec; const ConvolveShape *input; int max_batch; } cases[] = {
    { NULL, &good, 32 }, { &empty, &good, 32 }, { spec, NULL, 32 }, { spec, &zero, 32 },
    { spec, &negative, 32 }, { spec, &good, 0 }, { spec, &good, -5 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_null (convolve_model_new (cases[i].spec, cases[i].input, cases[i].max_batch, 1, &error));
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
    }

  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*n_classes*");
  g_assert_null (convolve_model_spec_new_tutorial (1));
  g_test_assert_expected_messages ();
}

static void
test_layer_info (void)
{
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 32, 32, 2, 1);
  struct { const char *name, *type; int rank, c, h, w; gsize trainable, non_trainable; } want[] = {
    { "conv2d", "Conv2D", 3, 32, 32, 32, 896, 0 },
    { "batch_normalization", "BatchNormalization", 3, 32, 32, 32, 64, 64 },
    { "max_pooling2d", "MaxPooling2D", 3, 32, 16, 16, 0, 0 },
    { "flatten", "Flatten", 1, 8192, 0, 0, 0, 0 },
    { "dense", "Dense", 1, 1024, 0, 0, 8389632, 0 },
    { "dropout", "Dropout", 1, 1024, 0, 0, 0, 0 },
    { "dense_1", "Dense", 1, 10, 0, 0, 10250, 0 },
  };

  g_assert_cmpint (convolve_model_get_n_layers (model), ==, 7);
  for (int i = 0; i < 7; i++)
    {
      const ConvolveLayerInfo *info = convolve_model_get_layer (model, i);

      g_assert_cmpstr (info->name, ==, want[i].name);
      g_assert_cmpstr (info->type_name, ==, want[i].type);
      g_assert_cmpint (info->rank, ==, want[i].rank);
      g_assert_cmpint (info->shape[0], ==, want[i].c);
      if (info->rank == 3)
        {
          g_assert_cmpint (info->shape[1], ==, want[i].h);
          g_assert_cmpint (info->shape[2], ==, want[i].w);
        }
      g_assert_cmpuint (info->n_trainable, ==, want[i].trainable);
      g_assert_cmpuint (info->n_non_trainable, ==, want[i].non_trainable);
    }
  g_assert_cmpuint (convolve_model_get_n_trainable (model), ==, 8400842);
  g_assert_cmpuint (convolve_model_get_n_non_trainable (model), ==, 64);
  g_assert_cmpint (convolve_model_get_n_classes (model), ==, 10);
  g_assert_cmpint (convolve_model_get_max_batch (model), ==, 2);
  g_assert_cmpint (convolve_model_get_input (model).c, ==, 3);
  g_assert_cmpint (convolve_model_get_input (model).h, ==, 32);

  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*index*");
  g_assert_null (convolve_model_get_layer (model, 7));
  g_test_assert_expected_messages ();

  /* Repeated kinds count up as Keras does. */
  {
    g_autoptr(ConvolveModel) deep =
      new_model ("conv2d(4,3,same,relu),batchnorm,conv2d(4,3,same,relu),batchnorm,maxpool(2),"
                 "relu,flatten,dense(8,relu),dense(8,relu),dense(3,softmax)", 1, 8, 8, 1, 1);

    g_assert_cmpstr (convolve_model_get_layer (deep, 2)->name, ==, "conv2d_1");
    g_assert_cmpstr (convolve_model_get_layer (deep, 3)->name, ==, "batch_normalization_1");
    g_assert_cmpstr (convolve_model_get_layer (deep, 5)->name, ==, "re_lu");
    g_assert_cmpstr (convolve_model_get_layer (deep, 8)->name, ==, "dense_1");
    g_assert_cmpstr (convolve_model_get_layer (deep, 9)->name, ==, "dense_2");
    g_assert_nonnull (convolve_model_find_tensor (deep, "batch_normalization_1/moving_variance"));
    g_assert_nonnull (convolve_model_find_tensor (deep, "dense_2/kernel"));
  }
}

static void
test_tensors (void)
{
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 32, 32, 2, 1);
  struct { const char *name; int rank, shape[4]; gboolean trainable; } want[] = {
    { "conv2d/kernel", 4, { 32, 3, 3, 3 }, TRUE },
    { "conv2d/bias", 1, { 32 }, TRUE },
    { "batch_normalization/gamma", 1, { 32 }, TRUE },
    { "batch_normalization/beta", 1, { 32 }, TRUE },
    { "batch_normalization/moving_mean", 1, { 32 }, FALSE },
    { "batch_normalization/moving_variance", 1, { 32 }, FALSE },
    { "dense/kernel", 2, { 8192, 1024 }, TRUE },
    { "dense/bias", 1, { 1024 }, TRUE },
    { "dense_1/kernel", 2, { 1024, 10 }, TRUE },
    { "dense_1/bias", 1, { 10 }, TRUE },
  };
  gsize n_params, n_state, p_off = 0, s_off = 0;
  float *params = convolve_model_get_params (model, &n_params);
  float *grads = convolve_model_get_grads (model, NULL);
  float *state = convolve_model_get_state (model, &n_state);

  g_assert_cmpuint (n_params, ==, 8400842);
  g_assert_cmpuint (n_state, ==, 64);
  g_assert_cmpint (convolve_model_get_n_tensors (model), ==, G_N_ELEMENTS (want));
  for (int i = 0; i < (int) G_N_ELEMENTS (want); i++)
    {
      const ConvolveTensorInfo *t = convolve_model_get_tensor (model, i);
      gsize size = 1;

      g_assert_cmpstr (t->name, ==, want[i].name);
      g_assert_cmpint (t->rank, ==, want[i].rank);
      for (int k = 0; k < t->rank; k++)
        {
          g_assert_cmpint (t->shape[k], ==, want[i].shape[k]);
          size *= (gsize) t->shape[k];
        }
      g_assert_cmpuint (t->size, ==, size);
      g_assert_cmpint (t->trainable, ==, want[i].trainable);
      g_assert_true (convolve_model_find_tensor (model, want[i].name) == t);
      /* trainable tensors tile the parameter block in order, the others
       * the state block */
      if (t->trainable)
        {
          g_assert_true (t->data == params + p_off);
          g_assert_true (t->grad == grads + p_off);
          p_off += size;
        }
      else
        {
          g_assert_true (t->data == state + s_off);
          g_assert_null (t->grad);
          s_off += size;
        }
    }
  g_assert_cmpuint (p_off, ==, n_params);
  g_assert_cmpuint (s_off, ==, n_state);
  g_assert_null (convolve_model_find_tensor (model, "dense/weights"));

  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*index*");
  g_assert_null (convolve_model_get_tensor (model, 10));
  g_test_assert_expected_messages ();
}

static void
check_uniform_init (const ConvolveTensorInfo *t, double fan_in, double fan_out, double tol)
{
  double limit = sqrt (6.0 / (fan_in + fan_out));
  double sum = 0.0, squares = 0.0, var;

  for (gsize i = 0; i < t->size; i++)
    {
      g_assert_cmpfloat (fabsf (t->data[i]), <=, limit * (1.0 + 1e-6)); /* float rounding of the limit */
      sum += t->data[i];
      squares += (double) t->data[i] * t->data[i];
    }
  var = squares / t->size - (sum / t->size) * (sum / t->size);
  /* uniform(-l, l) has variance l^2 / 3 */
  g_assert_cmpfloat (fabs (var / (limit * limit / 3.0) - 1.0), <, tol);
}

static void
test_keras_init (void)
{
  g_autoptr(ConvolveModel) a = new_model (tutorial_text, 3, 32, 32, 1, 42);
  g_autoptr(ConvolveModel) b = new_model (tutorial_text, 3, 32, 32, 1, 42);
  g_autoptr(ConvolveModel) c = new_model (tutorial_text, 3, 32, 32, 1, 43);
  gsize n;
  float *pa = convolve_model_get_params (a, &n);

  /* glorot-uniform, conv fans in_c*k*k and out_c*k*k; 864 samples give the
   * variance to ~3 %, 8.4M to ~0.03 % */
  check_uniform_init (convolve_model_find_tensor (a, "conv2d/kernel"), 27, 288, 0.15);
  check_uniform_init (convolve_model_find_tensor (a, "dense/kernel"), 8192, 1024, 0.01);
  check_uniform_init (convolve_model_find_tensor (a, "dense_1/kernel"), 1024, 10, 0.03);
  for (int i = 0; i < convolve_model_get_n_tensors (a); i++)
    {
      const ConvolveTensorInfo *t = convolve_model_get_tensor (a, i);
      float want;

      if (g_str_has_suffix (t->name, "/bias") || g_str_has_suffix (t->name, "/beta")
          || g_str_has_suffix (t->name, "/moving_mean"))
        want = 0.0f;
      else if (g_str_has_suffix (t->name, "/gamma") || g_str_has_suffix (t->name, "/moving_variance"))
        want = 1.0f;
      else
        continue;
      for (gsize k = 0; k < t->size; k++)
        g_assert_cmpfloat (t->data[k], ==, want);
    }

  g_assert_cmpmem (pa, n * sizeof (float), convolve_model_get_params (b, NULL), n * sizeof (float));
  g_assert_true (memcmp (pa, convolve_model_get_params (c, NULL), n * sizeof (float)) != 0);
}

/* --- summary ---------------------------------------------------------------- */

static void
check_summary_row (char **lines, const char *label, const char *shape, const char *count)
{
  for (int i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      while (*line == ' ')
        line++;
      if (!g_str_has_prefix (line, label))
        continue;
      if (strstr (line, shape) == NULL)
        g_error ("row “%s” lacks shape %s", lines[i], shape);
      if (!g_str_has_suffix (g_strchomp (lines[i]), count))
        g_error ("row “%s” does not end with %s", lines[i], count);
      return;
    }
  g_error ("no summary row for %s", label);
}

static void
test_summary (void)
{
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 32, 32, 1, 1);
  g_autofree char *text = convolve_model_summary (model);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  g_assert_nonnull (strstr (text, "Layer (type)"));
  g_assert_nonnull (strstr (text, "Output Shape"));
  g_assert_nonnull (strstr (text, "Param #"));
  check_summary_row (lines, "conv2d (Conv2D)", "(None, 32, 32, 32)", "896");
  check_summary_row (lines, "batch_normalization (BatchNormalization)", "(None, 32, 32, 32)", "128");
  check_summary_row (lines, "max_pooling2d (MaxPooling2D)", "(None, 16, 16, 32)", "0");
  check_summary_row (lines, "flatten (Flatten)", "(None, 8192)", "0");
  check_summary_row (lines, "dense (Dense)", "(None, 1024)", "8,389,632");
  check_summary_row (lines, "dropout (Dropout)", "(None, 1024)", "0");
  check_summary_row (lines, "dense_1 (Dense)", "(None, 10)", "10,250");
  g_assert_nonnull (strstr (text, "Total params: 8,400,906\n"));
  g_assert_nonnull (strstr (text, "Trainable params: 8,400,842\n"));
  g_assert_nonnull (strstr (text, "Non-trainable params: 64\n"));

  /* Rows come in layer order. */
  g_assert_true (strstr (text, "dense (Dense)") < strstr (text, "dropout (Dropout)"));
  g_assert_true (strstr (text, "dropout (Dropout)") < strstr (text, "dense_1 (Dense)"));
}

static void
test_summary_fashion (void)
{
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 1, 28, 28, 1, 1);
  g_autofree char *text = convolve_model_summary (model);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  check_summary_row (lines, "conv2d (Conv2D)", "(None, 28, 28, 32)", "320");
  check_summary_row (lines, "max_pooling2d (MaxPooling2D)", "(None, 14, 14, 32)", "0");
  check_summary_row (lines, "flatten (Flatten)", "(None, 6272)", "0");
  check_summary_row (lines, "dense (Dense)", "(None, 1024)", "6,423,552");
  g_assert_nonnull (strstr (text, "Total params: 6,434,250\n"));
  g_assert_nonnull (strstr (text, "Trainable params: 6,434,186\n"));
  g_assert_nonnull (strstr (text, "Non-trainable params: 64\n"));
}

static void
test_summary_globalavgpool (void)
{
  g_autoptr(ConvolveModel) model =
    new_model ("conv2d(16,3,same,relu),batchnorm,globalavgpool,dense(10,softmax)", 3, 32, 32, 1, 1);
  g_autofree char *text = convolve_model_summary (model);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  const ConvolveLayerInfo *info = convolve_model_get_layer (model, 2);

  check_summary_row (lines, "conv2d (Conv2D)", "(None, 32, 32, 16)", "448");
  check_summary_row (lines, "global_average_pooling2d (GlobalAveragePooling2D)", "(None, 16)", "0");
  check_summary_row (lines, "dense (Dense)", "(None, 10)", "170");
  g_assert_cmpint (info->rank, ==, 1);
  g_assert_cmpint (info->shape[0], ==, 16);
  g_assert_nonnull (strstr (text, "Total params: 682\n"));
}

/* --- the whole model against finite differences ------------------------------ */

static double
training_loss (ConvolveModel *model, const ConvolveRng *rng0, const float *x,
               const int32_t *labels, int batch)
{
  *convolve_model_get_rng (model) = *rng0; /* the same dropout mask every time */
  g_assert_true (convolve_model_forward (model, x, batch, TRUE, NULL));
  return convolve_model_loss (model, labels, NULL);
}

/* Central differences on the float model itself, with the RNG rewound
 * before each forward so Dropout keeps one mask. Step h = 1e-3: the loss is
 * ~1 and float rounding ~1e-7, so the numeric derivative is good to ~1e-4.
 * ReLU and max-pooling make the loss piecewise smooth; where a step of h
 * crosses a kink the difference quotient is meaningless, which shows as a
 * disagreement between the quotients for h and h/2. Such parameters are
 * skipped (at most 10 % of them may be); every other one must satisfy
 * |analytic - numeric| <= 1e-3 + 1e-2 |numeric|. */
static double
central_difference (ConvolveModel *model, const ConvolveRng *rng0, const float *x,
                    const int32_t *labels, int batch, float *param, float h)
{
  float saved = *param;
  double plus, minus;

  *param = saved + h;
  plus = training_loss (model, rng0, x, labels, batch);
  *param = saved - h;
  minus = training_loss (model, rng0, x, labels, batch);
  *param = saved;
  return (plus - minus) / (2.0 * (double) h);
}

static void
check_model_gradient (const char *spec, int c, int h, int w, guint64 seed)
{
  enum { B = 3 };
  g_autoptr(ConvolveModel) model = new_model (spec, c, h, w, B, seed);
  g_autofree float *x = g_new (float, B * c * h * w);
  int32_t labels[B] = { 1, 3, 0 };
  ConvolveRng rng0, data_rng;
  gsize n;
  float *params = convolve_model_get_params (model, &n);
  g_autofree float *analytic = NULL;
  gsize skipped = 0;

  convolve_rng_init (&data_rng, seed + 1000);
  fill_uniform (x, (gsize) B * c * h * w, &data_rng);
  /* Non-trivial BN parameters, so their gradients are not special. */
  for (int i = 0; i < convolve_model_get_n_tensors (model); i++)
    {
      const ConvolveTensorInfo *t = convolve_model_get_tensor (model, i);

      if (g_str_has_suffix (t->name, "/gamma") || g_str_has_suffix (t->name, "/beta"))
        for (gsize k = 0; k < t->size; k++)
          t->data[k] += 0.1f * (float) (k % 3) - 0.1f;
    }

  rng0 = *convolve_model_get_rng (model);
  training_loss (model, &rng0, x, labels, B);
  convolve_model_backward (model);
  analytic = g_memdup2 (convolve_model_get_grads (model, NULL), n * sizeof (float));

  for (gsize i = 0; i < n; i++)
    {
      double numeric = central_difference (model, &rng0, x, labels, B, &params[i], 1e-3f);
      double half = central_difference (model, &rng0, x, labels, B, &params[i], 5e-4f);

      if (fabs (numeric - half) > 5e-4 + 1e-2 * fabs (numeric))
        {
          skipped++;
          continue;
        }
      if (fabs (analytic[i] - numeric) > 1e-3 + 1e-2 * fabs (numeric))
        g_error ("%s: parameter %" G_GSIZE_FORMAT ": analytic %.6g, numeric %.6g (h/2: %.6g)",
                 spec, i, (double) analytic[i], numeric, half);
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " parameters at a kink, skipped",
                  spec, skipped, n);
  g_assert_cmpuint (skipped * 10, <=, n);
}

static void
test_model_gradient (void)
{
  check_model_gradient ("conv2d(3,3,same,relu),batchnorm,maxpool(2),conv2d(2,2,valid),flatten,"
                        "dense(6,relu),dropout(0.3),dense(4,softmax)", 2, 6, 6, 7);
  check_model_gradient ("conv2d(3,3,same),batchnorm,flatten,dense(5),batchnorm,relu,"
                        "dense(4,softmax)", 1, 4, 4, 8);
  /* a convolution's BatchNormalization and ReLU, fused in training */
  check_model_gradient ("conv2d(3,3,same,linear),batchnorm,relu,maxpool(2),conv2d(2,3,same),"
                        "batchnorm(0.9),relu,flatten,dense(4,softmax)", 2, 6, 6, 10);
  /* global average pooling between two layers with parameters */
  check_model_gradient ("conv2d(3,3,same,relu),batchnorm,conv2d(4,2,valid),globalavgpool,"
                        "dense(5,relu),dense(4,softmax)", 2, 5, 6, 9);
}

/* --- learning and determinism ------------------------------------------------ */

/* 10 classes, each a coloured square at its own place, plus noise. */
static void
make_pattern_images (float *x, int32_t *labels, int n, int size, ConvolveRng *rng)
{
  int cell = size / 4;

  for (int i = 0; i < n; i++)
    {
      int label = i % 10;
      int cy = (label / 4) * cell, cx = (label % 4) * cell;
      float *img = x + (gsize) i * 3 * size * size;

      labels[i] = label;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < size; y++)
          for (int xx = 0; xx < size; xx++)
            {
              float v = 0.3f * convolve_rng_uniform (rng);

              if (y >= cy && y < cy + cell && xx >= cx && xx < cx + cell && c == label % 3)
                v += 0.7f;
              img[(c * size + y) * size + xx] = v;
            }
    }
}

static void
test_overfit (void)
{
  enum { N = 64, S = 16, BATCH = 32, MAX_EPOCHS = 100 };
  g_autoptr(ConvolveModel) model =
    new_model ("conv2d(8,3,same,relu),batchnorm,maxpool(2),flatten,dense(64,relu),"
               "dropout(0.2),dense(10,softmax)", 3, S, S, BATCH, 3);
  g_autoptr(ConvolveOptimizer) opt = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveOptimizerConfig config;
  g_autofree float *x = g_new (float, N * 3 * S * S);
  g_autofree float *batch_x = g_new (float, BATCH * 3 * S * S);
  int32_t labels[N], batch_labels[BATCH];
  uint32_t order[N];
  ConvolveRng rng;
  int epoch, hits = 0;
  double first_loss = -1.0, loss_sum = 0.0;

  convolve_rng_init (&rng, 123);
  make_pattern_images (x, labels, N, S, &rng);
  convolve_optimizer_config_init_adam (&config);
  opt = convolve_optimizer_new (&config, convolve_model_get_n_trainable (model), &error);
  g_assert_no_error (error);
  for (int i = 0; i < N; i++)
    order[i] = (uint32_t) i;

  for (epoch = 0; epoch < MAX_EPOCHS; epoch++)
    {
      convolve_rng_shuffle_u32 (&rng, order, N);
      for (int start = 0; start < N; start += BATCH)
        {
          float loss;

          for (int k = 0; k < BATCH; k++)
            {
              memcpy (batch_x + (gsize) k * 3 * S * S, x + (gsize) order[start + k] * 3 * S * S,
                      sizeof (float) * 3 * S * S);
              batch_labels[k] = labels[order[start + k]];
            }
          g_assert_true (convolve_model_train_step (model, opt, batch_x, batch_labels, BATCH,
                                                    &loss, NULL, &error));
          g_assert_no_error (error);
          if (first_loss < 0.0)
            first_loss = loss;
        }

      /* Training accuracy in inference mode (moving BN statistics, no dropout). */
      hits = 0;
      loss_sum = 0.0;
      for (int start = 0; start < N; start += BATCH)
        g_assert_true (convolve_model_evaluate (model, x + (gsize) start * 3 * S * S, labels + start,
                                                BATCH, &loss_sum, &hits, NULL, &error));
      if (hits == N)
        break;
    }
  g_test_message ("100%% after %d epochs (%d steps), loss %.3f -> %.4f",
                  epoch + 1, (epoch + 1) * N / BATCH, first_loss, loss_sum / N);
  g_assert_cmpint (hits, ==, N);
  g_assert_cmpfloat (loss_sum / N, <, first_loss);
}

static void
run_steps (ConvolveModel *model, int steps)
{
  enum { B = 8 };
  g_autoptr(ConvolveOptimizer) opt = NULL;
  ConvolveOptimizerConfig config;
  ConvolveShape in = convolve_model_get_input (model);
  gsize image = (gsize) in.c * in.h * in.w;
  g_autofree float *x = g_new (float, B * image);
  int32_t labels[B];
  ConvolveRng rng;

  convolve_optimizer_config_init_adam (&config);
  opt = convolve_optimizer_new (&config, convolve_model_get_n_trainable (model), NULL);
  convolve_rng_init (&rng, 5);
  for (int s = 0; s < steps; s++)
    {
      fill_uniform (x, B * image, &rng);
      for (int k = 0; k < B; k++)
        labels[k] = (int32_t) convolve_rng_below (&rng, 10);
      g_assert_true (convolve_model_train_step (model, opt, x, labels, B, NULL, NULL, NULL));
    }
}

static void
test_determinism (void)
{
  g_autoptr(ConvolveModel) a = new_model (tutorial_text, 3, 16, 16, 8, 99);
  g_autoptr(ConvolveModel) b = new_model (tutorial_text, 3, 16, 16, 8, 99);
  g_autoptr(ConvolveModel) c = new_model (tutorial_text, 3, 16, 16, 8, 100);
  gsize n, ns;
  float *pa = convolve_model_get_params (a, &n);
  float *sa = convolve_model_get_state (a, &ns);

  run_steps (a, 10);
  run_steps (b, 10);
  run_steps (c, 10);
  g_assert_cmpmem (pa, n * sizeof (float), convolve_model_get_params (b, NULL), n * sizeof (float));
  g_assert_cmpmem (sa, ns * sizeof (float), convolve_model_get_state (b, NULL), ns * sizeof (float));
  g_assert_cmpmem (convolve_model_get_rng (a), sizeof (ConvolveRng),
                   convolve_model_get_rng (b), sizeof (ConvolveRng));
  g_assert_true (memcmp (pa, convolve_model_get_params (c, NULL), n * sizeof (float)) != 0);
}

/* Split over threads (the conv's runs of images, the Dense products, the
 * fused Dense update's blocks of rows, the optimizer's runs of
 * parameters), training stays
 * deterministic at each thread count and agrees with one thread up to
 * the order of the kernel gradients' sums. */
static void
test_determinism_threads (void)
{
  const char *text = "conv2d(16,3,same,relu),batchnorm,conv2d(16,3,same,relu),batchnorm,"
                     "maxpool,flatten,dense(300,relu),dense(10,softmax)";
  int saved = convolve_engine_get_threads ();
  g_autoptr(ConvolveModel) one = new_model (text, 3, 16, 16, 8, 7);
  gsize n, ns;
  float *p1 = convolve_model_get_params (one, &n);
  float *s1 = convolve_model_get_state (one, &ns);

  convolve_engine_set_threads (1);
  run_steps (one, 4);
  for (int threads = 2; threads <= 3; threads++)
    {
      g_autoptr(ConvolveModel) a = new_model (text, 3, 16, 16, 8, 7);
      g_autoptr(ConvolveModel) b = new_model (text, 3, 16, 16, 8, 7);
      float *pa = convolve_model_get_params (a, NULL);
      float *sa = convolve_model_get_state (a, NULL);

      convolve_engine_set_threads (threads);
      run_steps (a, 4);
      run_steps (b, 4);
      g_assert_cmpmem (pa, n * sizeof (float), convolve_model_get_params (b, NULL), n * sizeof (float));
      g_assert_cmpmem (sa, ns * sizeof (float), convolve_model_get_state (b, NULL), ns * sizeof (float));
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat_with_epsilon (pa[i], p1[i], 1e-4f * (1.0f + fabsf (p1[i])));
      for (gsize i = 0; i < ns; i++)
        g_assert_cmpfloat_with_epsilon (sa[i], s1[i], 1e-4f * (1.0f + fabsf (s1[i])));
    }
  convolve_engine_set_threads (saved);
}

/* The fused step of a large Dense layer (its input gradient, kernel
 * gradient and update a block of rows at a time) against the same step
 * unfused: the whole backward pass, then the optimizer over every
 * gradient. A layer with parameters before the Dense one needs its input
 * gradient, so a wrong block there shows in the conv's parameters. */
static void
test_fused_update (void)
{
  enum { B = 8, STEPS = 3 };
  /* 3 x 16 x 16 -> 8 x 16 x 16 = 2048 inputs x 300: above the fused size */
  const char *text = "conv2d(8,3,same,relu),batchnorm,flatten,dense(300,relu),dropout(0.2),"
                     "dense(10,softmax)";
  int saved = convolve_engine_get_threads ();

  for (int threads = 1; threads <= 2; threads++)
    {
      g_autoptr(ConvolveModel) fused = new_model (text, 3, 16, 16, B, 21);
      g_autoptr(ConvolveModel) plain = new_model (text, 3, 16, 16, B, 21);
      g_autoptr(ConvolveOptimizer) opt_fused = NULL, opt_plain = NULL;
      ConvolveOptimizerConfig config;
      gsize n;
      float *pf = convolve_model_get_params (fused, &n);
      float *pp = convolve_model_get_params (plain, NULL);
      g_autofree float *x = g_new (float, B * 3 * 16 * 16);
      int32_t labels[B];
      ConvolveRng rng;

      convolve_engine_set_threads (threads);
      convolve_optimizer_config_init_adam (&config);
      opt_fused = convolve_optimizer_new (&config, n, NULL);
      opt_plain = convolve_optimizer_new (&config, n, NULL);
      convolve_rng_init (&rng, 8);
      for (int s = 0; s < STEPS; s++)
        {
          fill_uniform (x, B * 3 * 16 * 16, &rng);
          for (int k = 0; k < B; k++)
            labels[k] = (int32_t) convolve_rng_below (&rng, 10);
          g_assert_true (convolve_model_train_step (fused, opt_fused, x, labels, B, NULL, NULL, NULL));
          g_assert_true (convolve_model_forward (plain, x, B, TRUE, NULL));
          convolve_model_loss (plain, labels, NULL);
          convolve_model_backward (plain);
          convolve_optimizer_step (opt_plain, pp, convolve_model_get_grads (plain, NULL));
        }
      for (gsize i = 0; i < n; i++)
        if (fabsf (pf[i] - pp[i]) > 1e-5f * (1.0f + fabsf (pp[i])))
          g_error ("%d threads: parameter %" G_GSIZE_FORMAT ": fused %.9g, unfused %.9g",
                   threads, i, (double) pf[i], (double) pp[i]);
      g_assert_cmpint (convolve_optimizer_get_iterations (opt_fused), ==, STEPS);
    }
  convolve_engine_set_threads (saved);
}

/* --- inference, copies, state ------------------------------------------------- */

static void
test_predict_evaluate (void)
{
  enum { B = 5 };
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 8, 8, B, 11);
  float x[B * 3 * 64], probs[B * 10], probs2[B * 10];
  int32_t labels[B] = { 0, 9, 3, 3, 7 }, predictions[B];
  ConvolveRng rng, before;
  double loss_sum = 1.0, want = 1.0;
  int hits = 2, want_hits = 2;
  g_autoptr(GError) error = NULL;

  convolve_rng_init (&rng, 8);
  fill_uniform (x, G_N_ELEMENTS (x), &rng);
  before = *convolve_model_get_rng (model);
  g_assert_true (convolve_model_predict (model, x, B, probs, &error));
  g_assert_no_error (error);
  /* inference draws no dropout mask and is repeatable */
  g_assert_cmpmem (&before, sizeof before, convolve_model_get_rng (model), sizeof before);
  g_assert_true (convolve_model_predict (model, x, B, probs2, NULL));
  g_assert_cmpmem (probs, sizeof probs, probs2, sizeof probs2);

  for (int n = 0; n < B; n++)
    {
      double sum = 0.0;
      int best = 0;

      for (int j = 0; j < 10; j++)
        {
          sum += probs[n * 10 + j];
          if (probs[n * 10 + j] > probs[n * 10 + best])
            best = j;
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
      want -= log (probs[n * 10 + labels[n]]);
      want_hits += best == labels[n];
      predictions[n] = -1;
    }

  /* evaluate adds to the running sums */
  g_assert_true (convolve_model_evaluate (model, x, labels, B, &loss_sum, &hits, predictions, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (loss_sum, want, 1e-4);
  g_assert_cmpint (hits, ==, want_hits);
  for (int n = 0; n < B; n++)
    {
      int best = 0;

      for (int j = 1; j < 10; j++)
        if (probs[n * 10 + j] > probs[n * 10 + best])
          best = j;
      g_assert_cmpint (predictions[n], ==, best);
    }

  /* the logits are those of the last forward pass */
  {
    const float *logits = convolve_model_get_logits (model);
    float p[10], max = logits[0], sum = 0.0f;

    for (int j = 1; j < 10; j++)
      max = MAX (max, logits[j]);
    for (int j = 0; j < 10; j++)
      sum += p[j] = expf (logits[j] - max);
    for (int j = 0; j < 10; j++)
      g_assert_cmpfloat_with_epsilon (p[j] / sum, probs[j], 1e-6);
  }
}

static void
test_batchnorm_state (void)
{
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 8, 8, 4, 12);
  float x[4 * 3 * 64];
  gsize ns;
  float *state = convolve_model_get_state (model, &ns);
  g_autofree float *before = g_memdup2 (state, ns * sizeof (float));
  ConvolveRng rng;

  convolve_rng_init (&rng, 9);
  fill_uniform (x, G_N_ELEMENTS (x), &rng);
  g_assert_true (convolve_model_forward (model, x, 4, FALSE, NULL));
  g_assert_cmpmem (state, ns * sizeof (float), before, ns * sizeof (float));
  g_assert_true (convolve_model_forward (model, x, 4, TRUE, NULL));
  g_assert_true (memcmp (state, before, ns * sizeof (float)) != 0);
}

static void
test_copy (void)
{
  enum { B = 3 };
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 8, 8, 16, 13);
  g_autoptr(ConvolveModel) copy = NULL, fresh = new_model (tutorial_text, 3, 8, 8, 2, 14);
  g_autoptr(ConvolveModel) other = new_model ("flatten,dense(10,softmax)", 3, 8, 8, 2, 1);
  g_autoptr(GError) error = NULL;
  float x[B * 3 * 64], p1[B * 10], p2[B * 10], p3[10];
  ConvolveRng rng;

  run_steps (model, 3);
  copy = convolve_model_copy (model, B, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_model_get_max_batch (copy), ==, B);
  g_assert_cmpmem (convolve_model_get_rng (model), sizeof (ConvolveRng),
                   convolve_model_get_rng (copy), sizeof (ConvolveRng));

  convolve_rng_init (&rng, 10);
  fill_uniform (x, G_N_ELEMENTS (x), &rng);
  g_assert_true (convolve_model_predict (model, x, B, p1, NULL));
  g_assert_true (convolve_model_predict (copy, x, B, p2, NULL));
  g_assert_cmpmem (p1, sizeof p1, p2, sizeof p2);
  /* A copy used only for prediction holds no gradient memory... */
  g_assert_true (convolve_model_has_gradients (model));
  g_assert_false (convolve_model_has_gradients (copy));
  for (int i = 0; i < convolve_model_get_n_tensors (copy); i++)
    g_assert_null (convolve_model_get_tensor (copy, i)->grad);
  /* ...until it trains. */
  g_assert_true (convolve_model_forward (copy, x, B, TRUE, NULL));
  g_assert_true (convolve_model_has_gradients (copy));
  g_assert_nonnull (convolve_model_find_tensor (copy, "conv2d/kernel")->grad);

  g_assert_true (convolve_model_copy_weights (fresh, model, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_model_predict (fresh, x, 1, p3, NULL));
  g_assert_true (convolve_model_predict (model, x, 1, p1, NULL));
  g_assert_cmpmem (p1, sizeof p3, p3, sizeof p3);

  g_assert_false (convolve_model_copy_weights (other, model, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH);
  g_clear_error (&error);

  g_assert_null (convolve_model_copy (model, 0, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
}

/* A view predicts with its owner's weights as they are now, without a copy
 * of them, and refuses to train. */
static void
test_view (void)
{
  enum { B = 5 };
  g_autoptr(ConvolveModel) model = new_model (tutorial_text, 3, 8, 8, 8, 13);
  g_autoptr(ConvolveModel) view = NULL;
  g_autoptr(GError) error = NULL;
  float x[B * 3 * 64], p1[B * 10], p2[B * 10];
  gsize n_model = 0, n_view = 0;
  ConvolveRng rng;

  view = convolve_model_new_view (model, B, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_model_get_max_batch (view), ==, B);
  g_assert_true (convolve_model_get_params (view, &n_view) == convolve_model_get_params (model, &n_model));
  g_assert_cmpuint (n_view, ==, n_model);
  g_assert_true (convolve_model_get_activation_floats (view) == convolve_model_get_activation_floats (model));
  g_assert_cmpuint (convolve_model_get_activation_floats (model), >, 3 * 64);

  convolve_rng_init (&rng, 11);
  fill_uniform (x, G_N_ELEMENTS (x), &rng);
  g_assert_true (convolve_model_predict (model, x, B, p1, NULL));
  g_assert_true (convolve_model_predict (view, x, B, p2, NULL));
  g_assert_cmpmem (p1, sizeof p1, p2, sizeof p2);

  /* After training steps the view sees the new weights (BatchNorm's moving
   * statistics too), with no copy. */
  run_steps (model, 3);
  g_assert_true (convolve_model_predict (model, x, B, p1, NULL));
  g_assert_true (convolve_model_predict (view, x, B, p2, NULL));
  g_assert_cmpmem (p1, sizeof p1, p2, sizeof p2);
  g_assert_false (convolve_model_has_gradients (view));

  if (g_test_undefined ())
    {
      g_autoptr(ConvolveModel) fresh = new_model (tutorial_text, 3, 8, 8, 2, 14);

      g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*borrows_weights*");
      g_assert_false (convolve_model_forward (view, x, B, TRUE, NULL));
      g_test_assert_expected_messages ();
      g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*borrows_weights*");
      g_assert_false (convolve_model_copy_weights (view, fresh, NULL));
      g_test_assert_expected_messages ();
    }
  /* freed before its owner; the owner still predicts */
  g_clear_pointer (&view, convolve_model_free);
  g_assert_true (convolve_model_predict (model, x, 2, p1, NULL));
}

/* Subnormal results and inputs are zero once a thread asked for it (in a
 * subprocess: the mode stays with the thread). */
static void
test_flush_subnormals (void)
{
  volatile float tiny = FLT_MIN, half = 0.5f, subnormal;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }
  subnormal = tiny * half;
  g_assert_cmpfloat (subnormal, >, 0.0f);
  g_assert_cmpfloat (subnormal, <, FLT_MIN);
#if defined(__SSE2__) || defined(__x86_64__) || defined(__aarch64__)
  convolve_engine_flush_subnormals ();
  g_assert_cmpfloat (tiny * half, ==, 0.0f);                /* results flush */
  g_assert_cmpfloat (subnormal * 2.0f, ==, 0.0f);           /* inputs read as zero */
  g_assert_cmpfloat (tiny * 2.0f, ==, 2.0f * FLT_MIN);      /* normal numbers as before */
#else
  g_test_skip ("no flush-to-zero mode known on this processor");
#endif
}

/* --- bad arguments ------------------------------------------------------------ */

static void
test_bad_arguments (void)
{
  enum { B = 2 };
  g_autoptr(ConvolveModel) model = new_model ("conv2d(2,3,same,relu),flatten,dense(3,softmax)",
                                              1, 4, 4, B, 1);
  g_autoptr(ConvolveOptimizer) opt = NULL;
  ConvolveOptimizerConfig config;
  float x[3 * 16] = { 0 }, probs[3 * 3];
  int32_t good[3] = { 0, 2, 1 }, negative[2] = { 0, -1 }, too_big[2] = { 3, 0 };
  gsize n;
  g_autofree float *before = NULL;
  double loss_sum = 0.0;
  int hits = 0;

  convolve_optimizer_config_init_adam (&config);
  opt = convolve_optimizer_new (&config, convolve_model_get_n_trainable (model), NULL);
  convolve_model_get_params (model, &n);
  before = g_memdup2 (convolve_model_get_params (model, NULL), n * sizeof (float));

#define EXPECT_ERROR(call, code) \
  G_STMT_START { \
    g_autoptr(GError) error_ = NULL; \
    GError **error = &error_; \
    g_assert_false (call); \
    g_assert_error (error_, CONVOLVE_ENGINE_ERROR, code); \
    g_assert_cmpstr (error_->message, !=, ""); \
  } G_STMT_END

  EXPECT_ERROR (convolve_model_forward (model, x, B + 1, TRUE, error), CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_forward (model, x, 0, TRUE, error), CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_forward (model, NULL, 1, FALSE, error), CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_predict (model, x, B + 1, probs, error), CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_predict (model, x, 1, NULL, error), CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_evaluate (model, x, good, B + 1, &loss_sum, &hits, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_evaluate (model, x, NULL, B, &loss_sum, &hits, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_evaluate (model, x, negative, B, &loss_sum, &hits, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_evaluate (model, x, too_big, B, &loss_sum, &hits, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_train_step (model, opt, x, too_big, B, NULL, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_train_step (model, opt, x, good, B + 1, NULL, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_train_step (model, opt, NULL, good, B, NULL, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  EXPECT_ERROR (convolve_model_train_step (model, opt, x, NULL, B, NULL, NULL, error),
                CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
#undef EXPECT_ERROR

  /* failed calls change nothing */
  g_assert_cmpfloat (loss_sum, ==, 0.0);
  g_assert_cmpint (hits, ==, 0);
  g_assert_cmpint (convolve_optimizer_get_iterations (opt), ==, 0);
  g_assert_cmpmem (before, n * sizeof (float), convolve_model_get_params (model, NULL), n * sizeof (float));

  /* Programmer errors: a critical warning and a harmless return. */
  {
    g_autoptr(ConvolveModel) unused = new_model ("flatten,dense(2,softmax)", 1, 2, 2, 1, 1);

    g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*batch > 0*");
    g_assert_true (isnan (convolve_model_loss (unused, good, NULL)));
    g_test_assert_expected_messages ();
  }
  g_assert_true (convolve_model_forward (model, x, B, FALSE, NULL));
  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*check_labels*");
  g_assert_true (isnan (convolve_model_loss (model, too_big, NULL)));
  g_test_assert_expected_messages ();
  /* backward after an inference pass, or before the loss */
  g_assert_false (isnan (convolve_model_loss (model, good, NULL)));
  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*training*");
  convolve_model_backward (model);
  g_test_assert_expected_messages ();
  g_assert_true (convolve_model_forward (model, x, B, TRUE, NULL));
  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*have_loss*");
  convolve_model_backward (model);
  g_test_assert_expected_messages ();

  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*model != NULL*");
  g_assert_null (convolve_model_summary (NULL));
  g_test_assert_expected_messages ();
  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*model != NULL*");
  g_assert_false (convolve_model_forward (NULL, x, 1, FALSE, NULL));
  g_test_assert_expected_messages ();
  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*name != NULL*");
  g_assert_null (convolve_model_find_tensor (model, NULL));
  g_test_assert_expected_messages ();
}

static void
test_threads (void)
{
  int saved = convolve_engine_get_threads ();

  convolve_engine_set_threads (1);
  g_assert_cmpint (convolve_engine_get_threads (), ==, 1);
  convolve_engine_set_threads (saved);
  g_assert_cmpint (convolve_engine_get_threads (), ==, saved);
  g_test_expect_message (LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*n_threads*");
  convolve_engine_set_threads (0);
  g_test_assert_expected_messages ();
}

static void
test_shape_equal (void)
{
  ConvolveShape a = { 3, 32, 32 };
  ConvolveShape same = { 3, 32, 32 };
  ConvolveShape differ[] = { { 1, 32, 32 }, { 3, 28, 32 }, { 3, 32, 28 }, { 3, 32, 31 }, { 0, 0, 0 } };

  g_assert_true (convolve_shape_equal (a, a));
  g_assert_true (convolve_shape_equal (a, same));
  for (guint i = 0; i < G_N_ELEMENTS (differ); i++)
    {
      g_assert_false (convolve_shape_equal (a, differ[i]));
      g_assert_false (convolve_shape_equal (differ[i], a));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/spec/round-trip", test_spec_round_trip);
  g_test_add_func ("/engine/spec/defaults-and-aliases", test_spec_defaults_and_aliases);
  g_test_add_func ("/engine/spec/errors", test_spec_errors);
  g_test_add_func ("/engine/spec/globalavgpool", test_spec_globalavgpool);
  g_test_add_func ("/engine/model/shape-errors", test_shape_errors);
  g_test_add_func ("/engine/model/bad-construction", test_bad_construction);
  g_test_add_func ("/engine/model/layer-info", test_layer_info);
  g_test_add_func ("/engine/model/tensors", test_tensors);
  g_test_add_func ("/engine/model/keras-init", test_keras_init);
  g_test_add_func ("/engine/model/summary", test_summary);
  g_test_add_func ("/engine/model/summary-fashion", test_summary_fashion);
  g_test_add_func ("/engine/model/summary-globalavgpool", test_summary_globalavgpool);
  g_test_add_func ("/engine/model/gradient", test_model_gradient);
  g_test_add_func ("/engine/model/overfit", test_overfit);
  g_test_add_func ("/engine/model/determinism", test_determinism);
  g_test_add_func ("/engine/model/determinism-threads", test_determinism_threads);
  g_test_add_func ("/engine/model/fused-update", test_fused_update);
  g_test_add_func ("/engine/model/predict-evaluate", test_predict_evaluate);
  g_test_add_func ("/engine/model/batchnorm-state", test_batchnorm_state);
  g_test_add_func ("/engine/model/copy", test_copy);
  g_test_add_func ("/engine/model/view", test_view);
  g_test_add_func ("/engine/model/flush-subnormals", test_flush_subnormals);
  g_test_add_func ("/engine/model/shape-equal", test_shape_equal);
  g_test_add_func ("/engine/model/bad-arguments", test_bad_arguments);
  g_test_add_func ("/engine/model/threads", test_threads);

  return g_test_run ();
}
