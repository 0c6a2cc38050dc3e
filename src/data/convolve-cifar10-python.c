/* convolve-cifar10-python.c: the CIFAR-10 python layout
 * (cifar-10-batches-py: data_batch_1 … data_batch_5, test_batch,
 * batches.meta), as Keras caches it and torchvision keeps it.
 *
 * Those files are pickles, and loading a pickle with Python runs whatever
 * code it names. This reader executes nothing: it interprets the handful of
 * opcodes that Python 2's cPickle (protocol 2) wrote for the original files,
 * and that Python 3 writes for the same data with protocol 2 or 3, into
 * plain values. The only globals it accepts are markers for the numpy array
 * reconstruction (numpy.core.multiarray._reconstruct, numpy.ndarray,
 * numpy.dtype) and, for byte strings written by Python 3 with protocol 2,
 * _codecs.encode(text, 'latin1'); each is interpreted by fixed rules, never
 * looked up or called. Any other global, any other opcode, or values of
 * another shape are refused.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include <glib/gi18n-lib.h>

#include <string.h>
#include <unistd.h>

#include "convolve-data-private.h"

#define N_TRAIN_BATCHES 5

/* A real batch has about 30,000 objects; these bound what a hostile file
 * can make the reader allocate. */
#define MAX_VALUES      1000000
#define MAX_MEMO        1000000
#define MAX_GLOBAL_NAME 128

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
  VALUE_NONE,
  VALUE_BOOL,
  VALUE_INT,
  VALUE_BYTES,
  VALUE_STR,     /* UTF-8 text */
  VALUE_TUPLE,
  VALUE_LIST,
  VALUE_DICT,    /* items: key, value, key, value, … */
  VALUE_GLOBAL,
  VALUE_NDARRAY,
  VALUE_DTYPE,
} ValueKind;

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

typedef struct _Value Value;
struct _Value {
  ValueKind     kind;
  gint64        integer;    /* BOOL, INT; GlobalKind for GLOBAL */
  const guint8 *data;       /* BYTES, STR; NDARRAY payload */
  gsize         length;
  GPtrArray    *items;      /* TUPLE, LIST, DICT; NDARRAY shape (INT values) */
  char          dtype[8];   /* DTYPE, NDARRAY: numpy's type string, "u1" */
  gboolean      built;      /* NDARRAY: BUILD has set its state */
  gboolean      fortran;    /* NDARRAY */
};

typedef struct {
  const guint8 *data;
  gsize         length;
  gsize         pos;
  gsize         op_pos;     /* where the current opcode starts */
  GPtrArray    *values;     /* every value made, owned here */
  GPtrArray    *buffers;    /* byte strings decoded from text */
  GPtrArray    *stack;      /* Value*, with &mark for MARK */
  GHashTable   *memo;       /* index -> Value* */
  char         *display;    /* file name for messages */
} Pickle;

static Value mark;

static void
value_free (gpointer data)
{
  Value *value = data;

  g_clear_pointer (&value->items, g_ptr_array_unref);
  g_free (value);
}

static void
pickle_init (Pickle     *pickle,
             GBytes     *contents,
             const char *path)
{
  memset (pickle, 0, sizeof *pickle);
  pickle->data = g_bytes_get_data (contents, &pickle->length);
  pickle->values = g_ptr_array_new_with_free_func (value_free);
  pickle->buffers = g_ptr_array_new_with_free_func (g_free);
  pickle->stack = g_ptr_array_new ();
  pickle->memo = g_hash_table_new (NULL, NULL);
  pickle->display = g_filename_display_name (path);
}

