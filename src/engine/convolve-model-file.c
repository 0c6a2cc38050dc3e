/* convolve-model-file.c: models and checkpoints as safetensors files.
 *
 * The file is an 8-byte little-endian header length N, N bytes of JSON
 * (padded with spaces to a multiple of 8), then the tensors' raw
 * little-endian bytes, contiguous, in the order the header gives. This
 * file reads it; convolve-model-file-save.c writes it. A model file is
 * input from anywhere, so every byte is checked before it reaches the
 * model: the header's size is bounded here, and its JSON is read by the
 * strict reader of convolve-json.c.
 *
 * Metadata ("__metadata__", string to string):
 *   format "convolve-model", format_version "1", generator, spec,
 *   input_shape "[c,h,w]", class_names (a JSON array, optional; names
 *   the first outputs, at most all of them), dataset
 *   (optional), input_scale, input_offset, epoch, step, rng (the model's
 *   generator state), "extra.<key>" for ConvolveModelMeta.extra; a
 *   checkpoint adds optimizer ("adam" or "sgd"), optimizer.learning_rate,
 *   .beta_1, .beta_2, .epsilon, .momentum, .nesterov, .iterations and one
 *   tensor "optimizer/<slot>/<tensor>" per slot and trainable tensor.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-model-file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "convolve-json.h"
#include "convolve-limits.h"
#include "convolve-model-file-private.h"
#include "convolve-model-private.h"

/* ------------------------------------------------------------------------ */
/* Metadata                                                                  */
/* ------------------------------------------------------------------------ */

ConvolveModelMeta *
convolve_model_meta_new (void)
{
  ConvolveModelMeta *meta = g_new0 (ConvolveModelMeta, 1);

  meta->input_scale = 1.0f / 255.0f;
  meta->input_offset = 0.0f;
  meta->extra = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return meta;
}

void
convolve_model_meta_free (ConvolveModelMeta *meta)
{
  if (meta == NULL)
    return;
  g_strfreev (meta->class_names);
  g_free (meta->dataset);
  g_clear_pointer (&meta->extra, g_hash_table_unref);
  g_free (meta);
}

/* ------------------------------------------------------------------------ */
/* Small helpers, some shared with the writer                                */
/* ------------------------------------------------------------------------ */

char *
_convolve_model_file_slot_tensor_name (const char *slot_name, const char *tensor_name)
{
  return g_strconcat (OPTIMIZER_PREFIX, slot_name, "/", tensor_name, NULL);
}

gboolean
_convolve_model_file_all_finite (const float *data, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (data[i]))
      return FALSE;
  return TRUE;
}

static gboolean
parse_float (const char *text, float *out)
{
  char *end = NULL;
  double value;

  if (text == NULL || *text == '\0' || g_ascii_isspace (*text))
    return FALSE;
  errno = 0;
  value = g_ascii_strtod (text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite (value) ||
      fabs (value) > G_MAXFLOAT)
    return FALSE;
  *out = (float) value;
  return TRUE;
}

static gboolean
parse_count (const char *text, gint64 *out)
{
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, NULL))
    return FALSE;
  /* g_ascii_string_to_unsigned allows a leading '+'; a count is digits only. */
  if (!g_ascii_isdigit (text[0]))
    return FALSE;
  *out = (gint64) value;
  return TRUE;
}

static char *
format_shape (int rank, const gint64 *shape)
{
  GString *text = g_string_new ("[");

  for (int i = 0; i < rank; i++)
    g_string_append_printf (text, "%s%" PRId64, i > 0 ? ", " : "", shape[i]);
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char *name;    /* borrowed from the header */
  int         rank;
  gint64      shape[CONVOLVE_LIMIT_TENSOR_RANK];
  guint64     begin, end;
  float      *dest;    /* where the values go; NULL to skip them */
} LoadTensor;

typedef struct {
  const char  *path;
  char        *display_name;
  int          fd;
  guint64      file_size;
  guint64      header_length;
  char        *header;
  ConvolveJsonValue       *root;
  const ConvolveJsonValue *metadata;
  GArray      *tensors;        /* LoadTensor */
} Loader;

