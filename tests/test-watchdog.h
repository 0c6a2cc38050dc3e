/* test-watchdog.h: a thread that aborts a test whose current step overruns
 * its deadline, so that a deadlock fails with a message naming the step
 * instead of hanging until meson's timeout.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TestWatchdog TestWatchdog;

TestWatchdog *test_watchdog_new    (gint64        limit_us);
/* Starts the clock for one step (what names it in the message). */
void          test_watchdog_arm    (TestWatchdog *dog,
                                    const char   *what,
                                    guint         index);
void          test_watchdog_disarm (TestWatchdog *dog);
void          test_watchdog_free   (TestWatchdog *dog);

G_END_DECLS
