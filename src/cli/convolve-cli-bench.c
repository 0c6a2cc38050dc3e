/* convolve-cli-bench.c: `convolve-cli bench`, training and prediction
 * speed of the tutorial model (or of any --spec; 32x32x3, batch 32, Adam)
 * on random data; --profile times each layer's forward and backward pass
 * and the optimizer; --epoch trains one whole epoch through the trainer
 * instead, with validation, and reports its wall time and peak memory.
 *
 * The last line of the output is one JSON object, for scripts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-engine.h"
#include "convolve-train.h"

#define BENCH_BATCH 32

/* Which OpenBLAS kernels ran, on its own line: timings from different
 * kernels do not compare, and OPENBLAS_CORETYPE in the environment (a
 * machine's or a shell's) overrides the ones this CPU would get. */
static void
print_blas_kernels (void)
{
  const char *forced = g_getenv ("OPENBLAS_CORETYPE");

  if (forced != NULL)
    /* Translators: %s is OpenBLAS's name for its kernels, e.g. SkylakeX */
    printf (_("OpenBLAS kernels: %s (set by OPENBLAS_CORETYPE)\n"), convolve_engine_get_blas_kernels ());
  else
    printf (_("OpenBLAS kernels: %s\n"), convolve_engine_get_blas_kernels ());
}

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

/* --- --profile ---------------------------------------------------------- */

/* The table on stdout, and the JSON member ("profile": {...}) into json. */
static void
print_profile (const ConvolveModel *model, const ConvolveStepProfile *profile, int steps,
               GString *json)
{
  char b1[G_ASCII_DTOSTR_BUF_SIZE], b2[G_ASCII_DTOSTR_BUF_SIZE];
  double total = (double) (profile->loss_us + profile->optimizer_us);
  /* Wide enough for the longest name and type (global_average_pooling2d_1). */
  int name_w = 22, type_w = 20;

  for (int i = 0; i < profile->n_layers; i++)
    {
      const ConvolveLayerInfo *info = convolve_model_get_layer (model, i);

      total += (double) (profile->forward_us[i] + profile->backward_us[i]);
      name_w = MAX (name_w, (int) strlen (info->name));
      type_w = MAX (type_w, (int) strlen (info->type_name));
    }
  total = MAX (total, 1.0);

  printf ("%-*s %-*s %10s %10s %7s\n",
          /* TRANSLATORS: the columns of a table of times per training step */
          name_w, _("layer"), type_w, _("type"),
          _("forward ms"), _("backward ms"), _("share"));
  g_string_append (json, "\"profile\": {\"layers\": [");
  for (int i = 0; i < profile->n_layers; i++)
    {
      const ConvolveLayerInfo *info = convolve_model_get_layer (model, i);
      double f = (double) profile->forward_us[i] / 1000.0 / steps;
      double b = (double) profile->backward_us[i] / 1000.0 / steps;

      printf ("%-*s %-*s %10.3f %10.3f %6.1f%%\n", name_w, info->name, type_w, info->type_name, f, b,
              100.0 * (double) (profile->forward_us[i] + profile->backward_us[i]) / total);
      g_string_append_printf (json, "%s{\"name\": \"%s\", \"type\": \"%s\", \"forward_ms\": %s, "
                              "\"backward_ms\": %s}",
                              i > 0 ? ", " : "", info->name, info->type_name,
                              json_number (b1, sizeof b1, "%.4f", f),
                              json_number (b2, sizeof b2, "%.4f", b));
    }
  printf ("%-*s %-*s %10.3f %10s %6.1f%%\n", name_w, _("(loss)"), type_w, "", (double) profile->loss_us / 1000.0 / steps,
          "", 100.0 * (double) profile->loss_us / total);
  printf ("%-*s %-*s %10s %10.3f %6.1f%%\n", name_w, _("(optimizer)"), type_w, "", "",
          (double) profile->optimizer_us / 1000.0 / steps, 100.0 * (double) profile->optimizer_us / total);
  g_string_append_printf (json, "], \"loss_ms\": %s, ",
                          json_number (b1, sizeof b1, "%.4f", (double) profile->loss_us / 1000.0 / steps));
  g_string_append_printf (json, "\"optimizer_ms\": %s}, ",
                          json_number (b1, sizeof b1, "%.4f", (double) profile->optimizer_us / 1000.0 / steps));
}

