/* bench-ui.c: how the app's main loop fares while it trains. Opens the
 * real window on a dataset folder, puts a test image in the predictor,
 * half a second after that (as a user would: see SETTLE_US) starts a run
 * with the window's own "train" action and follows it on a
 * GMainLoop, as the app does, with the Training view on screen, then shows
 * the Evaluation view until its evaluation is in. A probe on the main loop
 * (a timeout every --probe-ms) measures each stall: how much later than
 * asked it was dispatched. Prints one JSON object: the stall percentiles,
 * during the run and overall, and the training speed, which
 * scripts/bench-ui.sh compares with convolve-cli's on the same data.
 *
 *   bench-ui --data DIR [--epochs N] [--threads N] [--batch-size N]
 *
 * Settings other than these are the app's defaults (GSETTINGS_BACKEND=memory
 * keeps the user's own away); --threads 0 is the app's default sizing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* RUSAGE_THREAD */
#include <adwaita.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "convolve-engine.h"
#include "convolve-sample-grid.h"
#include "convolve-window-private.h"

typedef struct {
  GMainLoop      *loop;
  ConvolveWindow *window;
  gint64          interval_us;
  gint64          last;          /* the probe's last dispatch */
  GArray         *stalls_run;    /* gint64 µs, while training */
  GArray         *stalls_all;    /* ... and while the evaluation is made */
  int             phase;         /* 0 loading, 1 training, 2 evaluating, 3 done */
  gint64          deadline;
  gint64          evaluation_shown;
  gboolean        timed_out;
  gint64          started;       /* the run's start */
  gint64          ready_since;   /* the window had its dataset and prediction */
} Bench;

#define LONG_STALL_US 30000
/* Train is pressed this long after the window is ready, as a user would:
 * the dataset's arrival cross-fades the window's stack and the predictor's
 * (200 ms each), and with the cairo renderer those frames are slow. They
 * belong to loading, not to training. */
#define SETTLE_US (500 * 1000)

static gboolean
probe_tick (gpointer data)
{
  Bench *bench = data;
  gint64 now = g_get_monotonic_time ();

  if (bench->last != 0 && (bench->phase == 1 || bench->phase == 2))
    {
      gint64 stall = MAX (0, now - bench->last - bench->interval_us);

      if (bench->phase == 1)
        g_array_append_val (bench->stalls_run, stall);
      g_array_append_val (bench->stalls_all, stall);
      /* the long ones on stderr (the script's app.log), with where the run was */
      if (stall > LONG_STALL_US)
        {
          const ConvolveProgress *progress = convolve_session_get_progress (convolve_window_get_session (bench->window));

          /* (the monotonic clock's seconds too, for lining it up with perf
           * record -k CLOCK_MONOTONIC) */
          fprintf (stderr, "stall %.1f ms at %.3f s, phase %d, epoch %d, step %" G_GINT64_FORMAT
                   ", monotonic %.6f to %.6f s\n",
                   stall / 1000.0, (now - bench->started) / 1e6, bench->phase,
                   progress != NULL ? progress->epoch : 0, progress != NULL ? progress->global_step : 0,
                   (now - stall) / 1e6, now / 1e6);
        }
    }
  bench->last = now;
  return G_SOURCE_CONTINUE;
}

static ConvolveSession *
session_of (Bench *bench)
{
  return convolve_window_get_session (bench->window);
}

/* Moves through the phases; a low-priority check, so it never delays the
 * probe. */
