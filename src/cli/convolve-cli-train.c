/* convolve-cli-train.c: `convolve-cli train`, fitting a model with a
 * Keras-style progress display.
 *
 * The trainer runs on its own thread; this thread only runs a main loop
 * that receives progress snapshots, prints them, and turns Ctrl-C into a
 * clean stop after the current batch.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "convolve-cli.h"
#include "convolve-cli-dataset.h"
#include "convolve-cli-options.h"
#include "convolve-train.h"
#include "convolve-distributed-mpi.h"

#define BAR_WIDTH           30
#define PLAIN_STEP_INTERVAL 200   /* a plain line every N steps when not on a terminal */

typedef struct {
  ConvolveTrainer *trainer;
  GMainLoop       *loop;
  gboolean         tty;
  guint            steps_done;      /* history steps already shown */
  guint            epochs_done;     /* history epochs already shown */
  int              header_epoch;    /* epoch whose "Epoch k/N" line is out */
  gboolean         bar_on_screen;   /* a bar without its newline */
  int              epochs_total;
  const char      *log_json_path;
  GString         *log_json;
  GError          *log_error;
  gboolean         interrupted;
  ConvolveRunRecorder *recorder;    /* the run store's record, or NULL */
  ConvolveDistributed *distributed; /* one rank of a distributed run, or NULL */
} TrainRun;

/* Figures with '.' whatever the locale: scripts read these lines. */
static const char *
fixed4 (char   *buffer,
        double  value)
{
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, "%.4f", value);
}

