/* convolve-conv2d.c: 2-D convolution, stride 1, 'same' or 'valid' padding.
 *
 * Fast path: im2col of one image into a workspace, then one sgemm per
 * image (kernel [out_c, in_c*k*k] x columns [in_c*k*k, oh*ow] lands
 * directly in the NCHW output), bias and ReLU fused into one pass over the
 * image's output while it is in cache. The batch is split into contiguous
 * runs of images, one per engine thread (convolve-parallel.h), each with
 * its own workspace and OpenBLAS on one thread: the per-image GEMMs are
 * too small for OpenBLAS to split well, and this way im2col, col2im and
 * the elementwise passes run in parallel too. The kernel and bias
 * gradients are summed per run and the runs' sums added in order, so the
 * result depends on the thread count but not on timing.
 *
 * 3x3 kernels with enough channels take Winograd's F(2x2, 3x3) instead
 * (convolve-winograd.c), in the same runs of images: 16 products of the
 * transformed tiles in place of the im2col product, 2.25 times fewer
 * multiplications. The naive direct loops beside both are the reference the
 * tests hold them to.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <cblas.h>
#include <string.h>

#include "convolve-parallel.h"
#include "convolve-winograd.h"

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

/* The columns of one image, then room for one run's kernel and bias
 * gradient sums (each part a multiple of 16 floats, 64 bytes). */
static size_t
columns_size (int in_c, int h, int w, int kernel_size, ConvolvePadding padding)
{
  size_t oh = (size_t) convolve_conv2d_output_size (h, kernel_size, padding);
  size_t ow = (size_t) convolve_conv2d_output_size (w, kernel_size, padding);

  return ((size_t) in_c * kernel_size * kernel_size * oh * ow + 15) / 16 * 16;
}

size_t
convolve_conv2d_workspace_size (int in_c, int h, int w, int out_c, int kernel_size,
                                ConvolvePadding padding)
{
  size_t grads = (size_t) out_c * in_c * kernel_size * kernel_size + (size_t) out_c;

  if (convolve_winograd_applies (in_c, out_c, kernel_size))
    return convolve_winograd_workspace_size (in_c, h, w, out_c, pad_before (kernel_size, padding));
  return columns_size (in_c, h, w, kernel_size, padding) + (grads + 15) / 16 * 16;
}

/* How many runs of images a batch is split into. */
static int
n_runs (const ConvolveWorkspace *ws, int batch)
{
  return MAX (1, MIN (MIN (convolve_parallel_get_threads (), ws->count), batch));
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

typedef struct {
  float       *out;
  const ConvolveWorkspace *ws;
  const float *in, *kernel, *bias;
  int          batch, in_c, h, w, out_c, kernel_size;
  ConvolvePadding    padding;
  ConvolveActivation activation;
} ForwardJob;

static void
forward_run (int task, int n_tasks, gpointer data)
{
  const ForwardJob *j = data;
  int pad = pad_before (j->kernel_size, j->padding);
  int oh = convolve_conv2d_output_size (j->h, j->kernel_size, j->padding);
  int ow = convolve_conv2d_output_size (j->w, j->kernel_size, j->padding);
  int kdim = j->in_c * j->kernel_size * j->kernel_size;
  int spatial = oh * ow;
  float *workspace = j->ws->data + (size_t) task * j->ws->stride;
  gsize first, last;

  convolve_parallel_range ((gsize) j->batch, task, n_tasks, &first, &last);
  if (convolve_winograd_applies (j->in_c, j->out_c, j->kernel_size))
    {
      convolve_winograd_prepare (workspace, j->kernel, j->in_c, j->h, j->w, j->out_c, pad);
      for (gsize n = first; n < last; n++)
        convolve_winograd_forward_image (j->out + n * j->out_c * spatial, workspace,
                                         j->in + n * j->in_c * j->h * j->w, j->bias,
                                         j->in_c, j->h, j->w, j->out_c, pad, j->activation);
      return;
    }
  for (gsize n = first; n < last; n++)
    {
      const float *image = j->in + n * j->in_c * j->h * j->w;
      float *o = j->out + n * j->out_c * spatial;

      im2col (workspace, image, j->in_c, j->h, j->w, j->kernel_size, pad, oh, ow);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                   j->out_c, spatial, kdim,
                   1.0f, j->kernel, kdim, workspace, spatial,
                   0.0f, o, spatial);
      for (int oc = 0; oc < j->out_c; oc++)
        add_bias_activate (o + (size_t) oc * spatial, j->bias[oc], (size_t) spatial, j->activation);
    }
}

