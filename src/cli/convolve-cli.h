/* convolve-cli.h: the subcommands of convolve-cli. Each takes the
 * arguments after its name (argv[0] is the subcommand), prints its result
 * on stdout, one clear translated message on stderr on failure, and returns
 * the process exit status.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int convolve_cli_summary  (int argc, char **argv);
int convolve_cli_bench    (int argc, char **argv);
int convolve_cli_train    (int argc, char **argv);
int convolve_cli_lr_find  (int argc, char **argv);
int convolve_cli_evaluate (int argc, char **argv);
int convolve_cli_predict  (int argc, char **argv);
int convolve_cli_explain  (int argc, char **argv);
int convolve_cli_export   (int argc, char **argv);
int convolve_cli_runs     (int argc, char **argv);
int convolve_cli_download (int argc, char **argv);

/* Prints "convolve-cli: MESSAGE" on stderr; returns 1 (for `return`). */
int convolve_cli_fail (const char *format, ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS
