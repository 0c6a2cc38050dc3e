/* convolve-run-store-owner.c: who runs a run, and finding the runs whose
 * owner is gone.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* F_OFD_SETLK */

#include "convolve-run-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char *
read_boot_id (void)
{
  char *text = NULL;

  if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
    return g_strdup ("");
  return g_strstrip (text);
}

/* The start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), 0 when unknown; *zombie when it has exited but is not
 * reaped yet. */
static gint64
read_start_ticks (gint64    pid,
                  gboolean *zombie)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/stat", pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *rest;

  *zombie = FALSE;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  /* The command name (field 2) may hold spaces and parentheses: the
   * fields after it start at the last ')'. */
  rest = strrchr (text, ')');
  if (rest == NULL)
    return 0;
  fields = g_strsplit (g_strstrip ((char *) rest + 1), " ", 0);
  if (g_strv_length (fields) < 20)
    return 0;
  /* fields[0] is field 3, the state */
  *zombie = fields[0][0] == 'Z' || fields[0][0] == 'X';
  return g_ascii_strtoll (fields[19], NULL, 10);
}

void
_convolve_run_store_get_owner (gint64  *pid,
                               char   **boot_id,
                               gint64  *start_ticks)
{
  gboolean zombie;

  *pid = getpid ();
  *boot_id = read_boot_id ();
  *start_ticks = read_start_ticks (*pid, &zombie);
}

/* Owner locks. While a connection runs a run it holds an open file
 * description lock (F_OFD_SETLK) on byte run_id of PATH-owners. The
 * kernel drops it when the process dies however it dies, and it is seen
 * across PID namespaces (a sandboxed app and a CLI), where pids are not. */

static int
owner_fd (ConvolveRunStore *store)
{
  if (store->owner_fd == -1)
    {
      g_autofree char *path = g_strconcat (store->path, "-owners", NULL);

      store->owner_fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (store->owner_fd < 0)
        store->owner_fd = -2;  /* do not try again */
    }
  return store->owner_fd;
}

static gboolean
holds_run (ConvolveRunStore *store,
           gint64            run_id)
{
  for (guint i = 0; i < store->held_runs->len; i++)
    if (g_array_index (store->held_runs, gint64, i) == run_id)
      return TRUE;
  return FALSE;
}

gboolean
_convolve_run_store_lock_run (ConvolveRunStore *store,
                              gint64            run_id)
{
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = run_id, .l_len = 1 };
  int fd = owner_fd (store);

  if (holds_run (store, run_id))
    return TRUE;
  if (fd < 0 || fcntl (fd, F_OFD_SETLK, &lock) != 0)
    return FALSE;
  g_array_append_val (store->held_runs, run_id);
  return TRUE;
}

void
_convolve_run_store_unlock_run (ConvolveRunStore *store,
                                gint64            run_id)
{
  struct flock lock = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = run_id, .l_len = 1 };

  for (guint i = 0; i < store->held_runs->len; i++)
    if (g_array_index (store->held_runs, gint64, i) == run_id)
      {
        fcntl (store->owner_fd, F_OFD_SETLK, &lock);
        g_array_remove_index_fast (store->held_runs, i);
        return;
      }
}

/* 1: some connection holds the run's lock; 0: nobody; -1: cannot tell. */
static int
run_lock_state (ConvolveRunStore *store,
                gint64            run_id)
{
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = run_id, .l_len = 1 };
  int fd;

  if (holds_run (store, run_id))
    return 1;
  fd = owner_fd (store);
  if (fd < 0 || fcntl (fd, F_OFD_GETLK, &lock) != 0)
    return -1;
  return lock.l_type != F_UNLCK;
}

/* FALSE when the process that owned a run is certainly gone: another
 * boot; or, with an owner lock, nobody holds it; or, without one (the
 * lock file could not be made), no such process, a zombie, or a process
 * that started at another time (its pid was reused). */
static gboolean
owner_is_alive (ConvolveRunStore *store,
                gint64            run_id,
                gint64            pid,
                const char       *boot_id,
                gint64            start_ticks,
                gboolean          locked,
                const char       *our_boot_id)
{
  gboolean zombie = FALSE;
  gint64 ticks;
  int state;

  if (boot_id != NULL && boot_id[0] != '\0' && our_boot_id[0] != '\0' &&
      strcmp (boot_id, our_boot_id) != 0)
    return FALSE;
  if (locked && (state = run_lock_state (store, run_id)) >= 0)
    return state == 1;
  if (pid <= 0)
    return FALSE;
  if (kill ((pid_t) pid, 0) != 0 && errno == ESRCH)
    return FALSE;
  ticks = read_start_ticks (pid, &zombie);
  if (zombie)
    return FALSE;
  if (start_ticks > 0 && ticks > 0 && ticks != start_ticks)
    return FALSE;
  return TRUE;
}

guint
convolve_run_store_mark_interrupted (ConvolveRunStore *store,
                                     GError          **error)
{
  g_autoptr(GArray) dead = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *our_boot_id = read_boot_id ();
  sqlite3_stmt *stmt;
  int rc;
  guint n = 0;

  g_return_val_if_fail (store != NULL, 0);

  g_mutex_lock (&store->lock);
  stmt = _convolve_run_store_prepare (store,
    "SELECT id, owner_pid, owner_boot_id, owner_start_ticks, owner_locked FROM runs WHERE status = 'running'",
    error);
  if (stmt == NULL)
    goto out;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      if (!owner_is_alive (store, id, sqlite3_column_int64 (stmt, 1),
                           (const char *) sqlite3_column_text (stmt, 2),
                           sqlite3_column_int64 (stmt, 3), sqlite3_column_int (stmt, 4) != 0,
                           our_boot_id))
        g_array_append_val (dead, id);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      _convolve_run_store_set_error (store, rc, error);
      goto out;
    }
  if (dead->len == 0)
    goto out;

  /* Only now a write lock: most opens find nothing to mark. */
  if (!_convolve_run_store_exec (store, "BEGIN IMMEDIATE", error))
    goto out;
  stmt = _convolve_run_store_prepare (store,
    "UPDATE runs SET status = 'interrupted', ended_at = coalesce (updated_at, started_at, created_at)"
    " WHERE id = ?1 AND status = 'running'",
    error);
  if (stmt == NULL)
    {
      _convolve_run_store_rollback (store);
      goto out;
    }
  for (guint i = 0; i < dead->len; i++)
    {
      sqlite3_bind_int64 (stmt, 1, g_array_index (dead, gint64, i));
      if (!_convolve_run_store_step_done (store, stmt, error))
        {
          sqlite3_finalize (stmt);
          _convolve_run_store_rollback (store);
          goto out;
        }
      n += sqlite3_changes (store->db);
    }
  sqlite3_finalize (stmt);
  if (!_convolve_run_store_exec (store, "COMMIT", error))
    {
      _convolve_run_store_rollback (store);
      n = 0;
    }

out:
  g_mutex_unlock (&store->lock);
  return n;
}
