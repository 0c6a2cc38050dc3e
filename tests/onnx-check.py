#!/usr/bin/env python3
"""onnx-check.py: ONNX's own checker on exported files (test-onnx-runtime.c).

usage: onnx-check.py MODEL.onnx...

Runs onnx.checker.check_model with full_check (strict shape inference as
well as the schema checks) on each file, and prints the opset, the IR
version, the graph's input and output shapes and the metadata keys.
Exits 77 (skip) when the onnx module is missing, 1 when a check fails.
"""
import sys

try:
    import onnx
except ImportError:
    print("onnx-check.py: no onnx module (Debian: python3-onnx)")
    sys.exit(77)


def shape(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


for path in sys.argv[1:]:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    print(path, "ir", model.ir_version,
          "opset", [(o.domain, o.version) for o in model.opset_import],
          "in", [(v.name, shape(v)) for v in inferred.graph.input],
          "out", [(v.name, shape(v)) for v in inferred.graph.output],
          "meta", sorted(p.key for p in model.metadata_props))
print("onnx-check.py: onnx", onnx.__version__, "accepts", len(sys.argv) - 1, "files")
