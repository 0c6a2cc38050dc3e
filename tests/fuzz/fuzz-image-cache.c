/* fuzz-image-cache.c: the image folder's cache file,
 * _convolve_image_cache_parse(). What it accepts must be consistent: the
 * kept indices increasing and below the number of files, the pixels all
 * inside the input.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-image-folder-private.h"
#include "fuzz-common.h"

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_auto(ConvolveImageCache) cache = { { 0 } };
  g_autoptr(GError) error = NULL;

  convolve_fuzz_init ();
  if (_convolve_image_cache_parse (bytes, &cache, &error))
    {
      gsize n = (gsize) cache.n_kept * cache.channels * cache.side * cache.side;
      const guint8 *start = g_bytes_get_data (bytes, NULL);
      guint sum = 0;

      g_assert (cache.channels == 1 || cache.channels == 3);
      g_assert (cache.n_kept <= cache.n_files);
      for (guint i = 0; i < cache.n_kept; i++)
        g_assert (cache.kept[i] < cache.n_files && (i == 0 || cache.kept[i] > cache.kept[i - 1]));
      g_assert (cache.pixels >= start && cache.pixels + n <= start + size);
      for (gsize i = 0; i < n; i++)
        sum += cache.pixels[i];
      (void) sum;
    }
  else
    {
      g_assert (error != NULL);
    }
  return 0;
}
