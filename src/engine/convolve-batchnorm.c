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
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <math.h>

static float
plane_sum (const float *restrict x, int n)
{
  float s = 0.0f;

  for (int i = 0; i < n; i++)
    s += x[i];
  return s;
}

static float
plane_centered_squares (const float *restrict x, float mean, int n)
{
  float s = 0.0f;

  for (int i = 0; i < n; i++)
    {
      float d = x[i] - mean;
      s += d * d;
    }
  return s;
}

void
convolve_batchnorm_forward_train (float *out, float *xhat, float *invstd,
                                  float *moving_mean, float *moving_variance,
                                  const float *in, const float *gamma, const float *beta,
                                  int batch, int channels, int spatial,
                                  float momentum, float epsilon)
{
  double m = (double) batch * spatial;

  for (int c = 0; c < channels; c++)
    {
      double sum = 0.0, squares = 0.0, var;
      float mean, istd, g, b;

      /* Per-plane float sums (vectorised), accumulated in double. */
      for (int n = 0; n < batch; n++)
        sum += plane_sum (in + ((size_t) n * channels + c) * spatial, spatial);
      mean = (float) (sum / m);
      for (int n = 0; n < batch; n++)
        squares += plane_centered_squares (in + ((size_t) n * channels + c) * spatial,
                                           mean, spatial);
      var = squares / m;
      istd = (float) (1.0 / sqrt (var + epsilon));
      invstd[c] = istd;

      moving_mean[c] = moving_mean[c] * momentum + mean * (1.0f - momentum);
      moving_variance[c] = moving_variance[c] * momentum
                           + (float) (m > 1.0 ? squares / (m - 1.0) : var) * (1.0f - momentum);

      g = gamma[c];
      b = beta[c];
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *restrict x = in + off;
          float *restrict xh = xhat + off;
          float *restrict y = out + off;

          for (int i = 0; i < spatial; i++)
            {
              float v = (x[i] - mean) * istd;
              xh[i] = v;
              y[i] = v * g + b;
            }
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
          const float *restrict x = in + off;
          float *restrict y = out + off;

          for (int i = 0; i < spatial; i++)
            y[i] = x[i] * scale + shift;
        }
    }
}

void
convolve_batchnorm_backward (float *din, float *dgamma, float *dbeta,
                             const float *dout, const float *xhat, const float *invstd,
                             const float *gamma,
                             int batch, int channels, int spatial)
{
  float m = (float) batch * (float) spatial;

  for (int c = 0; c < channels; c++)
    {
      double sum_d = 0.0, sum_dx = 0.0;
      float k, mean_d, mean_dx;

      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *restrict d = dout + off;
          const float *restrict xh = xhat + off;
          float s = 0.0f, sx = 0.0f;

          for (int i = 0; i < spatial; i++)
            {
              s += d[i];
              sx += d[i] * xh[i];
            }
          sum_d += s;
          sum_dx += sx;
        }
      dbeta[c] = (float) sum_d;
      dgamma[c] = (float) sum_dx;
      if (din == NULL)
        continue;

      /* din = gamma * invstd * (dout - mean(dout) - xhat * mean(dout * xhat)) */
      k = gamma[c] * invstd[c];
      mean_d = (float) sum_d / m;
      mean_dx = (float) sum_dx / m;
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *restrict d = dout + off;
          const float *restrict xh = xhat + off;
          float *restrict dx = din + off;

          for (int i = 0; i < spatial; i++)
            dx[i] = k * (d[i] - mean_d - xh[i] * mean_dx);
        }
    }
}
