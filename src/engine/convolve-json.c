/* convolve-json.c: a small, strict JSON reader and a string writer.
 *
 * Deliberately small and strict (RFC 8259 syntax, UTF-8, bounded depth, no
 * duplicate keys): a model file is input from anywhere, so every byte is
 * checked before it reaches the model. Problems are reported as short
 * translated phrases ("an unexpected character") that the caller puts into
 * a sentence about its own file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-json.h"

#include <string.h>

#include <glib/gi18n-lib.h>

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

/* Compact, because a header is input from anywhere: a value is 40 bytes
 * plus its strings and one pointer in its parent, an empty array or object
 * nothing more, and only objects with many members get a hash table. With
 * at most CONVOLVE_LIMIT_JSON_NODES values, the tree of any header stays
 * within a few tens of megabytes. */
#define MEMBERS_HASHED_FROM 9

struct _ConvolveJsonValue {
  ConvolveJsonKind    kind;
  guint               n_children;
  char               *text;     /* STRING: the value; NUMBER: its literal; BOOLEAN: "true"/"false" */
  char               *key;      /* the member name, inside an object */
  ConvolveJsonValue **children; /* ARRAY, OBJECT: n_children values, in file order */
  GHashTable         *members;  /* OBJECT of MEMBERS_HASHED_FROM or more: key -> child (borrowed) */
};

void
convolve_json_value_free (ConvolveJsonValue *value)
{
  if (value == NULL)
    return;
  g_free (value->text);
  g_free (value->key);
  /* Recursion is bounded by CONVOLVE_LIMIT_JSON_DEPTH. */
  for (guint i = 0; i < value->n_children; i++)
    convolve_json_value_free (value->children[i]);
  g_free (value->children);
  if (value->members != NULL)
    g_hash_table_unref (value->members);
  g_free (value);
}

typedef struct {
  const char *text;
  gsize       length;
  gsize       pos;
  int         depth;
  guint       n_values;
  const char *problem; /* marked with N_(), translated when reported */
  gboolean    too_many_values;
} JsonReader;

static ConvolveJsonValue *json_read_value (JsonReader *reader);

static ConvolveJsonValue *
json_value_new (ConvolveJsonKind kind)
{
  ConvolveJsonValue *value = g_new0 (ConvolveJsonValue, 1);

  value->kind = kind;
  return value;
}

static gboolean
json_fail (JsonReader *reader, const char *problem)
{
  if (reader->problem == NULL)
    reader->problem = problem;
  return FALSE;
}

static void
json_skip_space (JsonReader *reader)
{
  while (reader->pos < reader->length)
    {
      char c = reader->text[reader->pos];

      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      reader->pos++;
    }
}

static int
json_peek (JsonReader *reader)
{
  return reader->pos < reader->length ? (guchar) reader->text[reader->pos] : -1;
}

static gboolean
json_read_hex4 (JsonReader *reader, gunichar *out)
{
  gunichar value = 0;

  if (reader->length - reader->pos < 4)
    return json_fail (reader, N_("an unfinished \\u escape"));
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (reader->text[reader->pos + i]);

      if (digit < 0)
        return json_fail (reader, N_("a malformed \\u escape"));
      value = (value << 4) | (gunichar) digit;
    }
  reader->pos += 4;
  *out = value;
  return TRUE;
}

/* Reads a string whose opening quote is at reader->pos. The text was
 * checked to be valid UTF-8 before parsing, so bytes >= 0x80 are copied. */
