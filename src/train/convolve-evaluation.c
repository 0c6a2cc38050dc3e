/* convolve-evaluation.c: loss, accuracy, per-class accuracy and confusion
 * matrix of a model on a dataset; prediction for one image.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-evaluation.h"
#include "convolve-model-check.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_BOXED_TYPE (ConvolveEvaluation, convolve_evaluation,
                     convolve_evaluation_copy, convolve_evaluation_free)

ConvolveEvaluation *
convolve_evaluation_new (void)
{
  return g_atomic_rc_box_new0 (ConvolveEvaluation);
}

static ConvolveEvaluation *
evaluation_new_for (int                 n_classes,
                    const char * const *class_names)
{
  ConvolveEvaluation *evaluation = convolve_evaluation_new ();

  evaluation->n_classes = n_classes;
  evaluation->class_names = g_strdupv ((char **) class_names);
  evaluation->class_counts = g_new0 (guint, n_classes);
  evaluation->class_correct = g_new0 (guint, n_classes);
  evaluation->class_accuracy = g_new0 (double, n_classes);
  evaluation->confusion = g_new0 (guint, (gsize) n_classes * n_classes);
  return evaluation;
}

ConvolveEvaluation *
convolve_evaluation_copy (const ConvolveEvaluation *evaluation)
{
  ConvolveEvaluation *copy;
  gsize n;

  g_return_val_if_fail (evaluation != NULL, NULL);

  n = evaluation->n_classes;
  copy = evaluation_new_for (evaluation->n_classes,
                                  (const char * const *) evaluation->class_names);
  copy->n_images = evaluation->n_images;
  copy->loss = evaluation->loss;
  copy->accuracy = evaluation->accuracy;
  memcpy (copy->class_counts, evaluation->class_counts, n * sizeof (guint));
  memcpy (copy->class_correct, evaluation->class_correct, n * sizeof (guint));
  memcpy (copy->class_accuracy, evaluation->class_accuracy, n * sizeof (double));
  memcpy (copy->confusion, evaluation->confusion, n * n * sizeof (guint));
  copy->predictions = g_memdup2 (evaluation->predictions, evaluation->n_images * sizeof (gint32));
  copy->confidences = g_memdup2 (evaluation->confidences, evaluation->n_images * sizeof (float));
  copy->losses = g_memdup2 (evaluation->losses, evaluation->n_images * sizeof (float));
  copy->labels = g_memdup2 (evaluation->labels, evaluation->n_images * sizeof (gint32));
  return copy;
}

static void
evaluation_clear (gpointer data)
{
  ConvolveEvaluation *evaluation = data;

  g_strfreev (evaluation->class_names);
  g_free (evaluation->predictions);
  g_free (evaluation->confidences);
  g_free (evaluation->losses);
  g_free (evaluation->labels);
  g_free (evaluation->class_counts);
  g_free (evaluation->class_correct);
  g_free (evaluation->class_accuracy);
  g_free (evaluation->confusion);
}

ConvolveEvaluation *
convolve_evaluation_ref (ConvolveEvaluation *evaluation)
{
  g_return_val_if_fail (evaluation != NULL, NULL);
  return g_atomic_rc_box_acquire (evaluation);
}

void
convolve_evaluation_free (ConvolveEvaluation *evaluation)
{
  if (evaluation == NULL)
    return;
  g_atomic_rc_box_release_full (evaluation, evaluation_clear);
}

guint
convolve_evaluation_get_confusion (const ConvolveEvaluation *evaluation,
                                   int                       true_class,
                                   int                       predicted)
{
  g_return_val_if_fail (evaluation != NULL, 0);
  g_return_val_if_fail (true_class >= 0 && true_class < evaluation->n_classes, 0);
  g_return_val_if_fail (predicted >= 0 && predicted < evaluation->n_classes, 0);

  return evaluation->confusion[(gsize) true_class * evaluation->n_classes + predicted];
}

/* Each image's confidence in its predicted class and its loss, from the
 * logits in double, with the log-sum-exp trick so neither underflows. */