void
convolve_conv2d_forward (float *out, const ConvolveWorkspace *ws,
                         const float *in, const float *kernel, const float *bias,
                         int batch, int in_c, int h, int w, int out_c, int kernel_size,
                         ConvolvePadding padding, ConvolveActivation activation)
{
  ForwardJob job = { out, ws, in, kernel, bias, batch, in_c, h, w, out_c, kernel_size,
                     padding, activation };

  convolve_parallel_run (n_runs (ws, batch), forward_run, &job);
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

typedef struct {
  float       *din, *dkernel, *dbias;
  const ConvolveWorkspace *ws;
  float       *dout;
  const float *out, *in, *kernel;
  int          batch, in_c, h, w, out_c, kernel_size;
  ConvolvePadding    padding;
  ConvolveActivation activation;
  gboolean     input_only;  /* convolve_conv2d_backward_input */
} BackwardJob;

/* The masked gradient of every plane of one image, and the sums for the
 * bias when dbias is not NULL. */
static void
image_pre_activation (float *dbias, float *d, const float *o, int out_c, int spatial,
                      ConvolveActivation activation)
{
  if (dbias == NULL && activation != CONVOLVE_ACTIVATION_RELU)
    return;  /* nothing to mask, no sums wanted */
  for (int oc = 0; oc < out_c; oc++)
    {
      float s = plane_backward (d + (size_t) oc * spatial, o + (size_t) oc * spatial, spatial,
                                activation);

      if (dbias != NULL)
        dbias[oc] += s;
    }
}

static size_t
winograd_dbias_offset (const BackwardJob *j)
{
  ConvolveWinogradLayout l;

  convolve_winograd_layout (&l, j->in_c, j->h, j->w, j->out_c, pad_before (j->kernel_size, j->padding));
  return l.dbias;
}

/* backward_run by Winograd: the run's dU sum stays in its block, for
 * convolve_conv2d_backward to add up and transform. */
static void
winograd_backward_run (const BackwardJob *j, float *workspace, float *dbias, gsize first, gsize last)
{
  int pad = pad_before (j->kernel_size, j->padding);
  ConvolveWinogradLayout l;
  int spatial;

  convolve_winograd_layout (&l, j->in_c, j->h, j->w, j->out_c, pad);
  spatial = l.oh * l.ow;
  if (j->din != NULL)
    convolve_winograd_prepare (workspace, j->kernel, j->in_c, j->h, j->w, j->out_c, pad);
  if (!j->input_only && first == last)
    memset (workspace + l.du, 0, sizeof (float) * l.kernel_planes);

  for (gsize n = first; n < last; n++)
    {
      float *d = j->dout + n * j->out_c * spatial;

      image_pre_activation (dbias, d, j->out + n * j->out_c * spatial, j->out_c, spatial,
                            j->activation);
      convolve_winograd_backward_image (j->din != NULL ? j->din + n * j->in_c * j->h * j->w : NULL,
                                        workspace,
                                        j->input_only ? NULL : j->in + n * j->in_c * j->h * j->w,
                                        d, j->in_c, j->h, j->w, j->out_c, pad,
                                        j->input_only ? -1 : n > first);
    }
}

/* One run of images: the pre-activation gradient, the run's kernel and
 * bias gradient sums (into dkernel and dbias for the first run, else into
 * the run's workspace) and din. */
static void
backward_run (int task, int n_tasks, gpointer data)
{
  const BackwardJob *j = data;
  int pad = pad_before (j->kernel_size, j->padding);
  int oh = convolve_conv2d_output_size (j->h, j->kernel_size, j->padding);
  int ow = convolve_conv2d_output_size (j->w, j->kernel_size, j->padding);
  int kdim = j->in_c * j->kernel_size * j->kernel_size;
  int spatial = oh * ow;
  float *workspace = j->ws->data + (size_t) task * j->ws->stride;
  float *dkernel = j->dkernel, *dbias = j->dbias;
  gboolean winograd = convolve_winograd_applies (j->in_c, j->out_c, j->kernel_size);
  gsize first, last;

  if (task > 0 && !j->input_only && winograd)
    dbias = workspace + winograd_dbias_offset (j);
  else if (task > 0 && !j->input_only)
    {
      dkernel = workspace + columns_size (j->in_c, j->h, j->w, j->kernel_size, j->padding);
      dbias = dkernel + (size_t) j->out_c * kdim;
    }
  convolve_parallel_range ((gsize) j->batch, task, n_tasks, &first, &last);
  if (!j->input_only)
    {
      for (int oc = 0; oc < j->out_c; oc++)
        dbias[oc] = 0.0f;
      if (first == last && !winograd)
        memset (dkernel, 0, sizeof (float) * (size_t) j->out_c * kdim);
    }
  if (winograd)
    {
      winograd_backward_run (j, workspace, j->input_only ? NULL : dbias, first, last);
      return;
    }

  /* One image at a time, so its gradient is still in cache for the GEMMs. */
  for (gsize n = first; n < last; n++)
    {
      const float *image = j->in + n * j->in_c * j->h * j->w;
      float *d = j->dout + n * j->out_c * spatial;
      const float *o = j->out + n * j->out_c * spatial;

      image_pre_activation (j->input_only ? NULL : dbias, d, o, j->out_c, spatial, j->activation);
      if (j->input_only)
        {
          image_backward_input (j->din + n * j->in_c * j->h * j->w, workspace, d, j->kernel,
                                j->in_c, j->h, j->w, j->out_c, j->kernel_size, pad, oh, ow);
          continue;
        }
      /* dkernel += d[out_c, spatial] x col^T[spatial, kdim] */
      im2col (workspace, image, j->in_c, j->h, j->w, j->kernel_size, pad, oh, ow);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                   j->out_c, kdim, spatial,
                   1.0f, d, spatial, workspace, spatial,
                   n == first ? 0.0f : 1.0f, dkernel, kdim);
      /* reusing the workspace */
      if (j->din != NULL)
        image_backward_input (j->din + n * j->in_c * j->h * j->w, workspace, d, j->kernel,
                              j->in_c, j->h, j->w, j->out_c, j->kernel_size, pad, oh, ow);
    }
}

