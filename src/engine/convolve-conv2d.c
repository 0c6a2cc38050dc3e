/* convolve-conv2d.c: 2-D convolution, stride 1, 'same' or 'valid' padding.
 *
 * Fast path: im2col of one image into the model's shared workspace, then
 * one sgemm per image (kernel [out_c, in_c*k*k] x columns [in_c*k*k, oh*ow]
 * lands directly in the NCHW output). The naive direct loops beside it are
 * the reference the tests hold the fast path to.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <cblas.h>
#include <string.h>

/* Keras 'same' with stride 1 pads k-1 in total, the smaller half first. */
static inline int
pad_before (int kernel_size, ConvolvePadding padding)
{
  return padding == CONVOLVE_PADDING_SAME ? (kernel_size - 1) / 2 : 0;
}

int
convolve_conv2d_output_size (int size, int kernel_size, ConvolvePadding padding)
{
  return padding == CONVOLVE_PADDING_SAME ? size : size - kernel_size + 1;
}

size_t
convolve_conv2d_workspace_size (int in_c, int h, int w, int out_c, int kernel_size,
                                ConvolvePadding padding)
{
  size_t oh = (size_t) convolve_conv2d_output_size (h, kernel_size, padding);
  size_t ow = (size_t) convolve_conv2d_output_size (w, kernel_size, padding);

  return (size_t) in_c * kernel_size * kernel_size * oh * ow;
}

/* col[(c*k + ki)*k + kj][oy*ow + ox] = in[c][oy + ki - pad][ox + kj - pad] */
static void
im2col (float *restrict col, const float *restrict in,
        int in_c, int h, int w, int k, int pad, int oh, int ow)
{
  for (int c = 0; c < in_c; c++)
    for (int ki = 0; ki < k; ki++)
      for (int kj = 0; kj < k; kj++)
        {
          const float *plane = in + (size_t) c * h * w;
          int x_lo = pad - kj;                   /* first ox with ix >= 0 */
          int x_hi = w + pad - kj;               /* first ox with ix >= w */

          if (x_lo < 0)
            x_lo = 0;
          if (x_hi > ow)
            x_hi = ow;

          for (int oy = 0; oy < oh; oy++)
            {
              int iy = oy + ki - pad;
              float *dst = col + (size_t) oy * ow;

              if (iy < 0 || iy >= h || x_lo >= x_hi)
                {
                  memset (dst, 0, sizeof (float) * (size_t) ow);
                  continue;
                }
              for (int ox = 0; ox < x_lo; ox++)
                dst[ox] = 0.0f;
              memcpy (dst + x_lo, plane + (size_t) iy * w + (x_lo + kj - pad),
                      sizeof (float) * (size_t) (x_hi - x_lo));
              for (int ox = x_hi; ox < ow; ox++)
                dst[ox] = 0.0f;
            }
          col += (size_t) oh * ow;
        }
}

/* The adjoint of im2col: din[c][iy][ix] = sum of the columns that read it. */
static void
col2im (float *restrict din, const float *restrict col,
        int in_c, int h, int w, int k, int pad, int oh, int ow)
{
  memset (din, 0, sizeof (float) * (size_t) in_c * h * w);
  for (int c = 0; c < in_c; c++)
    for (int ki = 0; ki < k; ki++)
      for (int kj = 0; kj < k; kj++)
        {
          float *plane = din + (size_t) c * h * w;
          int x_lo = pad - kj;
          int x_hi = w + pad - kj;

          if (x_lo < 0)
            x_lo = 0;
          if (x_hi > ow)
            x_hi = ow;

          for (int oy = 0; oy < oh; oy++)
            {
              int iy = oy + ki - pad;
              const float *src = col + (size_t) oy * ow;
              float *dst;

              if (iy < 0 || iy >= h || x_lo >= x_hi)
                continue;
              dst = plane + (size_t) iy * w + (x_lo + kj - pad);
              src += x_lo;
              for (int i = 0; i < x_hi - x_lo; i++)
                dst[i] += src[i];
            }
          col += (size_t) oh * ow;
        }
}

/* out[p] = act(out[p] + bias) over one channel plane. */
static void
add_bias_activate (float *restrict out, float bias, size_t n, ConvolveActivation activation)
{
  if (activation == CONVOLVE_ACTIVATION_RELU)
    {
#pragma omp simd
      for (size_t i = 0; i < n; i++)
        {
          float v = out[i] + bias;
          out[i] = v > 0.0f ? v : 0.0f;
        }
    }
  else
    {
      for (size_t i = 0; i < n; i++)
        out[i] += bias;
    }
}

void
convolve_conv2d_forward (float *out, float *workspace,
                         const float *in, const float *kernel, const float *bias,
                         int batch, int in_c, int h, int w, int out_c, int kernel_size,
                         ConvolvePadding padding, ConvolveActivation activation)
{
  int pad = pad_before (kernel_size, padding);
  int oh = convolve_conv2d_output_size (h, kernel_size, padding);
  int ow = convolve_conv2d_output_size (w, kernel_size, padding);
  int kdim = in_c * kernel_size * kernel_size;
  int spatial = oh * ow;

  for (int n = 0; n < batch; n++)
    {
      const float *image = in + (size_t) n * in_c * h * w;
      float *o = out + (size_t) n * out_c * spatial;

      im2col (workspace, image, in_c, h, w, kernel_size, pad, oh, ow);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                   out_c, spatial, kdim,
                   1.0f, kernel, kdim, workspace, spatial,
                   0.0f, o, spatial);
      for (int oc = 0; oc < out_c; oc++)
        add_bias_activate (o + (size_t) oc * spatial, bias[oc], (size_t) spatial, activation);
    }
}

