/* convolve-pickle.c: a restricted pickle machine.
 *
 * Loading a pickle with Python runs whatever code it names. This machine
 * executes nothing: it interprets the handful of opcodes that Python 2's
 * cPickle (protocol 2) wrote for the original CIFAR-10 python batches, and
 * that Python 3 writes for the same data with protocol 2 or 3, into plain
 * values. The only globals it accepts are markers for the numpy array
 * reconstruction (numpy.core.multiarray._reconstruct, numpy.ndarray,
 * numpy.dtype) and, for byte strings written by Python 3 with protocol 2,
 * _codecs.encode(text, 'latin1'); each is interpreted by fixed rules, never
 * looked up or called. Any other global or any other opcode is refused.
 *
 * Memory is budgeted against the file: every value, every item put into a
 * container and every decoded byte string is charged, and the total may
 * not exceed CONVOLVE_LIMIT_PICKLE_BYTES_PER_BYTE per byte of the file
 * (plus CONVOLVE_LIMIT_PICKLE_BASE_BYTES). Memoized values can be fetched
 * again for two bytes each, so whatever copies them (a decoded string, an
 * array's shape) would otherwise amplify without bound.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>

#include <string.h>

#include "convolve-pickle.h"

/* Pickle opcodes (Lib/pickle.py) that this reader interprets. */
enum {
  OP_MARK            = '(',
  OP_STOP            = '.',
  OP_BININT          = 'J',
  OP_BININT1         = 'K',
  OP_BININT2         = 'M',
  OP_NONE            = 'N',
  OP_REDUCE          = 'R',
  OP_BINSTRING       = 'T',
  OP_SHORT_BINSTRING = 'U',
  OP_BINUNICODE      = 'X',
  OP_APPEND          = 'a',
  OP_BUILD           = 'b',
  OP_GLOBAL          = 'c',
  OP_APPENDS         = 'e',
  OP_BINGET          = 'h',
  OP_LONG_BINGET     = 'j',
  OP_EMPTY_LIST      = ']',
  OP_BINPUT          = 'q',
  OP_LONG_BINPUT     = 'r',
  OP_SETITEM         = 's',
  OP_TUPLE           = 't',
  OP_EMPTY_TUPLE     = ')',
  OP_SETITEMS        = 'u',
  OP_EMPTY_DICT      = '}',
  OP_PROTO           = 0x80,
  OP_TUPLE1          = 0x85,
  OP_TUPLE2          = 0x86,
  OP_TUPLE3          = 0x87,
  OP_NEWTRUE         = 0x88,
  OP_NEWFALSE        = 0x89,
  OP_LONG1           = 0x8a,
  OP_BINBYTES        = 'B',  /* protocol 3 */
  OP_SHORT_BINBYTES  = 'C',  /* protocol 3 */
};

typedef enum {
  GLOBAL_RECONSTRUCT,
  GLOBAL_NDARRAY,
  GLOBAL_DTYPE,
  GLOBAL_ENCODE,
} GlobalKind;

typedef struct {
  const char *module;
  const char *name;
  GlobalKind  kind;
} AllowedGlobal;

static const AllowedGlobal allowed_globals[] = {
  { "numpy.core.multiarray", "_reconstruct", GLOBAL_RECONSTRUCT },
  { "numpy._core.multiarray", "_reconstruct", GLOBAL_RECONSTRUCT }, /* numpy 2 */
  { "numpy", "ndarray", GLOBAL_NDARRAY },
  { "numpy", "dtype", GLOBAL_DTYPE },
  { "_codecs", "encode", GLOBAL_ENCODE },
};

struct _ConvolvePickle {
  GBytes       *contents;
  const guint8 *data;
  gsize         length;
  gsize         pos;
  gsize         op_pos;     /* where the current opcode starts */
  GPtrArray    *values;     /* every value made, owned here */
  GPtrArray    *buffers;    /* byte strings decoded from text */
  GPtrArray    *stack;      /* ConvolvePickleValue*, with &mark for MARK */
  GHashTable   *memo;       /* index -> ConvolvePickleValue* */
  guint64       budget;     /* bytes the machine may still spend, see above */
  char         *display;    /* file name for messages */
  const ConvolvePickleValue *root;
};

static ConvolvePickleValue mark;

static void
value_free (gpointer data)
{
  ConvolvePickleValue *value = data;

  g_clear_pointer (&value->items, g_ptr_array_unref);
  g_free (value);
}

