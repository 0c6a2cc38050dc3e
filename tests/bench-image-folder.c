/* bench-image-folder.c: imports an image folder once and says how long it
 * took (not a test). For the memory and speed figures of a large import:
 *
 *   build/tests/make-image-folder /tmp/photos 4000          # 20,000 JPEGs, 500 x 375
 *   CONVOLVE_CACHE_DIR=$(mktemp -d) /usr/bin/time -v \
 *     build/tests/bench-image-folder /tmp/photos [SIDE [crop|pad [THREADS]]]
 *
 * Run it twice with the same CONVOLVE_CACHE_DIR to time the cached open.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>

#include "convolve-image-folder.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveImageFolderOptions options;
  ConvolveImageFolderReport report;
  gint64 start;
  double seconds;

  if (argc < 2 || argc > 5)
    {
      fprintf (stderr, "usage: %s FOLDER [SIDE [crop|pad [THREADS]]]\n", argv[0]);
      return 2;
    }
  convolve_image_folder_options_init (&options);
  if (argc > 2)
    options.side = atoi (argv[2]);
  if (argc > 3)
    options.fit = g_str_equal (argv[3], "pad") ? CONVOLVE_IMAGE_FIT_PAD : CONVOLVE_IMAGE_FIT_CROP;
  if (argc > 4)
    options.n_threads = (guint) atoi (argv[4]);
  if (options.side < 1 || options.side > 1024)
    {
      fprintf (stderr, "%s: SIDE must be 1 to 1024\n", argv[0]);
      return 2;
    }

  start = g_get_monotonic_time ();
  if (!convolve_image_folder_load (argv[1], &options, &report, &train, &test, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  printf ("%u files, %u skipped, %u training + %u test images of %d x %d x %d, %s\n",
          report.n_files, report.n_skipped, convolve_dataset_get_n_images (train),
          convolve_dataset_get_n_images (test), convolve_dataset_get_shape (train).c,
          options.side, options.side, report.from_cache ? "from the cache" : "decoded");
  printf ("%.2f s, %.0f images/s\n", seconds, report.n_files / MAX (seconds, 1e-9));
  return 0;
}
