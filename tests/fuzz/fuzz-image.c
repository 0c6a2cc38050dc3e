/* fuzz-image.c: the predictor's image decoder (gdk-pixbuf behind
 * Convolve's own size checks), convolve_image_load_bytes(), for a colour
 * input (cropped) and a grey one of another shape (padded), with a
 * preview.
 *
 * The gdk-pixbuf loaders are modules loaded at run time and not
 * instrumented for coverage, so the fuzzer is guided by Convolve's side
 * only; AddressSanitizer still watches the loaders' memory.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-loaders.h"
#include "fuzz-common.h"

static void
load (GBytes           *bytes,
      ConvolveShape     shape,
      ConvolveImageFit  fit)
{
  gsize n = (gsize) shape.c * shape.h * shape.w;
  g_autofree float *input = g_new (float, n);
  g_autofree guint8 *preview = g_new (guint8, n);
  g_autoptr(GError) error = NULL;

  if (!convolve_image_load_bytes (bytes, shape, fit, input, preview, &error))
    {
      g_assert (error != NULL);
      return;
    }
  for (gsize i = 0; i < n; i++)
    g_assert (input[i] >= 0.0f && input[i] <= 1.0f);
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);

  convolve_fuzz_init ();
  load (bytes, (ConvolveShape) { 3, 32, 32 }, CONVOLVE_IMAGE_FIT_CROP);
  /* the second shape needs a different resize; only for small inputs,
   * to keep the fuzzer fast */
  if (size < 4096)
    load (bytes, (ConvolveShape) { 1, 7, 5 }, CONVOLVE_IMAGE_FIT_PAD);
  return 0;
}
