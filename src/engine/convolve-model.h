/* convolve-model.h: a sequential CNN built from a small spec.
 *
 * Tensors are float32, NCHW. A model owns its parameters, gradients,
 * non-trainable state (BatchNorm moving statistics), activations for up to
 * max_batch images, one shared im2col workspace and the RNG used by Dropout.
 * Nothing is allocated per batch.
 *
 * Trainable parameters live in one contiguous block, gradients in a second
 * block with the same layout, so an optimizer update is one flat pass.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "convolve-error.h"
#include "convolve-rng.h"

G_BEGIN_DECLS

typedef enum {
  CONVOLVE_LAYER_CONV2D,
  CONVOLVE_LAYER_BATCH_NORM,
  CONVOLVE_LAYER_MAX_POOL,
  CONVOLVE_LAYER_FLATTEN,
  CONVOLVE_LAYER_DENSE,
  CONVOLVE_LAYER_DROPOUT,
  CONVOLVE_LAYER_RELU,
  CONVOLVE_LAYER_GLOBAL_AVG_POOL, /* mean over height x width per channel; a flat output */
} ConvolveLayerKind;

/* The number of layer kinds (the enum's values run from 0 up to it). */
#define CONVOLVE_N_LAYER_KINDS (CONVOLVE_LAYER_GLOBAL_AVG_POOL + 1)

typedef enum {
  CONVOLVE_ACTIVATION_LINEAR,
  CONVOLVE_ACTIVATION_RELU,
  CONVOLVE_ACTIVATION_SOFTMAX, /* only on the last layer; fused with the loss */
} ConvolveActivation;

typedef enum {
  CONVOLVE_PADDING_SAME,
  CONVOLVE_PADDING_VALID,
} ConvolvePadding;

typedef struct {
  ConvolveLayerKind  kind;
  int                units;       /* Conv2D filters, Dense units */
  int                kernel_size; /* Conv2D kernel (square), MaxPool pool size */
  ConvolvePadding    padding;     /* Conv2D */
  ConvolveActivation activation;  /* Conv2D, Dense */
  float              rate;        /* Dropout */
  float              momentum;    /* BatchNormalization's moving averages; 0: Keras's 0.99 */
} ConvolveLayerSpec;

typedef struct {
  int                n_layers;
  ConvolveLayerSpec *layers;
} ConvolveModelSpec;

/* The tutorial's model: Conv2D 32 3x3 relu same -> BatchNormalization ->
 * MaxPooling2D -> Flatten -> Dense 1024 relu -> Dropout 0.2 -> Dense
 * n_classes softmax. */
ConvolveModelSpec *convolve_model_spec_new_tutorial (int n_classes);
/* Text form, one layer per comma-separated item, e.g.
 * "conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),dropout(0.2),dense(10,softmax)" */
ConvolveModelSpec *convolve_model_spec_parse        (const char *text, GError **error);
char              *convolve_model_spec_to_string    (const ConvolveModelSpec *spec);
ConvolveModelSpec *convolve_model_spec_copy         (const ConvolveModelSpec *spec);
void               convolve_model_spec_free         (ConvolveModelSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveModelSpec, convolve_model_spec_free)

typedef struct {
  int c, h, w;
} ConvolveShape;

/* TRUE when a and b have the same channels, height and width. */
gboolean convolve_shape_equal (ConvolveShape a, ConvolveShape b);

/* One row of the Keras-style summary. */
typedef struct {
  const char *name;        /* "conv2d", "batch_normalization", "dense_1", ... */
  const char *type_name;   /* "Conv2D", "BatchNormalization", ... */
  int         rank;        /* 3 (C,H,W) or 1 (features), batch excluded */
  int         shape[3];    /* output shape, NCHW order without N */
  gsize       n_trainable;
  gsize       n_non_trainable;
} ConvolveLayerInfo;

/* One named tensor (for model files and tests). Names follow Keras:
 * "conv2d/kernel", "conv2d/bias", "batch_normalization/gamma",
 * "batch_normalization/beta", "batch_normalization/moving_mean",
 * "batch_normalization/moving_variance", "dense/kernel", ... */
typedef struct {
  const char *name;
  int         rank;
  int         shape[4];
  gboolean    trainable;
  float      *data;        /* points into the parameter or state block */
  float      *grad;        /* same place in the gradient block; NULL if not trainable or not allocated yet */
  gsize       size;        /* number of floats */
} ConvolveTensorInfo;

typedef struct _ConvolveModel ConvolveModel;

/* Builds the model, checks every layer's shapes (GError
 * CONVOLVE_ENGINE_ERROR_SHAPE on a mismatch), initialises weights as Keras
 * does (glorot-uniform kernels, zero biases, BN gamma 1 beta 0, moving mean 0,
 * moving variance 1) from the seed. */
ConvolveModel *convolve_model_new          (const ConvolveModelSpec *spec,
                                            const ConvolveShape     *input,
                                            int                      max_batch,
                                            uint64_t                 seed,
                                            GError                 **error);
