/* convolve-lr-finder.c: the learning-rate range test, see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-lr-finder.h"

#include <glib/gi18n.h>
#include <math.h>

#include "convolve-model-check.h"

#define TRIM_END 5  /* fastai drops the last five points before suggesting */

void
convolve_lr_finder_config_init (ConvolveLrFinderConfig *config)
{
  g_return_if_fail (config != NULL);

  config->start_lr = 1e-7;
  config->end_lr = 10.0;
  config->n_batches = 100;
  config->batch_size = 32;
  config->optimizer = CONVOLVE_OPTIMIZER_ADAM;
  config->smoothing = 0.98;
  config->divergence_factor = 4.0;
  config->seed = 0;
  config->threads = 0;
}

gboolean
convolve_lr_finder_config_validate (const ConvolveLrFinderConfig  *config,
                                    GError                       **error)
{
  g_return_val_if_fail (config != NULL, FALSE);

#define BAD(...) \
  G_STMT_START { \
    g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

  if (!(config->start_lr > 0.0) || !(config->end_lr > config->start_lr) || !isfinite (config->end_lr) ||
      config->end_lr > 1e6 || (float) config->start_lr == 0.0f)
    BAD (_("The learning rate sweep must go up from above 0 to at most 1000000, not from %g to %g"),
         config->start_lr, config->end_lr);
  if (config->n_batches < 2 || config->n_batches > 100000)
    BAD (_("The learning rate sweep needs between 2 and 100000 batches, not %d"), config->n_batches);
  if (config->batch_size < 1 || config->batch_size > 65536)
    BAD (_("The batch size must be between 1 and 65536, not %d"), config->batch_size);
  if (config->optimizer != CONVOLVE_OPTIMIZER_ADAM && config->optimizer != CONVOLVE_OPTIMIZER_SGD)
    BAD (_("Unknown optimizer %d"), (int) config->optimizer);
  if (!(config->smoothing >= 0.0 && config->smoothing < 1.0))
    BAD (_("The loss smoothing must be at least 0 and below 1, not %g"), config->smoothing);
  if (!(config->divergence_factor == 0.0 || config->divergence_factor > 1.0) ||
      !isfinite (config->divergence_factor))
    BAD (_("The divergence factor must be 0 (never stop) or above 1, not %g"), config->divergence_factor);
  if (config->threads < 0 || config->threads > 1024)
    BAD (_("The number of threads must be between 0 (all cores) and 1024, not %d"), config->threads);

#undef BAD
  return TRUE;
}

void
convolve_lr_finder_result_free (ConvolveLrFinderResult *result)
{
  if (result == NULL)
    return;
  g_free (result->points);
  g_free (result);
}

/* --- the two rules ------------------------------------------------------- */

guint
convolve_lr_finder_steep_index (const double *lrs,
                                const double *losses,
                                guint         n)
{
  guint best = G_MAXUINT;
  double steepest = INFINITY;

  if (n < 3)
    return G_MAXUINT;
  /* The slope per unit of log(lr); the rates are exponential, so this is
   * a constant times the plain difference, but exact for any spacing. */
  for (guint i = 0; i + 1 < n; i++)
    {
      double slope = (losses[i + 1] - losses[i]) / (log (lrs[i + 1]) - log (lrs[i]));

      if (slope < steepest)
        {
          steepest = slope;
          best = i;
        }
    }
  return best;
}

guint
convolve_lr_finder_valley_index (const double *losses,
                                 guint         n)
{
  g_autofree guint *run = NULL;
  guint max_end = 0;
  gint64 max_start, index;
  double sections;

  if (n < 3)
    return G_MAXUINT;

  /* run[i]: the longest decreasing subsequence ending at i. */
  run = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    {
      run[i] = 1;
      for (guint j = 0; j < i; j++)
        if (losses[i] < losses[j] && run[i] < run[j] + 1)
          run[i] = run[j] + 1;
      if (run[max_end] < run[i])
        max_end = i;
    }
  /* fastai's arithmetic, kept as is: two thirds of the way is
   * start + sections + sections / 2, about half way along the valley. */
  max_start = (gint64) max_end - run[max_end];
  sections = (double) ((gint64) max_end - max_start) / 3.0;
  index = max_start + (gint64) sections + (gint64) (sections / 2.0);
  return (guint) CLAMP (index, 0, (gint64) n - 1);
}

static void
suggest (ConvolveLrFinderResult *result,
         int                     n_batches)
{
  guint first = (guint) n_batches / 10;
  guint n;
  g_autofree double *lrs = NULL;
  g_autofree double *smoothed = NULL;
  guint steep, valley;

  result->steep_lr = NAN;
  result->valley_lr = NAN;
  result->steep_index = G_MAXUINT;
  result->valley_index = G_MAXUINT;
  if (result->n_points < first + TRIM_END + 3)
    return;

  n = result->n_points - first - TRIM_END;
  lrs = g_new (double, n);
  smoothed = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      lrs[i] = result->points[first + i].lr;
      smoothed[i] = result->points[first + i].smoothed_loss;
    }

  steep = convolve_lr_finder_steep_index (lrs, smoothed, n);
  valley = convolve_lr_finder_valley_index (smoothed, n);
  if (steep != G_MAXUINT)
    {
      result->steep_index = first + steep;
      result->steep_lr = result->points[result->steep_index].lr;
    }
  if (valley != G_MAXUINT)
    {
      result->valley_index = first + valley;
      result->valley_lr = result->points[result->valley_index].lr;
    }
}

