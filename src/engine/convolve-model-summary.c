/* convolve-model-summary.c: the model as Keras's model.summary() prints
 * it: layer, output shape, parameters, then the totals.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <string.h>

#include "convolve-model-private.h"

/* 8400906 -> "8,400,906" */
static char *
format_count (gsize n)
{
  char digits[32];
  GString *out = g_string_new (NULL);
  int len;

  len = g_snprintf (digits, sizeof digits, "%zu", n);
  for (int i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

/* Keras prints shapes channels-last: (None, H, W, C). */
static char *
format_shape (const ConvolveLayerInfo *info)
{
  if (info->rank == 3)
    return g_strdup_printf ("(None, %d, %d, %d)", info->shape[1], info->shape[2], info->shape[0]);
  return g_strdup_printf ("(None, %d)", info->shape[0]);
}

static void
append_padded (GString *out, const char *text, int width)
{
  int len = (int) g_utf8_strlen (text, -1);

  g_string_append (out, text);
  for (int i = len; i < width; i++)
    g_string_append_c (out, ' ');
}

static void
append_rule (GString *out, char ch, int width)
{
  for (int i = 0; i < width; i++)
    g_string_append_c (out, ch);
  g_string_append_c (out, '\n');
}

char *
convolve_model_spec_summarize (const ConvolveModelSpec *spec,
                               const ConvolveShape     *input,
                               int                     *bad_layer,
                               GError                 **error)
{
  g_autoptr(ConvolveModel) plan = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A plan holds no weights: cheap enough to redo on every edit. */
  plan = _convolve_model_plan_full (spec, input, bad_layer, error);
  if (plan == NULL)
    return NULL;
  if (bad_layer != NULL)
    *bad_layer = -1;
  return convolve_model_summary (plan);
}

char *
convolve_model_summary (const ConvolveModel *model)
{
  GString *out;
  int name_w, shape_w, param_w;
  int width;
  g_autofree char *total = NULL, *trainable = NULL, *non_trainable = NULL;
  const char *header_layer = _("Layer (type)");
  const char *header_shape = _("Output Shape");
  const char *header_params = _("Param #");

  g_return_val_if_fail (model != NULL, NULL);

  name_w = (int) g_utf8_strlen (header_layer, -1);
  shape_w = (int) g_utf8_strlen (header_shape, -1);
  param_w = (int) g_utf8_strlen (header_params, -1);
  for (int i = 0; i < model->n_layers; i++)
    {
      const ConvolveLayerInfo *info = &model->layers[i].info;
      g_autofree char *shape = format_shape (info);
      g_autofree char *count = format_count (info->n_trainable + info->n_non_trainable);
      int len = (int) (strlen (info->name) + strlen (info->type_name) + 3);

      name_w = MAX (name_w, len);
      shape_w = MAX (shape_w, (int) strlen (shape));
      param_w = MAX (param_w, (int) strlen (count));
    }
  name_w += 3;
  shape_w += 3;
  width = 1 + name_w + shape_w + param_w + 1;

  out = g_string_new ("Model: \"sequential\"\n");
  append_rule (out, '_', width);
  g_string_append_c (out, ' ');
  append_padded (out, header_layer, name_w);
  append_padded (out, header_shape, shape_w);
  append_padded (out, header_params, param_w + 1);
  g_string_append_c (out, '\n');
  append_rule (out, '=', width);
  for (int i = 0; i < model->n_layers; i++)
    {
      const ConvolveLayerInfo *info = &model->layers[i].info;
      g_autofree char *label = g_strdup_printf ("%s (%s)", info->name, info->type_name);
      g_autofree char *shape = format_shape (info);
      g_autofree char *count = format_count (info->n_trainable + info->n_non_trainable);

      g_string_append_c (out, ' ');
      append_padded (out, label, name_w);
      append_padded (out, shape, shape_w);
      g_string_append (out, count);
      g_string_append_c (out, '\n');
      if (i + 1 < model->n_layers)
        g_string_append_c (out, '\n');
    }
  append_rule (out, '=', width);

  total = format_count (model->n_params + model->n_state);
  trainable = format_count (model->n_params);
  non_trainable = format_count (model->n_state);
  g_string_append_printf (out, _("Total params: %s"), total);
  g_string_append_c (out, '\n');
  g_string_append_printf (out, _("Trainable params: %s"), trainable);
  g_string_append_c (out, '\n');
  g_string_append_printf (out, _("Non-trainable params: %s"), non_trainable);
  g_string_append_c (out, '\n');
  append_rule (out, '_', width);
  return g_string_free (out, FALSE);
}

