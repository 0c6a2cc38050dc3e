/* convolve-download-extract.c: unpacking a downloaded CIFAR-10 archive.
 *
 * libarchive reads the verified .tar.gz; every entry must be a plain file
 * or folder on a path that stays inside the temporary folder, and the
 * batches' labels are checked as they are written. The dataset is moved
 * into place only once every file is there and whole.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* renameat2() */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-download-private.h"

static const char * const batch_files[] = {
  "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
  "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
};
static const char * const other_files[] = { "batches.meta.txt", "readme.html" };

static gboolean
pwrite_all (int           fd,
            const guint8 *data,
            gsize         size,
            gint64        offset,
            const char   *path,
            const char   *folder,
            GError      **error)
{
  while (size > 0)
    {
      ssize_t n = pwrite (fd, data, size, offset);

      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          _convolve_download_set_errno_error_full (error, errsv, path, folder);
          return FALSE;
        }
      data += n;
      size -= (gsize) n;
      offset += n;
    }
  return TRUE;
}

static void set_format_error (GError     **error,
                              const char  *format,
                              ...) G_GNUC_PRINTF (2, 3);

static void
set_format_error (GError     **error,
                  const char  *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT, message);
}

static void
set_archive_error (GError        **error,
                   struct archive *archive)
{
  const char *reason = archive_error_string (archive);

  set_format_error (error, _("The archive is damaged: %s"),
                    reason != NULL ? reason : _("unknown error"));
}

static void
set_member_too_large_error (ConvolveDownloadJob  *job,
                            GError              **error,
                            const char           *name)
{
  g_autofree char *limit = g_format_size (job->max_member);

  /* TRANSLATORS: a file in the archive, then a size such as “1.1 GB” */
  set_format_error (error, _("The archive contains “%s”, larger than %s, the most Convolve unpacks for one file"),
                    name, limit);
}

static void
set_dataset_too_large_error (ConvolveDownloadJob  *job,
                             GError              **error)
{
  g_autofree char *limit = g_format_size (job->max_dataset);

  /* TRANSLATORS: %s is a size such as “4.3 GB” */
  set_format_error (error, _("The archive unpacks to more than %s, the most Convolve keeps for one dataset"),
                    limit);
}

/* The entry's path relative to the extraction folder, or NULL when it is
 * absolute or climbs out with "..". "" for the archive's root itself. */
static char *
safe_relative_path (const char *path)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();

  if (path == NULL || path[0] == '/' || path[0] == '\0')
    return NULL;

  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (strcmp (parts[i], "..") == 0)
        return NULL;
      if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0)
        continue;
      g_ptr_array_add (kept, parts[i]);
    }
  g_ptr_array_add (kept, NULL);
  return g_strjoinv ("/", (char **) kept->pdata);
}