static char *
json_read_string (JsonReader *reader)
{
  g_autoptr(GString) out = g_string_new (NULL);

  reader->pos++; /* the opening quote */
  for (;;)
    {
      int c = json_peek (reader);

      if (c < 0)
        {
          json_fail (reader, N_("an unterminated string"));
          return NULL;
        }
      reader->pos++;
      if (c == '"')
        break;
      if (c < 0x20)
        {
          json_fail (reader, N_("a control character inside a string"));
          return NULL;
        }
      if (c != '\\')
        {
          g_string_append_c (out, (char) c);
          continue;
        }

      c = json_peek (reader);
      if (c < 0)
        {
          json_fail (reader, N_("an unterminated string"));
          return NULL;
        }
      reader->pos++;
      switch (c)
        {
        case '"': g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/': g_string_append_c (out, '/'); break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          {
            gunichar ch;

            if (!json_read_hex4 (reader, &ch))
              return NULL;
            if (ch >= 0xdc00 && ch <= 0xdfff)
              {
                json_fail (reader, N_("a lone low surrogate in a \\u escape"));
                return NULL;
              }
            if (ch >= 0xd800 && ch <= 0xdbff)
              {
                gunichar low;

                if (reader->length - reader->pos < 2 ||
                    reader->text[reader->pos] != '\\' ||
                    reader->text[reader->pos + 1] != 'u')
                  {
                    json_fail (reader, N_("a high surrogate without its low half"));
                    return NULL;
                  }
                reader->pos += 2;
                if (!json_read_hex4 (reader, &low))
                  return NULL;
                if (low < 0xdc00 || low > 0xdfff)
                  {
                    json_fail (reader, N_("a high surrogate without its low half"));
                    return NULL;
                  }
                ch = 0x10000 + ((ch - 0xd800) << 10) + (low - 0xdc00);
              }
            if (ch == 0)
              {
                /* C strings end at NUL: no Convolve name or value holds one. */
                json_fail (reader, N_("a NUL character inside a string"));
                return NULL;
              }
            g_string_append_unichar (out, ch);
          }
          break;
        default:
          json_fail (reader, N_("an unknown escape sequence"));
          return NULL;
        }
    }

  /* A copy of the exact size: a GString keeps room to grow. */
  return g_strndup (out->str, out->len);
}

static gboolean
json_skip_digits (JsonReader *reader)
{
  gsize start = reader->pos;

  while (reader->pos < reader->length && g_ascii_isdigit (reader->text[reader->pos]))
    reader->pos++;
  return reader->pos > start;
}

static ConvolveJsonValue *
json_read_number (JsonReader *reader)
{
  gsize start = reader->pos;
  ConvolveJsonValue *value;

  if (json_peek (reader) == '-')
    reader->pos++;
  if (json_peek (reader) == '0')
    reader->pos++;
  else if (!json_skip_digits (reader))
    {
      json_fail (reader, N_("a malformed number"));
      return NULL;
    }
  if (json_peek (reader) == '.')
    {
      reader->pos++;
      if (!json_skip_digits (reader))
        {
          json_fail (reader, N_("a malformed number"));
          return NULL;
        }
    }
  if (json_peek (reader) == 'e' || json_peek (reader) == 'E')
    {
      reader->pos++;
      if (json_peek (reader) == '+' || json_peek (reader) == '-')
        reader->pos++;
      if (!json_skip_digits (reader))
        {
          json_fail (reader, N_("a malformed number"));
          return NULL;
        }
    }

  value = json_value_new (CONVOLVE_JSON_NUMBER);
  value->text = g_strndup (reader->text + start, reader->pos - start);
  return value;
}

static ConvolveJsonValue *
json_read_literal (JsonReader *reader, const char *word, ConvolveJsonKind kind)
{
  gsize n = strlen (word);
  ConvolveJsonValue *value;

  if (reader->length - reader->pos < n || memcmp (reader->text + reader->pos, word, n) != 0)
    {
      json_fail (reader, N_("an unexpected character"));
      return NULL;
    }
  reader->pos += n;
  value = json_value_new (kind);
  value->text = g_strdup (word);
  return value;
}

/* Moves the children gathered while reading into value, at their exact
 * size. */
static ConvolveJsonValue *
json_close (ConvolveJsonValue *value, GPtrArray *children)
{
  value->n_children = children->len;
  if (children->len > 0)
    {
      g_ptr_array_set_free_func (children, NULL);
      value->children = g_memdup2 (children->pdata, sizeof (gpointer) * children->len);
      g_ptr_array_set_size (children, 0);
    }
  return value;
}

