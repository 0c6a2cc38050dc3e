/* convolve-explain.h: maps of why the model scores an image as it does,
 * at the image's own size, for the predictor and convolve-cli explain.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-engine.h"

G_BEGIN_DECLS

typedef enum {
  /* max over channels of |d logit / d x|: the pixels whose change moves
   * the class score most (Simonyan et al. 2014) */
  CONVOLVE_EXPLAIN_SALIENCY,
  /* Grad-CAM on the last Conv2D layer, upsampled to the input: the regions
   * whose features speak for the class (Selvaraju et al. 2017) */
  CONVOLVE_EXPLAIN_GRAD_CAM,
} ConvolveExplainMethod;

/* map: the model input's h*w floats in [0, 1], divided by their maximum
 * (all zero when the map is zero everywhere), for class_index of the one
 * image x (c*h*w floats). Inference only; the model's parameters, state
 * and training are untouched (see convolve_model_input_gradient). Grad-CAM
 * on a model without a convolution gives CONVOLVE_ENGINE_ERROR_UNSUPPORTED. */
gboolean convolve_explain (ConvolveModel         *model,
                           const float           *x,
                           int                    class_index,
                           ConvolveExplainMethod  method,
                           float                 *map,
                           GError               **error);

/* The steps, for tests and for drawing maps of other sizes. */

/* Bilinear resampling of src (src_h x src_w) to dst (dst_h x dst_w) with the
 * cell centres aligned, as PyTorch's interpolate(align_corners=False) and
 * OpenCV's INTER_LINEAR do: dst (y, x) samples src at ((y + 0.5) src_h /
 * dst_h - 0.5, ...), clamped to the edge cells. */
void convolve_explain_upsample (const float *src,
                                int          src_h,
                                int          src_w,
                                float       *dst,
                                int          dst_h,
                                int          dst_w);
/* Divides the n values by their maximum, clamping to [0, 1]; when no value
 * is positive they all become 0 (as does NaN). */
void convolve_explain_normalize (float *map,
                                 gsize  n);

/* TRUE when no value of map (n floats) is above zero: a Grad-CAM map that
 * finds nothing speaking for the class, which views say in words. */
gboolean convolve_explain_map_is_empty (const float *map,
                                        gsize        n);

G_END_DECLS
