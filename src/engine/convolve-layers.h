/* convolve-layers.h: the layer kernels (private to the engine and its tests).
 *
 * Every layer is a pair of plain functions in the style of llm.c: outputs
 * first, then cached activations, then inputs, then dimensions. Tensors are
 * float32 NCHW; "spatial" is h * w. Nothing here allocates or fails: the
 * model checks shapes once, at build time, and hands in buffers of the right
 * size.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "convolve-model.h"
#include "convolve-rng.h"

G_BEGIN_DECLS

/* Keras BatchNormalization defaults. */
#define CONVOLVE_BATCHNORM_MOMENTUM 0.99f
#define CONVOLVE_BATCHNORM_EPSILON  1e-3f

/* --- Conv2D (stride 1), im2col + sgemm --------------------------------- */

/* Scratch for the conv kernels: count blocks of stride floats each (one per
 * thread that may work on a batch at once), every block at least
 * convolve_conv2d_workspace_size() floats of the layer, 64-byte aligned. */
typedef struct {
  float *data;
  size_t stride;
  int    count;
} ConvolveWorkspace;

/* Output height/width for 'same' or 'valid' padding; 0 or less when the
 * kernel does not fit. */
int   convolve_conv2d_output_size    (int size, int kernel_size, ConvolvePadding padding);
/* Floats of one workspace block the fast kernels need for one layer. */
size_t convolve_conv2d_workspace_size (int in_c, int h, int w, int out_c, int kernel_size,
                                       ConvolvePadding padding);

/* out: batch x out_c x oh x ow. kernel: out_c x in_c x k x k. bias: out_c.
 * activation: LINEAR or RELU (fused). */
void convolve_conv2d_forward  (float *out, const ConvolveWorkspace *workspace,
                               const float *in, const float *kernel, const float *bias,
                               int batch, int in_c, int h, int w, int out_c, int kernel_size,
                               ConvolvePadding padding, ConvolveActivation activation);
/* dout is overwritten with the gradient before the activation when the
 * activation is RELU (out is the activated output). din may be NULL (the
 * first layer does not need it). dkernel and dbias are overwritten. */
void convolve_conv2d_backward (float *din, float *dkernel, float *dbias,
                               const ConvolveWorkspace *workspace,
                               float *dout, const float *out,
                               const float *in, const float *kernel,
                               int batch, int in_c, int h, int w, int out_c, int kernel_size,
                               ConvolvePadding padding, ConvolveActivation activation);
/* Only din (overwritten), for explaining a prediction: the backward pass to
 * the input without the kernel and bias gradients. dout becomes the
 * pre-activation gradient as above. */
void convolve_conv2d_backward_input (float *din, const ConvolveWorkspace *workspace,
                                     float *dout, const float *out, const float *kernel,
                                     int batch, int in_c, int h, int w, int out_c, int kernel_size,
                                     ConvolvePadding padding, ConvolveActivation activation);
/* Direct loops, for tests: the reference the fast kernel is checked against. */
void convolve_conv2d_forward_naive (float *out,
                                    const float *in, const float *kernel, const float *bias,
                                    int batch, int in_c, int h, int w, int out_c, int kernel_size,
                                    ConvolvePadding padding, ConvolveActivation activation);
/* The backward pass as direct loops (same contract as the fast one). */
void convolve_conv2d_backward_naive (float *din, float *dkernel, float *dbias,
                                     float *dout, const float *out,
                                     const float *in, const float *kernel,
                                     int batch, int in_c, int h, int w, int out_c, int kernel_size,
                                     ConvolvePadding padding, ConvolveActivation activation);

/* --- BatchNormalization over channels ----------------------------------- */

/* Training: normalises with the batch statistics (biased variance) and
 * updates the moving statistics. mean and invstd (channels each) are kept
 * for the backward pass, which also reads the input again. */
void convolve_batchnorm_forward_train (float *out, float *mean, float *invstd,
                                       float *moving_mean, float *moving_variance,
                                       const float *in, const float *gamma, const float *beta,
                                       int batch, int channels, int spatial,
                                       float momentum, float epsilon);
/* Inference: the moving statistics. */
void convolve_batchnorm_forward_infer (float *out,
                                       const float *in, const float *gamma, const float *beta,
                                       const float *moving_mean, const float *moving_variance,
                                       int batch, int channels, int spatial, float epsilon);
/* din may be NULL. dgamma and dbeta are overwritten. in, mean and invstd
 * are those of the training forward pass. */
void convolve_batchnorm_backward (float *din, float *dgamma, float *dbeta,
                                  const float *dout, const float *in,
                                  const float *mean, const float *invstd, const float *gamma,
                                  int batch, int channels, int spatial);
/* BatchNormalization then ReLU, in training, one pass each way: out is
 * the ReLU's output; relu_dout, the gradient of that output, becomes the
 * gradient before the ReLU (as convolve_relu_backward would leave it) on
 * the way to din, dgamma and dbeta. The numbers of the two layers apart. */