static void
pickle_clear (Pickle *pickle)
{
  g_clear_pointer (&pickle->memo, g_hash_table_unref);
  g_clear_pointer (&pickle->stack, g_ptr_array_unref);
  g_clear_pointer (&pickle->values, g_ptr_array_unref);
  g_clear_pointer (&pickle->buffers, g_ptr_array_unref);
  g_clear_pointer (&pickle->display, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pickle, pickle_clear)

/* Every message names the file and says what is wrong with it. */
G_GNUC_PRINTF (4, 5)
static void
pickle_error (Pickle      *pickle,
              GError     **error,
              int          code,
              const char  *format,
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
pickle_error_damaged (Pickle  *pickle,
                      GError **error)
{
  pickle_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                _("its structure is damaged at byte %zu (opcode 0x%02x)"),
                pickle->op_pos, (guint) pickle->data[pickle->op_pos]);
}

static gboolean
pickle_need (Pickle  *pickle,
             gsize    n,
             GError **error)
{
  if (pickle->length - pickle->pos < n)
    {
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_TRUNCATED, _("it ends early"));
      return FALSE;
    }

  return TRUE;
}

static guint32
read_u32_le (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static Value *
pickle_new_value (Pickle    *pickle,
                  ValueKind  kind,
                  GError   **error)
{
  Value *value;

  if (pickle->values->len >= MAX_VALUES)
    {
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                    _("it holds more objects than a CIFAR-10 batch"));
      return NULL;
    }

  value = g_new0 (Value, 1);
  value->kind = kind;
  if (kind == VALUE_TUPLE || kind == VALUE_LIST || kind == VALUE_DICT)
    value->items = g_ptr_array_new ();
  g_ptr_array_add (pickle->values, value);
  return value;
}

static gboolean
pickle_push_new (Pickle    *pickle,
                 ValueKind  kind,
                 gint64     integer,
                 GError   **error)
{
  Value *value = pickle_new_value (pickle, kind, error);

  if (value == NULL)
    return FALSE;

  value->integer = integer;
  g_ptr_array_add (pickle->stack, value);
  return TRUE;
}