static void
image_scores (const float   *logits,
              const int32_t *labels,
              const int32_t *predictions,
              int            count,
              int            n_classes,
              float         *confidences,
              float         *losses)
{
  for (int i = 0; i < count; i++)
    {
      const float *z = logits + (gsize) i * n_classes;
      double max = z[0], sum = 0.0, log_sum;

      for (int c = 1; c < n_classes; c++)
        max = MAX (max, z[c]);
      for (int c = 0; c < n_classes; c++)
        sum += exp (z[c] - max);
      log_sum = max + log (sum);
      confidences[i] = (float) exp (z[predictions[i]] - log_sum);
      losses[i] = (float) (log_sum - z[labels[i]]);
    }
}

ConvolveEvaluation *
convolve_evaluate_part (ConvolveModel                *model,
                        const ConvolveDataset        *dataset,
                        guint                         limit,
                        guint                         first,
                        guint                         end,
                        ConvolveEvaluateProgressFunc  progress_func,
                        gpointer                      progress_data,
                        GCancellable                 *cancellable,
                        GError                      **error)
{
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  g_autofree float *x = NULL;
  g_autofree int32_t *labels = NULL;
  g_autofree guint32 *indices = NULL;
  const char * const *class_names;
  ConvolveShape data_shape;
  int n_classes, batch_max;
  guint n_images;
  double loss_sum = 0.0;
  guint n_correct = 0;
  gsize image_size;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (dataset != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!convolve_check_model_for_dataset (model, dataset, error))
    return NULL;
  n_classes = convolve_model_get_n_classes (model);
  data_shape = convolve_dataset_get_shape (dataset);

  class_names = convolve_dataset_get_n_classes (dataset) == n_classes
              ? convolve_dataset_get_class_names (dataset) : NULL;
  evaluation = evaluation_new_for (n_classes, class_names);

  n_images = convolve_dataset_get_n_images (dataset);
  if (limit > 0 && limit < n_images)
    n_images = limit;
  if (n_images == 0)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                           _("The dataset has no images to evaluate"));
      return NULL;
    }

  batch_max = convolve_model_get_max_batch (model);
  image_size = (gsize) data_shape.c * data_shape.h * data_shape.w;
  x = g_try_malloc_n ((gsize) batch_max * image_size, sizeof (float));
  if (x == NULL)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("Not enough memory for an evaluation batch"));
      return NULL;
    }
  labels = g_new (int32_t, batch_max);
  indices = g_new (guint32, batch_max);
  /* Zero outside the part, so that parts add up to the whole. */
  evaluation->predictions = g_new0 (gint32, n_images);
  evaluation->confidences = g_new0 (float, n_images);
  evaluation->losses = g_new0 (float, n_images);
  evaluation->labels = g_new0 (gint32, n_images);
  end = MIN (end, n_images);
  first = MIN (first, end);

  for (guint start = first; start < end; start += batch_max)
    {
      int count = (int) MIN ((guint) batch_max, end - start);
      int hits = 0;
      gint32 *predictions;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;

      for (int i = 0; i < count; i++)
        indices[i] = start + i;
      convolve_dataset_make_batch (dataset, indices, count, x, labels, NULL, NULL);
      for (int i = 0; i < count; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
          {
            g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                         _("Image %u of the dataset has label %d, but the model only knows %d classes"),
                         start + i, (int) labels[i], n_classes);
            return NULL;
          }

      predictions = evaluation->predictions + start;
      if (!convolve_model_evaluate (model, x, labels, count, &loss_sum, &hits, predictions, error))
        return NULL;
      n_correct += hits;
      image_scores (convolve_model_get_logits (model), labels, predictions, count, n_classes,
                    evaluation->confidences + start, evaluation->losses + start);

      for (int i = 0; i < count; i++)
        {
          int truth = labels[i], guess = predictions[i];

          evaluation->labels[start + i] = truth;
          evaluation->class_counts[truth]++;
          if (guess >= 0 && guess < n_classes)
            evaluation->confusion[(gsize) truth * n_classes + guess]++;
          if (guess == truth)
            evaluation->class_correct[truth]++;
        }

      if (progress_func != NULL)
        progress_func (start + count - first, end - first, progress_data);
    }

  evaluation->n_images = n_images;
  evaluation->loss = loss_sum;
  evaluation->accuracy = n_correct;
  return g_steal_pointer (&evaluation);
}

