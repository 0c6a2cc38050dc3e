/* fuzz-json.c: the safetensors header's JSON reader, and a round trip.
 *
 * Any input: convolve_json_parse() must refuse it or return a tree. A tree
 * is written back (strings and keys with convolve_json_append_string(), the
 * writer the model saver uses) and parsed again: the second tree must have
 * the same shape, kinds, keys, strings and counts. The API keeps numbers'
 * and booleans' literals to itself, so those compare by kind (and count).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "convolve-json.h"
#include "fuzz-common.h"

static void
write_value (GString                 *out,
             const ConvolveJsonValue *value)
{
  guint64 count;

  switch (convolve_json_value_get_kind (value))
    {
    case CONVOLVE_JSON_NULL:
      g_string_append (out, "null");
      break;
    case CONVOLVE_JSON_BOOLEAN:
      g_string_append (out, "true");
      break;
    case CONVOLVE_JSON_NUMBER:
      if (convolve_json_value_get_count (value, G_MAXUINT64, &count))
        g_string_append_printf (out, "%" G_GUINT64_FORMAT, count);
      else
        g_string_append (out, "-0.5e-1");
      break;
    case CONVOLVE_JSON_STRING:
      convolve_json_append_string (out, convolve_json_value_get_string (value));
      break;
    case CONVOLVE_JSON_ARRAY:
    case CONVOLVE_JSON_OBJECT:
      {
        gboolean object = convolve_json_value_get_kind (value) == CONVOLVE_JSON_OBJECT;

        g_string_append_c (out, object ? '{' : '[');
        for (guint i = 0; i < convolve_json_value_get_length (value); i++)
          {
            const ConvolveJsonValue *child = convolve_json_value_get_element (value, i);

            if (i > 0)
              g_string_append_c (out, ',');
            if (object)
              {
                convolve_json_append_string (out, convolve_json_value_get_key (child));
                g_string_append_c (out, ':');
              }
            write_value (out, child);
          }
        g_string_append_c (out, object ? '}' : ']');
      }
      break;
    default:
      abort ();
    }
}

static gboolean
values_equal (const ConvolveJsonValue *a,
              const ConvolveJsonValue *b)
{
  ConvolveJsonKind kind = convolve_json_value_get_kind (a);
  guint64 count_a = 0, count_b = 0;

  if (kind != convolve_json_value_get_kind (b) ||
      g_strcmp0 (convolve_json_value_get_key (a), convolve_json_value_get_key (b)) != 0 ||
      g_strcmp0 (convolve_json_value_get_string (a), convolve_json_value_get_string (b)) != 0 ||
      convolve_json_value_get_length (a) != convolve_json_value_get_length (b))
    return FALSE;
  if (kind == CONVOLVE_JSON_NUMBER &&
      (convolve_json_value_get_count (a, G_MAXUINT64, &count_a) !=
       convolve_json_value_get_count (b, G_MAXUINT64, &count_b) ||
       count_a != count_b))
    return FALSE;
  for (guint i = 0; i < convolve_json_value_get_length (a); i++)
    {
      const ConvolveJsonValue *child = convolve_json_value_get_element (a, i);

      if (!values_equal (child, convolve_json_value_get_element (b, i)))
        return FALSE;
      /* members are found by their key, as a loader finds them */
      if (kind == CONVOLVE_JSON_OBJECT &&
          convolve_json_value_get_member (b, convolve_json_value_get_key (child)) !=
          convolve_json_value_get_element (b, i))
        return FALSE;
    }
  return TRUE;
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  g_autoptr(ConvolveJsonValue) root = NULL;
  g_autoptr(ConvolveJsonValue) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = NULL;
  gsize error_offset = 0;

  convolve_fuzz_init ();
  root = convolve_json_parse ((const char *) data, size, &error_offset, &error);
  if (root == NULL)
    {
      g_assert (error != NULL);
      g_assert (error_offset <= size);
      return 0;
    }
  g_assert (error == NULL);

  text = g_string_new (NULL);
  write_value (text, root);
  again = convolve_json_parse (text->str, text->len, NULL, &error);
  if (again == NULL)
    g_error ("the written tree does not parse: %s\n%s", error->message, text->str);
  if (!values_equal (root, again))
    g_error ("the written tree parses to another tree:\n%s", text->str);
  return 0;
}
