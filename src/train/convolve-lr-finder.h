/* convolve-lr-finder.h: the learning-rate range test (Leslie Smith's, as
 * fastai's lr_find runs it).
 *
 * A short sweep on a private copy of the model (the caller's weights are
 * never touched): one optimizer step per batch with the learning rate
 * growing exponentially from start_lr to end_lr over n_batches batches,
 * recording each batch's loss and its debiased exponential moving average
 * (fastai's AvgSmoothLoss, beta 0.98). The sweep ends early when the
 * smoothed loss exceeds divergence_factor (4) times the best one so far, or
 * is not finite: the loss has exploded, and larger rates say nothing more.
 *
 * Two suggestions are read off the smoothed curve, both after dropping its
 * first tenth (of n_batches) and last five points as fastai does, where the
 * average is still warming up or already exploding:
 * - steep: where the smoothed loss falls fastest per decade of learning
 *   rate (fastai's "steep");
 * - valley: the longest stretch over which the loss keeps falling (the
 *   longest decreasing subsequence), and from it the point about half way
 *   along (fastai's "valley").
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
  double                start_lr;          /* 1e-7 */
  double                end_lr;            /* 10 */
  int                   n_batches;         /* 100 */
  int                   batch_size;        /* 32 */
  ConvolveOptimizerKind optimizer;         /* Adam, with fresh moments */
  double                smoothing;         /* beta of the moving average: 0.98 */
  double                divergence_factor; /* stop above this times the best smoothed loss: 4; 0: never */
  guint64               seed;              /* which images, in which order: 0 */
  int                   threads;           /* engine threads; 0: leave as they are */
} ConvolveLrFinderConfig;

void     convolve_lr_finder_config_init     (ConvolveLrFinderConfig       *config);
/* CONVOLVE_TRAIN_ERROR_INVALID_CONFIG naming the bad field. */
gboolean convolve_lr_finder_config_validate (const ConvolveLrFinderConfig *config,
                                             GError                      **error);

typedef struct {
  double lr;             /* the rate of this batch's step */
  double loss;           /* the batch's loss, before its step */
  double smoothed_loss;  /* the debiased moving average up to here */
} ConvolveLrPoint;

typedef struct {
  ConvolveLrPoint *points;       /* one per batch run, in order */
  guint            n_points;
  gboolean         diverged;     /* ended by the divergence rule, not by n_batches */
  /* Suggestions; NaN and index G_MAXUINT when the curve is too short to
   * read (fewer than 3 points left after the trimming). */
  double           steep_lr;
  guint            steep_index;  /* into points */
  double           valley_lr;
  guint            valley_index;
} ConvolveLrFinderResult;

void convolve_lr_finder_result_free (ConvolveLrFinderResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveLrFinderResult, convolve_lr_finder_result_free)

/* After each batch, with the point just recorded. */
typedef void (*ConvolveLrFinderProgress) (guint                  done,
                                          guint                  total,
                                          const ConvolveLrPoint *point,
                                          gpointer               user_data);

/* The sweep, blocking, on this thread; progress (nullable) is called on
 * it. model is read only (copied first). G_IO_ERROR_CANCELLED when
 * cancelled between two batches; CONVOLVE_TRAIN_ERROR_MISMATCH when the
 * dataset does not fit the model or has no images. */
ConvolveLrFinderResult *convolve_lr_find (const ConvolveModel          *model,
                                          ConvolveDataset              *train,
                                          const ConvolveLrFinderConfig *config,
                                          ConvolveLrFinderProgress      progress,
                                          gpointer                      progress_data,
                                          GCancellable                 *cancellable,
                                          GError                      **error);

/* The same on a worker thread ("convolve-lr-finder"). The model is copied
 * before this returns, so the caller may change or free it at once.
 * progress (nullable) is called on the thread-default main context of
 * this call, like callback; progress_data must live until callback. */
void                    convolve_lr_find_async  (const ConvolveModel          *model,
                                                 ConvolveDataset              *train,
                                                 const ConvolveLrFinderConfig *config,
                                                 ConvolveLrFinderProgress      progress,
                                                 gpointer                      progress_data,
                                                 GCancellable                 *cancellable,
                                                 GAsyncReadyCallback           callback,
                                                 gpointer                      user_data);
ConvolveLrFinderResult *convolve_lr_find_finish (GAsyncResult                 *result,
                                                 GError                      **error);

/* The two rules on their own, on smoothed losses at rates lrs (n points,
 * already trimmed); G_MAXUINT when n < 3. */
guint convolve_lr_finder_steep_index  (const double *lrs,
                                       const double *losses,
                                       guint         n);
guint convolve_lr_finder_valley_index (const double *losses,
                                       guint         n);

G_END_DECLS
