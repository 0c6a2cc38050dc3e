/* convolve-image-folder-cache.c: the resized pictures of an image folder,
 * kept on disk so that opening the folder again decodes nothing.
 *
 * The cache is outside input like any other file: every size is checked
 * against the bytes present and the limits, and a checksum covers the
 * whole, so a damaged or foreign file is refused (and rebuilt by the
 * loader) rather than believed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>

#include <string.h>

#include "convolve-data-private.h"
#include "convolve-image-folder-private.h"
#include "convolve-limits.h"

static const guint8 cache_magic[8] = { 'C', 'V', 'I', 'M', 'G', 'C', 0, 1 };

#define HEADER_SIZE   (8 + 4 * 4 + CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE)
#define TRAILER_SIZE  32

void
_convolve_image_cache_clear (ConvolveImageCache *cache)
{
  g_clear_pointer (&cache->kept, g_free);
  g_clear_pointer (&cache->bytes, g_bytes_unref);
  cache->pixels = NULL;
}

static guint32
read_le32 (const guint8 *p)
{
  return ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

static void
put_le32 (guint8  *p,
          guint32  value)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8) (value >> (8 * i));
}

static gboolean
set_damaged (GError     **error,
             const char  *reason)
{
  /* TRANSLATORS: %s says what is wrong with the file */
  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
               _("The image folder cache is damaged: %s"), reason);
  return FALSE;
}

gboolean
_convolve_image_cache_parse (GBytes              *bytes,
                             ConvolveImageCache  *cache,
                             GError             **error)
{
  g_autoptr(GChecksum) checksum = NULL;
  guint8 digest[32];
  gsize digest_size = sizeof digest;
  const guint8 *data;
  gsize length;
  guint64 image_size;
  guint64 expected;
  guint32 channels, side, n_files, n_kept;

  g_return_val_if_fail (bytes != NULL && cache != NULL, FALSE);

  memset (cache, 0, sizeof *cache);
  data = g_bytes_get_data (bytes, &length);
  if (length < HEADER_SIZE + TRAILER_SIZE)
    return set_damaged (error, _("it is too short"));
  if (memcmp (data, cache_magic, sizeof cache_magic) != 0)
    return set_damaged (error, _("it is not a Convolve image cache of this version"));

  channels = read_le32 (data + 8);
  side = read_le32 (data + 12);
  n_files = read_le32 (data + 16);
  n_kept = read_le32 (data + 20);
  if (channels != 1 && channels != 3)
    return set_damaged (error, _("its number of channels is neither 1 nor 3"));
  if (side == 0 || side > CONVOLVE_LIMIT_INPUT_SIDE)
    return set_damaged (error, _("its picture size is impossible"));
  if (n_files > CONVOLVE_LIMIT_FOLDER_FILES || n_kept > n_files)
    return set_damaged (error, _("its number of pictures is impossible"));

  /* All in 64 bits, each factor bounded above: no overflow. */
  image_size = (guint64) channels * side * side;
  if (image_size * n_kept > CONVOLVE_LIMIT_DATASET_BYTES)
    return set_damaged (error, _("its number of pictures is impossible"));
  expected = HEADER_SIZE + 4 * (guint64) n_kept + image_size * n_kept + TRAILER_SIZE;
  if ((guint64) length != expected)
    return set_damaged (error, _("its size does not match its header"));

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, data, (gssize) (length - TRAILER_SIZE));
  g_checksum_get_digest (checksum, digest, &digest_size);
  if (memcmp (digest, data + length - TRAILER_SIZE, TRAILER_SIZE) != 0)
    return set_damaged (error, _("its checksum does not match"));

  cache->kept = g_new (guint32, MAX (n_kept, 1));
  for (guint32 i = 0; i < n_kept; i++)
    {
      guint32 index = read_le32 (data + HEADER_SIZE + 4 * (gsize) i);

      if (index >= n_files || (i > 0 && index <= cache->kept[i - 1]))
        {
          _convolve_image_cache_clear (cache);
          return set_damaged (error, _("its list of pictures is out of order"));
        }
      cache->kept[i] = index;
    }

  memcpy (cache->fingerprint, data + 24, CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE);
  cache->channels = channels;
  cache->side = side;
  cache->n_files = n_files;
  cache->n_kept = n_kept;
  cache->bytes = g_bytes_ref (bytes);
  cache->pixels = data + HEADER_SIZE + 4 * (gsize) n_kept;
  return TRUE;
}

gboolean
_convolve_image_cache_read (const char          *path,
                            ConvolveImageCache  *cache,
                            GError             **error)
{
  g_autoptr(GBytes) bytes = NULL;
  guint64 max_size = HEADER_SIZE + 4 * (guint64) CONVOLVE_LIMIT_FOLDER_FILES +
                     CONVOLVE_LIMIT_DATASET_BYTES + TRAILER_SIZE;

  bytes = convolve_data_read_regular_file (path, max_size, error);
  if (bytes == NULL)
    return FALSE;
  return _convolve_image_cache_parse (bytes, cache, error);
}

gboolean
_convolve_image_cache_write (const char     *path,
                             const guint8   *fingerprint,
                             guint           channels,
                             guint           side,
                             guint           n_files,
                             const guint32  *kept,
                             guint           n_kept,
                             const guint8   *pixels,
                             GError        **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GByteArray) head = g_byte_array_new ();
  guint8 digest[32];
  gsize digest_size = sizeof digest;
  guint8 word[4];
  gsize pixels_size = (gsize) n_kept * channels * side * side;
  GOutputStream *out;

  g_byte_array_append (head, cache_magic, sizeof cache_magic);
  put_le32 (word, channels);
  g_byte_array_append (head, word, 4);
  put_le32 (word, side);
  g_byte_array_append (head, word, 4);
  put_le32 (word, n_files);
  g_byte_array_append (head, word, 4);
  put_le32 (word, n_kept);
  g_byte_array_append (head, word, 4);
  g_byte_array_append (head, fingerprint, CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE);
  for (guint i = 0; i < n_kept; i++)
    {
      put_le32 (word, kept[i]);
      g_byte_array_append (head, word, 4);
    }
  g_checksum_update (checksum, head->data, head->len);
  g_checksum_update (checksum, pixels, (gssize) pixels_size);
  g_checksum_get_digest (checksum, digest, &digest_size);

  if (!g_file_make_directory_with_parents (parent, NULL, &local_error) &&
      !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    goto failed;
  g_clear_error (&local_error);

  /* replace: a temporary file renamed over the old one when closed */
  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &local_error);
  if (stream == NULL)
    goto failed;
  out = G_OUTPUT_STREAM (stream);
  if (!g_output_stream_write_all (out, head->data, head->len, NULL, NULL, &local_error) ||
      !g_output_stream_write_all (out, pixels, pixels_size, NULL, NULL, &local_error) ||
      !g_output_stream_write_all (out, digest, sizeof digest, NULL, NULL, &local_error) ||
      !g_output_stream_close (out, NULL, &local_error))
    {
      /* closing with a cancelled cancellable drops the temporary file
       * instead of renaming it over the cache */
      g_autoptr(GCancellable) abandon = g_cancellable_new ();

      g_cancellable_cancel (abandon);
      g_output_stream_close (out, abandon, NULL);
      goto failed;
    }
  return TRUE;

failed:
  convolve_data_propagate_io_error (error, g_steal_pointer (&local_error), path);
  return FALSE;
}