static void
loader_clear (Loader *loader)
{
  g_clear_pointer (&loader->display_name, g_free);
  if (loader->fd >= 0)
    g_close (loader->fd, NULL);
  loader->fd = -1;
  g_clear_pointer (&loader->header, g_free);
  g_clear_pointer (&loader->root, convolve_json_value_free);
  g_clear_pointer (&loader->tensors, g_array_unref);
}

/* Reads exactly length bytes or reports why not. */
static gboolean
read_exact (Loader *loader, void *buffer, gsize length, GError **error)
{
  guint8 *p = buffer;

  while (length > 0)
    {
      gssize got = read (loader->fd, p, MIN (length, (gsize) 1 << 30));

      if (got < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
                       _("Could not read “%s”: %s"), loader->display_name, g_strerror (saved_errno));
          return FALSE;
        }
      if (got == 0)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is truncated: it ended while its tensors were being read"),
                       loader->display_name);
          return FALSE;
        }
      p += got;
      length -= (gsize) got;
    }
  return TRUE;
}

static gboolean
loader_seek (Loader *loader, off_t offset, int whence, GError **error)
{
  if (lseek (loader->fd, offset, whence) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
                   _("Could not read “%s”: %s"), loader->display_name, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
skip_bytes (Loader *loader, guint64 length, GError **error)
{
  return length == 0 || loader_seek (loader, (off_t) length, SEEK_CUR, error);
}

static gboolean
open_and_read_header (Loader *loader, GError **error)
{
  GStatBuf st;
  guint8 prefix[9];
  guint64 length_le;
  g_autoptr(GError) problem = NULL;
  gsize problem_offset = 0;

  /* O_NONBLOCK: open() of a FIFO would otherwise wait for a writer
   * forever; it changes nothing for the regular file checked below. */
  loader->fd = g_open (loader->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (loader->fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
                   _("Could not open “%s”: %s"), loader->display_name, g_strerror (saved_errno));
      return FALSE;
    }
  if (fstat (loader->fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
                   _("Could not open “%s”: it is not a regular file"), loader->display_name);
      return FALSE;
    }
  loader->file_size = (guint64) st.st_size;

  if (loader->file_size == 0)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is empty"), loader->display_name);
      return FALSE;
    }
  if (loader->file_size < sizeof prefix)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is too short to be a model file (%" PRIu64 " bytes)"),
                   loader->display_name, loader->file_size);
      return FALSE;
    }
  if (!read_exact (loader, prefix, sizeof prefix, error))
    return FALSE;

  memcpy (&length_le, prefix, sizeof length_le);
  loader->header_length = GUINT64_FROM_LE (length_le);
  if (prefix[8] != '{')
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("“%s” is not a model file: it is not in the safetensors format"),
                   loader->display_name);
      return FALSE;
    }
  if (loader->header_length < 2)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its header length is %" PRIu64),
                   loader->display_name, loader->header_length);
      return FALSE;
    }
  if (loader->header_length > (guint64) CONVOLVE_LIMIT_MODEL_HEADER_BYTES)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its header claims %" PRIu64
                     " bytes, more than any model file has"),
                   loader->display_name, loader->header_length);
      return FALSE;
    }
  if (loader->header_length > loader->file_size - 8)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is truncated: its header claims %" PRIu64
                     " bytes but only %" PRIu64 " follow"),
                   loader->display_name, loader->header_length, loader->file_size - 8);
      return FALSE;
    }

  loader->header = g_try_malloc (loader->header_length + 1);
  if (loader->header == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                   _("Not enough memory to read “%s”"), loader->display_name);
      return FALSE;
    }
  loader->header[0] = '{';
  if (!read_exact (loader, loader->header + 1, loader->header_length - 1, error))
    return FALSE;
  loader->header[loader->header_length] = '\0';

  loader->root = convolve_json_parse (loader->header, loader->header_length,
                                      &problem_offset, &problem);
  if (loader->root == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its header has %s at byte %zu"),
                   loader->display_name, problem->message, problem_offset + 8);
      return FALSE;
    }
  if (convolve_json_value_get_kind (loader->root) != CONVOLVE_JSON_OBJECT)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its header is not a JSON object"), loader->display_name);
      return FALSE;
    }
  return TRUE;
}

