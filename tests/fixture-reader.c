/* fixture-reader.c: see fixture-reader.h. The JSON is parsed into a
 * GVariant (objects a{sv}, arrays av, strings s, integers x, other numbers
 * d, booleans b), which is all a safetensors header needs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fixture-reader.h"

#include <string.h>

typedef struct {
  const char *p, *end;
} Json;

static GVariant *json_value (Json *j);

static void
json_space (Json *j)
{
  while (j->p < j->end && *j->p != '\0' && strchr (" \t\r\n", *j->p) != NULL)
    j->p++;
}

static void
json_expect (Json *j, char c)
{
  json_space (j);
  if (j->p >= j->end || *j->p != c)
    g_error ("fixture JSON: expected '%c' at “%.20s”", c, j->p < j->end ? j->p : "");
  j->p++;
}

static char *
json_string (Json *j)
{
  GString *s = g_string_new (NULL);

  json_expect (j, '"');
  while (j->p < j->end && *j->p != '"')
    {
      if (*j->p != '\\')
        {
          g_string_append_c (s, *j->p++);
          continue;
        }
      j->p++;
      g_assert_true (j->p < j->end);
      switch (*j->p++)
        {
        case 'n': g_string_append_c (s, '\n'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 'b': g_string_append_c (s, '\b'); break;
        case 'f': g_string_append_c (s, '\f'); break;
        case 'u':
          {
            gunichar c;
            char hex[5] = { 0 };

            g_assert_true (j->end - j->p >= 4);
            memcpy (hex, j->p, 4);
            j->p += 4;
            c = (gunichar) g_ascii_strtoull (hex, NULL, 16);
            if (c >= 0xd800 && c < 0xdc00)
              {
                g_assert_true (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u');
                memcpy (hex, j->p + 2, 4);
                j->p += 6;
                c = 0x10000 + ((c - 0xd800) << 10) + ((gunichar) g_ascii_strtoull (hex, NULL, 16) - 0xdc00);
              }
            g_string_append_unichar (s, c);
          }
          break;
        default: g_string_append_c (s, j->p[-1]); break; /* " \ / */
        }
    }
  json_expect (j, '"');
  return g_string_free (s, FALSE);
}

static GVariant *
json_value (Json *j)
{
  json_space (j);
  g_assert_true (j->p < j->end);

  if (*j->p == '{')
    {
      GVariantBuilder b;

      g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
      j->p++;
      json_space (j);
      if (*j->p == '}')
        j->p++;
      else
        for (;;)
          {
            g_autofree char *key = json_string (j);

            json_expect (j, ':');
            g_variant_builder_add (&b, "{sv}", key, json_value (j));
            json_space (j);
            if (*j->p == ',')
              {
                j->p++;
                continue;
              }
            json_expect (j, '}');
            break;
          }
      return g_variant_builder_end (&b);
    }
  if (*j->p == '[')
    {
      GVariantBuilder b;

      g_variant_builder_init (&b, G_VARIANT_TYPE ("av"));
      j->p++;
      json_space (j);
      if (*j->p == ']')
        j->p++;
      else
        for (;;)
          {
            g_variant_builder_add (&b, "v", json_value (j));
            json_space (j);
            if (*j->p == ',')
              {
                j->p++;
                continue;
              }
            json_expect (j, ']');
            break;
          }
      return g_variant_builder_end (&b);
    }
  if (*j->p == '"')
    {
      char *s = json_string (j);

      return g_variant_new_take_string (s);
    }
  if (j->end - j->p >= 4 && memcmp (j->p, "true", 4) == 0)
    return j->p += 4, g_variant_new_boolean (TRUE);
  if (j->end - j->p >= 5 && memcmp (j->p, "false", 5) == 0)
    return j->p += 5, g_variant_new_boolean (FALSE);
  {
    const char *start = j->p;
    gboolean integer = TRUE;
    g_autofree char *text = NULL;

    while (j->p < j->end && *j->p != '\0' && strchr ("-+0123456789.eE", *j->p) != NULL)
      {
        integer &= strchr (".eE", *j->p) == NULL;
        j->p++;
      }
    g_assert_true (j->p > start);
    text = g_strndup (start, (gsize) (j->p - start));
    return integer ? g_variant_new_int64 (g_ascii_strtoll (text, NULL, 10))
                   : g_variant_new_double (g_ascii_strtod (text, NULL));
  }
}