/* --- --epoch ------------------------------------------------------------ */

typedef struct {
  GMainLoop        *loop;
  ConvolveProgress *last;
  double            train_images_per_second;  /* the epoch's, before validation */
} EpochRun;

static void
on_epoch_progress (ConvolveTrainer *trainer, ConvolveProgress *progress, gpointer user_data)
{
  EpochRun *run = user_data;

  /* Snapshots are rate limited: the last one of the training part, or
   * failing that the first one of the validation (its elapsed time is
   * the training's). */
  if (!progress->validating && progress->images_per_second > 0.0)
    run->train_images_per_second = progress->images_per_second;
  else if (progress->validating && run->train_images_per_second == 0.0
           && progress->elapsed_seconds > 0.0)
    run->train_images_per_second = progress->steps_per_epoch > 0
                                   ? (double) convolve_trainer_get_config (trainer)->batch_size
                                     * progress->steps_per_epoch / progress->elapsed_seconds
                                   : 0.0;
  if (convolve_trainer_state_is_final (progress->state))
    {
      g_clear_pointer (&run->last, convolve_progress_unref);
      run->last = convolve_progress_ref (progress);
      g_main_loop_quit (run->loop);
    }
}

/* n random images (held as bytes, like any loaded dataset) with random
 * labels of n_classes classes. */
static ConvolveDataset *
random_dataset (const char *name, guint n, const ConvolveShape *shape, int n_classes,
                ConvolveRng *rng)
{
  g_autoptr(GPtrArray) class_names = g_ptr_array_new_with_free_func (g_free);
  ConvolveDataset *dataset;
  guint8 *pixels, *labels;
  gsize n_pixels = (gsize) n * shape->c * shape->h * shape->w;

  for (int c = 0; c < n_classes; c++)
    g_ptr_array_add (class_names, g_strdup_printf ("%d", c));
  g_ptr_array_add (class_names, NULL);
  dataset = convolve_dataset_new (name, n, shape->c, shape->h, shape->w,
                                  (const char * const *) class_names->pdata);
  pixels = convolve_dataset_get_pixels_mutable (dataset);
  labels = convolve_dataset_get_labels_mutable (dataset);
  for (gsize i = 0; i < n_pixels; i++)
    pixels[i] = (guint8) convolve_rng_below (rng, 256);
  for (guint i = 0; i < n; i++)
    labels[i] = (guint8) convolve_rng_below (rng, (guint64) n_classes);
  return dataset;
}