static const char *
metadata_string (Loader *loader, const char *key)
{
  const ConvolveJsonValue *value = convolve_json_value_get_member (loader->metadata, key);

  /* check_metadata() made sure that every entry is a string. */
  return value != NULL ? convolve_json_value_get_string (value) : NULL;
}

static gboolean
check_metadata (Loader *loader, GError **error)
{
  const char *format, *version;

  loader->metadata = convolve_json_value_get_member (loader->root, METADATA_KEY);
  if (loader->metadata == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("“%s” is a safetensors file but not a Convolve model: it has no metadata"),
                   loader->display_name);
      return FALSE;
    }
  if (convolve_json_value_get_kind (loader->metadata) != CONVOLVE_JSON_OBJECT)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its metadata is not a JSON object"), loader->display_name);
      return FALSE;
    }
  for (guint i = 0; i < convolve_json_value_get_length (loader->metadata); i++)
    {
      const ConvolveJsonValue *entry = convolve_json_value_get_element (loader->metadata, i);

      if (convolve_json_value_get_kind (entry) != CONVOLVE_JSON_STRING)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: its metadata entry “%s” is not a string"),
                       loader->display_name, convolve_json_value_get_key (entry));
          return FALSE;
        }
    }

  format = metadata_string (loader, "format");
  if (g_strcmp0 (format, FORMAT_NAME) != 0)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("“%s” is a safetensors file but not a Convolve model (another program made it)"),
                   loader->display_name);
      return FALSE;
    }
  version = metadata_string (loader, "format_version");
  if (version == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its metadata lacks “%s”"), loader->display_name,
                   "format_version");
      return FALSE;
    }
  if (g_strcmp0 (version, FORMAT_VERSION) != 0)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("“%s” uses model file format version “%s”; this version of Convolve reads version %s"),
                   loader->display_name, version, FORMAT_VERSION);
      return FALSE;
    }
  return TRUE;
}

