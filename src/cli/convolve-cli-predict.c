/* convolve-cli-predict.c: `convolve-cli predict`, the most probable
 * classes of image files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-cli-predictions.h"
#include "convolve-loaders.h"
#include "convolve-train.h"

int
convolve_cli_predict (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  int top = 3;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_MODEL),
    { "top", 'k', 0, G_OPTION_ARG_INT, &top,
      N_("How many classes to show per image (default 3)"), N_("N") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_PICTURE_FIT),
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autofree float *input = NULL;
  g_autofree float *probabilities = NULL;
  ConvolveShape shape;
  int n_classes, status = 0;

  if (!convolve_cli_parse_options (&options, entries, _("IMAGE…"),
                                   _("Print the most probable classes of each image, as the model sees it "
                                     "(the image is resized to the model’s input size; one of another shape "
                                     "is cropped or padded as --fit says)."),
                                   CONVOLVE_CLI_PARSE_ARGUMENTS | CONVOLVE_CLI_PARSE_NEEDS_MODEL,
                                   &argc, &argv))
    return 1;
  if (argc < 2)
    return convolve_cli_fail (_("no image: give one or more image files"));
  if (top < 1)
    return convolve_cli_fail (_("--top must be at least 1, not %d"), top);

  model = convolve_model_load (options.model_path, 1, &meta, NULL, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);

  shape = convolve_model_get_input (model);
  n_classes = convolve_model_get_n_classes (model);
  input = g_new (float, (gsize) shape.c * shape.h * shape.w);
  probabilities = g_new (float, n_classes);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (argv[i]);
      g_autoptr(GError) image_error = NULL;

      if (!convolve_image_load_file (file, shape, options.fit, input, NULL, NULL, &image_error) ||
          !convolve_predict_image (model, input, probabilities, &image_error))
        {
          status = convolve_cli_fail ("%s", image_error->message);
          continue;
        }

      convolve_cli_print_top_classes (argv[i], probabilities, n_classes, top, meta);
    }

  return status;
}
