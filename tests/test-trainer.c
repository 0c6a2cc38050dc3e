/* test-trainer.c: the trainer thread: a real fit on a small generated
 * dataset, pause/resume/stop from another thread within one batch, a
 * consistent model after a stop, bit-exact resume from checkpoints, the
 * progress signal on the main context, weight snapshots, and errors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convolve-train.h"
#include "convolve-trainer-private.h"

#define SMALL_SPEC  "conv2d(4,3,same,relu),maxpool(2),flatten,dense(4,softmax)"
#define DROPOUT_SPEC "conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,dense(16,relu),dropout(0.3),dense(4,softmax)"

static const char * const class_names[] = { "left", "middle-left", "middle-right", "right", NULL };

/* Class k has a bright vertical band in the k-th quarter of the image, on
 * a noisy background: easy to learn, not trivial. */
static ConvolveDataset *
make_dataset (guint    n,
              int      c,
              int      size,
              guint64  seed)
{
  ConvolveDataset *dataset = convolve_dataset_new ("bands", n, c, size, size, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  for (guint i = 0; i < n; i++)
    {
      int label = (int) convolve_rng_below (&rng, 4);
      guint8 *image = pixels + (gsize) i * c * size * size;

      labels[i] = (guint8) label;
      for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < size; y++)
          for (int x = 0; x < size; x++)
            {
              gboolean band = x * 4 / size == label;

              image[(ch * size + y) * size + x] =
                (guint8) ((band ? 150 : 0) + convolve_rng_below (&rng, 100));
            }
    }
  return dataset;
}

static ConvolveModel *
make_model (const char *spec_text,
            int         c,
            int         size,
            int         max_batch,
            guint64     seed)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape input = { c, size, size };
  ConvolveModel *model;

  spec = convolve_model_spec_parse (spec_text, &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, max_batch, seed, &error);
  g_assert_no_error (error);
  return model;
}

static void
small_config (ConvolveTrainConfig *config)
{
  convolve_train_config_init (config);
  config->epochs = 2;
  config->augment_epochs = 1;
  config->batch_size = 16;
  config->learning_rate = 1e-2f;
  config->seed = 7;
  config->threads = 1;
  config->eval_batch_size = 32;
  config->progress_interval_ms = 0;
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("convolve-trainer-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_temp_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
assert_same_params (ConvolveModel *a,
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

static gint64
current_step (ConvolveTrainer *trainer)
{
  g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

  return progress->global_step;
}

static void
wait_for_step (ConvolveTrainer *trainer,
               gint64           step)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (current_step (trainer) < step)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (200);
    }
}

static void
wait_for_state (ConvolveTrainer      *trainer,
                ConvolveTrainerState  state)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (convolve_trainer_get_state (trainer) != state)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (200);
    }
}

static void
test_trainer_fit (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (250, 1, 8, 1);
  g_autoptr(ConvolveDataset) test = make_dataset (64, 1, 8, 2);
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(ConvolveModel) snapshot = NULL;
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveHistory *history;
  ConvolveTrainConfig config;

  small_config (&config);
  trainer = convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 3), NULL, train, test, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_IDLE);

  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_IDLE);
  g_assert_cmpint (progress->epochs_total, ==, 3);
  /* 250 = 15 * 16 + 10: the last partial batch is a step too. */
  g_assert_cmpint (progress->steps_per_epoch, ==, 16);
  g_assert_cmpint (progress->total_steps, ==, 48);
  g_clear_pointer (&progress, convolve_progress_unref);

  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_FINISHED);

  history = convolve_trainer_get_history (trainer);
  g_assert_cmpuint (convolve_history_get_n_steps (history), ==, 48);
  g_assert_cmpuint (convolve_history_get_n_epochs (history), ==, 3);
  for (guint i = 0; i < 48; i++)
    {
      const ConvolveHistoryStep *step = convolve_history_get_step (history, i);

      g_assert_cmpint (step->global_step, ==, i + 1);
      g_assert_cmpint (step->epoch, ==, 1 + i / 16);
      g_assert_cmpint (step->step, ==, 1 + i % 16);
      g_assert_true (isfinite (step->loss));
      g_assert_cmpfloat (step->accuracy, >=, 0.0);
      g_assert_cmpfloat (step->accuracy, <=, 1.0);
      /* Keras's progress bar: hits over the images seen so far this epoch,
       * so weighted by batch size, the last partial batch of 10 included. */
      {
        double seen = MIN (16.0 * step->step, 250.0);
        double hits = step->accuracy * seen;

        g_assert_cmpfloat (fabs (hits - round (hits)), <, 1e-9);
      }
    }

  for (guint e = 0; e < 3; e++)
    {
      const ConvolveHistoryEpoch *epoch = convolve_history_get_epoch (history, e);
      const ConvolveHistoryStep *last = convolve_history_get_step (history, 16 * e + 15);
      double hits = epoch->accuracy * 250.0;

      g_assert_cmpint (epoch->epoch, ==, e + 1);
      g_assert_cmpint (epoch->augmented, ==, e == 2);
      /* The epoch's figures are the running means after its last step,
       * over all 250 images (a whole number of hits). */
      g_assert_true (epoch->loss == last->loss);
      g_assert_true (epoch->accuracy == last->accuracy);
      g_assert_cmpfloat (fabs (hits - round (hits)), <, 1e-9);
      g_assert_true (isfinite (epoch->val_loss));
      g_assert_cmpfloat (epoch->seconds, >, 0.0);
    }
  /* It learns. */
  g_assert_cmpfloat (convolve_history_get_epoch (history, 1)->loss, <,
                     convolve_history_get_epoch (history, 0)->loss);
  g_assert_cmpfloat (convolve_history_get_epoch (history, 2)->val_accuracy, >=, 0.9);

  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (progress->epoch, ==, 3);
  g_assert_cmpint (progress->step, ==, 16);
  g_assert_cmpint (progress->global_step, ==, 48);
  g_assert_true (progress->augmented);
  g_assert_true (progress->has_validation);
  g_assert_cmpuint (progress->history_n_steps, ==, 48);
  g_assert_cmpuint (progress->history_n_epochs, ==, 3);
  g_assert_true (progress->val_accuracy == convolve_history_get_epoch (history, 2)->val_accuracy);
  g_assert_null (progress->error);

  /* Validation is what convolve_evaluate gives on the final weights. */
  snapshot = convolve_trainer_get_weights_snapshot (trainer, 32, &error);
  g_assert_no_error (error);
  evaluation = convolve_evaluate (snapshot, test, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (evaluation->loss, progress->val_loss, 1e-9);
  g_assert_cmpfloat_with_epsilon (evaluation->accuracy, progress->val_accuracy, 1e-12);

  g_assert_finalize_object (g_steal_pointer (&trainer));
}

