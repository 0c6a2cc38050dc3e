/* convolve-model-file-save.c: writing models and checkpoints as
 * safetensors files (the layout and the metadata keys are described in
 * convolve-model-file.c, which reads them).
 *
 * The same model always gives the same bytes: metadata in a fixed order,
 * extra keys sorted, floats with nine significant digits. The file is
 * written to a temporary name beside the target, synced, then renamed, so
 * a failed save leaves any previous file as it was (convolve-atomic-file.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-model-file.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "convolve-atomic-file.h"
#include "convolve-json.h"
#include "convolve-model-file-private.h"

#define IO_CHUNK_FLOATS    (1 << 16)

static char *
format_float (float value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  /* Nine significant digits bring every float back exactly. */
  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.9g", value));
}

static const char *
optimizer_kind_name (ConvolveOptimizerKind kind)
{
  switch (kind)
    {
    case CONVOLVE_OPTIMIZER_ADAM:
      return "adam";
    case CONVOLVE_OPTIMIZER_SGD:
      return "sgd";
    default:
      return NULL;
    }
}

typedef struct {
  char        *name;
  int          rank;
  gint64       shape[4];
  const float *data;
  gsize        size;
} SaveTensor;

static void
save_tensor_clear (gpointer data)
{
  SaveTensor *tensor = data;

  g_free (tensor->name);
}

/* A tensor of the model's shape, under name (taken), holding data. */
static void
add_save_tensor (GArray *tensors, const ConvolveTensorInfo *info, char *name, const float *data)
{
  SaveTensor tensor = { 0 };

  tensor.name = name;
  tensor.rank = info->rank;
  for (int d = 0; d < info->rank; d++)
    tensor.shape[d] = info->shape[d];
  tensor.data = data;
  tensor.size = info->size;
  g_array_append_val (tensors, tensor);
}

static void
add_metadata (GPtrArray *pairs, const char *key, char *value)
{
  g_ptr_array_add (pairs, g_strdup (key));
  g_ptr_array_add (pairs, value);
}

static gboolean
check_utf8 (const char *text, const char *what, GError **error)
{
  if (g_utf8_validate (text, -1, NULL))
    return TRUE;
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
               _("The model cannot be saved: its %s is not valid UTF-8 text"), what);
  return FALSE;
}

