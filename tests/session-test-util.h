/* session-test-util.h: driving a ConvolveSession from a test's main loop,
 * as the app does (tests/test-session*.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-train.h"

G_BEGIN_DECLS

/* How long any wait below may take before the test fails. */
#define SESSION_TEST_TIMEOUT_US (120 * G_USEC_PER_SEC)

/* Iterates the thread-default main context until done (data) is TRUE;
 * FALSE when that took longer than SESSION_TEST_TIMEOUT_US. */
gboolean      session_test_iterate_until (gboolean (*done) (gpointer),
                                          gpointer  data);
/* A GAsyncReadyCallback that keeps the result in *(GAsyncResult **) user_data. */
void          session_test_result_cb     (GObject       *source,
                                          GAsyncResult  *result,
                                          gpointer       user_data);
/* Runs the main loop until the async call that was given result (with
 * session_test_result_cb) ends, and returns *result. */
GAsyncResult *session_test_wait_result   (GAsyncResult **result);
/* For session_test_iterate_until: the session's run is over (data: the
 * session) and nothing is pending. */
gboolean      session_test_run_final     (gpointer       data);
/* Opens the dataset folder dir into session with a new model from spec
 * (seed 3), waiting for it. */
void          session_test_open_dataset  (ConvolveSession *session,
                                          const char      *dir,
                                          const char      *spec,
                                          GError         **error);

G_END_DECLS