static ConvolvePickle *
pickle_new (GBytes     *contents,
            const char *path)
{
  ConvolvePickle *pickle = g_new0 (ConvolvePickle, 1);

  pickle->contents = g_bytes_ref (contents);
  pickle->data = g_bytes_get_data (contents, &pickle->length);
  pickle->values = g_ptr_array_new_with_free_func (value_free);
  pickle->buffers = g_ptr_array_new_with_free_func (g_free);
  pickle->stack = g_ptr_array_new ();
  pickle->memo = g_hash_table_new (NULL, NULL);
  pickle->display = g_filename_display_name (path);
  pickle->budget = CONVOLVE_LIMIT_PICKLE_BASE_BYTES +
                   (guint64) pickle->length * CONVOLVE_LIMIT_PICKLE_BYTES_PER_BYTE;
  return pickle;
}

void
convolve_pickle_free (ConvolvePickle *pickle)
{
  if (pickle == NULL)
    return;

  g_clear_pointer (&pickle->memo, g_hash_table_unref);
  g_clear_pointer (&pickle->stack, g_ptr_array_unref);
  g_clear_pointer (&pickle->values, g_ptr_array_unref);
  g_clear_pointer (&pickle->buffers, g_ptr_array_unref);
  g_clear_pointer (&pickle->display, g_free);
  g_clear_pointer (&pickle->contents, g_bytes_unref);
  g_free (pickle);
}

/* Every message names the file and says what is wrong with it. */
void
convolve_pickle_set_error (ConvolvePickle  *pickle,
                           GError         **error,
                           int              code,
                           const char      *format,
                           ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  /* TRANSLATORS: %s is a file name, then the reason, e.g. "it ends early" */
  g_set_error (error, CONVOLVE_DATA_ERROR, code,
               _("“%s” is not a CIFAR-10 python batch: %s"), pickle->display, reason);
}

static void
pickle_error_damaged (ConvolvePickle  *pickle,
                      GError         **error)
{
  convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                             _("its structure is damaged at byte %zu (opcode 0x%02x)"),
                             pickle->op_pos, (guint) pickle->data[pickle->op_pos]);
}

static gboolean
pickle_need (ConvolvePickle  *pickle,
             gsize            n,
             GError         **error)
{
  if (pickle->length - pickle->pos < n)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_TRUNCATED, _("it ends early"));
      return FALSE;
    }

  return TRUE;
}

/* Spends n bytes of the budget, or says that the file asks for more. */
static gboolean
pickle_charge (ConvolvePickle  *pickle,
               guint64          n,
               GError         **error)
{
  if (n > pickle->budget)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("it would take more memory than the limit for a file of "
                                   "its size (%d bytes per byte of the file)"),
                                 CONVOLVE_LIMIT_PICKLE_BYTES_PER_BYTE);
      return FALSE;
    }
  pickle->budget -= n;
  return TRUE;
}

/* Moves stack[start..] into container's items, charged. */
static gboolean
pickle_add_items (ConvolvePickle       *pickle,
                  ConvolvePickleValue  *container,
                  guint                 start,
                  GError              **error)
{
  guint n = pickle->stack->len - start;

  if (!pickle_charge (pickle, (guint64) n * sizeof (gpointer), error))
    return FALSE;
  for (guint i = start; i < pickle->stack->len; i++)
    g_ptr_array_add (container->items, g_ptr_array_index (pickle->stack, i));
  return TRUE;
}

static guint32
read_u32_le (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static ConvolvePickleValue *
pickle_new_value (ConvolvePickle      *pickle,
                  ConvolvePickleKind   kind,
                  GError             **error)
{
  ConvolvePickleValue *value;

  if (pickle->values->len >= CONVOLVE_LIMIT_PICKLE_VALUES)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("it holds more objects than a CIFAR-10 batch"));
      return NULL;
    }
  if (!pickle_charge (pickle, sizeof (ConvolvePickleValue), error))
    return NULL;

  value = g_new0 (ConvolvePickleValue, 1);
  value->kind = kind;
  if (kind == CONVOLVE_PICKLE_TUPLE || kind == CONVOLVE_PICKLE_LIST || kind == CONVOLVE_PICKLE_DICT)
    value->items = g_ptr_array_new ();
  g_ptr_array_add (pickle->values, value);
  return value;
}

