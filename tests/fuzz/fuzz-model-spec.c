/* fuzz-model-spec.c: the model spec text ("conv2d(32,3,same,relu),…"),
 * from model files and the command line, and its writer: a spec that
 * parses is written, parsed again and written again, and both texts must
 * match.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-engine.h"
#include "fuzz-common.h"

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModelSpec) again = NULL;
  g_autoptr(ConvolveModelSpec) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *written = NULL;
  g_autofree char *rewritten = NULL;

  convolve_fuzz_init ();
  spec = convolve_model_spec_parse (text, &error);
  if (spec == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }

  written = convolve_model_spec_to_string (spec);
  again = convolve_model_spec_parse (written, &error);
  if (again == NULL)
    g_error ("“%s” parses, but its written form “%s” does not: %s", text, written, error->message);
  rewritten = convolve_model_spec_to_string (again);
  if (strcmp (written, rewritten) != 0)
    g_error ("“%s” is written as “%s”, which is written as “%s”", text, written, rewritten);

  copy = convolve_model_spec_copy (again);
  g_assert (copy->n_layers == spec->n_layers);
  return 0;
}