FixtureFile *
fixture_file_new (void)
{
  FixtureFile *file = g_new0 (FixtureFile, 1);

  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  file->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) fixture_tensor_free);
  return file;
}

void
fixture_file_free (FixtureFile *file)
{
  if (file == NULL)
    return;
  g_clear_pointer (&file->metadata, g_hash_table_unref);
  g_ptr_array_unref (file->tensors);
  g_free (file);
}

FixtureTensor *
fixture_tensor_new (const char *name, const char *dtype, int rank,
                    const gint64 *shape, const void *data, gsize n_bytes)
{
  FixtureTensor *tensor = g_new0 (FixtureTensor, 1);

  g_assert_cmpint (rank, <=, FIXTURE_MAX_RANK);
  tensor->name = g_strdup (name);
  tensor->dtype = g_strdup (dtype);
  tensor->rank = rank;
  for (int d = 0; d < rank; d++)
    tensor->shape[d] = shape[d];
  tensor->data = g_bytes_new (data, n_bytes);
  return tensor;
}

void
fixture_tensor_free (FixtureTensor *tensor)
{
  g_free (tensor->name);
  g_free (tensor->dtype);
  g_bytes_unref (tensor->data);
  g_free (tensor);
}

FixtureFile *
fixture_file_read (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GVariant) root = NULL;
  FixtureFile *file;
  gsize length = 0;
  guint64 n;
  Json j;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (!g_file_get_contents (path, &contents, &length, &error))
    g_error ("%s", error->message);
  g_assert_cmpuint (length, >=, 8);
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  g_assert_cmpuint (n, <=, length - 8);

  j.p = contents + 8;
  j.end = contents + 8 + n;
  root = g_variant_ref_sink (json_value (&j));
  json_space (&j);
  g_assert_true (j.p == j.end);
  g_assert_true (g_variant_is_of_type (root, G_VARIANT_TYPE ("a{sv}")));

  file = fixture_file_new ();
  file->header_length = n;
  g_variant_iter_init (&iter, root);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) dtype = NULL, shape = NULL, offsets = NULL;
      FixtureTensor *tensor;

      if (strcmp (key, "__metadata__") == 0)
        {
          GVariantIter meta;
          const char *mkey;
          GVariant *mvalue;

          g_variant_iter_init (&meta, value);
          while (g_variant_iter_loop (&meta, "{&sv}", &mkey, &mvalue))
            g_hash_table_insert (file->metadata, g_strdup (mkey),
                                 g_variant_dup_string (mvalue, NULL));
          continue;
        }

      dtype = g_variant_lookup_value (value, "dtype", G_VARIANT_TYPE_STRING);
      shape = g_variant_lookup_value (value, "shape", G_VARIANT_TYPE ("av"));
      offsets = g_variant_lookup_value (value, "data_offsets", G_VARIANT_TYPE ("av"));
      g_assert_nonnull (dtype);
      g_assert_nonnull (shape);
      g_assert_nonnull (offsets);
      g_assert_cmpuint (g_variant_n_children (offsets), ==, 2);

      tensor = g_new0 (FixtureTensor, 1);
      tensor->name = g_strdup (key);
      tensor->dtype = g_variant_dup_string (dtype, NULL);
      tensor->rank = (int) g_variant_n_children (shape);
      g_assert_cmpint (tensor->rank, <=, FIXTURE_MAX_RANK);
      for (int d = 0; d < tensor->rank; d++)
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (shape, (gsize) d);
          g_autoptr(GVariant) extent = g_variant_get_variant (boxed);

          tensor->shape[d] = g_variant_get_int64 (extent);
        }
      for (int k = 0; k < 2; k++)
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (offsets, (gsize) k);
          g_autoptr(GVariant) offset = g_variant_get_variant (boxed);

          if (k == 0)
            tensor->begin = (guint64) g_variant_get_int64 (offset);
          else
            tensor->end = (guint64) g_variant_get_int64 (offset);
        }
      g_assert_cmpuint (tensor->begin, <=, tensor->end);
      g_assert_cmpuint (8 + n + tensor->end, <=, length);
      tensor->data = g_bytes_new (contents + 8 + n + tensor->begin, tensor->end - tensor->begin);
      g_ptr_array_add (file->tensors, tensor);
    }
  return file;
}

