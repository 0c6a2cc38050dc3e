/* test-lr-finder.c: the learning-rate range test: the caller's model
 * untouched, the schedule and the smoothing, the early end on divergence,
 * both rules against hand-worked curves, cancellation, the async API, and
 * on a generated problem both suggestions inside the range that is found,
 * independently, to train well.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "convolve-train.h"

#define LINEAR_SPEC "flatten,dense(4,softmax)"

static const char * const class_names[] = { "left", "middle-left", "middle-right", "right", NULL };

/* Class k has a bright vertical band in the k-th quarter of the image, on
 * a noisy background: linearly separable. */
static ConvolveDataset *
make_dataset (guint   n,
              guint64 seed)
{
  ConvolveDataset *dataset = convolve_dataset_new ("bands", n, 1, 8, 8, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  for (guint i = 0; i < n; i++)
    {
      int label = (int) convolve_rng_below (&rng, 4);
      guint8 *image = pixels + (gsize) i * 64;

      /* One label in five is random: the best loss is well above 0, and
       * too large a step overshoots it instead of saturating. */
      labels[i] = (guint8) (convolve_rng_below (&rng, 5) == 0 ? convolve_rng_below (&rng, 4) : (guint64) label);
      for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
          image[y * 8 + x] = (guint8) ((x / 2 == label ? 150 : 0) + convolve_rng_below (&rng, 100));
    }
  return dataset;
}

static ConvolveModel *
make_model (const char *spec_text,
            guint64     seed)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape input = { 1, 8, 8 };
  ConvolveModel *model;

  spec = convolve_model_spec_parse (spec_text, &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 32, seed, &error);
  g_assert_no_error (error);
  return model;
}

static void
assert_same_model (ConvolveModel *a,
                   ConvolveModel *b)
{
  gsize na = 0, nb = 0, sa = 0, sb = 0;
  float *pa = convolve_model_get_params (a, &na);
  float *pb = convolve_model_get_params (b, &nb);
  float *state_a = convolve_model_get_state (a, &sa);
  float *state_b = convolve_model_get_state (b, &sb);

  g_assert_cmpuint (na, ==, nb);
  g_assert_cmpmem (pa, na * sizeof (float), pb, nb * sizeof (float));
  g_assert_cmpuint (sa, ==, sb);
  if (sa > 0)
    g_assert_cmpmem (state_a, sa * sizeof (float), state_b, sb * sizeof (float));
}

static void
finder_config (ConvolveLrFinderConfig *config)
{
  convolve_lr_finder_config_init (config);
  config->threads = 1;
  config->seed = 11;
}