static gboolean
is_batch_file (const char *relative)
{
  if (!g_str_has_prefix (relative, CONVOLVE_CIFAR10_FOLDER "/"))
    return FALSE;
  relative += strlen (CONVOLVE_CIFAR10_FOLDER "/");
  for (guint i = 0; i < G_N_ELEMENTS (batch_files); i++)
    if (strcmp (relative, batch_files[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
job_extract_file (ConvolveDownloadJob   *job,
                  struct archive        *archive,
                  struct archive_entry  *entry,
                  const char            *relative,
                  const char            *target,
                  guint64               *unpacked,
                  GError               **error)
{
  gboolean check_labels = is_batch_file (relative);
  g_autofree char *parent = g_path_get_dirname (target);
  gint64 length = 0;
  gboolean ok = TRUE;
  int fd;

  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      _convolve_download_set_errno_error_full (error, errno, parent, job->data_dir);
      return FALSE;
    }
  fd = open (target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      _convolve_download_set_errno_error_full (error, errno, target, job->data_dir);
      return FALSE;
    }

  while (ok)
    {
      const void *block;
      size_t size;
      la_int64_t offset;
      int r = archive_read_data_block (archive, &block, &size, &offset);

      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          set_archive_error (error, archive);
          ok = FALSE;
          break;
        }
      /* what is written, not only what the header said (a sparse entry's
       * blocks may lie about where they go) */
      if (offset < 0 || (guint64) offset + size > job->max_member)
        {
          set_member_too_large_error (job, error, relative);
          ok = FALSE;
          break;
        }
      if (offset + (gint64) size > length &&
          *unpacked + (guint64) (offset + (gint64) size - length) > job->max_dataset)
        {
          set_dataset_too_large_error (job, error);
          ok = FALSE;
          break;
        }
      if (offset + (gint64) size > length)
        *unpacked += (guint64) (offset + (gint64) size - length);
      if (!pwrite_all (fd, block, size, offset, target, job->data_dir, error))
        {
          ok = FALSE;
          break;
        }
      if (check_labels)
        {
          /* the first byte of each 3073-byte record is a class, 0..9 */
          la_int64_t first = (offset + CONVOLVE_CIFAR10_RECORD_SIZE - 1) /
                             CONVOLVE_CIFAR10_RECORD_SIZE * CONVOLVE_CIFAR10_RECORD_SIZE;

          for (la_int64_t at = first; at < offset + (la_int64_t) size; at += CONVOLVE_CIFAR10_RECORD_SIZE)
            if (((const guint8 *) block)[at - offset] >= CONVOLVE_CIFAR10_N_CLASSES)
              {
                set_format_error (error, _("%s has an image with a class outside 0 to 9"), relative);
                ok = FALSE;
                break;
              }
        }
      length = MAX (length, offset + (gint64) size);
      if (_convolve_download_job_set_error_if_cancelled (job, error))
        ok = FALSE;
      _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_EXTRACTING,
                                     (guint64) archive_filter_bytes (archive, -1), job->total, FALSE);
    }

  /* a sparse entry may end in a hole (its size was checked against the
   * limits with the header) */
  if (ok && archive_entry_size_is_set (entry) && archive_entry_size (entry) > length)
    *unpacked += (guint64) (archive_entry_size (entry) - length);
  if (ok && archive_entry_size_is_set (entry) && archive_entry_size (entry) > length &&
      ftruncate (fd, archive_entry_size (entry)) != 0)
    {
      _convolve_download_set_errno_error_full (error, errno, target, job->data_dir);
      ok = FALSE;
    }
  if (close (fd) != 0 && ok)
    {
      _convolve_download_set_errno_error_full (error, errno, target, job->data_dir);
      ok = FALSE;
    }
  return ok;
}

static gboolean
job_extract_archive (ConvolveDownloadJob  *job,
                     const char           *temp_dir,
                     GError              **error)
{
  struct archive *archive = archive_read_new ();
  struct archive_entry *entry;
  guint64 unpacked = 0;
  gboolean ok = TRUE;
  int r;

  archive_read_support_filter_gzip (archive);
  archive_read_support_format_tar (archive);
  /* The part file checked, through its descriptor: the path may name
   * something else by now. */
  if (lseek (job->part_fd, 0, SEEK_SET) != 0)
    {
      _convolve_download_set_errno_error (error, errno, job->part_path);
      archive_read_free (archive);
      return FALSE;
    }
  if (archive_read_open_fd (archive, job->part_fd, CONVOLVE_DOWNLOAD_BUFFER_SIZE) != ARCHIVE_OK)
    {
      set_archive_error (error, archive);
      archive_read_free (archive);
      return FALSE;
    }

  while (ok && (r = archive_read_next_header (archive, &entry)) != ARCHIVE_EOF)
    {
      const char *name = archive_entry_pathname (entry);
      g_autofree char *relative = NULL;
      g_autofree char *target = NULL;
      mode_t type = archive_entry_filetype (entry);

      if (r < ARCHIVE_WARN)
        {
          set_archive_error (error, archive);
          ok = FALSE;
          break;
        }
      if (name == NULL)
        name = "";
      relative = safe_relative_path (name);
      if (relative == NULL)
        {
          set_format_error (error, _("The archive contains an unsafe path “%s”"), name);
          ok = FALSE;
          break;
        }
      if (archive_entry_hardlink (entry) != NULL ||
          (type != AE_IFREG && type != AE_IFDIR))
        {
          set_format_error (error, _("The archive contains “%s”, which is neither a file nor a folder"), name);
          ok = FALSE;
          break;
        }
      /* the sizes headers claim, before anything is written; and the
       * unpacked stream itself (headers too), so a bomb of entries ends */
      if (type == AE_IFREG && archive_entry_size_is_set (entry) &&
          (archive_entry_size (entry) < 0 || (guint64) archive_entry_size (entry) > job->max_member))
        {
          set_member_too_large_error (job, error, name);
          ok = FALSE;
          break;
        }
      if (type == AE_IFREG && archive_entry_size_is_set (entry) &&
          unpacked + (guint64) archive_entry_size (entry) > job->max_dataset)
        {
          set_dataset_too_large_error (job, error);
          ok = FALSE;
          break;
        }
      if ((guint64) archive_filter_bytes (archive, 0) > job->max_dataset + job->max_member)
        {
          set_dataset_too_large_error (job, error);
          ok = FALSE;
          break;
        }
      if (relative[0] == '\0')
        continue;

      target = g_build_filename (temp_dir, relative, NULL);
      if (type == AE_IFDIR)
        {
          if (g_mkdir_with_parents (target, 0755) != 0)
            {
              _convolve_download_set_errno_error_full (error, errno, target, job->data_dir);
              ok = FALSE;
            }
        }
      else
        {
          ok = job_extract_file (job, archive, entry, relative, target, &unpacked, error);
        }
      if (ok && _convolve_download_job_set_error_if_cancelled (job, error))
        ok = FALSE;
    }

  archive_read_free (archive);
  return ok;
}

/* Every file of the binary version there, each batch whole. */
static gboolean
validate_dataset (const char  *dir,
                  GError     **error)
{
  GStatBuf st;

  if (g_lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      set_format_error (error, _("The archive has no “%s” folder"), CONVOLVE_CIFAR10_FOLDER);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (batch_files) + G_N_ELEMENTS (other_files); i++)
    {
      gboolean is_batch = i < G_N_ELEMENTS (batch_files);
      const char *name = is_batch ? batch_files[i] : other_files[i - G_N_ELEMENTS (batch_files)];
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
        {
          set_format_error (error, _("The archive is incomplete: %s is missing"), name);
          return FALSE;
        }
      if (is_batch && (st.st_size == 0 || st.st_size % CONVOLVE_CIFAR10_RECORD_SIZE != 0))
        {
          set_format_error (error, _("The archive is damaged: %s is not a whole number of images"), name);
          return FALSE;
        }
    }

  {
    /* The loader's own rule: an archive whose class list it would refuse
     * is refused before it replaces a dataset that loads. */
    g_autofree char *meta_path = g_build_filename (dir, "batches.meta.txt", NULL);
    g_auto(GStrv) names = NULL;
    g_autoptr(GError) local_error = NULL;

    if (!g_file_test (meta_path, G_FILE_TEST_EXISTS))
      {
        set_format_error (error, _("The archive is damaged: %s cannot be read"), "batches.meta.txt");
        return FALSE;
      }
    names = convolve_cifar10_read_meta_txt (dir, &local_error);
    if (names == NULL)
      {
        set_format_error (error, _("The archive is damaged: %s does not name 10 classes"), "batches.meta.txt");
        return FALSE;
      }
  }
  return TRUE;
}

static int
rename_default (const char   *from,
                const char   *to,
                unsigned int  flags)
{
  return renameat2 (AT_FDCWD, from, AT_FDCWD, to, flags);
}

static int
job_rename (ConvolveDownloadJob *job,
            const char          *from,
            const char          *to,
            unsigned int         flags)
{
  return (job->rename_func != NULL ? job->rename_func : rename_default) (from, to, flags);
}

/* Moves the complete dataset into place. An existing one is swapped with
 * it in one step (RENAME_EXCHANGE) and only then deleted, with the
 * temporary folder. Where the file system cannot swap, the existing one
 * is moved aside into the temporary folder first and put back if the
 * move fails; if even that fails, the temporary folder is kept (*keep)
 * and the next run puts it back (_convolve_download_restore_previous). */
static gboolean
job_install (ConvolveDownloadJob  *job,
             const char           *extracted,
             const char           *temp_dir,
             gboolean             *keep,
             GError              **error)
{
  g_autofree char *previous = g_build_filename (temp_dir, "previous", NULL);
  g_autofree char *display = g_filename_display_name (job->dataset_dir);
  GStatBuf st;
  int errsv;

  *keep = FALSE;
  if (g_lstat (job->dataset_dir, &st) != 0)
    {
      if (job_rename (job, extracted, job->dataset_dir, RENAME_NOREPLACE) == 0)
        return TRUE;
      errsv = errno;
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not move the dataset to %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }

  if (job_rename (job, extracted, job->dataset_dir, RENAME_EXCHANGE) == 0)
    return TRUE;  /* the previous one is now at extracted, deleted with temp_dir */
  errsv = errno;
  if (errsv != EINVAL && errsv != ENOSYS && errsv != ENOTSUP)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not replace %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }

  /* no swapping here: aside, in, and back if "in" fails */
  if (job_rename (job, job->dataset_dir, previous, RENAME_NOREPLACE) != 0)
    {
      errsv = errno;
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not replace %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }

  if (job_rename (job, extracted, job->dataset_dir, RENAME_NOREPLACE) == 0)
    return TRUE;
  errsv = errno;

  if (job_rename (job, previous, job->dataset_dir, RENAME_NOREPLACE) != 0)
    {
      g_autofree char *kept = g_filename_display_name (previous);

      *keep = TRUE;
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not move the dataset to %s: %s; the previous dataset is kept in %s"),
                   display, g_strerror (errsv), kept);
      return FALSE;
    }

  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
               _("Could not move the dataset to %s: %s"), display, g_strerror (errsv));
  return FALSE;
}

