/* convolve-cli-options.c: shared option entries and the parsing of a
 * subcommand's options.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

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
      N_("Threads for matrix products (default: all cores)"), N_("N") },
    FIELD (threads) },
  [CONVOLVE_CLI_OPTION_MODEL] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Model or checkpoint file"), N_("FILE") },
    FIELD (model_path) },
  [CONVOLVE_CLI_OPTION_PRESET] = {
    { "preset", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Model preset instead of --spec: tutorial (default) or better"), N_("NAME") },
    FIELD (preset_name) },
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
  return TRUE;
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
