/* fuzz-idx-gzip.c: IDX files compressed with gzip (how MNIST is
 * distributed). The input holds an images file and a labels file, split at
 * CONVOLVE_FUZZ_SEPARATOR, as plain IDX: the harness compresses each one
 * and writes train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz, so
 * the fuzzer mutates the IDX headers behind the decompressor, where the
 * file's size says nothing about the size of its contents. (fuzz-idx
 * covers damaged gzip streams.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gio/gio.h>

#include "convolve-loaders.h"
#include "fuzz-common.h"

static const char * const file_names[] = { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" };

static GBytes *
gzip (const uint8_t *data,
      size_t         size)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  guint8 buffer[16384];
  GConverterResult result;

  do
    {
      gsize n_read = 0, n_written = 0;

      result = g_converter_convert (G_CONVERTER (compressor), data, size, buffer, sizeof buffer,
                                    G_CONVERTER_INPUT_AT_END, &n_read, &n_written, &error);
      if (result == G_CONVERTER_ERROR)
        g_error ("gzip: %s", error->message);
      data += n_read;
      size -= n_read;
      g_byte_array_append (out, buffer, (guint) n_written);
    }
  while (result != G_CONVERTER_FINISHED);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  const char *dir = convolve_fuzz_temp_dir ();
  const uint8_t *parts[G_N_ELEMENTS (file_names)];
  size_t sizes[G_N_ELEMENTS (file_names)];
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  guint n_parts;

  convolve_fuzz_init ();
  n_parts = convolve_fuzz_split (data, size, G_N_ELEMENTS (file_names), parts, sizes);
  for (guint i = 0; i < n_parts; i++)
    {
      g_autoptr(GBytes) compressed = gzip (parts[i], sizes[i]);
      gsize length;
      const guint8 *bytes = g_bytes_get_data (compressed, &length);

      g_free (convolve_fuzz_write_file (dir, file_names[i], bytes, length));
    }

  if (convolve_idx_load_dir (dir, &train, &test, NULL, &error))
    g_assert (train != NULL && test != NULL);
  else
    g_assert (error != NULL);
  convolve_fuzz_clear_dir (dir);
  return 0;
}
