/* convolve-atomic-file.c: write a temporary file, sync it, rename it over
 * the target (see convolve-atomic-file.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "convolve-error.h"

struct _ConvolveAtomicFile {
  char *path;
  char *temp_path;
  char *display_name;
  int   fd;
};

/* For a write, sync or close that failed with saved_errno. */
static void
set_write_error (GError **error, const char *display_name, int saved_errno)
{
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
               _("Could not write “%s”: %s"), display_name, g_strerror (saved_errno));
}

/* For a temporary file that could not be made or renamed. */
static void
set_save_error (GError **error, const char *display_name, int saved_errno)
{
  g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
               _("Could not save to “%s”: %s"), display_name, g_strerror (saved_errno));
}

static void
atomic_file_free (ConvolveAtomicFile *file)
{
  g_free (file->path);
  g_free (file->temp_path);
  g_free (file->display_name);
  g_free (file);
}

ConvolveAtomicFile *
convolve_atomic_file_new (const char  *path,
                          GError     **error)
{
  ConvolveAtomicFile *file;
  GStatBuf st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  file = g_new0 (ConvolveAtomicFile, 1);
  file->path = g_strdup (path);
  file->display_name = g_filename_display_name (path);
  file->fd = -1;

  /* Renaming over a device or a directory would be destructive or fail
   * late: refuse up front. */
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO,
                   _("Could not save to “%s”: it exists and is not a regular file"),
                   file->display_name);
      atomic_file_free (file);
      return NULL;
    }

  file->temp_path = g_strconcat (path, ".XXXXXX", NULL);
  file->fd = g_mkstemp_full (file->temp_path, O_RDWR, 0666);
  if (file->fd < 0)
    {
      set_save_error (error, file->display_name, errno);
      atomic_file_free (file);
      return NULL;
    }
  return file;
}

const char *
convolve_atomic_file_get_display_name (const ConvolveAtomicFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->display_name;
}

gboolean
convolve_atomic_file_write (ConvolveAtomicFile  *file,
                            const void          *data,
                            gsize                length,
                            GError             **error)
{
  const guint8 *p = data;

  g_return_val_if_fail (file != NULL && file->fd >= 0, FALSE);

  while (length > 0)
    {
      gssize written = write (file->fd, p, MIN (length, (gsize) 1 << 30));

      if (written < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          set_write_error (error, file->display_name, saved_errno);
          return FALSE;
        }
      p += written;
      length -= (gsize) written;
    }
  return TRUE;
}

/* Best effort: makes the rename itself durable. */
static void
sync_directory (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = g_open (dir, O_RDONLY, 0);

  if (fd >= 0)
    {
      g_fsync (fd);
      g_close (fd, NULL);
    }
}

gboolean
convolve_atomic_file_commit (ConvolveAtomicFile  *file,
                             GError             **error)
{
  g_return_val_if_fail (file != NULL && file->fd >= 0, FALSE);

  if (g_fsync (file->fd) != 0)
    {
      set_write_error (error, file->display_name, errno);
      goto fail;
    }
  if (!g_close (file->fd, NULL))
    {
      file->fd = -1;
      set_write_error (error, file->display_name, errno);
      goto fail;
    }
  file->fd = -1;
  if (g_rename (file->temp_path, file->path) != 0)
    {
      set_save_error (error, file->display_name, errno);
      goto fail;
    }
  sync_directory (file->path);
  atomic_file_free (file);
  return TRUE;

fail:
  convolve_atomic_file_abort (file);
  return FALSE;
}

void
convolve_atomic_file_abort (ConvolveAtomicFile *file)
{
  if (file == NULL)
    return;
  if (file->fd >= 0)
    g_close (file->fd, NULL);
  g_unlink (file->temp_path);
  atomic_file_free (file);
}