static ConvolveLrFinderResult *
find (const ConvolveModel          *model,
      ConvolveDataset              *train,
      const ConvolveLrFinderConfig *config)
{
  g_autoptr(GError) error = NULL;
  ConvolveLrFinderResult *result = convolve_lr_find (model, train, config, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

/* Both rules on curves worked out by hand (fastai's code run in one's
 * head), and too short ones. */
static void
test_lr_finder_rules (void)
{
  static const double lrs[] = { 1, 10, 100, 1000, 10000 };
  static const double falling[] = { 5, 4, 1, 0.5, 0.6 };
  /* longest decreasing run: 3 2 1.5 1 0.8 0.5 (indices 0 1 3 4 5 7) */
  static const double valley[] = { 3, 2, 2.5, 1.5, 1, 0.8, 2, 0.5, 3 };
  static const double straight[] = { 3, 2, 1 };

  g_assert_cmpuint (convolve_lr_finder_steep_index (lrs, falling, 5), ==, 1);
  g_assert_cmpuint (convolve_lr_finder_steep_index (lrs, falling, 2), ==, G_MAXUINT);
  /* It ends at 7 and is 6 long, so it "starts" at 1: 1 + 2 + 1. */
  g_assert_cmpuint (convolve_lr_finder_valley_index (valley, 9), ==, 4);
  /* fastai would index -1 + 1 + 0 here; clamped to the first point. */
  g_assert_cmpuint (convolve_lr_finder_valley_index (straight, 3), ==, 0);
  g_assert_cmpuint (convolve_lr_finder_valley_index (straight, 2), ==, G_MAXUINT);
}

/* The schedule, the smoothing and the shape of the curve; the caller's
 * model untouched, bit for bit. */
static void
test_lr_finder_curve (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (512, 1);
  g_autoptr(ConvolveModel) model = make_model (LINEAR_SPEC, 3);
  g_autoptr(ConvolveModel) before = NULL;
  g_autoptr(ConvolveLrFinderResult) result = NULL;
  g_autoptr(ConvolveLrFinderResult) again = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveLrFinderConfig config;
  double average = 0.0, lowest = INFINITY;
  guint lowest_index = 0;

  before = convolve_model_copy (model, 32, &error);
  g_assert_no_error (error);
  finder_config (&config);
  result = find (model, train, &config);
  assert_same_model (model, before);

  g_assert_cmpuint (result->n_points, ==, 100);
  g_assert_false (result->diverged);
  g_assert_cmpfloat (result->points[0].lr, ==, 1e-7);
  g_assert_cmpfloat_with_epsilon (result->points[99].lr, 10.0, 1e-12);
  for (guint i = 0; i < result->n_points; i++)
    {
      const ConvolveLrPoint *p = &result->points[i];
      double expected_lr = 1e-7 * pow (1e8, i / 99.0);

      g_assert_cmpfloat (fabs (p->lr - expected_lr), <=, 1e-12 * expected_lr);
      /* the debiased average, recomputed */
      average = 0.98 * average + 0.02 * p->loss;
      g_assert_cmpfloat (fabs (p->smoothed_loss - average / (1.0 - pow (0.98, i + 1))), <=, 1e-12);
      if (p->smoothed_loss < lowest)
        {
          lowest = p->smoothed_loss;
          lowest_index = i;
        }
    }
  /* The first batch's smoothed loss is its own loss. */
  g_assert_cmpfloat (fabs (result->points[0].smoothed_loss - result->points[0].loss), <=, 1e-12);

  /* Flat while the rate is too small to matter (up to 1e-4: within 5% of
   * ln 4, the untrained loss), falling to a low past 1e-2 (the average
   * lags the raw loss by some batches, so its low comes late), rising by
   * the end. */
  for (guint i = 0; result->points[i].lr <= 1e-4; i++)
    g_assert_cmpfloat (fabs (result->points[i].smoothed_loss - log (4.0)), <, 0.05 * log (4.0));
  g_assert_cmpfloat (result->points[lowest_index].lr, >=, 1e-2);
  g_test_message ("low %g at %g, last %g", lowest, result->points[lowest_index].lr, result->points[99].smoothed_loss);
  g_assert_cmpfloat (result->points[lowest_index].lr, <=, 5.0);
  g_assert_cmpfloat (lowest, <, 0.85 * log (4.0));
  g_assert_cmpfloat (result->points[99].smoothed_loss, >, 1.5 * lowest);

  /* The suggestions point at points of the curve. */
  g_assert_cmpuint (result->steep_index, <, result->n_points);
  g_assert_cmpuint (result->valley_index, <, result->n_points);
  g_assert_true (result->steep_lr == result->points[result->steep_index].lr);
  g_assert_true (result->valley_lr == result->points[result->valley_index].lr);

  /* The same seed, the same sweep. */
  again = find (model, train, &config);
  g_assert_cmpmem (result->points, result->n_points * sizeof (ConvolveLrPoint),
                   again->points, again->n_points * sizeof (ConvolveLrPoint));
}

/* Mean loss of the last 10 of n steps at a fixed rate, from the model's
 * weights (on a copy): how well that rate trains, found without the
 * finder. */
static double
train_at (const ConvolveModel *model,
          ConvolveDataset     *train,
          double               lr,
          int                  n)
{
  g_autoptr(ConvolveModel) copy = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveOptimizerConfig config;
  float x[32 * 64];
  int32_t labels[32];
  guint32 indices[32];
  gsize n_params = 0;
  double sum = 0.0;

  copy = convolve_model_copy (model, 32, &error);
  g_assert_no_error (error);
  convolve_optimizer_config_init_adam (&config);
  config.learning_rate = (float) lr;
  convolve_model_get_params (copy, &n_params);
  optimizer = convolve_optimizer_new (&config, n_params, &error);
  g_assert_no_error (error);
  for (int s = 0; s < n; s++)
    {
      float loss = 0.0f;

      for (int i = 0; i < 32; i++)
        indices[i] = (guint32) ((s * 32 + i) % convolve_dataset_get_n_images (train));
      convolve_dataset_make_batch (train, indices, 32, x, labels, NULL, NULL);
      g_assert_true (convolve_model_train_step (copy, optimizer, x, labels, 32, &loss, NULL, &error));
      g_assert_no_error (error);
      if (s >= n - 10)
        sum += isfinite (loss) ? loss : 1e9;
    }
  return sum / 10.0;
}

/* The good range, found by training at fixed rates half a decade apart
 * (those that at least halve the untrained loss in 60 steps), is one
 * stretch that 10 lies beyond (it diverges); both suggestions land in it. */
static void
test_lr_finder_suggestions (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (512, 1);
  g_autoptr(ConvolveModel) model = make_model (LINEAR_SPEC, 3);
  g_autoptr(ConvolveLrFinderResult) result = NULL;
  ConvolveLrFinderConfig config;
  double untrained = log (4.0);
  double good_low = INFINITY, good_high = 0.0;
  int n_good = 0;

  for (int half_decades = -12; half_decades <= 2; half_decades++)
    {
      double lr = pow (10.0, half_decades / 2.0);
      double loss = train_at (model, train, lr, 60);

      if (loss < 0.5 * untrained)
        {
          /* one stretch: each good rate next to the previous one */
          if (n_good > 0)
            g_assert_cmpfloat (fabs (log10 (lr / good_high) - 0.5), <, 1e-9);
          good_low = MIN (good_low, lr);
          good_high = lr;
          n_good++;
        }
      if (half_decades == 2)
        g_assert_cmpfloat (loss, >, untrained);
    }
  g_test_message ("good range %g to %g", good_low, good_high);
  g_assert_cmpint (n_good, >=, 2);
  g_assert_cmpfloat (good_high, <, 10.0);

  finder_config (&config);
  result = find (model, train, &config);
  g_test_message ("steep %g, valley %g", result->steep_lr, result->valley_lr);
  g_assert_cmpfloat (result->steep_lr, >=, good_low);
  g_assert_cmpfloat (result->steep_lr, <=, good_high);
  g_assert_cmpfloat (result->valley_lr, >=, good_low);
  g_assert_cmpfloat (result->valley_lr, <=, good_high);
}

/* Rates up to 10000 explode: the sweep ends at the first smoothed loss
 * above 4 times the best before it. */
static void
test_lr_finder_divergence (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (512, 1);
  g_autoptr(ConvolveModel) model = make_model (LINEAR_SPEC, 3);
  g_autoptr(ConvolveLrFinderResult) result = NULL;
  ConvolveLrFinderConfig config;
  double best = INFINITY;
  guint last;

  finder_config (&config);
  config.end_lr = 1e4;
  config.smoothing = 0.8;
  result = find (model, train, &config);
  g_assert_true (result->diverged);
  g_assert_cmpuint (result->n_points, <, 100);
  g_assert_cmpuint (result->n_points, >, 10);
  last = result->n_points - 1;
  for (guint i = 0; i < last; i++)
    {
      if (isfinite (best))
        g_assert_cmpfloat (result->points[i].smoothed_loss, <=, 4.0 * best);
      best = MIN (best, result->points[i].smoothed_loss);
    }
  g_assert_true (!isfinite (result->points[last].smoothed_loss) ||
                 result->points[last].smoothed_loss > 4.0 * best);

  /* With the rule off, every batch runs. */
  g_clear_pointer (&result, convolve_lr_finder_result_free);
  config.divergence_factor = 0.0;
  config.end_lr = 10.0;
  config.n_batches = 20;
  result = find (model, train, &config);
  g_assert_cmpuint (result->n_points, ==, 20);
  g_assert_false (result->diverged);
}

typedef struct {
  GCancellable *cancellable;
  guint         cancel_after;
  guint         calls;
  guint         last_done;
  GThread      *thread;      /* where progress must arrive; NULL: anywhere */
  ConvolveLrFinderResult *result;
  GError       *error;
  gboolean      done;
} FindLog;

static void
on_find_progress (guint                  done,
                  guint                  total,
                  const ConvolveLrPoint *point,
                  gpointer               user_data)
{
  FindLog *log = user_data;

  if (log->thread != NULL)
    g_assert_true (g_thread_self () == log->thread);
  g_assert_false (log->done);
  g_assert_cmpuint (done, ==, log->last_done + 1);
  g_assert_cmpuint (total, ==, 100);
  g_assert_cmpfloat (point->lr, >, 0.0);
  log->last_done = done;
  log->calls++;
  if (log->cancellable != NULL && log->calls == log->cancel_after)
    g_cancellable_cancel (log->cancellable);
}

static void
on_found (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  FindLog *log = user_data;

  g_assert_null (source);
  log->result = convolve_lr_find_finish (result, &log->error);
  log->done = TRUE;
}

/* Cancelled between two batches, blocking and async; the async sweep's
 * progress and result on the caller's context, in order. */
static void
test_lr_finder_async_cancel (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (512, 1);
  g_autoptr(ConvolveModel) model = make_model (LINEAR_SPEC, 3);
  g_autoptr(ConvolveModel) before = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(ConvolveLrFinderResult) reference = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveLrFinderConfig config;
  ConvolveLrFinderResult *result;
  FindLog log = { cancellable, 10, 0, 0, NULL, NULL, NULL, FALSE };

  before = convolve_model_copy (model, 32, &error);
  finder_config (&config);

  result = convolve_lr_find (model, train, &config, on_find_progress, &log, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (log.calls, ==, 10);
  g_clear_error (&error);

  /* Async, to the end: the same sweep as the blocking one. */
  reference = find (model, train, &config);
  memset (&log, 0, sizeof log);
  log.thread = g_thread_self ();
  convolve_lr_find_async (model, train, &config, on_find_progress, &log, NULL, on_found, &log);
  while (!log.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (log.error);
  g_assert_cmpuint (log.calls, ==, log.result->n_points);
  g_assert_cmpmem (reference->points, reference->n_points * sizeof (ConvolveLrPoint),
                   log.result->points, log.result->n_points * sizeof (ConvolveLrPoint));
  g_assert_true (reference->steep_lr == log.result->steep_lr);
  g_assert_true (reference->valley_lr == log.result->valley_lr);
  g_clear_pointer (&log.result, convolve_lr_finder_result_free);
  assert_same_model (model, before);

  /* Async, cancelled. */
  g_cancellable_reset (cancellable);
  memset (&log, 0, sizeof log);
  log.thread = g_thread_self ();
  log.cancellable = cancellable;
  log.cancel_after = 3;
  convolve_lr_find_async (model, train, &config, on_find_progress, &log, cancellable, on_found, &log);
  while (!log.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (log.result);
  g_assert_error (log.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&log.error);

  /* Bad input, reported through the callback. */
  memset (&log, 0, sizeof log);
  config.n_batches = 1;
  convolve_lr_find_async (model, train, &config, NULL, NULL, NULL, on_found, &log);
  while (!log.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (log.error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
  g_clear_error (&log.error);
  assert_same_model (model, before);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/lr-finder/rules", test_lr_finder_rules);
  g_test_add_func ("/train/lr-finder/curve", test_lr_finder_curve);
  g_test_add_func ("/train/lr-finder/suggestions", test_lr_finder_suggestions);
  g_test_add_func ("/train/lr-finder/divergence", test_lr_finder_divergence);
  g_test_add_func ("/train/lr-finder/async-cancel", test_lr_finder_async_cancel);

  return g_test_run ();
}
