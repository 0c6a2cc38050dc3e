/* convolve-image-folder-private.h: the image folder's cache file, shared
 * by the loader, its tests and the fuzz harness.
 *
 * Layout (little-endian): the magic "CVIMGC" 0 1, then u32 channels, side,
 * n_files, n_kept; the 32-byte fingerprint of the folder and settings;
 * n_kept u32 indices of the files kept (increasing, below n_files); the
 * kept pictures, n_kept x channels x side x side bytes, planar; and a
 * SHA-256 of everything before it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE 32

typedef struct {
  guint8   fingerprint[CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE];
  guint    channels;   /* 1 or 3 */
  guint    side;
  guint    n_files;
  guint    n_kept;
  guint32 *kept;       /* n_kept indices */
  GBytes  *bytes;      /* the file, which pixels point into */
  const guint8 *pixels;
} ConvolveImageCache;

void     _convolve_image_cache_clear (ConvolveImageCache *cache);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ConvolveImageCache, _convolve_image_cache_clear)

/* Checks everything in bytes (sizes against the bytes present and the
 * limits, indices, checksum) and fills in cache, which keeps a reference
 * to bytes. Anything wrong is CONVOLVE_DATA_ERROR_FORMAT. */
gboolean _convolve_image_cache_parse (GBytes              *bytes,
                                      ConvolveImageCache  *cache,
                                      GError             **error);

/* Reads and parses the cache file at path (bounded before it is read). */
gboolean _convolve_image_cache_read  (const char          *path,
                                      ConvolveImageCache  *cache,
                                      GError             **error);

/* Writes a cache file atomically (a temporary file renamed over path). */
gboolean _convolve_image_cache_write (const char          *path,
                                      const guint8        *fingerprint,
                                      guint                channels,
                                      guint                side,
                                      guint                n_files,
                                      const guint32       *kept,
                                      guint                n_kept,
                                      const guint8        *pixels,
                                      GError             **error);

G_END_DECLS