/* --- the sweep ----------------------------------------------------------- */

static ConvolveOptimizer *
new_optimizer (const ConvolveLrFinderConfig  *config,
               gsize                          n_params,
               GError                       **error)
{
  ConvolveOptimizerConfig optimizer_config;

  if (config->optimizer == CONVOLVE_OPTIMIZER_SGD)
    convolve_optimizer_config_init_sgd (&optimizer_config);
  else
    convolve_optimizer_config_init_adam (&optimizer_config);
  optimizer_config.learning_rate = (float) config->start_lr;
  return convolve_optimizer_new (&optimizer_config, n_params, error);
}

/* The sweep on model itself, which it changes: the callers pass a copy. */
static ConvolveLrFinderResult *
sweep (ConvolveModel                *model,
       ConvolveDataset              *train,
       const ConvolveLrFinderConfig *config,
       ConvolveLrFinderProgress      progress,
       gpointer                      progress_data,
       GCancellable                 *cancellable,
       GError                      **error)
{
  g_autoptr(ConvolveLrFinderResult) result = g_new0 (ConvolveLrFinderResult, 1);
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autofree float *x = NULL;
  g_autofree int32_t *labels = NULL;
  g_autofree guint32 *order = NULL;
  g_autofree guint32 *indices = NULL;
  guint n_images = convolve_dataset_get_n_images (train);
  int n_classes = convolve_model_get_n_classes (model);
  ConvolveShape shape = convolve_model_get_input (model);
  gsize image_size = (gsize) shape.c * shape.h * shape.w;
  int batch = (int) MIN ((guint) config->batch_size, n_images);
  double ratio = log (config->end_lr / config->start_lr);
  double average = 0.0, best = INFINITY;
  guint next = 0;
  gsize n_params = 0;
  ConvolveRng rng;

  convolve_model_get_params (model, &n_params);
  optimizer = new_optimizer (config, n_params, error);
  if (optimizer == NULL)
    return NULL;

  x = g_try_malloc_n ((gsize) batch * image_size, sizeof (float));
  if (x == NULL)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG,
                           _("Not enough memory for a training batch"));
      return NULL;
    }
  labels = g_new (int32_t, batch);
  indices = g_new (guint32, batch);
  order = g_new (guint32, n_images);
  for (guint i = 0; i < n_images; i++)
    order[i] = i;
  convolve_rng_init (&rng, config->seed);
  convolve_rng_shuffle_u32 (&rng, order, n_images);

  result->points = g_new0 (ConvolveLrPoint, config->n_batches);
  for (int b = 0; b < config->n_batches; b++)
    {
      ConvolveLrPoint *point = &result->points[b];
      float loss = 0.0f;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;

      /* Through the shuffled set, a new order each time round. */
      for (int i = 0; i < batch; i++)
        {
          if (next == n_images)
            {
              convolve_rng_shuffle_u32 (&rng, order, n_images);
              next = 0;
            }
          indices[i] = order[next++];
        }
      convolve_dataset_make_batch (train, indices, batch, x, labels, NULL, NULL);
      for (int i = 0; i < batch; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
          {
            g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                         _("Training image %u has label %d, but the model only knows %d classes"),
                         indices[i], (int) labels[i], n_classes);
            return NULL;
          }

      /* The last batch at end_lr exactly. */
      point->lr = config->start_lr * exp (ratio * b / (config->n_batches - 1));
      convolve_optimizer_set_learning_rate (optimizer, (float) point->lr);
      if (!convolve_model_train_step (model, optimizer, x, labels, batch, &loss, NULL, error))
        return NULL;

      /* fastai's AvgSmoothLoss: an EMA, divided by 1 - beta^n so the first
       * points are not pulled towards 0. */
      point->loss = loss;
      average = config->smoothing * average + (1.0 - config->smoothing) * point->loss;
      point->smoothed_loss = average / (1.0 - pow (config->smoothing, b + 1));
      result->n_points = (guint) b + 1;

      if (progress != NULL)
        progress (result->n_points, (guint) config->n_batches, point, progress_data);

      if (!isfinite (point->smoothed_loss) ||
          (config->divergence_factor > 0.0 && point->smoothed_loss > config->divergence_factor * best))
        {
          result->diverged = TRUE;
          break;
        }
      best = MIN (best, point->smoothed_loss);
    }

  suggest (result, config->n_batches);
  return g_steal_pointer (&result);
}

