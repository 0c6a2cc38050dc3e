/* make-checkpoint-fixture.c: writes a training checkpoint stopped in the
 * middle of an epoch, with a setting other than the default in every
 * config field: `make-checkpoint-fixture OUT.safetensors`.
 *
 * fixtures/checkpoint-v1.safetensors was written by this program built
 * before the checkpoint entries moved into convolve-checkpoint.c's key
 * table; test-checkpoint reads it to hold the format to what that code
 * wrote. Where the run stops depends on timing: run it again until the
 * position's step is not 0.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>

#include "convolve-train.h"

static const char * const class_names[] = { "a", "b", "c", "d", NULL };

/* Class k is a bright band in the k-th quarter of an 8×8 image. */
static ConvolveDataset *
make_dataset (guint n)
{
  ConvolveDataset *dataset = convolve_dataset_new ("bands", n, 1, 8, 8, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  ConvolveRng rng;

  convolve_rng_init (&rng, 5);
  for (guint i = 0; i < n; i++)
    {
      int label = (int) convolve_rng_below (&rng, 4);

      labels[i] = (guint8) label;
      for (int p = 0; p < 64; p++)
        pixels[i * 64 + p] = (guint8) (((p % 8) * 4 / 8 == label ? 150 : 0) + convolve_rng_below (&rng, 100));
    }
  return dataset;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = make_dataset (60);
  g_autoptr(ConvolveDataset) test = make_dataset (20);
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  ConvolveShape input = { 1, 8, 8 };
  ConvolveTrainConfig config;
  ConvolveModel *model;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s OUT.safetensors\n", argv[0]);
      return 2;
    }

  convolve_train_config_init (&config);
  config.epochs = 200;
  config.augment_epochs = 1;
  config.batch_size = 16;
  config.optimizer = CONVOLVE_OPTIMIZER_SGD;
  config.learning_rate = 3e-3f;
  config.seed = G_GUINT64_CONSTANT (18446744073709551557);
  config.threads = 1;
  config.train_limit = 50;
  config.eval_batch_size = 7;
  config.snapshot_every_steps = 3;
  config.progress_interval_ms = 17;
  config.augment.width_shift_range = 0.13f;
  config.augment.height_shift_range = 0.07f;
  config.augment.horizontal_flip = FALSE;

  spec = convolve_model_spec_parse ("conv2d(4,3,same,relu),maxpool(2),flatten,dense(4,softmax)", &error);
  model = spec != NULL ? convolve_model_new (spec, &input, 16, 3, &error) : NULL;
  if (model != NULL)
    trainer = convolve_trainer_new (model, NULL, train, test, &config, &error);
  if (trainer == NULL || !convolve_trainer_start (trainer, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_usleep (2345);
  convolve_trainer_stop (trainer);
  if (!convolve_trainer_join (trainer, &error) ||
      !convolve_trainer_save (trainer, argv[1], TRUE, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}