static int
bench_epoch (const ConvolveModelSpec *spec, const ConvolveShape *input, int threads,
             int n_train, guint64 seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = NULL, test = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  ConvolveModel *model;
  ConvolveTrainConfig config;
  ConvolveRng rng;
  EpochRun run = { NULL, NULL, 0.0 };
  int n_test = MAX (1, n_train / 5), n_classes;
  gint64 start, wall_us;
  double wall, images_per_second;
  char b1[G_ASCII_DTOSTR_BUF_SIZE], b2[G_ASCII_DTOSTR_BUF_SIZE];
  char b3[G_ASCII_DTOSTR_BUF_SIZE], b4[G_ASCII_DTOSTR_BUF_SIZE];
  char b5[G_ASCII_DTOSTR_BUF_SIZE];
  int rc = 0;

  convolve_train_config_init (&config);
  model = convolve_model_new (spec, input, MIN (config.batch_size, n_train), seed, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);
  n_classes = convolve_model_get_n_classes (model);
  if (n_classes > 256)
    {
      convolve_model_free (model);
      return convolve_cli_fail (_("--epoch makes datasets of at most 256 classes; the model has %d"), n_classes);
    }
  convolve_rng_init (&rng, seed ^ 0xe90cULL);
  train = random_dataset ("random-train", (guint) n_train, input, n_classes, &rng);
  test = random_dataset ("random-test", (guint) n_test, input, n_classes, &rng);

  config.epochs = 1;
  config.augment_epochs = 0;
  config.threads = threads;
  config.seed = seed;
  trainer = convolve_trainer_new (model, NULL, train, test, &config, &error);
  /* as convolve-cli train runs: no snapshot copy of the weights */
  if (trainer == NULL || !convolve_trainer_set_publish_weights (trainer, FALSE, &error))
    return convolve_cli_fail ("%s", error->message);

  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  g_signal_connect (trainer, "progress", G_CALLBACK (on_epoch_progress), &run);
  start = g_get_monotonic_time ();
  if (!convolve_trainer_start (trainer, &error))
    return convolve_cli_fail ("%s", error->message);
  g_main_loop_run (loop);
  wall_us = g_get_monotonic_time () - start;
  g_signal_handlers_disconnect_by_func (trainer, on_epoch_progress, &run);
  if (!convolve_trainer_join (trainer, &error))
    rc = convolve_cli_fail ("%s", error->message);
  else if (run.last == NULL || !run.last->has_validation)
    rc = convolve_cli_fail (_("The epoch ended without a validation"));
  else
    {
      wall = (double) wall_us / 1e6;
      images_per_second = run.train_images_per_second;
      printf (_("one epoch of %d images and validation on %d: %.1f s (training %.0f images/s, %d threads), "
                "val_loss %.4f, peak memory %.0f MB\n"),
              n_train, n_test, wall, images_per_second, threads, run.last->val_loss, peak_rss_mb ());
      print_blas_kernels ();
      printf ("{\"threads\": %d, \"batch\": %d, \"train_images\": %d, \"test_images\": %d, "
              "\"epoch_wall_seconds\": %s, \"train_images_per_second\": %s, \"val_loss\": %s, "
              "\"val_accuracy\": %s, \"peak_rss_mb\": %s, \"blas_kernels\": \"%s\"}\n",
              threads, config.batch_size, n_train, n_test,
              json_number (b1, sizeof b1, "%.3f", wall),
              json_number (b2, sizeof b2, "%.1f", images_per_second),
              json_number (b3, sizeof b3, "%.5f", run.last->val_loss),
              json_number (b4, sizeof b4, "%.5f", run.last->val_accuracy),
              json_number (b5, sizeof b5, "%.1f", peak_rss_mb ()), convolve_engine_get_blas_kernels ());
    }
  g_clear_pointer (&run.last, convolve_progress_unref);
  return rc;
}

/* --- the steps ---------------------------------------------------------- */