static int
compare_string_pointers (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static GPtrArray *
build_metadata (ConvolveModel           *model,
                const ConvolveModelMeta *meta,
                ConvolveOptimizer       *optimizer,
                GError                 **error)
{
  g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func (g_free);
  ConvolveShape input = convolve_model_get_input (model);

  if (!isfinite (meta->input_scale) || !isfinite (meta->input_offset))
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model cannot be saved: its input scale or offset is not a finite number"));
      return NULL;
    }
  if (meta->epoch < 0 || meta->step < 0)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model cannot be saved: its epoch or step count is negative"));
      return NULL;
    }

  add_metadata (pairs, "format", g_strdup (FORMAT_NAME));
  add_metadata (pairs, "format_version", g_strdup (FORMAT_VERSION));
  add_metadata (pairs, "generator", g_strdup ("Convolve " PACKAGE_VERSION));
  add_metadata (pairs, "spec", convolve_model_spec_to_string (convolve_model_get_spec (model)));
  add_metadata (pairs, "input_shape", g_strdup_printf ("[%d,%d,%d]", input.c, input.h, input.w));

  if (meta->class_names != NULL)
    {
      g_autoptr(GString) names = g_string_new ("[");

      for (int i = 0; meta->class_names[i] != NULL; i++)
        {
          if (!check_utf8 (meta->class_names[i], _("class name"), error))
            return NULL;
          if (i > 0)
            g_string_append_c (names, ',');
          convolve_json_append_string (names, meta->class_names[i]);
        }
      g_string_append_c (names, ']');
      add_metadata (pairs, "class_names", g_string_free (g_steal_pointer (&names), FALSE));
    }
  if (meta->dataset != NULL)
    {
      if (!check_utf8 (meta->dataset, _("dataset name"), error))
        return NULL;
      add_metadata (pairs, "dataset", g_strdup (meta->dataset));
    }

  add_metadata (pairs, "input_scale", format_float (meta->input_scale));
  add_metadata (pairs, "input_offset", format_float (meta->input_offset));
  add_metadata (pairs, "epoch", g_strdup_printf ("%" PRId64, meta->epoch));
  add_metadata (pairs, "step", g_strdup_printf ("%" PRId64, meta->step));
  add_metadata (pairs, "rng", convolve_rng_to_string (convolve_model_get_rng (model)));

  if (optimizer != NULL)
    {
      const ConvolveOptimizerConfig *config = convolve_optimizer_get_config (optimizer);
      const char *kind = optimizer_kind_name (config->kind);

      if (kind == NULL)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("The checkpoint cannot be saved: its optimizer is of an unknown kind"));
          return NULL;
        }
      add_metadata (pairs, "optimizer", g_strdup (kind));
      add_metadata (pairs, "optimizer.learning_rate", format_float (config->learning_rate));
      add_metadata (pairs, "optimizer.beta_1", format_float (config->beta_1));
      add_metadata (pairs, "optimizer.beta_2", format_float (config->beta_2));
      add_metadata (pairs, "optimizer.epsilon", format_float (config->epsilon));
      add_metadata (pairs, "optimizer.momentum", format_float (config->momentum));
      add_metadata (pairs, "optimizer.nesterov", g_strdup (config->nesterov ? "true" : "false"));
      add_metadata (pairs, "optimizer.iterations",
                    g_strdup_printf ("%" PRId64, convolve_optimizer_get_iterations (optimizer)));
    }

  if (meta->extra != NULL)
    {
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (meta->extra, NULL);
      guint n_keys = g_hash_table_size (meta->extra);

      /* Sorted, so the same model always gives the same bytes. */
      qsort (keys, n_keys, sizeof (gpointer), compare_string_pointers);
      for (guint i = 0; i < n_keys; i++)
        {
          const char *key = keys[i];
          const char *value = g_hash_table_lookup (meta->extra, key);
          g_autofree char *full_key = NULL;

          if (value == NULL)
            continue;
          if (!check_utf8 (key, _("extra metadata"), error) ||
              !check_utf8 (value, _("extra metadata"), error))
            return NULL;
          full_key = g_strconcat (EXTRA_PREFIX, key, NULL);
          add_metadata (pairs, full_key, g_strdup (value));
        }
    }

  return g_steal_pointer (&pairs);
}

static GArray *
collect_save_tensors (ConvolveModel     *model,
                      ConvolveOptimizer *optimizer,
                      GError           **error)
{
  g_autoptr(GArray) tensors = g_array_new (FALSE, TRUE, sizeof (SaveTensor));
  int n_tensors = convolve_model_get_n_tensors (model);
  gsize n_params = 0;
  float *params = convolve_model_get_params (model, &n_params);

  g_array_set_clear_func (tensors, save_tensor_clear);

  for (int i = 0; i < n_tensors; i++)
    {
      const ConvolveTensorInfo *info = convolve_model_get_tensor (model, i);

      add_save_tensor (tensors, info, g_strdup (info->name), info->data);
    }

  if (optimizer != NULL)
    {
      int n_slots = convolve_optimizer_get_n_slots (optimizer);

      if (convolve_optimizer_get_n_params (optimizer) != n_params)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("The checkpoint cannot be saved: the optimizer holds %zu"
                         " parameters but the model has %zu"),
                       convolve_optimizer_get_n_params (optimizer), n_params);
          return NULL;
        }

      for (int s = 0; s < n_slots; s++)
        {
          const float *slot = convolve_optimizer_get_slot (optimizer, s);
          const char *slot_name = convolve_optimizer_get_slot_name (optimizer, s);

          for (int i = 0; i < n_tensors; i++)
            {
              const ConvolveTensorInfo *info = convolve_model_get_tensor (model, i);
              gsize offset;

              if (!info->trainable)
                continue;
              /* Slots share the parameter block's layout. */
              offset = (gsize) (info->data - params);
              g_return_val_if_fail (info->data >= params && offset + info->size <= n_params, NULL);

              add_save_tensor (tensors, info,
                               _convolve_model_file_slot_tensor_name (slot_name, info->name),
                               slot + offset);
            }
        }
    }

  return g_steal_pointer (&tensors);
}

