/* convolve-globalavgpool.c: GlobalAveragePooling2D, the mean of each
 * channel's height x width plane (Keras's layer, data_format
 * channels_first here): batch x channels x spatial in, batch x channels out.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

void
convolve_globalavgpool_forward (float *out, const float *in,
                                int batch, int channels, int spatial)
{
  float scale = 1.0f / (float) spatial;

  for (size_t plane = 0; plane < (size_t) batch * channels; plane++)
    {
      const float *restrict p = in + plane * spatial;
      float sum = 0.0f;

#pragma omp simd reduction(+:sum)
      for (int i = 0; i < spatial; i++)
        sum += p[i];
      out[plane] = sum * scale;
    }
}

void
convolve_globalavgpool_backward (float *din, const float *dout,
                                 int batch, int channels, int spatial)
{
  float scale = 1.0f / (float) spatial;

  for (size_t plane = 0; plane < (size_t) batch * channels; plane++)
    {
      float *restrict d = din + plane * spatial;
      float g = dout[plane] * scale;

      for (int i = 0; i < spatial; i++)
        d[i] = g;
    }
}