static gboolean
pickle_push_new (ConvolvePickle      *pickle,
                 ConvolvePickleKind   kind,
                 gint64               integer,
                 GError             **error)
{
  ConvolvePickleValue *value = pickle_new_value (pickle, kind, error);

  if (value == NULL)
    return FALSE;

  value->integer = integer;
  g_ptr_array_add (pickle->stack, value);
  return TRUE;
}

static ConvolvePickleValue *
pickle_pop (ConvolvePickle  *pickle,
            GError         **error)
{
  ConvolvePickleValue *value;

  if (pickle->stack->len == 0 ||
      g_ptr_array_index (pickle->stack, pickle->stack->len - 1) == &mark)
    {
      pickle_error_damaged (pickle, error);
      return NULL;
    }

  value = g_ptr_array_index (pickle->stack, pickle->stack->len - 1);
  g_ptr_array_set_size (pickle->stack, pickle->stack->len - 1);
  return value;
}

static ConvolvePickleValue *
pickle_top (ConvolvePickle      *pickle,
            ConvolvePickleKind   kind,
            GError             **error)
{
  ConvolvePickleValue *value;

  if (pickle->stack->len == 0)
    {
      pickle_error_damaged (pickle, error);
      return NULL;
    }

  value = g_ptr_array_index (pickle->stack, pickle->stack->len - 1);
  if (value == &mark || value->kind != kind)
    {
      pickle_error_damaged (pickle, error);
      return NULL;
    }

  return value;
}

/* Finds the topmost mark: the values above it start at *start. */
static gboolean
pickle_find_mark (ConvolvePickle  *pickle,
                  guint           *start,
                  GError         **error)
{
  for (guint i = pickle->stack->len; i > 0; i--)
    {
      if (g_ptr_array_index (pickle->stack, i - 1) == &mark)
        {
          *start = i;
          return TRUE;
        }
    }

  pickle_error_damaged (pickle, error);
  return FALSE;
}

static void
pickle_drop_to_mark (ConvolvePickle *pickle,
                     guint           start)
{
  g_ptr_array_set_size (pickle->stack, start - 1);
}

gboolean
convolve_pickle_value_is_string (const ConvolvePickleValue *value)
{
  return value->kind == CONVOLVE_PICKLE_BYTES || value->kind == CONVOLVE_PICKLE_STR;
}

gboolean
convolve_pickle_value_string_equals (const ConvolvePickleValue *value,
                                     const char                *text)
{
  gsize n = strlen (text);

  return convolve_pickle_value_is_string (value) && value->length == n && memcmp (value->data, text, n) == 0;
}

gboolean
convolve_pickle_value_is_integer (const ConvolvePickleValue *value)
{
  return value->kind == CONVOLVE_PICKLE_INT || value->kind == CONVOLVE_PICKLE_BOOL;
}

const ConvolvePickleValue *
convolve_pickle_value_lookup (const ConvolvePickleValue *dict,
                              const char                *key)
{
  /* From the end: a later SETITEM wins, as in Python. */
  for (guint i = dict->items->len; i >= 2; i -= 2)
    {
      const ConvolvePickleValue *k = g_ptr_array_index (dict->items, i - 2);

      if (convolve_pickle_value_string_equals (k, key))
        return g_ptr_array_index (dict->items, i - 1);
    }

  return NULL;
}

/* UTF-8 as Python writes it: unlike g_utf8_validate(), NUL is a character
 * like any other (latin1 text made from pixel bytes is full of them). */
static gboolean
text_is_valid (const char *text,
               gsize       length)
{
  const char *end = text + length;

  while (text < end)
    {
      guchar first = (guchar) text[0];
      gunichar c;

      /* the fast cases: ASCII (with NUL) and two-byte sequences, which is
       * all that latin1 text from bytes holds */
      if (first < 0x80)
        {
          text++;
          continue;
        }
      if (first >= 0xc2 && first < 0xe0 && end - text >= 2 && ((guchar) text[1] & 0xc0) == 0x80)
        {
          text += 2;
          continue;
        }

      c = g_utf8_get_char_validated (text, end - text);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        return FALSE;
      text = g_utf8_next_char (text);
    }

  return TRUE;
}