void
convolve_conv2d_backward (float *din, float *dkernel, float *dbias, const ConvolveWorkspace *ws,
                          float *dout, const float *out,
                          const float *in, const float *kernel,
                          int batch, int in_c, int h, int w, int out_c, int kernel_size,
                          ConvolvePadding padding, ConvolveActivation activation)
{
  BackwardJob job = { din, dkernel, dbias, ws, dout, out, in, kernel,
                      batch, in_c, h, w, out_c, kernel_size, padding, activation, FALSE };
  int runs = n_runs (ws, batch);
  size_t n_kernel = (size_t) out_c * in_c * kernel_size * kernel_size;
  size_t grads_offset = columns_size (in_c, h, w, kernel_size, padding);

  convolve_parallel_run (runs, backward_run, &job);
  if (convolve_winograd_applies (in_c, out_c, kernel_size))
    {
      ConvolveWinogradLayout l;
      float *restrict du = ws->data;
      size_t n_du;

      convolve_winograd_layout (&l, in_c, h, w, out_c, pad_before (kernel_size, padding));
      n_du = l.kernel_planes;
      du += l.du;
      for (int t = 1; t < runs; t++)
        {
          const float *restrict partial = ws->data + (size_t) t * ws->stride;

          for (size_t i = 0; i < n_du; i++)
            du[i] += partial[l.du + i];
          for (int oc = 0; oc < out_c; oc++)
            dbias[oc] += partial[l.dbias + (size_t) oc];
        }
      convolve_winograd_kernel_gradient (dkernel, du, in_c, out_c);
      return;
    }
  /* The runs' sums, in order. */
  for (int t = 1; t < runs; t++)
    {
      const float *restrict partial = ws->data + (size_t) t * ws->stride + grads_offset;

      for (size_t i = 0; i < n_kernel; i++)
        dkernel[i] += partial[i];
      for (int oc = 0; oc < out_c; oc++)
        dbias[oc] += partial[n_kernel + (size_t) oc];
    }
}

void
convolve_conv2d_backward_input (float *din, const ConvolveWorkspace *ws,
                                float *dout, const float *out, const float *kernel,
                                int batch, int in_c, int h, int w, int out_c, int kernel_size,
                                ConvolvePadding padding, ConvolveActivation activation)
{
  BackwardJob job = { din, NULL, NULL, ws, dout, out, NULL, kernel,
                      batch, in_c, h, w, out_c, kernel_size, padding, activation, TRUE };

  convolve_parallel_run (n_runs (ws, batch), backward_run, &job);
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

void
convolve_conv2d_backward_naive (float *din, float *dkernel, float *dbias,
                                float *dout, const float *out,
                                const float *in, const float *kernel,
                                int batch, int in_c, int h, int w, int out_c, int kernel_size,
                                ConvolvePadding padding, ConvolveActivation activation)
{
  int pad = pad_before (kernel_size, padding);
  int oh = convolve_conv2d_output_size (h, kernel_size, padding);
  int ow = convolve_conv2d_output_size (w, kernel_size, padding);
  int k = kernel_size;
  size_t n_out = (size_t) batch * out_c * oh * ow;

  if (activation == CONVOLVE_ACTIVATION_RELU)
    for (size_t i = 0; i < n_out; i++)
      if (!(out[i] > 0.0f))
        dout[i] = 0.0f;
  memset (dkernel, 0, sizeof (float) * (size_t) out_c * in_c * k * k);
  memset (dbias, 0, sizeof (float) * (size_t) out_c);
  if (din != NULL)
    memset (din, 0, sizeof (float) * (size_t) batch * in_c * h * w);

  for (int n = 0; n < batch; n++)
    for (int oc = 0; oc < out_c; oc++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          {
            float d = dout[(((size_t) n * out_c + oc) * oh + oy) * ow + ox];

            dbias[oc] += d;
            for (int c = 0; c < in_c; c++)
              for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                  {
                    int iy = oy + ki - pad;
                    int ix = ox + kj - pad;
                    size_t kindex = ((size_t) (oc * in_c + c) * k + ki) * k + kj;
                    size_t iindex = (((size_t) n * in_c + c) * h + iy) * w + ix;

                    if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                      continue;
                    dkernel[kindex] += d * in[iindex];
                    if (din != NULL)
                      din[iindex] += d * kernel[kindex];
                  }
          }
}