/* 3x32x32 images, 16 filters, 64 images a batch: about 5 ms a step on one
 * core, long enough that the test thread reading the step count and then
 * asking for a pause cannot miss more than one step. */
static ConvolveTrainer *
make_slow_trainer (ConvolveDataset **train_out)
{
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;
  ConvolveTrainer *trainer;

  *train_out = make_dataset (4096, 3, 32, 5);
  convolve_train_config_init (&config);
  config.epochs = 50;
  config.batch_size = 64;
  config.threads = 1;
  config.seed = 11;
  trainer = convolve_trainer_new (make_model ("conv2d(16,3,same,relu),maxpool(2),flatten,dense(4,softmax)",
                                              3, 32, 64, 1),
                                  NULL, *train_out, NULL, &config, &error);
  g_assert_no_error (error);
  return trainer;
}

static void
test_trainer_pause_resume_stop (void)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveTrainer) trainer = make_slow_trainer (&train);
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(GError) error = NULL;
  gint64 before, paused_at, stop_request, start_time;

  g_assert_true (convolve_trainer_start (trainer, &error));
  wait_for_step (trainer, 3);

  /* Pause: takes effect after at most the batch in flight. */
  before = current_step (trainer);
  convolve_trainer_pause (trainer);
  wait_for_state (trainer, CONVOLVE_TRAINER_PAUSED);
  paused_at = current_step (trainer);
  g_assert_cmpint (paused_at, <=, before + 2);
  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_PAUSED);
  g_clear_pointer (&progress, convolve_progress_unref);

  /* Nothing moves while paused. */
  g_usleep (100 * 1000);
  g_assert_cmpint (current_step (trainer), ==, paused_at);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_PAUSED);

  convolve_trainer_resume (trainer);
  wait_for_step (trainer, paused_at + 3);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_RUNNING);

  /* Stop: ends after at most the batch in flight. */
  stop_request = current_step (trainer);
  start_time = g_get_monotonic_time ();
  convolve_trainer_stop (trainer);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start_time, <, 10 * G_USEC_PER_SEC);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_CANCELLED);
  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_CANCELLED);
  g_assert_cmpint (progress->global_step, <=, stop_request + 2);
  g_assert_cmpint (progress->global_step, <, progress->total_steps);
  g_assert_cmpuint (progress->history_n_steps, ==, (guint) progress->global_step);

  g_assert_finalize_object (g_steal_pointer (&trainer));
}

/* Whoever sees the trainer paused or running again through get_state()
 * finds the same state in the progress snapshot: the snapshot used to be
 * published just after the state changed, and a reader polling in between
 * saw "paused" with a "running" snapshot. Busy polling finds that window. */
static void
test_trainer_pause_state_consistent (void)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveTrainer) trainer = make_slow_trainer (&train);
  g_autoptr(GError) error = NULL;

  g_assert_true (convolve_trainer_start (trainer, &error));
  wait_for_step (trainer, 1);
  for (int i = 0; i < 50; i++)
    {
      ConvolveTrainerState expected[] = { CONVOLVE_TRAINER_PAUSED, CONVOLVE_TRAINER_RUNNING };

      for (gsize k = 0; k < G_N_ELEMENTS (expected); k++)
        {
          gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
          g_autoptr(ConvolveProgress) progress = NULL;

          if (expected[k] == CONVOLVE_TRAINER_PAUSED)
            convolve_trainer_pause (trainer);
          else
            convolve_trainer_resume (trainer);
          while (convolve_trainer_get_state (trainer) != expected[k])
            g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          progress = convolve_trainer_get_progress (trainer);
          g_assert_cmpint (progress->state, ==, expected[k]);
        }
    }

  convolve_trainer_stop (trainer);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&trainer));
}

static void
test_trainer_stop_while_paused (void)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveTrainer) trainer = make_slow_trainer (&train);
  g_autoptr(GError) error = NULL;
  gint64 paused_at;

  /* Paused before it starts: no step is taken. */
  convolve_trainer_pause (trainer);
  g_assert_true (convolve_trainer_start (trainer, &error));
  wait_for_state (trainer, CONVOLVE_TRAINER_PAUSED);
  paused_at = current_step (trainer);
  g_assert_cmpint (paused_at, ==, 0);

  convolve_trainer_stop (trainer);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_CANCELLED);
  g_assert_cmpint (current_step (trainer), ==, 0);

  g_assert_finalize_object (g_steal_pointer (&trainer));
}

