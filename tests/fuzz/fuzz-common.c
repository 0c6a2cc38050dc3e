/* fuzz-common.c: temporary files and GLib settings for the harnesses.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *temp_dir;

static void
remove_temp_dir (void)
{
  if (temp_dir == NULL)
    return;
  convolve_fuzz_clear_dir (temp_dir);
  g_rmdir (temp_dir);
  g_clear_pointer (&temp_dir, g_free);
}

/* A warning or critical from input is a bug: print it and abort(), which
 * libFuzzer and the sanitizers report with a stack and the input (GLib's
 * own fatal path raises SIGTRAP, which they do not catch). */
static gboolean
is_bug_level (GLogLevelFlags level)
{
  return (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0;
}

static void
abort_on_bug (GLogLevelFlags  level,
              const char     *domain,
              const char     *message)
{
  if (!is_bug_level (level))
    return;
  fprintf (stderr, "fuzz: %s-%s: %s\n", domain != NULL ? domain : "(none)",
           (level & G_LOG_LEVEL_ERROR) ? "ERROR" : (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL" : "WARNING",
           message != NULL ? message : "");
  abort ();
}

static void
log_handler (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
  abort_on_bug (level, domain, message);
}

static GLogWriterOutput
log_writer (GLogLevelFlags   level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  abort_on_bug (level, domain, message);
  return G_LOG_WRITER_HANDLED;
}

void
convolve_fuzz_init (void)
{
  static gsize initialised = 0;

  if (!g_once_init_enter (&initialised))
    return;
  /* GIO modules (gvfs, proxies) would be loaded, and their one-time
   * allocations reported, the first time a GFile is made. */
  g_setenv ("GIO_USE_VFS", "local", TRUE);
  g_setenv ("GIO_MODULE_DIR", "/nonexistent", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  setlocale (LC_ALL, "C");
  /* No warning or critical may come from input: each one is a bug;
   * messages and debug output are dropped. */
  g_log_set_default_handler (log_handler, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_once_init_leave (&initialised, 1);
}

/* A process that crashed (the point of fuzzing) left its folder, named
 * convolve-fuzz-<pid>-…: remove those whose process is gone. */
static void
remove_stale_temp_dirs (void)
{
  g_autoptr(GDir) listing = g_dir_open (g_get_tmp_dir (), 0, NULL);
  const char *name;

  if (listing == NULL)
    return;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = NULL;
      char *end = NULL;
      gint64 pid;

      if (!g_str_has_prefix (name, "convolve-fuzz-"))
        continue;
      pid = g_ascii_strtoll (name + strlen ("convolve-fuzz-"), &end, 10);
      if (end == NULL || *end != '-' || pid <= 0 || pid > G_MAXINT ||
          kill ((pid_t) pid, 0) == 0 || errno != ESRCH)
        continue;
      path = g_build_filename (g_get_tmp_dir (), name, NULL);
      convolve_fuzz_clear_dir (path);
      g_rmdir (path);
    }
}

const char *
convolve_fuzz_temp_dir (void)
{
  if (temp_dir == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *template = g_strdup_printf ("convolve-fuzz-%d-XXXXXX", (int) getpid ());

      remove_stale_temp_dirs ();
      temp_dir = g_dir_make_tmp (template, &error);
      if (temp_dir == NULL)
        {
          fprintf (stderr, "fuzz: no temporary folder: %s\n", error->message);
          abort ();
        }
      atexit (remove_temp_dir);
    }
  return temp_dir;
}

char *
convolve_fuzz_write_file (const char    *dir,
                          const char    *name,
                          const uint8_t *data,
                          size_t         size)
{
  char *path = g_build_filename (dir, name, NULL);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      fprintf (stderr, "fuzz: cannot make %s: %s\n", dir, g_strerror (errno));
      abort ();
    }
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      fprintf (stderr, "fuzz: cannot write %s: %s\n", path, g_strerror (errno));
      abort ();
    }
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          fprintf (stderr, "fuzz: cannot write %s: %s\n", path, g_strerror (errno));
          abort ();
        }
      data += n;
      size -= (size_t) n;
    }
  close (fd);
  return path;
}

void
convolve_fuzz_clear_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  if (listing == NULL)
    return;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;

      if (g_lstat (path, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          convolve_fuzz_clear_dir (path);
          g_rmdir (path);
        }
      else
        {
          g_unlink (path);
        }
    }
}

guint
convolve_fuzz_split (const uint8_t  *data,
                     size_t          size,
                     guint           max_parts,
                     const uint8_t **parts,
                     size_t         *sizes)
{
  const size_t separator_length = strlen (CONVOLVE_FUZZ_SEPARATOR);
  guint n = 0;

  g_assert (max_parts > 0);
  while (n + 1 < max_parts)
    {
      const uint8_t *at = size >= separator_length
                          ? memmem (data, size, CONVOLVE_FUZZ_SEPARATOR, separator_length)
                          : NULL;

      if (at == NULL)
        break;
      parts[n] = data;
      sizes[n] = (size_t) (at - data);
      n++;
      size -= sizes[n - 1] + separator_length;
      data = at + separator_length;
    }
  parts[n] = data;
  sizes[n] = size;
  return n + 1;
}