static int
compare_load_tensors (gconstpointer a, gconstpointer b)
{
  const LoadTensor *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

/* The tensor entries: syntax, data type, sizes, and that the data block is
 * covered exactly once. */
static gboolean
check_tensor_entries (Loader *loader, GError **error)
{
  guint64 data_size = loader->file_size - 8 - loader->header_length;
  guint64 expected = 0;

  loader->tensors = g_array_new (FALSE, TRUE, sizeof (LoadTensor));

  for (guint i = 0; i < convolve_json_value_get_length (loader->root); i++)
    {
      const ConvolveJsonValue *entry = convolve_json_value_get_element (loader->root, i);
      const ConvolveJsonValue *dtype, *shape, *offsets;
      LoadTensor tensor = { 0 };
      guint64 n_elements = 1;

      if (entry == loader->metadata)
        continue;
      tensor.name = convolve_json_value_get_key (entry);

      dtype = convolve_json_value_get_member (entry, "dtype");
      shape = convolve_json_value_get_member (entry, "shape");
      offsets = convolve_json_value_get_member (entry, "data_offsets");
      if (convolve_json_value_get_kind (entry) != CONVOLVE_JSON_OBJECT ||
          convolve_json_value_get_length (entry) != 3 ||
          dtype == NULL || convolve_json_value_get_kind (dtype) != CONVOLVE_JSON_STRING ||
          shape == NULL || convolve_json_value_get_kind (shape) != CONVOLVE_JSON_ARRAY ||
          offsets == NULL || convolve_json_value_get_kind (offsets) != CONVOLVE_JSON_ARRAY)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: the entry of tensor “%s” is not a dtype, shape and data_offsets"),
                       loader->display_name, tensor.name);
          return FALSE;
        }
      if (strcmp (convolve_json_value_get_string (dtype), "F32") != 0)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                       _("“%s”: tensor “%s” holds %s values; Convolve reads only F32"),
                       loader->display_name, tensor.name,
                       convolve_json_value_get_string (dtype));
          return FALSE;
        }
      if (convolve_json_value_get_length (shape) > CONVOLVE_LIMIT_TENSOR_RANK)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                       _("“%s”: tensor “%s” has %u dimensions, more than any model tensor"),
                       loader->display_name, tensor.name, convolve_json_value_get_length (shape));
          return FALSE;
        }
      tensor.rank = (int) convolve_json_value_get_length (shape);
      for (int d = 0; d < tensor.rank; d++)
        {
          guint64 extent;

          if (!convolve_json_value_get_count (convolve_json_value_get_element (shape, (guint) d),
                                              G_MAXINT32, &extent))
            {
              g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                           _("“%s” is damaged: tensor “%s” has an invalid shape"),
                           loader->display_name, tensor.name);
              return FALSE;
            }
          tensor.shape[d] = (gint64) extent;
          /* Overflow is impossible below 2^61 elements; larger is damage. */
          if (extent != 0 && n_elements > (G_GUINT64_CONSTANT (1) << 61) / extent)
            {
              g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                           _("“%s” is damaged: tensor “%s” has an impossible shape"),
                           loader->display_name, tensor.name);
              return FALSE;
            }
          n_elements *= extent;
        }

      if (convolve_json_value_get_length (offsets) != 2 ||
          !convolve_json_value_get_count (convolve_json_value_get_element (offsets, 0),
                                          G_MAXINT64, &tensor.begin) ||
          !convolve_json_value_get_count (convolve_json_value_get_element (offsets, 1),
                                          G_MAXINT64, &tensor.end) ||
          tensor.begin > tensor.end)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: tensor “%s” has invalid data offsets"),
                       loader->display_name, tensor.name);
          return FALSE;
        }
      if (tensor.end - tensor.begin != n_elements * sizeof (float))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: tensor “%s” takes %" PRIu64
                         " bytes but its shape needs %" PRIu64),
                       loader->display_name, tensor.name, tensor.end - tensor.begin,
                       n_elements * (guint64) sizeof (float));
          return FALSE;
        }
      if (tensor.end > data_size)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is truncated: tensor “%s” ends past the end of the file"),
                       loader->display_name, tensor.name);
          return FALSE;
        }
      g_array_append_val (loader->tensors, tensor);
    }

  g_array_sort (loader->tensors, compare_load_tensors);
  for (guint i = 0; i < loader->tensors->len; i++)
    {
      const LoadTensor *tensor = &g_array_index (loader->tensors, LoadTensor, i);

      if (tensor->begin < expected)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: the data of tensors “%s” and “%s” overlap"),
                       loader->display_name,
                       g_array_index (loader->tensors, LoadTensor, i - 1).name, tensor->name);
          return FALSE;
        }
      if (tensor->begin > expected)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: %" PRIu64 " unused bytes lie before tensor “%s”"),
                       loader->display_name, tensor->begin - expected, tensor->name);
          return FALSE;
        }
      expected = tensor->end;
    }
  if (expected != data_size)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: %" PRIu64 " unused bytes follow the last tensor"),
                   loader->display_name, data_size - expected);
      return FALSE;
    }
  return TRUE;
}

static const char *
require_metadata (Loader *loader, const char *key, GError **error)
{
  const char *value = metadata_string (loader, key);

  if (value == NULL)
    g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                 _("“%s” is damaged: its metadata lacks “%s”"), loader->display_name, key);
  return value;
}

static gboolean
bad_metadata (Loader *loader, const char *key, GError **error)
{
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
               _("“%s” is damaged: its metadata entry “%s” has an invalid value"),
               loader->display_name, key);
  return FALSE;
}

static gboolean
require_float (Loader *loader, const char *key, float *out, GError **error)
{
  const char *text = require_metadata (loader, key, error);

  if (text == NULL)
    return FALSE;
  if (!parse_float (text, out))
    return bad_metadata (loader, key, error);
  return TRUE;
}

