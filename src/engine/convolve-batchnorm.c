/* convolve-batchnorm.c: BatchNormalization over the channels of NCHW data.
 *
 * Training normalises with the batch mean and the biased batch variance.
 * The moving statistics follow tf.keras's BatchNormalization on 4-D inputs,
 * which runs the fused kernel (FusedBatchNormV3): moving = moving * momentum
 * + batch * (1 - momentum), where the variance fed to the moving average
 * carries Bessel's correction (m / (m - 1), m = batch * h * w; see
 * tensorflow/core/kernels/fused_batch_norm_op.cc, "rest_size_adjust").
 * PyTorch's BatchNorm2d does the same, so models trained by either agree.
 * Inference normalises with the moving statistics.
 *
 * The normalised input is not stored: the backward pass recomputes it from
 * the input and the per-channel mean and 1/std, which costs less than
 * writing and reading it back.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <math.h>

/* Sums of x - shift and of its squares over one channel plane. The shift
 * (a value from the channel) keeps the one-pass variance accurate when the
 * mean is large compared with the spread. */
static void
plane_moments (const float *restrict x, int n, float shift, float *sum, float *squares)
{
  float s = 0.0f, q = 0.0f;

#pragma omp simd reduction(+:s, q)
  for (int i = 0; i < n; i++)
    {
      float d = x[i] - shift;
      s += d;
      q += d * d;
    }
  *sum = s;
  *squares = q;
}

static void
scale_shift (float *restrict y, const float *restrict x, int n, float scale, float shift)
{
#pragma omp simd
  for (int i = 0; i < n; i++)
    y[i] = x[i] * scale + shift;
}

void
convolve_batchnorm_forward_train (float *out, float *mean, float *invstd,
                                  float *moving_mean, float *moving_variance,
                                  const float *in, const float *gamma, const float *beta,
                                  int batch, int channels, int spatial,
                                  float momentum, float epsilon)
{
  double m = (double) batch * spatial;

  for (int c = 0; c < channels; c++)
    {
      float shift = in[(size_t) c * spatial];
      double sum = 0.0, squares = 0.0, mu, var;
      float scale;

      /* Per-plane float sums (vectorised), accumulated in double. */
      for (int n = 0; n < batch; n++)
        {
          float s, q;

          plane_moments (in + ((size_t) n * channels + c) * spatial, spatial, shift, &s, &q);
          sum += s;
          squares += q;
        }
      mu = sum / m;
      var = squares / m - mu * mu;
      if (var < 0.0)
        var = 0.0;
      mu += shift;

      mean[c] = (float) mu;
      invstd[c] = (float) (1.0 / sqrt (var + epsilon));
      moving_mean[c] = moving_mean[c] * momentum + (float) mu * (1.0f - momentum);
      moving_variance[c] = moving_variance[c] * momentum
                           + (float) (m > 1.0 ? var * m / (m - 1.0) : var) * (1.0f - momentum);

      scale = gamma[c] * invstd[c];
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;

          scale_shift (out + off, in + off, spatial, scale, beta[c] - mean[c] * scale);
        }
    }
}

void
convolve_batchnorm_forward_infer (float *out,
                                  const float *in, const float *gamma, const float *beta,
                                  const float *moving_mean, const float *moving_variance,
                                  int batch, int channels, int spatial, float epsilon)
{
  for (int c = 0; c < channels; c++)
    {
      float scale = gamma[c] / sqrtf (moving_variance[c] + epsilon);
      float shift = beta[c] - moving_mean[c] * scale;

      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;

          scale_shift (out + off, in + off, spatial, scale, shift);
        }
    }
}

void
convolve_batchnorm_backward (float *din, float *dgamma, float *dbeta,
                             const float *dout, const float *in,
                             const float *mean, const float *invstd, const float *gamma,
                             int batch, int channels, int spatial)
{
  float m = (float) batch * (float) spatial;

  for (int c = 0; c < channels; c++)
    {
      double sum_d = 0.0, sum_dx = 0.0;
      float mu = mean[c], istd = invstd[c];
      float k, mean_d, mean_dx, bias;

      /* sum(dout) and sum(dout * (x - mean)); xhat = (x - mean) * invstd */
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *restrict d = dout + off;
          const float *restrict x = in + off;
          float s = 0.0f, sx = 0.0f;

#pragma omp simd reduction(+:s, sx)
          for (int i = 0; i < spatial; i++)
            {
              s += d[i];
              sx += d[i] * (x[i] - mu);
            }
          sum_d += s;
          sum_dx += sx;
        }
      dbeta[c] = (float) sum_d;
      dgamma[c] = (float) (sum_dx * istd);
      if (din == NULL)
        continue;

      /* din = gamma * invstd * (dout - mean(dout) - xhat * mean(dout * xhat))
       *     = k * dout + (x - mean) * (-k * invstd * mean(dout * xhat)) - k * mean(dout) */
      k = gamma[c] * istd;
      mean_d = (float) (sum_d / m);
      mean_dx = (float) (sum_dx * istd / m);
      bias = -k * mean_d;
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *restrict d = dout + off;
          const float *restrict x = in + off;
          float *restrict dx = din + off;
          float kx = k * istd * mean_dx;

#pragma omp simd
          for (int i = 0; i < spatial; i++)
            dx[i] = k * d[i] - (x[i] - mu) * kx + bias;
        }
    }
}

void
convolve_batchnorm_backward_infer (float *din,
                                   const float *dout,
                                   const float *gamma, const float *moving_variance,
                                   int batch, int channels, int spatial, float epsilon)
{
  for (int c = 0; c < channels; c++)
    {
      float scale = gamma[c] / sqrtf (moving_variance[c] + epsilon);

      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;

          for (int i = 0; i < spatial; i++)
            din[off + i] = dout[off + i] * scale;
        }
    }
}
