/* convolve-onnx-export.h: a trained model as an ONNX file, for inference
 * elsewhere (onnxruntime, OpenCV's dnn, …).
 *
 * The graph (opset 13, IR version 8) is the engine's inference pass:
 *   input "input": float32 [N, C, H, W], N dynamic (dim_param "N"), the
 *     model's input after its normalisation (pixel * input_scale +
 *     input_offset; Convolve's datasets: pixel / 255), RGB or grey planes;
 *   Conv2D -> Conv (+ Relu), explicit pads as Keras' 'same' (the smaller
 *     half first) or none;
 *   BatchNormalization -> BatchNormalization with the moving statistics
 *     and Keras' epsilon (not folded: the file keeps the layers the user
 *     built, and the arithmetic stays the engine's);
 *   MaxPooling2D -> MaxPool (pool x pool, stride pool);
 *   Flatten -> Flatten (axis 1): the engine's activations are NCHW, so
 *     its flattening order is ONNX's and the Dense kernels need no
 *     permutation;
 *   Dense -> Gemm (+ Relu), the kernel as stored (in x out);
 *   Dropout -> nothing (inference);
 *   ReLU -> Relu;
 *   then Softmax (axis 1) -> output "probabilities": float32 [N, classes],
 *   what convolve_model_predict() gives.
 * metadata_props: "class_names" (a JSON array, one per class),
 * "input_scale", "input_offset", "input_layout" ("NCHW"),
 * "input_channels" ("RGB" or "grey"), "input_normalization" (in words),
 * "convolve_spec", and "dataset", "epoch", "step" when known.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-engine.h"
#include "convolve-export-error.h"

G_BEGIN_DECLS

#define CONVOLVE_ONNX_OPSET      13
#define CONVOLVE_ONNX_IR_VERSION 8
#define CONVOLVE_ONNX_INPUT      "input"
#define CONVOLVE_ONNX_OUTPUT     "probabilities"

/* The file's bytes (meta nullable: then no class names, scale 1/255).
 * Errors: CONVOLVE_EXPORT_ERROR. */
GBytes  *convolve_onnx_export_to_bytes (ConvolveModel           *model,
                                        const ConvolveModelMeta *meta,
                                        GError                 **error);
/* Writes path atomically (convolve-atomic-file.h): a failed export leaves
 * any previous file as it was. */
gboolean convolve_onnx_export          (ConvolveModel           *model,
                                        const ConvolveModelMeta *meta,
                                        const char              *path,
                                        GError                 **error);
/* The same on a worker thread; model and meta (nullable) are taken over
 * and freed there. */
void     convolve_onnx_export_async    (ConvolveModel           *model,
                                        ConvolveModelMeta       *meta,
                                        const char              *path,
                                        GCancellable            *cancellable,
                                        GAsyncReadyCallback      callback,
                                        gpointer                 user_data);
gboolean convolve_onnx_export_finish   (GAsyncResult            *result,
                                        GError                 **error);

G_END_DECLS