static Value *
pickle_pop (Pickle  *pickle,
            GError **error)
{
  Value *value;

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

static Value *
pickle_top (Pickle     *pickle,
            ValueKind   kind,
            GError    **error)
{
  Value *value;

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
pickle_find_mark (Pickle  *pickle,
                  guint   *start,
                  GError **error)
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
pickle_drop_to_mark (Pickle *pickle,
                     guint   start)
{
  g_ptr_array_set_size (pickle->stack, start - 1);
}

static gboolean
value_is_string (const Value *value)
{
  return value->kind == VALUE_BYTES || value->kind == VALUE_STR;
}

static gboolean
value_string_equals (const Value *value,
                     const char  *text)
{
  gsize n = strlen (text);

  return value_is_string (value) && value->length == n && memcmp (value->data, text, n) == 0;
}

static gboolean
value_is_integer (const Value *value)
{
  return value->kind == VALUE_INT || value->kind == VALUE_BOOL;
}

static const Value *
dict_lookup (const Value *dict,
             const char  *key)
{
  /* From the end: a later SETITEM wins, as in Python. */
  for (guint i = dict->items->len; i >= 2; i -= 2)
    {
      const Value *k = g_ptr_array_index (dict->items, i - 2);

      if (value_string_equals (k, key))
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
pickle_read_string (Pickle     *pickle,
                    gsize       length_size,
                    gboolean    is_signed,
                    ValueKind   kind,
                    GError    **error)
{
  gsize length;
  Value *value;

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

  if (kind == VALUE_STR && !text_is_valid ((const char *) pickle->data + pickle->pos, length))
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
pickle_read_line (Pickle  *pickle,
                  char    *buffer,
                  GError **error)
{
  const guint8 *start = pickle->data + pickle->pos;
  const guint8 *end;
  gsize n;

  end = memchr (start, '\n', MIN (pickle->length - pickle->pos, (gsize) MAX_GLOBAL_NAME));
  if (end == NULL)
    {
      if (pickle->length - pickle->pos < MAX_GLOBAL_NAME)
        pickle_error (pickle, error, CONVOLVE_DATA_ERROR_TRUNCATED, _("it ends early"));
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
pickle_global (Pickle  *pickle,
               GError **error)
{
  char module[MAX_GLOBAL_NAME + 1];
  char name[MAX_GLOBAL_NAME + 1];

  if (!pickle_read_line (pickle, module, error) ||
      !pickle_read_line (pickle, name, error))
    return FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (allowed_globals); i++)
    {
      if (strcmp (module, allowed_globals[i].module) == 0 &&
          strcmp (name, allowed_globals[i].name) == 0)
        return pickle_push_new (pickle, VALUE_GLOBAL, allowed_globals[i].kind, error);
    }

  {
    g_autofree char *safe_module = g_utf8_make_valid (module, -1);
    g_autofree char *safe_name = g_utf8_make_valid (name, -1);

    /* TRANSLATORS: %s.%s is a Python name such as os.system */
    pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                  _("it refers to the Python object “%s.%s”, and pickles that "
                    "can run code are not loaded"),
                  safe_module, safe_name);
  }
  return FALSE;
}

/* _codecs.encode(text, 'latin1'): how Python 3 writes bytes in protocol 2. */
static Value *
reduce_encode (Pickle       *pickle,
               const Value  *args,
               GError      **error)
{
  const Value *text;
  const Value *encoding;
  const char *p;
  const char *end;
  guint8 *bytes;
  gsize n = 0;
  Value *value;

  if (args->items->len != 2)
    return NULL;
  text = g_ptr_array_index (args->items, 0);
  encoding = g_ptr_array_index (args->items, 1);
  if (text->kind != VALUE_STR ||
      !(value_string_equals (encoding, "latin1") || value_string_equals (encoding, "latin-1")))
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

  value = pickle_new_value (pickle, VALUE_BYTES, error);
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
pickle_reduce (Pickle  *pickle,
               GError **error)
{
  Value *args = pickle_pop (pickle, error);
  Value *callable;
  Value *result = NULL;

  if (args == NULL || (callable = pickle_pop (pickle, error)) == NULL)
    return FALSE;

  if (args->kind != VALUE_TUPLE || callable->kind != VALUE_GLOBAL)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  switch ((GlobalKind) callable->integer)
    {
    case GLOBAL_RECONSTRUCT:
      /* _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD */
      if (args->items->len == 3 &&
          ((Value *) g_ptr_array_index (args->items, 0))->kind == VALUE_GLOBAL &&
          ((Value *) g_ptr_array_index (args->items, 0))->integer == GLOBAL_NDARRAY &&
          ((Value *) g_ptr_array_index (args->items, 1))->kind == VALUE_TUPLE &&
          value_is_string (g_ptr_array_index (args->items, 2)))
        {
          result = pickle_new_value (pickle, VALUE_NDARRAY, error);
          if (result == NULL)
            return FALSE;
          result->items = g_ptr_array_new ();
        }
      break;

    case GLOBAL_DTYPE:
      /* dtype('u1', False, True) */
      if (args->items->len == 3)
        {
          const Value *descr = g_ptr_array_index (args->items, 0);

          if (value_is_string (descr) && descr->length > 0 && descr->length < sizeof result->dtype)
            {
              result = pickle_new_value (pickle, VALUE_DTYPE, error);
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
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
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
pickle_build (Pickle  *pickle,
              GError **error)
{
  Value *state = pickle_pop (pickle, error);
  Value *object;

  if (state == NULL)
    return FALSE;

  if (pickle->stack->len == 0 ||
      (object = g_ptr_array_index (pickle->stack, pickle->stack->len - 1)) == &mark)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  if (object->kind == VALUE_DTYPE && state->kind == VALUE_TUPLE)
    return TRUE;

  if (object->kind == VALUE_NDARRAY && !object->built &&
      state->kind == VALUE_TUPLE && state->items->len == 5)
    {
      const Value *shape = g_ptr_array_index (state->items, 1);
      const Value *dtype = g_ptr_array_index (state->items, 2);
      const Value *fortran = g_ptr_array_index (state->items, 3);
      const Value *raw = g_ptr_array_index (state->items, 4);
      gboolean shape_ok = shape->kind == VALUE_TUPLE;

      for (guint i = 0; shape_ok && i < shape->items->len; i++)
        {
          const Value *dim = g_ptr_array_index (shape->items, i);

          shape_ok = dim->kind == VALUE_INT && dim->integer >= 0;
        }

      if (shape_ok && dtype->kind == VALUE_DTYPE && value_is_integer (fortran) && raw->kind == VALUE_BYTES)
        {
          g_ptr_array_extend (object->items, shape->items, NULL, NULL);
          memcpy (object->dtype, dtype->dtype, sizeof object->dtype);
          object->fortran = fortran->integer != 0;
          object->data = raw->data;
          object->length = raw->length;
          object->built = TRUE;
          return TRUE;
        }
    }

  pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                _("it builds an object at byte %zu that is not part "
                  "of a CIFAR-10 batch"),
                pickle->op_pos);
  return FALSE;
}

static gboolean
pickle_memo_put (Pickle  *pickle,
                 guint32  index,
                 GError **error)
{
  Value *top;

  if (pickle->stack->len == 0 ||
      (top = g_ptr_array_index (pickle->stack, pickle->stack->len - 1)) == &mark)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  if (g_hash_table_size (pickle->memo) >= MAX_MEMO)
    {
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                    _("it holds more objects than a CIFAR-10 batch"));
      return FALSE;
    }

  g_hash_table_insert (pickle->memo, GUINT_TO_POINTER (index), top);
  return TRUE;
}

static gboolean
pickle_memo_get (Pickle  *pickle,
                 guint32  index,
                 GError **error)
{
  Value *value = g_hash_table_lookup (pickle->memo, GUINT_TO_POINTER (index));

  if (value == NULL)
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  g_ptr_array_add (pickle->stack, value);
  return TRUE;
}

static gboolean
pickle_make_tuple (Pickle  *pickle,
                   guint    n,
                   GError **error)
{
  Value *tuple;
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

  tuple = pickle_new_value (pickle, VALUE_TUPLE, error);
  if (tuple == NULL)
    return FALSE;

  for (guint i = start; i < pickle->stack->len; i++)
    g_ptr_array_add (tuple->items, g_ptr_array_index (pickle->stack, i));
  g_ptr_array_set_size (pickle->stack, start);
  g_ptr_array_add (pickle->stack, tuple);
  return TRUE;
}

/* TUPLE, APPENDS, SETITEMS: everything above the topmost mark. */
static gboolean
pickle_collect_to_mark (Pickle  *pickle,
                        guint8   op,
                        GError **error)
{
  Value *target;
  guint start;
  guint n;

  if (!pickle_find_mark (pickle, &start, error))
    return FALSE;
  n = pickle->stack->len - start;

  if (op == OP_TUPLE)
    {
      target = pickle_new_value (pickle, VALUE_TUPLE, error);
      if (target == NULL)
        return FALSE;
      for (guint i = start; i < pickle->stack->len; i++)
        g_ptr_array_add (target->items, g_ptr_array_index (pickle->stack, i));
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
      target->kind != (op == OP_APPENDS ? VALUE_LIST : VALUE_DICT) ||
      (op == OP_SETITEMS && n % 2 != 0))
    {
      pickle_error_damaged (pickle, error);
      return FALSE;
    }

  for (guint i = start; i < pickle->stack->len; i++)
    g_ptr_array_add (target->items, g_ptr_array_index (pickle->stack, i));
  pickle_drop_to_mark (pickle, start);
  return TRUE;
}

static gboolean
pickle_append_one (Pickle  *pickle,
                   guint8   op,
                   GError **error)
{
  Value *value = pickle_pop (pickle, error);
  Value *key = NULL;
  Value *target;

  if (value == NULL)
    return FALSE;
  if (op == OP_SETITEM && (key = pickle_pop (pickle, error)) == NULL)
    return FALSE;

  target = pickle_top (pickle, op == OP_APPEND ? VALUE_LIST : VALUE_DICT, error);
  if (target == NULL)
    return FALSE;

  if (key != NULL)
    g_ptr_array_add (target->items, key);
  g_ptr_array_add (target->items, value);
  return TRUE;
}

static gboolean
pickle_read_int (Pickle  *pickle,
                 guint8   op,
                 GError **error)
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
          pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
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

  return pickle_push_new (pickle, VALUE_INT, v, error);
}

/* Runs the opcodes up to STOP; returns the one value left. */
static const Value *
pickle_run (Pickle  *pickle,
            GError **error)
{
  guint8 op;

  if (pickle->length == 0)
    {
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_TRUNCATED, _("it is empty"));
      return NULL;
    }

  if (pickle->length < 2 || pickle->data[0] != OP_PROTO)
    {
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                    _("it is not a pickle of protocol 2 or 3"));
      return NULL;
    }

  if (pickle->data[1] != 2 && pickle->data[1] != 3)
    {
      pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
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
              pickle_error (pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                            _("it goes on after its end"));
              return NULL;
            }
          return g_ptr_array_index (pickle->stack, 0);

        case OP_MARK:
          g_ptr_array_add (pickle->stack, &mark);
          ok = TRUE;
          break;

        case OP_EMPTY_DICT:
          ok = pickle_push_new (pickle, VALUE_DICT, 0, error);
          break;

        case OP_EMPTY_LIST:
          ok = pickle_push_new (pickle, VALUE_LIST, 0, error);
          break;

        case OP_EMPTY_TUPLE:
          ok = pickle_push_new (pickle, VALUE_TUPLE, 0, error);
          break;

        case OP_NONE:
          ok = pickle_push_new (pickle, VALUE_NONE, 0, error);
          break;

        case OP_NEWTRUE:
        case OP_NEWFALSE:
          ok = pickle_push_new (pickle, VALUE_BOOL, op == OP_NEWTRUE, error);
          break;

        case OP_BININT:
        case OP_BININT1:
        case OP_BININT2:
        case OP_LONG1:
          ok = pickle_read_int (pickle, op, error);
          break;

        case OP_SHORT_BINSTRING:
        case OP_SHORT_BINBYTES:
          ok = pickle_read_string (pickle, 1, FALSE, VALUE_BYTES, error);
          break;

        case OP_BINSTRING:
          ok = pickle_read_string (pickle, 4, TRUE, VALUE_BYTES, error);
          break;

        case OP_BINBYTES:
          ok = pickle_read_string (pickle, 4, FALSE, VALUE_BYTES, error);
          break;

        case OP_BINUNICODE:
          ok = pickle_read_string (pickle, 4, FALSE, VALUE_STR, error);
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
          pickle_error (pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                        _("it uses the pickle opcode 0x%02x at byte %zu"
                          ", which is not part of a CIFAR-10 batch"),
                        (guint) op, pickle->op_pos);
          return NULL;
        }

      if (!ok)
        return NULL;
    }
}

void
convolve_pickle_batch_clear (ConvolvePickleBatch *batch)
{
  g_clear_pointer (&batch->pixels, g_bytes_unref);
  g_clear_pointer (&batch->labels, g_free);
  batch->n_images = 0;
}

static gboolean
array_is_images (const Value *array)
{
  const Value *rows;
  const Value *columns;

  if (array->kind != VALUE_NDARRAY || !array->built || array->fortran ||
      !(strcmp (array->dtype, "u1") == 0 || strcmp (array->dtype, "|u1") == 0) ||
      array->items->len != 2)
    return FALSE;

  rows = g_ptr_array_index (array->items, 0);
  columns = g_ptr_array_index (array->items, 1);
  return rows->integer > 0 && rows->integer <= G_MAXUINT32 &&
         columns->integer == CONVOLVE_CIFAR10_IMAGE_SIZE &&
         array->length == (gsize) rows->integer * CONVOLVE_CIFAR10_IMAGE_SIZE;
}

gboolean
convolve_pickle_read_batch (GBytes              *contents,
                            const char          *path,
                            ConvolvePickleBatch *batch,
                            GError             **error)
{
  g_auto(Pickle) pickle = { NULL, };
  const Value *root;
  const Value *data;
  const Value *labels;
  guint n_images;

  g_return_val_if_fail (contents != NULL && path != NULL && batch != NULL, FALSE);

  pickle_init (&pickle, contents, path);
  root = pickle_run (&pickle, error);
  if (root == NULL)
    return FALSE;

  if (root->kind != VALUE_DICT)
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT, _("it does not hold a dictionary"));
      return FALSE;
    }

  data = dict_lookup (root, "data");
  labels = dict_lookup (root, "labels");
  if (data == NULL || labels == NULL)
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                    _("it has no “data” and “labels” entries"));
      return FALSE;
    }

  if (!array_is_images (data))
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                    _("its “data” is not an array of uint8 images of 3072 bytes"));
      return FALSE;
    }
  n_images = (guint) ((const Value *) g_ptr_array_index (data->items, 0))->integer;

  if (labels->kind != VALUE_LIST)
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                    _("its “labels” are not a list"));
      return FALSE;
    }

  if (labels->items->len != n_images)
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                    _("it holds %u images but %u labels"), n_images, labels->items->len);
      return FALSE;
    }

  batch->labels = g_malloc (n_images);
  for (guint i = 0; i < n_images; i++)
    {
      const Value *label = g_ptr_array_index (labels->items, i);

      if (label->kind != VALUE_INT || label->integer < 0 ||
          label->integer >= CONVOLVE_CIFAR10_N_CLASSES)
        {
          convolve_pickle_batch_clear (batch);
          pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                        _("label %u is not a number from 0 to 9"), i + 1);
          return FALSE;
        }
      batch->labels[i] = (guint8) label->integer;
    }

  /* The pixels stay in the (mapped) file unless they had to be decoded. */
  {
    const guint8 *file_data = g_bytes_get_data (contents, NULL);

    if (data->data >= file_data && data->data + data->length <= file_data + g_bytes_get_size (contents))
      batch->pixels = g_bytes_new_from_bytes (contents, (gsize) (data->data - file_data), data->length);
    else
      batch->pixels = g_bytes_new (data->data, data->length);
  }
  batch->n_images = n_images;

  return TRUE;
}