static void
test_trainer_stop_consistent (void)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveTrainer) trainer = make_slow_trainer (&train);
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(ConvolveModel) snapshot = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "stopped.safetensors", NULL);
  g_autofree char *busy_path = g_build_filename (dir, "while-running.safetensors", NULL);
  gsize n = 0;
  float *params;

  g_assert_true (convolve_trainer_start (trainer, &error));
  wait_for_step (trainer, 5);

  /* A save while running lands between two steps. */
  g_assert_true (convolve_trainer_save (trainer, busy_path, TRUE, &error));
  g_assert_no_error (error);
  loaded = convolve_model_load (busy_path, 1, &meta, &optimizer, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_optimizer_get_iterations (optimizer), ==, meta->step);
  g_assert_cmpint (meta->step, >=, 5);
  g_clear_pointer (&loaded, convolve_model_free);
  g_clear_pointer (&meta, convolve_model_meta_free);
  g_clear_pointer (&optimizer, convolve_optimizer_free);

  convolve_trainer_stop (trainer);
  g_assert_true (convolve_trainer_join (trainer, &error));
  progress = convolve_trainer_get_progress (trainer);

  /* The stopped model, its optimizer and the position agree, and the
   * published weights are the final ones. */
  g_assert_true (convolve_trainer_save (trainer, path, TRUE, &error));
  g_assert_no_error (error);
  loaded = convolve_model_load (path, 1, &meta, &optimizer, &error);
  g_assert_no_error (error);
  g_assert_nonnull (optimizer);
  g_assert_cmpint (meta->step, ==, progress->global_step);
  g_assert_cmpint (convolve_optimizer_get_iterations (optimizer), ==, progress->global_step);
  g_assert_cmpstr (meta->class_names[0], ==, "left");
  g_assert_cmpstr (meta->dataset, ==, "bands");
  g_assert_cmpfloat_with_epsilon (meta->input_scale, 1.0 / 255.0, 1e-9);

  snapshot = convolve_trainer_get_weights_snapshot (trainer, 4, &error);
  g_assert_no_error (error);
  assert_same_params (snapshot, loaded);
  params = convolve_model_get_params (loaded, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_true (isfinite (params[i]));

  g_assert_finalize_object (g_steal_pointer (&trainer));
  remove_temp_dir (dir);
}

/* Runs to the end; returns the trainer for inspection. */
static ConvolveTrainer *
run_to_end (ConvolveTrainer *trainer)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_FINISHED);
  return trainer;
}

static void
assert_same_history (ConvolveHistory *a,
                     ConvolveHistory *b)
{
  g_assert_cmpuint (convolve_history_get_n_steps (a), ==, convolve_history_get_n_steps (b));
  g_assert_cmpuint (convolve_history_get_n_epochs (a), ==, convolve_history_get_n_epochs (b));
  for (guint i = 0; i < convolve_history_get_n_steps (a); i++)
    {
      const ConvolveHistoryStep *x = convolve_history_get_step (a, i);
      const ConvolveHistoryStep *y = convolve_history_get_step (b, i);

      g_assert_cmpint (x->global_step, ==, y->global_step);
      g_assert_cmpint (x->epoch, ==, y->epoch);
      g_assert_cmpint (x->step, ==, y->step);
      /* Bit for bit. */
      g_assert_cmpmem (&x->loss, sizeof (double), &y->loss, sizeof (double));
      g_assert_cmpmem (&x->accuracy, sizeof (double), &y->accuracy, sizeof (double));
    }
  for (guint i = 0; i < convolve_history_get_n_epochs (a); i++)
    {
      const ConvolveHistoryEpoch *x = convolve_history_get_epoch (a, i);
      const ConvolveHistoryEpoch *y = convolve_history_get_epoch (b, i);

      g_assert_cmpint (x->epoch, ==, y->epoch);
      g_assert_cmpint (x->augmented, ==, y->augmented);
      g_assert_cmpmem (&x->loss, sizeof (double), &y->loss, sizeof (double));
      g_assert_cmpmem (&x->accuracy, sizeof (double), &y->accuracy, sizeof (double));
      g_assert_cmpmem (&x->val_loss, sizeof (double), &y->val_loss, sizeof (double));
      g_assert_cmpmem (&x->val_accuracy, sizeof (double), &y->val_accuracy, sizeof (double));
    }
}

static void
test_trainer_resume_exact (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (3000, 1, 8, 21);
  g_autoptr(ConvolveDataset) test = make_dataset (50, 1, 8, 22);
  g_autoptr(ConvolveTrainer) reference = NULL;
  g_autoptr(ConvolveTrainer) first = NULL;
  g_autoptr(ConvolveTrainer) resumed = NULL;
  g_autoptr(ConvolveModel) reference_model = NULL;
  g_autoptr(ConvolveModel) resumed_model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *epoch_checkpoint = g_build_filename (dir, "epoch.safetensors", NULL);
  g_autofree char *stop_checkpoint = g_build_filename (dir, "stop.safetensors", NULL);
  ConvolveTrainConfig config, short_config;

  /* Dropout and BatchNorm in the model, an augmented epoch at the end:
   * every source of randomness and state has to come back exactly. */
  small_config (&config);
  config.batch_size = 7;   /* 429 steps per epoch, the last one of 4 images */
  reference = convolve_trainer_new (make_model (DROPOUT_SPEC, 1, 8, 8, 5), NULL, train, test, &config, &error);
  g_assert_no_error (error);
  run_to_end (reference);

  /* The same run cut after its first epoch (checkpoint saved by the
   * trainer), then extended to the full length. */
  short_config = config;
  short_config.epochs = 1;
  short_config.augment_epochs = 0;
  first = convolve_trainer_new (make_model (DROPOUT_SPEC, 1, 8, 8, 5), NULL, train, test, &short_config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_set_checkpoint_path (first, epoch_checkpoint, &error));
  run_to_end (first);
  g_assert_finalize_object (g_steal_pointer (&first));

  resumed = convolve_trainer_new_from_checkpoint (epoch_checkpoint, train, test, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_trainer_get_config (resumed)->epochs, ==, 1);
  g_assert_true (convolve_trainer_set_config (resumed, &config, &error));
  g_assert_no_error (error);
  run_to_end (resumed);
  assert_same_history (convolve_trainer_get_history (reference), convolve_trainer_get_history (resumed));

  reference_model = convolve_trainer_get_weights_snapshot (reference, 1, &error);
  resumed_model = convolve_trainer_get_weights_snapshot (resumed, 1, &error);
  assert_same_params (reference_model, resumed_model);
  g_clear_pointer (&resumed_model, convolve_model_free);
  g_assert_finalize_object (g_steal_pointer (&resumed));

  /* Cut in the middle of the augmented epoch by a stop wherever it lands,
   * then continued from a checkpoint saved after the stop. */
  first = convolve_trainer_new (make_model (DROPOUT_SPEC, 1, 8, 8, 5), NULL, train, test, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_start (first, &error));
  wait_for_step (first, 2 * 429 + 30);
  convolve_trainer_stop (first);
  g_assert_true (convolve_trainer_join (first, &error));
  if (convolve_trainer_get_state (first) == CONVOLVE_TRAINER_CANCELLED)
    g_assert_cmpint (current_step (first), <, 3 * 429);
  else
    g_test_message ("the run ended before the stop; the mid-epoch resume was not exercised");
  g_assert_true (convolve_trainer_save (first, stop_checkpoint, TRUE, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&first));

  resumed = convolve_trainer_new_from_checkpoint (stop_checkpoint, train, test, &error);
  g_assert_no_error (error);
  run_to_end (resumed);
  assert_same_history (convolve_trainer_get_history (reference), convolve_trainer_get_history (resumed));
  resumed_model = convolve_trainer_get_weights_snapshot (resumed, 1, &error);
  assert_same_params (reference_model, resumed_model);
  g_assert_finalize_object (g_steal_pointer (&resumed));

  g_assert_finalize_object (g_steal_pointer (&reference));
  remove_temp_dir (dir);
}

