/* convolve-model-file.h: models and checkpoints as safetensors files.
 *
 * Layout: 8-byte little-endian header length, a JSON header mapping tensor
 * names to {dtype "F32", shape, data_offsets} plus "__metadata__" (string to
 * string), then the raw little-endian tensors. The metadata records the
 * spec, input shape, class names, normalisation, epoch and step; a
 * checkpoint also holds the optimizer's slots ("optimizer/m/<tensor>", ...)
 * and iteration count, and the model's RNG state, so training resumes
 * exactly. Saves are atomic (write a temporary file, then rename).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-model.h"
#include "convolve-optimizer.h"

G_BEGIN_DECLS

typedef struct {
  char      **class_names;   /* NULL-terminated, may be NULL; may name fewer
                              * classes than the model has outputs */
  char       *dataset;       /* e.g. "cifar10", "fashion-mnist"; may be NULL */
  float       input_scale;   /* model input = pixel * scale + offset; 1/255 and 0 */
  float       input_offset;
  gint64      epoch;         /* completed epochs */
  gint64      step;          /* completed optimizer steps */
  GHashTable *extra;         /* string -> string, for the trainer's own position; may be NULL */
} ConvolveModelMeta;

ConvolveModelMeta *convolve_model_meta_new  (void);
void               convolve_model_meta_free (ConvolveModelMeta *meta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveModelMeta, convolve_model_meta_free)

/* optimizer may be NULL (a plain model file) or the optimizer whose slots
 * make this a checkpoint. Atomic: a failed save leaves any previous file. */
gboolean convolve_model_save (ConvolveModel           *model,
                              const ConvolveModelMeta *meta,
                              ConvolveOptimizer       *optimizer,
                              const char              *path,
                              GError                 **error);

/* Loads a model sized for max_batch. meta_out and optimizer_out are
 * nullable; *optimizer_out is set to NULL when the file holds no optimizer
 * state. Truncated, corrupt, foreign or wrong-shape files give a GError
 * that says what is wrong. */
ConvolveModel *convolve_model_load (const char         *path,
                                    int                 max_batch,
                                    ConvolveModelMeta **meta_out,
                                    ConvolveOptimizer **optimizer_out,
                                    GError            **error);

G_END_DECLS