void
_convolve_download_restore_previous (ConvolveDownloadJob *job,
                                     const char          *temp_dir)
{
  g_autofree char *previous = g_build_filename (temp_dir, "previous", NULL);
  GStatBuf st;

  if (g_lstat (previous, &st) == 0 && S_ISDIR (st.st_mode) &&
      g_lstat (job->dataset_dir, &st) != 0 && errno == ENOENT)
    job_rename (job, previous, job->dataset_dir, RENAME_NOREPLACE);
}

gboolean
_convolve_download_job_extract (ConvolveDownloadJob  *job,
                                GError              **error)
{
  g_autofree char *template = g_build_filename (job->data_dir, CONVOLVE_DOWNLOAD_TEMP_PREFIX "XXXXXX", NULL);
  g_autofree char *extracted = NULL;
  gboolean keep = FALSE;
  gboolean ok;

  _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_EXTRACTING, 0, job->total, TRUE);
  if (g_mkdtemp_full (template, 0755) == NULL)
    {
      _convolve_download_set_errno_error (error, errno, template);
      return FALSE;
    }
  extracted = g_build_filename (template, CONVOLVE_CIFAR10_FOLDER, NULL);

  ok = job_extract_archive (job, template, error) &&
       validate_dataset (extracted, error) &&
       !_convolve_download_job_set_error_if_cancelled (job, error) &&
       job_install (job, extracted, template, &keep, error);

  if (!keep)
    _convolve_download_remove_tree (template);
  if (ok)
    _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_EXTRACTING, job->total, job->total, TRUE);
  return ok;
}
