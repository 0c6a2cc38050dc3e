/* convolve-onnx-private.h: what the ONNX graph builder
 * (convolve-onnx-graph.c) hands the writer (convolve-onnx-export.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-onnx-export.h"
#include "onnx.pb-c.h"

G_BEGIN_DECLS

typedef struct _ConvolveOnnxGraph ConvolveOnnxGraph;

/* The whole ModelProto for model (meta nullable). Tensors point into the
 * model's weights (no copy on little-endian machines): keep the model
 * unchanged until the graph is freed. */
ConvolveOnnxGraph *_convolve_onnx_graph_new   (ConvolveModel           *model,
                                               const ConvolveModelMeta *meta,
                                               GError                 **error);
Onnx__ModelProto  *_convolve_onnx_graph_get_proto (ConvolveOnnxGraph *graph);
void               _convolve_onnx_graph_free  (ConvolveOnnxGraph *graph);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveOnnxGraph, _convolve_onnx_graph_free)

G_END_DECLS
