/* convolve-model-spec.c: the model spec, its text form and the tutorial's
 * default (see convolve-model-preset.c).
 *
 * Text form: comma-separated layers, arguments in parentheses:
 *   conv2d(FILTERS,KERNEL[,same|valid][,relu|linear])   (Keras defaults: valid, linear)
 *   batchnorm[(MOMENTUM)] (0 < MOMENTUM < 1, default 0.99, Keras's)
 *   maxpool[(POOL)] (default 2) | flatten | relu
 *   globalavgpool (mean over height x width per channel; a flat output)
 *   dense(UNITS[,relu|linear|softmax])                  (default linear)
 *   dropout(RATE)                                        (0 <= RATE < 1)
 * Spaces are ignored. Keras layer names are accepted as aliases
 * (batch_normalization, max_pooling2d, global_average_pooling2d).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <string.h>

#include "convolve-limits.h"
#include "convolve-model.h"
#include "convolve-model-preset.h"

/* The tutorial's layers are the "tutorial" preset's text. */
ConvolveModelSpec *
convolve_model_spec_new_tutorial (int n_classes)
{
  g_return_val_if_fail (n_classes >= 2, NULL);

  return convolve_model_preset_new_spec (convolve_model_preset_find ("tutorial"), n_classes);
}

ConvolveModelSpec *
convolve_model_spec_copy (const ConvolveModelSpec *spec)
{
  ConvolveModelSpec *copy;

  g_return_val_if_fail (spec != NULL, NULL);

  copy = g_new0 (ConvolveModelSpec, 1);
  copy->n_layers = spec->n_layers;
  copy->layers = g_memdup2 (spec->layers, sizeof (ConvolveLayerSpec) * (gsize) spec->n_layers);
  return copy;
}

void
convolve_model_spec_free (ConvolveModelSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->layers);
  g_free (spec);
}

static const char *
activation_name (ConvolveActivation activation)
{
  switch (activation)
    {
    case CONVOLVE_ACTIVATION_RELU:
      return "relu";
    case CONVOLVE_ACTIVATION_SOFTMAX:
      return "softmax";
    case CONVOLVE_ACTIVATION_LINEAR:
    default:
      return "linear";
    }
}

/* The shortest of "%g" and "%.9g" that reads back as the same float: six
 * digits turn a momentum of 0.99999995 into "1", which the parser refuses
 * (found by fuzz-model-spec). */
static void
format_float (char  *buffer,
              gsize  size,
              float  value)
{
  g_ascii_formatd (buffer, size, "%g", value);
  if ((float) g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, size, "%.9g", value);
}

char *
convolve_model_spec_to_string (const ConvolveModelSpec *spec)
{
  GString *text;

  g_return_val_if_fail (spec != NULL, NULL);

  text = g_string_new (NULL);
  for (int i = 0; i < spec->n_layers; i++)
    {
      const ConvolveLayerSpec *l = &spec->layers[i];
      char rate[G_ASCII_DTOSTR_BUF_SIZE];

      if (i > 0)
        g_string_append_c (text, ',');
      switch (l->kind)
        {
        case CONVOLVE_LAYER_CONV2D:
          g_string_append_printf (text, "conv2d(%d,%d,%s,%s)", l->units, l->kernel_size,
                                  l->padding == CONVOLVE_PADDING_SAME ? "same" : "valid",
                                  activation_name (l->activation));
          break;
        case CONVOLVE_LAYER_BATCH_NORM:
          if (l->momentum > 0.0f)
            {
              format_float (rate, sizeof rate, l->momentum);
              g_string_append_printf (text, "batchnorm(%s)", rate);
            }
          else
            g_string_append (text, "batchnorm");
          break;
        case CONVOLVE_LAYER_MAX_POOL:
          g_string_append_printf (text, "maxpool(%d)", l->kernel_size);
          break;
        case CONVOLVE_LAYER_FLATTEN:
          g_string_append (text, "flatten");
          break;
        case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
          g_string_append (text, "globalavgpool");
          break;
        case CONVOLVE_LAYER_DENSE:
          g_string_append_printf (text, "dense(%d,%s)", l->units, activation_name (l->activation));
          break;
        case CONVOLVE_LAYER_DROPOUT:
          format_float (rate, sizeof rate, l->rate);
          g_string_append_printf (text, "dropout(%s)", rate);
          break;
        case CONVOLVE_LAYER_RELU:
        default:
          g_string_append (text, "relu");
          break;
        }
    }
  return g_string_free (text, FALSE);
}

/* --- parsing ------------------------------------------------------------ */

/* Text from the user, quoted in a message: valid UTF-8, and not a page
 * long however long the spec was. */
static char *
excerpt (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  const glong max_chars = 60;

  g_autofree char *start = NULL;

  if (g_utf8_strlen (valid, -1) <= max_chars)
    return g_steal_pointer (&valid);
  start = g_utf8_substring (valid, 0, max_chars - 1);
  return g_strconcat (start, "…", NULL);
}