void convolve_batchnorm_forward_train_relu (float *out, float *mean, float *invstd,
                                            float *moving_mean, float *moving_variance,
                                            const float *in, const float *gamma, const float *beta,
                                            int batch, int channels, int spatial,
                                            float momentum, float epsilon);
void convolve_batchnorm_backward_relu (float *din, float *dgamma, float *dbeta,
                                       float *relu_dout, const float *relu_out, const float *in,
                                       const float *mean, const float *invstd, const float *gamma,
                                       int batch, int channels, int spatial);
/* The input gradient of the inference forward (moving statistics): a
 * per-channel scale, gamma / sqrt(moving_variance + epsilon). */
void convolve_batchnorm_backward_infer (float *din,
                                        const float *dout,
                                        const float *gamma, const float *moving_variance,
                                        int batch, int channels, int spatial, float epsilon);

/* --- MaxPooling2D (pool x pool, stride pool, valid) --------------------- */

/* argmax (same size as out) records the input offset, within the image's
 * channel plane, of each maximum. */
void convolve_maxpool_forward  (float *out, int32_t *argmax,
                                const float *in,
                                int batch, int channels, int h, int w, int pool);
void convolve_maxpool_backward (float *din,
                                const float *dout, const int32_t *argmax,
                                int batch, int channels, int h, int w, int pool);

/* --- GlobalAveragePooling2D (mean over h x w) -------------------------- */

/* out: batch x channels, the mean of each channel's plane of in. */
void convolve_globalavgpool_forward  (float *out, const float *in,
                                      int batch, int channels, int spatial);
/* din (overwritten): every position of a channel's plane gets that
 * channel's dout / spatial. */
void convolve_globalavgpool_backward (float *din, const float *dout,
                                      int batch, int channels, int spatial);

/* --- Dense (kernel in x out, as Keras stores it) ------------------------ */

void convolve_dense_forward  (float *out,
                              const float *in, const float *kernel, const float *bias,
                              int batch, int in_features, int out_features,
                              ConvolveActivation activation);
/* Like the conv: dout becomes the pre-activation gradient for RELU; din
 * may be NULL; dkernel and dbias are overwritten. */
void convolve_dense_backward (float *din, float *dkernel, float *dbias,
                              float *dout, const float *out,
                              const float *in, const float *kernel,
                              int batch, int in_features, int out_features,
                              ConvolveActivation activation);

/* The backward pass in parts, for a caller that works a block of the
 * kernel's rows at a time (the fused optimizer step): first the
 * pre-activation gradient (in dout), dbias and din; then any rows of
 * dkernel (n_rows x out_features). din and dbias may be NULL: explaining a
 * prediction needs din only, and the fused step computes din by blocks
 * with convolve_dense_input_gradient() (columns first_row .. first_row +
 * n_rows of din, from the same rows of the kernel). */
void convolve_dense_backward_input  (float *din, float *dbias,
                                     float *dout, const float *out, const float *kernel,
                                     int batch, int in_features, int out_features,
                                     ConvolveActivation activation);
void convolve_dense_input_gradient  (float *din,
                                     const float *dout, const float *kernel,
                                     int batch, int in_features, int out_features,
                                     int first_row, int n_rows);
void convolve_dense_kernel_gradient (float *dkernel_rows,
                                     const float *dout, const float *in,
                                     int batch, int in_features, int out_features,
                                     int first_row, int n_rows);

/* --- Dropout (inverted) ------------------------------------------------- */

/* Draws mask (n floats: 0 or 1/(1-rate)) from rng, then out = in * mask. */
void convolve_dropout_forward  (float *out, float *mask,
                                const float *in, size_t n, float rate, ConvolveRng *rng);
/* Applies a given mask: what the forward does after drawing it. */
void convolve_dropout_apply    (float *out, const float *in, const float *mask, size_t n);
void convolve_dropout_backward (float *din, const float *dout, const float *mask, size_t n);

/* --- ReLU --------------------------------------------------------------- */

void convolve_relu_forward  (float *out, const float *in, size_t n);
/* din = dout where out > 0, else 0 (din may alias dout). */
void convolve_relu_backward (float *din, const float *dout, const float *out, size_t n);

/* --- Softmax + sparse categorical cross-entropy ------------------------- */

/* Numerically stable (log-sum-exp). Returns the mean loss over the batch;
 * dlogits (nullable) = (softmax - onehot) / batch; losses (nullable) gets
 * each image's loss; n_correct (nullable) counts argmax hits; predictions
 * (nullable) gets each argmax. Labels must be in [0, classes). */
float convolve_softmax_cross_entropy (float *dlogits, float *losses, int *n_correct,
                                      int32_t *predictions,
                                      const float *logits, const int32_t *labels,
                                      int batch, int classes);
/* Row-wise softmax (stable). */
void  convolve_softmax (float *probabilities, const float *logits, int batch, int classes);

G_END_DECLS
