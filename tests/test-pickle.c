/* test-pickle.c: the restricted pickle machine, on its own.
 *
 * Each pickle is written here byte by byte (the opcodes of Lib/pickle.py),
 * so the tests need no Python. The CIFAR-10 mapping on top of the machine
 * is tested in test-cifar10.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-pickle.h"
#include "resource-test-util.h"

/* A string literal and its length, NULs included. */
#define RAW(s) s, sizeof (s) - 1

/* ------------------------------------------------------------- writing */

static GByteArray *
pickle_start (void)
{
  GByteArray *bytes = g_byte_array_new ();

  g_byte_array_append (bytes, (const guint8 *) "\x80\x02", 2);
  return bytes;
}

static void
put (GByteArray *bytes,
     const char *data,
     gsize       n)
{
  g_byte_array_append (bytes, (const guint8 *) data, (guint) n);
}

static void
put_op (GByteArray *bytes,
        guint8      op)
{
  g_byte_array_append (bytes, &op, 1);
}

static void
put_u32 (GByteArray *bytes,
         guint32     v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

  g_byte_array_append (bytes, b, 4);
}

/* SHORT_BINSTRING */
static void
put_short_string (GByteArray *bytes,
                  const char *text)
{
  put_op (bytes, 'U');
  put_op (bytes, (guint8) strlen (text));
  put (bytes, text, strlen (text));
}

/* BINUNICODE */
static void
put_unicode (GByteArray *bytes,
             const char *text,
             gsize       n)
{
  put_op (bytes, 'X');
  put_u32 (bytes, (guint32) n);
  put (bytes, text, n);
}

static GBytes *
pickle_finish (GByteArray *bytes)
{
  put_op (bytes, '.');
  return g_byte_array_free_to_bytes (bytes);
}

/* ------------------------------------------------------------- running */

static ConvolvePickle *
load_ok (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  ConvolvePickle *pickle = convolve_pickle_load (bytes, "test.pickle", &error);

  g_assert_no_error (error);
  g_assert_nonnull (pickle);
  g_assert_nonnull (convolve_pickle_get_root (pickle));
  return pickle;
}

/* Loading fails with code, and the message names the file and, when
 * mentions is set, contains it. */
static void
assert_load_fails (GBytes     *bytes,
                   int         code,
                   const char *mentions)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolvePickle) pickle = convolve_pickle_load (bytes, "/tmp/evil/x.pickle", &error);

  g_assert_null (pickle);
  g_assert_error (error, CONVOLVE_DATA_ERROR, code);
  g_assert_nonnull (strstr (error->message, "/tmp/evil/x.pickle"));
  if (mentions != NULL && strstr (error->message, mentions) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, mentions);
}

static void
assert_raw_fails (const char *data,
                  gsize       n,
                  int         code,
                  const char *mentions)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, n);

  assert_load_fails (bytes, code, mentions);
}

static const ConvolvePickleValue *
item (const ConvolvePickleValue *value,
      guint                      i)
{
  g_assert_nonnull (value->items);
  g_assert_cmpuint (i, <, value->items->len);
  return convolve_pickle_value_get_item (value, i);
}

static void
assert_int (const ConvolvePickleValue *value,
            gint64                     expected)
{
  g_assert_cmpint (value->kind, ==, CONVOLVE_PICKLE_INT);
  g_assert_cmpint (value->integer, ==, expected);
}

/* --------------------------------------------------------------- tests */