/* A copy with the same weights, state and RNG, sized for max_batch images:
 * the snapshot used for prediction and evaluation while training runs. */
ConvolveModel *convolve_model_copy         (const ConvolveModel *model,
                                            int                  max_batch,
                                            GError             **error);
/* A model for prediction that reads owner's weights and state in place
 * (no copy), with activations of its own for max_batch images: it sees
 * every change to owner's weights, must not be trained or copied into, and
 * must be freed before owner. The trainer validates through one, between
 * its own steps. */
ConvolveModel *convolve_model_new_view     (ConvolveModel       *owner,
                                            int                  max_batch,
                                            GError             **error);
/* Copies weights and state (not gradients) between models of the same spec. */
gboolean       convolve_model_copy_weights (ConvolveModel       *dest,
                                            const ConvolveModel *src,
                                            GError             **error);
void           convolve_model_free         (ConvolveModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveModel, convolve_model_free)

const ConvolveModelSpec *convolve_model_get_spec      (const ConvolveModel *model);
ConvolveShape            convolve_model_get_input     (const ConvolveModel *model);
int                      convolve_model_get_max_batch (const ConvolveModel *model);
/* The working memory a forward pass takes per image (activations and the
 * workspace), in floats: a model for max_batch images holds that many
 * times max_batch. */
guint64                  convolve_model_get_activation_floats (const ConvolveModel *model);
int                      convolve_model_get_n_classes (const ConvolveModel *model);
ConvolveRng             *convolve_model_get_rng       (ConvolveModel *model);

int                      convolve_model_get_n_layers  (const ConvolveModel *model);
const ConvolveLayerInfo *convolve_model_get_layer     (const ConvolveModel *model, int index);
gsize                    convolve_model_get_n_trainable     (const ConvolveModel *model);
gsize                    convolve_model_get_n_non_trainable (const ConvolveModel *model);
/* Keras-style table: layer, output shape, parameters, then Total /
 * Trainable / Non-trainable with thousands separators. */
char                    *convolve_model_summary       (const ConvolveModel *model);
/* Checks spec against input as convolve_model_new() does, without
 * allocating the weights, and returns the summary the model would have.
 * NULL with the error when the layers do not fit together (Dense before
 * Flatten, a shape that shrinks below 1, no Dense layer at the end, ...)
 * or exceed a limit; *bad_layer (nullable) is then the 0-based index of
 * the layer at fault, -1 when it is the model as a whole (and on success). */
char                    *convolve_model_spec_summarize (const ConvolveModelSpec *spec,
                                                        const ConvolveShape     *input,
                                                        int                     *bad_layer,
                                                        GError                 **error);

/* Contiguous blocks: trainable parameters, their gradients (same layout),
 * non-trainable state. A model allocates its gradients (and the tensors'
 * grad pointers appear) only when it first trains or get_grads asks for
 * them, so copies used only for prediction never hold that memory;
 * get_grads returns NULL when they cannot be allocated. */
float *convolve_model_get_params (ConvolveModel *model, gsize *n_params);
float *convolve_model_get_grads  (ConvolveModel *model, gsize *n_params);
float *convolve_model_get_state  (ConvolveModel *model, gsize *n_state);
/* Whether the gradient blocks exist yet (see above). */
gboolean convolve_model_has_gradients (const ConvolveModel *model);

int                       convolve_model_get_n_tensors (const ConvolveModel *model);
const ConvolveTensorInfo *convolve_model_get_tensor    (const ConvolveModel *model, int index);
const ConvolveTensorInfo *convolve_model_find_tensor   (const ConvolveModel *model, const char *name);

/* Forward pass on batch <= max_batch images x (batch*c*h*w floats).
 * training: BatchNorm uses batch statistics and updates its moving
 * statistics, Dropout is active. Output: logits, batch x n_classes. */
gboolean     convolve_model_forward    (ConvolveModel *model,
                                        const float   *x,
                                        int            batch,
                                        gboolean       training,
                                        GError       **error);
const float *convolve_model_get_logits (const ConvolveModel *model);

/* Softmax + sparse categorical cross-entropy (mean over the batch) of the
 * last forward pass; also stores d(loss)/d(logits) for the backward pass.
 * n_correct (nullable) counts argmax hits. */
float        convolve_model_loss       (ConvolveModel *model,
                                        const int32_t *labels,
                                        int           *n_correct);
/* Backward pass of the last forward + loss; overwrites the gradient block. */
void         convolve_model_backward   (ConvolveModel *model);

/* Inference: probabilities (batch x n_classes), BN on moving statistics,
 * no Dropout. */
gboolean convolve_model_predict  (ConvolveModel *model,
                                  const float   *x,
                                  int            batch,
                                  float         *probabilities,
                                  GError       **error);