static gboolean
pickle_read_string (ConvolvePickle      *pickle,
                    gsize                length_size,
                    gboolean             is_signed,
                    ConvolvePickleKind   kind,
                    GError             **error)
{
  gsize length;
  ConvolvePickleValue *value;

  if (!pickle_need (pickle, length_size, error))
    return FALSE;

  if (length_size == 1)
    {
      length = pickle->data[pickle->pos];
    }
  else
    {
      guint32 raw = read_u32_le (pickle->data + pickle->pos);

      if (is_signed && (gint32) raw < 0)
        {
          pickle_error_damaged (pickle, error);
          return FALSE;
        }
      length = raw;
    }
  pickle->pos += length_size;

  if (!pickle_need (pickle, length, error))
    return FALSE;

  if (kind == CONVOLVE_PICKLE_STR && !text_is_valid ((const char *) pickle->data + pickle->pos, length))
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  value = pickle_new_value (pickle, kind, error);
  if (value == NULL)
    return FALSE;

  value->data = pickle->data + pickle->pos;
  value->length = length;
  pickle->pos += length;
  g_ptr_array_add (pickle->stack, value);
  return TRUE;
}

static gboolean
pickle_read_line (ConvolvePickle  *pickle,
                  char            *buffer,
                  GError         **error)
{
  const guint8 *start = pickle->data + pickle->pos;
  const guint8 *end;
  gsize n;

  end = memchr (start, '\n', MIN (pickle->length - pickle->pos, (gsize) CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME));
  if (end == NULL)
    {
      if (pickle->length - pickle->pos < CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME)
        convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_TRUNCATED, _("it ends early"));
      else
        pickle_error_damaged (pickle, error);
      return FALSE;
    }

  n = (gsize) (end - start);
  memcpy (buffer, start, n);
  buffer[n] = '\0';
  pickle->pos += n + 1;
  return TRUE;
}

static gboolean
pickle_global (ConvolvePickle  *pickle,
               GError         **error)
{
  char module[CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME + 1];
  char name[CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME + 1];

  if (!pickle_read_line (pickle, module, error) ||
      !pickle_read_line (pickle, name, error))
    return FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (allowed_globals); i++)
    {
      if (strcmp (module, allowed_globals[i].module) == 0 &&
          strcmp (name, allowed_globals[i].name) == 0)
        return pickle_push_new (pickle, CONVOLVE_PICKLE_GLOBAL, allowed_globals[i].kind, error);
    }

  {
    g_autofree char *safe_module = g_utf8_make_valid (module, -1);
    g_autofree char *safe_name = g_utf8_make_valid (name, -1);

    /* TRANSLATORS: %s.%s is a Python name such as os.system */
    convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                               _("it refers to the Python object “%s.%s”, and pickles that "
                                 "can run code are not loaded"),
                               safe_module, safe_name);
  }
  return FALSE;
}

/* _codecs.encode(text, 'latin1'): how Python 3 writes bytes in protocol 2. */
static ConvolvePickleValue *
reduce_encode (ConvolvePickle             *pickle,
               const ConvolvePickleValue  *args,
               GError                    **error)
{
  const ConvolvePickleValue *text;
  const ConvolvePickleValue *encoding;
  const char *p;
  const char *end;
  guint8 *bytes;
  gsize n = 0;
  ConvolvePickleValue *value;

  if (args->items->len != 2)
    return NULL;
  text = g_ptr_array_index (args->items, 0);
  encoding = g_ptr_array_index (args->items, 1);
  if (text->kind != CONVOLVE_PICKLE_STR ||
      !(convolve_pickle_value_string_equals (encoding, "latin1") ||
        convolve_pickle_value_string_equals (encoding, "latin-1")))
    return NULL;
  /* Each call decodes a copy: charged, as the text may be memoized. */
  if (!pickle_charge (pickle, MAX (text->length, 1), error))
    return NULL;

  bytes = g_malloc (MAX (text->length, 1));
  g_ptr_array_add (pickle->buffers, bytes);
  p = (const char *) text->data;
  end = p + text->length;
  /* the text is valid UTF-8 (checked when read): only U+0000 to U+00FF,
   * one or two bytes each, are latin1 */
  while (p < end)
    {
      guchar first = (guchar) p[0];

      if (first < 0x80)
        {
          bytes[n++] = first;
          p++;
        }
      else if (first == 0xc2 || first == 0xc3)
        {
          bytes[n++] = (guint8) (((first & 0x1f) << 6) | ((guchar) p[1] & 0x3f));
          p += 2;
        }
      else
        {
          return NULL;
        }
    }

  value = pickle_new_value (pickle, CONVOLVE_PICKLE_BYTES, error);
  if (value != NULL)
    {
      value->data = bytes;
      value->length = n;
    }
  return value;
}

