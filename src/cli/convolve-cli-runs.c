/* convolve-cli-runs.c: `convolve-cli runs`, the run store from the command
 * line: list, show, compare, export and delete recorded runs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-runs-plot.h"
#include "convolve-train.h"

/* Figures with '.' whatever the locale: scripts read these lines. */
static const char *
fixed4 (char   *buffer,
        double  value)
{
  if (isnan (value))
    return "-";
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, "%.4f", value);
}

static char *
format_time (gint64 microseconds)
{
  g_autoptr(GDateTime) time = NULL;

  if (microseconds <= 0)
    return g_strdup ("-");
  time = g_date_time_new_from_unix_local (microseconds / G_USEC_PER_SEC);
  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M") : g_strdup ("-");
}

static gboolean
parse_id (const char  *text,
          gint64      *id,
          GError     **error)
{
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &value, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a run number"), text != NULL ? text : "");
      return FALSE;
    }
  *id = (gint64) value;
  return TRUE;
}

static int
runs_list (ConvolveRunStore *store,
           const char       *dataset)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = convolve_run_store_list_runs (store, dataset, CONVOLVE_RUN_SORT_NEWEST, &error);

  if (runs == NULL)
    return convolve_cli_fail ("%s", error->message);
  if (runs->len == 0)
    {
      printf ("%s\n", _("No runs recorded yet"));
      return 0;
    }

  /* Translators: column titles of `convolve-cli runs list`; keep them short */
  printf ("%-5s %-16s %-12s %-16s %-12s %6s %8s %8s\n",
          _("ID"), _("Name"), _("Status"), _("Started"), _("Dataset"), _("Epochs"), _("Best"), _("Final"));
  for (guint i = 0; i < runs->len; i++)
    {
      ConvolveRunRecord *run = g_ptr_array_index (runs, i);
      g_autofree char *started = format_time (run->started_at);
      char best[G_ASCII_DTOSTR_BUF_SIZE], last[G_ASCII_DTOSTR_BUF_SIZE];

      printf ("%-5" PRId64 " %-16.16s %-12s %-16s %-12.12s %6d %8s %8s\n",
              run->id, run->name != NULL ? run->name : "",
              convolve_run_status_to_string (run->status), started,
              run->dataset_name != NULL ? run->dataset_name : "",
              run->n_epochs_done, fixed4 (best, run->best_val_accuracy),
              fixed4 (last, run->final_accuracy));
    }
  return 0;
}

/* The settings as key/value pairs, the same order for every run (the
 * rule lives in convolve-run-comparison.c, shared with the app). */
static GPtrArray *
run_settings (const ConvolveRunRecord *run)
{
  GPtrArray *pairs = g_ptr_array_new_with_free_func (g_free);

  for (guint s = 0; s < CONVOLVE_RUN_N_SETTINGS; s++)
    {
      g_ptr_array_add (pairs, g_strdup (convolve_run_setting_get_key (s)));
      g_ptr_array_add (pairs, convolve_run_setting_format (s, run));
    }
  return pairs;
}

static int
runs_show (ConvolveRunStore *store,
           gint64            id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunRecord) run = convolve_run_store_get_run (store, id, &error);
  g_autoptr(GPtrArray) settings = NULL;
  g_autofree char *started = NULL;
  g_autofree char *ended = NULL;
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

  if (run == NULL)
    return convolve_cli_fail ("%s", error->message);

  started = format_time (run->started_at);
  ended = format_time (run->ended_at);
  printf ("%-16s %" PRId64 "\n", "id", run->id);
  printf ("%-16s %s\n", "name", run->name != NULL ? run->name : "");
  printf ("%-16s %s\n", "status", convolve_run_status_to_string (run->status));
  if (run->error_message != NULL)
    printf ("%-16s %s\n", "error", run->error_message);
  printf ("%-16s %s\n", "started", started);
  printf ("%-16s %s\n", "ended", ended);
  settings = run_settings (run);
  for (guint i = 0; i + 1 < settings->len; i += 2)
    printf ("%-16s %s\n", (char *) g_ptr_array_index (settings, i), (char *) g_ptr_array_index (settings, i + 1));
  printf ("%-16s %d\n", "epochs_done", run->n_epochs_done);
  printf ("%-16s %d (val_loss %s, val_accuracy %s)\n", "best_epoch", run->best_epoch,
          fixed4 (a, run->best_val_loss), fixed4 (b, run->best_val_accuracy));
  printf ("%-16s loss %s, accuracy %s\n", "final", fixed4 (a, run->final_loss), fixed4 (b, run->final_accuracy));
  if (run->checkpoint_path != NULL)
    printf ("%-16s %s\n", "checkpoint", run->checkpoint_path);
  if (run->model_path != NULL)
    printf ("%-16s %s\n", "model", run->model_path);
  return 0;
}