typedef struct {
  GThread         *main_thread;
  guint            emissions;
  gint64           last_step;
  ConvolveTrainerState last_state;
  gboolean         done;
} SignalLog;

static void
on_progress (ConvolveTrainer  *trainer,
             ConvolveProgress *progress,
             gpointer          user_data)
{
  SignalLog *log = user_data;

  g_assert_true (g_thread_self () == log->main_thread);
  g_assert_cmpint (progress->global_step, >=, log->last_step);
  g_assert_cmpuint (progress->history_n_steps, ==, (guint) progress->global_step);
  g_assert_nonnull (progress->history);
  g_assert_false (convolve_trainer_state_is_final (log->last_state));
  log->emissions++;
  log->last_step = progress->global_step;
  log->last_state = progress->state;
  if (convolve_trainer_state_is_final (progress->state))
    log->done = TRUE;
}

static void
test_trainer_progress_signal (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (2000, 1, 8, 31);
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;
  SignalLog log = { g_thread_self (), 0, 0, CONVOLVE_TRAINER_IDLE, FALSE };
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  small_config (&config);
  config.progress_interval_ms = 50;
  trainer = convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 3), NULL, train, NULL, &config, &error);
  g_assert_no_error (error);
  g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &log);

  g_assert_true (convolve_trainer_start (trainer, &error));
  while (!log.done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }

  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_cmpint (log.last_state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (log.last_step, ==, 3 * 125);
  /* Coalesced: far fewer emissions than the 375 steps. */
  g_assert_cmpuint (log.emissions, >=, 2);
  g_assert_cmpuint (log.emissions, <, 3 * 125);

  g_assert_finalize_object (g_steal_pointer (&trainer));
}

typedef struct {
  ConvolveTrainer *trainer;
  guint            snapshots;
} SnapshotReader;

static gpointer
snapshot_thread (gpointer data)
{
  SnapshotReader *reader = data;

  /* At least once, however quick the run. */
  do
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModel) model = convolve_trainer_get_weights_snapshot (reader->trainer, 2, &error);
      gsize n = 0;
      float *params;

      g_assert_no_error (error);
      params = convolve_model_get_params (model, &n);
      for (gsize i = 0; i < n; i++)
        g_assert_true (isfinite (params[i]));
      reader->snapshots++;
      g_usleep (1000);
    }
  while (!convolve_trainer_state_is_final (convolve_trainer_get_state (reader->trainer)));
  return NULL;
}

static void
test_trainer_weights_snapshot (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (400, 1, 8, 41);
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveModel) initial = make_model (SMALL_SPEC, 1, 8, 16, 9);
  g_autoptr(ConvolveModel) before = NULL;
  g_autoptr(ConvolveModel) after = NULL;
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;
  SnapshotReader reader = { 0 };
  GThread *thread;
  guint64 version;

  small_config (&config);
  config.snapshot_every_steps = 1;
  trainer = convolve_trainer_new (convolve_model_copy (initial, 16, NULL), NULL, train, NULL, &config, &error);
  g_assert_no_error (error);

  before = convolve_trainer_get_weights_snapshot (trainer, 1, &error);
  g_assert_no_error (error);
  assert_same_params (before, initial);
  g_assert_cmpint (convolve_model_get_max_batch (before), ==, 1);
  progress = convolve_trainer_get_progress (trainer);
  version = progress->weights_version;
  g_clear_pointer (&progress, convolve_progress_unref);

  reader.trainer = trainer;
  g_assert_true (convolve_trainer_start (trainer, &error));
  thread = g_thread_new ("snapshots", snapshot_thread, &reader);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_thread_join (thread);
  g_assert_cmpuint (reader.snapshots, >=, 1);

  progress = convolve_trainer_get_progress (trainer);
  /* Every step published (75), plus the epoch ends and the end. */
  g_assert_cmpuint (progress->weights_version, >=, version + 75);

  after = convolve_trainer_get_weights_snapshot (trainer, 1, &error);
  g_assert_no_error (error);
  {
    gsize n = 0;
    float *a = convolve_model_get_params (after, &n);
    float *b = convolve_model_get_params (initial, &n);

    g_assert_true (memcmp (a, b, n * sizeof (float)) != 0);
  }

  g_assert_finalize_object (g_steal_pointer (&trainer));
}

/* Without snapshots (as convolve-cli trains): none is published, none can
 * be had, and the run is the same as with them. */
