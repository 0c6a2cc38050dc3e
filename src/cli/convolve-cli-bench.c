/* convolve-cli-bench.c: `convolve-cli bench`, training and prediction
 * speed of the tutorial model (32x32x3, batch 32, Adam) on random data.
 *
 * The last line of the output is one JSON object, for scripts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>
#include <sys/resource.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-engine.h"

#define BENCH_BATCH 32

static double
peak_rss_mb (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return 0.0;
  return (double) usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

static const char *
json_number (char *buffer, gsize size, const char *format, double value)
{
  return g_ascii_formatd (buffer, (int) size, format, value);
}

int
convolve_cli_bench (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  int steps = 100, warmup = 10, threads, predictions = 500;
  guint64 seed = 1;
  GOptionEntry entries[] = {
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps,
      N_("Timed training steps (default 100)"), N_("N") },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup,
      N_("Untimed training steps first (default 10)"), N_("N") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_PRESET),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_THREADS),
    { "predictions", 'p', 0, G_OPTION_ARG_INT, &predictions,
      N_("Timed single-image predictions (default 500)"), N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed,
      N_("Seed for the weights and the random data (default 1)"), N_("SEED") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autofree float *x = NULL;
  g_autofree int32_t *labels = NULL;
  ConvolveOptimizerConfig config;
  ConvolveShape input = { 3, 32, 32 };
  ConvolveRng rng;
  gsize image_size = (gsize) input.c * input.h * input.w;
  float probabilities[10];
  float loss = 0.0f;
  gint64 start = 0, train_us, predict_us;
  double ms_per_step, images_per_second, predict_one_us;
  char b1[G_ASCII_DTOSTR_BUF_SIZE], b2[G_ASCII_DTOSTR_BUF_SIZE];
  char b3[G_ASCII_DTOSTR_BUF_SIZE], b4[G_ASCII_DTOSTR_BUF_SIZE];

  if (!convolve_cli_parse_options (&options, entries, NULL,
                                   _("Train the tutorial model (or --preset’s; 32×32×3, batch 32, Adam) on random data "
                                     "and time it, then time predictions of one image."),
                                   CONVOLVE_CLI_PARSE_DEFAULT, &argc, &argv))
    return 1;
  /* Bounded so that warmup + steps cannot overflow, and a typo cannot
   * start a run of years. */
  if (steps < 1 || steps > 1000000 || warmup < 0 || warmup > 1000000 ||
      predictions < 1 || predictions > 1000000)
    return convolve_cli_fail (_("--steps and --predictions must be from 1 to 1000000, --warmup from 0 to 1000000"));
  threads = convolve_cli_options_get_threads (&options);
  convolve_engine_set_threads (threads);

  spec = convolve_cli_options_make_spec (&options, NULL, 10, &error);
  if (spec == NULL)
    return convolve_cli_fail ("%s", error->message);
  model = convolve_model_new (spec, &input, BENCH_BATCH, seed, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);
  convolve_optimizer_config_init_adam (&config);
  optimizer = convolve_optimizer_new (&config, convolve_model_get_n_trainable (model), &error);
  if (optimizer == NULL)
    return convolve_cli_fail ("%s", error->message);

  convolve_rng_init (&rng, seed ^ 0x5eedULL);
  x = g_new (float, BENCH_BATCH * image_size);
  labels = g_new (int32_t, BENCH_BATCH);
  for (gsize i = 0; i < BENCH_BATCH * image_size; i++)
    x[i] = convolve_rng_uniform (&rng);
  for (int i = 0; i < BENCH_BATCH; i++)
    labels[i] = (int32_t) convolve_rng_below (&rng, 10);

  for (int s = 0; s < warmup + steps; s++)
    {
      if (s == warmup)
        start = g_get_monotonic_time ();
      if (!convolve_model_train_step (model, optimizer, x, labels, BENCH_BATCH,
                                      &loss, NULL, &error))
        return convolve_cli_fail ("%s", error->message);
    }
  train_us = g_get_monotonic_time () - start;

  for (int s = 0; s < 50 + predictions; s++)
    {
      if (s == 50)
        start = g_get_monotonic_time ();
      if (!convolve_model_predict (model, x, 1, probabilities, &error))
        return convolve_cli_fail ("%s", error->message);
    }
  predict_us = g_get_monotonic_time () - start;

  ms_per_step = (double) train_us / 1000.0 / steps;
  images_per_second = (double) BENCH_BATCH * steps / ((double) train_us / 1e6);
  predict_one_us = (double) predict_us / predictions;

  printf (_("train %.0f images/s (%.2f ms/step, batch %d, %d threads, %d steps, last loss %.4f)\n"),
          images_per_second, ms_per_step, BENCH_BATCH, threads, steps, (double) loss);
  printf (_("predict one image %.0f µs\n"), predict_one_us);
  printf ("{\"threads\": %d, \"batch\": %d, \"steps\": %d, \"ms_per_step\": %s, "
          "\"train_images_per_second\": %s, \"predict_one_microseconds\": %s, \"peak_rss_mb\": %s}\n",
          threads, BENCH_BATCH, steps,
          json_number (b1, sizeof b1, "%.3f", ms_per_step),
          json_number (b2, sizeof b2, "%.1f", images_per_second),
          json_number (b3, sizeof b3, "%.1f", predict_one_us),
          json_number (b4, sizeof b4, "%.1f", peak_rss_mb ()));
  return 0;
}
