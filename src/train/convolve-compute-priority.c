/* convolve-compute-priority.c: the training threads below the UI thread.
 *
 * The workers are found in /proc/self/task: the engine's pool threads are
 * named "convolve-pool"; OpenBLAS names none of its threads, so they keep
 * the process's own name (the main thread's), while GLib's and GTK's
 * helpers (gmain, gdbus, pool-*, dconf worker) and ours (convolve-*) all
 * have names of their own. A worker made after this ran inherits the
 * niceness of the thread that made it, which is a compute thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-compute-priority.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int niceness;  /* atomic */

void
convolve_compute_priority_set_niceness (int value)
{
  g_return_if_fail (value >= 0 && value <= 19);
  g_atomic_int_set (&niceness, value);
}

int
convolve_compute_priority_get_niceness (void)
{
  return g_atomic_int_get (&niceness);
}

/* The thread's name (its comm), or NULL when it is gone. */
static char *
task_name (const char *tid)
{
  g_autofree char *path = g_build_filename ("/proc/self/task", tid, "comm", NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  g_strchomp (text);
  return text;
}

static void
lower (pid_t tid,
       int   value)
{
  errno = 0;
  int current = getpriority (PRIO_PROCESS, (id_t) tid);

  /* (a thread that ended meanwhile fails with ESRCH: nothing to do) */
  if (errno == 0 && current < value)
    setpriority (PRIO_PROCESS, (id_t) tid, value);
}

void
convolve_compute_priority_apply (void)
{
  int value = g_atomic_int_get (&niceness);
  pid_t self = (pid_t) syscall (SYS_gettid);
  pid_t main_tid = getpid ();
  g_autofree char *main_name = NULL;
  g_autofree char *main_text = NULL;
  GDir *dir;
  const char *entry;

  if (value <= 0)
    return;
  lower (self, value);
  if (self == main_tid)
    return;  /* (a compute thread is never the main thread; nothing more to find) */

  main_text = g_strdup_printf ("%d", (int) main_tid);
  main_name = task_name (main_text);
  dir = g_dir_open ("/proc/self/task", 0, NULL);
  if (dir == NULL || main_name == NULL)
    {
      g_clear_pointer (&dir, g_dir_close);
      return;
    }
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      pid_t tid = (pid_t) g_ascii_strtoll (entry, NULL, 10);
      g_autofree char *name = NULL;

      if (tid <= 0 || tid == main_tid || tid == self)
        continue;
      name = task_name (entry);
      if (name != NULL && (strcmp (name, main_name) == 0 || strcmp (name, "convolve-pool") == 0))
        lower (tid, value);
    }
  g_dir_close (dir);
}
