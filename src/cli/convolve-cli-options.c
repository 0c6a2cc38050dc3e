/* convolve-cli-options.c: shared option entries and the parsing of a
 * subcommand's options.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"

void
convolve_cli_options_clear (ConvolveCliOptions *options)
{
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->dataset_name, g_free);
  g_clear_pointer (&options->model_path, g_free);
  g_clear_pointer (&options->preset_name, g_free);
  options->threads = CONVOLVE_CLI_THREADS_UNSET;
  options->image_size = CONVOLVE_CLI_IMAGE_SIZE_UNSET;
  g_clear_pointer (&options->fit_name, g_free);
  g_clear_pointer (&options->validation_text, g_free);
  options->fit = CONVOLVE_IMAGE_FIT_CROP;
  options->validation_fraction = NAN;
}

#define FIELD(member) G_STRUCT_OFFSET (ConvolveCliOptions, member)

/* Each entry without its arg_data, which is the field at offset. */
static const struct {
  GOptionEntry entry;
  gsize        offset;
} shared_entries[] = {
  [CONVOLVE_CLI_OPTION_DATA] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Dataset folder (CIFAR-10 binary or python batches, IDX files, or one subfolder of pictures per class)"), N_("DIR") },
    FIELD (data_dir) },
  [CONVOLVE_CLI_OPTION_DATASET] = {
    { "dataset", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Dataset found on this machine: cifar10, fashion-mnist or mnist"), N_("NAME") },
    FIELD (dataset_name) },
  [CONVOLVE_CLI_OPTION_THREADS] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, NULL,
      N_("Threads for the computation (default: all cores)"), N_("N") },
    FIELD (threads) },
  [CONVOLVE_CLI_OPTION_MODEL] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Model or checkpoint file"), N_("FILE") },
    FIELD (model_path) },
  [CONVOLVE_CLI_OPTION_PRESET] = {
    { "preset", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Model preset instead of --spec: tutorial (default) or better"), N_("NAME") },
    FIELD (preset_name) },
  [CONVOLVE_CLI_OPTION_IMAGE_SIZE] = {
    { "image-size", 0, 0, G_OPTION_ARG_INT, NULL,
      N_("With an image folder: resize its pictures to N × N pixels, 32, 64 or 96 (default: the "
         "model’s input size, else 32)"), N_("N") },
    FIELD (image_size) },
  [CONVOLVE_CLI_OPTION_FIT] = {
    { "fit", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("With an image folder: how pictures that are not square become square: crop (default; the middle "
         "is kept) or pad (the whole picture, with black bars)"), N_("crop|pad") },
    FIELD (fit_name) },
  [CONVOLVE_CLI_OPTION_VALIDATION_FRACTION] = {
    { "validation-fraction", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("With an image folder without a test or val folder: the share of each class set aside "
         "for testing, 0 to 0.9 (default 0.2)"), N_("F") },
    FIELD (validation_text) },
  [CONVOLVE_CLI_OPTION_PICTURE_FIT] = {
    { "fit", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("How pictures of another shape than the model’s input are fitted to it: crop (default; the middle "
         "is kept) or pad (the whole picture, with black bars); best the fit of the image folder the model "
         "was trained on"),
      N_("crop|pad") },
    FIELD (fit_name) },
};

#undef FIELD

GOptionEntry
convolve_cli_shared_entry (ConvolveCliOptions *options,
                           ConvolveCliOption   option)
{
  GOptionEntry entry;

  g_assert ((gsize) option < G_N_ELEMENTS (shared_entries));

  entry = shared_entries[option].entry;
  entry.arg_data = G_STRUCT_MEMBER_P (options, shared_entries[option].offset);
  return entry;
}