char **
convolve_pickle_read_label_names (GBytes      *contents,
                                  const char  *path,
                                  GError     **error)
{
  g_auto(Pickle) pickle = { NULL, };
  g_autoptr(GPtrArray) names = NULL;
  const Value *root;
  const Value *list;

  g_return_val_if_fail (contents != NULL && path != NULL, NULL);

  pickle_init (&pickle, contents, path);
  root = pickle_run (&pickle, error);
  if (root == NULL)
    return NULL;

  if (root->kind != VALUE_DICT || (list = dict_lookup (root, "label_names")) == NULL ||
      list->kind != VALUE_LIST)
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                    _("it has no “label_names” list"));
      return NULL;
    }

  if (list->items->len != CONVOLVE_CIFAR10_N_CLASSES)
    {
      pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                    _("it lists %u class names, but CIFAR-10 has 10"), list->items->len);
      return NULL;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < list->items->len; i++)
    {
      const Value *name = g_ptr_array_index (list->items, i);

      if (!value_is_string (name))
        {
          pickle_error (&pickle, error, CONVOLVE_DATA_ERROR_FORMAT,
                        _("class name %u is not a string"), i + 1);
          return NULL;
        }
      g_ptr_array_add (names, g_strndup ((const char *) name->data, name->length));
    }

  return convolve_cifar10_class_names_from ((const char * const *) names->pdata, names->len);
}

