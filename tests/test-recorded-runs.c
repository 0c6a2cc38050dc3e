/* test-recorded-runs.c: tiny real runs recorded into a store, see the
 * header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "test-recorded-runs.h"

static const char *class_names[] = { "left", "middle-left", "middle-right", "right", NULL };

/* Class k has a bright vertical band in the k-th quarter of the image on
 * a noisy background (as test-trainer.c's): learnable in a few epochs. */
ConvolveDataset *
test_bands_dataset (guint   n,
                    guint64 seed)
{
  const int size = 8;
  ConvolveDataset *dataset = convolve_dataset_new ("bands", n, 1, size, size, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  for (guint i = 0; i < n; i++)
    {
      int label = (int) convolve_rng_below (&rng, 4);
      guint8 *image = pixels + (gsize) i * size * size;

      labels[i] = (guint8) label;
      for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
          image[y * size + x] = (guint8) ((x * 4 / size == label ? 150 : 0) + convolve_rng_below (&rng, 100));
    }
  return dataset;
}

gint64
test_record_run (ConvolveRunStore *store,
                 const char       *name,
                 const char       *dataset_name,
                 guint64           seed,
                 float             learning_rate,
                 int               epochs)
{
  g_autoptr(ConvolveDataset) train = test_bands_dataset (64, 1);
  g_autoptr(ConvolveDataset) test = test_bands_dataset (32, 2);
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(ConvolveRunRecorder) recorder = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *spec_text = NULL;
  ConvolveShape input = { 1, 8, 8 };
  ConvolveTrainConfig config;
  ConvolveRunInfo info = { 0 };
  ConvolveModel *model;

  spec = convolve_model_spec_parse (TEST_RECORDED_RUNS_SPEC, &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 16, seed, &error);
  g_assert_no_error (error);
  spec_text = convolve_model_spec_to_string (spec);

  convolve_train_config_init (&config);
  config.epochs = epochs;
  config.augment_epochs = 0;
  config.batch_size = 16;
  config.learning_rate = learning_rate;
  config.seed = seed;
  config.threads = 1;
  config.snapshot_every_steps = 0;
  config.progress_interval_ms = 0;

  info.name = name;
  info.dataset_name = dataset_name;
  info.dataset_path = "/generated/bands";
  info.n_train = 64;
  info.n_test = 32;
  info.n_classes = 4;
  info.model_spec = spec_text;
  info.n_parameters = (gint64) convolve_model_get_n_trainable (model);

  trainer = convolve_trainer_new (model, NULL, train, test, &config, &error);
  g_assert_no_error (error);
  recorder = convolve_run_recorder_new (store, &info, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);

  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FINISHED);
  convolve_run_recorder_add_progress (recorder, progress);
  if (progress->best_epoch > 0)
    convolve_run_recorder_set_best_epoch (recorder, progress->best_epoch,
                                          progress->best_val_loss, progress->best_val_accuracy);
  g_assert_true (convolve_run_recorder_finish (recorder, progress->state, progress->evaluation, NULL, &error));
  g_assert_no_error (error);
  return convolve_run_recorder_get_run_id (recorder);
}
