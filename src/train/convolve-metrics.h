/* convolve-metrics.h: precision, recall, F1 and support per class, their
 * macro and weighted averages, and the most confused class pairs, from an
 * evaluation's confusion matrix; CSV tables of those and of each image's
 * prediction.
 *
 * Undefined cases follow scikit-learn's classification_report with
 * zero_division=0: a class that was never predicted has precision 0, a
 * class with no images (support 0) has recall 0, and F1 is 0 when
 * precision + recall is 0. The macro average is the unweighted mean over
 * all n_classes classes, classes without images included (as scikit-learn
 * does when given labels=range(n_classes)); the weighted average weighs by
 * support and is 0 when there are no images at all.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-evaluation.h"

G_BEGIN_DECLS

typedef struct {
  double precision;  /* TP / (TP + FP): of the images predicted as this class, the share that is */
  double recall;     /* TP / support: of the images of this class, the share found */
  double f1;         /* 2PR / (P + R) */
  guint  support;    /* images whose true class this is (for averages: all images) */
  guint  predicted;  /* images predicted as this class (for averages: all images) */
} ConvolveClassMetrics;

typedef struct {
  int                   n_classes;
  guint                 n_images;
  double                accuracy;  /* trace / n_images, 0 without images */
  ConvolveClassMetrics *classes;   /* n_classes */
  ConvolveClassMetrics  macro;
  ConvolveClassMetrics  weighted;
} ConvolveMetrics;

typedef struct {
  int   true_class;
  int   predicted_class;
  guint count;
} ConvolveConfusedPair;

ConvolveMetrics *convolve_metrics_new  (const ConvolveEvaluation *evaluation);
void             convolve_metrics_free (ConvolveMetrics          *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveMetrics, convolve_metrics_free)

/* The off-diagonal cells with a count above 0, most images first; ties by
 * true class, then predicted class. At most max_pairs (0: all). An array
 * of ConvolveConfusedPair. */
GArray *convolve_metrics_confused_pairs (const ConvolveEvaluation *evaluation,
                                         guint                     max_pairs);

/* The indices of the (at most) k images with the highest loss, highest
 * first (ties: lower index first), into indices; returns how many. */
guint convolve_metrics_top_losses (const ConvolveEvaluation *evaluation,
                                   guint                     k,
                                   guint                    *indices);

/* The name of class c: class_names[c] when there is one, else its number.
 * class_names is nullable and NULL-terminated. Newly allocated. */
char *convolve_metrics_class_name (const char * const *class_names,
                                   int                 c);

/* "class,precision,recall,f1,support", one row per class, then the rows
 * "macro avg" and "weighted avg"; figures with six decimals and '.'
 * whatever the locale. class_names is nullable (numbers then). */
char *convolve_metrics_to_csv (const ConvolveMetrics *metrics,
                               const char * const    *class_names);

/* "index,true,predicted,confidence,loss", one row per image in dataset
 * order, classes by name. */
char *convolve_evaluation_predictions_to_csv (const ConvolveEvaluation *evaluation,
                                              const char * const       *class_names);

/* The same, saved atomically (a failed save leaves an earlier file). */
gboolean convolve_metrics_save_csv                 (const ConvolveMetrics    *metrics,
                                                    const char * const       *class_names,
                                                    const char               *path,
                                                    GError                  **error);
gboolean convolve_evaluation_save_predictions_csv  (const ConvolveEvaluation *evaluation,
                                                    const char * const       *class_names,
                                                    const char               *path,
                                                    GError                  **error);

G_END_DECLS
