/* test-json.c: the strict JSON reader and the string writer of model files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-json.h"
#include "resource-test-util.h"

/* Parses all of text, which must succeed. */
static ConvolveJsonValue *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  gsize offset = 0;
  ConvolveJsonValue *value = convolve_json_parse (text, strlen (text), &offset, &error);

  if (value == NULL)
    g_test_message ("“%s”: %s at byte %zu", text, error->message, offset);
  g_assert_no_error (error);
  g_assert_nonnull (value);
  return value;
}

/* Parses length bytes of text, which must fail with problem at offset. */
static void
expect_problem_len (const char *text, gsize length, const char *problem, gsize offset)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveJsonValue) value = NULL;
  gsize found = G_MAXSIZE;

  value = convolve_json_parse (text, length, &found, &error);
  if (value != NULL)
    g_test_message ("“%.*s” was accepted", (int) length, text);
  g_assert_null (value);
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT);
  g_assert_cmpstr (error->message, ==, problem);
  g_assert_cmpuint (found, ==, offset);
}

static void
expect_problem (const char *text, const char *problem, gsize offset)
{
  expect_problem_len (text, strlen (text), problem, offset);
}

/* The one string a document "[\"...\"]" or "\"...\"" holds. */
static char *
parse_string (const char *text)
{
  g_autoptr(ConvolveJsonValue) value = parse_ok (text);

  g_assert_cmpint (convolve_json_value_get_kind (value), ==, CONVOLVE_JSON_STRING);
  return g_strdup (convolve_json_value_get_string (value));
}

static void
test_json_scalars (void)
{
  struct { const char *text; ConvolveJsonKind kind; } cases[] = {
    { "null", CONVOLVE_JSON_NULL },
    { "true", CONVOLVE_JSON_BOOLEAN },
    { "false", CONVOLVE_JSON_BOOLEAN },
    { "0", CONVOLVE_JSON_NUMBER },
    { "\"\"", CONVOLVE_JSON_STRING },
    { "[]", CONVOLVE_JSON_ARRAY },
    { "{}", CONVOLVE_JSON_OBJECT },
    { " \t\r\n[ ] \n", CONVOLVE_JSON_ARRAY },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(ConvolveJsonValue) value = parse_ok (cases[i].text);

      g_assert_cmpint (convolve_json_value_get_kind (value), ==, cases[i].kind);
      g_assert_cmpuint (convolve_json_value_get_length (value), ==, 0);
      g_assert_null (convolve_json_value_get_key (value));
      if (cases[i].kind != CONVOLVE_JSON_STRING)
        g_assert_null (convolve_json_value_get_string (value));
    }

  expect_problem ("", "an unexpected end", 0);
  expect_problem ("  \n", "an unexpected end", 3);
  expect_problem ("tru", "an unexpected character", 0);
  expect_problem ("nul", "an unexpected character", 0);
  expect_problem ("True", "an unexpected character", 0);
  expect_problem ("nan", "an unexpected character", 0);
  expect_problem ("'a'", "an unexpected character", 0);
}

static void
test_json_tree (void)
{
  g_autoptr(ConvolveJsonValue) root =
    parse_ok ("{\"b\": [1, \"two\", null], \"a\": {\"x\": true}, \"c\": \"see\"}");
  const ConvolveJsonValue *b, *a, *element;

  g_assert_cmpint (convolve_json_value_get_kind (root), ==, CONVOLVE_JSON_OBJECT);
  g_assert_cmpuint (convolve_json_value_get_length (root), ==, 3);

  /* Members come in file order, each with its key. */
  g_assert_cmpstr (convolve_json_value_get_key (convolve_json_value_get_element (root, 0)), ==, "b");
  g_assert_cmpstr (convolve_json_value_get_key (convolve_json_value_get_element (root, 1)), ==, "a");
  g_assert_cmpstr (convolve_json_value_get_key (convolve_json_value_get_element (root, 2)), ==, "c");

  b = convolve_json_value_get_member (root, "b");
  g_assert_true (b == convolve_json_value_get_element (root, 0));
  g_assert_cmpint (convolve_json_value_get_kind (b), ==, CONVOLVE_JSON_ARRAY);
  g_assert_cmpuint (convolve_json_value_get_length (b), ==, 3);
  element = convolve_json_value_get_element (b, 1);
  g_assert_cmpstr (convolve_json_value_get_string (element), ==, "two");
  g_assert_null (convolve_json_value_get_key (element));
  g_assert_cmpint (convolve_json_value_get_kind (convolve_json_value_get_element (b, 2)), ==,
                   CONVOLVE_JSON_NULL);
  /* An array has no members. */
  g_assert_null (convolve_json_value_get_member (b, "0"));

  a = convolve_json_value_get_member (root, "a");
  g_assert_cmpint (convolve_json_value_get_kind (convolve_json_value_get_member (a, "x")), ==,
                   CONVOLVE_JSON_BOOLEAN);
  g_assert_cmpstr (convolve_json_value_get_string (convolve_json_value_get_member (root, "c")), ==,
                   "see");

  g_assert_null (convolve_json_value_get_member (root, "x"));
  g_assert_null (convolve_json_value_get_member (root, "B"));
  g_assert_null (convolve_json_value_get_member (NULL, "a"));
}