static void
format_duration (char   *buffer,
                 gsize   size,
                 double  seconds)
{
  long s = (long) MAX (0.0, seconds + 0.5);

  if (s >= 3600)
    g_snprintf (buffer, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else if (s >= 60)
    g_snprintf (buffer, size, "%ld:%02ld", s / 60, s % 60);
  else
    g_snprintf (buffer, size, "%lds", s);
}

static void
format_bar (char *bar,
            int   step,
            int   steps)
{
  int filled = steps > 0 ? (int) ((gint64) BAR_WIDTH * step / steps) : BAR_WIDTH;
  int i = 0;

  bar[i++] = '[';
  for (int j = 0; j < filled - 1; j++)
    bar[i++] = '=';
  if (filled > 0)
    bar[i++] = step < steps ? '>' : '=';
  for (int j = filled; j < BAR_WIDTH; j++)
    bar[i++] = '.';
  bar[i++] = ']';
  bar[i] = '\0';
}

static int
digits (int n)
{
  int d = 1;

  while (n >= 10)
    {
      n /= 10;
      d++;
    }
  return d;
}

static void
print_epoch_header (TrainRun *run,
                    int       epoch,
                    gboolean  augmented)
{
  if (run->bar_on_screen)
    {
      fputc ('\n', stdout);
      run->bar_on_screen = FALSE;
    }
  if (augmented)
    printf (_("Epoch %d/%d (augmented)\n"), epoch, run->epochs_total);
  else
    printf (_("Epoch %d/%d\n"), epoch, run->epochs_total);
  run->header_epoch = epoch;
}

static gboolean
write_log_json (TrainRun                   *run,
                const ConvolveHistoryEpoch *epoch)
{
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;

  if (run->log_json_path == NULL || run->log_error != NULL)
    return TRUE;

  line = convolve_history_epoch_to_json (epoch);
  g_string_append_printf (run->log_json, "%s\n", line);
  /* The whole file each time, atomically: never half a line on disk. */
  if (!g_file_set_contents_full (run->log_json_path, run->log_json->str, run->log_json->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0666, &error))
    {
      g_autofree char *display = g_filename_display_name (run->log_json_path);

      g_set_error (&run->log_error, error->domain, error->code,
                   _("could not write the log “%s”: %s"), display, error->message);
      return FALSE;
    }
  return TRUE;
}

static void
print_epoch_end (TrainRun                   *run,
                 const ConvolveHistoryEpoch *epoch,
                 int                         steps_per_epoch)
{
  g_autoptr(GString) line = g_string_new (NULL);
  char duration[32];
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

  if (run->header_epoch != epoch->epoch)
    print_epoch_header (run, epoch->epoch, epoch->augmented);

  format_duration (duration, sizeof duration, epoch->seconds);
  if (run->tty)
    {
      char bar[BAR_WIDTH + 3];

      format_bar (bar, steps_per_epoch, steps_per_epoch);
      g_string_append_printf (line, "\r%d/%d %s - %s %.0fms/step", steps_per_epoch, steps_per_epoch, bar,
                              duration, epoch->seconds * 1000.0 / MAX (1, steps_per_epoch));
    }
  else
    g_string_append_printf (line, "%d/%d - %s %.0fms/step", steps_per_epoch, steps_per_epoch,
                            duration, epoch->seconds * 1000.0 / MAX (1, steps_per_epoch));

  g_string_append_printf (line, " - loss: %s - accuracy: %s",
                          fixed4 (a, epoch->loss), fixed4 (b, epoch->accuracy));
  if (!isnan (epoch->val_loss))
    g_string_append_printf (line, " - val_loss: %s - val_accuracy: %s",
                            fixed4 (a, epoch->val_loss), fixed4 (b, epoch->val_accuracy));
  if (run->tty)
    g_string_append (line, "\033[K");
  printf ("%s\n", line->str);
  run->bar_on_screen = FALSE;

  if (!write_log_json (run, epoch))
    convolve_trainer_stop (run->trainer);
}

/* Everything new in the history, in order: epoch headers, plain step
 * lines, epoch summaries. */
static void
print_history (TrainRun         *run,
               ConvolveProgress *progress)
{
  ConvolveHistory *history = progress->history;

  for (; run->steps_done < progress->history_n_steps; run->steps_done++)
    {
      const ConvolveHistoryStep *step = convolve_history_get_step (history, run->steps_done);

      while (run->epochs_done < progress->history_n_epochs &&
             convolve_history_get_epoch (history, run->epochs_done)->epoch < step->epoch)
        print_epoch_end (run, convolve_history_get_epoch (history, run->epochs_done++),
                         progress->steps_per_epoch);

      if (run->header_epoch != step->epoch)
        {
          ConvolveTrainConfig const *config = convolve_trainer_get_config (run->trainer);

          print_epoch_header (run, step->epoch, step->epoch > config->epochs);
        }

      if (!run->tty && step->step % PLAIN_STEP_INTERVAL == 0 && step->step < progress->steps_per_epoch)
        {
          char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

          printf ("%d/%d - loss: %s - accuracy: %s\n", step->step, progress->steps_per_epoch,
                  fixed4 (a, step->loss), fixed4 (b, step->accuracy));
        }
    }

  while (run->epochs_done < progress->history_n_epochs)
    print_epoch_end (run, convolve_history_get_epoch (history, run->epochs_done++),
                     progress->steps_per_epoch);
}

static void
draw_bar (TrainRun         *run,
          ConvolveProgress *progress)
{
  char bar[BAR_WIDTH + 3];
  char eta[32];
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  int width = digits (progress->steps_per_epoch);

  if (progress->step <= 0 || progress->step >= progress->steps_per_epoch ||
      progress->epoch != run->header_epoch)
    return;

  format_bar (bar, progress->step, progress->steps_per_epoch);
  if (progress->eta_epoch_seconds >= 0)
    format_duration (eta, sizeof eta, progress->eta_epoch_seconds);
  else
    g_strlcpy (eta, "?", sizeof eta);
  printf ("\r%*d/%d %s - ETA: %s - loss: %s - accuracy: %s\033[K",
          width, progress->step, progress->steps_per_epoch, bar, eta,
          fixed4 (a, progress->loss), fixed4 (b, progress->accuracy));
  fflush (stdout);
  run->bar_on_screen = TRUE;
}

static void
on_progress (ConvolveTrainer  *trainer,
             ConvolveProgress *progress,
             gpointer          user_data)
{
  TrainRun *run = user_data;

  if (run->recorder != NULL)
    convolve_run_recorder_add_progress (run->recorder, progress);
  print_history (run, progress);
  if (run->tty && !convolve_trainer_state_is_final (progress->state))
    draw_bar (run, progress);
  fflush (stdout);

  if (convolve_trainer_state_is_final (progress->state))
    {
      if (run->bar_on_screen)
        {
          fputc ('\n', stdout);
          run->bar_on_screen = FALSE;
        }
      g_main_loop_quit (run->loop);
    }
}

static gboolean
on_interrupt (gpointer user_data)
{
  TrainRun *run = user_data;

  if (!run->interrupted)
    {
      run->interrupted = TRUE;
      /* mpirun ends the job with SIGTERM to every rank when one fails or
       * the job is interrupted: say so on every rank, as the trainer may
       * be waiting for the failed one and never reach the next batch. */
      if (run->distributed != NULL)
        fprintf (stderr, _("convolve-cli: rank %d of %d: mpirun is ending the job "
                           "(a rank failed or the job was interrupted)\n"),
                 convolve_distributed_get_rank (run->distributed),
                 convolve_distributed_get_size (run->distributed));
      if (run->bar_on_screen)
        {
          fputc ('\n', stdout);
          fflush (stdout);
          run->bar_on_screen = FALSE;
        }
      fprintf (stderr, "%s\n", _("Stopping after the current batch…"));
      convolve_trainer_stop (run->trainer);
    }
  return G_SOURCE_CONTINUE;
}

/* Fails early when a file could never be written, rather than after the
 * whole run: the folder must take a new file (tried for real, as
 * permissions do not tell for root, /proc or a read-only mount), and what
 * is there must be a regular file, which the atomic rename replaces
 * (renaming over /dev/full would replace the device). */
static gboolean
check_output_path (const char  *option,
                   const char  *path,
                   GError     **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *display = NULL;
  g_autofree char *probe = NULL;
  GStatBuf st;
  int fd;

  if (path == NULL)
    return TRUE;
  if (*path == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("%s needs a file name"), option);
      return FALSE;
    }
  dir = g_path_get_dirname (path);
  display = g_filename_display_name (path);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR,
                   _("%s “%s” is a folder, not a file"), option, display);
      return FALSE;
    }
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   _("Could not save to “%s”: it exists and is not a regular file"), display);
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   _("%s “%s”: the folder does not exist"), option, display);
      return FALSE;
    }

  probe = g_build_filename (dir, ".convolve-cli-XXXXXX", NULL);
  fd = g_mkstemp_full (probe, O_RDWR, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("%s “%s”: cannot write in its folder: %s"), option, display,
                   g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);
  return TRUE;
}

