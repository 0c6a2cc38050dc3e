/* convolve-dropout.c: inverted Dropout, as Keras does it: kept units are
 * scaled by 1 / (1 - rate) during training so inference is the identity.
 * The mask comes from the model's explicit, seeded RNG.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

void
convolve_dropout_apply (float *out, const float *in, const float *mask, size_t n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] * mask[i];
}

void
convolve_dropout_forward (float *out, float *mask,
                          const float *in, size_t n, float rate, ConvolveRng *rng)
{
  float keep_scale = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;

  for (size_t i = 0; i < n; i++)
    mask[i] = convolve_rng_uniform (rng) >= rate ? keep_scale : 0.0f;
  convolve_dropout_apply (out, in, mask, n);
}

void
convolve_dropout_backward (float *din, const float *dout, const float *mask, size_t n)
{
  for (size_t i = 0; i < n; i++)
    din[i] = dout[i] * mask[i];
}
