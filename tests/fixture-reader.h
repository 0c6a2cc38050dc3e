/* fixture-reader.h: a small safetensors reader and writer for the tests,
 * independent of the engine's model-file code (so a test never checks that
 * code with itself). It reads the reference fixtures made by
 * make-fixtures.py and lets test-model-file look inside, and rebuild with
 * deliberate damage, the files the engine writes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FIXTURE_MAX_RANK 8

typedef struct {
  char   *name;
  char   *dtype;                    /* "F32", "I32", ... as written */
  int     rank;
  gint64  shape[FIXTURE_MAX_RANK];
  guint64 begin, end;               /* data_offsets as written (or to write, see below) */
  GBytes *data;                     /* the tensor's bytes, little-endian */
} FixtureTensor;

typedef struct {
  GHashTable *metadata;             /* string -> string; NULL when there is none */
  GPtrArray  *tensors;              /* FixtureTensor *, in header order */
  guint64     header_length;        /* as read */
} FixtureFile;

/* Aborts the test (g_error) on a file it cannot read: fixtures and files
 * the engine wrote are expected to be well formed. */
FixtureFile         *fixture_file_read   (const char *path);
FixtureFile         *fixture_file_new    (void);
void                 fixture_file_free   (FixtureFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FixtureFile, fixture_file_free)

FixtureTensor       *fixture_file_find   (const FixtureFile *file, const char *name);
/* The tensor's elements as host floats (newly allocated); asserts F32. */
float               *fixture_tensor_dup_floats (const FixtureTensor *tensor, gsize *n);
gint32              *fixture_tensor_dup_ints   (const FixtureTensor *tensor, gsize *n);
gsize                fixture_tensor_n_elements (const FixtureTensor *tensor);

FixtureTensor       *fixture_tensor_new  (const char *name, const char *dtype, int rank,
                                          const gint64 *shape, const void *data, gsize n_bytes);
void                 fixture_tensor_free (FixtureTensor *tensor);

/* Serialises: with contiguous, offsets are recomputed in list order;
 * otherwise each tensor's begin/end are written as they are and its data
 * placed at begin in a data block of max(end) bytes. extra_header is
 * appended inside the top-level object verbatim (e.g. ",\"x\":1"), may be
 * NULL. */
GBytes              *fixture_file_to_bytes (const FixtureFile *file, gboolean contiguous,
                                            const char *extra_header);

G_END_DECLS