static ConvolveJsonValue *
json_read_array (JsonReader *reader)
{
  g_autoptr(ConvolveJsonValue) array = json_value_new (CONVOLVE_JSON_ARRAY);
  g_autoptr(GPtrArray) children =
    g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_json_value_free);

  reader->pos++; /* '[' */
  json_skip_space (reader);
  if (json_peek (reader) == ']')
    {
      reader->pos++;
      return g_steal_pointer (&array);
    }
  for (;;)
    {
      ConvolveJsonValue *item = json_read_value (reader);

      if (item == NULL)
        return NULL;
      g_ptr_array_add (children, item);
      json_skip_space (reader);
      if (json_peek (reader) == ',')
        {
          reader->pos++;
          continue;
        }
      if (json_peek (reader) == ']')
        {
          reader->pos++;
          return json_close (g_steal_pointer (&array), children);
        }
      json_fail (reader, N_("an array without its closing bracket"));
      return NULL;
    }
}

/* The member called key among the n first children, or NULL. */
static ConvolveJsonValue *
json_find_member (GHashTable *members, ConvolveJsonValue **children, guint n, const char *key)
{
  if (members != NULL)
    return g_hash_table_lookup (members, key);
  for (guint i = 0; i < n; i++)
    if (strcmp (children[i]->key, key) == 0)
      return children[i];
  return NULL;
}

static ConvolveJsonValue *
json_read_object (JsonReader *reader)
{
  g_autoptr(ConvolveJsonValue) object = json_value_new (CONVOLVE_JSON_OBJECT);
  g_autoptr(GPtrArray) children =
    g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_json_value_free);

  reader->pos++; /* '{' */
  json_skip_space (reader);
  if (json_peek (reader) == '}')
    {
      reader->pos++;
      return g_steal_pointer (&object);
    }
  for (;;)
    {
      g_autofree char *key = NULL;
      ConvolveJsonValue *member;

      json_skip_space (reader);
      if (json_peek (reader) != '"')
        {
          json_fail (reader, N_("an object key that is not a string"));
          return NULL;
        }
      key = json_read_string (reader);
      if (key == NULL)
        return NULL;
      if (json_find_member (object->members, (ConvolveJsonValue **) children->pdata,
                            children->len, key) != NULL)
        {
          json_fail (reader, N_("a key that occurs twice in one object"));
          return NULL;
        }
      json_skip_space (reader);
      if (json_peek (reader) != ':')
        {
          json_fail (reader, N_("a key without a colon after it"));
          return NULL;
        }
      reader->pos++;
      member = json_read_value (reader);
      if (member == NULL)
        return NULL;
      member->key = g_steal_pointer (&key);
      g_ptr_array_add (children, member);
      if (object->members != NULL)
        g_hash_table_insert (object->members, member->key, member);
      else if (children->len == MEMBERS_HASHED_FROM)
        {
          object->members = g_hash_table_new (g_str_hash, g_str_equal);
          for (guint i = 0; i < children->len; i++)
            {
              ConvolveJsonValue *child = g_ptr_array_index (children, i);

              g_hash_table_insert (object->members, child->key, child);
            }
        }

      json_skip_space (reader);
      if (json_peek (reader) == ',')
        {
          reader->pos++;
          continue;
        }
      if (json_peek (reader) == '}')
        {
          reader->pos++;
          return json_close (g_steal_pointer (&object), children);
        }
      json_fail (reader, N_("an object without its closing brace"));
      return NULL;
    }
}