FixtureTensor *
fixture_file_find (const FixtureFile *file, const char *name)
{
  for (guint i = 0; i < file->tensors->len; i++)
    {
      FixtureTensor *tensor = g_ptr_array_index (file->tensors, i);

      if (strcmp (tensor->name, name) == 0)
        return tensor;
    }
  return NULL;
}

gsize
fixture_tensor_n_elements (const FixtureTensor *tensor)
{
  gsize n = 1;

  for (int d = 0; d < tensor->rank; d++)
    n *= (gsize) tensor->shape[d];
  return n;
}

static void *
dup_words (const FixtureTensor *tensor, gsize *n)
{
  gsize count = fixture_tensor_n_elements (tensor);
  gsize size = 0;
  const guint32 *src = g_bytes_get_data (tensor->data, &size);
  guint32 *words = g_new (guint32, MAX (count, 1));

  g_assert_cmpuint (size, ==, count * 4);
  for (gsize i = 0; i < count; i++)
    {
      guint32 w;

      memcpy (&w, src + i, 4);
      words[i] = GUINT32_FROM_LE (w);
    }
  if (n != NULL)
    *n = count;
  return words;
}

float *
fixture_tensor_dup_floats (const FixtureTensor *tensor, gsize *n)
{
  g_assert_cmpstr (tensor->dtype, ==, "F32");
  return dup_words (tensor, n);
}

gint32 *
fixture_tensor_dup_ints (const FixtureTensor *tensor, gsize *n)
{
  g_assert_cmpstr (tensor->dtype, ==, "I32");
  return dup_words (tensor, n);
}

static void
append_json_string (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) text; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  g_string_append_c (out, '"');
}

GBytes *
fixture_file_to_bytes (const FixtureFile *file, gboolean contiguous, const char *extra_header)
{
  g_autoptr(GString) header = g_string_new ("{");
  g_autoptr(GByteArray) data = g_byte_array_new ();
  GByteArray *out = g_byte_array_new ();
  guint64 offset = 0, n;
  gboolean first = TRUE;

  if (file->metadata != NULL)
    {
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (file->metadata),
                                           (GCompareFunc) strcmp);

      g_string_append (header, "\"__metadata__\":{");
      for (GList *l = keys; l != NULL; l = l->next)
        {
          if (l != keys)
            g_string_append_c (header, ',');
          append_json_string (header, l->data);
          g_string_append_c (header, ':');
          append_json_string (header, g_hash_table_lookup (file->metadata, l->data));
        }
      g_string_append_c (header, '}');
      first = FALSE;
    }

  for (guint i = 0; i < file->tensors->len; i++)
    {
      FixtureTensor *tensor = g_ptr_array_index (file->tensors, i);
      gsize size = g_bytes_get_size (tensor->data);
      guint64 begin = contiguous ? offset : tensor->begin;
      guint64 end = contiguous ? offset + size : tensor->end;

      if (!first)
        g_string_append_c (header, ',');
      first = FALSE;
      append_json_string (header, tensor->name);
      g_string_append (header, ":{\"dtype\":");
      append_json_string (header, tensor->dtype);
      g_string_append (header, ",\"shape\":[");
      for (int d = 0; d < tensor->rank; d++)
        g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d ? "," : "", tensor->shape[d]);
      g_string_append_printf (header, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              begin, end);

      if (contiguous)
        {
          g_byte_array_append (data, g_bytes_get_data (tensor->data, NULL), (guint) size);
          offset += size;
        }
      else
        {
          if (data->len < end)
            {
              guint old = data->len;

              g_byte_array_set_size (data, (guint) end);
              memset (data->data + old, 0, end - old);
            }
          memcpy (data->data + begin, g_bytes_get_data (tensor->data, NULL), MIN (size, end - begin));
        }
    }
  if (extra_header != NULL)
    g_string_append (header, extra_header);
  g_string_append_c (header, '}');
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');

  n = GUINT64_TO_LE ((guint64) header->len);
  g_byte_array_append (out, (const guint8 *) &n, 8);
  g_byte_array_append (out, (const guint8 *) header->str, (guint) header->len);
  g_byte_array_append (out, data->data, data->len);
  return g_byte_array_free_to_bytes (out);
}