static gboolean
require_count (Loader *loader, const char *key, gint64 *out, GError **error)
{
  const char *text = require_metadata (loader, key, error);

  if (text == NULL)
    return FALSE;
  if (!parse_count (text, out))
    return bad_metadata (loader, key, error);
  return TRUE;
}

static gboolean
read_input_shape (Loader *loader, ConvolveShape *input, GError **error)
{
  const char *text = require_metadata (loader, "input_shape", error);
  g_autoptr(ConvolveJsonValue) value = NULL;
  guint64 extent[3];

  if (text == NULL)
    return FALSE;
  value = convolve_json_parse (text, strlen (text), NULL, NULL);
  if (value == NULL || convolve_json_value_get_kind (value) != CONVOLVE_JSON_ARRAY ||
      convolve_json_value_get_length (value) != 3)
    return bad_metadata (loader, "input_shape", error);
  for (guint i = 0; i < 3; i++)
    if (!convolve_json_value_get_count (convolve_json_value_get_element (value, i),
                                        CONVOLVE_LIMIT_INPUT_SIDE, &extent[i]) ||
        extent[i] == 0)
      return bad_metadata (loader, "input_shape", error);
  if (extent[0] * extent[1] * extent[2] > CONVOLVE_LIMIT_INPUT_FLOATS)
    return bad_metadata (loader, "input_shape", error);

  input->c = (int) extent[0];
  input->h = (int) extent[1];
  input->w = (int) extent[2];
  return TRUE;
}

static char **
read_class_names (Loader *loader, GError **error)
{
  const char *text = metadata_string (loader, "class_names");
  g_autoptr(ConvolveJsonValue) value = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;

  value = convolve_json_parse (text, strlen (text), NULL, NULL);
  if (value == NULL || convolve_json_value_get_kind (value) != CONVOLVE_JSON_ARRAY)
    {
      bad_metadata (loader, "class_names", error);
      return NULL;
    }
  builder = g_strv_builder_new ();
  for (guint i = 0; i < convolve_json_value_get_length (value); i++)
    {
      const char *name = convolve_json_value_get_string (convolve_json_value_get_element (value, i));

      if (name == NULL)
        {
          bad_metadata (loader, "class_names", error);
          return NULL;
        }
      g_strv_builder_add (builder, name);
    }
  return g_strv_builder_end (builder);
}

static ConvolveModelMeta *
read_meta (Loader *loader, GError **error)
{
  g_autoptr(ConvolveModelMeta) meta = convolve_model_meta_new ();

  if (!require_float (loader, "input_scale", &meta->input_scale, error) ||
      !require_float (loader, "input_offset", &meta->input_offset, error) ||
      !require_count (loader, "epoch", &meta->epoch, error) ||
      !require_count (loader, "step", &meta->step, error))
    return NULL;

  if (metadata_string (loader, "class_names") != NULL)
    {
      meta->class_names = read_class_names (loader, error);
      if (meta->class_names == NULL)
        return NULL;
    }
  meta->dataset = g_strdup (metadata_string (loader, "dataset"));

  for (guint i = 0; i < convolve_json_value_get_length (loader->metadata); i++)
    {
      const ConvolveJsonValue *entry = convolve_json_value_get_element (loader->metadata, i);
      const char *key = convolve_json_value_get_key (entry);

      if (g_str_has_prefix (key, EXTRA_PREFIX))
        g_hash_table_insert (meta->extra,
                             g_strdup (key + strlen (EXTRA_PREFIX)),
                             g_strdup (convolve_json_value_get_string (entry)));
    }
  return g_steal_pointer (&meta);
}

/* The optimizer's configuration; FALSE with *has_optimizer FALSE and no
 * error when the file is a plain model. */