/* Inference loss and hits for a batch: adds the summed (not mean) loss to
 * *loss_sum and hits to *n_correct; writes argmax per image to predictions
 * (nullable). */
gboolean convolve_model_evaluate (ConvolveModel *model,
                                  const float   *x,
                                  const int32_t *labels,
                                  int            batch,
                                  double        *loss_sum,
                                  int           *n_correct,
                                  int32_t       *predictions,
                                  GError       **error);

/* --- explaining a prediction (convolve-model-explain.c) -----------------
 *
 * Each runs one inference forward pass on the single image x (c*h*w
 * floats; BatchNorm on its moving statistics, Dropout off) and a backward
 * pass from the logit of class_index (the last Dense layer's score before
 * the softmax). Parameters, BatchNorm state, the RNG and the gradient
 * blocks are left as they were (no gradient memory is allocated); the
 * activations are those of that forward pass afterwards, as after
 * convolve_model_predict(). */

/* d logit[class_index] / d x: c*h*w floats into grad. */
gboolean     convolve_model_input_gradient   (ConvolveModel *model,
                                              const float   *x,
                                              int            class_index,
                                              float         *grad,
                                              GError       **error);
/* The index of the last Conv2D layer, -1 when there is none. */
int          convolve_model_find_last_conv   (const ConvolveModel *model);
/* Grad-CAM (Selvaraju et al. 2017) on the output A (after its activation)
 * of the last Conv2D layer: cam = ReLU (sum_k alpha_k A_k) with alpha_k the
 * spatial mean of d logit[class_index] / d A_k; out_h*out_w floats (that
 * layer's info shape[1] x shape[2]), not normalised.
 * CONVOLVE_ENGINE_ERROR_UNSUPPORTED when the model has no Conv2D layer. */
gboolean     convolve_model_grad_cam         (ConvolveModel *model,
                                              const float   *x,
                                              int            class_index,
                                              float         *cam,
                                              GError       **error);
/* The output of layer layer_index for image number image of the last
 * forward pass (planar c*h*w floats, the layer info's shape); NULL when
 * either is out of range or no forward pass ran yet. Valid until the next
 * forward pass. (After a training pass, a BatchNormalization followed by a
 * ReLU has written only the ReLU's output: the two run as one.) */
const float *convolve_model_get_layer_output (const ConvolveModel *model,
                                              int                  layer_index,
                                              int                  image);

/* The engine's thread count, global to the process: its pool runs every
 * split pass and product on this many threads; OpenBLAS itself stays on
 * one (see convolve-parallel.h). */
void convolve_engine_set_threads (int n_threads);
int  convolve_engine_get_threads (void);

/* Makes the calling thread treat subnormal floats as zero, in and out
 * (SSE's FTZ and DAZ; FZ on AArch64; nothing elsewhere), as TensorFlow's
 * and Keras' threads do. A model that has learnt its training set drives
 * gradients into the subnormal range, where x86 arithmetic is some hundred
 * times slower: a tutorial run on separable data fell from 666 to 74
 * images/s. Called first by every thread that trains or evaluates (the
 * trainer's, the evaluation's, the engine's pool, convolve-cli's main
 * thread); threads they start inherit it. Numbers at or above FLT_MIN are
 * unchanged. */
void        convolve_engine_flush_subnormals    (void);

/* Makes the calling thread background work: its nice value goes up by
 * CONVOLVE_ENGINE_BACKGROUND_NICE (Linux keeps one per thread), and the
 * pool's workers take on the nice value of whichever thread hands them a
 * pass. Called by the threads that train or evaluate, so that the window's
 * main loop (and whatever else the user runs) wins the cores whenever it
 * wants them: on two cores with both training, the main loop otherwise
 * waited up to 150 ms for one. Alone on the machine the threads run as
 * fast as before. Nothing happens where threads have no nice value. */
#define CONVOLVE_ENGINE_BACKGROUND_NICE 10
void        convolve_engine_lower_thread_priority (void);

/* Microseconds one read of n floats at data takes, split over the engine's
 * threads as a large Dense layer's product on one image is (each thread
 * streams its own contiguous part): the floor of any pass that must read
 * them all, which `convolve-cli bench` prints beside predicting one image.
 * The mean of repeats reads, after one that is not timed. */
double      convolve_engine_time_read           (const float *data,
                                                 gsize        n,
                                                 int          repeats);

/* The kernels OpenBLAS chose when it loaded ("Prescott", "SkylakeX", ...). */
const char *convolve_engine_get_blas_kernels    (void);
/* First thing in main(): when OpenBLAS fell back to its generic x86-64
 * kernels on a CPU that runs AVX2 or AVX-512 (a model it does not know),
 * sets OPENBLAS_CORETYPE to the best it can run and starts the program
 * again with the same arguments (convolve-blas-kernels.c). Returns
 * without doing anything when OPENBLAS_CORETYPE is already set. */
void        convolve_engine_choose_blas_kernels (char **argv);

G_END_DECLS