/* Checks and the private copy both entry points start with. */
static ConvolveModel *
prepare (const ConvolveModel           *model,
         ConvolveDataset               *train,
         const ConvolveLrFinderConfig  *config,
         GError                       **error)
{
  if (!convolve_lr_finder_config_validate (config, error) ||
      !convolve_check_model_for_dataset (model, train, error))
    return NULL;
  if (convolve_dataset_get_n_images (train) == 0)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH,
                           _("The training set has no images"));
      return NULL;
    }
  return convolve_model_copy (model, (int) MIN ((guint) config->batch_size,
                                                convolve_dataset_get_n_images (train)),
                              error);
}

ConvolveLrFinderResult *
convolve_lr_find (const ConvolveModel           *model,
                  ConvolveDataset               *train,
                  const ConvolveLrFinderConfig  *config,
                  ConvolveLrFinderProgress       progress,
                  gpointer                       progress_data,
                  GCancellable                  *cancellable,
                  GError                       **error)
{
  g_autoptr(ConvolveModel) copy = NULL;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (train != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  copy = prepare (model, train, config, error);
  if (copy == NULL)
    return NULL;
  if (config->threads > 0)
    convolve_engine_set_threads (config->threads);
  return sweep (copy, train, config, progress, progress_data, cancellable, error);
}

/* --- on a worker thread -------------------------------------------------- */

typedef struct {
  ConvolveModel            *model;
  ConvolveDataset          *train;
  ConvolveLrFinderConfig    config;
  ConvolveLrFinderProgress  progress;
  gpointer                  progress_data;
  GMainContext             *context;
} FindJob;

static void
find_job_free (FindJob *job)
{
  g_clear_pointer (&job->model, convolve_model_free);
  g_clear_pointer (&job->train, convolve_dataset_unref);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_free (job);
}

typedef struct {
  ConvolveLrFinderProgress progress;
  gpointer                 progress_data;
  guint                    done;
  guint                    total;
  ConvolveLrPoint          point;
} ProgressCall;

static gboolean
deliver_progress (gpointer data)
{
  ProgressCall *call = data;

  call->progress (call->done, call->total, &call->point, call->progress_data);
  return G_SOURCE_REMOVE;
}

/* On the worker: each point goes to the caller's context, in order and
 * before the result (same priority, queued earlier). */
static void
forward_progress (guint                  done,
                  guint                  total,
                  const ConvolveLrPoint *point,
                  gpointer               user_data)
{
  FindJob *job = user_data;
  ProgressCall *call = g_new (ProgressCall, 1);

  call->progress = job->progress;
  call->progress_data = job->progress_data;
  call->done = done;
  call->total = total;
  call->point = *point;
  /* Always through the caller's loop: g_main_context_invoke() would run it
   * right here whenever that context happens to be free. */
  {
    GSource *source = g_idle_source_new ();

    g_source_set_priority (source, G_PRIORITY_DEFAULT);
    g_source_set_callback (source, deliver_progress, call, g_free);
    g_source_set_static_name (source, "[convolve] lr-finder progress");
    g_source_attach (source, job->context);
    g_source_unref (source);
  }
}

static void
find_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  FindJob *job = task_data;
  GError *error = NULL;
  ConvolveLrFinderResult *result;

  convolve_engine_flush_subnormals ();
  convolve_engine_lower_thread_priority ();
  if (job->config.threads > 0)
    convolve_engine_set_threads (job->config.threads);
  result = sweep (job->model, job->train, &job->config,
                  job->progress != NULL ? forward_progress : NULL, job,
                  cancellable, &error);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) convolve_lr_finder_result_free);
}

void
convolve_lr_find_async (const ConvolveModel          *model,
                        ConvolveDataset              *train,
                        const ConvolveLrFinderConfig *config,
                        ConvolveLrFinderProgress      progress,
                        gpointer                      progress_data,
                        GCancellable                 *cancellable,
                        GAsyncReadyCallback           callback,
                        gpointer                      user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  FindJob *job;

  g_return_if_fail (model != NULL);
  g_return_if_fail (train != NULL);
  g_return_if_fail (config != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, convolve_lr_find_async);
  g_task_set_name (task, "convolve-lr-finder");

  job = g_new0 (FindJob, 1);
  job->model = prepare (model, train, config, &error);
  job->train = convolve_dataset_ref (train);
  job->config = *config;
  job->progress = progress;
  job->progress_data = progress_data;
  job->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, job, (GDestroyNotify) find_job_free);
  if (job->model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_run_in_thread (task, find_thread);
}

ConvolveLrFinderResult *
convolve_lr_find_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_lr_find_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
