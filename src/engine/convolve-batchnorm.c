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
 * Channels are independent, so a large pass is split into runs of
 * channels over the engine's threads (convolve-parallel.h), with the same
 * numbers at any thread count. The loops are built for AVX-512, AVX2 and
 * plain x86-64, picked when the program loads (convolve-clones.h): with
 * baseline SSE2 alone BatchNormalization took 11.4 of a five-convolution
 * model's 49 ms step, with AVX-512 7.2 (`convolve-cli bench --spec ...
 * --profile --threads 1`, AMD EPYC).
 *
 * The _relu variants are BatchNormalization followed by ReLU in one pass
 * each way, for training (the model fuses "batchnorm,relu"): the forward
 * writes max(0, y) and not y, the backward masks the ReLU's output
 * gradient in place as it reads it. The numbers of the two layers one
 * after the other, with one read and one write of the activations fewer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <math.h>

#include "convolve-clones.h"
#include "convolve-parallel.h"

/* Passes over fewer floats than this stay on the calling thread. */
#define BATCHNORM_PARALLEL_MIN_FLOATS (1 << 16)

typedef struct {
  float       *out, *mean, *invstd, *moving_mean, *moving_variance;
  float       *din, *dgamma, *dbeta;
  const float *in, *dout, *gamma, *beta;
  const float *c_mean, *c_invstd, *c_moving_mean, *c_moving_variance;
  const float *relu_out;    /* backward_relu: the ReLU's output */
  float       *relu_dout;   /* backward_relu: its gradient, masked in place */
  int          batch, channels, spatial;
  float        momentum, epsilon;
  gboolean     relu;
} BatchNormJob;

typedef void (*ChannelsFunc) (const BatchNormJob *job, int first, int last);

typedef struct {
  const BatchNormJob *job;
  ChannelsFunc        func;
} ChannelsTask;

static void
channels_run (int task, int n_tasks, gpointer data)
{
  const ChannelsTask *t = data;
  gsize first, last;

  convolve_parallel_range ((gsize) t->job->channels, task, n_tasks, &first, &last);
  if (first < last)
    t->func (t->job, (int) first, (int) last);
}

/* func over all channels, in runs of channels on the engine's threads. */
static void
for_channels (const BatchNormJob *job, ChannelsFunc func)
{
  gsize n = (gsize) job->batch * job->channels * job->spatial;
  int tasks = n < BATCHNORM_PARALLEL_MIN_FLOATS ? 1 : MIN (convolve_parallel_get_threads (), job->channels);
  ChannelsTask t = { job, func };

  if (tasks <= 1)
    func (job, 0, job->channels);
  else
    convolve_parallel_run (tasks, channels_run, &t);
}

/* Sums of x - shift and of its squares over one channel plane. The shift
 * (a value from the channel) keeps the one-pass variance accurate when the
 * mean is large compared with the spread. */
CONVOLVE_CLONES static void
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

CONVOLVE_CLONES static void
scale_shift (float *restrict y, const float *restrict x, int n, float scale, float shift)
{
#pragma omp simd
  for (int i = 0; i < n; i++)
    y[i] = x[i] * scale + shift;
}

CONVOLVE_CLONES static void
scale_shift_relu (float *restrict y, const float *restrict x, int n, float scale, float shift)
{
#pragma omp simd
  for (int i = 0; i < n; i++)
    {
      float v = x[i] * scale + shift;
      y[i] = v > 0.0f ? v : 0.0f;
    }
}

CONVOLVE_CLONES static void
forward_train_channels (const BatchNormJob *j, int first, int last)
{
  int batch = j->batch, channels = j->channels, spatial = j->spatial;
  double m = (double) batch * spatial;
  const float *in = j->in;

  for (int c = first; c < last; c++)
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

      j->mean[c] = (float) mu;
      j->invstd[c] = (float) (1.0 / sqrt (var + j->epsilon));
      j->moving_mean[c] = j->moving_mean[c] * j->momentum + (float) mu * (1.0f - j->momentum);
      j->moving_variance[c] = j->moving_variance[c] * j->momentum
                              + (float) (m > 1.0 ? var * m / (m - 1.0) : var) * (1.0f - j->momentum);

      scale = j->gamma[c] * j->invstd[c];
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;

          if (j->relu)
            scale_shift_relu (j->out + off, in + off, spatial, scale, j->beta[c] - j->mean[c] * scale);
          else
            scale_shift (j->out + off, in + off, spatial, scale, j->beta[c] - j->mean[c] * scale);
        }
    }
}

static void
forward_train (float *out, float *mean, float *invstd, float *moving_mean, float *moving_variance,
               const float *in, const float *gamma, const float *beta,
               int batch, int channels, int spatial, float momentum, float epsilon, gboolean relu)
{
  BatchNormJob job = { .out = out, .mean = mean, .invstd = invstd, .moving_mean = moving_mean,
                       .moving_variance = moving_variance, .in = in, .gamma = gamma, .beta = beta,
                       .batch = batch, .channels = channels, .spatial = spatial,
                       .momentum = momentum, .epsilon = epsilon, .relu = relu };

  for_channels (&job, forward_train_channels);
}

void
convolve_batchnorm_forward_train (float *out, float *mean, float *invstd,
                                  float *moving_mean, float *moving_variance,
                                  const float *in, const float *gamma, const float *beta,
                                  int batch, int channels, int spatial,
                                  float momentum, float epsilon)
{
  forward_train (out, mean, invstd, moving_mean, moving_variance, in, gamma, beta,
                 batch, channels, spatial, momentum, epsilon, FALSE);
}

void
convolve_batchnorm_forward_train_relu (float *out, float *mean, float *invstd,
                                       float *moving_mean, float *moving_variance,
                                       const float *in, const float *gamma, const float *beta,
                                       int batch, int channels, int spatial,
                                       float momentum, float epsilon)
{
  forward_train (out, mean, invstd, moving_mean, moving_variance, in, gamma, beta,
                 batch, channels, spatial, momentum, epsilon, TRUE);
}

CONVOLVE_CLONES static void
forward_infer_channels (const BatchNormJob *j, int first, int last)
{
  for (int c = first; c < last; c++)
    {
      float scale = j->gamma[c] / sqrtf (j->c_moving_variance[c] + j->epsilon);
      float shift = j->beta[c] - j->c_moving_mean[c] * scale;

      for (int n = 0; n < j->batch; n++)
        {
          size_t off = ((size_t) n * j->channels + c) * j->spatial;

          scale_shift (j->out + off, j->in + off, j->spatial, scale, shift);
        }
    }
}

void
convolve_batchnorm_forward_infer (float *out,
                                  const float *in, const float *gamma, const float *beta,
                                  const float *moving_mean, const float *moving_variance,
                                  int batch, int channels, int spatial, float epsilon)
{
  BatchNormJob job = { .out = out, .in = in, .gamma = gamma, .beta = beta,
                       .c_moving_mean = moving_mean, .c_moving_variance = moving_variance,
                       .batch = batch, .channels = channels, .spatial = spatial, .epsilon = epsilon };

  for_channels (&job, forward_infer_channels);
}

CONVOLVE_CLONES static void
backward_channels (const BatchNormJob *j, int first, int last)
{
  int batch = j->batch, channels = j->channels, spatial = j->spatial;
  float m = (float) batch * (float) spatial;

  for (int c = first; c < last; c++)
    {
      double sum_d = 0.0, sum_dx = 0.0;
      float mu = j->c_mean[c], istd = j->c_invstd[c];
      float k, mean_d, mean_dx, bias;

      /* sum(dout) and sum(dout * (x - mean)); xhat = (x - mean) * invstd */
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *d = j->dout + off;
          const float *x = j->in + off;
          float s = 0.0f, sx = 0.0f;

          if (j->relu)
            {
              /* The ReLU's backward on the way (d is relu_dout): the plane
               * is then in cache for the sums. */
              float *restrict g = j->relu_dout + off;
              const float *restrict y = j->relu_out + off;

#pragma omp simd
              for (int i = 0; i < spatial; i++)
                g[i] = y[i] > 0.0f ? g[i] : 0.0f;
            }
#pragma omp simd reduction(+:s, sx)
          for (int i = 0; i < spatial; i++)
            {
              s += d[i];
              sx += d[i] * (x[i] - mu);
            }
          sum_d += s;
          sum_dx += sx;
        }
      j->dbeta[c] = (float) sum_d;
      j->dgamma[c] = (float) (sum_dx * istd);
      if (j->din == NULL)
        continue;

      /* din = gamma * invstd * (dout - mean(dout) - xhat * mean(dout * xhat))
       *     = k * dout + (x - mean) * (-k * invstd * mean(dout * xhat)) - k * mean(dout) */
      k = j->gamma[c] * istd;
      mean_d = (float) (sum_d / m);
      mean_dx = (float) (sum_dx * istd / m);
      bias = -k * mean_d;
      for (int n = 0; n < batch; n++)
        {
          size_t off = ((size_t) n * channels + c) * spatial;
          const float *restrict d = j->dout + off;
          const float *restrict x = j->in + off;
          float *restrict dx = j->din + off;
          float kx = k * istd * mean_dx;

#pragma omp simd
          for (int i = 0; i < spatial; i++)
            dx[i] = k * d[i] - (x[i] - mu) * kx + bias;
        }
    }
}

void
convolve_batchnorm_backward (float *din, float *dgamma, float *dbeta,
                             const float *dout, const float *in,
                             const float *mean, const float *invstd, const float *gamma,
                             int batch, int channels, int spatial)
{
  BatchNormJob job = { .din = din, .dgamma = dgamma, .dbeta = dbeta, .dout = dout, .in = in,
                       .c_mean = mean, .c_invstd = invstd, .gamma = gamma,
                       .batch = batch, .channels = channels, .spatial = spatial };

  for_channels (&job, backward_channels);
}

void
convolve_batchnorm_backward_relu (float *din, float *dgamma, float *dbeta,
                                  float *relu_dout, const float *relu_out, const float *in,
                                  const float *mean, const float *invstd, const float *gamma,
                                  int batch, int channels, int spatial)
{
  BatchNormJob job = { .din = din, .dgamma = dgamma, .dbeta = dbeta, .dout = relu_dout, .in = in,
                       .relu_dout = relu_dout, .relu_out = relu_out,
                       .c_mean = mean, .c_invstd = invstd, .gamma = gamma,
                       .batch = batch, .channels = channels, .spatial = spatial, .relu = TRUE };

  for_channels (&job, backward_channels);
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