/* Side by side: the settings that differ (marked with *) and each run's
 * results, so a sweep's runs read at a glance; out (nullable): their
 * validation curves plotted to a .png or .svg file, runs that differ only
 * in the seed as one mean curve with a band unless separate. */
static int
runs_compare (ConvolveRunStore  *store,
              int                n_ids,
              char             **ids,
              const char        *out,
              gboolean           separate)
{
  g_autoptr(ConvolveRunComparison) comparison = NULL;
  g_autoptr(GArray) run_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) settings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GError) error = NULL;
  ConvolveReportFormat format = CONVOLVE_REPORT_FORMAT_PNG;
  const GArray *differing;
  guint n_runs, next_differing = 0;

  if (n_ids < 2)
    return convolve_cli_fail (_("compare needs two or more run numbers"));
  if (out != NULL)
    {
      if (g_str_has_suffix (out, ".svg"))
        format = CONVOLVE_REPORT_FORMAT_SVG;
      else if (!g_str_has_suffix (out, ".png"))
        return convolve_cli_fail (_("--out must name a .png or .svg file, not “%s”"), out);
    }
  for (int i = 0; i < n_ids; i++)
    {
      gint64 id;

      if (!parse_id (ids[i], &id, &error))
        return convolve_cli_fail ("%s", error->message);
      g_array_append_val (run_ids, id);
    }
  comparison = convolve_run_comparison_load (store, (const gint64 *) run_ids->data, run_ids->len,
                                             !separate, &error);
  if (comparison == NULL)
    return convolve_cli_fail ("%s", error->message);
  n_runs = convolve_run_comparison_get_n_runs (comparison);
  differing = convolve_run_comparison_get_differing (comparison);
  for (guint r = 0; r < n_runs; r++)
    g_ptr_array_add (settings, run_settings (convolve_run_comparison_get_run (comparison, r)));

  printf ("%-16s", "");
  for (guint r = 0; r < n_runs; r++)
    printf (" %14" PRId64, convolve_run_comparison_get_run (comparison, r)->id);
  printf ("\n");
  for (guint s = 0; s < CONVOLVE_RUN_N_SETTINGS; s++)
    {
      gboolean differs = next_differing < differing->len &&
                         g_array_index (differing, guint, next_differing) == s;

      next_differing += differs;
      printf ("%c %-14s", differs ? '*' : ' ', convolve_run_setting_get_key (s));
      for (guint r = 0; r < n_runs; r++)
        printf (" %14.14s", (char *) g_ptr_array_index ((GPtrArray *) g_ptr_array_index (settings, r), 2 * s + 1));
      printf ("\n");
    }
  {
    static const char *rows[] = { "best_epoch", "best_val_acc", "final_acc" };

    for (guint k = 0; k < G_N_ELEMENTS (rows); k++)
      {
        printf ("  %-14s", rows[k]);
        for (guint r = 0; r < n_runs; r++)
          {
            const ConvolveRunRecord *run = convolve_run_comparison_get_run (comparison, r);
            char buffer[G_ASCII_DTOSTR_BUF_SIZE];

            if (k == 0)
              printf (" %14d", run->best_epoch);
            else
              printf (" %14s", fixed4 (buffer, k == 1 ? run->best_val_accuracy : run->final_accuracy));
          }
        printf ("\n");
      }
  }
  /* The curves as plotted, for scripts: "curve: 1 2 3" per seed group. */
  for (guint c = 0; c < convolve_run_comparison_get_n_curves (comparison); c++)
    {
      const ConvolveRunCurve *curve = convolve_run_comparison_get_curve (comparison, c);

      printf ("curve:");
      for (guint m = 0; m < curve->n_runs; m++)
        printf (" %" PRId64, curve->run_ids[m]);
      printf ("\n");
    }

  if (out != NULL)
    {
      g_autoptr(GBytes) bytes = convolve_runs_plot_render (format, CONVOLVE_RUNS_PLOT_EXPORT_WIDTH,
                                                           CONVOLVE_RUNS_PLOT_EXPORT_HEIGHT,
                                                           comparison, &error);

      if (bytes == NULL || !convolve_report_save (bytes, out, &error))
        return convolve_cli_fail ("%s", error->message);
      printf (_("Wrote the curves to %s\n"), out);
    }
  return 0;
}

