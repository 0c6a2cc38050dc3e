/* model-file-writer.c: writes a small trained checkpoint and a sidecar
 * describing it, for read-safetensors.py to check with a reader that
 * shares nothing with the engine.
 *
 * usage: model-file-writer FILE.safetensors
 * writes FILE.safetensors and FILE.safetensors.expected, one line per
 * tensor: name, shape (comma-separated), the sum of its values in double
 * precision (%.17g), then metadata lines "meta KEY VALUE".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>

#include "convolve-engine.h"

static gboolean
write_checkpoint (const char *path, GError **error)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(ConvolveModelMeta) meta = convolve_model_meta_new ();
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autofree char *expected_path = g_strconcat (path, ".expected", NULL);
  g_autofree char *spec_text = NULL;
  ConvolveShape input = { 1, 6, 6 };
  ConvolveOptimizerConfig config;
  ConvolveRng data_rng;
  float x[2 * 36];
  int32_t labels[2];
  gsize n_params;
  float *params;
  const char *class_names[] = { "zero", "one", "two", NULL };

  spec = convolve_model_spec_parse ("conv2d(2,3,same,relu),batchnorm,maxpool(2),flatten,dense(3,softmax)", error);
  if (spec == NULL)
    return FALSE;
  model = convolve_model_new (spec, &input, 2, 99, error);
  if (model == NULL)
    return FALSE;
  convolve_optimizer_config_init_adam (&config);
  params = convolve_model_get_params (model, &n_params);
  optimizer = convolve_optimizer_new (&config, n_params, error);
  if (optimizer == NULL)
    return FALSE;

  convolve_rng_init (&data_rng, 5);
  for (int step = 0; step < 3; step++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (x); i++)
        x[i] = convolve_rng_uniform (&data_rng);
      for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
        labels[i] = (int32_t) convolve_rng_below (&data_rng, 3);
      float loss;

      if (!convolve_model_train_step (model, optimizer, x, labels, 2, &loss, NULL, error))
        return FALSE;
    }

  meta->class_names = g_strdupv ((char **) class_names);
  meta->dataset = g_strdup ("synthetic");
  meta->epoch = 1;
  meta->step = 3;
  if (!convolve_model_save (model, meta, optimizer, path, error))
    return FALSE;

  for (int i = 0; i < convolve_model_get_n_tensors (model); i++)
    {
      const ConvolveTensorInfo *info = convolve_model_get_tensor (model, i);
      const float *sources[3] = { info->data, NULL, NULL };
      const char *prefixes[3] = { "", "optimizer/m/", "optimizer/v/" };

      if (info->trainable)
        for (int s = 0; s < 2; s++)
          sources[s + 1] = convolve_optimizer_get_slot (optimizer, s) + (info->data - params);
      for (int k = 0; k < 3; k++)
        {
          double sum = 0.0;
          char number[G_ASCII_DTOSTR_BUF_SIZE];

          if (sources[k] == NULL)
            continue;
          for (gsize j = 0; j < info->size; j++)
            sum += sources[k][j];
          g_string_append_printf (expected, "%s%s ", prefixes[k], info->name);
          for (int d = 0; d < info->rank; d++)
            g_string_append_printf (expected, "%s%d", d ? "," : "", info->shape[d]);
          g_string_append_printf (expected, " %s\n", g_ascii_formatd (number, sizeof number, "%.17g", sum));
        }
    }
  spec_text = convolve_model_spec_to_string (spec);
  g_string_append_printf (expected, "meta format convolve-model\nmeta spec %s\nmeta dataset synthetic\n"
                          "meta optimizer adam\nmeta optimizer.iterations 3\n", spec_text);
  return g_file_set_contents (expected_path, expected->str, (gssize) expected->len, error);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s FILE.safetensors\n", argv[0]);
      return 2;
    }
  if (!write_checkpoint (argv[1], &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}
