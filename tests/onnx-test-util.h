/* onnx-test-util.h: models with non-trivial weights for the ONNX export
 * tests: built from a spec and trained for a few Adam steps on generated
 * images whose class shows in their brightness pattern, so the weights and
 * BatchNorm's moving statistics are far from their initial values.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-engine.h"

G_BEGIN_DECLS

/* The tutorial's layers, and one with every other layer kind and option
 * (valid and even-kernel same padding, a linear conv, a ReLU layer, a
 * pool that drops a border, BatchNorm on flat features, Dropout). */
#define ONNX_TEST_SPEC_TUTORIAL \
  "conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),dropout(0.2),dense(10,softmax)"
#define ONNX_TEST_SPEC_EVERY_KIND \
  "conv2d(6,3,valid,relu),batchnorm,conv2d(8,2,same),relu,maxpool(3),flatten," \
  "dense(16),batchnorm,relu,dropout(0.3),dense(4,softmax)"
/* GlobalAveragePooling2D after a 'valid' conv, then the Dense head. */
#define ONNX_TEST_SPEC_GLOBAL_AVG_POOL \
  "conv2d(6,3,same,relu),batchnorm,conv2d(8,3,valid,relu),globalavgpool," \
  "dense(12,relu),dropout(0.2),dense(4,softmax)"

/* n images of shape, values k/255 as a dataset gives them; labels
 * (nullable) below n_classes. */
float *onnx_test_images  (ConvolveShape shape, int n, int n_classes, int32_t *labels, guint64 seed);
/* A model of spec_text for shape, trained for n_steps steps of 16 images. */
ConvolveModel *onnx_test_trained_model (const char *spec_text, ConvolveShape shape,
                                        int n_steps, guint64 seed);
/* Class names "class-0", … and the dataset's scaling, for n_classes. */
ConvolveModelMeta *onnx_test_meta (int n_classes);

G_END_DECLS
