/* test-watchdog.c: see test-watchdog.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "test-watchdog.h"

#include <stdio.h>
#include <stdlib.h>

struct _TestWatchdog {
  GMutex      mutex;
  GCond       cond;
  GThread    *thread;
  gint64      limit_us;
  gint64      deadline;  /* monotonic; 0: disarmed */
  const char *what;
  guint       index;
  gboolean    quit;
};

static gpointer
watchdog_thread (gpointer data)
{
  TestWatchdog *dog = data;

  g_mutex_lock (&dog->mutex);
  while (!dog->quit)
    {
      if (dog->deadline == 0)
        g_cond_wait (&dog->cond, &dog->mutex);
      else if (!g_cond_wait_until (&dog->cond, &dog->mutex, dog->deadline) &&
               dog->deadline != 0 && g_get_monotonic_time () >= dog->deadline)
        {
          /* Plain stdio and abort: GLib's logging may be what is stuck. */
          fprintf (stderr, "Bail out! %s %u did not end within %.0f s: deadlock?\n",
                   dog->what, dog->index, dog->limit_us / 1e6);
          fflush (stderr);
          abort ();
        }
    }
  g_mutex_unlock (&dog->mutex);
  return NULL;
}

TestWatchdog *
test_watchdog_new (gint64 limit_us)
{
  TestWatchdog *dog = g_new0 (TestWatchdog, 1);

  g_mutex_init (&dog->mutex);
  g_cond_init (&dog->cond);
  dog->limit_us = limit_us;
  dog->thread = g_thread_new ("watchdog", watchdog_thread, dog);
  return dog;
}

void
test_watchdog_arm (TestWatchdog *dog,
                   const char   *what,
                   guint         index)
{
  g_mutex_lock (&dog->mutex);
  dog->what = what;
  dog->index = index;
  dog->deadline = g_get_monotonic_time () + dog->limit_us;
  g_cond_signal (&dog->cond);
  g_mutex_unlock (&dog->mutex);
}

void
test_watchdog_disarm (TestWatchdog *dog)
{
  g_mutex_lock (&dog->mutex);
  dog->deadline = 0;
  g_cond_signal (&dog->cond);
  g_mutex_unlock (&dog->mutex);
}

void
test_watchdog_free (TestWatchdog *dog)
{
  g_mutex_lock (&dog->mutex);
  dog->quit = TRUE;
  g_cond_signal (&dog->cond);
  g_mutex_unlock (&dog->mutex);
  g_thread_join (dog->thread);
  g_mutex_clear (&dog->mutex);
  g_cond_clear (&dog->cond);
  g_free (dog);
}
