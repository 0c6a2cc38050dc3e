/* convolve-cli-summary.c: `convolve-cli summary`, the Keras-style table of
 * a model's layers and parameter counts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-engine.h"

/* "32x32x3" (height x width x channels, as Keras writes input shapes). */
static gboolean
parse_input_shape (const char *text, ConvolveShape *shape)
{
  g_auto(GStrv) parts = g_strsplit (text, "x", -1);
  gint64 v[3];

  if (g_strv_length (parts) != 3)
    return FALSE;
  for (int i = 0; i < 3; i++)
    if (!g_ascii_string_to_signed (parts[i], 10, 1, 4096, &v[i], NULL))
      return FALSE;
  shape->h = (int) v[0];
  shape->w = (int) v[1];
  shape->c = (int) v[2];
  return TRUE;
}

int
convolve_cli_summary (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  g_autofree char *input_text = NULL;
  g_autofree char *spec_text = NULL;
  int n_classes = 10;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_STRING, &input_text,
      N_("Input shape as HEIGHTxWIDTHxCHANNELS (default 32x32x3)"), N_("SHAPE") },
    { "classes", 'c', 0, G_OPTION_ARG_INT, &n_classes,
      N_("Number of classes of the preset model (default 10)"), N_("N") },
    { "spec", 's', 0, G_OPTION_ARG_STRING, &spec_text,
      N_("Model spec, e.g. “conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(10,softmax)”"),
      N_("TEXT") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_PRESET),
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autofree char *summary = NULL;
  ConvolveShape input = { 3, 32, 32 };

  if (!convolve_cli_parse_options (&options, entries, NULL, _("Print the model’s layers and parameter counts."),
                                   CONVOLVE_CLI_PARSE_DEFAULT, &argc, &argv))
    return 1;

  if (input_text != NULL && !parse_input_shape (input_text, &input))
    return convolve_cli_fail (_("invalid input shape “%s”: expected HEIGHTxWIDTHxCHANNELS, e.g. 32x32x3"),
                              input_text);

  if (spec_text == NULL && (n_classes < 2 || n_classes > 65536))
    return convolve_cli_fail (_("the number of classes must be from 2 to 65536, not %d"), n_classes);
  spec = convolve_cli_options_make_spec (&options, spec_text, n_classes, &error);
  if (spec == NULL)
    return convolve_cli_fail ("%s", error->message);

  /* Only the shapes matter here; weights are built for a batch of one. */
  model = convolve_model_new (spec, &input, 1, 0, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);

  summary = convolve_model_summary (model);
  fputs (summary, stdout);
  return 0;
}