static char *
build_header (GPtrArray *metadata, GArray *tensors, gsize *header_length)
{
  GString *header = g_string_new ("{");
  guint64 offset = 0;

  convolve_json_append_string (header, METADATA_KEY);
  g_string_append (header, ":{");
  for (guint i = 0; i < metadata->len; i += 2)
    {
      if (i > 0)
        g_string_append_c (header, ',');
      convolve_json_append_string (header, g_ptr_array_index (metadata, i));
      g_string_append_c (header, ':');
      convolve_json_append_string (header, g_ptr_array_index (metadata, i + 1));
    }
  g_string_append_c (header, '}');

  for (guint i = 0; i < tensors->len; i++)
    {
      const SaveTensor *tensor = &g_array_index (tensors, SaveTensor, i);
      guint64 bytes = (guint64) tensor->size * sizeof (float);

      g_string_append_c (header, ',');
      convolve_json_append_string (header, tensor->name);
      g_string_append (header, ":{\"dtype\":\"F32\",\"shape\":[");
      for (int d = 0; d < tensor->rank; d++)
        g_string_append_printf (header, "%s%" PRId64, d > 0 ? "," : "", tensor->shape[d]);
      g_string_append_printf (header, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}",
                              offset, offset + bytes);
      offset += bytes;
    }
  g_string_append_c (header, '}');

  /* Pad with spaces so the tensor data starts 8-byte aligned. */
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');

  *header_length = header->len;
  return g_string_free (header, FALSE);
}

static gboolean
write_tensor (ConvolveAtomicFile *file, const SaveTensor *tensor, GError **error)
{
  const char *display_name = convolve_atomic_file_get_display_name (file);

  if (!_convolve_model_file_all_finite (tensor->data, tensor->size))
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The model was not saved to “%s”: tensor “%s” holds values that are not "
                     "finite numbers (did training diverge?)"),
                   display_name, tensor->name);
      return FALSE;
    }

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return convolve_atomic_file_write (file, tensor->data, tensor->size * sizeof (float), error);
#else
  {
    g_autofree guint32 *buffer = g_new (guint32, MIN (tensor->size, IO_CHUNK_FLOATS));

    for (gsize start = 0; start < tensor->size; start += IO_CHUNK_FLOATS)
      {
        gsize n = MIN (tensor->size - start, IO_CHUNK_FLOATS);

        memcpy (buffer, tensor->data + start, n * sizeof (float));
        for (gsize i = 0; i < n; i++)
          buffer[i] = GUINT32_TO_LE (buffer[i]);
        if (!convolve_atomic_file_write (file, buffer, n * sizeof (float), error))
          return FALSE;
      }
    return TRUE;
  }
#endif
}

gboolean
convolve_model_save (ConvolveModel           *model,
                     const ConvolveModelMeta *meta,
                     ConvolveOptimizer       *optimizer,
                     const char              *path,
                     GError                 **error)
{
  g_autoptr(ConvolveModelMeta) default_meta = NULL;
  g_autoptr(GPtrArray) metadata = NULL;
  g_autoptr(GArray) tensors = NULL;
  g_autoptr(ConvolveAtomicFile) file = NULL;
  g_autofree char *header = NULL;
  gsize header_length = 0;
  guint64 length_le;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (meta == NULL)
    meta = default_meta = convolve_model_meta_new ();

  metadata = build_metadata (model, meta, optimizer, error);
  if (metadata == NULL)
    return FALSE;
  tensors = collect_save_tensors (model, optimizer, error);
  if (tensors == NULL)
    return FALSE;
  header = build_header (metadata, tensors, &header_length);

  file = convolve_atomic_file_new (path, error);
  if (file == NULL)
    return FALSE;

  length_le = GUINT64_TO_LE ((guint64) header_length);
  if (!convolve_atomic_file_write (file, &length_le, sizeof length_le, error) ||
      !convolve_atomic_file_write (file, header, header_length, error))
    return FALSE;
  for (guint i = 0; i < tensors->len; i++)
    if (!write_tensor (file, &g_array_index (tensors, SaveTensor, i), error))
      return FALSE;

  return convolve_atomic_file_commit (g_steal_pointer (&file), error);
}
