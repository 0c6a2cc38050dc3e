/* convolve-cli-options.h: the options several subcommands share (--data,
 * --dataset, --image-size, --fit, --validation-fraction, --threads,
 * --model, --preset) and the parsing every subcommand does.
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
#include <math.h>

#include "convolve-engine.h"
#include "convolve-loaders.h"

G_BEGIN_DECLS

/* --threads or --image-size was not given (no one types G_MININT). */
#define CONVOLVE_CLI_THREADS_UNSET    G_MININT
#define CONVOLVE_CLI_IMAGE_SIZE_UNSET G_MININT

typedef struct {
  char *data_dir;      /* --data DIR */
  char *dataset_name;  /* --dataset NAME, see convolve_cli_load_dataset() */
  char *model_path;    /* --model FILE */
  char *preset_name;   /* --preset NAME, see convolve_cli_options_make_spec() */
  int   threads;       /* --threads N, 0 to 1024 (0: all cores) once parsed; or CONVOLVE_CLI_THREADS_UNSET */
  /* an image folder's settings (convolve-image-folder.h), and the fit of
   * a picture given to predict or explain */
  int   image_size;       /* --image-size N, 32, 64 or 96 once parsed; or CONVOLVE_CLI_IMAGE_SIZE_UNSET */
  char *fit_name;         /* --fit crop|pad */
  char *validation_text;  /* --validation-fraction F, 0 to 0.9 */
  ConvolveImageFit fit;        /* parsed: crop when not given */
  double validation_fraction;  /* parsed: NAN when not given */
} ConvolveCliOptions;

#define CONVOLVE_CLI_OPTIONS_INIT { NULL, NULL, NULL, NULL, CONVOLVE_CLI_THREADS_UNSET, \
                                    CONVOLVE_CLI_IMAGE_SIZE_UNSET, NULL, NULL, CONVOLVE_IMAGE_FIT_CROP, NAN }

void convolve_cli_options_clear (ConvolveCliOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ConvolveCliOptions, convolve_cli_options_clear)

typedef enum {
  CONVOLVE_CLI_OPTION_DATA,     /* --data DIR, -d */
  CONVOLVE_CLI_OPTION_DATASET,  /* --dataset NAME */
  CONVOLVE_CLI_OPTION_THREADS,  /* --threads N, -t */
  CONVOLVE_CLI_OPTION_MODEL,    /* --model FILE, -m */
  CONVOLVE_CLI_OPTION_PRESET,   /* --preset NAME */
  CONVOLVE_CLI_OPTION_IMAGE_SIZE,           /* --image-size N */
  CONVOLVE_CLI_OPTION_FIT,                  /* --fit crop|pad, for an image folder */
  CONVOLVE_CLI_OPTION_VALIDATION_FRACTION,  /* --validation-fraction F */
  CONVOLVE_CLI_OPTION_PICTURE_FIT,          /* --fit crop|pad, for pictures given to a model */
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
 * (NEEDS_MODEL), a --threads outside 0 to 1024, an --image-size other than
 * 32, 64 or 96, a --fit other than crop or pad or a --validation-fraction
 * outside 0 to 0.9, prints the reason on stderr and returns FALSE: the
 * subcommand then exits with status 1. */
gboolean convolve_cli_parse_options (ConvolveCliOptions    *options,
                                     const GOptionEntry    *entries,
                                     const char            *parameter_string,
                                     const char            *summary,
                                     ConvolveCliParseFlags  flags,
                                     int                   *argc,
                                     char                ***argv);

/* The engine's thread count: --threads, or all the
 * processors when it was 0 or not given. */
int      convolve_cli_options_get_threads (const ConvolveCliOptions *options);

/* Whether any of --image-size, --fit and --validation-fraction was given. */
gboolean convolve_cli_options_has_image_folder_options (const ConvolveCliOptions *options);

/* The settings an image folder is loaded with: those given, else the
 * defaults, except that the side is model_input's (nullable) when it was
 * not given and that is square: a saved model is evaluated on pictures of
 * its own size. */
void     convolve_cli_options_get_image_folder_options (const ConvolveCliOptions   *options,
                                                        const ConvolveShape        *model_input,
                                                        ConvolveImageFolderOptions *image_options);

/* The layers of a new model for n_classes classes: spec_text (--spec,
 * nullable) parsed, else the --preset one (the tutorial's when neither was
 * given). NULL with the message when both were given, the spec does not
 * parse or the preset is unknown. */
ConvolveModelSpec *convolve_cli_options_make_spec (const ConvolveCliOptions  *options,
                                                   const char                *spec_text,
                                                   int                        n_classes,
                                                   GError                   **error);

G_END_DECLS
