/* convolve-cli-export.c: `convolve-cli export`, a saved model in a format
 * other programs run (ONNX).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-onnx-export.h"

int
convolve_cli_export (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  g_autofree char *format = NULL;
  g_autofree char *out_path = NULL;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_MODEL),
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("The format to write: onnx (the default and, for now, the only one)"), N_("FORMAT") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path,
      N_("The file to write (replaced atomically)"), N_("FILE") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autofree char *display_name = NULL;

  if (!convolve_cli_parse_options (&options, entries, NULL,
                                   _("Write a saved model for other programs: ONNX (opset 13), with an "
                                     "input named “input” (float32 N×C×H×W, pixels scaled as in training), "
                                     "an output “probabilities”, and the class names in its metadata."),
                                   CONVOLVE_CLI_PARSE_NEEDS_MODEL, &argc, &argv))
    return 1;
  if (format != NULL && g_ascii_strcasecmp (format, "onnx") != 0)
    return convolve_cli_fail (_("unknown format “%s”: the only one is onnx"), format);
  if (out_path == NULL)
    return convolve_cli_fail (_("no output file: give --out FILE"));

  model = convolve_model_load (options.model_path, 1, &meta, NULL, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);
  if (!convolve_onnx_export (model, meta, out_path, &error))
    return convolve_cli_fail ("%s", error->message);

  display_name = g_filename_display_name (out_path);
  /* Translators: %s is a file name */
  printf (_("Exported the model to “%s”"), display_name);
  printf ("\n");
  return 0;
}