static gboolean
read_optimizer_config (Loader                  *loader,
                       gboolean                *has_optimizer,
                       ConvolveOptimizerConfig *config,
                       gint64                  *iterations,
                       GError                 **error)
{
  const char *kind = metadata_string (loader, "optimizer");
  struct { const char *key; float *value; } floats[] = {
    { "optimizer.learning_rate", &config->learning_rate },
    { "optimizer.beta_1", &config->beta_1 },
    { "optimizer.beta_2", &config->beta_2 },
    { "optimizer.epsilon", &config->epsilon },
    { "optimizer.momentum", &config->momentum },
  };
  const char *text;

  *has_optimizer = kind != NULL;
  if (kind == NULL)
    return TRUE;

  if (strcmp (kind, "adam") == 0)
    convolve_optimizer_config_init_adam (config);
  else if (strcmp (kind, "sgd") == 0)
    convolve_optimizer_config_init_sgd (config);
  else
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                   _("“%s” holds the state of an unknown optimizer, “%s”"),
                   loader->display_name, kind);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (floats); i++)
    if (!require_float (loader, floats[i].key, floats[i].value, error))
      return FALSE;

  text = require_metadata (loader, "optimizer.nesterov", error);
  if (text == NULL)
    return FALSE;
  if (strcmp (text, "true") == 0)
    config->nesterov = TRUE;
  else if (strcmp (text, "false") == 0)
    config->nesterov = FALSE;
  else
    return bad_metadata (loader, "optimizer.nesterov", error);

  return require_count (loader, "optimizer.iterations", iterations, error);
}

static gboolean
shapes_equal (const LoadTensor *tensor, const ConvolveTensorInfo *info)
{
  if (tensor->rank != info->rank)
    return FALSE;
  for (int d = 0; d < info->rank; d++)
    if (tensor->shape[d] != info->shape[d])
      return FALSE;
  return TRUE;
}

static gboolean
check_shape (Loader *loader, const LoadTensor *tensor, const ConvolveTensorInfo *info, GError **error)
{
  gint64 expected[4];
  g_autofree char *found_text = NULL;
  g_autofree char *expected_text = NULL;

  if (shapes_equal (tensor, info))
    return TRUE;
  for (int d = 0; d < info->rank; d++)
    expected[d] = info->shape[d];
  found_text = format_shape (tensor->rank, tensor->shape);
  expected_text = format_shape (info->rank, expected);
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH,
               _("“%s” does not fit its model: tensor “%s” has shape %s, the model needs %s"),
               loader->display_name, tensor->name, found_text, expected_text);
  return FALSE;
}

/* Pairs every tensor in the file with its place in the model or optimizer
 * and checks that nothing is missing. slots may be NULL (values skipped). */
static gboolean
match_tensors (Loader            *loader,
               ConvolveModel     *model,
               ConvolveOptimizer *names,
               float * const     *slots,
               GError           **error)
{
  int n_tensors = convolve_model_get_n_tensors (model);
  int n_slots = names != NULL ? convolve_optimizer_get_n_slots (names) : 0;
  g_autofree gboolean *seen = g_new0 (gboolean, (gsize) n_tensors * (1 + (gsize) n_slots));
  gsize n_params = 0;
  float *params = convolve_model_get_params (model, &n_params);

  for (guint i = 0; i < loader->tensors->len; i++)
    {
      LoadTensor *tensor = &g_array_index (loader->tensors, LoadTensor, i);
      const ConvolveTensorInfo *info = convolve_model_find_tensor (model, tensor->name);
      int slot = -1;

      if (info == NULL && names != NULL && g_str_has_prefix (tensor->name, OPTIMIZER_PREFIX))
        {
          const char *rest = tensor->name + strlen (OPTIMIZER_PREFIX);

          for (int s = 0; s < n_slots && info == NULL; s++)
            {
              const char *slot_name = convolve_optimizer_get_slot_name (names, s);
              gsize n = strlen (slot_name);

              if (strncmp (rest, slot_name, n) == 0 && rest[n] == '/')
                {
                  info = convolve_model_find_tensor (model, rest + n + 1);
                  if (info != NULL && !info->trainable)
                    info = NULL;
                  slot = s;
                }
            }
        }
      if (info == NULL)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH,
                       _("“%s” does not fit its model: the model has no tensor “%s”"),
                       loader->display_name, tensor->name);
          return FALSE;
        }
      if (!check_shape (loader, tensor, info, error))
        return FALSE;

      /* Tensors are unique by name (no duplicate JSON keys), so each
       * (slot, tensor) pair is seen at most once. */
      for (int t = 0; t < n_tensors; t++)
        if (convolve_model_get_tensor (model, t) == info)
          seen[(gsize) (slot + 1) * n_tensors + t] = TRUE;

      if (slot < 0)
        tensor->dest = info->data;
      else if (slots != NULL)
        tensor->dest = slots[slot] + (info->data - params);
      else
        tensor->dest = NULL;
    }

  for (int s = -1; s < n_slots; s++)
    for (int t = 0; t < n_tensors; t++)
      {
        const ConvolveTensorInfo *info = convolve_model_get_tensor (model, t);

        if (s >= 0 && !info->trainable)
          continue;
        if (!seen[(gsize) (s + 1) * n_tensors + t])
          {
            g_autofree char *name = s < 0 ? g_strdup (info->name)
                                          : _convolve_model_file_slot_tensor_name (
                                              convolve_optimizer_get_slot_name (names, s),
                                              info->name);

            g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH,
                         _("“%s” does not fit its model: tensor “%s” is missing"),
                         loader->display_name, name);
            return FALSE;
          }
      }
  return TRUE;
}

