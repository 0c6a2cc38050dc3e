/* main.c: starts Convolve.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <locale.h>

#include "convolve-application.h"
#include "convolve-engine.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(ConvolveApplication) app = NULL;

  convolve_engine_choose_blas_kernels (argv);
  setlocale (LC_ALL, "");
  /* CONVOLVE_LOCALEDIR: where the compiled catalogues are when running
   * uninstalled (scripts/run-app.sh and `meson devenv` set it to <build>/po);
   * installed, the configured LOCALEDIR. */
  const char *localedir = g_getenv ("CONVOLVE_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = convolve_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
