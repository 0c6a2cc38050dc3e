/* data-test-util.h: small helpers shared by the data layer's tests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

/* A fresh temporary folder for one test. */
static inline char *
data_test_make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("convolve-data-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* Removes a folder made by data_test_make_dir() and everything in it. */
static inline void
data_test_remove_dir (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_remove (path);
      return;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        data_test_remove_dir (child);
      else
        g_remove (child);
    }
  g_dir_close (dir);
  g_rmdir (path);
}

static inline char *
data_test_write (const char   *dir,
                 const char   *name,
                 const void   *data,
                 gsize         length)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, data, (gssize) length, &error);
  g_assert_no_error (error);
  return path;
}

/* The error's message names the file (by its base name at least). */
static inline void
data_test_assert_names (const GError *error,
                        const char   *name)
{
  g_assert_nonnull (error);
  if (strstr (error->message, name) == NULL)
    g_error ("“%s” does not mention %s", error->message, name);
}