static gboolean
parse_int (const char *text, int min, int max, int *value)
{
  gint64 v;

  if (!g_ascii_string_to_signed (text, 10, min, max, &v, NULL))
    return FALSE;
  *value = (int) v;
  return TRUE;
}

static gboolean
parse_activation (const char *text, gboolean allow_softmax, ConvolveActivation *activation)
{
  if (strcmp (text, "relu") == 0)
    *activation = CONVOLVE_ACTIVATION_RELU;
  else if (strcmp (text, "linear") == 0)
    *activation = CONVOLVE_ACTIVATION_LINEAR;
  else if (allow_softmax && strcmp (text, "softmax") == 0)
    *activation = CONVOLVE_ACTIVATION_SOFTMAX;
  else
    return FALSE;
  return TRUE;
}

/* Parses one item, e.g. "dense(10,softmax)", already stripped of spaces. */
static gboolean
parse_layer (const char *item, int position, ConvolveLayerSpec *layer, GError **error)
{
  g_autofree char *name = NULL;
  g_autofree char *shown = excerpt (item);
  g_autofree char *shown_arg = NULL;
  g_auto(GStrv) args = NULL;
  const char *open = strchr (item, '(');
  int n_args = 0;

  memset (layer, 0, sizeof *layer);

  if (open != NULL)
    {
      size_t len = strlen (item);

      if (len < 2 || item[len - 1] != ')' || strchr (open + 1, '(') != NULL
          || strchr (open + 1, ')') != item + len - 1)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): unbalanced parentheses"), position, shown);
          return FALSE;
        }
      name = g_strndup (item, (gsize) (open - item));
      {
        g_autofree char *inner = g_strndup (open + 1, len - (gsize) (open - item) - 2);

        args = g_strsplit (inner, ",", -1);
      }
      n_args = (int) g_strv_length (args);
      for (int i = 0; i < n_args; i++)
        if (args[i][0] == '\0')
          {
            g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                         _("Layer %d (“%s”): empty argument"), position, shown);
            return FALSE;
          }
    }
  else
    name = g_strdup (item);

  if (strcmp (name, "conv2d") == 0)
    {
      layer->kind = CONVOLVE_LAYER_CONV2D;
      layer->padding = CONVOLVE_PADDING_VALID;
      layer->activation = CONVOLVE_ACTIVATION_LINEAR;
      if (n_args < 2 || n_args > 4)
        goto bad_args;
      if (!parse_int (args[0], 1, CONVOLVE_LIMIT_SPEC_UNITS, &layer->units))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): the number of filters must be a whole number from 1 to %d"),
                       position, shown, CONVOLVE_LIMIT_SPEC_UNITS);
          return FALSE;
        }
      if (!parse_int (args[1], 1, CONVOLVE_LIMIT_SPEC_KERNEL, &layer->kernel_size))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): the kernel size must be a whole number from 1 to %d"),
                       position, shown, CONVOLVE_LIMIT_SPEC_KERNEL);
          return FALSE;
        }
      for (int i = 2; i < n_args; i++)
        {
          if (strcmp (args[i], "same") == 0)
            layer->padding = CONVOLVE_PADDING_SAME;
          else if (strcmp (args[i], "valid") == 0)
            layer->padding = CONVOLVE_PADDING_VALID;
          else if (!parse_activation (args[i], FALSE, &layer->activation))
            {
              shown_arg = excerpt (args[i]);
              g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                           _("Layer %d (“%s”): “%s” is neither a padding (same, valid) nor an activation (relu, linear)"),
                           position, shown, shown_arg);
              return FALSE;
            }
        }
    }
  else if (strcmp (name, "batchnorm") == 0 || strcmp (name, "batch_normalization") == 0)
    {
      char *end = NULL;
      double momentum;

      layer->kind = CONVOLVE_LAYER_BATCH_NORM;
      if (n_args > 1)
        goto bad_args;
      if (n_args == 1)
        {
          momentum = g_ascii_strtod (args[0], &end);
          if (end == args[0] || *end != '\0' || !(momentum > 0.0 && momentum < 1.0) ||
              !((float) momentum > 0.0f && (float) momentum < 1.0f))
            {
              g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                           _("Layer %d (“%s”): the momentum must be a number above 0 and below 1"),
                           position, shown);
              return FALSE;
            }
          layer->momentum = (float) momentum;
        }
    }
  else if (strcmp (name, "maxpool") == 0 || strcmp (name, "max_pooling2d") == 0)
    {
      layer->kind = CONVOLVE_LAYER_MAX_POOL;
      layer->kernel_size = 2;
      if (n_args > 1)
        goto bad_args;
      if (n_args == 1 && !parse_int (args[0], 1, CONVOLVE_LIMIT_SPEC_KERNEL, &layer->kernel_size))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): the pool size must be a whole number from 1 to %d"),
                       position, shown, CONVOLVE_LIMIT_SPEC_KERNEL);
          return FALSE;
        }
    }
  else if (strcmp (name, "flatten") == 0)
    {
      layer->kind = CONVOLVE_LAYER_FLATTEN;
      if (n_args != 0)
        goto bad_args;
    }
  else if (strcmp (name, "globalavgpool") == 0 || strcmp (name, "global_average_pooling2d") == 0)
    {
      layer->kind = CONVOLVE_LAYER_GLOBAL_AVG_POOL;
      if (n_args != 0)
        goto bad_args;
    }
  else if (strcmp (name, "relu") == 0)
    {
      layer->kind = CONVOLVE_LAYER_RELU;
      if (n_args != 0)
        goto bad_args;
    }
  else if (strcmp (name, "dense") == 0)
    {
      layer->kind = CONVOLVE_LAYER_DENSE;
      layer->activation = CONVOLVE_ACTIVATION_LINEAR;
      if (n_args < 1 || n_args > 2)
        goto bad_args;
      if (!parse_int (args[0], 1, CONVOLVE_LIMIT_SPEC_UNITS, &layer->units))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): the number of units must be a whole number from 1 to %d"),
                       position, shown, CONVOLVE_LIMIT_SPEC_UNITS);
          return FALSE;
        }
      if (n_args == 2 && !parse_activation (args[1], TRUE, &layer->activation))
        {
          shown_arg = excerpt (args[1]);
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): unknown activation “%s” (expected relu, linear or softmax)"),
                       position, shown, shown_arg);
          return FALSE;
        }
    }
  else if (strcmp (name, "dropout") == 0)
    {
      char *end = NULL;
      double rate;

      layer->kind = CONVOLVE_LAYER_DROPOUT;
      if (n_args != 1)
        goto bad_args;
      rate = g_ascii_strtod (args[0], &end);
      if (end == args[0] || *end != '\0' || !(rate >= 0.0 && rate < 1.0))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %d (“%s”): the dropout rate must be a number from 0 up to (not including) 1"),
                       position, shown);
          return FALSE;
        }
      layer->rate = (float) rate;
    }
  else
    {
      g_autofree char *shown_name = excerpt (name);

      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("Layer %d: unknown layer “%s” (expected conv2d, batchnorm, maxpool, globalavgpool, flatten, dense, dropout or relu)"),
                   position, shown_name);
      return FALSE;
    }
  return TRUE;

