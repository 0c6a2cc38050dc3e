/* convolve-cli-options.h: the options several subcommands share (--data,
 * --dataset, --threads, --model, --preset) and the parsing every subcommand does.
 *
 * A subcommand lists its entries in the order its --help shows them,
 * taking the shared ones from convolve_cli_shared_entry(), and parses them
 * with convolve_cli_parse_options(), which prints the one message on
 * failure:
 *
 *   g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
 *   GOptionEntry entries[] = {
 *     convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_MODEL),
 *     { "top", 'k', 0, G_OPTION_ARG_INT, &top, N_("…"), N_("N") },
 *     { NULL }
 *   };
 *
 *   if (!convolve_cli_parse_options (&options, entries, _("IMAGE…"), _("Print …"),
 *                                    CONVOLVE_CLI_PARSE_ARGUMENTS | CONVOLVE_CLI_PARSE_NEEDS_MODEL,
 *                                    &argc, &argv))
 *     return 1;
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-engine.h"

G_BEGIN_DECLS

/* --threads was not given (no one types G_MININT). */
#define CONVOLVE_CLI_THREADS_UNSET G_MININT

typedef struct {
  char *data_dir;      /* --data DIR */
  char *dataset_name;  /* --dataset NAME, see convolve_cli_load_dataset() */
  char *model_path;    /* --model FILE */
  char *preset_name;   /* --preset NAME, see convolve_cli_options_make_spec() */
  int   threads;       /* --threads N, 0 to 1024 (0: all cores) once parsed; or CONVOLVE_CLI_THREADS_UNSET */
} ConvolveCliOptions;

#define CONVOLVE_CLI_OPTIONS_INIT { NULL, NULL, NULL, NULL, CONVOLVE_CLI_THREADS_UNSET }

void convolve_cli_options_clear (ConvolveCliOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ConvolveCliOptions, convolve_cli_options_clear)

typedef enum {
  CONVOLVE_CLI_OPTION_DATA,     /* --data DIR, -d */
  CONVOLVE_CLI_OPTION_DATASET,  /* --dataset NAME */
  CONVOLVE_CLI_OPTION_THREADS,  /* --threads N, -t */
  CONVOLVE_CLI_OPTION_MODEL,    /* --model FILE, -m */
  CONVOLVE_CLI_OPTION_PRESET,   /* --preset NAME */
} ConvolveCliOption;

/* The entry of a shared option, storing into options. */
GOptionEntry convolve_cli_shared_entry (ConvolveCliOptions *options,
                                        ConvolveCliOption   option);

typedef enum {
  CONVOLVE_CLI_PARSE_DEFAULT     = 0,
  CONVOLVE_CLI_PARSE_ARGUMENTS   = 1 << 0,  /* takes arguments after the options; else any is an error */
  CONVOLVE_CLI_PARSE_NEEDS_MODEL = 1 << 1,  /* --model must be given */
} ConvolveCliParseFlags;

/* Parses the options of a subcommand (argv[0] is its name; on success
 * *argc and *argv keep it and the arguments). The shared entries among
 * entries store into options (NULL when there are none). parameter_string
 * (nullable) and summary are shown by --help. On an unknown option or a
 * bad value, an argument the subcommand takes none of, a missing --model
 * (NEEDS_MODEL) or a --threads outside 0 to 1024, prints the reason on
 * stderr and returns FALSE: the subcommand then exits with status 1. */
gboolean convolve_cli_parse_options (ConvolveCliOptions    *options,
                                     const GOptionEntry    *entries,
                                     const char            *parameter_string,
                                     const char            *summary,
                                     ConvolveCliParseFlags  flags,
                                     int                   *argc,
                                     char                ***argv);

/* The number of threads for the matrix products: --threads, or all the
 * processors when it was 0 or not given. */
int      convolve_cli_options_get_threads (const ConvolveCliOptions *options);

/* The layers of a new model for n_classes classes: spec_text (--spec,
 * nullable) parsed, else the --preset one (the tutorial's when neither was
 * given). NULL with the message when both were given, the spec does not
 * parse or the preset is unknown. */
ConvolveModelSpec *convolve_cli_options_make_spec (const ConvolveCliOptions  *options,
                                                   const char                *spec_text,
                                                   int                        n_classes,
                                                   GError                   **error);

G_END_DECLS