/* REDUCE: only the allowed globals, each with the arguments numpy and
 * Python write for them; anything else is refused. */
static gboolean
pickle_reduce (ConvolvePickle  *pickle,
               GError         **error)
{
  ConvolvePickleValue *args = pickle_pop (pickle, error);
  ConvolvePickleValue *callable;
  ConvolvePickleValue *result = NULL;

  if (args == NULL || (callable = pickle_pop (pickle, error)) == NULL)
    return FALSE;

  if (args->kind != CONVOLVE_PICKLE_TUPLE || callable->kind != CONVOLVE_PICKLE_GLOBAL)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  switch ((GlobalKind) callable->integer)
    {
    case GLOBAL_RECONSTRUCT:
      /* _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD */
      if (args->items->len == 3 &&
          convolve_pickle_value_get_item (args, 0)->kind == CONVOLVE_PICKLE_GLOBAL &&
          convolve_pickle_value_get_item (args, 0)->integer == GLOBAL_NDARRAY &&
          convolve_pickle_value_get_item (args, 1)->kind == CONVOLVE_PICKLE_TUPLE &&
          convolve_pickle_value_is_string (convolve_pickle_value_get_item (args, 2)))
        {
          result = pickle_new_value (pickle, CONVOLVE_PICKLE_NDARRAY, error);
          if (result == NULL)
            return FALSE;
          result->items = g_ptr_array_new ();
        }
      break;

    case GLOBAL_DTYPE:
      /* dtype('u1', False, True) */
      if (args->items->len == 3)
        {
          const ConvolvePickleValue *descr = g_ptr_array_index (args->items, 0);

          if (convolve_pickle_value_is_string (descr) && descr->length > 0 && descr->length < sizeof result->dtype)
            {
              result = pickle_new_value (pickle, CONVOLVE_PICKLE_DTYPE, error);
              if (result == NULL)
                return FALSE;
              memcpy (result->dtype, descr->data, descr->length);
            }
        }
      break;

    case GLOBAL_ENCODE:
      result = reduce_encode (pickle, args, error);
      if (result == NULL && error != NULL && *error != NULL)
        return FALSE;
      break;

    case GLOBAL_NDARRAY:
    default:
      break;
    }

  if (result == NULL)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("it builds an object at byte %zu that is not part "
                                   "of a CIFAR-10 batch"),
                                 pickle->op_pos);
      return FALSE;
    }

  g_ptr_array_add (pickle->stack, result);
  return TRUE;
}

/* BUILD: an array's state (version, shape, dtype, is_fortran, raw data) or
 * a dtype's state (which only says what the type string already does). */
static gboolean
pickle_build (ConvolvePickle  *pickle,
              GError         **error)
{
  ConvolvePickleValue *state = pickle_pop (pickle, error);
  ConvolvePickleValue *object;

  if (state == NULL)
    return FALSE;

  if (pickle->stack->len == 0 ||
      (object = g_ptr_array_index (pickle->stack, pickle->stack->len - 1)) == &mark)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  if (object->kind == CONVOLVE_PICKLE_DTYPE && state->kind == CONVOLVE_PICKLE_TUPLE)
    return TRUE;

  if (object->kind == CONVOLVE_PICKLE_NDARRAY && !object->built &&
      state->kind == CONVOLVE_PICKLE_TUPLE && state->items->len == 5)
    {
      const ConvolvePickleValue *shape = g_ptr_array_index (state->items, 1);
      const ConvolvePickleValue *dtype = g_ptr_array_index (state->items, 2);
      const ConvolvePickleValue *fortran = g_ptr_array_index (state->items, 3);
      const ConvolvePickleValue *raw = g_ptr_array_index (state->items, 4);
      gboolean shape_ok = shape->kind == CONVOLVE_PICKLE_TUPLE;

      if (shape_ok && shape->items->len > CONVOLVE_LIMIT_PICKLE_ARRAY_RANK)
        {
          convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                     _("it holds an array of %u dimensions at byte %zu; "
                                       "the limit is %d"),
                                     shape->items->len, pickle->op_pos,
                                     CONVOLVE_LIMIT_PICKLE_ARRAY_RANK);
          return FALSE;
        }

      for (guint i = 0; shape_ok && i < shape->items->len; i++)
        {
          const ConvolvePickleValue *dim = g_ptr_array_index (shape->items, i);

          shape_ok = dim->kind == CONVOLVE_PICKLE_INT && dim->integer >= 0;
        }

      if (shape_ok && dtype->kind == CONVOLVE_PICKLE_DTYPE &&
          convolve_pickle_value_is_integer (fortran) && raw->kind == CONVOLVE_PICKLE_BYTES)
        {
          if (!pickle_charge (pickle, (guint64) shape->items->len * sizeof (gpointer), error))
            return FALSE;
          g_ptr_array_extend (object->items, shape->items, NULL, NULL);
          memcpy (object->dtype, dtype->dtype, sizeof object->dtype);
          object->fortran = fortran->integer != 0;
          object->data = raw->data;
          object->length = raw->length;
          object->built = TRUE;
          return TRUE;
        }
    }

  convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                             _("it builds an object at byte %zu that is not part "
                               "of a CIFAR-10 batch"),
                             pickle->op_pos);
  return FALSE;
}