static void
test_trainer_no_snapshots (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (400, 1, 8, 41);
  g_autoptr(ConvolveModel) initial = make_model (SMALL_SPEC, 1, 8, 16, 9);
  g_autoptr(ConvolveTrainer) with = NULL, without = NULL;
  g_autoptr(ConvolveProgress) before = NULL, after = NULL;
  g_autoptr(ConvolveModel) snapshot = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;

  small_config (&config);
  config.snapshot_every_steps = 1;
  with = convolve_trainer_new (convolve_model_copy (initial, 16, NULL), NULL, train, NULL, &config, &error);
  without = convolve_trainer_new (convolve_model_copy (initial, 16, NULL), NULL, train, NULL, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_set_publish_weights (without, FALSE, &error));
  g_assert_no_error (error);
  before = convolve_trainer_get_progress (without);

  g_assert_true (convolve_trainer_start (with, &error));
  g_assert_true (convolve_trainer_start (without, &error));
  /* too late once started */
  g_assert_false (convolve_trainer_set_publish_weights (without, TRUE, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_true (convolve_trainer_join (with, &error));
  g_assert_true (convolve_trainer_join (without, &error));
  g_assert_no_error (error);

  after = convolve_trainer_get_progress (without);
  g_assert_cmpint (after->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpuint (after->weights_version, ==, before->weights_version);
  snapshot = convolve_trainer_get_weights_snapshot (without, 1, &error);
  g_assert_null (snapshot);
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
  g_clear_error (&error);
  {
    g_autoptr(ConvolveModel) a = convolve_trainer_get_weights_snapshot (with, 1, &error);
    g_autoptr(ConvolveModel) b = NULL;
    g_autofree char *path = g_build_filename (g_get_tmp_dir (), "convolve-no-snapshots.safetensors", NULL);

    /* the trained weights themselves are there, saved as with snapshots */
    g_assert_true (convolve_trainer_save (without, path, FALSE, &error));
    g_assert_no_error (error);
    b = convolve_model_load (path, 1, NULL, NULL, &error);
    g_assert_no_error (error);
    assert_same_params (a, b);
    g_unlink (path);
  }
}

static void
test_trainer_errors (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (64, 1, 8, 51);
  g_autoptr(ConvolveDataset) colour = make_dataset (64, 3, 8, 52);
  g_autoptr(ConvolveDataset) other_size = make_dataset (80, 1, 8, 53);
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *plain = g_build_filename (dir, "plain.safetensors", NULL);
  g_autofree char *checkpoint = g_build_filename (dir, "checkpoint.safetensors", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.safetensors", NULL);
  g_autofree char *unwritable = g_build_filename (dir, "no-such-dir", "c.safetensors", NULL);
  static const char * const six[] = { "a", "b", "c", "d", "e", "f", NULL };
  g_autoptr(ConvolveDataset) six_classes = convolve_dataset_new ("six", 8, 1, 8, 8, six);
  ConvolveTrainConfig config;

  small_config (&config);

  /* Shapes and classes that do not fit the model. */
  g_assert_null (convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 1), NULL, colour, NULL, &config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_null (convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 1), NULL, train, colour, &config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "test set"));
  g_clear_error (&error);
  g_assert_null (convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 1), NULL, six_classes, NULL, &config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);

  /* Impossible settings. */
  config.batch_size = 0;
  g_assert_null (convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 1), NULL, train, NULL, &config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "batch size"));
  g_clear_error (&error);
  small_config (&config);
  config.epochs = 0;
  config.augment_epochs = 0;
  g_assert_false (convolve_train_config_validate (&config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
  g_clear_error (&error);
  small_config (&config);
  config.learning_rate = -1.0f;
  g_assert_false (convolve_train_config_validate (&config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
  g_clear_error (&error);
  small_config (&config);

  /* A checkpoint that cannot be written fails the run, with the reason. */
  trainer = convolve_trainer_new (make_model (SMALL_SPEC, 1, 8, 16, 1), NULL, train, NULL, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_set_checkpoint_path (trainer, unwritable, &error));
  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_false (convolve_trainer_start (trainer, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_false (convolve_trainer_set_config (trainer, &config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_false (convolve_trainer_join (trainer, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_FAILED);
  {
    g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

    g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FAILED);
    g_assert_nonnull (progress->error);
    g_assert_cmpint (progress->global_step, ==, 4);
  }
  g_assert_false (g_file_test (unwritable, G_FILE_TEST_EXISTS));

  /* Plain model files, damaged files and other datasets do not resume. */
  g_assert_true (convolve_trainer_save (trainer, plain, FALSE, &error));
  g_assert_true (convolve_trainer_save (trainer, checkpoint, TRUE, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&trainer));

  g_assert_null (convolve_trainer_new_from_checkpoint (plain, train, NULL, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (junk, "not a model at all", -1, NULL));
  g_assert_null (convolve_trainer_new_from_checkpoint (junk, train, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (convolve_trainer_new_from_checkpoint (checkpoint, other_size, NULL, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_null (convolve_trainer_new_from_checkpoint (checkpoint, colour, NULL, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);

  /* The good checkpoint does resume: one epoch done, two to go. */
  trainer = convolve_trainer_new_from_checkpoint (checkpoint, train, NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

    g_assert_cmpint (progress->global_step, ==, 4);
    g_assert_cmpint (progress->epoch, ==, 2);
    g_assert_cmpint (progress->step, ==, 0);
  }
  run_to_end (trainer);
  g_assert_cmpint (current_step (trainer), ==, 12);
  g_assert_finalize_object (g_steal_pointer (&trainer));

  remove_temp_dir (dir);
}

/* --- early stopping and the best epoch ----------------------------------- */

/* A scripted validation curve, fed through the test hook so the epochs at
 * which the rule must stop are known exactly. */
typedef struct {
  const double *val_loss;      /* by epoch - 1; NULL: keep the measured */
  const double *val_accuracy;
  int           n;
  int           calls;
} Curve;

static void
scripted_validation (int      epoch,
                     double  *val_loss,
                     double  *val_accuracy,
                     gpointer user_data)
{
  Curve *curve = user_data;

  g_assert_cmpint (epoch, >=, 1);
  g_assert_cmpint (epoch, <=, curve->n);
  curve->calls++;
  if (curve->val_loss != NULL)
    *val_loss = curve->val_loss[epoch - 1];
  if (curve->val_accuracy != NULL)
    *val_accuracy = curve->val_accuracy[epoch - 1];
}

static const double loss_curve[] = { 1.0, 0.8, 0.78, 0.7, 0.69, 0.69, 0.68, 0.9, 0.9, 0.9 };
static const double accuracy_curve[] = { 0.5, 0.6, 0.6, 0.55, 0.7, 0.65, 0.6, 0.6, 0.6, 0.6 };

static void
early_config (ConvolveTrainConfig *config,
              int                  epochs)
{
  small_config (config);
  config->epochs = epochs;
  config->augment_epochs = 0;
  config->batch_size = 50;   /* 4 steps an epoch */
}

static ConvolveTrainer *
new_early_trainer (ConvolveDataset           *train,
                   ConvolveDataset           *test,
                   const ConvolveTrainConfig *config,
                   Curve                     *curve)
{
  g_autoptr(GError) error = NULL;
  ConvolveTrainer *trainer;

  trainer = convolve_trainer_new (make_model (DROPOUT_SPEC, 1, 8, 50, 5), NULL, train, test, config, &error);
  g_assert_no_error (error);
  if (curve != NULL)
    _convolve_trainer_set_validation_hook (trainer, scripted_validation, curve);
  return trainer;
}

static void
assert_early_stop (ConvolveTrainer *trainer,
                   int              stopped_epoch,
                   int              best_epoch)
{
  g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (convolve_trainer_get_stop_reason (trainer), ==,
                   stopped_epoch > 0 ? CONVOLVE_STOP_REASON_EARLY_STOPPED : CONVOLVE_STOP_REASON_FINISHED);
  g_assert_cmpint (progress->stop_reason, ==, convolve_trainer_get_stop_reason (trainer));
  g_assert_cmpint (progress->stopped_epoch, ==, stopped_epoch);
  if (stopped_epoch > 0)
    {
      g_assert_cmpuint (convolve_history_get_n_epochs (convolve_trainer_get_history (trainer)), ==, stopped_epoch);
      g_assert_cmpint (progress->epoch, ==, stopped_epoch);
      g_assert_cmpint (progress->step, ==, progress->steps_per_epoch);
    }
  g_assert_cmpint (convolve_trainer_get_best_epoch (trainer), ==, best_epoch);
  g_assert_cmpint (progress->best_epoch, ==, best_epoch);
}

/* Keras's rule on scripted curves: patience, min_delta, both monitors, a
 * tie that is no improvement, and patience off. */
static void
test_trainer_early_stopping (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (200, 1, 8, 31);
  g_autoptr(ConvolveDataset) test = make_dataset (40, 1, 8, 32);
  static const struct {
    ConvolveMonitor monitor;
    double          min_delta;
    int             patience;
    int             stopped_epoch;  /* 0: runs all 10 */
    int             best_epoch;
  } cases[] = {
    /* 0.69 twice: the tie waits; 0.68 improves; 0.9, 0.9 run out */
    { CONVOLVE_MONITOR_VAL_LOSS, 0.0, 2, 9, 7 },
    /* the tie alone runs out a patience of 1 */
    { CONVOLVE_MONITOR_VAL_LOSS, 0.0, 1, 6, 5 },
    /* 0.78 and 0.69 are within 0.05 of the best */
    { CONVOLVE_MONITOR_VAL_LOSS, 0.05, 2, 6, 4 },
    /* patience runs out with the last epoch: that is the end, not a stop */
    { CONVOLVE_MONITOR_VAL_LOSS, 0.0, 3, 0, 7 },
    { CONVOLVE_MONITOR_VAL_ACCURACY, 0.0, 2, 4, 2 },
    { CONVOLVE_MONITOR_VAL_ACCURACY, 0.0, 3, 8, 5 },
    { CONVOLVE_MONITOR_VAL_LOSS, 0.0, 0, 0, 7 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(ConvolveTrainer) trainer = NULL;
      g_autoptr(ConvolveProgress) progress = NULL;
      Curve curve = { loss_curve, accuracy_curve, 10, 0 };
      ConvolveTrainConfig config;

      early_config (&config, 10);
      config.early_stopping_monitor = cases[i].monitor;
      config.early_stopping_min_delta = cases[i].min_delta;
      config.early_stopping_patience = cases[i].patience;
      trainer = new_early_trainer (train, test, &config, &curve);
      run_to_end (trainer);
      assert_early_stop (trainer, cases[i].stopped_epoch, cases[i].best_epoch);
      g_assert_cmpint (curve.calls, ==, cases[i].stopped_epoch > 0 ? cases[i].stopped_epoch : 10);

      progress = convolve_trainer_get_progress (trainer);
      g_assert_true (progress->best_val_loss == loss_curve[cases[i].best_epoch - 1]);
      g_assert_true (progress->best_val_accuracy == accuracy_curve[cases[i].best_epoch - 1]);
      g_assert_false (progress->restored_best);
      g_assert_finalize_object (g_steal_pointer (&trainer));
    }
}

/* The weights of a run cut after epoch n: what the best epoch's must be,
 * bit for bit. */
static ConvolveModel *
weights_after (ConvolveDataset *train,
               ConvolveDataset *test,
               int              epochs)
{
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;
  ConvolveModel *model;

  early_config (&config, epochs);
  trainer = new_early_trainer (train, test, &config, NULL);
  run_to_end (trainer);
  model = convolve_trainer_get_weights_snapshot (trainer, 1, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&trainer));
  return model;
}

static gboolean
same_params (ConvolveModel *a,
             ConvolveModel *b)
{
  gsize na = 0, nb = 0;
  float *pa = convolve_model_get_params (a, &na);
  float *pb = convolve_model_get_params (b, &nb);

  return na == nb && memcmp (pa, pb, na * sizeof (float)) == 0;
}

/* restore_best_weights puts the best epoch's weights back exactly; the
 * best file beside the checkpoint holds them too, and save_best writes
 * them anywhere. */
static void
test_trainer_restore_best (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (200, 1, 8, 31);
  g_autoptr(ConvolveDataset) test = make_dataset (40, 1, 8, 32);
  g_autoptr(ConvolveModel) at_best = weights_after (train, test, 4);
  g_autoptr(ConvolveModel) at_stop = weights_after (train, test, 6);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *checkpoint = g_build_filename (dir, "run.safetensors", NULL);
  g_autofree char *best_file = g_build_filename (dir, "run-best.safetensors", NULL);
  g_autofree char *saved_best = g_build_filename (dir, "saved-best.safetensors", NULL);
  g_autofree char *derived = convolve_trainer_best_path_for (checkpoint);
  g_autofree char *bare = convolve_trainer_best_path_for ("/tmp/.hidden");
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;

  g_assert_cmpstr (derived, ==, best_file);
  g_assert_cmpstr (bare, ==, "/tmp/.hidden-best");
  /* Else the test could not tell a restore from none. */
  g_assert_false (same_params (at_best, at_stop));

  for (int restore = 0; restore < 2; restore++)
    {
      g_autoptr(ConvolveTrainer) trainer = NULL;
      g_autoptr(ConvolveProgress) progress = NULL;
      g_autoptr(ConvolveModel) final = NULL;
      g_autoptr(ConvolveModel) best = NULL;
      g_autoptr(ConvolveModel) loaded = NULL;
      g_autoptr(ConvolveModelMeta) meta = NULL;
      Curve curve = { loss_curve, NULL, 10, 0 };

      early_config (&config, 10);
      config.early_stopping_patience = 2;
      config.early_stopping_min_delta = 0.05;
      config.restore_best_weights = restore;
      trainer = new_early_trainer (train, test, &config, &curve);
      g_assert_true (convolve_trainer_set_checkpoint_path (trainer, checkpoint, &error));
      run_to_end (trainer);
      assert_early_stop (trainer, 6, 4);
      progress = convolve_trainer_get_progress (trainer);
      g_assert_cmpint (progress->restored_best, ==, restore);

      final = convolve_trainer_get_weights_snapshot (trainer, 1, &error);
      g_assert_no_error (error);
      assert_same_params (final, restore ? at_best : at_stop);
      best = convolve_trainer_get_best_weights (trainer, 3, &error);
      g_assert_no_error (error);
      assert_same_params (best, at_best);

      /* The best file beside the checkpoint: a plain, loadable model. */
      loaded = convolve_model_load (best_file, 1, &meta, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (meta->epoch, ==, 4);
      g_assert_cmpstr (meta->dataset, ==, "bands");
      assert_same_params (loaded, at_best);
      g_clear_pointer (&loaded, convolve_model_free);
      g_clear_pointer (&meta, convolve_model_meta_free);

      g_assert_true (convolve_trainer_save_best (trainer, saved_best, &error));
      g_assert_no_error (error);
      loaded = convolve_model_load (saved_best, 1, &meta, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (meta->epoch, ==, 4);
      assert_same_params (loaded, at_best);
      g_assert_finalize_object (g_steal_pointer (&trainer));
    }

  /* restore_best_at_end: also after the last epoch, without early stopping. */
  {
    g_autoptr(ConvolveTrainer) trainer = NULL;
    g_autoptr(ConvolveModel) final = NULL;
    static const double rising[] = { 0.9, 0.5, 0.6, 0.7, 0.8, 0.9 };
    Curve curve = { rising, NULL, 6, 0 };

    early_config (&config, 6);
    config.restore_best_at_end = TRUE;
    trainer = new_early_trainer (train, test, &config, &curve);
    run_to_end (trainer);
    assert_early_stop (trainer, 0, 2);
    final = convolve_trainer_get_weights_snapshot (trainer, 1, &error);
    g_assert_no_error (error);
    g_clear_pointer (&at_best, convolve_model_free);
    at_best = weights_after (train, test, 2);
    assert_same_params (final, at_best);
    g_assert_finalize_object (g_steal_pointer (&trainer));
  }

  /* Without a test set: no best epoch, and early stopping is refused. */
  {
    g_autoptr(ConvolveTrainer) trainer = NULL;
    ConvolveModel *none;

    early_config (&config, 1);
    trainer = new_early_trainer (train, NULL, &config, NULL);
    none = convolve_trainer_get_best_weights (trainer, 1, &error);
    g_assert_null (none);
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_NO_BEST);
    g_clear_error (&error);
    g_assert_false (convolve_trainer_save_best (trainer, saved_best, &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_NO_BEST);
    g_clear_error (&error);
    config.early_stopping_patience = 1;
    g_assert_true (convolve_trainer_set_config (trainer, &config, &error));
    g_assert_false (convolve_trainer_start (trainer, &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
    g_clear_error (&error);
    g_assert_finalize_object (g_steal_pointer (&trainer));
  }

  remove_temp_dir (dir);
}

/* A run cut in the middle of its patience (wait 1 after epoch 8, the best
 * at 7) and resumed stops after epoch 9 like the uninterrupted one, with
 * the same history, the same best epoch and the same restored weights,
 * which come from the best file beside the checkpoint. */
static void
test_trainer_early_stopping_resume (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (200, 1, 8, 31);
  g_autoptr(ConvolveDataset) test = make_dataset (40, 1, 8, 32);
  g_autoptr(ConvolveTrainer) reference = NULL;
  g_autoptr(ConvolveTrainer) first = NULL;
  g_autoptr(ConvolveTrainer) resumed = NULL;
  g_autoptr(ConvolveModel) reference_model = NULL;
  g_autoptr(ConvolveModel) resumed_model = NULL;
  g_autoptr(ConvolveModel) at_best = weights_after (train, test, 7);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *checkpoint = g_build_filename (dir, "cut.safetensors", NULL);
  Curve curve = { loss_curve, NULL, 10, 0 };
  Curve resumed_curve = { loss_curve, NULL, 10, 0 };
  ConvolveTrainConfig config, short_config;

  early_config (&config, 10);
  config.early_stopping_patience = 2;
  config.restore_best_weights = TRUE;
  reference = new_early_trainer (train, test, &config, &curve);
  run_to_end (reference);
  assert_early_stop (reference, 9, 7);
  reference_model = convolve_trainer_get_weights_snapshot (reference, 1, &error);
  assert_same_params (reference_model, at_best);

  short_config = config;
  short_config.epochs = 8;
  first = new_early_trainer (train, test, &short_config, &curve);
  g_assert_true (convolve_trainer_set_checkpoint_path (first, checkpoint, &error));
  run_to_end (first);
  assert_early_stop (first, 0, 7);
  g_assert_finalize_object (g_steal_pointer (&first));

  resumed = convolve_trainer_new_from_checkpoint (checkpoint, train, test, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_trainer_get_best_epoch (resumed), ==, 7);
  g_assert_cmpint (convolve_trainer_get_config (resumed)->early_stopping_patience, ==, 2);
  g_assert_true (convolve_trainer_set_config (resumed, &config, &error));
  _convolve_trainer_set_validation_hook (resumed, scripted_validation, &resumed_curve);
  run_to_end (resumed);
  assert_early_stop (resumed, 9, 7);
  g_assert_cmpint (resumed_curve.calls, ==, 1);
  assert_same_history (convolve_trainer_get_history (reference), convolve_trainer_get_history (resumed));
  resumed_model = convolve_trainer_get_weights_snapshot (resumed, 1, &error);
  assert_same_params (resumed_model, reference_model);
  {
    g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (resumed);

    g_assert_true (progress->restored_best);
  }
  g_assert_finalize_object (g_steal_pointer (&resumed));

  /* A checkpoint saved once patience ran out stops at once when resumed. */
  g_assert_true (convolve_trainer_save (reference, checkpoint, TRUE, &error));
  g_assert_no_error (error);
  resumed = convolve_trainer_new_from_checkpoint (checkpoint, train, test, &error);
  g_assert_no_error (error);
  run_to_end (resumed);
  assert_early_stop (resumed, 9, 7);
  g_clear_pointer (&resumed_model, convolve_model_free);
  resumed_model = convolve_trainer_get_weights_snapshot (resumed, 1, &error);
  assert_same_params (resumed_model, reference_model);
  g_assert_finalize_object (g_steal_pointer (&resumed));

  g_assert_finalize_object (g_steal_pointer (&reference));
  remove_temp_dir (dir);
}

/* A time budget ends a run that has epochs left: the epoch under way is
 * cut short, yet validated and recorded; what ran is consistent. The
 * figures depend on the machine's speed, the invariants do not. */
static void
test_trainer_time_budget (void)
{
  g_autoptr(ConvolveDataset) train = make_dataset (4096, 3, 32, 5);
  g_autoptr(ConvolveDataset) test = make_dataset (64, 3, 32, 6);
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;
  guint n_epochs;

  convolve_train_config_init (&config);
  config.epochs = 1000;
  config.batch_size = 64;
  config.threads = 1;
  config.seed = 11;
  config.progress_interval_ms = 0;
  config.time_budget_seconds = 0.3;
  trainer = convolve_trainer_new (make_model ("conv2d(16,3,same,relu),maxpool(2),flatten,dense(4,softmax)",
                                              3, 32, 64, 1),
                                  NULL, train, test, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);

  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (progress->stop_reason, ==, CONVOLVE_STOP_REASON_TIME_BUDGET);
  g_assert_cmpint (progress->global_step, <, progress->total_steps);
  g_assert_cmpuint (progress->history_n_steps, ==, (guint) progress->global_step);
  /* Every epoch begun is in the history, the cut one too, validated. */
  n_epochs = convolve_history_get_n_epochs (progress->history);
  g_assert_cmpuint (n_epochs, ==,
                    (guint) ((progress->global_step + progress->steps_per_epoch - 1) / progress->steps_per_epoch));
  if (n_epochs > 0)
    {
      const ConvolveHistoryEpoch *last = convolve_history_get_epoch (progress->history, n_epochs - 1);

      g_assert_true (isfinite (last->val_accuracy));
      g_assert_true (progress->has_validation);
    }
  g_assert_finalize_object (g_steal_pointer (&trainer));

  /* A budget outside 0 (none) to a year is refused. */
  config.time_budget_seconds = -1.0;
  g_assert_false (convolve_train_config_validate (&config, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG);
  g_clear_error (&error);
  config.time_budget_seconds = NAN;
  g_assert_false (convolve_train_config_validate (&config, &error));
  g_clear_error (&error);
  config.time_budget_seconds = 0.0;
  g_assert_true (convolve_train_config_validate (&config, &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/trainer/fit", test_trainer_fit);
  g_test_add_func ("/train/trainer/pause-resume-stop", test_trainer_pause_resume_stop);
  g_test_add_func ("/train/trainer/stop-while-paused", test_trainer_stop_while_paused);
  g_test_add_func ("/train/trainer/pause-state-consistent", test_trainer_pause_state_consistent);
  g_test_add_func ("/train/trainer/stop-consistent", test_trainer_stop_consistent);
  g_test_add_func ("/train/trainer/resume-exact", test_trainer_resume_exact);
  g_test_add_func ("/train/trainer/progress-signal", test_trainer_progress_signal);
  g_test_add_func ("/train/trainer/weights-snapshot", test_trainer_weights_snapshot);
  g_test_add_func ("/train/trainer/no-snapshots", test_trainer_no_snapshots);
  g_test_add_func ("/train/trainer/errors", test_trainer_errors);
  g_test_add_func ("/train/trainer/early-stopping", test_trainer_early_stopping);
  g_test_add_func ("/train/trainer/restore-best", test_trainer_restore_best);
  g_test_add_func ("/train/trainer/early-stopping-resume", test_trainer_early_stopping_resume);
  g_test_add_func ("/train/trainer/time-budget", test_trainer_time_budget);

  return g_test_run ();
}
