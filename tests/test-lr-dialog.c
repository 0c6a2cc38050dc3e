/* test-lr-dialog.c: the "Find Learning Rate" dialog sweeps a copy of the
 * weights off the main thread, suggests a rate, hands it on with "Use
 * This", and leaves the weights it was given as they were.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "convolve-lr-dialog.h"
#include "test-recorded-runs.h"

#define TIMEOUT_US (60 * G_USEC_PER_SEC)

static void
rate_cb (ConvolveLrDialog *dialog,
         double            rate,
         double           *used)
{
  *used = rate;
}

static void
test_lr_dialog (void)
{
  g_autoptr(ConvolveDataset) train = test_bands_dataset (256, 1);
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *before = NULL;
  ConvolveShape input = { 1, 8, 8 };
  ConvolveLrFinderConfig config;
  ConvolveLrDialog *dialog;
  const ConvolveLrFinderResult *result;
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  double used = NAN;
  gsize n_params;
  const float *params;

  spec = convolve_model_spec_parse (TEST_RECORDED_RUNS_SPEC, &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 1, 3, &error);
  g_assert_no_error (error);
  params = convolve_model_get_params (model, &n_params);
  before = g_memdup2 (params, n_params * sizeof (float));

  convolve_lr_finder_config_init (&config);
  config.n_batches = 60;
  config.batch_size = 16;
  config.threads = 1;
  dialog = g_object_ref (convolve_lr_dialog_new (NULL, model, train, &config));
  g_signal_connect (dialog, "use-learning-rate", G_CALLBACK (rate_cb), &used);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (convolve_lr_dialog_is_running (dialog));
  g_assert_null (convolve_lr_dialog_get_result (dialog));
  /* Nothing to use yet. */
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (dialog), "lr.use", NULL) && isfinite (used));

  while (convolve_lr_dialog_is_running (dialog) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (convolve_lr_dialog_is_running (dialog));
  result = convolve_lr_dialog_get_result (dialog);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->n_points, >, 3);
  g_assert_true (isfinite (convolve_lr_dialog_get_suggestion (dialog)));
  g_assert_cmpfloat (convolve_lr_dialog_get_suggestion (dialog), >, config.start_lr);
  g_assert_cmpfloat (convolve_lr_dialog_get_suggestion (dialog), <, config.end_lr);
  /* The weights it was given are untouched. */
  g_assert_cmpmem (convolve_model_get_params (model, NULL), n_params * sizeof (float), before, n_params * sizeof (float));

  /* "Use This" hands the suggestion on and closes. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "lr.use", NULL));
  g_assert_cmpfloat (used, ==, convolve_lr_dialog_get_suggestion (dialog));
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (dialog);
}

/* Closing while it sweeps cancels the sweep; nothing is left running. */
static void
test_lr_dialog_cancel (void)
{
  g_autoptr(ConvolveDataset) train = test_bands_dataset (256, 2);
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (TEST_RECORDED_RUNS_SPEC, NULL);
  ConvolveShape input = { 1, 8, 8 };
  g_autoptr(ConvolveModel) model = convolve_model_new (spec, &input, 1, 3, NULL);
  ConvolveLrFinderConfig config;
  ConvolveLrDialog *dialog;
  GWeakRef ref;
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  convolve_lr_finder_config_init (&config);
  config.n_batches = 100000 / 16;
  config.batch_size = 16;
  config.divergence_factor = 0;
  dialog = convolve_lr_dialog_new (NULL, model, train, &config);
  g_weak_ref_init (&ref, dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_window_close (GTK_WINDOW (dialog));
  /* The sweep's reference goes when it has stopped. */
  for (;;)
    {
      GObject *alive = g_weak_ref_get (&ref);

      if (alive == NULL)
        break;
      g_object_unref (alive);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_weak_ref_clear (&ref);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/lr-dialog/sweep", test_lr_dialog);
  g_test_add_func ("/app/lr-dialog/cancel", test_lr_dialog_cancel);

  return g_test_run ();
}