int
convolve_cli_runs (int argc, char **argv)
{
  g_autofree char *runs_db = NULL;
  g_autofree char *format = NULL;
  g_autofree char *dataset = NULL;
  g_autofree char *out = NULL;
  gboolean yes = FALSE;
  gboolean separate = FALSE;
  GOptionEntry entries[] = {
    { "runs-db", 0, 0, G_OPTION_ARG_FILENAME, &runs_db,
      N_("The run store (default: Convolve’s data folder, or $CONVOLVE_RUNS_DB)"), N_("FILE") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("export: json (default), csv (per epoch) or steps-csv"), N_("FORMAT") },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &dataset,
      N_("list: only the runs on this dataset"), N_("NAME") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      N_("compare: plot the validation curves to FILE (.png or .svg)"), N_("FILE") },
    { "separate", 0, 0, G_OPTION_ARG_NONE, &separate,
      N_("compare: one curve per run, also for runs that differ only in the seed"), NULL },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes,
      N_("delete: do not ask (the run’s files are not deleted)"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  const char *command;
  gint64 id = 0;

  context = g_option_context_new (_("list | show ID | compare ID ID… [--out FILE] | export ID | delete ID"));
  g_option_context_set_summary (context, _("The runs recorded in the run store: every training "
                                           "run of the app and of `convolve-cli train`."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return convolve_cli_fail ("%s", error->message);
  if (argc < 2)
    return convolve_cli_fail (_("give a command: list, show, compare, export or delete"));
  command = argv[1];

  store = convolve_run_store_open (runs_db, &error);
  if (store == NULL)
    return convolve_cli_fail ("%s", error->message);

  if (g_strcmp0 (command, "list") == 0)
    return runs_list (store, dataset);
  if (g_strcmp0 (command, "compare") == 0)
    return runs_compare (store, argc - 2, argv + 2, out, separate);
  if (g_strcmp0 (command, "show") != 0 && g_strcmp0 (command, "export") != 0 &&
      g_strcmp0 (command, "delete") != 0)
    return convolve_cli_fail (_("unknown command “%s”: use list, show, compare, export or delete"), command);
  if (argc != 3 || !parse_id (argv[2], &id, &error))
    return convolve_cli_fail ("%s", error != NULL ? error->message : _("give one run number"));

  if (g_strcmp0 (command, "show") == 0)
    return runs_show (store, id);
  if (g_strcmp0 (command, "export") == 0)
    {
      ConvolveRunExportFormat kind = CONVOLVE_RUN_EXPORT_JSON;
      g_autofree char *text = NULL;

      if (g_strcmp0 (format, "csv") == 0)
        kind = CONVOLVE_RUN_EXPORT_EPOCHS_CSV;
      else if (g_strcmp0 (format, "steps-csv") == 0)
        kind = CONVOLVE_RUN_EXPORT_STEPS_CSV;
      else if (format != NULL && g_strcmp0 (format, "json") != 0)
        return convolve_cli_fail (_("unknown format “%s”: use json, csv or steps-csv"), format);
      text = convolve_run_store_export_run (store, id, kind, &error);
      if (text == NULL)
        return convolve_cli_fail ("%s", error->message);
      fputs (text, stdout);
      return 0;
    }

  /* delete */
  if (!yes)
    return convolve_cli_fail (_("delete removes run %" PRId64 " for good: add --yes to do it"), id);
  {
    /* Its checkpoints go with it; a model saved with --save is the user's. */
    g_autoptr(ConvolveRunRecord) run = convolve_run_store_get_run (store, id, &error);

    if (run == NULL || !convolve_run_store_delete_run (store, id, &error))
      return convolve_cli_fail ("%s", error->message);
    convolve_run_store_delete_run_files (store, run, FALSE);
  }
  printf (_("Deleted run %" PRId64 "\n"), id);
  return 0;
}
