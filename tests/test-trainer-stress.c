/* test-trainer-stress.c: 200 start/pause/resume/stop cycles of the trainer
 * on a tiny generated dataset, each with its own trainer: no crash, no
 * deadlock, no leak (the ASan build checks that at exit), each cycle within
 * a few seconds.
 *
 * A watchdog thread is armed for every cycle: if one hangs (a lost wakeup,
 * a join that never returns), it aborts the test with the cycle's number
 * instead of letting meson's timeout kill a silent process.
 *
 * The cycles vary where the controls land (before the first step, within
 * the first steps, after some), from a seeded generator whose seed is
 * logged; CONVOLVE_STRESS_SEED=N replays a run.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <string.h>

#include "convolve-train.h"
#include "test-watchdog.h"

#define N_CYCLES 200
#define SPEC     "conv2d(4,3,same,relu),maxpool(2),flatten,dense(4,softmax)"
/* The bound a cycle is held to, and the watchdog's (larger, so that a slow
 * cycle fails the assertion with its time rather than an abort). */
#define CYCLE_LIMIT_US    (5 * G_USEC_PER_SEC)
#define WATCHDOG_LIMIT_US (20 * G_USEC_PER_SEC)

static const char * const class_names[] = { "a", "b", "c", "d", NULL };

static ConvolveDataset *
make_dataset (void)
{
  ConvolveDataset *dataset = convolve_dataset_new ("tiny", 64, 1, 8, 8, class_names);
  guint8 *pixels = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *labels = convolve_dataset_get_labels_mutable (dataset);
  ConvolveRng rng;

  convolve_rng_init (&rng, 3);
  for (guint i = 0; i < 64; i++)
    {
      labels[i] = (guint8) (i % 4);
      for (guint p = 0; p < 64; p++)
        pixels[i * 64 + p] = (guint8) ((p % 8) / 2 == i % 4 ? 200 : convolve_rng_below (&rng, 80));
    }
  return dataset;
}

static ConvolveTrainer *
make_trainer (ConvolveDataset *train,
              guint64          seed)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape input = { 1, 8, 8 };
  ConvolveTrainConfig config;
  ConvolveModel *model;
  ConvolveTrainer *trainer;

  spec = convolve_model_spec_parse (SPEC, &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 8, seed, &error);
  g_assert_no_error (error);

  convolve_train_config_init (&config);
  /* Far more than a cycle lasts: a run never finishes on its own. */
  config.epochs = 100000;
  config.batch_size = 8;
  config.threads = 1;
  config.seed = seed;
  config.progress_interval_ms = 0;
  config.snapshot_every_steps = 2;
  trainer = convolve_trainer_new (model, NULL, train, NULL, &config, &error);
  g_assert_no_error (error);
  return trainer;
}

static gint64
current_step (ConvolveTrainer *trainer)
{
  g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

  return progress->global_step;
}

/* The watchdog bounds these loops. */
static void
wait_for_step (ConvolveTrainer *trainer,
               gint64           step)
{
  while (current_step (trainer) < step)
    g_usleep (100);
}

static void
wait_for_state (ConvolveTrainer      *trainer,
                ConvolveTrainerState  state)
{
  while (convolve_trainer_get_state (trainer) != state)
    g_usleep (100);
}

static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
run_cycle (ConvolveDataset *train,
           ConvolveRng     *rng,
           guint            cycle)
{
  g_autoptr(ConvolveTrainer) trainer = make_trainer (train, 1000 + cycle);
  g_autoptr(GError) error = NULL;
  /* Where the controls land: 0 before any step, else after that many. */
  guint pause_after = convolve_rng_below (rng, 4);
  guint resume_for = convolve_rng_below (rng, 4);
  gboolean pause_first = convolve_rng_below (rng, 8) == 0;
  gboolean stop_paused = convolve_rng_below (rng, 4) == 0;
  gint64 paused_at;

  if (pause_first)
    convolve_trainer_pause (trainer);
  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_no_error (error);

  if (!pause_first)
    {
      wait_for_step (trainer, pause_after);
      convolve_trainer_pause (trainer);
    }
  wait_for_state (trainer, CONVOLVE_TRAINER_PAUSED);
  paused_at = current_step (trainer);
  if (pause_first)
    g_assert_cmpint (paused_at, ==, 0);

  if (!stop_paused)
    {
      convolve_trainer_resume (trainer);
      wait_for_state (trainer, CONVOLVE_TRAINER_RUNNING);
      wait_for_step (trainer, paused_at + resume_for);
      /* Polling the snapshot while it moves, as the app does. */
      if (resume_for > 0)
        {
          g_autoptr(ConvolveModel) weights = convolve_trainer_get_weights_snapshot (trainer, 4, &error);

          g_assert_no_error (error);
          g_assert_nonnull (weights);
        }
    }

  convolve_trainer_stop (trainer);
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);
  g_assert_cmpint (convolve_trainer_get_state (trainer), ==, CONVOLVE_TRAINER_CANCELLED);
  {
    g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

    g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_CANCELLED);
    g_assert_cmpuint (progress->history_n_steps, ==, (guint) progress->global_step);
    if (stop_paused)
      g_assert_cmpint (progress->global_step, ==, paused_at);
  }

  drain_main_context ();
  g_assert_finalize_object (g_steal_pointer (&trainer));
}

static void
test_trainer_stress_cycles (gconstpointer data)
{
  guint64 seed = *(const guint64 *) data;
  g_autoptr(ConvolveDataset) train = make_dataset ();
  TestWatchdog *dog = test_watchdog_new (WATCHDOG_LIMIT_US);
  ConvolveRng rng;
  gint64 longest = 0, total_start = g_get_monotonic_time ();

  convolve_rng_init (&rng, seed);

  for (guint cycle = 0; cycle < N_CYCLES; cycle++)
    {
      gint64 start = g_get_monotonic_time ();
      gint64 took;

      test_watchdog_arm (dog, "cycle", cycle);
      run_cycle (train, &rng, cycle);
      test_watchdog_disarm (dog);
      took = g_get_monotonic_time () - start;
      longest = MAX (longest, took);
      if (took >= CYCLE_LIMIT_US)
        g_error ("cycle %u took %.2f s (seed %" G_GUINT64_FORMAT ")", cycle, took / 1e6, seed);
    }

  g_test_message ("%u cycles in %.2f s, the longest %.1f ms", N_CYCLES,
                  (g_get_monotonic_time () - total_start) / 1e6, longest / 1000.0);

  test_watchdog_free (dog);
}

int
main (int argc, char **argv)
{
  const char *seed_text = g_getenv ("CONVOLVE_STRESS_SEED");
  guint64 seed;

  g_test_init (&argc, &argv, NULL);

  seed = seed_text != NULL ? g_ascii_strtoull (seed_text, NULL, 10) : (guint64) g_get_real_time ();
  g_test_message ("seed %" G_GUINT64_FORMAT " (CONVOLVE_STRESS_SEED=%" G_GUINT64_FORMAT " replays it)",
                  seed, seed);
  g_test_add_data_func ("/train/trainer/stress-cycles", &seed, test_trainer_stress_cycles);

  return g_test_run ();
}