/* One file of the layout, mapped. *contents is NULL (no error) when the
 * file does not exist. */
static gboolean
map_file (const char  *path,
          GBytes     **contents,
          GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) local_error = NULL;

  int fd;

  *contents = NULL;
  /* Not g_mapped_file_new(): its open() would wait forever on a FIFO. */
  fd = convolve_data_open_regular (path, &local_error);
  if (fd < 0)
    {
      if (g_error_matches (local_error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND))
        return TRUE;

      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local_error);
  close (fd);
  if (mapped == NULL)
    {
      convolve_data_propagate_io_error (error, g_steal_pointer (&local_error), path);
      return FALSE;
    }

  *contents = g_mapped_file_get_bytes (mapped);
  return TRUE;
}

static void
batch_array_clear (gpointer data)
{
  convolve_pickle_batch_clear (data);
}

static ConvolveDataset *
join_batches (GArray              *batches,
              const char * const  *class_names,
              GError             **error)
{
  g_autoptr(ConvolveDataset) dataset = NULL;
  guint64 total = 0;
  guint8 *pixels;
  guint8 *labels;

  for (guint i = 0; i < batches->len; i++)
    total += g_array_index (batches, ConvolvePickleBatch, i).n_images;

  if (total > G_MAXUINT32)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("Too many images (%" PRIu64 ")"), total);
      return NULL;
    }

  dataset = convolve_dataset_try_new ("cifar10", (guint) total, 3, 32, 32, class_names, error);
  if (dataset == NULL)
    return NULL;

  pixels = convolve_dataset_get_pixels_mutable (dataset);
  labels = convolve_dataset_get_labels_mutable (dataset);
  for (guint i = 0; i < batches->len; i++)
    {
      const ConvolvePickleBatch *batch = &g_array_index (batches, ConvolvePickleBatch, i);

      memcpy (pixels, g_bytes_get_data (batch->pixels, NULL), g_bytes_get_size (batch->pixels));
      memcpy (labels, batch->labels, batch->n_images);
      pixels += g_bytes_get_size (batch->pixels);
      labels += batch->n_images;
    }

  return g_steal_pointer (&dataset);
}

