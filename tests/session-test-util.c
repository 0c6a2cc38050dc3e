/* session-test-util.c: see session-test-util.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "session-test-util.h"

gboolean
session_test_iterate_until (gboolean (*done) (gpointer),
                            gpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + SESSION_TEST_TIMEOUT_US;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      if (!done (data))
        g_usleep (1000);
    }
  return TRUE;
}

void
session_test_result_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
have_result (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

GAsyncResult *
session_test_wait_result (GAsyncResult **result)
{
  g_assert_true (session_test_iterate_until (have_result, result));
  return *result;
}

gboolean
session_test_run_final (gpointer data)
{
  ConvolveSession *session = data;

  return !convolve_session_is_training (session) && !convolve_session_is_busy (session) &&
         convolve_session_get_progress (session) != NULL &&
         convolve_trainer_state_is_final (convolve_session_get_progress (session)->state);
}

void
session_test_open_dataset (ConvolveSession *session,
                           const char      *dir,
                           const char      *spec,
                           GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  convolve_session_open_dataset_async (session, dir, spec, 3, NULL, session_test_result_cb, &result);
  g_assert_true (convolve_session_is_loading (session));
  convolve_session_open_dataset_finish (session, session_test_wait_result (&result), error);
  g_assert_false (convolve_session_is_loading (session));
}
