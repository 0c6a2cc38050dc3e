/* convolve-activation.c: ReLU.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

void
convolve_relu_forward (float *out, const float *in, size_t n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void
convolve_relu_backward (float *din, const float *dout, const float *out, size_t n)
{
  /* din may alias dout: each element is read before it is written. */
  for (size_t i = 0; i < n; i++)
    din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}
