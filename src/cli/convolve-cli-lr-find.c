/* convolve-cli-lr-find.c: `convolve-cli lr-find`, the learning-rate range
 * test (see convolve-lr-finder.h): prints the two suggestions and, with
 * --out, plots the curve as PNG or SVG.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>

#include "convolve-cli.h"
#include "convolve-cli-dataset.h"
#include "convolve-cli-options.h"
#include "convolve-lr-plot.h"
#include "convolve-train.h"

/* A rate as text that reads back, with '.' whatever the locale. */
static const char *
format_rate (char   *buffer,
             double  value)
{
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, "%.3g", value);
}

static gboolean
parse_rate (const char *option,
            const char *text,
            double     *value)
{
  char *end = NULL;

  if (text == NULL)
    return TRUE;
  *value = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !(*value > 0.0) || !isfinite (*value))
    {
      convolve_cli_fail (_("%s must be a number greater than 0, not “%s”"), option, text);
      return FALSE;
    }
  return TRUE;
}

int
convolve_cli_lr_find (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  g_autofree char *spec_text = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *optimizer_name = NULL;
  g_autofree char *seed_text = NULL;
  g_autofree char *start_text = NULL;
  g_autofree char *end_text = NULL;
  int batches = G_MININT, batch_size = G_MININT;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATA),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATASET),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_IMAGE_SIZE),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_FIT),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_VALIDATION_FRACTION),
    { "spec", 's', 0, G_OPTION_ARG_STRING, &spec_text,
      N_("Model spec instead of the tutorial model"), N_("TEXT") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_PRESET),
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &options.model_path,
      N_("Start from this model’s weights instead of new ones"), N_("FILE") },
    { "batches", 'n', 0, G_OPTION_ARG_INT, &batches,
      N_("Batches in the sweep (default 100)"), N_("N") },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size,
      N_("Images per optimizer step (default 32)"), N_("N") },
    { "start-lr", 0, 0, G_OPTION_ARG_STRING, &start_text,
      N_("First learning rate (default 1e-7)"), N_("RATE") },
    { "end-lr", 0, 0, G_OPTION_ARG_STRING, &end_text,
      N_("Last learning rate (default 10)"), N_("RATE") },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer_name,
      N_("adam (default) or sgd"), N_("NAME") },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text,
      N_("Random seed for new weights and the order of the images (default 0)"), N_("N") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_THREADS),
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path,
      N_("Plot the smoothed loss against the learning rate to FILE (.png or .svg)"), N_("FILE") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveLrFinderResult) result = NULL;
  ConvolveLrFinderConfig config;
  ConvolveReportFormat format = CONVOLVE_REPORT_FORMAT_PNG;
  guint64 seed = 0;
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

  if (!convolve_cli_parse_options (&options, entries, NULL,
                                   _("Find a learning rate: train briefly on a copy of the weights with the rate "
                                     "rising from 1e-7 to 10, and suggest where the loss falls fastest (steep) "
                                     "and the middle of its longest descent (valley)."),
                                   CONVOLVE_CLI_PARSE_DEFAULT, &argc, &argv))
    return 1;

  convolve_lr_finder_config_init (&config);
  if (batches != G_MININT)
    config.n_batches = batches;
  if (batch_size != G_MININT)
    config.batch_size = batch_size;
  if (!parse_rate ("--start-lr", start_text, &config.start_lr) ||
      !parse_rate ("--end-lr", end_text, &config.end_lr))
    return 1;
  if (optimizer_name != NULL && g_strcmp0 (optimizer_name, "adam") != 0 && g_strcmp0 (optimizer_name, "sgd") != 0)
    return convolve_cli_fail (_("unknown optimizer “%s”: use adam or sgd"), optimizer_name);
  if (optimizer_name != NULL)
    config.optimizer = g_strcmp0 (optimizer_name, "sgd") == 0 ? CONVOLVE_OPTIMIZER_SGD : CONVOLVE_OPTIMIZER_ADAM;
  if (seed_text != NULL && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXUINT64, &seed, NULL))
    return convolve_cli_fail (_("--seed must be a whole number from 0 to %" PRIu64 ", not “%s”"),
                              G_MAXUINT64, seed_text);
  config.seed = seed;
  config.threads = convolve_cli_options_get_threads (&options);
  if (!convolve_lr_finder_config_validate (&config, &error))
    return convolve_cli_fail ("%s", error->message);
  if (spec_text != NULL && options.model_path != NULL)
    return convolve_cli_fail (_("--spec cannot be combined with --model: the model file holds the layers"));
  if (options.preset_name != NULL && options.model_path != NULL)
    return convolve_cli_fail (_("--preset cannot be combined with --model: the model file holds the layers"));
  if (out_path != NULL)
    {
      if (g_str_has_suffix (out_path, ".svg"))
        format = CONVOLVE_REPORT_FORMAT_SVG;
      else if (!g_str_has_suffix (out_path, ".png"))
        return convolve_cli_fail (_("--out must name a .png or .svg file, not “%s”"), out_path);
    }

  /* a model given first: an image folder is loaded at its input's size */
  if (options.model_path != NULL)
    {
      ConvolveShape model_input;

      model = convolve_model_load (options.model_path, 1, NULL, NULL, &error);
      if (model == NULL)
        return convolve_cli_fail ("%s", error->message);
      model_input = convolve_model_get_input (model);
      if (!convolve_cli_load_dataset (&options, &model_input, &train, &test, &error))
        return convolve_cli_fail ("%s", error->message);
    }
  else
    {
      g_autoptr(ConvolveModelSpec) spec = NULL;
      ConvolveShape shape;

      if (!convolve_cli_load_dataset (&options, NULL, &train, &test, &error))
        return convolve_cli_fail ("%s", error->message);
      shape = convolve_dataset_get_shape (train);
      spec = convolve_cli_options_make_spec (&options, spec_text, convolve_dataset_get_n_classes (train), &error);
      if (spec != NULL)
        model = convolve_model_new (spec, &shape, 1, seed, &error);
    }
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);

  printf (_("Sweeping the learning rate from %s to %s over %d batches of %d images\n"),
          format_rate (a, config.start_lr), format_rate (b, config.end_lr), config.n_batches,
          (int) MIN ((guint) config.batch_size, convolve_dataset_get_n_images (train)));
  fflush (stdout);
  result = convolve_lr_find (model, train, &config, NULL, NULL, NULL, &error);
  if (result == NULL)
    return convolve_cli_fail ("%s", error->message);

  if (result->diverged)
    printf (_("The loss exploded at %s; the sweep stopped after %u batches\n"),
            format_rate (a, result->points[result->n_points - 1].lr), result->n_points);
  if (isnan (result->steep_lr) || isnan (result->valley_lr))
    {
      printf (_("Too few batches before the loss exploded to suggest a rate; try more batches or a lower --end-lr\n"));
    }
  else
    {
      /* For scripts, like train's "val_accuracy:". */
      printf ("steep: %s\n", format_rate (a, result->steep_lr));
      printf ("valley: %s\n", format_rate (a, result->valley_lr));
    }

  if (out_path != NULL)
    {
      g_autoptr(GBytes) bytes = convolve_lr_plot_render (format, CONVOLVE_LR_PLOT_EXPORT_WIDTH,
                                                         CONVOLVE_LR_PLOT_EXPORT_HEIGHT, result, &error);

      if (bytes == NULL || !convolve_report_save (bytes, out_path, &error))
        return convolve_cli_fail ("%s", error->message);
      printf (_("Plot saved to “%s”\n"), out_path);
    }
  return 0;
}
