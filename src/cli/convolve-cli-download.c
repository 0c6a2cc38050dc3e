/* convolve-cli-download.c: `convolve-cli download`, CIFAR-10 into
 * Convolve's data folder (or --dest), with progress on stderr: one updating
 * line on a terminal, a plain line every few seconds otherwise. Ctrl-C
 * cancels cleanly (a second Ctrl-C kills at once); the part file is kept and
 * the next run resumes it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-download.h"

#define PLAIN_INTERVAL_US (5 * G_USEC_PER_SEC)
#define BAR_WIDTH         24

typedef struct {
  GMainLoop             *loop;
  GCancellable          *cancellable;
  gboolean               is_terminal;
  gboolean               line_open;     /* an updating line is on screen */
  gboolean               reported;
  ConvolveDownloadPhase  last_phase;
  gint64                 last_plain_us;
  guint                  sigint_id;
  guint                  sigterm_id;
  gboolean               ok;
  GError                *error;
} CliDownload;

/* "1:02:03" or "2:03" */
static char *
format_duration (double seconds)
{
  guint64 s = (guint64) (seconds + 0.5);

  if (s >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  return g_strdup_printf ("%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

/* "76.5 MB of 170.1 MB (45%), 5.2 MB/s, 0:18 left" (the parts that are known) */
static char *
describe_progress (const ConvolveDownloadProgress *progress)
{
  GString *text = g_string_new (NULL);
  g_autofree char *received = g_format_size (progress->received);

  if (progress->phase == CONVOLVE_DOWNLOAD_PHASE_CONNECTING ||
      progress->phase == CONVOLVE_DOWNLOAD_PHASE_VERIFYING)
    return g_string_free (text, FALSE);

  if (progress->total > 0)
    {
      g_autofree char *total = g_format_size (progress->total);
      int percent = (int) (100.0 * (double) progress->received / (double) progress->total);

      /* Translators: "76.5 MB of 170.1 MB (45%)" */
      g_string_append_printf (text, _("%s of %s (%d%%)"), received, total, percent);
    }
  else
    {
      g_string_append (text, received);
    }

  if (progress->bytes_per_second > 0)
    {
      g_autofree char *rate = g_format_size ((guint64) progress->bytes_per_second);

      g_string_append (text, ", ");
      /* Translators: a transfer rate, "5.2 MB/s" */
      g_string_append_printf (text, _("%s/s"), rate);
    }
  if (progress->eta_seconds > 0)
    {
      g_autofree char *eta = format_duration (progress->eta_seconds);

      g_string_append (text, ", ");
      /* Translators: time remaining, "0:18 left" */
      g_string_append_printf (text, _("%s left"), eta);
    }
  return g_string_free (text, FALSE);
}

static void
clear_line (CliDownload *cli)
{
  if (!cli->line_open)
    return;
  fputs ("\r\033[K", stderr);
  fflush (stderr);
  cli->line_open = FALSE;
}

static void
on_progress (const ConvolveDownloadProgress *progress,
             gpointer                        user_data)
{
  CliDownload *cli = user_data;
  const char *label = convolve_download_phase_get_label (progress->phase);
  g_autofree char *details = describe_progress (progress);
  gboolean new_phase = !cli->reported || progress->phase != cli->last_phase;
  gint64 now = g_get_monotonic_time ();

  cli->reported = TRUE;
  cli->last_phase = progress->phase;

  if (cli->is_terminal)
    {
      char bar[BAR_WIDTH + 1];
      int filled = 0;

      if (progress->total > 0)
        filled = (int) ((double) BAR_WIDTH * (double) MIN (progress->received, progress->total) /
                        (double) progress->total);
      for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '-';
      bar[BAR_WIDTH] = '\0';

      if (progress->total > 0 && *details != '\0')
        fprintf (stderr, "\r\033[K%-12s [%s] %s", label, bar, details);
      else
        fprintf (stderr, "\r\033[K%-12s %s", label, details);
      if (progress->attempt > 1)
        /* Translators: shown after the progress while retrying, "(try 2)" */
        fprintf (stderr, _(" (try %u)"), progress->attempt);
      fflush (stderr);
      cli->line_open = TRUE;
      return;
    }

  if (!new_phase && now - cli->last_plain_us < PLAIN_INTERVAL_US)
    return;
  cli->last_plain_us = now;
  if (*details != '\0')
    fprintf (stderr, "%s: %s\n", label, details);
  else
    fprintf (stderr, "%s…\n", label);
  fflush (stderr);
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  CliDownload *cli = user_data;

  cli->ok = convolve_download_run_finish (CONVOLVE_DOWNLOAD (source), result, &cli->error);
  g_main_loop_quit (cli->loop);
}

static gboolean
on_interrupt (gpointer user_data)
{
  CliDownload *cli = user_data;

  clear_line (cli);
  fprintf (stderr, "%s\n", _("Cancelling…"));
  g_cancellable_cancel (cli->cancellable);
  /* without our handlers, a second Ctrl-C gets the default action back */
  g_clear_handle_id (&cli->sigint_id, g_source_remove);
  g_clear_handle_id (&cli->sigterm_id, g_source_remove);
  return G_SOURCE_CONTINUE;
}

int
convolve_cli_download (int argc, char **argv)
{
  g_autofree char *url = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *md5 = NULL;
  GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url,
      N_("Where to download the archive from (default: the University of Toronto’s copy)"), N_("URL") },
    { "dest", 0, 0, G_OPTION_ARG_FILENAME, &dest,
      N_("Folder to put cifar-10-batches-bin in (default: Convolve’s data folder)"), N_("DIR") },
    { "md5", 0, 0, G_OPTION_ARG_STRING, &md5,
      N_("Expected MD5 of the archive (default: that of the official CIFAR-10 binary archive)"), N_("HEX") },
    { NULL }
  };
  g_autoptr(ConvolveDownload) download = NULL;
  g_autofree char *dataset_dir = NULL;
  g_autofree char *display = NULL;
  CliDownload cli = { 0 };
  int status;

  if (!convolve_cli_parse_options (NULL, entries, NULL,
                                   _("Download CIFAR-10 (binary version), check its MD5 and unpack it. "
                                     "An interrupted download is resumed by the next run."),
                                   CONVOLVE_CLI_PARSE_DEFAULT, &argc, &argv))
    return 1;
  /* An empty name would quietly mean the current folder. */
  if (dest != NULL && *dest == '\0')
    return convolve_cli_fail (_("%s needs a folder name"), "--dest");
  if (md5 != NULL && !convolve_download_md5_is_valid (md5))
    return convolve_cli_fail (_("“%s” is not an MD5: expected 32 hexadecimal digits"), md5);

  download = convolve_download_new (dest);
  if (url != NULL)
    convolve_download_set_url (download, url);
  if (md5 != NULL)
    convolve_download_set_expected_md5 (download, md5);
  dataset_dir = convolve_download_dup_dataset_dir (download);
  display = g_filename_display_name (dataset_dir);

  cli.loop = g_main_loop_new (NULL, FALSE);
  cli.cancellable = g_cancellable_new ();
  cli.is_terminal = isatty (STDERR_FILENO);
  fprintf (stderr, _("Downloading %s into %s\n"), convolve_download_get_url (download), display);

  cli.sigint_id = g_unix_signal_add (SIGINT, on_interrupt, &cli);
  cli.sigterm_id = g_unix_signal_add (SIGTERM, on_interrupt, &cli);
  convolve_download_run_async (download, cli.cancellable, on_progress, &cli, NULL, on_done, &cli);
  g_main_loop_run (cli.loop);
  g_clear_handle_id (&cli.sigint_id, g_source_remove);
  g_clear_handle_id (&cli.sigterm_id, g_source_remove);
  clear_line (&cli);

  if (cli.ok)
    {
      printf (_("CIFAR-10 is ready in %s\n"), display);
      status = 0;
    }
  else if (g_error_matches (cli.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED))
    {
      convolve_cli_fail (_("The download was cancelled; running it again resumes it"));
      status = 130;  /* as for a shell command ended by SIGINT */
    }
  else
    {
      status = convolve_cli_fail ("%s", cli.error->message);
    }

  g_clear_error (&cli.error);
  g_clear_object (&cli.cancellable);
  g_main_loop_unref (cli.loop);
  return status;
}