static ConvolveJsonValue *
json_read_value (JsonReader *reader)
{
  ConvolveJsonValue *value = NULL;
  int c;

  json_skip_space (reader);
  if (++reader->n_values > CONVOLVE_LIMIT_JSON_NODES)
    {
      reader->too_many_values = TRUE;
      json_fail (reader, "too many values"); /* reported with the limit, below */
      return NULL;
    }
  c = json_peek (reader);
  switch (c)
    {
    case -1:
      json_fail (reader, N_("an unexpected end"));
      return NULL;
    case '{':
    case '[':
      if (++reader->depth > CONVOLVE_LIMIT_JSON_DEPTH)
        {
          json_fail (reader, N_("too deeply nested values"));
          return NULL;
        }
      value = c == '{' ? json_read_object (reader) : json_read_array (reader);
      reader->depth--;
      return value;
    case '"':
      {
        char *text = json_read_string (reader);

        if (text == NULL)
          return NULL;
        value = json_value_new (CONVOLVE_JSON_STRING);
        value->text = text;
        return value;
      }
    case 't':
      return json_read_literal (reader, "true", CONVOLVE_JSON_BOOLEAN);
    case 'f':
      return json_read_literal (reader, "false", CONVOLVE_JSON_BOOLEAN);
    case 'n':
      return json_read_literal (reader, "null", CONVOLVE_JSON_NULL);
    default:
      if (c == '-' || g_ascii_isdigit (c))
        return json_read_number (reader);
      json_fail (reader, N_("an unexpected character"));
      return NULL;
    }
}

ConvolveJsonValue *
convolve_json_parse (const char *text,
                     gsize       length,
                     gsize      *error_offset,
                     GError    **error)
{
  JsonReader reader = { text, length, 0, 0, 0, NULL, FALSE };
  g_autoptr(ConvolveJsonValue) value = NULL;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_utf8_validate_len (text, length, NULL))
    {
      if (error_offset != NULL)
        *error_offset = 0;
      g_set_error_literal (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                           _("text that is not valid UTF-8"));
      return NULL;
    }
  value = json_read_value (&reader);
  if (value != NULL)
    {
      json_skip_space (&reader);
      if (reader.pos != length)
        {
          json_fail (&reader, N_("text after its end"));
          g_clear_pointer (&value, convolve_json_value_free);
        }
    }
  if (value == NULL)
    {
      if (error_offset != NULL)
        *error_offset = reader.pos;
      if (reader.too_many_values)
        /* TRANSLATORS: put into "its header has %s at byte %zu" */
        g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                     _("more than %d values (the limit for a model file’s header)"),
                     CONVOLVE_LIMIT_JSON_NODES);
      else
        g_set_error_literal (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT,
                             _(reader.problem));
    }
  return g_steal_pointer (&value);
}

/* ------------------------------------------------------------------------ */
/* Reading the tree                                                          */
/* ------------------------------------------------------------------------ */

ConvolveJsonKind
convolve_json_value_get_kind (const ConvolveJsonValue *value)
{
  g_return_val_if_fail (value != NULL, CONVOLVE_JSON_NULL);
  return value->kind;
}

const char *
convolve_json_value_get_string (const ConvolveJsonValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  return value->kind == CONVOLVE_JSON_STRING ? value->text : NULL;
}

gboolean
convolve_json_value_get_count (const ConvolveJsonValue *value, guint64 max, guint64 *out)
{
  guint64 result = 0;

  g_return_val_if_fail (out != NULL, FALSE);

  if (value == NULL || value->kind != CONVOLVE_JSON_NUMBER)
    return FALSE;
  for (const char *p = value->text; *p != '\0'; p++)
    {
      guint64 digit;

      if (!g_ascii_isdigit (*p))
        return FALSE;
      digit = (guint64) (*p - '0');
      /* result * 10 + digit <= max, without overflow */
      if (digit > max || result > (max - digit) / 10)
        return FALSE;
      result = result * 10 + digit;
    }
  *out = result;
  return TRUE;
}

guint
convolve_json_value_get_length (const ConvolveJsonValue *value)
{
  g_return_val_if_fail (value != NULL, 0);
  return value->n_children;
}

const ConvolveJsonValue *
convolve_json_value_get_element (const ConvolveJsonValue *value, guint index)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (index < convolve_json_value_get_length (value), NULL);
  return value->children[index];
}

const ConvolveJsonValue *
convolve_json_value_get_member (const ConvolveJsonValue *object, const char *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  if (object == NULL || object->kind != CONVOLVE_JSON_OBJECT)
    return NULL;
  return json_find_member (object->members, object->children, object->n_children, key);
}

const char *
convolve_json_value_get_key (const ConvolveJsonValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  return value->key;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

void
convolve_json_append_string (GString *out, const char *text)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL);

  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}