static gboolean
pickle_memo_put (ConvolvePickle  *pickle,
                 guint32          index,
                 GError         **error)
{
  ConvolvePickleValue *top;

  if (pickle->stack->len == 0 ||
      (top = g_ptr_array_index (pickle->stack, pickle->stack->len - 1)) == &mark)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  if (g_hash_table_size (pickle->memo) >= CONVOLVE_LIMIT_PICKLE_MEMO)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("it holds more objects than a CIFAR-10 batch"));
      return FALSE;
    }

  g_hash_table_insert (pickle->memo, GUINT_TO_POINTER (index), top);
  return TRUE;
}

static gboolean
pickle_memo_get (ConvolvePickle  *pickle,
                 guint32          index,
                 GError         **error)
{
  ConvolvePickleValue *value = g_hash_table_lookup (pickle->memo, GUINT_TO_POINTER (index));

  if (value == NULL)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  g_ptr_array_add (pickle->stack, value);
  return TRUE;
}

static gboolean
pickle_make_tuple (ConvolvePickle  *pickle,
                   guint            n,
                   GError         **error)
{
  ConvolvePickleValue *tuple;
  guint start;

  if (pickle->stack->len < n)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }
  start = pickle->stack->len - n;
  for (guint i = start; i < pickle->stack->len; i++)
    {
      if (g_ptr_array_index (pickle->stack, i) == &mark)
        {
          pickle_error_damaged (pickle, error);
          return FALSE;
        }
    }

  tuple = pickle_new_value (pickle, CONVOLVE_PICKLE_TUPLE, error);
  if (tuple == NULL || !pickle_add_items (pickle, tuple, start, error))
    return FALSE;
  g_ptr_array_set_size (pickle->stack, start);
  g_ptr_array_add (pickle->stack, tuple);
  return TRUE;
}

/* TUPLE, APPENDS, SETITEMS: everything above the topmost mark. */
static gboolean
pickle_collect_to_mark (ConvolvePickle  *pickle,
                        guint8           op,
                        GError         **error)
{
  ConvolvePickleValue *target;
  guint start;
  guint n;

  if (!pickle_find_mark (pickle, &start, error))
    return FALSE;
  n = pickle->stack->len - start;

  if (op == OP_TUPLE)
    {
      target = pickle_new_value (pickle, CONVOLVE_PICKLE_TUPLE, error);
      if (target == NULL || !pickle_add_items (pickle, target, start, error))
        return FALSE;
      pickle_drop_to_mark (pickle, start);
      g_ptr_array_add (pickle->stack, target);
      return TRUE;
    }

  /* APPENDS / SETITEMS: the list or dict sits just below the mark. */
  if (start < 2)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }
  target = g_ptr_array_index (pickle->stack, start - 2);
  if (target == &mark ||
      target->kind != (op == OP_APPENDS ? CONVOLVE_PICKLE_LIST : CONVOLVE_PICKLE_DICT) ||
      (op == OP_SETITEMS && n % 2 != 0))
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  if (!pickle_add_items (pickle, target, start, error))
    return FALSE;
  pickle_drop_to_mark (pickle, start);
  return TRUE;
}

