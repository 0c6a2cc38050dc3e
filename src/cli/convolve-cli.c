/* convolve-cli.c: the headless face of Convolve.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "convolve-cli.h"
#include "convolve-engine.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *description; /* N_() */
} Command;

static const Command commands[] = {
  /* keep in the order of the help text */
  { "summary",  convolve_cli_summary,  N_("Print the model's layers and parameter counts") },
  { "bench",    convolve_cli_bench,    N_("Measure training and prediction speed") },
  { "train",    convolve_cli_train,    N_("Train a model on a dataset") },
  { "lr-find",  convolve_cli_lr_find,  N_("Suggest a learning rate from a short sweep") },
  { "evaluate", convolve_cli_evaluate, N_("Measure a saved model on a dataset’s test set") },
  { "predict",  convolve_cli_predict,  N_("Print the most probable classes of image files") },
  { "export",   convolve_cli_export,   N_("Write a saved model as ONNX, for other programs") },
  { "explain",  convolve_cli_explain,  N_("Show where in image files the model sees a class (saliency, Grad-CAM)") },
  { "runs",     convolve_cli_runs,     N_("List, show, compare, export or delete recorded training runs") },
  { "download", convolve_cli_download, N_("Download CIFAR-10 into Convolve's data folder") },
};

int
convolve_cli_fail (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "convolve-cli: %s\n", message);
  return 1;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: convolve-cli COMMAND [OPTION…]"));
  fprintf (out, "%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, _(commands[i].description));
  fprintf (out, "\n%s\n", _("Run “convolve-cli COMMAND --help” for the options of a command."));
}

int
main (int argc, char **argv)
{
  convolve_engine_choose_blas_kernels (argv);
  convolve_engine_flush_subnormals ();
  setlocale (LC_ALL, "");
  /* CONVOLVE_LOCALEDIR: where the compiled catalogues are when running
   * uninstalled (scripts/run-app.sh and `meson devenv` set it to <build>/po);
   * installed, the configured LOCALEDIR. */
  const char *localedir = g_getenv ("CONVOLVE_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("convolve-cli");

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("convolve-cli %s\n", PACKAGE_VERSION);
      return 0;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  convolve_cli_fail (_("unknown command “%s”"), argv[1]);
  print_usage (stderr);
  return 2;
}