/* Over one channel plane: the pre-activation gradient (in place) and its
 * sum, for the bias. */
static float
plane_backward (float *restrict d, const float *restrict out, int n, ConvolveActivation activation)
{
  float s = 0.0f;

  if (activation == CONVOLVE_ACTIVATION_RELU)
    {
#pragma omp simd reduction(+:s)
      for (int i = 0; i < n; i++)
        {
          float v = out[i] > 0.0f ? d[i] : 0.0f;
          d[i] = v;
          s += v;
        }
    }
  else
    {
#pragma omp simd reduction(+:s)
      for (int i = 0; i < n; i++)
        s += d[i];
    }
  return s;
}

/* One image's input gradient from its (activation-masked) output gradient
 * d: dcol[kdim, spatial] = kernel^T x d in the workspace, then col2im. */
static void
image_backward_input (float *din, float *workspace, const float *d, const float *kernel,
                      int in_c, int h, int w, int out_c, int kernel_size, int pad, int oh, int ow)
{
  int kdim = in_c * kernel_size * kernel_size;
  int spatial = oh * ow;

  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
               kdim, spatial, out_c,
               1.0f, kernel, kdim, d, spatial,
               0.0f, workspace, spatial);
  col2im (din, workspace, in_c, h, w, kernel_size, pad, oh, ow);
}

void
convolve_conv2d_backward (float *din, float *dkernel, float *dbias, float *workspace,
                          float *dout, const float *out,
                          const float *in, const float *kernel,
                          int batch, int in_c, int h, int w, int out_c, int kernel_size,
                          ConvolvePadding padding, ConvolveActivation activation)
{
  int pad = pad_before (kernel_size, padding);
  int oh = convolve_conv2d_output_size (h, kernel_size, padding);
  int ow = convolve_conv2d_output_size (w, kernel_size, padding);
  int kdim = in_c * kernel_size * kernel_size;
  int spatial = oh * ow;

  for (int oc = 0; oc < out_c; oc++)
    dbias[oc] = 0.0f;

  /* One image at a time, so its gradient is still in cache for the GEMMs. */
  for (int n = 0; n < batch; n++)
    {
      const float *image = in + (size_t) n * in_c * h * w;
      float *d = dout + (size_t) n * out_c * spatial;
      const float *o = out + (size_t) n * out_c * spatial;

      for (int oc = 0; oc < out_c; oc++)
        dbias[oc] += plane_backward (d + (size_t) oc * spatial, o + (size_t) oc * spatial,
                                     spatial, activation);

      /* dkernel += d[out_c, spatial] x col^T[spatial, kdim] */
      im2col (workspace, image, in_c, h, w, kernel_size, pad, oh, ow);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                   out_c, kdim, spatial,
                   1.0f, d, spatial, workspace, spatial,
                   n == 0 ? 0.0f : 1.0f, dkernel, kdim);
      /* reusing the workspace */
      if (din != NULL)
        image_backward_input (din + (size_t) n * in_c * h * w, workspace, d, kernel,
                              in_c, h, w, out_c, kernel_size, pad, oh, ow);
    }
}

void
convolve_conv2d_backward_input (float *din, float *workspace,
                                float *dout, const float *out, const float *kernel,
                                int batch, int in_c, int h, int w, int out_c, int kernel_size,
                                ConvolvePadding padding, ConvolveActivation activation)
{
  int pad = pad_before (kernel_size, padding);
  int oh = convolve_conv2d_output_size (h, kernel_size, padding);
  int ow = convolve_conv2d_output_size (w, kernel_size, padding);
  int spatial = oh * ow;

  for (int n = 0; n < batch; n++)
    {
      float *d = dout + (size_t) n * out_c * spatial;
      const float *o = out + (size_t) n * out_c * spatial;

      if (activation == CONVOLVE_ACTIVATION_RELU)
        for (int oc = 0; oc < out_c; oc++)
          plane_backward (d + (size_t) oc * spatial, o + (size_t) oc * spatial,
                          spatial, activation);
      image_backward_input (din + (size_t) n * in_c * h * w, workspace, d, kernel,
                            in_c, h, w, out_c, kernel_size, pad, oh, ow);
    }
}

void
convolve_conv2d_forward_naive (float *out,
                               const float *in, const float *kernel, const float *bias,
                               int batch, int in_c, int h, int w, int out_c, int kernel_size,
                               ConvolvePadding padding, ConvolveActivation activation)
{
  int pad = pad_before (kernel_size, padding);
  int oh = convolve_conv2d_output_size (h, kernel_size, padding);
  int ow = convolve_conv2d_output_size (w, kernel_size, padding);
  int k = kernel_size;

  for (int n = 0; n < batch; n++)
    for (int oc = 0; oc < out_c; oc++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          {
            float s = bias[oc];

            for (int c = 0; c < in_c; c++)
              for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                  {
                    int iy = oy + ki - pad;
                    int ix = ox + kj - pad;

                    if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                      continue;
                    s += kernel[((size_t) (oc * in_c + c) * k + ki) * k + kj]
                         * in[(((size_t) n * in_c + c) * h + iy) * w + ix];
                  }
            if (activation == CONVOLVE_ACTIVATION_RELU && s < 0.0f)
              s = 0.0f;
            out[(((size_t) n * out_c + oc) * oh + oy) * ow + ox] = s;
          }
}