static gboolean
pickle_append_one (ConvolvePickle  *pickle,
                   guint8           op,
                   GError         **error)
{
  ConvolvePickleValue *value = pickle_pop (pickle, error);
  ConvolvePickleValue *key = NULL;
  ConvolvePickleValue *target;

  if (value == NULL)
    return FALSE;
  if (op == OP_SETITEM && (key = pickle_pop (pickle, error)) == NULL)
    return FALSE;

  target = pickle_top (pickle, op == OP_APPEND ? CONVOLVE_PICKLE_LIST : CONVOLVE_PICKLE_DICT, error);
  if (target == NULL ||
      !pickle_charge (pickle, (key != NULL ? 2 : 1) * sizeof (gpointer), error))
    return FALSE;

  if (key != NULL)
    g_ptr_array_add (target->items, key);
  g_ptr_array_add (target->items, value);
  return TRUE;
}

static gboolean
pickle_read_int (ConvolvePickle  *pickle,
                 guint8           op,
                 GError         **error)
{
  const guint8 *p;
  gint64 v = 0;
  gsize n;

  switch (op)
    {
    case OP_BININT1:
      n = 1;
      break;
    case OP_BININT2:
      n = 2;
      break;
    case OP_BININT:
      n = 4;
      break;
    default: /* LONG1: a length byte, then little-endian two's complement */
      if (!pickle_need (pickle, 1, error))
        return FALSE;
      n = pickle->data[pickle->pos++];
      if (n > 8)
        {
          convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                     _("it holds an integer too large for a CIFAR-10 batch"));
          return FALSE;
        }
      break;
    }

  if (!pickle_need (pickle, n, error))
    return FALSE;

  p = pickle->data + pickle->pos;
  pickle->pos += n;
  if (op == OP_BININT)
    {
      v = (gint32) read_u32_le (p);
    }
  else
    {
      guint64 u = 0;

      for (gsize i = 0; i < n; i++)
        u |= (guint64) p[i] << (8 * i);
      if (op == OP_LONG1 && n > 0 && n < 8 && (p[n - 1] & 0x80) != 0)
        u |= ~(guint64) 0 << (8 * n);  /* sign-extend */
      v = (gint64) u;
    }

  return pickle_push_new (pickle, CONVOLVE_PICKLE_INT, v, error);
}