int
convolve_cli_bench (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  int steps = 100, warmup = 10, threads, predictions = 500, epoch_images = 0;
  gboolean profile_steps = FALSE, epoch = FALSE;
  g_autofree char *spec_text = NULL;
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
    { "spec", 's', 0, G_OPTION_ARG_STRING, &spec_text,
      N_("Model spec instead of the tutorial model, e.g. “conv2d(8,3,same,relu),maxpool(2),flatten,dense(10,softmax)”"),
      N_("SPEC") },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile_steps,
      N_("Time each layer’s forward and backward pass and the optimizer"), NULL },
    { "epoch", 0, 0, G_OPTION_ARG_NONE, &epoch,
      N_("Train one epoch on 50,000 random images and validate on 10,000, "
         "reporting the wall time and peak memory"), NULL },
    { "epoch-images", 0, 0, G_OPTION_ARG_INT, &epoch_images,
      N_("Training images of --epoch (default 50000; validation on a fifth as many)"), N_("N") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autofree float *x = NULL;
  g_autofree int32_t *labels = NULL;
  g_autofree gint64 *layer_us = NULL;
  g_autoptr(GString) profile_json = g_string_new (NULL);
  ConvolveStepProfile profile = { 0 };
  ConvolveOptimizerConfig config;
  ConvolveShape input = { 3, 32, 32 };
  ConvolveRng rng;
  gsize image_size = (gsize) input.c * input.h * input.w;
  g_autofree float *probabilities = NULL;
  float loss = 0.0f;
  gint64 start = 0, train_us, predict_us;
  double ms_per_step, images_per_second, predict_one_us, read_us;
  const float *params;
  gsize n_params;
  char b1[G_ASCII_DTOSTR_BUF_SIZE], b2[G_ASCII_DTOSTR_BUF_SIZE];
  char b3[G_ASCII_DTOSTR_BUF_SIZE], b4[G_ASCII_DTOSTR_BUF_SIZE];
  char b5[G_ASCII_DTOSTR_BUF_SIZE];

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
  if (epoch_images != 0 && !epoch)
    return convolve_cli_fail (_("--epoch-images needs --epoch"));
  if (epoch && profile_steps)
    return convolve_cli_fail (_("--profile times training steps; it cannot be combined with --epoch"));
  if (epoch_images == 0)
    epoch_images = 50000;
  if (epoch_images < 1 || epoch_images > 1000000)
    return convolve_cli_fail (_("--epoch-images must be from 1 to 1000000"));
  threads = convolve_cli_options_get_threads (&options);
  convolve_engine_set_threads (threads);

  spec = convolve_cli_options_make_spec (&options, spec_text, 10, &error);
  if (spec == NULL)
    return convolve_cli_fail ("%s", error->message);
  if (epoch)
    return bench_epoch (spec, &input, threads, epoch_images, seed);
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
  probabilities = g_new (float, convolve_model_get_n_classes (model));
  for (gsize i = 0; i < BENCH_BATCH * image_size; i++)
    x[i] = convolve_rng_uniform (&rng);
  for (int i = 0; i < BENCH_BATCH; i++)
    labels[i] = (int32_t) convolve_rng_below (&rng, (guint64) convolve_model_get_n_classes (model));

  profile.n_layers = convolve_model_get_n_layers (model);
  layer_us = g_new0 (gint64, 2 * (gsize) profile.n_layers);
  profile.forward_us = layer_us;
  profile.backward_us = layer_us + profile.n_layers;
  for (int s = 0; s < warmup + steps; s++)
    {
      gboolean ok;

      if (s == warmup)
        start = g_get_monotonic_time ();
      if (profile_steps && s >= warmup)
        ok = convolve_model_train_step_profile (model, optimizer, x, labels, BENCH_BATCH,
                                                &loss, NULL, &profile, &error);
      else
        ok = convolve_model_train_step (model, optimizer, x, labels, BENCH_BATCH,
                                        &loss, NULL, &error);
      if (!ok)
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
  /* The floor for predicting one image: every weight read once (a large
   * Dense layer makes that the whole cost, bound by memory bandwidth). */
  params = convolve_model_get_params (model, &n_params);
  read_us = convolve_engine_time_read (params, n_params, MIN (predictions, 500));

  if (profile_steps)
    print_profile (model, &profile, steps, profile_json);
  printf (_("train %.0f images/s (%.2f ms/step, batch %d, %d threads, %d steps, last loss %.4f)\n"),
          images_per_second, ms_per_step, BENCH_BATCH, threads, steps, (double) loss);
  printf (_("predict one image %.0f µs\n"), predict_one_us);
  /* The time to read the model's weights once from memory, the least
   * that predicting one image can take. */
  {
    g_autofree char *size = g_format_size (n_params * sizeof (float));

    /* Translators: %s is a size such as “33.6 MB” */
    printf (_("read the %s of weights once %.0f µs\n"), size, read_us);
  }
  print_blas_kernels ();
  printf ("{\"threads\": %d, \"batch\": %d, \"steps\": %d, \"params\": %" G_GSIZE_FORMAT ", %s"
          "\"ms_per_step\": %s, \"train_images_per_second\": %s, \"predict_one_microseconds\": %s, "
          "\"params_read_microseconds\": %s, \"peak_rss_mb\": %s, \"blas_kernels\": \"%s\"}\n",
          threads, BENCH_BATCH, steps, convolve_model_get_n_trainable (model), profile_json->str,
          json_number (b1, sizeof b1, "%.3f", ms_per_step),
          json_number (b2, sizeof b2, "%.1f", images_per_second),
          json_number (b3, sizeof b3, "%.1f", predict_one_us),
          json_number (b5, sizeof b5, "%.1f", read_us),
          json_number (b4, sizeof b4, "%.1f", peak_rss_mb ()), convolve_engine_get_blas_kernels ());
  return 0;
}
