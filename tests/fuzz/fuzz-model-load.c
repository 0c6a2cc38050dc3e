/* fuzz-model-load.c: model and checkpoint files (safetensors), as shared
 * online, through convolve_model_load(); a file that loads is saved again
 * with convolve_model_save() and must load to the same spec, input, meta,
 * parameters, state and optimizer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-engine.h"
#include "fuzz-common.h"

static void
assert_same_blocks (const float *a,
                    gsize        n_a,
                    const float *b,
                    gsize        n_b,
                    const char  *what)
{
  if (n_a != n_b || (n_a > 0 && memcmp (a, b, n_a * sizeof (float)) != 0))
    g_error ("the saved model's %s differ from the loaded one's", what);
}

static void
check_round_trip (ConvolveModel     *model,
                  ConvolveModelMeta *meta,
                  ConvolveOptimizer *optimizer,
                  const char        *dir)
{
  g_autofree char *path = g_build_filename (dir, "saved.safetensors", NULL);
  g_autoptr(ConvolveModel) again = NULL;
  g_autoptr(ConvolveModelMeta) meta_again = NULL;
  g_autoptr(ConvolveOptimizer) optimizer_again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *spec_text = NULL;
  g_autofree char *spec_again = NULL;
  ConvolveShape input, input_again;
  const float *a, *b;
  gsize n_a, n_b;

  if (!convolve_model_save (model, meta, optimizer, path, &error))
    g_error ("a loaded model does not save: %s", error->message);
  again = convolve_model_load (path, 1, &meta_again, &optimizer_again, &error);
  if (again == NULL)
    g_error ("a loaded model, saved, does not load: %s", error->message);

  spec_text = convolve_model_spec_to_string (convolve_model_get_spec (model));
  spec_again = convolve_model_spec_to_string (convolve_model_get_spec (again));
  g_assert_cmpstr (spec_text, ==, spec_again);
  input = convolve_model_get_input (model);
  input_again = convolve_model_get_input (again);
  g_assert (convolve_shape_equal (input, input_again));

  a = convolve_model_get_params (model, &n_a);
  b = convolve_model_get_params (again, &n_b);
  assert_same_blocks (a, n_a, b, n_b, "parameters");
  a = convolve_model_get_state (model, &n_a);
  b = convolve_model_get_state (again, &n_b);
  assert_same_blocks (a, n_a, b, n_b, "state");

  g_assert_cmpstr (meta->dataset, ==, meta_again->dataset);
  g_assert_cmpint (meta->epoch, ==, meta_again->epoch);
  g_assert_cmpint (meta->step, ==, meta_again->step);
  g_assert (memcmp (&meta->input_scale, &meta_again->input_scale, sizeof (float)) == 0);
  g_assert (memcmp (&meta->input_offset, &meta_again->input_offset, sizeof (float)) == 0);
  g_assert ((meta->class_names == NULL) == (meta_again->class_names == NULL));
  if (meta->class_names != NULL)
    g_assert (g_strv_equal ((const char * const *) meta->class_names,
                            (const char * const *) meta_again->class_names));

  g_assert ((optimizer == NULL) == (optimizer_again == NULL));
  if (optimizer != NULL)
    g_assert_cmpint (convolve_optimizer_get_iterations (optimizer), ==,
                     convolve_optimizer_get_iterations (optimizer_again));
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  const char *dir = convolve_fuzz_temp_dir ();
  g_autofree char *path = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(GError) error = NULL;

  convolve_fuzz_init ();
  path = convolve_fuzz_write_file (dir, "model.safetensors", data, size);
  model = convolve_model_load (path, 1, &meta, &optimizer, &error);
  if (model == NULL)
    g_assert (error != NULL && meta == NULL && optimizer == NULL);
  else
    check_round_trip (model, meta, optimizer, dir);
  convolve_fuzz_clear_dir (dir);
  return 0;
}