static char *
nested_arrays (int depth, const char *inner)
{
  GString *text = g_string_new (NULL);

  for (int i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  g_string_append (text, inner);
  for (int i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

static void
test_json_depth (void)
{
  g_autofree char *deepest = nested_arrays (CONVOLVE_LIMIT_JSON_DEPTH, "1");
  g_autofree char *too_deep = nested_arrays (CONVOLVE_LIMIT_JSON_DEPTH + 1, "1");
  g_autofree char *far_too_deep = nested_arrays (100000, "");
  g_autoptr(ConvolveJsonValue) value = NULL;
  g_autoptr(GString) objects = g_string_new (NULL);
  g_autoptr(GString) siblings = g_string_new ("[");
  gsize last_opener = 0;

  g_assert_cmpint (CONVOLVE_LIMIT_JSON_DEPTH, ==, 16);

  value = parse_ok (deepest);
  g_clear_pointer (&value, convolve_json_value_free);
  /* The 17th bracket is the one refused. */
  expect_problem (too_deep, "too deeply nested values", CONVOLVE_LIMIT_JSON_DEPTH);
  /* Refused long before the recursion could exhaust the stack. */
  expect_problem (far_too_deep, "too deeply nested values", CONVOLVE_LIMIT_JSON_DEPTH);

  /* Objects count as well, and so do arrays and objects mixed. */
  for (int i = 0; i < CONVOLVE_LIMIT_JSON_DEPTH + 1; i++)
    {
      last_opener = objects->len;
      g_string_append (objects, i % 2 == 0 ? "{\"k\":" : "[");
    }
  expect_problem (objects->str, "too deeply nested values", last_opener);

  /* Depth is nesting, not the number of containers: many siblings at
   * depth 2 are fine. */
  for (int i = 0; i < 1000; i++)
    g_string_append (siblings, i > 0 ? ",[]" : "[]");
  g_string_append_c (siblings, ']');
  value = parse_ok (siblings->str);
  g_assert_cmpuint (convolve_json_value_get_length (value), ==, 1000);
}

static void
test_json_duplicate_keys (void)
{
  g_autoptr(ConvolveJsonValue) nested = NULL;

  expect_problem ("{\"a\":1,\"a\":2}", "a key that occurs twice in one object", 10);
  expect_problem ("{\"a\":1,\"b\":2,\"a\":{}}", "a key that occurs twice in one object", 16);
  /* Keys compare after unescaping. */
  expect_problem ("{\"a\":1,\"\\u0061\":2}", "a key that occurs twice in one object", 15);
  expect_problem ("{\"x\":{\"a\":1,\"a\":2}}", "a key that occurs twice in one object", 15);

  /* The same key in different objects, and keys that differ in case. */
  nested = parse_ok ("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}],\"A\":0}");
  g_assert_cmpuint (convolve_json_value_get_length (nested), ==, 3);
}

static void
test_json_numbers (void)
{
  const char *valid[] = {
    "0", "-0", "7", "-7", "1234567890", "0.5", "-0.5", "3.25", "1e5", "1E5",
    "1e+5", "1e-5", "-1.5e-300", "0e0", "-0.0e-0", "1e999999",
    "123456789012345678901234567890",
  };
  struct { const char *text; const char *problem; gsize offset; } invalid[] = {
    { "-", "a malformed number", 1 },
    { "--1", "a malformed number", 1 },
    { "+1", "an unexpected character", 0 },
    { ".5", "an unexpected character", 0 },
    { "1.", "a malformed number", 2 },
    { "1.e5", "a malformed number", 2 },
    { "1e", "a malformed number", 2 },
    { "1e+", "a malformed number", 3 },
    { "1e5.0", "text after its end", 3 },
    { "0x10", "text after its end", 1 },
    { "1 2", "text after its end", 2 },
    { "[1.5.2]", "an array without its closing bracket", 4 },
    { "Infinity", "an unexpected character", 0 },
    { "-Infinity", "a malformed number", 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(ConvolveJsonValue) value = parse_ok (valid[i]);

      g_assert_cmpint (convolve_json_value_get_kind (value), ==, CONVOLVE_JSON_NUMBER);
      g_assert_null (convolve_json_value_get_string (value));
    }
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    expect_problem (invalid[i].text, invalid[i].problem, invalid[i].offset);
}

static void
test_json_leading_zeros (void)
{
  g_autoptr(ConvolveJsonValue) zero_point = parse_ok ("[0, 0.05, -0, -0.5, 0e1]");

  g_assert_cmpuint (convolve_json_value_get_length (zero_point), ==, 5);
  expect_problem ("01", "text after its end", 1);
  expect_problem ("00", "text after its end", 1);
  expect_problem ("-01", "text after its end", 2);
  expect_problem ("[01]", "an array without its closing bracket", 2);
  expect_problem ("{\"a\":007}", "an object without its closing brace", 6);
}

/* Counts: the integers a safetensors header holds (shapes, offsets). */
static void
test_json_counts (void)
{
  struct { const char *text; guint64 max; gboolean ok; guint64 value; } cases[] = {
    { "0", 0, TRUE, 0 },
    { "42", 100, TRUE, 42 },
    { "100", 100, TRUE, 100 },
    { "101", 100, FALSE, 0 },
    { "5", 3, FALSE, 0 },          /* one digit, above a small max */
    { "3", 3, TRUE, 3 },
    { "16384", 16384, TRUE, 16384 },
    { "16385", 16384, FALSE, 0 },
    { "2147483647", G_MAXINT32, TRUE, G_MAXINT32 },
    { "2147483648", G_MAXINT32, FALSE, 0 },
    { "9223372036854775807", G_MAXINT64, TRUE, G_MAXINT64 },
    { "9223372036854775808", G_MAXINT64, FALSE, 0 },
    { "18446744073709551615", G_MAXUINT64, TRUE, G_MAXUINT64 },
    { "18446744073709551616", G_MAXUINT64, FALSE, 0 },  /* overflows 64 bits */
    { "99999999999999999999999", G_MAXUINT64, FALSE, 0 },
    { "-0", G_MAXUINT64, FALSE, 0 },     /* a count has no sign, */
    { "-1", G_MAXUINT64, FALSE, 0 },
    { "1.0", G_MAXUINT64, FALSE, 0 },    /* no fraction */
    { "1e3", G_MAXUINT64, FALSE, 0 },    /* and no exponent */
    { "0.0", G_MAXUINT64, FALSE, 0 },
  };
  g_autoptr(ConvolveJsonValue) not_numbers = parse_ok ("[\"1\", true, null, [1]]");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(ConvolveJsonValue) value = parse_ok (cases[i].text);
      guint64 out = 12345;
      gboolean ok = convolve_json_value_get_count (value, cases[i].max, &out);

      if (ok != cases[i].ok)
        g_test_message ("count “%s” up to %" G_GUINT64_FORMAT, cases[i].text, cases[i].max);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpuint (out, ==, cases[i].ok ? cases[i].value : 12345);
    }

  for (guint i = 0; i < convolve_json_value_get_length (not_numbers); i++)
    {
      guint64 out = 0;

      g_assert_false (convolve_json_value_get_count (convolve_json_value_get_element (not_numbers, i),
                                                     G_MAXUINT64, &out));
    }
  {
    guint64 out = 0;

    g_assert_false (convolve_json_value_get_count (NULL, G_MAXUINT64, &out));
  }
}

static void
test_json_escapes (void)
{
  struct { const char *text; const char *value; } cases[] = {
    { "\"plain\"", "plain" },
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t" },
    { "\"\\u0041\\u00e9\\u00E9\"", "A\xc3\xa9\xc3\xa9" },
    { "\"\\u20ac\"", "\xe2\x82\xac" },                 /* U+20AC, three bytes */
    { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },      /* U+1F600, a surrogate pair */
    { "\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e" },      /* U+1D11E, upper-case hex */
    { "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf" },      /* U+10FFFF, the last */
    { "\"\\u001f\"", "\x1f" },
    { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *value = parse_string (cases[i].text);

      g_assert_cmpstr (value, ==, cases[i].value);
    }

  expect_problem ("\"\\udc00\"", "a lone low surrogate in a \\u escape", 7);
  expect_problem ("\"\\ude00\\ud83d\"", "a lone low surrogate in a \\u escape", 7);
  expect_problem ("\"\\ud83d\"", "a high surrogate without its low half", 7);
  expect_problem ("\"\\ud83d!\"", "a high surrogate without its low half", 7);
  expect_problem ("\"\\ud83d\\n\"", "a high surrogate without its low half", 7);
  expect_problem ("\"\\ud83d\\u0041\"", "a high surrogate without its low half", 13);
  expect_problem ("\"\\ud83d\\ud83d\"", "a high surrogate without its low half", 13);
  expect_problem ("\"\\ud83d\\udc", "an unfinished \\u escape", 9);
  expect_problem ("\"\\u12\"", "an unfinished \\u escape", 3);
  expect_problem ("\"\\u12g4\"", "a malformed \\u escape", 3);
  expect_problem ("\"\\u+123\"", "a malformed \\u escape", 3);
  expect_problem ("\"\\U0041\"", "an unknown escape sequence", 3);
  expect_problem ("\"\\q\"", "an unknown escape sequence", 3);
  expect_problem ("\"\\'\"", "an unknown escape sequence", 3);
  expect_problem ("\"\\u0000\"", "a NUL character inside a string", 7);
  expect_problem ("\"a\x01\"", "a control character inside a string", 3);
  expect_problem ("\"a\nb\"", "a control character inside a string", 3);
  expect_problem ("\"a\tb\"", "a control character inside a string", 3);
  expect_problem ("\"abc", "an unterminated string", 4);
  expect_problem ("\"abc\\", "an unterminated string", 5);
  expect_problem ("[\"a\" \"b\"]", "an array without its closing bracket", 5);
}

static void
test_json_utf8 (void)
{
  static const char with_nul[] = "[\"a\0b\"]";

  expect_problem ("\"caf\xff\"", "text that is not valid UTF-8", 0);
  expect_problem ("\"\xc3\"", "text that is not valid UTF-8", 0);           /* truncated */
  expect_problem ("\"\xc0\xaf\"", "text that is not valid UTF-8", 0);       /* overlong */
  expect_problem ("\"\xed\xa0\x80\"", "text that is not valid UTF-8", 0);   /* a raw surrogate */
  /* A raw NUL byte inside the given length is not text either. */
  expect_problem_len (with_nul, sizeof with_nul - 1, "text that is not valid UTF-8", 0);
}

static void
test_json_trailing (void)
{
  g_autoptr(ConvolveJsonValue) spaced = parse_ok ("{\"a\":[1]} \t\r\n");

  expect_problem ("{} x", "text after its end", 3);
  expect_problem ("{}}", "text after its end", 2);
  expect_problem ("[1]]", "text after its end", 3);
  expect_problem ("{}{}", "text after its end", 2);
  expect_problem ("\"a\"\"b\"", "text after its end", 3);
  expect_problem ("null,", "text after its end", 4);
  expect_problem ("[1,]", "an unexpected character", 3);
  expect_problem ("[,1]", "an unexpected character", 1);
  expect_problem ("[1 2]", "an array without its closing bracket", 3);
  expect_problem ("[1", "an array without its closing bracket", 2);
  expect_problem ("[", "an unexpected end", 1);
  expect_problem ("{\"a\":1,}", "an object key that is not a string", 7);
  expect_problem ("{1:2}", "an object key that is not a string", 1);
  expect_problem ("{\"a\" 1}", "a key without a colon after it", 5);
  expect_problem ("{\"a\":1 \"b\":2}", "an object without its closing brace", 7);
  expect_problem ("{\"a\":", "an unexpected end", 5);
  expect_problem ("{", "an object key that is not a string", 1);
}

/* The reader reads the given length and no further, and bounds depth, not
 * width or string length: the model file bounds the header's size. */
static void
test_json_length (void)
{
  static const char text[] = "[1] trailing";
  g_autoptr(ConvolveJsonValue) prefix = NULL;
  g_autoptr(ConvolveJsonValue) wide = NULL;
  g_autoptr(ConvolveJsonValue) long_string = NULL;
  g_autoptr(GString) many = g_string_new ("[");
  g_autoptr(GString) big = g_string_new ("\"");
  g_autofree char *unterminated = g_strdup ("\"abc\"");
  guint64 last = 0;

  prefix = convolve_json_parse (text, 3, NULL, NULL);
  g_assert_nonnull (prefix);
  g_assert_cmpuint (convolve_json_value_get_length (prefix), ==, 1);
  expect_problem_len (text, 2, "an array without its closing bracket", 2);
  expect_problem_len (text, 5, "text after its end", 4);
  /* Cut inside a string, a literal and a number. */
  expect_problem_len (unterminated, 4, "an unterminated string", 4);
  expect_problem_len ("true", 3, "an unexpected character", 0);
  expect_problem_len ("[1e5]", 3, "a malformed number", 3);
  /* Nothing at all. */
  expect_problem_len ("", 0, "an unexpected end", 0);

  for (int i = 0; i < 100000; i++)
    g_string_append_printf (many, i > 0 ? ",%d" : "%d", i);
  g_string_append_c (many, ']');
  wide = parse_ok (many->str);
  g_assert_cmpuint (convolve_json_value_get_length (wide), ==, 100000);
  g_assert_true (convolve_json_value_get_count (convolve_json_value_get_element (wide, 99999),
                                                G_MAXUINT64, &last));
  g_assert_cmpuint (last, ==, 99999);

  for (int i = 0; i < (1 << 20); i++)
    g_string_append_c (big, (char) ('a' + i % 26));
  g_string_append_c (big, '"');
  long_string = parse_ok (big->str);
  g_assert_cmpuint (strlen (convolve_json_value_get_string (long_string)), ==, 1 << 20);
}

/* Whatever the writer writes, the reader reads back as it was. */
static void
test_json_writer_round_trip (void)
{
  g_autoptr(GString) all_ascii = g_string_new (NULL);
  const char *texts[] = {
    "", "plain", "with \"quotes\" and \\backslashes\\", "slash / stays",
    "tab\tnewline\nreturn\rbell\a", "\b\f\x1f\x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\\u0041 is not unescaped twice",
    NULL, /* all_ascii */
  };

  for (int c = 1; c < 0x80; c++)
    g_string_append_c (all_ascii, (char) c);
  texts[G_N_ELEMENTS (texts) - 1] = all_ascii->str;

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      g_autofree char *back = NULL;

      convolve_json_append_string (out, texts[i]);
      g_assert_cmpint (out->str[0], ==, '"');
      g_assert_cmpint (out->str[out->len - 1], ==, '"');
      /* No raw control character reaches the file. */
      for (gsize k = 0; k < out->len; k++)
        g_assert_cmpint ((guchar) out->str[k], >=, 0x20);
      back = parse_string (out->str);
      g_assert_cmpstr (back, ==, texts[i]);
    }

  /* Keys and values of an object, as the model file writes its metadata. */
  {
    g_autoptr(GString) out = g_string_new ("{");
    g_autoptr(ConvolveJsonValue) object = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        g_autofree char *key = g_strdup_printf ("%u:%s", i, texts[i]);

        if (i > 0)
          g_string_append_c (out, ',');
        convolve_json_append_string (out, key);
        g_string_append_c (out, ':');
        convolve_json_append_string (out, texts[i]);
      }
    g_string_append_c (out, '}');

    object = parse_ok (out->str);
    g_assert_cmpuint (convolve_json_value_get_length (object), ==, G_N_ELEMENTS (texts));
    for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        g_autofree char *key = g_strdup_printf ("%u:%s", i, texts[i]);
        const ConvolveJsonValue *member = convolve_json_value_get_element (object, i);

        g_assert_cmpstr (convolve_json_value_get_key (member), ==, key);
        g_assert_cmpstr (convolve_json_value_get_string (member), ==, texts[i]);
      }
  }

  /* The escapes it uses, exactly. */
  {
    g_autoptr(GString) out = g_string_new (NULL);

    convolve_json_append_string (out, "\"\\\b\f\n\r\t\x01/\xc3\xa9");
    g_assert_cmpstr (out->str, ==, "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001/\xc3\xa9\"");
  }
}

/* A hostile header's tree stays small: values are counted against
 * CONVOLVE_LIMIT_JSON_NODES and each costs tens of bytes. Run in a
 * subprocess so that its peak memory is its own. */
static void
test_json_node_budget (void)
{
  if (!g_test_subprocess ())
    {
      /* (a minute; more under sanitizers: with full stacks recorded for
       * every allocation, as the sanitizer run records them, its 262,144
       * nodes took 52 s alone and over a minute beside other tests) */
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC * RESOURCE_TEST_SANITIZER_FACTOR,
                              G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  /* 4 MB of empty objects (the largest header a model file may have):
   * this built a 415 MB tree */
  {
    g_autoptr(GString) text = g_string_new ("[");
    g_autoptr(GError) error = NULL;
    g_autoptr(ConvolveJsonValue) value = NULL;
    ResourceProbe probe;
    gsize offset = 0;

    while (text->len < 4 * 1024 * 1024 - 3)
      g_string_append (text, "{},");
    g_string_append (text, "{}]");
    probe = resource_probe_begin ();
    value = convolve_json_parse (text->str, text->len, &offset, &error);
    g_assert_null (value);
    g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "262144"));
    /* the root and CONVOLVE_LIMIT_JSON_NODES - 1 objects before it */
    g_assert_cmpuint (offset, ==, 1 + 3 * (gsize) (CONVOLVE_LIMIT_JSON_NODES - 1));
    resource_probe_check (&probe, "4 MB of empty objects", 1000, 48);
  }

  /* exactly the limit of values parses, one more does not */
  for (int extra = 0; extra <= 1; extra++)
    {
      g_autoptr(GString) text = g_string_new ("[0");
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveJsonValue) value = NULL;

      for (int i = 2; i < CONVOLVE_LIMIT_JSON_NODES + extra; i++)
        g_string_append (text, ",0");
      g_string_append_c (text, ']');
      value = convolve_json_parse (text->str, text->len, NULL, &error);
      if (extra == 0)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (convolve_json_value_get_length (value), ==, CONVOLVE_LIMIT_JSON_NODES - 1);
        }
      else
        {
          g_assert_null (value);
          g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_CORRUPT);
        }
    }

  /* a large object within the limit: found by name, duplicates caught,
   * in a few tens of megabytes */
  {
    const int n = 200000;
    g_autoptr(GString) text = g_string_new ("{");
    g_autoptr(GError) error = NULL;
    g_autoptr(ConvolveJsonValue) value = NULL;
    ResourceProbe probe;

    for (int i = 0; i < n; i++)
      g_string_append_printf (text, "%s\"k%d\":{}", i > 0 ? "," : "", i);
    g_string_append_c (text, '}');
    probe = resource_probe_begin ();
    value = convolve_json_parse (text->str, text->len, NULL, &error);
    g_assert_no_error (error);
    resource_probe_check (&probe, "an object of 200,000 members", 1000, 48);
    g_assert_cmpuint (convolve_json_value_get_length (value), ==, (guint) n);
    g_assert_cmpstr (convolve_json_value_get_key (convolve_json_value_get_member (value, "k199999")),
                     ==, "k199999");
    g_assert_null (convolve_json_value_get_member (value, "k200000"));

    text->str[text->len - 1] = ',';
    g_string_append (text, "\"k123456\":1}");
    g_clear_pointer (&value, convolve_json_value_free);
    g_clear_error (&error);
    value = convolve_json_parse (text->str, text->len, NULL, &error);
    g_assert_null (value);
    g_assert_nonnull (strstr (error->message, "twice"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/json/scalars", test_json_scalars);
  g_test_add_func ("/engine/json/tree", test_json_tree);
  g_test_add_func ("/engine/json/depth", test_json_depth);
  g_test_add_func ("/engine/json/duplicate-keys", test_json_duplicate_keys);
  g_test_add_func ("/engine/json/numbers", test_json_numbers);
  g_test_add_func ("/engine/json/leading-zeros", test_json_leading_zeros);
  g_test_add_func ("/engine/json/counts", test_json_counts);
  g_test_add_func ("/engine/json/escapes", test_json_escapes);
  g_test_add_func ("/engine/json/utf8", test_json_utf8);
  g_test_add_func ("/engine/json/trailing", test_json_trailing);
  g_test_add_func ("/engine/json/length", test_json_length);
  g_test_add_func ("/engine/json/node-budget", test_json_node_budget);
  g_test_add_func ("/engine/json/writer-round-trip", test_json_writer_round_trip);

  return g_test_run ();
}