/* Every integer opcode, with its sign rules. */
static void
test_integers (void)
{
  g_autoptr(GByteArray) bytes = pickle_start ();
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(ConvolvePickle) pickle = NULL;
  const ConvolvePickleValue *root;

  put_op (bytes, '(');
  put (bytes, "K\xfe", 2);                  /* BININT1: unsigned */
  put (bytes, "M\x34\x12", 3);              /* BININT2: unsigned */
  put (bytes, "J\xff\xff\xff\xff", 5);      /* BININT: signed */
  put (bytes, "\x8a\x01\xff", 3);           /* LONG1 -1 */
  put (bytes, "\x8a\x02\x00\x80", 4);       /* LONG1 -32768 (the sign bit is set) */
  put (bytes, "\x8a\x00", 2);               /* LONG1 0 */
  put (bytes, "\x8a\x05\x00\x00\x00\x00\x01", 7); /* LONG1 2^32 */
  put_op (bytes, 't');
  contents = pickle_finish (g_steal_pointer (&bytes));

  pickle = load_ok (contents);
  root = convolve_pickle_get_root (pickle);
  g_assert_cmpint (root->kind, ==, CONVOLVE_PICKLE_TUPLE);
  g_assert_cmpuint (root->items->len, ==, 7);
  assert_int (item (root, 0), 254);
  assert_int (item (root, 1), 0x1234);
  assert_int (item (root, 2), -1);
  assert_int (item (root, 3), -1);
  assert_int (item (root, 4), -32768);
  assert_int (item (root, 5), 0);
  assert_int (item (root, 6), G_GINT64_CONSTANT (1) << 32);

  /* LONG1 longer than 8 bytes: refused, not wrapped */
  assert_raw_fails (RAW ("\x80\x02\x8a\x09\0\0\0\0\0\0\0\0\x01."),
                    CONVOLVE_DATA_ERROR_UNSUPPORTED, "integer");
}

/* Strings, constants, tuples, lists and dicts, nested. */
static void
test_containers (void)
{
  g_autoptr(GByteArray) bytes = pickle_start ();
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(ConvolvePickle) pickle = NULL;
  const ConvolvePickleValue *root;
  const ConvolvePickleValue *list;
  const ConvolvePickleValue *tuple;

  put_op (bytes, '}');                      /* EMPTY_DICT */
  put_op (bytes, '(');                      /* MARK for SETITEMS */
  put_short_string (bytes, "list");
  put_op (bytes, ']');                      /* EMPTY_LIST */
  put_op (bytes, 'N');
  put_op (bytes, 'a');                      /* APPEND */
  put_op (bytes, '(');
  put_op (bytes, '\x88');                   /* NEWTRUE */
  put_op (bytes, '\x89');                   /* NEWFALSE */
  put_op (bytes, 'e');                      /* APPENDS */
  put_short_string (bytes, "tuples");
  put_op (bytes, ')');                      /* EMPTY_TUPLE */
  put (bytes, "K\x01\x85", 3);              /* TUPLE1 */
  put (bytes, "K\x01K\x02\x86", 5);         /* TUPLE2 */
  put_op (bytes, '\x87');                   /* TUPLE3 of the three */
  put_op (bytes, 'u');                      /* SETITEMS */
  put_unicode (bytes, "t\xc3\xa9xt", 5);     /* "téxt" */
  put (bytes, "T\x03\0\0\0abc", 8);         /* BINSTRING */
  put_op (bytes, 's');                      /* SETITEM */
  put (bytes, "C\x01k", 3);                 /* SHORT_BINBYTES */
  put (bytes, "B\x02\0\0\0vw", 7);          /* BINBYTES */
  put_op (bytes, 's');
  put (bytes, "C\x01k", 3);                 /* the same key again: the later wins */
  put (bytes, "K\x07", 2);
  put_op (bytes, 's');
  contents = pickle_finish (g_steal_pointer (&bytes));

  pickle = load_ok (contents);
  root = convolve_pickle_get_root (pickle);
  g_assert_cmpint (root->kind, ==, CONVOLVE_PICKLE_DICT);
  g_assert_cmpuint (root->items->len, ==, 2 * 5);

  list = convolve_pickle_value_lookup (root, "list");
  g_assert_nonnull (list);
  g_assert_cmpint (list->kind, ==, CONVOLVE_PICKLE_LIST);
  g_assert_cmpuint (list->items->len, ==, 3);
  g_assert_cmpint (item (list, 0)->kind, ==, CONVOLVE_PICKLE_NONE);
  g_assert_cmpint (item (list, 1)->kind, ==, CONVOLVE_PICKLE_BOOL);
  g_assert_cmpint (item (list, 1)->integer, ==, 1);
  g_assert_cmpint (item (list, 2)->integer, ==, 0);
  g_assert_true (convolve_pickle_value_is_integer (item (list, 2)));
  g_assert_false (convolve_pickle_value_is_integer (item (list, 0)));

  tuple = convolve_pickle_value_lookup (root, "tuples");
  g_assert_nonnull (tuple);
  g_assert_cmpint (tuple->kind, ==, CONVOLVE_PICKLE_TUPLE);
  g_assert_cmpuint (tuple->items->len, ==, 3);
  g_assert_cmpuint (item (tuple, 0)->items->len, ==, 0);
  g_assert_cmpuint (item (tuple, 1)->items->len, ==, 1);
  g_assert_cmpuint (item (tuple, 2)->items->len, ==, 2);
  assert_int (item (item (tuple, 2), 0), 1);
  assert_int (item (item (tuple, 2), 1), 2);

  /* text and byte strings are both strings as keys */
  g_assert_true (convolve_pickle_value_string_equals (item (root, 4), "t\xc3\xa9xt"));
  g_assert_cmpint (item (root, 4)->kind, ==, CONVOLVE_PICKLE_STR);
  g_assert_cmpint (convolve_pickle_value_lookup (root, "t\xc3\xa9xt")->kind, ==, CONVOLVE_PICKLE_BYTES);
  g_assert_true (convolve_pickle_value_string_equals (convolve_pickle_value_lookup (root, "t\xc3\xa9xt"), "abc"));
  assert_int (convolve_pickle_value_lookup (root, "k"), 7);
  g_assert_null (convolve_pickle_value_lookup (root, "missing"));
  g_assert_false (convolve_pickle_value_string_equals (item (root, 4), "t"));

  /* byte strings point into the pickle's contents */
  {
    const ConvolvePickleValue *abc = convolve_pickle_value_lookup (root, "t\xc3\xa9xt");
    gsize size;
    const guint8 *data = g_bytes_get_data (contents, &size);
    g_autoptr(GBytes) slice = convolve_pickle_value_dup_bytes (pickle, abc);

    g_assert_true (abc->data > data && abc->data + abc->length <= data + size);
    g_assert_cmpmem (g_bytes_get_data (slice, NULL), g_bytes_get_size (slice), "abc", 3);
  }
}