static gboolean
read_tensor_data (Loader *loader, GError **error)
{
  guint64 position = 0;

  if (!loader_seek (loader, (off_t) (8 + loader->header_length), SEEK_SET, error))
    return FALSE;

  /* Sorted and contiguous: one sequential pass. */
  for (guint i = 0; i < loader->tensors->len; i++)
    {
      const LoadTensor *tensor = &g_array_index (loader->tensors, LoadTensor, i);
      gsize n = (gsize) (tensor->end - tensor->begin) / sizeof (float);

      g_assert (tensor->begin == position);
      position = tensor->end;
      if (tensor->dest == NULL)
        {
          if (!skip_bytes (loader, tensor->end - tensor->begin, error))
            return FALSE;
          continue;
        }
      if (!read_exact (loader, tensor->dest, n * sizeof (float), error))
        return FALSE;
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
      {
        guint32 *words = (guint32 *) tensor->dest;

        for (gsize k = 0; k < n; k++)
          words[k] = GUINT32_FROM_LE (words[k]);
      }
#endif
      if (!_convolve_model_file_all_finite (tensor->dest, n))
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: tensor “%s” holds values that are not finite numbers"),
                       loader->display_name, tensor->name);
          return FALSE;
        }
      if (g_str_has_suffix (tensor->name, "/moving_variance"))
        for (gsize k = 0; k < n; k++)
          if (tensor->dest[k] < 0.0f)
            {
              g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                           _("“%s” is damaged: tensor “%s” holds a negative variance"),
                           loader->display_name, tensor->name);
              return FALSE;
            }
    }
  return TRUE;
}

