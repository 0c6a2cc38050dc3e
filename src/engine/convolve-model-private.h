/* convolve-model-private.h: the model's insides, shared by the engine's
 * own files (the fused training step walks the layers).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-layers.h"
#include "convolve-model.h"

G_BEGIN_DECLS

/* Dense kernels of at least this many floats are updated by
 * convolve_model_train_step() a block of rows at a time, straight from a
 * cache-sized gradient block (see convolve-train-step.c). */
#define CONVOLVE_FUSED_UPDATE_MIN_FLOATS (1 << 18)
#define CONVOLVE_FUSED_UPDATE_ROWS       128

typedef struct {
  ConvolveLayerSpec spec;
  ConvolveLayerInfo info;
  char             *name;
  ConvolveShape     in_shape, out_shape;
  int               in_rank, out_rank;
  gsize             in_size, out_size;   /* floats per image */
  gsize             n_params, n_state;
  gboolean          needs_din;           /* some earlier layer has parameters */
  gsize             dout_offset;         /* in the gradient arena */
  gboolean          fused_update;        /* a large Dense kernel, see above */
  /* In training, a BatchNormalization followed by a ReLU layer runs both
   * (convolve_batchnorm_forward_train_relu): its own output is not
   * written, the ReLU's forward and backward passes are skipped. */
  gboolean          relu_fused;          /* the BatchNormalization */
  gboolean          fused_away;          /* the ReLU after it */

  /* into the parameter, gradient and state blocks */
  float *kernel, *bias, *dkernel, *dbias;
  float *gamma, *beta, *dgamma, *dbeta;
  float *moving_mean, *moving_variance;

  /* into the activation arena (max_batch images) */
  float   *in;      /* the previous layer's out, or the model's input copy */
  float   *out;
  /* into the gradient arena, NULL until the first training pass */
  float   *din;     /* the previous layer's dout; NULL when not needed */
  float   *dout;
  float   *cache;   /* Dropout mask */
  float   *mean;    /* BatchNorm batch mean, per channel */
  float   *invstd;  /* BatchNorm batch 1/std, per channel */
  int32_t *argmax;  /* MaxPooling2D */
} ConvolveLayer;

struct _ConvolveModel {
  ConvolveModelSpec  *spec;
  ConvolveShape       input;
  int                 max_batch;
  int                 n_classes;
  ConvolveRng         rng;

  int                 n_layers;
  ConvolveLayer      *layers;
  int                 planning_layer;     /* the layer plan_shapes() is at; -1: the whole model */

  float              *params, *grads, *state;
  gsize               n_params, n_state;
  gboolean            borrows_weights;    /* a view: params and state are another model's */

  ConvolveTensorInfo *tensors;
  gsize              *tensor_offsets;     /* into params (trainable) or state */
  int                 n_tensors;
  guint64             activation_floats;  /* per image, with the workspace */

  float              *workspace;          /* conv_ws's blocks */
  gsize               workspace_size;     /* floats per block */
  ConvolveWorkspace   conv_ws;
  float              *arena;              /* activations */
  float              *grad_arena;         /* their gradients, from the first training pass */
  gsize               grad_arena_size;
  float              *update_buffer;      /* blocks of CONVOLVE_FUSED_UPDATE_ROWS kernel rows */
  gsize               update_buffer_size; /* floats per block, a multiple of 16 */
  int                 update_buffer_count;
  float              *input_buffer;

  /* what the last forward pass left behind */
  int                 batch;
  gboolean            training;
  gboolean            have_loss;

  /* Profiling (convolve_model_train_step_profile): when set, each layer's
   * forward time in microseconds is added to forward_us[layer]. */
  gint64             *forward_us;
};

/* The backward pass of one layer (convolve_model_backward runs them all,
 * last to first). */
void     convolve_model_backward_layer (ConvolveModel *model, int index);

/* The conv workspace, one block per engine thread: grown (once per thread
 * count, on the first batch after convolve_engine_set_threads() raised it)
 * when memory allows, else left as it is, and the conv runs on fewer
 * threads. */
const ConvolveWorkspace *_convolve_model_conv_workspace (ConvolveModel *model);

/* The fused Dense update's gradient blocks, one per engine thread, grown
 * the same way; *count is how many there are (at least 1). */
float *_convolve_model_update_buffers (ConvolveModel *model, int *count);

/* A model checked and planned but not allocated: layers, shapes, tensor
 * names and shapes (their data and grad are NULL), parameter counts, all
 * within the CONVOLVE_LIMIT_MODEL_* limits (else an
 * CONVOLVE_ENGINE_ERROR_UNSUPPORTED error naming the limit). Only for
 * looking at: the model file loader matches a file against it before
 * allocating anything the file's header sizes. */
ConvolveModel *_convolve_model_plan (const ConvolveModelSpec *spec,
                                     const ConvolveShape     *input,
                                     GError                 **error);
/* The same; on failure *bad_layer (nullable) is the 0-based index of the
 * layer at fault, or -1 when the fault is the model's as a whole. */
ConvolveModel *_convolve_model_plan_full (const ConvolveModelSpec *spec,
                                          const ConvolveShape     *input,
                                          int                     *bad_layer,
                                          GError                 **error);

gboolean convolve_model_check_labels (const ConvolveModel *model, const int32_t *labels,
                                      int batch, GError **error);

G_END_DECLS