gboolean
convolve_cifar10_load_python (const char       *dir,
                              ConvolveDataset **train,
                              ConvolveDataset **test,
                              GCancellable     *cancellable,
                              GError          **error)
{
  g_autoptr(GArray) train_batches = NULL;
  g_autoptr(GArray) test_batches = NULL;
  g_autoptr(ConvolveDataset) train_set = NULL;
  g_autoptr(ConvolveDataset) test_set = NULL;
  g_auto(GStrv) class_names = NULL;
  g_autofree char *meta_path = NULL;
  g_autoptr(GBytes) meta = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL && test != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  train_batches = g_array_new (FALSE, TRUE, sizeof (ConvolvePickleBatch));
  g_array_set_clear_func (train_batches, batch_array_clear);
  test_batches = g_array_new (FALSE, TRUE, sizeof (ConvolvePickleBatch));
  g_array_set_clear_func (test_batches, batch_array_clear);

  for (int i = 0; i <= N_TRAIN_BATCHES; i++)
    {
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;
      g_autoptr(GBytes) contents = NULL;
      ConvolvePickleBatch batch = { 0, NULL, NULL };

      if (convolve_data_set_error_if_cancelled (cancellable, error))
        return FALSE;

      name = i < N_TRAIN_BATCHES ? g_strdup_printf ("data_batch_%d", i + 1) : g_strdup ("test_batch");
      path = g_build_filename (dir, name, NULL);
      if (!map_file (path, &contents, error))
        return FALSE;
      if (contents == NULL)
        continue;

      if (!convolve_pickle_read_batch (contents, path, &batch, error))
        return FALSE;

      g_array_append_val (i < N_TRAIN_BATCHES ? train_batches : test_batches, batch);
    }

  if (train_batches->len == 0)
    {
      g_autofree char *display = g_filename_display_name (dir);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                   _("No CIFAR-10 training batches (data_batch_1 … data_batch_5) in “%s”"),
                   display);
      return FALSE;
    }

  meta_path = g_build_filename (dir, "batches.meta", NULL);
  if (!map_file (meta_path, &meta, error))
    return FALSE;
  if (meta != NULL)
    class_names = convolve_pickle_read_label_names (meta, meta_path, error);
  else
    class_names = convolve_cifar10_standard_class_names ();
  if (class_names == NULL)
    return FALSE;

  train_set = join_batches (train_batches, (const char * const *) class_names, error);
  if (train_set == NULL)
    return FALSE;
  test_set = join_batches (test_batches, (const char * const *) class_names, error);
  if (test_set == NULL)
    return FALSE;

  *train = g_steal_pointer (&train_set);
  *test = g_steal_pointer (&test_set);
  return TRUE;
}
