/* bench-run-store.c: the cost of recording a run. Trains the tutorial
 * model on the first images of Fashion-MNIST, with the trainer's progress
 * signal on a main loop as the app has it, and records the run through a
 * ConvolveRunRecorder (--store FILE) or not (--no-store). Time the two
 * with farm-bench --vs; the program prints its own training time too.
 * --checkpoint FILE saves a checkpoint after each epoch, on the trainer
 * thread (--checkpoint-mode save, the CLI's) or copied there and written
 * by a writer thread (background, the app's).
 *
 *   bench-run-store --store /tmp/b.sqlite --limit 3000
 *   bench-run-store --no-store --limit 3000
 *   bench-run-store --no-store --limit 3000 --epochs 3 --checkpoint /tmp/c.safetensors --checkpoint-mode background
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "convolve-loaders.h"
#include "convolve-run-recorder.h"
#include "convolve-train.h"

typedef struct {
  GMainLoop           *loop;
  ConvolveRunRecorder *recorder;
  ConvolveTrainerState state;
  guint                n_progress;
} Bench;

static void
on_progress (ConvolveTrainer  *trainer,
             ConvolveProgress *progress,
             gpointer          user_data)
{
  Bench *bench = user_data;

  bench->n_progress++;
  if (bench->recorder != NULL)
    convolve_run_recorder_add_progress (bench->recorder, progress);
  if (convolve_trainer_state_is_final (progress->state))
    {
      bench->state = progress->state;
      g_main_loop_quit (bench->loop);
    }
}

/* The first n images of dataset, as a new dataset. */
static ConvolveDataset *
head (ConvolveDataset *dataset,
      guint            n)
{
  ConvolveShape shape = convolve_dataset_get_shape (dataset);
  gsize image = (gsize) shape.c * shape.h * shape.w;
  ConvolveDataset *copy;

  n = MIN (n, convolve_dataset_get_n_images (dataset));
  copy = convolve_dataset_new (convolve_dataset_get_name (dataset), n, shape.c, shape.h, shape.w,
                               convolve_dataset_get_class_names (dataset));
  memcpy (convolve_dataset_get_pixels_mutable (copy), convolve_dataset_get_image (dataset, 0), n * image);
  for (guint i = 0; i < n; i++)
    convolve_dataset_get_labels_mutable (copy)[i] = convolve_dataset_get_label (dataset, i);
  return copy;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *store_path = NULL;
  g_autofree char *data_dir = g_strdup ("/usr/share/datasets/fashion-mnist");
  g_autofree char *checkpoint_path = NULL;
  g_autofree char *checkpoint_mode = NULL;
  gboolean no_store = FALSE;
  int limit = 3000, test_limit = 1000, epochs = 1, threads = 0;
  GOptionEntry entries[] = {
    { "store", 0, 0, G_OPTION_ARG_FILENAME, &store_path, "Record into this database", "FILE" },
    { "no-store", 0, 0, G_OPTION_ARG_NONE, &no_store, "Do not record", NULL },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Fashion-MNIST folder", "DIR" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "Training images (3000)", "N" },
    { "test-limit", 0, 0, G_OPTION_ARG_INT, &test_limit, "Validation images (1000)", "N" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs (1)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "OpenBLAS threads (0: all)", "N" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint_path, "Save a checkpoint after each epoch", "FILE" },
    { "checkpoint-mode", 0, 0, G_OPTION_ARG_STRING, &checkpoint_mode, "save (default) or background", "MODE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- time a run with and without the run store");
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test_all = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autofree char *spec_text = NULL;
  ConvolveModel *model;
  ConvolveTrainConfig config;
  ConvolveShape input;
  Bench bench = { 0 };
  gint64 start, trained;
  gsize n_params = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      (store_path == NULL) == !no_store)
    {
      fprintf (stderr, "%s\n", error != NULL ? error->message : "give --store FILE or --no-store");
      return 2;
    }
  if (!convolve_dataset_load_dir (data_dir, &train, &test_all, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  test = head (test_all, (guint) test_limit);

  input = convolve_dataset_get_shape (train);
  spec = convolve_model_spec_new_tutorial (convolve_dataset_get_n_classes (train));
  spec_text = convolve_model_spec_to_string (spec);
  model = convolve_model_new (spec, &input, 32, 1, &error);
  if (model == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  convolve_model_get_params (model, &n_params);

  convolve_train_config_init (&config);
  config.epochs = epochs;
  config.train_limit = (guint) limit;
  config.threads = threads;
  config.seed = 1;
  trainer = convolve_trainer_new (model, NULL, train, test, &config, &error);
  if (trainer == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  if (checkpoint_path != NULL &&
      (!convolve_trainer_set_checkpoint_path (trainer, checkpoint_path, &error) ||
       !convolve_trainer_set_checkpoint_mode (trainer, g_strcmp0 (checkpoint_mode, "background") == 0
                                                       ? CONVOLVE_CHECKPOINT_MODE_BACKGROUND
                                                       : CONVOLVE_CHECKPOINT_MODE_SAVE, &error)))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  if (store_path != NULL)
    {
      ConvolveRunInfo info = {
        .dataset_name = convolve_dataset_get_name (train),
        .dataset_path = data_dir,
        .n_train = MIN ((guint) limit, convolve_dataset_get_n_images (train)),
        .n_test = convolve_dataset_get_n_images (test),
        .n_classes = convolve_dataset_get_n_classes (train),
        .model_spec = spec_text,
        .n_parameters = (gint64) n_params,
      };

      store = convolve_run_store_open (store_path, &error);
      if (store != NULL)
        bench.recorder = convolve_run_recorder_new (store, &info, &config, &error);
      if (bench.recorder == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
    }

  bench.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &bench);
  start = g_get_monotonic_time ();
  if (!convolve_trainer_start (trainer, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_main_loop_run (bench.loop);
  trained = g_get_monotonic_time () - start;
  if (!convolve_trainer_join (trainer, &error))
    fprintf (stderr, "%s\n", error->message);

  if (bench.recorder != NULL)
    {
      g_autoptr(ConvolveProgress) progress = convolve_trainer_get_progress (trainer);

      convolve_run_recorder_add_progress (bench.recorder, progress);
      if (!convolve_run_recorder_finish (bench.recorder, progress->state, progress->evaluation,
                                         progress->error, &error))
        fprintf (stderr, "%s\n", error->message);
      g_clear_pointer (&bench.recorder, convolve_run_recorder_free);
    }
  printf ("{\"store\": %s, \"checkpoint\": \"%s\", \"train_seconds\": %.3f, \"total_seconds\": %.3f,"
          " \"progress\": %u}\n",
          store_path != NULL ? "true" : "false",
          checkpoint_path == NULL ? "none" : checkpoint_mode != NULL ? checkpoint_mode : "save", trained / 1e6,
          (g_get_monotonic_time () - start) / 1e6, bench.n_progress);
  g_main_loop_unref (bench.loop);
  return 0;
}
