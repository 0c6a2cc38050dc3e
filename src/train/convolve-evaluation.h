/* convolve-evaluation.h: a model measured on a dataset (loss, accuracy,
 * per-class accuracy, confusion matrix), and single-image prediction.
 *
 * Evaluation runs in inference mode (BatchNorm on moving statistics, no
 * Dropout) in batches of the model's max_batch images. It never touches a
 * training model: pass a weight snapshot (convolve_trainer_get_weights_snapshot)
 * to evaluate while training runs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-engine.h"
#include "convolve-dataset.h"
#include "convolve-train-error.h"

G_BEGIN_DECLS

typedef struct {
  int      n_classes;
  char   **class_names;     /* NULL-terminated copy of the dataset's names, may be NULL */
  guint    n_images;
  double   loss;            /* mean sparse categorical cross-entropy */
  double   accuracy;        /* hits / n_images */
  guint   *class_counts;    /* n_classes: images whose true class is i */
  guint   *class_correct;   /* n_classes: of those, predicted right */
  double  *class_accuracy;  /* n_classes: class_correct / class_counts, NaN when no images */
  guint   *confusion;       /* n_classes x n_classes, row = true class, column = predicted */
  gint32  *predictions;     /* n_images: the predicted class of each image, in dataset order */
  float   *confidences;     /* n_images: the probability of that predicted class */
  float   *losses;          /* n_images: each image's cross-entropy, -log p(true class) */
  gint32  *labels;          /* n_images: each image's true class (for reports without the dataset) */
} ConvolveEvaluation;

#define CONVOLVE_TYPE_EVALUATION (convolve_evaluation_get_type ())
GType               convolve_evaluation_get_type (void) G_GNUC_CONST;
/* An empty evaluation (all zero, no arrays) to fill by hand, e.g. in tests
 * or when reading one back: the arrays given to it must come from g_malloc,
 * convolve_evaluation_free frees them. */
ConvolveEvaluation *convolve_evaluation_new      (void);
/* A deep copy. */
ConvolveEvaluation *convolve_evaluation_copy     (const ConvolveEvaluation *evaluation);
/* Evaluations are atomically reference-counted so finished ones can be
 * shared between threads, read-only: ref adds a reference, free drops
 * one (the last frees it). */
ConvolveEvaluation *convolve_evaluation_ref      (ConvolveEvaluation *evaluation);
void                convolve_evaluation_free     (ConvolveEvaluation *evaluation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveEvaluation, convolve_evaluation_free)

/* confusion[true_class * n_classes + predicted] */
guint convolve_evaluation_get_confusion (const ConvolveEvaluation *evaluation,
                                         int                       true_class,
                                         int                       predicted);

/* Called on the evaluating thread after each batch. */
typedef void (*ConvolveEvaluateProgressFunc) (guint    done,
                                              guint    total,
                                              gpointer user_data);

/* Evaluates the first limit images of dataset (0: all). The model must fit
 * the dataset (convolve_check_model_for_dataset, else
 * CONVOLVE_TRAIN_ERROR_MISMATCH). Cancellation is checked between
 * batches (G_IO_ERROR_CANCELLED). progress_func is nullable. */
ConvolveEvaluation *convolve_evaluate (ConvolveModel                *model,
                                       const ConvolveDataset        *dataset,
                                       guint                         limit,
                                       ConvolveEvaluateProgressFunc  progress_func,
                                       gpointer                      progress_data,
                                       GCancellable                 *cancellable,
                                       GError                      **error);

/* One part of an evaluation, for evaluating on several processes: the
 * images [first, end) of the first limit. The per-image arrays span all
 * images, zero outside the part, and the figures are sums (loss: of the
 * images' losses, accuracy: the hits), so the parts' fields add up to the
 * whole; convolve_evaluation_complete() then turns the sums into means.
 * progress_func counts within the part. */
ConvolveEvaluation *convolve_evaluate_part (ConvolveModel                *model,
                                            const ConvolveDataset        *dataset,
                                            guint                         limit,
                                            guint                         first,
                                            guint                         end,
                                            ConvolveEvaluateProgressFunc  progress_func,
                                            gpointer                      progress_data,
                                            GCancellable                 *cancellable,
                                            GError                      **error);
void                convolve_evaluation_complete (ConvolveEvaluation *evaluation);

/* The same on a worker thread ("convolve-evaluate"); takes ownership of
 * model (e.g. a fresh weight snapshot) and a reference on dataset.
 * progress_func (nullable) runs on that thread; the callback runs on the
 * thread-default main context of the caller. */
void                convolve_evaluate_async  (ConvolveModel                *model,
                                              ConvolveDataset              *dataset,
                                              guint                         limit,
                                              ConvolveEvaluateProgressFunc  progress_func,
                                              gpointer                      progress_data,
                                              GCancellable                 *cancellable,
                                              GAsyncReadyCallback           callback,
                                              gpointer                      user_data);
ConvolveEvaluation *convolve_evaluate_finish (GAsyncResult         *result,
                                              GError              **error);

/* Probabilities (n_classes floats) for one image of the model's input shape
 * (c*h*w floats in [0,1], as convolve_image_load_file gives). */
gboolean convolve_predict_image (ConvolveModel *model,
                                 const float   *input,
                                 float         *probabilities,
                                 GError       **error);

/* The k most probable classes, best first (ties: lower class first);
 * k is clamped to n_classes. Returns the number written to indices. */
int      convolve_top_k         (const float *probabilities,
                                 int          n_classes,
                                 int          k,
                                 int         *indices);

G_END_DECLS