ConvolveModel *
convolve_model_load (const char         *path,
                     int                 max_batch,
                     ConvolveModelMeta **meta_out,
                     ConvolveOptimizer **optimizer_out,
                     GError            **error)
{
  Loader loader = { .path = path, .fd = -1 };
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) plan = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree float **slots = NULL;
  ConvolveOptimizerConfig config = { 0 };
  ConvolveShape input;
  ConvolveRng rng;
  gboolean has_optimizer = FALSE;
  gint64 iterations = 0;
  const char *text;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (meta_out != NULL)
    *meta_out = NULL;
  if (optimizer_out != NULL)
    *optimizer_out = NULL;

  if (max_batch < 1)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("A model must hold at least one image per batch, not %d"), max_batch);
      return NULL;
    }

  loader.display_name = g_filename_display_name (path);

  if (!open_and_read_header (&loader, error) ||
      !check_metadata (&loader, error) ||
      !check_tensor_entries (&loader, error))
    goto fail;

  text = require_metadata (&loader, "spec", error);
  if (text == NULL)
    goto fail;
  spec = convolve_model_spec_parse (text, &local_error);
  if (spec == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                   _("“%s” is damaged: its model description is invalid: %s"),
                   loader.display_name, local_error->message);
      goto fail;
    }
  if (!read_input_shape (&loader, &input, error))
    goto fail;
  text = require_metadata (&loader, "rng", error);
  if (text == NULL)
    goto fail;
  if (!convolve_rng_from_string (&rng, text))
    {
      bad_metadata (&loader, "rng", error);
      goto fail;
    }
  meta = read_meta (&loader, error);
  if (meta == NULL)
    goto fail;
  if (!read_optimizer_config (&loader, &has_optimizer, &config, &iterations, error))
    goto fail;

  /* The header alone sizes the model: before anything is allocated for
   * it, the model is planned (within the limits) and every tensor in the
   * file matched against that plan. The file's data was checked above to
   * be exactly its tensors, so from here on the model's parameters and
   * state, and the optimizer's slots, take no more memory than the file
   * has bytes. */
  plan = _convolve_model_plan (spec, &input, &local_error);
  if (plan == NULL)
    {
      if (g_error_matches (local_error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED))
        g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
                     _("“%s” declares a model larger than Convolve loads: %s"),
                     loader.display_name, local_error->message);
      else
        g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                     _("“%s” is damaged: its model cannot be built: %s"),
                     loader.display_name, local_error->message);
      goto fail;
    }
  if (has_optimizer)
    {
      /* A one-parameter instance names the slots without their memory. */
      optimizer = convolve_optimizer_new (&config, 1, &local_error);
      if (optimizer == NULL)
        {
          g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                       _("“%s” is damaged: %s"), loader.display_name, local_error->message);
          goto fail;
        }
    }
  if (!match_tensors (&loader, plan, optimizer, NULL, error))
    goto fail;

  /* Fewer names than outputs is a model with spare outputs, trained on a
   * dataset with fewer classes (the trainer allows it, and saves the
   * dataset's names): the first outputs are named. More names than
   * outputs cannot be. */
  if (meta->class_names != NULL &&
      g_strv_length (meta->class_names) > (guint) convolve_model_get_n_classes (plan))
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_MISMATCH,
                   _("“%s” does not fit its model: it names %u classes, the model has %d"),
                   loader.display_name, g_strv_length (meta->class_names),
                   convolve_model_get_n_classes (plan));
      goto fail;
    }

  model = convolve_model_new (spec, &input, max_batch, 0, &local_error);
  if (model == NULL)
    {
      if (g_error_matches (local_error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                     _("“%s” is damaged: its model cannot be built: %s"),
                     loader.display_name, local_error->message);
      goto fail;
    }

  if (has_optimizer && optimizer_out != NULL)
    {
      gsize n_params = 0;

      convolve_model_get_params (model, &n_params);
      g_clear_pointer (&optimizer, convolve_optimizer_free);
      optimizer = convolve_optimizer_new (&config, n_params, &local_error);
      if (optimizer == NULL)
        {
          if (g_error_matches (local_error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY))
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                         _("“%s” is damaged: %s"),
                         loader.display_name, local_error->message);
          goto fail;
        }
      convolve_optimizer_set_iterations (optimizer, iterations);
      {
        int n_slots = convolve_optimizer_get_n_slots (optimizer);

        slots = g_new0 (float *, MAX (n_slots, 1));
        for (int s = 0; s < n_slots; s++)
          slots[s] = convolve_optimizer_get_slot (optimizer, s);
      }
    }

  if (!match_tensors (&loader, model, optimizer, slots, error) ||
      !read_tensor_data (&loader, error))
    goto fail;

  *convolve_model_get_rng (model) = rng;

  loader_clear (&loader);
  if (meta_out != NULL)
    *meta_out = g_steal_pointer (&meta);
  if (optimizer_out != NULL)
    *optimizer_out = g_steal_pointer (&optimizer);
  return g_steal_pointer (&model);

fail:
  loader_clear (&loader);
  return NULL;
}