static gboolean
watch_tick (gpointer data)
{
  Bench *bench = data;
  ConvolveSession *session = session_of (bench);
  const ConvolveProgress *progress = convolve_session_get_progress (session);

  if (g_get_monotonic_time () > bench->deadline)
    {
      bench->timed_out = TRUE;
      g_main_loop_quit (bench->loop);
      return G_SOURCE_REMOVE;
    }
  switch (bench->phase)
    {
    case 0:
      if (convolve_session_get_train (session) == NULL || convolve_session_is_busy (session) ||
          convolve_predictor_get_probabilities (bench->window->predictor, NULL) == NULL)
        bench->ready_since = 0;
      else if (bench->ready_since == 0)
        bench->ready_since = g_get_monotonic_time ();
      else if (g_get_monotonic_time () - bench->ready_since > SETTLE_US &&
               !gtk_stack_get_transition_running (bench->window->main_stack))
        {
          bench->phase = 1;
          bench->last = 0;
          bench->started = g_get_monotonic_time ();
          g_action_group_activate_action (G_ACTION_GROUP (bench->window), "train", NULL);
        }
      break;
    case 1:
      if (progress != NULL && convolve_trainer_state_is_final (progress->state) &&
          !convolve_session_is_training (session))
        {
          bench->phase = 2;
          bench->evaluation_shown = g_get_monotonic_time ();
          g_action_group_activate_action (G_ACTION_GROUP (bench->window), "show-view",
                                          g_variant_new_string ("evaluation"));
        }
      break;
    case 2:
      /* (a second on that view: it draws the confusion matrix and the
       * per-class figures once it is mapped) */
      if (!convolve_session_is_evaluating (session) && !convolve_session_is_busy (session) &&
          convolve_session_get_evaluation (session) != NULL &&
          g_get_monotonic_time () - bench->evaluation_shown > G_USEC_PER_SEC)
        {
          bench->phase = 3;
          g_main_loop_quit (bench->loop);
          return G_SOURCE_REMOVE;
        }
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, in ms. */
static double
percentile_ms (GArray *sorted,
               double  p)
{
  gsize rank;

  if (sorted->len == 0)
    return NAN;
  rank = (gsize) ceil (p / 100.0 * sorted->len);
  rank = CLAMP (rank, 1, sorted->len);
  return g_array_index (sorted, gint64, rank - 1) / 1000.0;
}

static void
print_stalls (GString    *json,
              const char *name,
              GArray     *stalls)
{
  char p50[32], p90[32], p99[32], max[32];

  g_array_sort (stalls, compare_gint64);
  g_string_append_printf (json, "\"%s\": {\"samples\": %u, \"p50_ms\": %s, \"p90_ms\": %s, "
                          "\"p99_ms\": %s, \"max_ms\": %s}", name, stalls->len,
                          g_ascii_formatd (p50, sizeof p50, "%.2f", percentile_ms (stalls, 50)),
                          g_ascii_formatd (p90, sizeof p90, "%.2f", percentile_ms (stalls, 90)),
                          g_ascii_formatd (p99, sizeof p99, "%.2f", percentile_ms (stalls, 99)),
                          g_ascii_formatd (max, sizeof max, "%.2f", percentile_ms (stalls, 100)));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(ConvolveSampleRef) ref = NULL;
  g_autoptr(GString) json = g_string_new ("{");
  g_auto(GValue) value = G_VALUE_INIT;
  g_autofree char *data = NULL;
  int epochs = 2, threads = 0, batch_size = 32, probe_ms = 5, timeout_s = 3600;
  const GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Dataset folder (required)", "DIR" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Plain epochs (default 2)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Trainer threads (default 0: the app's choice)", "N" },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size, "Batch size (default 32)", "N" },
    { "probe-ms", 0, 0, G_OPTION_ARG_INT, &probe_ms, "The probe's interval (default 5)", "MS" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s, "Give up after this many seconds (default 3600)", "S" },
    { NULL }
  };
  const ConvolveProgress *progress;
  const ConvolveHistory *history;
  Bench bench = { 0 };
  double train_seconds = 0, main_cpu_seconds = 0, loop_seconds = 0;
  guint n_train;
  char number[3][32];

  convolve_engine_choose_blas_kernels (argv);
  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || data == NULL ||
      epochs < 1 || threads < 0 || batch_size < 1 || probe_ms < 1)
    {
      fprintf (stderr, "bench-ui: %s\n", error != NULL ? error->message : "--data DIR is required; counts must be positive");
      return 2;
    }

  adw_init ();
  settings = g_settings_new (APP_ID);
  g_settings_set_string (settings, "last-dataset-path", data);
  g_settings_set_int (settings, "epochs", epochs);
  g_settings_set_int (settings, "augment-epochs", 0);
  g_settings_set_int (settings, "batch-size", batch_size);
  g_settings_set_int (settings, "threads", threads);

  bench.loop = g_main_loop_new (NULL, FALSE);
  bench.interval_us = probe_ms * 1000;
  bench.stalls_run = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.stalls_all = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench.deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  bench.window = g_object_ref (convolve_window_new (NULL));
  gtk_window_set_default_size (GTK_WINDOW (bench.window), 1280, 800);
  gtk_window_present (GTK_WINDOW (bench.window));

  /* The dataset loads on a worker; then an image for the predictor, which
   * refreshes its prediction as the weights change. */
  while (convolve_session_get_train (session_of (&bench)) == NULL || convolve_session_is_loading (session_of (&bench)))
    {
      if (g_get_monotonic_time () > bench.deadline)
        {
          fprintf (stderr, "bench-ui: the dataset %s did not load\n", data);
          return 1;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  ref = convolve_sample_ref_new (convolve_session_get_train (session_of (&bench)), 0);
  g_value_init (&value, CONVOLVE_TYPE_SAMPLE_REF);
  g_value_set_boxed (&value, ref);
  convolve_predictor_load_value (bench.window->predictor, &value);

  g_timeout_add_full (G_PRIORITY_DEFAULT, probe_ms, probe_tick, &bench, NULL);
  g_timeout_add_full (G_PRIORITY_LOW, 50, watch_tick, &bench, NULL);
  {
    struct rusage before, after;
    gint64 start = g_get_monotonic_time ();

    /* What the main thread itself costs while the run goes on: the cores
     * it takes from the trainer's threads. */
    getrusage (RUSAGE_THREAD, &before);
    g_main_loop_run (bench.loop);
    getrusage (RUSAGE_THREAD, &after);
    main_cpu_seconds = (double) (after.ru_utime.tv_sec - before.ru_utime.tv_sec)
                       + (double) (after.ru_stime.tv_sec - before.ru_stime.tv_sec)
                       + (double) (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6
                       + (double) (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    loop_seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  }
  if (bench.timed_out)
    {
      fprintf (stderr, "bench-ui: no result after %d s (phase %d)\n", timeout_s, bench.phase);
      return 1;
    }

  progress = convolve_session_get_progress (session_of (&bench));
  if (progress->state != CONVOLVE_TRAINER_FINISHED)
    {
      fprintf (stderr, "bench-ui: the run did not finish: %s\n",
               progress->error != NULL ? progress->error->message : "stopped");
      return 1;
    }
  history = progress->history;
  for (guint e = 0; e < progress->history_n_epochs; e++)
    train_seconds += convolve_history_get_epoch (history, e)->seconds;
  n_train = convolve_dataset_get_n_images (convolve_session_get_train (session_of (&bench)));

  g_string_append_printf (json, "\"renderer\": \"%s\", ",
                          G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (bench.window))));
  g_string_append_printf (json, "\"threads_setting\": %d, \"processors\": %u, \"epochs\": %d, "
                          "\"train_images\": %u, ", threads, g_get_num_processors (), epochs, n_train);
  g_string_append_printf (json, "\"train_seconds\": %s, \"images_per_second\": %s, \"final_val_accuracy\": %s, ",
                          g_ascii_formatd (number[0], sizeof number[0], "%.3f", train_seconds),
                          g_ascii_formatd (number[1], sizeof number[1], "%.1f",
                                           (double) n_train * epochs / MAX (train_seconds, 1e-9)),
                          g_ascii_formatd (number[2], sizeof number[2], "%.4f", progress->val_accuracy));
  g_string_append_printf (json, "\"main_thread_cpu_share\": %s, ",
                          g_ascii_formatd (number[0], sizeof number[0], "%.3f",
                                           main_cpu_seconds / MAX (loop_seconds, 1e-9)));
  print_stalls (json, "stall_training", bench.stalls_run);
  g_string_append (json, ", ");
  print_stalls (json, "stall_training_and_evaluation", bench.stalls_all);
  g_string_append (json, "}");
  printf ("%s\n", json->str);

  gtk_window_destroy (GTK_WINDOW (bench.window));
  g_object_unref (bench.window);
  g_array_unref (bench.stalls_run);
  g_array_unref (bench.stalls_all);
  g_main_loop_unref (bench.loop);
  return 0;
}
