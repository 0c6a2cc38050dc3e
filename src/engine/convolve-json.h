/* convolve-json.h: a small, strict JSON reader and a string writer.
 *
 * Made for safetensors headers, which are input from anywhere: RFC 8259
 * syntax only, valid UTF-8 only, at most CONVOLVE_LIMIT_JSON_DEPTH nested
 * arrays and objects, at most CONVOLVE_LIMIT_JSON_NODES values, no
 * duplicate keys in an object, no NUL character in a string. Numbers are kept as the literal the text holds; a caller turns
 * the ones it wants into integers with convolve_json_value_get_count().
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-error.h"
#include "convolve-limits.h"

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_JSON_NULL,
  CONVOLVE_JSON_BOOLEAN,
  CONVOLVE_JSON_NUMBER,
  CONVOLVE_JSON_STRING,
  CONVOLVE_JSON_ARRAY,
  CONVOLVE_JSON_OBJECT,
} ConvolveJsonKind;

typedef struct _ConvolveJsonValue ConvolveJsonValue;

/* Parses a complete document of length bytes (text need not end in NUL).
 * On failure, a CONVOLVE_ENGINE_ERROR_CORRUPT error whose message (translated)
 * names the problem, e.g. "an unexpected character", for the caller to put
 * into a sentence; *error_offset (nullable) is the byte where it was found. */
ConvolveJsonValue *convolve_json_parse      (const char *text,
                                             gsize       length,
                                             gsize      *error_offset,
                                             GError    **error);
void               convolve_json_value_free (ConvolveJsonValue *value);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveJsonValue, convolve_json_value_free)

ConvolveJsonKind   convolve_json_value_get_kind    (const ConvolveJsonValue *value);
/* A string's value; NULL when value is not a string. */
const char        *convolve_json_value_get_string  (const ConvolveJsonValue *value);
/* TRUE when value (nullable) is a number written as plain digits (no sign,
 * fraction or exponent) whose value is at most max; it goes to *out. */
gboolean           convolve_json_value_get_count   (const ConvolveJsonValue *value,
                                                    guint64                  max,
                                                    guint64                 *out);
/* Arrays and objects: the number of elements or members (0 for other
 * kinds), and each one in the order the text gives them. */
guint              convolve_json_value_get_length  (const ConvolveJsonValue *value);
const ConvolveJsonValue *convolve_json_value_get_element (const ConvolveJsonValue *value,
                                                          guint                    index);
/* The member called key of object (nullable); NULL when object is not an
 * object or has no such member. */
const ConvolveJsonValue *convolve_json_value_get_member  (const ConvolveJsonValue *object,
                                                          const char              *key);
/* The name of a member of an object; NULL for array elements and the root. */
const char        *convolve_json_value_get_key     (const ConvolveJsonValue *value);

/* Appends text (valid UTF-8) as a JSON string literal: quotes, backslashes
 * and control characters escaped, everything else as it is. */
void               convolve_json_append_string     (GString    *out,
                                                    const char *text);

G_END_DECLS