/* How early stopping ended the run, and which epoch was best: a sentence
 * for people, then "best_epoch: N" for scripts (like "val_accuracy:"). */
static void
print_best_epoch (ConvolveTrainer  *trainer,
                  ConvolveProgress *progress)
{
  const ConvolveTrainConfig *config = convolve_trainer_get_config (trainer);
  const char *monitor = convolve_monitor_to_string (config->early_stopping_monitor);
  char a[G_ASCII_DTOSTR_BUF_SIZE];

  if (progress->best_epoch == 0)
    return;
  if (progress->stop_reason == CONVOLVE_STOP_REASON_EARLY_STOPPED)
    printf (ngettext ("Early stopping: %s did not improve for %d epoch; stopped after epoch %d\n",
                      "Early stopping: %s did not improve for %d epochs; stopped after epoch %d\n",
                      config->early_stopping_patience),
            monitor, config->early_stopping_patience, progress->stopped_epoch);
  printf (_("Best epoch: %d (%s %s)\n"), progress->best_epoch, monitor,
          fixed4 (a, config->early_stopping_monitor == CONVOLVE_MONITOR_VAL_ACCURACY
                     ? progress->best_val_accuracy : progress->best_val_loss));
  if (progress->restored_best)
    printf (_("Restored the weights of epoch %d\n"), progress->best_epoch);
  else if (progress->stop_reason == CONVOLVE_STOP_REASON_EARLY_STOPPED && config->restore_best_weights)
    printf (_("The best epoch’s weights were not found beside the checkpoint; the model keeps the last epoch’s\n"));
  printf ("best_epoch: %d\n", progress->best_epoch);
}

/* A distributed run's figures, by rank 0 after the run. */
static void
print_distributed_stats (ConvolveTrainer     *trainer,
                         ConvolveDistributed *dist)
{
  ConvolveDistributedStats stats;
  int size = convolve_distributed_get_size (dist);

  convolve_trainer_get_distributed_stats (trainer, &stats);
  if (stats.n_resyncs > 0)
    printf (_("Weights differed between the %d ranks at %u of %u epoch ends and were made rank 0’s again\n"),
            size, stats.n_resyncs, stats.n_checks);
  else if (stats.n_checks > 0)
    printf (_("Weights identical on all %d ranks at %u of %u epoch ends\n"), size, stats.n_checks, stats.n_checks);
  if (stats.n_steps > 0 && stats.step_seconds > 0)
    {
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];

      /* One line for scripts (scripts/bench-mpi.sh reads it). */
      printf ("allreduce_ms_per_step: %s - step_ms: %s - allreduce_share: %s\n",
              g_ascii_formatd (a, sizeof a, "%.2f", stats.allreduce_seconds * 1000.0 / (double) stats.n_steps),
              g_ascii_formatd (b, sizeof b, "%.2f", stats.step_seconds * 1000.0 / (double) stats.n_steps),
              g_ascii_formatd (c, sizeof c, "%.4f", stats.allreduce_seconds / stats.step_seconds));
    }
}

static int train (int argc, char **argv, ConvolveDistributed **dist_out);

/* A distributed run ends every rank together: MPI_Finalize when every rank
 * got through (the ranks stop at the same step), else MPI_Abort, which
 * also ends the ranks waiting for this one. */
int
convolve_cli_train (int argc, char **argv)
{
  ConvolveDistributed *dist = NULL;
  int status = train (argc, argv, &dist);

  fflush (stdout);
  if (dist != NULL && (status == 0 || status == 130))
    convolve_distributed_mpi_free (dist);
  else if (dist != NULL)
    convolve_distributed_mpi_abort (dist, status);
  return status;
}

