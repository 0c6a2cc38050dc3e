/* convolve-pickle.h: a restricted pickle machine that executes nothing.
 *
 * It interprets the protocol 2 and 3 opcodes that the CIFAR-10 python
 * batches are written with into plain values, and refuses every other
 * opcode and every global but the few the numpy array reconstruction and
 * Python 3's byte strings need (each interpreted by fixed rules, never
 * looked up or called). What the values mean is the caller's business.
 * Internal to the data layer (and its tests).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-dataset.h"  /* CONVOLVE_DATA_ERROR */
#include "convolve-limits.h"    /* CONVOLVE_LIMIT_PICKLE_* */

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_PICKLE_NONE,
  CONVOLVE_PICKLE_BOOL,
  CONVOLVE_PICKLE_INT,
  CONVOLVE_PICKLE_BYTES,
  CONVOLVE_PICKLE_STR,     /* UTF-8 text */
  CONVOLVE_PICKLE_TUPLE,
  CONVOLVE_PICKLE_LIST,
  CONVOLVE_PICKLE_DICT,    /* items: key, value, key, value, … */
  CONVOLVE_PICKLE_GLOBAL,  /* one of the allowed globals, as a marker */
  CONVOLVE_PICKLE_NDARRAY,
  CONVOLVE_PICKLE_DTYPE,
} ConvolvePickleKind;

/* One value the machine made. Values belong to their ConvolvePickle and
 * live as long as it; byte strings and array data point into the pickle's
 * contents where they can. */
typedef struct _ConvolvePickleValue ConvolvePickleValue;
struct _ConvolvePickleValue {
  ConvolvePickleKind  kind;
  gint64              integer;  /* BOOL, INT; which global for GLOBAL */
  const guint8       *data;     /* BYTES, STR; NDARRAY payload */
  gsize               length;
  GPtrArray          *items;    /* TUPLE, LIST, DICT; NDARRAY shape (INT values) */
  char                dtype[8]; /* DTYPE, NDARRAY: numpy's type string, "u1" */
  gboolean            built;    /* NDARRAY: BUILD has set its state */
  gboolean            fortran;  /* NDARRAY */
};

typedef struct _ConvolvePickle ConvolvePickle;

/* Runs the pickle in contents (kept referenced) up to STOP. path names
 * the file in messages. Errors are CONVOLVE_DATA_ERROR: TRUNCATED when it
 * ends early, UNSUPPORTED for a refused opcode, global, protocol or size,
 * FORMAT when its structure is damaged. */
ConvolvePickle *convolve_pickle_load (GBytes      *contents,
                                      const char  *path,
                                      GError     **error);
void            convolve_pickle_free (ConvolvePickle *pickle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolvePickle, convolve_pickle_free)

/* The one value STOP left. */
const ConvolvePickleValue *convolve_pickle_get_root (ConvolvePickle *pickle);

/* Sets an error that names the pickle's file, then the reason. */
void convolve_pickle_set_error (ConvolvePickle  *pickle,
                                GError         **error,
                                int              code,
                                const char      *format,
                                ...) G_GNUC_PRINTF (4, 5);

/* BYTES or STR. */
gboolean convolve_pickle_value_is_string     (const ConvolvePickleValue *value);
gboolean convolve_pickle_value_string_equals (const ConvolvePickleValue *value,
                                              const char                *text);
/* INT or BOOL. */
gboolean convolve_pickle_value_is_integer    (const ConvolvePickleValue *value);
/* Item i of a TUPLE, LIST or DICT, or dimension i of an NDARRAY. */
const ConvolvePickleValue *convolve_pickle_value_get_item (const ConvolvePickleValue *value,
                                                           guint                      i);
/* The value under a string key in a DICT (the last one set, as in
 * Python), or NULL. */
const ConvolvePickleValue *convolve_pickle_value_lookup (const ConvolvePickleValue *dict,
                                                         const char                *key);
/* The bytes of a BYTES, STR or NDARRAY value: a slice of the pickle's
 * contents (a mapped file stays mapped) unless they had to be decoded. */
GBytes *convolve_pickle_value_dup_bytes (ConvolvePickle            *pickle,
                                         const ConvolvePickleValue *value);

G_END_DECLS