gboolean
convolve_cli_parse_options (ConvolveCliOptions    *options,
                            const GOptionEntry    *entries,
                            const char            *parameter_string,
                            const char            *summary,
                            ConvolveCliParseFlags  flags,
                            int                   *argc,
                            char                ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (options != NULL || !(flags & CONVOLVE_CLI_PARSE_NEEDS_MODEL), FALSE);

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      convolve_cli_fail ("%s", error->message);
      return FALSE;
    }

  if (!(flags & CONVOLVE_CLI_PARSE_ARGUMENTS) && *argc > 1)
    {
      convolve_cli_fail (_("unexpected argument “%s”"), (*argv)[1]);
      return FALSE;
    }
  if (options == NULL)
    return TRUE;
  if ((flags & CONVOLVE_CLI_PARSE_NEEDS_MODEL) && options->model_path == NULL)
    {
      convolve_cli_fail (_("no model: give --model FILE"));
      return FALSE;
    }
  if (options->threads != CONVOLVE_CLI_THREADS_UNSET &&
      (options->threads < 0 || options->threads > 1024))
    {
      convolve_cli_fail (_("--threads must be between 0 (all cores) and 1024, not %d"), options->threads);
      return FALSE;
    }
  if (options->image_size != CONVOLVE_CLI_IMAGE_SIZE_UNSET &&
      options->image_size != 32 && options->image_size != 64 && options->image_size != 96)
    {
      convolve_cli_fail (_("--image-size must be 32, 64 or 96, not %d"), options->image_size);
      return FALSE;
    }
  if (options->fit_name != NULL)
    {
      if (g_strcmp0 (options->fit_name, "crop") == 0)
        options->fit = CONVOLVE_IMAGE_FIT_CROP;
      else if (g_strcmp0 (options->fit_name, "pad") == 0)
        options->fit = CONVOLVE_IMAGE_FIT_PAD;
      else
        {
          convolve_cli_fail (_("--fit must be crop or pad, not “%s”"), options->fit_name);
          return FALSE;
        }
    }
  if (options->validation_text != NULL)
    {
      char *end = NULL;
      double fraction = g_ascii_strtod (options->validation_text, &end);

      /* the range of the app's Preferences: some of each class is kept for training */
      if (end == options->validation_text || *end != '\0' || !(fraction >= 0.0 && fraction <= 0.9))
        {
          convolve_cli_fail (_("--validation-fraction must be a number from 0 to 0.9, not “%s”"),
                             options->validation_text);
          return FALSE;
        }
      options->validation_fraction = fraction;
    }
  return TRUE;
}

gboolean
convolve_cli_options_has_image_folder_options (const ConvolveCliOptions *options)
{
  return options->image_size != CONVOLVE_CLI_IMAGE_SIZE_UNSET || options->fit_name != NULL ||
         options->validation_text != NULL;
}

void
convolve_cli_options_get_image_folder_options (const ConvolveCliOptions   *options,
                                               const ConvolveShape        *model_input,
                                               ConvolveImageFolderOptions *image_options)
{
  convolve_image_folder_options_init (image_options);
  if (options->image_size != CONVOLVE_CLI_IMAGE_SIZE_UNSET)
    image_options->side = options->image_size;
  else if (model_input != NULL && model_input->h == model_input->w &&
           model_input->h >= 8 && model_input->h <= 256)
    image_options->side = model_input->h;
  image_options->fit = options->fit;
  if (!isnan (options->validation_fraction))
    image_options->validation_fraction = options->validation_fraction;
}

int
convolve_cli_options_get_threads (const ConvolveCliOptions *options)
{
  if (options->threads == CONVOLVE_CLI_THREADS_UNSET || options->threads == 0)
    return (int) g_get_num_processors ();
  return options->threads;
}

ConvolveModelSpec *
convolve_cli_options_make_spec (const ConvolveCliOptions  *options,
                                const char                *spec_text,
                                int                        n_classes,
                                GError                   **error)
{
  g_return_val_if_fail (options != NULL, NULL);

  if (spec_text != NULL && options->preset_name != NULL)
    {
      g_set_error_literal (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                           _("--spec and --preset cannot be combined: give one of them"));
      return NULL;
    }
  if (spec_text != NULL)
    return convolve_model_spec_parse (spec_text, error);
  return convolve_model_spec_new_preset (options->preset_name != NULL ? options->preset_name
                                                                      : CONVOLVE_MODEL_PRESET_DEFAULT,
                                         n_classes, error);
}
