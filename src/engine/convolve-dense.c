/* convolve-dense.c: fully connected layer, kernel stored [in, out] as Keras
 * stores it, every product through sgemm, split over the engine's threads
 * (convolve-gemm.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include "convolve-gemm.h"

void
convolve_dense_forward (float *out,
                        const float *in, const float *kernel, const float *bias,
                        int batch, int in_features, int out_features,
                        ConvolveActivation activation)
{
  /* out[batch, out] = in[batch, in] x kernel[in, out]. A single image is
   * a matrix-vector product: sgemm would first pack (copy) the whole
   * kernel, which for the tutorial's 32 MB kernel costs more than the
   * product itself. */
  if (batch == 1)
    convolve_gemv_t (in_features, out_features, kernel, out_features, in, out);
  else
    convolve_gemm (CblasNoTrans, CblasNoTrans,
                   batch, out_features, in_features,
                   1.0f, in, in_features, kernel, out_features,
                   0.0f, out, out_features);

  for (int n = 0; n < batch; n++)
    {
      float *restrict o = out + (size_t) n * out_features;
      const float *restrict b = bias;

      if (activation == CONVOLVE_ACTIVATION_RELU)
        for (int j = 0; j < out_features; j++)
          {
            float v = o[j] + b[j];
            o[j] = v > 0.0f ? v : 0.0f;
          }
      else
        for (int j = 0; j < out_features; j++)
          o[j] += b[j];
    }
}

void
convolve_dense_backward_input (float *din, float *dbias,
                               float *dout, const float *out, const float *kernel,
                               int batch, int in_features, int out_features,
                               ConvolveActivation activation)
{
  if (activation == CONVOLVE_ACTIVATION_RELU)
    convolve_relu_backward (dout, dout, out, (size_t) batch * out_features);

  if (dbias != NULL)
    {
      for (int j = 0; j < out_features; j++)
        dbias[j] = 0.0f;
      for (int n = 0; n < batch; n++)
        {
          const float *restrict d = dout + (size_t) n * out_features;
          float *restrict db = dbias;

          for (int j = 0; j < out_features; j++)
            db[j] += d[j];
        }
    }

  if (din != NULL)
    /* din[batch, in] = dout[batch, out] x kernel^T[out, in] */
    convolve_gemm (CblasNoTrans, CblasTrans,
                   batch, in_features, out_features,
                   1.0f, dout, out_features, kernel, out_features,
                   0.0f, din, in_features);
}

void
convolve_dense_kernel_gradient (float *dkernel_rows,
                                const float *dout, const float *in,
                                int batch, int in_features, int out_features,
                                int first_row, int n_rows)
{
  /* rows [first_row, first_row + n_rows) of in^T[in, batch] x dout[batch, out],
   * on the calling thread: the fused update calls it from the pool */
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
               n_rows, out_features, batch,
               1.0f, in + first_row, in_features, dout, out_features,
               0.0f, dkernel_rows, out_features);
}

void
convolve_dense_input_gradient (float *din,
                               const float *dout, const float *kernel,
                               int batch, int in_features, int out_features,
                               int first_row, int n_rows)
{
  /* columns [first_row, first_row + n_rows) of
   * dout[batch, out] x kernel^T[out, in], on the calling thread */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
               batch, n_rows, out_features,
               1.0f, dout, out_features, kernel + (gsize) first_row * out_features, out_features,
               0.0f, din + first_row, in_features);
}

void
convolve_dense_backward (float *din, float *dkernel, float *dbias,
                         float *dout, const float *out,
                         const float *in, const float *kernel,
                         int batch, int in_features, int out_features,
                         ConvolveActivation activation)
{
  convolve_dense_backward_input (din, dbias, dout, out, kernel,
                                 batch, in_features, out_features, activation);
  /* dkernel[in, out] = in^T[in, batch] x dout[batch, out] */
  convolve_gemm (CblasTrans, CblasNoTrans,
                 in_features, out_features, batch,
                 1.0f, in, in_features, dout, out_features,
                 0.0f, dkernel, out_features);
}