/* Runs the opcodes up to STOP; returns the one value left. */
static const ConvolvePickleValue *
pickle_run (ConvolvePickle  *pickle,
            GError         **error)
{
  guint8 op;

  if (pickle->length == 0)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_TRUNCATED, _("it is empty"));
      return NULL;
    }

  if (pickle->length < 2 || pickle->data[0] != OP_PROTO)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                 _("it is not a pickle of protocol 2 or 3"));
      return NULL;
    }

  if (pickle->data[1] != 2 && pickle->data[1] != 3)
    {
      convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                 _("it uses pickle protocol %u; only protocols 2 and 3 are read"),
                                 (guint) pickle->data[1]);
      return NULL;
    }
  pickle->pos = 2;

  for (;;)
    {
      gboolean ok;

      if (!pickle_need (pickle, 1, error))
        return NULL;

      pickle->op_pos = pickle->pos;
      op = pickle->data[pickle->pos++];

      switch (op)
        {
        case OP_STOP:
          if (pickle->stack->len != 1 || g_ptr_array_index (pickle->stack, 0) == &mark)
            {
              pickle_error_damaged (pickle, error);
              return NULL;
            }
          if (pickle->pos != pickle->length)
            {
              convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                                         _("it goes on after its end"));
              return NULL;
            }
          return g_ptr_array_index (pickle->stack, 0);

        case OP_MARK:
          g_ptr_array_add (pickle->stack, &mark);
          ok = TRUE;
          break;

        case OP_EMPTY_DICT:
          ok = pickle_push_new (pickle, CONVOLVE_PICKLE_DICT, 0, error);
          break;

        case OP_EMPTY_LIST:
          ok = pickle_push_new (pickle, CONVOLVE_PICKLE_LIST, 0, error);
          break;

        case OP_EMPTY_TUPLE:
          ok = pickle_push_new (pickle, CONVOLVE_PICKLE_TUPLE, 0, error);
          break;

        case OP_NONE:
          ok = pickle_push_new (pickle, CONVOLVE_PICKLE_NONE, 0, error);
          break;

        case OP_NEWTRUE:
        case OP_NEWFALSE:
          ok = pickle_push_new (pickle, CONVOLVE_PICKLE_BOOL, op == OP_NEWTRUE, error);
          break;

        case OP_BININT:
        case OP_BININT1:
        case OP_BININT2:
        case OP_LONG1:
          ok = pickle_read_int (pickle, op, error);
          break;

        case OP_SHORT_BINSTRING:
        case OP_SHORT_BINBYTES:
          ok = pickle_read_string (pickle, 1, FALSE, CONVOLVE_PICKLE_BYTES, error);
          break;

        case OP_BINSTRING:
          ok = pickle_read_string (pickle, 4, TRUE, CONVOLVE_PICKLE_BYTES, error);
          break;

        case OP_BINBYTES:
          ok = pickle_read_string (pickle, 4, FALSE, CONVOLVE_PICKLE_BYTES, error);
          break;

        case OP_BINUNICODE:
          ok = pickle_read_string (pickle, 4, FALSE, CONVOLVE_PICKLE_STR, error);
          break;

        case OP_BINPUT:
        case OP_BINGET:
          ok = pickle_need (pickle, 1, error);
          if (ok)
            {
              guint32 index = pickle->data[pickle->pos++];

              ok = op == OP_BINPUT ? pickle_memo_put (pickle, index, error)
                                   : pickle_memo_get (pickle, index, error);
            }
          break;

        case OP_LONG_BINPUT:
        case OP_LONG_BINGET:
          ok = pickle_need (pickle, 4, error);
          if (ok)
            {
              guint32 index = read_u32_le (pickle->data + pickle->pos);

              pickle->pos += 4;
              ok = op == OP_LONG_BINPUT ? pickle_memo_put (pickle, index, error)
                                        : pickle_memo_get (pickle, index, error);
            }
          break;

        case OP_GLOBAL:
          ok = pickle_global (pickle, error);
          break;

        case OP_TUPLE:
        case OP_APPENDS:
        case OP_SETITEMS:
          ok = pickle_collect_to_mark (pickle, op, error);
          break;

        case OP_TUPLE1:
        case OP_TUPLE2:
        case OP_TUPLE3:
          ok = pickle_make_tuple (pickle, op - OP_TUPLE1 + 1, error);
          break;

        case OP_APPEND:
        case OP_SETITEM:
          ok = pickle_append_one (pickle, op, error);
          break;

        case OP_REDUCE:
          ok = pickle_reduce (pickle, error);
          break;

        case OP_BUILD:
          ok = pickle_build (pickle, error);
          break;

        case OP_PROTO:
        default:
          convolve_pickle_set_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                                     _("it uses the pickle opcode 0x%02x at byte %zu"
                                       ", which is not part of a CIFAR-10 batch"),
                                     (guint) op, pickle->op_pos);
          return NULL;
        }

      if (!ok)
        return NULL;
    }
}

ConvolvePickle *
convolve_pickle_load (GBytes      *contents,
                      const char  *path,
                      GError     **error)
{
  g_autoptr(ConvolvePickle) pickle = NULL;

  g_return_val_if_fail (contents != NULL && path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pickle = pickle_new (contents, path);
  pickle->root = pickle_run (pickle, error);
  if (pickle->root == NULL)
    return NULL;

  return g_steal_pointer (&pickle);
}

const ConvolvePickleValue *
convolve_pickle_get_root (ConvolvePickle *pickle)
{
  g_return_val_if_fail (pickle != NULL, NULL);

  return pickle->root;
}

const ConvolvePickleValue *
convolve_pickle_value_get_item (const ConvolvePickleValue *value,
                                guint                      i)
{
  g_return_val_if_fail (value != NULL && value->items != NULL, NULL);
  g_return_val_if_fail (i < value->items->len, NULL);

  return g_ptr_array_index (value->items, i);
}

GBytes *
convolve_pickle_value_dup_bytes (ConvolvePickle            *pickle,
                                 const ConvolvePickleValue *value)
{
  const guint8 *file_data;

  g_return_val_if_fail (pickle != NULL && value != NULL, NULL);
  g_return_val_if_fail (value->data != NULL || value->length == 0, NULL);

  file_data = pickle->data;

  if (value->data >= file_data && value->data + value->length <= file_data + pickle->length)
    return g_bytes_new_from_bytes (pickle->contents, (gsize) (value->data - file_data), value->length);

  return g_bytes_new (value->data, value->length);
}
