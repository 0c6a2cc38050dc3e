/* fuzz-cifar10-binary.c: the CIFAR-10 binary layout. The input holds up
 * to three files, split at CONVOLVE_FUZZ_SEPARATOR: data_batch_1.bin,
 * then batches.meta.txt, then test_batch.bin; they are written into a
 * folder that convolve_cifar10_load_binary() reads.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-loaders.h"
#include "fuzz-common.h"

static const char * const file_names[] = { "data_batch_1.bin", "batches.meta.txt", "test_batch.bin" };

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
    g_free (convolve_fuzz_write_file (dir, file_names[i], parts[i], sizes[i]));

  if (convolve_cifar10_load_binary (dir, &train, &test, NULL, &error))
    {
      g_assert (train != NULL && test != NULL);
      g_assert (convolve_dataset_get_n_images (train) > 0);
      for (guint i = 0; i < convolve_dataset_get_n_images (train); i++)
        g_assert (convolve_dataset_get_label (train, i) < convolve_dataset_get_n_classes (train));
    }
  else
    {
      g_assert (error != NULL);
    }
  convolve_fuzz_clear_dir (dir);
  return 0;
}