void
convolve_evaluation_complete (ConvolveEvaluation *evaluation)
{
  g_return_if_fail (evaluation != NULL && evaluation->n_images > 0);

  evaluation->loss /= evaluation->n_images;
  evaluation->accuracy /= evaluation->n_images;
  for (int c = 0; c < evaluation->n_classes; c++)
    evaluation->class_accuracy[c] = evaluation->class_counts[c] > 0
      ? (double) evaluation->class_correct[c] / evaluation->class_counts[c]
      : NAN;
}

ConvolveEvaluation *
convolve_evaluate (ConvolveModel                *model,
                   const ConvolveDataset        *dataset,
                   guint                         limit,
                   ConvolveEvaluateProgressFunc  progress_func,
                   gpointer                      progress_data,
                   GCancellable                 *cancellable,
                   GError                      **error)
{
  ConvolveEvaluation *evaluation;

  evaluation = convolve_evaluate_part (model, dataset, limit, 0, G_MAXUINT, progress_func, progress_data,
                                       cancellable, error);
  if (evaluation != NULL)
    convolve_evaluation_complete (evaluation);
  return evaluation;
}

typedef struct {
  GTask           *task;
  ConvolveModel   *model;
  ConvolveDataset *dataset;
  guint            limit;
  ConvolveEvaluateProgressFunc progress_func;
  gpointer         progress_data;
} EvaluateJob;

static void
evaluate_job_free (EvaluateJob *job)
{
  g_clear_object (&job->task);
  g_clear_pointer (&job->model, convolve_model_free);
  g_clear_pointer (&job->dataset, convolve_dataset_unref);
  g_free (job);
}

static gpointer
evaluate_thread (gpointer data)
{
  EvaluateJob *job = data;
  GError *error = NULL;
  ConvolveEvaluation *evaluation;

  convolve_engine_flush_subnormals ();
  convolve_engine_lower_thread_priority ();
  evaluation = convolve_evaluate (job->model, job->dataset, job->limit,
                                  job->progress_func, job->progress_data,
                                  g_task_get_cancellable (job->task), &error);
  if (evaluation != NULL)
    g_task_return_pointer (job->task, evaluation, (GDestroyNotify) convolve_evaluation_free);
  else
    g_task_return_error (job->task, error);
  evaluate_job_free (job);
  return NULL;
}

void
convolve_evaluate_async (ConvolveModel                *model,
                         ConvolveDataset              *dataset,
                         guint                         limit,
                         ConvolveEvaluateProgressFunc  progress_func,
                         gpointer                      progress_data,
                         GCancellable                 *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  EvaluateJob *job;

  g_return_if_fail (model != NULL);
  g_return_if_fail (dataset != NULL);

  job = g_new0 (EvaluateJob, 1);
  job->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, convolve_evaluate_async);
  job->model = model;
  job->dataset = convolve_dataset_ref (dataset);
  job->limit = limit;
  job->progress_func = progress_func;
  job->progress_data = progress_data;
  /* A named thread rather than GTask's pool: an evaluation can take
   * seconds and should not hold a pool slot others wait for. */
  g_thread_unref (g_thread_new ("convolve-evaluate", evaluate_thread, job));
}

ConvolveEvaluation *
convolve_evaluate_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_evaluate_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
convolve_predict_image (ConvolveModel  *model,
                        const float    *input,
                        float          *probabilities,
                        GError        **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);
  g_return_val_if_fail (probabilities != NULL, FALSE);

  return convolve_model_predict (model, input, 1, probabilities, error);
}

int
convolve_top_k (const float *probabilities,
                int          n_classes,
                int          k,
                int         *indices)
{
  g_return_val_if_fail (probabilities != NULL || n_classes == 0, 0);
  g_return_val_if_fail (indices != NULL || k <= 0, 0);

  k = CLAMP (k, 0, n_classes);
  /* Insertion into a sorted prefix: k and n_classes are small. */
  for (int c = 0; c < n_classes; c++)
    {
      int position = MIN (c, k);

      while (position > 0 && probabilities[c] > probabilities[indices[position - 1]])
        position--;
      if (position >= k)
        continue;
      for (int j = MIN (c, k - 1); j > position; j--)
        indices[j] = indices[j - 1];
      indices[position] = c;
    }
  return k;
}
