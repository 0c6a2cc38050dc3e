/* convolve-winograd.h: 3x3 convolutions by Winograd's F(2x2, 3x3).
 *
 * The output is cut into 2x2 tiles; each reads a 4x4 patch of the input.
 * A patch d, the kernel g and an output tile y are related by
 *
 *   y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
 *
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016), so the sums over input channels become 16 matrix products (one per
 * element of the 4x4 transformed tile, over all tiles of an image at once)
 * with 16 multiplications per tile where direct convolution needs 36. The
 * backward pass is the exact adjoint of that forward pass: the transformed
 * output gradient A dY A^T feeds both the kernel gradient (16 products with
 * the transformed input, then G^T . G) and the input gradient (16 products
 * with the transformed kernel, then B . B^T added back patch by patch).
 *
 * Per image and per thread, in a workspace block of
 * convolve_winograd_workspace_size() floats: the transformed kernel U and
 * kernel gradient dU of the thread, the zero-padded image, its transformed
 * tiles and the products. Padding is 1 ('same') or 0 ('valid') on each
 * side; any image size works, the tiles at a ragged edge read zeros and
 * drop the outputs past it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

#include "convolve-model.h"

G_BEGIN_DECLS

/* Whether the layer goes through these kernels rather than im2col: a 3x3
 * kernel with enough input and output channels for the 16 products to
 * beat one product of 9 times the depth. */
gboolean convolve_winograd_applies (int in_c, int out_c, int kernel_size);

/* Where the parts of one workspace block lie, in floats from its start
 * (each a multiple of 16 floats, 64 bytes), and its size. dbias is room for
 * the caller's per-block bias gradient sums. */
typedef struct {
  int    oh, ow, th, tw, tiles, hp, wp;
  size_t kernel_stride, in_stride, out_stride;  /* floats from one plane to the next */
  size_t kernel_planes;                         /* floats of U and of dU */
  size_t u, du, dbias, padded, rows, v, m, size;
} ConvolveWinogradLayout;

void   convolve_winograd_layout         (ConvolveWinogradLayout *layout,
                                        int in_c, int h, int w, int out_c, int pad);
size_t convolve_winograd_workspace_size (int in_c, int h, int w, int out_c, int pad);

/* The thread's U from kernel [out_c, in_c, 3, 3], into its block. Call once
 * per block before the per-image functions. */
void convolve_winograd_prepare (float *workspace, const float *kernel,
                                int in_c, int h, int w, int out_c, int pad);

/* One image: out [out_c, oh, ow] = act (conv (image) + bias). */
void convolve_winograd_forward_image (float *out, float *workspace,
                                      const float *image, const float *bias,
                                      int in_c, int h, int w, int out_c, int pad,
                                      ConvolveActivation activation);

/* One image's backward pass from its pre-activation output gradient d:
 * din [in_c, h, w] overwritten (unless NULL), and the block's dU (unless
 * accumulate_dU is -1) overwritten (0) or added to (1). */
void convolve_winograd_backward_image (float *din, float *workspace,
                                       const float *image, const float *d,
                                       int in_c, int h, int w, int out_c, int pad,
                                       int accumulate_dU);

/* dkernel [out_c, in_c, 3, 3] = G^T dU G. */
void convolve_winograd_kernel_gradient (float *dkernel, const float *dU, int in_c, int out_c);

G_END_DECLS