/* BINPUT/BINGET and LONG_BINPUT/LONG_BINGET give back the same value. */
static void
test_memo (void)
{
  g_autoptr(GByteArray) bytes = pickle_start ();
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(ConvolvePickle) pickle = NULL;
  const ConvolvePickleValue *root;

  put_op (bytes, '(');
  put_short_string (bytes, "shared");
  put (bytes, "q\x05", 2);                  /* BINPUT 5 */
  put_op (bytes, ']');
  put_op (bytes, 'r');                      /* LONG_BINPUT 70000 */
  put_u32 (bytes, 70000);
  put_op (bytes, 'j');                      /* LONG_BINGET 70000 */
  put_u32 (bytes, 70000);
  put_op (bytes, 'a');                      /* the list into itself */
  put (bytes, "h\x05", 2);                  /* BINGET 5 */
  put_op (bytes, 't');
  contents = pickle_finish (g_steal_pointer (&bytes));

  pickle = load_ok (contents);
  root = convolve_pickle_get_root (pickle);
  g_assert_cmpuint (root->items->len, ==, 3);
  g_assert_true (item (root, 0) == item (root, 2));
  g_assert_true (convolve_pickle_value_string_equals (item (root, 2), "shared"));
  /* a list that holds itself is harmless: nothing walks the values */
  g_assert_cmpint (item (root, 1)->kind, ==, CONVOLVE_PICKLE_LIST);
  g_assert_true (item (item (root, 1), 0) == item (root, 1));

  /* an index never put */
  assert_raw_fails (RAW ("\x80\x02K\x01q\x01h\x02."), CONVOLVE_DATA_ERROR_FORMAT, "byte 6");
  assert_raw_fails (RAW ("\x80\x02j\x01\0\0\0."), CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* a put with nothing to put */
  assert_raw_fails (RAW ("\x80\x02q\x01N."), CONVOLVE_DATA_ERROR_FORMAT, NULL);
  assert_raw_fails (RAW ("\x80\x02(q\x01N."), CONVOLVE_DATA_ERROR_FORMAT, NULL);
}

/* numpy.core.multiarray._reconstruct + BUILD, as numpy pickles an array. */
static GBytes *
make_ndarray_pickle (const char *module,
                     gboolean    python3_bytes)
{
  g_autoptr(GByteArray) bytes = pickle_start ();
  g_autofree char *global = g_strdup_printf ("c%s\n_reconstruct\n", module);

  put (bytes, global, strlen (global));
  put (bytes, "cnumpy\nndarray\n", 15);
  put (bytes, "K\x00\x85", 3);              /* (0,) */
  put_short_string (bytes, "b");
  put_op (bytes, '\x87');
  put_op (bytes, 'R');                      /* REDUCE */
  put_op (bytes, '(');                      /* the state: */
  put (bytes, "K\x01", 2);                  /* version */
  put (bytes, "K\x02K\x03\x86", 5);         /* shape (2, 3) */
  put (bytes, "cnumpy\ndtype\n", 13);
  put_short_string (bytes, "u1");
  put (bytes, "\x89\x88\x87R", 4);          /* dtype('u1', False, True) */
  put_op (bytes, '(');
  put (bytes, "K\x03", 2);
  put_short_string (bytes, "|");
  put (bytes, "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t", 16);
  put_op (bytes, 'b');                      /* the dtype's BUILD */
  put_op (bytes, '\x89');                   /* is_fortran */
  if (python3_bytes)
    {
      /* _codecs.encode("\x01\x02\x03\x04\xc3\xbf\x00", "latin1") */
      put (bytes, "c_codecs\nencode\n", 16);
      put_unicode (bytes, "\x01\x02\x03\x04\xc3\xbf\x00", 7);
      put_short_string (bytes, "latin1");
      put (bytes, "\x86R", 2);
    }
  else
    {
      put (bytes, "U\x06\x01\x02\x03\x04\xff\x00", 8);
    }
  put_op (bytes, 't');
  put_op (bytes, 'b');                      /* the array's BUILD */
  return pickle_finish (g_steal_pointer (&bytes));
}

static void
assert_ndarray (GBytes   *contents,
                gboolean  shares_contents)
{
  static const guint8 expected[] = { 1, 2, 3, 4, 0xff, 0 };
  g_autoptr(ConvolvePickle) pickle = load_ok (contents);
  const ConvolvePickleValue *array = convolve_pickle_get_root (pickle);
  g_autoptr(GBytes) pixels = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (contents, &size);
  const guint8 *got;

  g_assert_cmpint (array->kind, ==, CONVOLVE_PICKLE_NDARRAY);
  g_assert_true (array->built);
  g_assert_false (array->fortran);
  g_assert_cmpstr (array->dtype, ==, "u1");
  g_assert_cmpuint (array->items->len, ==, 2);
  assert_int (item (array, 0), 2);
  assert_int (item (array, 1), 3);
  g_assert_cmpmem (array->data, array->length, expected, sizeof expected);

  pixels = convolve_pickle_value_dup_bytes (pickle, array);
  got = g_bytes_get_data (pixels, NULL);
  g_assert_cmpmem (got, g_bytes_get_size (pixels), expected, sizeof expected);
  g_assert_cmpint (got >= data && got < data + size, ==, shares_contents);
}

static void
test_ndarray (void)
{
  g_autoptr(GBytes) numpy1 = make_ndarray_pickle ("numpy.core.multiarray", FALSE);
  g_autoptr(GBytes) numpy2 = make_ndarray_pickle ("numpy._core.multiarray", FALSE);
  g_autoptr(GBytes) python3 = make_ndarray_pickle ("numpy.core.multiarray", TRUE);

  assert_ndarray (numpy1, TRUE);
  assert_ndarray (numpy2, TRUE);
  /* bytes decoded from latin1 text cannot stay in the file */
  assert_ndarray (python3, FALSE);
}

/* Globals that are not markers for numpy or latin1 byte strings, opcodes
 * outside the reader's set, and allowed globals called with the wrong
 * arguments are refused before anything is made of them. */
static void
test_refused (void)
{
  static const struct {
    const char *data;
    gsize       length;
    const char *mentions;
  } cases[] = {
    { RAW ("\x80\x02\x63os\nsystem\nU\x02lsR."), "os.system" },
    { RAW ("\x80\x02\x63" "builtins\neval\n."), "builtins.eval" },
    { RAW ("\x80\x02\x63numpy\nload\n."), "numpy.load" },
    { RAW ("\x80\x02\x63numpy.core.multiarray\nscalar\n."), "numpy.core.multiarray.scalar" },
    /* INST, OBJ, STACK_GLOBAL, NEWOBJ, PERSID, EXT1, FRAME */
    { RAW ("\x80\x02(ios\nsystem\n."), "0x69" },
    { RAW ("\x80\x02(o."), "0x6f" },
    { RAW ("\x80\x02\x93."), "0x93" },
    { RAW ("\x80\x02)\x81."), "0x81" },
    { RAW ("\x80\x02P1\n."), "0x50" },
    { RAW ("\x80\x02\x82\x01."), "0x82" },
    { RAW ("\x80\x02\x95\x01\0\0\0\0\0\0\0N."), "0x95" },
    /* PROTO again in the middle */
    { RAW ("\x80\x02\x80\x02N."), "byte 2" },
    /* ndarray called directly, dtype with a bad descr, encode to utf-8 */
    { RAW ("\x80\x02\x63numpy\nndarray\n)R."), "byte 18" },
    { RAW ("\x80\x02\x63numpy\ndtype\nU\x0atoo-long-1\x85R."), "byte 28" },
    { RAW ("\x80\x02\x63_codecs\nencode\nX\x01\0\0\0aU\x05utf-8\x86R."), "byte 32" },
    /* BUILD on something that is not an array */
    { RAW ("\x80\x02]]b."), "byte 4" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      assert_raw_fails (cases[i].data, cases[i].length, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                        cases[i].mentions);
    }

  /* latin1 text above U+00FF has no bytes */
  assert_raw_fails (RAW ("\x80\x02\x63_codecs\nencode\nX\x02\0\0\0\xc4\x80U\x06latin1\x86R."),
                    CONVOLVE_DATA_ERROR_UNSUPPORTED, NULL);
  /* protocols */
  assert_raw_fails (RAW ("\x80\x04N."), CONVOLVE_DATA_ERROR_UNSUPPORTED, "protocol 4");
  assert_raw_fails (RAW ("\x80\x01N."), CONVOLVE_DATA_ERROR_UNSUPPORTED, "protocol 1");
  assert_raw_fails (RAW ("(dp0\n."), CONVOLVE_DATA_ERROR_FORMAT, NULL);

  /* protocol 3 is read too */
  {
    g_autoptr(GBytes) bytes = g_bytes_new (RAW ("\x80\x03N."));
    g_autoptr(ConvolvePickle) pickle = load_ok (bytes);

    g_assert_cmpint (convolve_pickle_get_root (pickle)->kind, ==, CONVOLVE_PICKLE_NONE);
  }
}

/* A damaged structure is FORMAT with the byte it was found at. */
static void
test_damaged (void)
{
  static const struct {
    const char *data;
    gsize       length;
  } cases[] = {
    { RAW ("\x80\x02.") },                    /* STOP on an empty stack */
    { RAW ("\x80\x02NN.") },                  /* two values left */
    { RAW ("\x80\x02(.") },                   /* only a mark left */
    { RAW ("\x80\x02Na.") },                  /* APPEND to nothing */
    { RAW ("\x80\x02}Na.") },                 /* APPEND to a dict */
    { RAW ("\x80\x02]NNs.") },                /* SETITEM on a list */
    { RAW ("\x80\x02}(Nu.") },                /* SETITEMS with an odd count */
    { RAW ("\x80\x02N(Ne.") },                /* APPENDS onto None */
    { RAW ("\x80\x02Ne.") },                  /* APPENDS without a mark */
    { RAW ("\x80\x02N\x86.") },               /* TUPLE2 of one */
    { RAW ("\x80\x02(N\x86.") },              /* TUPLE2 across a mark */
    { RAW ("\x80\x02t.") },                   /* TUPLE without a mark */
    { RAW ("\x80\x02NR.") },                  /* REDUCE of one value */
    { RAW ("\x80\x02NNR.") },                 /* REDUCE of None */
    { RAW ("\x80\x02Nb.") },                  /* BUILD with nothing to build */
    { RAW ("\x80\x02T\xff\xff\xff\xff.") },   /* negative BINSTRING length */
    { RAW ("\x80\x02X\x02\0\0\0\xff\xfe.") }, /* BINUNICODE that is not UTF-8 */
    { RAW ("\x80\x02N.junk") },               /* more after STOP */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      assert_raw_fails (cases[i].data, cases[i].length, CONVOLVE_DATA_ERROR_FORMAT, NULL);
    }

  /* the message says where */
  assert_raw_fails (RAW ("\x80\x02NNNa."), CONVOLVE_DATA_ERROR_FORMAT, "byte 5 (opcode 0x61)");
  /* text with NUL is still text */
  {
    g_autoptr(GBytes) bytes = g_bytes_new (RAW ("\x80\x02X\x03\0\0\0a\0b."));
    g_autoptr(ConvolvePickle) pickle = load_ok (bytes);

    g_assert_cmpuint (convolve_pickle_get_root (pickle)->length, ==, 3);
  }
}

/* Every cut of a valid pickle is an error, TRUNCATED once past the
 * protocol header. */
static void
test_truncated (void)
{
  g_autoptr(GBytes) whole = make_ndarray_pickle ("numpy.core.multiarray", TRUE);
  gsize size = g_bytes_get_size (whole);

  assert_raw_fails (RAW (""), CONVOLVE_DATA_ERROR_TRUNCATED, "empty");
  assert_raw_fails (RAW ("\x80"), CONVOLVE_DATA_ERROR_FORMAT, NULL);
  for (gsize cut = 2; cut < size; cut++)
    {
      g_autoptr(GBytes) part = g_bytes_new_from_bytes (whole, 0, cut);

      g_test_message ("cut at %" G_GSIZE_FORMAT, cut);
      assert_load_fails (part, CONVOLVE_DATA_ERROR_TRUNCATED, "ends early");
    }

  /* a length that points past the end */
  assert_raw_fails (RAW ("\x80\x02U\x40short."), CONVOLVE_DATA_ERROR_TRUNCATED, NULL);
  assert_raw_fails (RAW ("\x80\x02X\xff\xff\xff\x7f."), CONVOLVE_DATA_ERROR_TRUNCATED, NULL);
}

/* The limits that bound what a hostile file can make the machine
 * allocate, each at its edge; depth itself is not limited, as nothing
 * recurses. */
static void
test_limits (void)
{
  /* a global name: up to MAX_GLOBAL_NAME bytes with its newline */
  {
    g_autoptr(GByteArray) bytes = pickle_start ();
    g_autoptr(GBytes) contents = NULL;

    put_op (bytes, 'c');
    for (int i = 0; i < CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME + 10; i++)
      put_op (bytes, 'a');
    put (bytes, "\nb\n", 3);
    contents = pickle_finish (g_steal_pointer (&bytes));
    assert_load_fails (contents, CONVOLVE_DATA_ERROR_FORMAT, "byte 2");
  }
  {
    g_autoptr(GByteArray) bytes = pickle_start ();
    g_autoptr(GBytes) contents = NULL;

    put_op (bytes, 'c');
    for (int i = 0; i < CONVOLVE_LIMIT_PICKLE_GLOBAL_NAME - 1; i++)
      put_op (bytes, 'a');
    put (bytes, "\nb\n", 3);
    contents = pickle_finish (g_steal_pointer (&bytes));
    /* read in full, then refused by name */
    assert_load_fails (contents, CONVOLVE_DATA_ERROR_UNSUPPORTED, "aaaa.b");
  }

  /* values: a list of MAX_VALUES - 1 empty lists is MAX_VALUES values */
  for (int extra = 0; extra <= 1; extra++)
    {
      g_autoptr(GByteArray) bytes = pickle_start ();
      g_autoptr(GBytes) contents = NULL;

      put_op (bytes, ']');
      for (int i = 0; i < CONVOLVE_LIMIT_PICKLE_VALUES - 1 + extra; i++)
        put (bytes, "]a", 2);
      contents = pickle_finish (g_steal_pointer (&bytes));

      if (extra == 0)
        {
          g_autoptr(ConvolvePickle) pickle = load_ok (contents);

          g_assert_cmpuint (convolve_pickle_get_root (pickle)->items->len, ==,
                            CONVOLVE_LIMIT_PICKLE_VALUES - 1);
        }
      else
        {
          assert_load_fails (contents, CONVOLVE_DATA_ERROR_UNSUPPORTED, "more objects");
        }
    }

  /* memo entries: MAX_MEMO distinct indices, then one more */
  for (int extra = 0; extra <= 1; extra++)
    {
      g_autoptr(GByteArray) bytes = pickle_start ();
      g_autoptr(GBytes) contents = NULL;

      put_op (bytes, 'N');
      for (guint32 i = 0; i < CONVOLVE_LIMIT_PICKLE_MEMO + (guint32) extra; i++)
        {
          put_op (bytes, 'r');
          put_u32 (bytes, i);
        }
      contents = pickle_finish (g_steal_pointer (&bytes));

      if (extra == 0)
        {
          g_autoptr(ConvolvePickle) pickle = load_ok (contents);

          g_assert_cmpint (convolve_pickle_get_root (pickle)->kind, ==, CONVOLVE_PICKLE_NONE);
        }
      else
        {
          assert_load_fails (contents, CONVOLVE_DATA_ERROR_UNSUPPORTED, "more objects");
        }
    }

  /* nesting: 100,000 lists deep, built and closed without recursion */
  {
    const int depth = 100000;
    g_autoptr(GByteArray) bytes = pickle_start ();
    g_autoptr(GBytes) contents = NULL;
    g_autoptr(ConvolvePickle) pickle = NULL;
    const ConvolvePickleValue *value;
    int levels = 0;

    for (int i = 0; i < depth; i++)
      put_op (bytes, ']');
    for (int i = 1; i < depth; i++)
      put_op (bytes, 'a');
    contents = pickle_finish (g_steal_pointer (&bytes));

    pickle = load_ok (contents);
    for (value = convolve_pickle_get_root (pickle); value->items->len == 1; value = item (value, 0))
      levels++;
    g_assert_cmpint (levels, ==, depth - 1);
    g_assert_cmpuint (value->items->len, ==, 0);
  }
}

/* Memo fetches cost two bytes; whatever copies what they fetch is
 * budgeted against the file's size. Each pickle here is about 200 KB;
 * before the budget, the first two took 1.6 GB and 800 MB. Run in a
 * subprocess so that its peak memory is its own. */
static GBytes *
make_encode_bomb (gsize text_length, guint repeats)
{
  g_autoptr(GByteArray) bytes = pickle_start ();
  g_autofree char *text = g_malloc (text_length);

  memset (text, 'x', text_length);
  put_op (bytes, ']');                        /* everything goes into a list */
  put (bytes, "c_codecs\nencode\nq\x00" "a", 19); /* memo 0: the global */
  put_unicode (bytes, text, text_length);
  put (bytes, "q\x01" "a", 3);                   /* memo 1: the text */
  put_short_string (bytes, "latin1");
  put (bytes, "q\x02" "a", 3);                   /* memo 2: the encoding */
  for (guint i = 0; i < repeats; i++)
    put (bytes, "h\x00h\x01h\x02\x86Ra", 9);  /* encode(text, "latin1") again */
  return pickle_finish (g_steal_pointer (&bytes));
}

/* A list of the five memoized parts, then arrays, each built with the
 * memoized shape of rank dimensions. */
static GBytes *
make_shape_bomb (guint rank, guint repeats)
{
  g_autoptr(GByteArray) bytes = pickle_start ();

  put_op (bytes, ']');
  put (bytes, "cnumpy.core.multiarray\n_reconstruct\nq\x00" "a", 39);
  put (bytes, "cnumpy\nndarray\nK\x00\x85", 18);
  put_short_string (bytes, "b");
  put (bytes, "\x87q\x01" "a", 4);                  /* memo 1: its arguments */
  put_op (bytes, '(');                          /* memo 2: the shape */
  for (guint d = 0; d < rank; d++)
    put (bytes, "K\x01", 2);
  put (bytes, "tq\x02" "a", 4);
  put (bytes, "cnumpy\ndtype\n", 13);
  put_short_string (bytes, "u1");
  put (bytes, "\x89\x88\x87Rq\x03" "a", 7);         /* memo 3: the dtype */
  put (bytes, "U\x01\x07q\x04" "a", 6);             /* memo 4: one byte of data */
  for (guint i = 0; i < repeats; i++)
    /* _reconstruct(*args).__setstate__((1, shape, dtype, False, data)) */
    put (bytes, "h\x00h\x01R(K\x01h\x02h\x03\x89h\x04tba", 18);
  return pickle_finish (g_steal_pointer (&bytes));
}

static void
test_amplification (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  {
    g_autoptr(GBytes) bomb = make_encode_bomb (65536, 16000);
    ResourceProbe probe = resource_probe_begin ();

    g_test_message ("encode bomb: %zu bytes", g_bytes_get_size (bomb));
    assert_load_fails (bomb, CONVOLVE_DATA_ERROR_UNSUPPORTED, "limit");
    resource_probe_check (&probe, "encode bomb", 1000, 32);
  }
  {
    g_autoptr(GBytes) bomb = make_shape_bomb (12000, 10000);
    ResourceProbe probe = resource_probe_begin ();

    g_test_message ("shape bomb: %zu bytes", g_bytes_get_size (bomb));
    assert_load_fails (bomb, CONVOLVE_DATA_ERROR_UNSUPPORTED, "12000 dimensions");
    resource_probe_check (&probe, "shape bomb", 1000, 32);
  }
  {
    /* the same with two dimensions is a list of 10,000 arrays */
    g_autoptr(GBytes) arrays = make_shape_bomb (2, 10000);
    g_autoptr(ConvolvePickle) pickle = load_ok (arrays);
    const ConvolvePickleValue *root = convolve_pickle_get_root (pickle);

    g_assert_cmpuint (root->items->len, ==, 5 + 10000);
    g_assert_cmpint (item (root, 10004)->kind, ==, CONVOLVE_PICKLE_NDARRAY);
    g_assert_cmpuint (item (root, 10004)->items->len, ==, 2);
    g_assert_cmpuint (item (root, 10004)->length, ==, 1);
  }
  {
    /* a few encodes of a memoized text are within the budget */
    g_autoptr(GBytes) few = make_encode_bomb (4096, 64);

    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolvePickle) pickle = convolve_pickle_load (few, "few.pickle", &error);

      g_assert_no_error (error);
      g_assert_cmpuint (convolve_pickle_get_root (pickle)->items->len, ==, 3 + 64);
      g_assert_cmpint (item (convolve_pickle_get_root (pickle), 66)->kind, ==, CONVOLVE_PICKLE_BYTES);
      g_assert_cmpuint (item (convolve_pickle_get_root (pickle), 66)->length, ==, 4096);
    }
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/pickle/integers", test_integers);
  g_test_add_func ("/data/pickle/containers", test_containers);
  g_test_add_func ("/data/pickle/memo", test_memo);
  g_test_add_func ("/data/pickle/ndarray", test_ndarray);
  g_test_add_func ("/data/pickle/refused", test_refused);
  g_test_add_func ("/data/pickle/damaged", test_damaged);
  g_test_add_func ("/data/pickle/truncated", test_truncated);
  g_test_add_func ("/data/pickle/limits", test_limits);
  g_test_add_func ("/data/pickle/amplification", test_amplification);

  return g_test_run ();
}
