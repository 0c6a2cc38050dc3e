/* convolve-activation.c: ReLU.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

void
convolve_relu_forward (float *out, const float *in, size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++)
    {
      float v = in[i];
      out[i] = v > 0.0f ? v : 0.0f;
    }
}

void
convolve_relu_backward (float *din, const float *dout, const float *out, size_t n)
{
  /* din may alias dout: each element is read before it is written, so
   * the iterations are still independent. Both loads are unconditional
   * so the select vectorises. */
#pragma omp simd
  for (size_t i = 0; i < n; i++)
    {
      float d = dout[i], o = out[i];
      din[i] = o > 0.0f ? d : 0.0f;
    }
}