static int
train (int argc, char **argv, ConvolveDistributed **dist_out)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  g_autofree char *save_path = NULL;
  g_autofree char *checkpoint_path = NULL;
  g_autofree char *resume_path = NULL;
  g_autofree char *log_json_path = NULL;
  g_autofree char *spec_text = NULL;
  g_autofree char *optimizer_name = NULL;
  g_autofree char *seed_text = NULL;
  g_autofree char *learning_rate_text = NULL;
  g_autofree char *monitor_name = NULL;
  g_autofree char *min_delta_text = NULL;
  g_autofree char *save_best_path = NULL;
  g_autofree char *runs_db = NULL;
  g_autofree char *time_budget_text = NULL;
  gint64 resume_run = 0;
  ConvolveShape resume_input;
  gboolean have_resume_input = FALSE;
  gboolean restore_best = FALSE;
  gboolean distributed = FALSE;
  int batch_size_per_rank = G_MININT;
  double mpi_timeout = CONVOLVE_DISTRIBUTED_DEFAULT_TIMEOUT;
  ConvolveDistributed *dist = NULL;
  int rank = 0;
  /* G_MININT / NAN: not given (so a checkpoint's value stays). */
  int epochs = G_MININT, augment_epochs = G_MININT, batch_size = G_MININT;
  int limit = G_MININT, patience = G_MININT;
  double min_delta = NAN;
  double learning_rate = NAN;
  double time_budget = 0.0;
  guint64 seed = 0;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATA),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATASET),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_IMAGE_SIZE),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_FIT),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_VALIDATION_FRACTION),
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs,
      N_("Plain epochs (default 5)"), N_("N") },
    { "augment-epochs", 0, 0, G_OPTION_ARG_INT, &augment_epochs,
      N_("Augmented epochs after the plain ones (default 0)"), N_("N") },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size,
      N_("Images per optimizer step (default 32)"), N_("N") },
    { "learning-rate", 'l', 0, G_OPTION_ARG_STRING, &learning_rate_text,
      N_("Learning rate (default 0.001)"), N_("RATE") },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer_name,
      N_("adam (default) or sgd"), N_("NAME") },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text,
      N_("Random seed for weights, shuffling and augmentation (default 0)"), N_("N") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_THREADS),
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit,
      N_("Use only the first N training images"), N_("N") },
    { "spec", 's', 0, G_OPTION_ARG_STRING, &spec_text,
      N_("Model spec instead of the tutorial model, e.g. “conv2d(8,3,same,relu),maxpool(2),flatten,dense(10,softmax)”"),
      N_("TEXT") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_PRESET),
    { "save", 'o', 0, G_OPTION_ARG_FILENAME, &save_path,
      N_("Save the final model with its optimizer state (a checkpoint that --resume continues), also after Ctrl-C"),
      N_("FILE") },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint_path,
      N_("Save a checkpoint after each epoch (and on Ctrl-C)"), N_("FILE") },
    { "resume", 'r', 0, G_OPTION_ARG_FILENAME, &resume_path,
      N_("Continue the run saved in a checkpoint"), N_("FILE") },
    { "log-json", 0, 0, G_OPTION_ARG_FILENAME, &log_json_path,
      N_("Write one JSON object per epoch (one per line) to FILE"), N_("FILE") },
    { "time-budget", 0, 0, G_OPTION_ARG_STRING, &time_budget_text,
      N_("Stop after this many seconds of training (validation included): the epoch under way is cut short and validated"),
      N_("SECONDS") },
    { "early-stopping", 0, 0, G_OPTION_ARG_INT, &patience,
      N_("Stop after N epochs in a row without a better validation figure (default 0: never)"), N_("N") },
    { "monitor", 0, 0, G_OPTION_ARG_STRING, &monitor_name,
      N_("The validation figure that decides the best epoch: val_loss (default) or val_accuracy"), N_("NAME") },
    { "min-delta", 0, 0, G_OPTION_ARG_STRING, &min_delta_text,
      N_("An improvement must beat the best by more than this (default 0)"), N_("X") },
    { "restore-best", 0, 0, G_OPTION_ARG_NONE, &restore_best,
      N_("When early stopping ends the run, go back to the best epoch’s weights"), NULL },
    { "save-best", 0, 0, G_OPTION_ARG_FILENAME, &save_best_path,
      N_("Save the best epoch’s model (by --monitor) to FILE"), N_("FILE") },
    { "runs-db", 0, 0, G_OPTION_ARG_FILENAME, &runs_db,
      N_("Record the run in this run store (default: Convolve’s data folder, or $CONVOLVE_RUNS_DB)"), N_("FILE") },
    { "resume-run", 0, 0, G_OPTION_ARG_INT64, &resume_run,
      N_("Continue a stopped or interrupted run of the run store from its last checkpoint"), N_("ID") },
    { "distributed", 0, 0, G_OPTION_ARG_NONE, &distributed,
      N_("Data-parallel training over MPI, one rank per process: start with “mpirun -np N convolve-cli train --distributed …”"),
      NULL },
    { "batch-size-per-rank", 0, 0, G_OPTION_ARG_INT, &batch_size_per_rank,
      N_("With --distributed: images per rank and step (the global batch is N times this) instead of --batch-size"),
      N_("N") },
    { "mpi-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &mpi_timeout,
      N_("With --distributed: end the job when a rank waits this long for the others (default 300)"),
      N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  ConvolveTrainConfig config;
  TrainRun run = { 0 };
  guint sigint_id, sigterm_id;
  gboolean joined;
  int status = 0;

  if (!convolve_cli_parse_options (&options, entries, NULL,
                                   _("Train a model on a dataset: plain epochs, then augmented ones, "
                                     "with validation on the test set after each epoch. Ctrl-C stops "
                                     "after the current batch."),
                                   CONVOLVE_CLI_PARSE_DEFAULT, &argc, &argv))
    return 1;

  if (limit != G_MININT && limit <= 0)
    return convolve_cli_fail (_("--limit must be a positive number of images, not %d"), limit);
  if (seed_text != NULL && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXUINT64, &seed, NULL))
    return convolve_cli_fail (_("--seed must be a whole number from 0 to %" PRIu64 ", not “%s”"),
                              G_MAXUINT64, seed_text);
  if ((epochs != G_MININT && epochs < 0) || (augment_epochs != G_MININT && augment_epochs < 0) ||
      (batch_size != G_MININT && batch_size < 0))
    return convolve_cli_fail (_("--epochs, --augment-epochs and --batch-size must not be negative"));
  /* Read as text: "nan" must be refused, not taken for "not given". */
  if (learning_rate_text != NULL)
    {
      char *end = NULL;

      learning_rate = g_ascii_strtod (learning_rate_text, &end);
      if (end == learning_rate_text || *end != '\0' ||
          !(learning_rate > 0.0 && learning_rate <= 10.0 && (float) learning_rate > 0.0f))
        return convolve_cli_fail (_("--learning-rate must be a number greater than 0 and at most 10, not “%s”"),
                                  learning_rate_text);
    }
  if (patience != G_MININT && (patience < 0 || patience > 100000))
    return convolve_cli_fail (_("--early-stopping must be a number of epochs from 0 (off) to 100000, not %d"),
                              patience);
  if (monitor_name != NULL && !convolve_monitor_from_string (monitor_name, &(ConvolveMonitor) { 0 }))
    return convolve_cli_fail (_("unknown monitor “%s”: use val_loss or val_accuracy"), monitor_name);
  if (min_delta_text != NULL)
    {
      char *end = NULL;

      min_delta = g_ascii_strtod (min_delta_text, &end);
      if (end == min_delta_text || *end != '\0' || !(min_delta >= 0.0) || !isfinite (min_delta))
        return convolve_cli_fail (_("--min-delta must be a number of at least 0, not “%s”"), min_delta_text);
    }
  if (time_budget_text != NULL)
    {
      char *end = NULL;

      time_budget = g_ascii_strtod (time_budget_text, &end);
      if (end == time_budget_text || *end != '\0' ||
          !(time_budget > 0.0 && time_budget <= CONVOLVE_TIME_BUDGET_MAX))
        return convolve_cli_fail (_("--time-budget must be a number of seconds greater than 0 and at most %d, not “%s”"),
                                  (int) CONVOLVE_TIME_BUDGET_MAX, time_budget_text);
    }
  if (optimizer_name != NULL && g_strcmp0 (optimizer_name, "adam") != 0 && g_strcmp0 (optimizer_name, "sgd") != 0)
    return convolve_cli_fail (_("unknown optimizer “%s”: use adam or sgd"), optimizer_name);
  if (resume_path != NULL && spec_text != NULL)
    return convolve_cli_fail (_("--spec cannot be combined with --resume: the checkpoint holds the model"));
  if (resume_path != NULL && options.preset_name != NULL)
    return convolve_cli_fail (_("--preset cannot be combined with --resume: the checkpoint holds the model"));
  /* Each rank would read its own clock and stop at a different step. */
  if (distributed && time_budget_text != NULL)
    return convolve_cli_fail (_("--time-budget cannot be combined with --distributed"));
  if (!distributed && (batch_size_per_rank != G_MININT || mpi_timeout != CONVOLVE_DISTRIBUTED_DEFAULT_TIMEOUT))
    return convolve_cli_fail (_("--batch-size-per-rank and --mpi-timeout need --distributed"));
  if (batch_size_per_rank != G_MININT && batch_size != G_MININT)
    return convolve_cli_fail (_("--batch-size and --batch-size-per-rank cannot be combined"));
  if (batch_size_per_rank != G_MININT && (batch_size_per_rank < 1 || batch_size_per_rank > 65536))
    return convolve_cli_fail (_("--batch-size-per-rank must be from 1 to %d, not %d"), 65536,
                              batch_size_per_rank);
  if (!(mpi_timeout >= 1.0 && mpi_timeout <= 86400.0))
    return convolve_cli_fail (_("--mpi-timeout must be from 1 to 86400 seconds"));
  if (distributed)
    {
      dist = convolve_distributed_mpi_new (&argc, &argv, mpi_timeout, &error);
      if (dist == NULL)
        return convolve_cli_fail ("%s", error->message);
      *dist_out = dist;
      rank = convolve_distributed_get_rank (dist);
      if (batch_size_per_rank != G_MININT)
        batch_size = batch_size_per_rank * convolve_distributed_get_size (dist);
      /* Only rank 0 prints progress and writes files; the others keep
       * stderr for their errors. */
      if (rank > 0)
        {
          if (freopen ("/dev/null", "w", stdout) == NULL)
            return convolve_cli_fail (_("could not silence the output of rank %d"), rank);
          g_clear_pointer (&save_path, g_free);
          g_clear_pointer (&checkpoint_path, g_free);
          g_clear_pointer (&log_json_path, g_free);
          g_clear_pointer (&save_best_path, g_free);
        }
    }
  if (!check_output_path ("--save", save_path, &error) ||
      !check_output_path ("--checkpoint", checkpoint_path, &error) ||
      !check_output_path ("--log-json", log_json_path, &error) ||
      !check_output_path ("--save-best", save_best_path, &error))
    return convolve_cli_fail ("%s", error->message);

  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(GError) store_error = NULL;

  /* The run store is a record, not a condition: without it the run goes on.
   * Rank 0 keeps it for a distributed run. */
  if (rank == 0)
    store = convolve_run_store_open (runs_db, &store_error);
  if (resume_run != 0 && rank > 0)
    ;  /* rank 0 finds the checkpoint, below */
  else if (resume_run != 0)
    {
      g_autoptr(ConvolveRunRecord) record = NULL;

      if (store == NULL)
        return convolve_cli_fail ("%s", store_error->message);
      if (resume_path != NULL)
        return convolve_cli_fail (_("--resume-run and --resume cannot be combined"));
      record = convolve_run_store_get_run (store, resume_run, &error);
      if (record == NULL)
        return convolve_cli_fail ("%s", error->message);
      if (record->checkpoint_path == NULL || record->checkpoint_path[0] == '\0')
        return convolve_cli_fail (_("run %" PRId64 " has no checkpoint to resume from: "
                                    "train with --checkpoint to make runs resumable"), resume_run);
      resume_path = g_strdup (record->checkpoint_path);
      if (checkpoint_path == NULL)
        checkpoint_path = g_strdup (record->checkpoint_path);
    }
  else if (store == NULL && rank == 0)
    fprintf (stderr, "convolve-cli: %s\n", store_error->message);
  if (dist != NULL && resume_run != 0)
    {
      char *path = NULL;

      if (!convolve_distributed_broadcast_string (dist, resume_path, &path, &error))
        return convolve_cli_fail ("%s", error->message);
      g_free (resume_path);
      resume_path = path;
    }

  /* a run resumed on an image folder: its pictures at the checkpoint's
   * size (read once more here; only the folder's size depends on it) */
  if (resume_path != NULL && options.data_dir != NULL && options.image_size == CONVOLVE_CLI_IMAGE_SIZE_UNSET &&
      convolve_image_folder_detect (options.data_dir))
    {
      g_autoptr(ConvolveModel) resumed = convolve_model_load (resume_path, 1, NULL, NULL, NULL);

      if (resumed != NULL)
        {
          resume_input = convolve_model_get_input (resumed);
          have_resume_input = TRUE;
        }
    }
  if (!convolve_cli_load_dataset (&options, have_resume_input ? &resume_input : NULL, &train, &test, &error))
    return convolve_cli_fail ("%s", error->message);

  if (save_best_path != NULL && (test == NULL || convolve_dataset_get_n_images (test) == 0))
    return convolve_cli_fail (_("--save-best needs a test set: the best epoch is the one with the best validation"));

  if (resume_path != NULL)
    {
      trainer = convolve_trainer_new_from_checkpoint (resume_path, train, test, &error);
      if (trainer == NULL)
        return convolve_cli_fail ("%s", error->message);
      config = *convolve_trainer_get_config (trainer);
    }
  else
    convolve_train_config_init (&config);

  /* Only what was given overrides the defaults or the checkpoint. */
  if (epochs != G_MININT)
    config.epochs = epochs;
  if (augment_epochs != G_MININT)
    config.augment_epochs = augment_epochs;
  if (batch_size != G_MININT)
    config.batch_size = batch_size;
  if (learning_rate_text != NULL)
    config.learning_rate = (float) learning_rate;
  if (optimizer_name != NULL)
    config.optimizer = g_strcmp0 (optimizer_name, "sgd") == 0 ? CONVOLVE_OPTIMIZER_SGD : CONVOLVE_OPTIMIZER_ADAM;
  if (seed_text != NULL)
    config.seed = seed;
  if (options.threads != CONVOLVE_CLI_THREADS_UNSET)
    config.threads = options.threads;
  if (limit != G_MININT)
    config.train_limit = (guint) limit;
  if (patience != G_MININT)
    config.early_stopping_patience = patience;
  if (monitor_name != NULL)
    convolve_monitor_from_string (monitor_name, &config.early_stopping_monitor);
  if (min_delta_text != NULL)
    config.early_stopping_min_delta = min_delta;
  if (restore_best)
    config.restore_best_weights = TRUE;
  config.time_budget_seconds = time_budget;
  config.snapshot_every_steps = 0;   /* nobody predicts while the CLI trains */
  config.progress_interval_ms = 100; /* at most ~10 redraws a second */

  if (!convolve_train_config_validate (&config, &error))
    return convolve_cli_fail ("%s", error->message);

  if (trainer != NULL)
    {
      if (!convolve_trainer_set_config (trainer, &config, &error))
        return convolve_cli_fail ("%s", error->message);
    }
  else
    {
      g_autoptr(ConvolveModelSpec) spec = NULL;
      ConvolveShape shape = convolve_dataset_get_shape (train);
      guint n_train = convolve_dataset_get_n_images (train);
      ConvolveModel *model;

      if (config.train_limit > 0)
        n_train = MIN (n_train, config.train_limit);
      n_train = MAX (n_train, 1u);

      spec = convolve_cli_options_make_spec (&options, spec_text, convolve_dataset_get_n_classes (train), &error);
      if (spec == NULL)
        return convolve_cli_fail ("%s", error->message);

      /* A batch never holds more images than the training set: a batch
       * size beyond it must not cost memory for images that never come. */
      model = convolve_model_new (spec, &shape,
                                  (int) MIN ((guint) config.batch_size, n_train),
                                  config.seed, &error);
      if (model == NULL)
        return convolve_cli_fail ("%s", error->message);
      trainer = convolve_trainer_new (model, NULL, train, test, &config, &error);
      if (trainer == NULL)
        return convolve_cli_fail ("%s", error->message);
    }

  /* Nobody predicts while the CLI trains: no snapshot copy of the weights. */
  if (!convolve_trainer_set_checkpoint_path (trainer, checkpoint_path, &error) ||
      !convolve_trainer_set_distributed (trainer, dist, &error) ||
      !convolve_trainer_set_publish_weights (trainer, FALSE, &error))
    return convolve_cli_fail ("%s", error->message);
  run.distributed = dist;
  if (dist != NULL)
    printf (ngettext ("Distributed over %d rank: %d images per step, about %d per rank\n",
                      "Distributed over %d ranks: %d images per step, about %d per rank\n",
                      convolve_distributed_get_size (dist)),
            convolve_distributed_get_size (dist), config.batch_size,
            (config.batch_size + convolve_distributed_get_size (dist) - 1) / convolve_distributed_get_size (dist));

  progress = convolve_trainer_get_progress (trainer);
  loop = g_main_loop_new (NULL, FALSE);
  run.trainer = trainer;
  run.loop = loop;
  run.tty = isatty (fileno (stdout));
  run.epochs_total = progress->epochs_total;
  run.log_json_path = log_json_path;
  run.log_json = g_string_new (NULL);
  /* A resumed run shows only what is new, but its log holds every epoch. */
  run.steps_done = progress->history_n_steps;
  run.epochs_done = progress->history_n_epochs;
  for (guint i = 0; i < run.epochs_done; i++)
    {
      g_autofree char *line = convolve_history_epoch_to_json (convolve_history_get_epoch (progress->history, i));

      g_string_append_printf (run.log_json, "%s\n", line);
    }

  if (resume_path != NULL && (int) progress->history_n_epochs >= progress->epochs_total)
    /* Keras trains nothing either when initial_epoch == epochs; say so. */
    printf (ngettext ("The checkpoint has already done its %d epoch: nothing to train (give a larger --epochs)\n",
                      "The checkpoint has already done its %d epochs: nothing to train (give a larger --epochs)\n",
                      progress->epochs_total),
            progress->epochs_total);
  else if (resume_path != NULL)
    printf (_("Resuming at epoch %d, step %d of %d\n"),
            progress->epoch, progress->step, progress->steps_per_epoch);
  {
    guint n_train = MIN (convolve_dataset_get_n_images (train),
                         config.train_limit > 0 ? config.train_limit : G_MAXUINT);
    guint n_test = test != NULL ? convolve_dataset_get_n_images (test) : 0;
    g_autofree char *training = g_strdup_printf (ngettext ("Training on %u image", "Training on %u images", n_train),
                                                 n_train);
    g_autofree char *validating = g_strdup_printf (ngettext ("validating on %u image", "validating on %u images", n_test),
                                                   n_test);

    /* Translators: "Training on 6000 images" and "validating on 10000 images" */
    printf (_("%s, %s\n"), training, validating);
  }
  fflush (stdout);

  if (store != NULL)
    {
      g_autoptr(GError) record_error = NULL;
      ConvolveRunInfo info;

      convolve_trainer_describe_run (trainer, &info);
      info.dataset_path = options.data_dir;
      if (resume_run != 0)
        {
          run.recorder = convolve_run_recorder_new_for_run (store, resume_run, &record_error);
          if (run.recorder == NULL)
            return convolve_cli_fail ("%s", record_error->message);
        }
      else
        run.recorder = convolve_run_recorder_new (store, &info, convolve_trainer_get_config (trainer),
                                                  &record_error);
      if (run.recorder == NULL)
        fprintf (stderr, "convolve-cli: %s\n", record_error->message);
      else
        {
          g_autofree char *best = checkpoint_path != NULL ? convolve_trainer_best_path_for (checkpoint_path) : NULL;

          convolve_run_recorder_set_paths (run.recorder, checkpoint_path, best, save_path);
          printf (_("Recording as run %" PRId64 " in “%s”\n"),
                  convolve_run_recorder_get_run_id (run.recorder), convolve_run_store_get_path (store));
        }
    }

  g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &run);
  sigint_id = g_unix_signal_add (SIGINT, on_interrupt, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, on_interrupt, &run);

  if (!convolve_trainer_start (trainer, &error))
    {
      g_string_free (run.log_json, TRUE);
      return convolve_cli_fail ("%s", error->message);
    }
  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  /* The run is over; what is left are the saves, which Ctrl-C must not cut
   * short (it would leave their temporary files behind). */
  signal (SIGINT, SIG_IGN);
  signal (SIGTERM, SIG_IGN);
  g_signal_handlers_disconnect_by_func (trainer, on_progress, &run);
  g_string_free (run.log_json, TRUE);

  joined = convolve_trainer_join (trainer, &error);
  g_clear_pointer (&progress, convolve_progress_unref);
  progress = convolve_trainer_get_progress (trainer);
  if (run.recorder != NULL)
    {
      g_autoptr(GError) record_error = NULL;

      convolve_run_recorder_add_progress (run.recorder, progress);
      if (!convolve_run_recorder_finish (run.recorder, progress->state, progress->evaluation,
                                         progress->error, &record_error))
        fprintf (stderr, "convolve-cli: %s\n", record_error->message);
      g_clear_pointer (&run.recorder, convolve_run_recorder_free);
    }

  if (!joined)
    {
      g_autoptr(GError) save_error = NULL;

      g_clear_error (&run.log_error);
      status = convolve_cli_fail (_("training failed: %s"), error->message);
      /* The weights may still be good (say a checkpoint's disk filled up):
       * keep them if asked. Diverged weights are refused by the save. */
      if (save_path != NULL && convolve_trainer_save (trainer, save_path, TRUE, &save_error))
        printf (_("Model saved to “%s”\n"), save_path);
      return status;
    }

  /* A log that could not be written stopped the run, but the weights are
   * good: they are saved as asked before the log's error is reported. */
  if (progress->state == CONVOLVE_TRAINER_CANCELLED && checkpoint_path != NULL)
    {
      if (!convolve_trainer_save (trainer, checkpoint_path, TRUE, &error))
        status = convolve_cli_fail ("%s", error->message);
      else
        fprintf (stderr, _("Checkpoint saved to “%s”\n"), checkpoint_path);
      g_clear_error (&error);
    }
  if (progress->stop_reason == CONVOLVE_STOP_REASON_TIME_BUDGET)
    {
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
      double epochs_done = progress->steps_per_epoch > 0
                           ? (double) progress->global_step / progress->steps_per_epoch : 0.0;

      /* Translators: "Time budget of 60 s spent after 212 steps (11.2 epochs)" */
      printf (_("Time budget of %s s spent after %" PRId64 " steps (%s epochs)\n"),
              g_ascii_formatd (a, sizeof a, "%g", time_budget), progress->global_step,
              g_ascii_formatd (b, sizeof b, "%.1f", epochs_done));
    }
  print_best_epoch (trainer, progress);
  if (dist != NULL)
    print_distributed_stats (trainer, dist);
  if (save_path != NULL)
    {
      if (!convolve_trainer_save (trainer, save_path, TRUE, &error))
        status = convolve_cli_fail ("%s", error->message);
      else
        printf (_("Model saved to “%s”\n"), save_path);
      g_clear_error (&error);
    }
  if (save_best_path != NULL)
    {
      if (!convolve_trainer_save_best (trainer, save_best_path, &error))
        status = convolve_cli_fail ("%s", error->message);
      else
        printf (_("Best epoch’s model saved to “%s”\n"), save_best_path);
      g_clear_error (&error);
    }
  if (run.log_error != NULL)
    {
      fflush (stdout);
      status = convolve_cli_fail ("%s", run.log_error->message);
      g_clear_error (&run.log_error);
      return status;
    }
  if (status != 0)
    return status;

  if (progress->has_validation)
    {
      char a[G_ASCII_DTOSTR_BUF_SIZE];

      printf ("val_accuracy: %s\n", fixed4 (a, progress->val_accuracy));
    }
  fflush (stdout);

  if (progress->state == CONVOLVE_TRAINER_CANCELLED)
    {
      convolve_cli_fail (_("training stopped before the last epoch"));
      return 130;
    }
  return 0;
}
