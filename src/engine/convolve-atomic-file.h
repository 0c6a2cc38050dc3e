/* convolve-atomic-file.h: saving a file so that a failed save never
 * destroys the previous one.
 *
 * The data goes to a temporary file beside the target ("PATH.XXXXXX"),
 * which is synced and renamed over the target on commit; on any failure,
 * or on abort, the temporary file is removed and the target is left as it
 * was. A target that exists but is not a regular file (a directory, a
 * device) is refused up front. Errors are CONVOLVE_ENGINE_ERROR_IO with a
 * translated message naming the file. The model saver and the ONNX
 * exporter write through it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ConvolveAtomicFile ConvolveAtomicFile;

/* Creates the temporary file for path; NULL with the error when it cannot. */
ConvolveAtomicFile *convolve_atomic_file_new          (const char          *path,
                                                       GError             **error);
/* The target's name for messages (UTF-8). */
const char         *convolve_atomic_file_get_display_name (const ConvolveAtomicFile *file);
/* Appends length bytes (a short write is retried; ENOSPC, EFBIG and the
 * like are errors). */
gboolean            convolve_atomic_file_write        (ConvolveAtomicFile  *file,
                                                       const void          *data,
                                                       gsize                length,
                                                       GError             **error);
/* Syncs, closes and renames the file over the target, then frees file
 * (also on failure, after removing the temporary file). */
gboolean            convolve_atomic_file_commit       (ConvolveAtomicFile  *file,
                                                       GError             **error);
/* Removes the temporary file and frees file; NULL is ignored. */
void                convolve_atomic_file_abort        (ConvolveAtomicFile  *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveAtomicFile, convolve_atomic_file_abort)

G_END_DECLS
