/* test-window-stress.c: 50 cycles of win.train, win.pause, win.resume and
 * win.stop on one window, with an image in the predictor, as fast as the
 * actions become enabled: each cycle ends within a few seconds with the run
 * cancelled and Train enabled again, the main loop never stops, and the
 * window finalizes at the end (the ASan build checks for leaks at exit).
 *
 * A watchdog thread aborts with the cycle's number if the main thread
 * itself blocks (iterate_until cannot notice that).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-window-private.h"
#include "test-watchdog.h"
#include "test-cifar-folder.h"

#define N_CYCLES 50
#define TEST_SPEC "conv2d(8,3,same,relu),maxpool(2),flatten,dense(32,relu),dropout(0.2),dense(10,softmax)"
/* A cycle is held to the first; the watchdog fires at the second. */
#define CYCLE_LIMIT_US    (30 * G_USEC_PER_SEC)
#define WATCHDOG_LIMIT_US (60 * G_USEC_PER_SEC)

static char *tmp_dir;

typedef gboolean (*Condition) (ConvolveWindow *self);

/* Runs the main loop until done, or fails at the cycle's deadline. */
static void
iterate_until (ConvolveWindow *self,
               Condition       done,
               const char     *what,
               gint64          deadline,
               guint           cycle)
{
  while (!done (self))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("cycle %u: still waiting for %s after %.0f s", cycle, what, CYCLE_LIMIT_US / 1e6);
      g_main_context_iteration (NULL, FALSE);
      if (!done (self))
        g_usleep (500);
    }
}

static gboolean
action_enabled (ConvolveWindow *self,
                const char     *name)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (self), name);
}

static ConvolveTrainerState
session_state (ConvolveWindow *self)
{
  return convolve_session_get_state (convolve_window_get_session (self));
}

static gboolean
workspace_shown (ConvolveWindow *self)
{
  return convolve_session_get_train (convolve_window_get_session (self)) != NULL &&
         g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") == 0;
}

static gboolean
can_pause (ConvolveWindow *self)
{
  return action_enabled (self, "pause");
}

static gboolean
can_resume (ConvolveWindow *self)
{
  return action_enabled (self, "resume");
}

static gboolean
running (ConvolveWindow *self)
{
  return session_state (self) == CONVOLVE_TRAINER_RUNNING && action_enabled (self, "stop");
}

static gboolean
can_train_again (ConvolveWindow *self)
{
  ConvolveSession *session = convolve_window_get_session (self);

  return convolve_trainer_state_is_final (session_state (self)) &&
         !convolve_session_is_busy (session) && action_enabled (self, "train");
}

static gboolean
predicted (ConvolveWindow *self)
{
  return !convolve_session_is_busy (convolve_window_get_session (self)) &&
         convolve_predictor_get_probabilities (self->predictor, NULL) != NULL;
}

static void
run_cycle (ConvolveWindow *self,
           guint           cycle)
{
  gint64 deadline = g_get_monotonic_time () + CYCLE_LIMIT_US;
  ConvolveProgress *progress;

  g_assert_true (action_enabled (self, "train"));
  g_action_group_activate_action (G_ACTION_GROUP (self), "train", NULL);
  iterate_until (self, can_pause, "the run to start", deadline, cycle);

  g_action_group_activate_action (G_ACTION_GROUP (self), "pause", NULL);
  iterate_until (self, can_resume, "the pause", deadline, cycle);
  g_assert_cmpint (session_state (self), ==, CONVOLVE_TRAINER_PAUSED);

  g_action_group_activate_action (G_ACTION_GROUP (self), "resume", NULL);
  iterate_until (self, running, "the resume", deadline, cycle);

  g_action_group_activate_action (G_ACTION_GROUP (self), "stop", NULL);
  iterate_until (self, can_train_again, "the stop", deadline, cycle);

  progress = convolve_session_get_progress (convolve_window_get_session (self));
  g_assert_nonnull (progress);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_CANCELLED);
  g_assert_false (action_enabled (self, "pause"));
  g_assert_false (action_enabled (self, "resume"));
  g_assert_false (action_enabled (self, "stop"));
}

static void
test_window_stress_cycles (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "stress", 200, 40);
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(ConvolveSampleRef) ref = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  TestWatchdog *dog = test_watchdog_new (WATCHDOG_LIMIT_US);
  ConvolveWindow *self;
  gint64 longest = 0, start_all;

  g_settings_set_string (settings, "model-spec", TEST_SPEC);
  /* Longer than any cycle: every run is stopped, none finishes. */
  g_settings_set_int (settings, "epochs", 1000);
  g_settings_set_int (settings, "augment-epochs", 0);
  g_settings_set_int (settings, "batch-size", 16);
  g_settings_set_int (settings, "prediction-interval", 10);
  g_settings_set_int (settings, "threads", 1);
  g_settings_set_string (settings, "last-dataset-path", dir);

  test_watchdog_arm (dog, "opening the window, step", 0);
  self = g_object_ref (convolve_window_new (NULL));
  gtk_window_present (GTK_WINDOW (self));
  iterate_until (self, workspace_shown, "the dataset", g_get_monotonic_time () + CYCLE_LIMIT_US, 0);

  /* The predictor follows every weight snapshot of every run. */
  ref = convolve_sample_ref_new (convolve_session_get_train (convolve_window_get_session (self)), 3);
  g_value_init (&value, CONVOLVE_TYPE_SAMPLE_REF);
  g_value_set_boxed (&value, ref);
  g_assert_true (convolve_predictor_load_value (self->predictor, &value));
  iterate_until (self, predicted, "the first prediction", g_get_monotonic_time () + CYCLE_LIMIT_US, 0);
  test_watchdog_disarm (dog);

  start_all = g_get_monotonic_time ();
  for (guint cycle = 0; cycle < N_CYCLES; cycle++)
    {
      gint64 start = g_get_monotonic_time ();

      test_watchdog_arm (dog, "cycle", cycle);
      run_cycle (self, cycle);
      test_watchdog_disarm (dog);
      longest = MAX (longest, g_get_monotonic_time () - start);
    }
  g_test_message ("%u cycles in %.2f s, the longest %.1f ms", N_CYCLES,
                  (g_get_monotonic_time () - start_all) / 1e6, longest / 1000.0);

  test_watchdog_arm (dog, "closing the window, step", 0);
  iterate_until (self, predicted, "the last prediction", g_get_monotonic_time () + CYCLE_LIMIT_US, 0);
  gtk_window_destroy (GTK_WINDOW (self));
  g_assert_finalize_object (self);
  test_watchdog_disarm (dog);
  test_watchdog_free (dog);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* Datasets are discovered under the home and data folders: keep them
   * empty so only the generated one appears. */
  tmp_dir = g_dir_make_tmp ("convolve-test-window-stress-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("HOME", tmp_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/window/stress-cycles", test_window_stress_cycles);

  status = g_test_run ();
  test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