bad_args:
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
               _("Layer %d (“%s”): wrong number of arguments"), position, shown);
  return FALSE;
}

ConvolveModelSpec *
convolve_model_spec_parse (const char *text, GError **error)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(GPtrArray) items = NULL;
  GString *compact;
  int depth = 0;
  gsize start = 0;
  char *stripped;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (text == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model spec is empty"));
      return NULL;
    }

  /* Drop whitespace, lower-case, then split on the commas between layers. */
  compact = g_string_new (NULL);
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      g_string_append_c (compact, g_ascii_tolower (*p));
  stripped = g_string_free (compact, FALSE);

  items = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0;; i++)
    {
      char ch = stripped[i];

      if (ch == '(')
        depth++;
      else if (ch == ')')
        depth--;
      if (depth < 0 || depth > 1)
        {
          g_autofree char *shown = excerpt (text);

          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("The model spec “%s” has unbalanced parentheses"), shown);
          g_free (stripped);
          return NULL;
        }
      if ((ch == ',' && depth == 0) || ch == '\0')
        {
          g_ptr_array_add (items, g_strndup (stripped + start, i - start));
          start = i + 1;
        }
      if (ch == '\0')
        break;
    }
  g_free (stripped);

  if (depth != 0)
    {
      g_autofree char *shown = excerpt (text);

      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model spec “%s” has unbalanced parentheses"), shown);
      return NULL;
    }
  if (items->len == 1 && ((char *) items->pdata[0])[0] == '\0')
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model spec is empty"));
      return NULL;
    }
  if (items->len > CONVOLVE_LIMIT_SPEC_LAYERS)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model spec has %u layers; at most %d are allowed"),
                   items->len, CONVOLVE_LIMIT_SPEC_LAYERS);
      return NULL;
    }

  spec = g_new0 (ConvolveModelSpec, 1);
  spec->n_layers = (int) items->len;
  spec->layers = g_new0 (ConvolveLayerSpec, items->len);
  for (guint i = 0; i < items->len; i++)
    {
      const char *item = items->pdata[i];

      if (item[0] == '\0')
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("Layer %u of the model spec is empty"), i + 1);
          return NULL;
        }
      if (!parse_layer (item, (int) i + 1, &spec->layers[i], error))
        return NULL;
    }
  return g_steal_pointer (&spec);
}
