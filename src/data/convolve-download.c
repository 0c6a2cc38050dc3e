/* convolve-download.c: CIFAR-10 download, check and extraction.
 *
 * The work is one blocking function (job_run) over a ConvolveDownloadJob
 * that holds a copy of the settings, so it can run on any thread;
 * convolve_download_run_async() runs it on a GTask thread and relays
 * progress to the caller's context. This file keeps the job, its part
 * file (resumption, checksum, disk space) and progress; the HTTP transfer
 * is in convolve-download-transfer.c, extraction in
 * convolve-download-extract.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-download.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-download-private.h"
#include "convolve-limits.h"
#include "convolve-loaders.h"

#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 10)
#define RATE_TIME_CONSTANT   3.0   /* seconds; smooths the rate shown */

struct _ConvolveDownload
{
  GObject  parent_instance;

  char    *data_dir;
  char    *url;
  char    *expected_md5;   /* lower case */
  char    *part_path;      /* NULL: the default next to the dataset */
  guint    max_retries;
  guint    first_delay_ms;
  guint64  max_download;   /* 0: the defaults of convolve-limits.h */
  guint64  max_member;
  guint64  max_dataset;
  ConvolveDownloadRenameFunc rename_func;
  gint     running;        /* atomic */
};

G_DEFINE_FINAL_TYPE (ConvolveDownload, convolve_download, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DATA_DIR,
  PROP_URL,
  PROP_EXPECTED_MD5,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Closes the part and unlocks the data folder. Done when the run ends,
 * not when the job is freed, which for an async run may come later. */
static void
job_close_files (ConvolveDownloadJob *job)
{
  if (job->part_fd >= 0)
    close (job->part_fd);
  job->part_fd = -1;
  if (job->dir_fd >= 0)
    close (job->dir_fd);
  job->dir_fd = -1;
}

static void
job_free (ConvolveDownloadJob *job)
{
  job_close_files (job);
  g_clear_pointer (&job->md5, g_checksum_free);
  g_clear_object (&job->cancellable);
  g_free (job->buffer);
  g_free (job->data_dir);
  g_free (job->dataset_dir);
  g_free (job->url);
  g_free (job->host);
  g_free (job->expected_md5);
  g_free (job->part_path);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveDownloadJob, job_free)

static char *
default_part_path (const char *data_dir,
                   const char *md5)
{
  g_autofree char *name = g_strdup_printf ("cifar-10-binary-%.8s.tar.gz.part", md5);

  return g_build_filename (data_dir, name, NULL);
}

static ConvolveDownloadJob *
job_new (ConvolveDownload             *self,
         GCancellable                 *cancellable,
         ConvolveDownloadProgressFunc  progress_func,
         gpointer                      progress_data)
{
  ConvolveDownloadJob *job = g_new0 (ConvolveDownloadJob, 1);

  job->data_dir = g_strdup (self->data_dir);
  job->dataset_dir = g_build_filename (self->data_dir, CONVOLVE_CIFAR10_FOLDER, NULL);
  job->url = g_strdup (self->url);
  job->expected_md5 = g_strdup (self->expected_md5);
  job->part_path = self->part_path != NULL
                   ? g_strdup (self->part_path)
                   : default_part_path (self->data_dir, self->expected_md5);
  job->max_download = self->max_download != 0 ? self->max_download : CONVOLVE_LIMIT_DOWNLOAD_BYTES;
  job->max_member = self->max_member != 0 ? self->max_member : CONVOLVE_LIMIT_ARCHIVE_MEMBER_BYTES;
  job->max_dataset = self->max_dataset != 0 ? self->max_dataset : CONVOLVE_LIMIT_DATASET_BYTES;
  job->rename_func = self->rename_func;
  job->max_retries = self->max_retries;
  job->first_delay_ms = self->first_delay_ms;
  job->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  job->progress_func = progress_func;
  job->progress_data = progress_data;
  job->dir_fd = -1;
  job->part_fd = -1;
  job->md5 = g_checksum_new (G_CHECKSUM_MD5);
  job->buffer = g_malloc (CONVOLVE_DOWNLOAD_BUFFER_SIZE);
  job->progress.eta_seconds = -1;
  job->progress.attempt = 1;

  return job;
}

/* ------------------------------------------------------------------ */
/* Errors */

gboolean
_convolve_download_job_set_error_if_cancelled (ConvolveDownloadJob  *job,
                                               GError              **error)
{
  if (!g_cancellable_is_cancelled (job->cancellable))
    return FALSE;
  g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                       _("The download was cancelled"));
  return TRUE;
}

static void
set_no_space_error (GError     **error,
                    const char  *folder)
{
  g_autofree char *display = g_filename_display_name (folder);

  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NO_SPACE,
               _("Not enough disk space in %s"), display);
}

/* A failed write or create on path: a full disk becomes NO_SPACE naming
 * folder (nullable: the file's own folder), anything else IO naming the
 * file. */
void
_convolve_download_set_errno_error_full (GError     **error,
                      int          errsv,
                      const char  *path,
                      const char  *folder)
{
  g_autofree char *display = NULL;

  if (errsv == ENOSPC || errsv == EDQUOT)
    {
      g_autofree char *parent = g_path_get_dirname (path);

      set_no_space_error (error, folder != NULL ? folder : parent);
      return;
    }

  display = g_filename_display_name (path);
  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
               _("Could not write %s: %s"), display, g_strerror (errsv));
}

void
_convolve_download_set_errno_error (GError     **error,
                 int          errsv,
                 const char  *path)
{
  _convolve_download_set_errno_error_full (error, errsv, path, NULL);
}

/* ------------------------------------------------------------------ */
/* Progress */

void
_convolve_download_job_report (ConvolveDownloadJob   *job,
                               ConvolveDownloadPhase  phase,
                               guint64                received,
                               guint64                total,
                               gboolean               force)
{
  ConvolveDownloadProgress *p = &job->progress;
  gint64 now = g_get_monotonic_time ();
  gboolean new_phase = !job->reported || p->phase != phase;

  if (new_phase || received < job->rate_received)
    {
      /* a new phase, or a restart from zero: the old rate means nothing */
      p->bytes_per_second = 0;
      job->rate_time_us = now;
      job->rate_received = received;
    }
  else if (now - job->rate_time_us >= PROGRESS_INTERVAL_US)
    {
      double dt = (double) (now - job->rate_time_us) / G_USEC_PER_SEC;
      double instant = (double) (received - job->rate_received) / dt;
      double alpha = 1.0 - exp (-dt / RATE_TIME_CONSTANT);

      if (p->bytes_per_second <= 0)
        p->bytes_per_second = instant;
      else
        p->bytes_per_second += alpha * (instant - p->bytes_per_second);
      job->rate_time_us = now;
      job->rate_received = received;
    }

  p->phase = phase;
  p->received = received;
  p->total = total;
  if (total > 0 && received >= total)
    p->eta_seconds = 0;
  else if (total > 0 && p->bytes_per_second > 0)
    p->eta_seconds = (double) (total - received) / p->bytes_per_second;
  else
    p->eta_seconds = -1;
  job->reported = TRUE;

  if (job->progress_func == NULL)
    return;
  if (!new_phase && !force && now - job->last_emit_us < PROGRESS_INTERVAL_US)
    return;
  job->last_emit_us = now;
  job->progress_func (p, job->progress_data);
}

/* ------------------------------------------------------------------ */
/* Files */

/* Deletes path and, for a folder, everything in it; never follows links. */
void
_convolve_download_remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;

  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);

      if (dir != NULL)
        {
          const char *name;

          while ((name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *child = g_build_filename (path, name, NULL);

              _convolve_download_remove_tree (child);
            }
          g_dir_close (dir);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

/* Temporary folders of runs that crashed or were killed (a previous
 * dataset caught in one goes back first). Only called while holding the
 * data folder's lock, so no other run owns them. */
static void
remove_stale_temp_folders (ConvolveDownloadJob *job)
{
  GDir *dir = g_dir_open (job->data_dir, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, CONVOLVE_DOWNLOAD_TEMP_PREFIX))
      {
        g_autofree char *path = g_build_filename (job->data_dir, name, NULL);

        _convolve_download_restore_previous (job, path);
        _convolve_download_remove_tree (path);
      }
  g_dir_close (dir);
}

/* Locks the data folder so that two runs (the app and the CLI, say) never
 * share a part file or a temporary folder. */
static gboolean
job_lock_data_dir (ConvolveDownloadJob  *job,
                   GError              **error)
{
  g_autofree char *display = g_filename_display_name (job->data_dir);

  if (g_mkdir_with_parents (job->data_dir, 0755) != 0)
    {
      int errsv = errno;

      if (errsv == ENOSPC || errsv == EDQUOT)
        set_no_space_error (error, job->data_dir);
      else
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                     _("Could not create the folder %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }

  job->dir_fd = open (job->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (job->dir_fd < 0)
    {
      int errsv = errno;

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not open the folder %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }
  if (flock (job->dir_fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Another download into %s is running"), display);
      return FALSE;
    }
  return TRUE;
}

/* Opens (or creates) the part file and hashes what it already holds, so
 * that a resumed download still gets a checksum of the whole archive. */
static gboolean
job_open_part (ConvolveDownloadJob  *job,
               GError              **error)
{
  g_autofree char *display = g_filename_display_name (job->part_path);
  struct stat st;
  guint64 hashed = 0;

  /* Never through a link: one planted at the part path would have the
   * download written (and later deleted) wherever it points. */
  job->part_fd = open (job->part_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (job->part_fd < 0)
    {
      int errsv = errno;

      if (errsv == ELOOP)
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                     _("Could not create %s: it is a symbolic link, which Convolve does not follow there"),
                     display);
      else if (errsv == ENOSPC || errsv == EDQUOT)
        _convolve_download_set_errno_error (error, errsv, job->part_path);
      else
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                     _("Could not create %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }
  if (fstat (job->part_fd, &st) != 0)
    {
      int errsv = errno;

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not read %s: %s"), display, g_strerror (errsv));
      return FALSE;
    }
  job->part_is_regular = S_ISREG (st.st_mode);
  if (!job->part_is_regular || st.st_size == 0)
    return TRUE;

  _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_CONNECTING, 0, 0, TRUE);
  while (hashed < (guint64) st.st_size)
    {
      ssize_t n = pread (job->part_fd, job->buffer, CONVOLVE_DOWNLOAD_BUFFER_SIZE, (off_t) hashed);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;  /* unreadable or shrunk: keep what was hashed, drop the rest */
      g_checksum_update (job->md5, job->buffer, n);
      hashed += (guint64) n;
      if (_convolve_download_job_set_error_if_cancelled (job, error))
        return FALSE;
    }
  if (hashed < (guint64) st.st_size && ftruncate (job->part_fd, (off_t) hashed) != 0)
    {
      g_checksum_reset (job->md5);
      hashed = 0;
    }
  job->part_size = hashed;
  return TRUE;
}

/* Drops what the part file holds, for a server that ignores Range. */
gboolean
_convolve_download_job_restart_part (ConvolveDownloadJob  *job,
                                     GError              **error)
{
  if (job->part_is_regular && ftruncate (job->part_fd, 0) != 0)
    {
      _convolve_download_set_errno_error (error, errno, job->part_path);
      return FALSE;
    }
  g_checksum_reset (job->md5);
  job->part_size = 0;
  return TRUE;
}

static void
job_delete_part (ConvolveDownloadJob *job)
{
  /* Only a file we made: the part path may point at a device in tests. */
  if (job->part_is_regular)
    g_unlink (job->part_path);
}

static gboolean
check_free_space (ConvolveDownloadJob  *job,
                  const char           *folder,
                  guint64               needed,
                  GError              **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (folder);
  g_autoptr(GFileInfo) info = NULL;
  guint64 free_bytes;

  info = g_file_query_filesystem_info (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE,
                                       job->cancellable, NULL);
  if (info == NULL || !g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    return TRUE;  /* unknown: the writes will tell */

  free_bytes = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
  if (free_bytes >= needed)
    return TRUE;

  {
    g_autofree char *display = g_filename_display_name (folder);
    g_autofree char *needed_text = g_format_size (needed);
    g_autofree char *free_text = g_format_size (free_bytes);

    g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NO_SPACE,
                 _("Not enough disk space in %s: %s needed, %s free"),
                 display, needed_text, free_text);
  }
  return FALSE;
}

/* Before the first byte is written: room for the rest of the archive and
 * for the extracted files (CIFAR-10 unpacks to 1.09 times its archive). */
gboolean
_convolve_download_job_check_space (ConvolveDownloadJob  *job,
                                    GError              **error)
{
  g_autofree char *part_dir = NULL;
  guint64 remaining, extracted;

  if (job->total == 0)
    return TRUE;
  remaining = job->total - MIN (job->part_size, job->total);
  extracted = job->total + job->total / 8;
  part_dir = g_path_get_dirname (job->part_path);

  if (g_strcmp0 (part_dir, job->data_dir) == 0)
    return check_free_space (job, job->data_dir, remaining + extracted, error);
  return check_free_space (job, part_dir, remaining, error) &&
         check_free_space (job, job->data_dir, extracted, error);
}

static gboolean
job_verify (ConvolveDownloadJob  *job,
            GError              **error)
{
  const char *actual;

  _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_VERIFYING, job->part_size, job->total, TRUE);
  actual = g_checksum_get_string (job->md5);
  if (g_ascii_strcasecmp (actual, job->expected_md5) == 0)
    return TRUE;

  /* a damaged part is no use for resuming */
  job_delete_part (job);
  g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CHECKSUM,
                       _("The downloaded file is damaged (checksum mismatch)"));
  return FALSE;
}

/* ------------------------------------------------------------------ */

static gboolean
job_run_locked (ConvolveDownloadJob  *job,
                GError              **error)
{
  /* libsoup ties a session to the thread-default context; a private one
   * keeps its sources off the caller's (maybe the GTK) main context. */
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean ok;

  if (!_convolve_download_job_check_url (job, error) ||
      _convolve_download_job_set_error_if_cancelled (job, error) ||
      !job_lock_data_dir (job, error))
    return FALSE;
  remove_stale_temp_folders (job);

  if (!job_open_part (job, error))
    return FALSE;

  g_main_context_push_thread_default (context);
  ok = _convolve_download_job_fetch (job, error);
  g_main_context_pop_thread_default (context);

  ok = ok && job_verify (job, error) && _convolve_download_job_extract (job, error);
  if (ok)
    job_delete_part (job);
  return ok;
}

static gboolean
job_run (ConvolveDownloadJob  *job,
         GError              **error)
{
  gboolean ok = job_run_locked (job, error);

  /* an empty part (nothing received) is no use for resuming */
  if (!ok && job->part_fd >= 0 && job->part_size == 0)
    job_delete_part (job);
  job_close_files (job);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Public API */

static gboolean
set_string (char       **field,
            const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

const char *
convolve_download_phase_get_label (ConvolveDownloadPhase phase)
{
  switch (phase)
    {
    case CONVOLVE_DOWNLOAD_PHASE_CONNECTING:
      return _("Connecting");
    case CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING:
      return _("Downloading");
    case CONVOLVE_DOWNLOAD_PHASE_VERIFYING:
      return _("Verifying");
    case CONVOLVE_DOWNLOAD_PHASE_EXTRACTING:
      return _("Extracting");
    default:
      g_return_val_if_reached ("");
    }
}

gboolean
convolve_download_md5_is_valid (const char *md5)
{
  if (md5 == NULL || strlen (md5) != 32)
    return FALSE;
  for (guint i = 0; i < 32; i++)
    if (!g_ascii_isxdigit (md5[i]))
      return FALSE;
  return TRUE;
}

static void
convolve_download_finalize (GObject *object)
{
  ConvolveDownload *self = CONVOLVE_DOWNLOAD (object);

  g_free (self->data_dir);
  g_free (self->url);
  g_free (self->expected_md5);
  g_free (self->part_path);

  G_OBJECT_CLASS (convolve_download_parent_class)->finalize (object);
}

static void
convolve_download_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  ConvolveDownload *self = CONVOLVE_DOWNLOAD (object);

  switch (prop_id)
    {
    case PROP_DATA_DIR:
      g_value_set_string (value, self->data_dir);
      break;
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_EXPECTED_MD5:
      g_value_set_string (value, self->expected_md5);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_download_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  ConvolveDownload *self = CONVOLVE_DOWNLOAD (object);

  switch (prop_id)
    {
    case PROP_DATA_DIR:
      g_free (self->data_dir);
      /* absolute and tidy: it names the folder in messages, and the part
       * file's folder is compared with it */
      if (g_value_get_string (value) != NULL)
        self->data_dir = g_canonicalize_filename (g_value_get_string (value), NULL);
      else
        self->data_dir = convolve_data_dir ();
      break;
    case PROP_URL:
      convolve_download_set_url (self, g_value_get_string (value));
      break;
    case PROP_EXPECTED_MD5:
      convolve_download_set_expected_md5 (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_download_class_init (ConvolveDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = convolve_download_finalize;
  object_class->get_property = convolve_download_get_property;
  object_class->set_property = convolve_download_set_property;

  properties[PROP_DATA_DIR] =
    g_param_spec_string ("data-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, CONVOLVE_CIFAR10_URL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EXPECTED_MD5] =
    g_param_spec_string ("expected-md5", NULL, NULL, CONVOLVE_CIFAR10_MD5,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
convolve_download_init (ConvolveDownload *self)
{
  self->url = g_strdup (CONVOLVE_CIFAR10_URL);
  self->expected_md5 = g_strdup (CONVOLVE_CIFAR10_MD5);
  self->max_retries = 3;
  self->first_delay_ms = 1000;
}

ConvolveDownload *
convolve_download_new (const char *data_dir)
{
  return g_object_new (CONVOLVE_TYPE_DOWNLOAD, "data-dir", data_dir, NULL);
}

const char *
convolve_download_get_data_dir (ConvolveDownload *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), NULL);

  return self->data_dir;
}

char *
convolve_download_dup_dataset_dir (ConvolveDownload *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), NULL);

  return g_build_filename (self->data_dir, CONVOLVE_CIFAR10_FOLDER, NULL);
}

const char *
convolve_download_get_url (ConvolveDownload *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), NULL);

  return self->url;
}

void
convolve_download_set_url (ConvolveDownload *self,
                           const char       *url)
{
  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (!g_atomic_int_get (&self->running));

  if (url == NULL)
    url = CONVOLVE_CIFAR10_URL;
  if (set_string (&self->url, url))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URL]);
}

const char *
convolve_download_get_expected_md5 (ConvolveDownload *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), NULL);

  return self->expected_md5;
}

void
convolve_download_set_expected_md5 (ConvolveDownload *self,
                                    const char       *md5)
{
  g_autofree char *lower = NULL;

  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (md5 == NULL || convolve_download_md5_is_valid (md5));
  g_return_if_fail (!g_atomic_int_get (&self->running));

  lower = g_ascii_strdown (md5 != NULL ? md5 : CONVOLVE_CIFAR10_MD5, -1);
  if (set_string (&self->expected_md5, lower))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPECTED_MD5]);
}

void
convolve_download_set_retries (ConvolveDownload *self,
                               guint             max_retries,
                               guint             first_delay_ms)
{
  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (!g_atomic_int_get (&self->running));

  self->max_retries = max_retries;
  self->first_delay_ms = first_delay_ms;
}

void
_convolve_download_set_limits (ConvolveDownload *self,
                               guint64           max_download,
                               guint64           max_member,
                               guint64           max_dataset)
{
  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (!g_atomic_int_get (&self->running));

  self->max_download = max_download;
  self->max_member = max_member;
  self->max_dataset = max_dataset;
}

void
_convolve_download_set_rename_func (ConvolveDownload           *self,
                                    ConvolveDownloadRenameFunc  func)
{
  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (!g_atomic_int_get (&self->running));

  self->rename_func = func;
}

char *
convolve_download_dup_part_path (ConvolveDownload *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), NULL);

  if (self->part_path != NULL)
    return g_strdup (self->part_path);
  return default_part_path (self->data_dir, self->expected_md5);
}

void
convolve_download_set_part_path (ConvolveDownload *self,
                                 const char       *part_path)
{
  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (!g_atomic_int_get (&self->running));

  set_string (&self->part_path, part_path);
}

gboolean
convolve_download_run (ConvolveDownload             *self,
                       GCancellable                 *cancellable,
                       ConvolveDownloadProgressFunc  progress_func,
                       gpointer                      progress_data,
                       GError                      **error)
{
  g_autoptr(ConvolveDownloadJob) job = NULL;
  gboolean ok;

  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_atomic_int_compare_and_exchange (&self->running, FALSE, TRUE))
    {
      g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                           _("A download is already running"));
      return FALSE;
    }

  job = job_new (self, cancellable, progress_func, progress_data);
  ok = job_run (job, error);
  g_atomic_int_set (&self->running, FALSE);
  return ok;
}

/* Async: progress goes through a relay that outlives the worker until the
 * last queued report has run on the caller's context. */

typedef struct {
  gatomicrefcount               ref_count;
  GMainContext                 *context;
  GCancellable                 *cancellable;
  ConvolveDownloadProgressFunc  func;
  gpointer                      data;
  GDestroyNotify                data_free;
} ProgressRelay;

static ProgressRelay *
progress_relay_ref (ProgressRelay *relay)
{
  g_atomic_ref_count_inc (&relay->ref_count);
  return relay;
}

static void
progress_relay_unref (ProgressRelay *relay)
{
  if (!g_atomic_ref_count_dec (&relay->ref_count))
    return;
  if (relay->data_free != NULL)
    relay->data_free (relay->data);
  g_clear_object (&relay->cancellable);
  g_main_context_unref (relay->context);
  g_free (relay);
}

typedef struct {
  ProgressRelay            *relay;
  ConvolveDownloadProgress  progress;
} ProgressReport;

static void
progress_report_free (gpointer data)
{
  ProgressReport *report = data;

  progress_relay_unref (report->relay);
  g_free (report);
}

static gboolean
progress_report_deliver (gpointer data)
{
  ProgressReport *report = data;
  ProgressRelay *relay = report->relay;

  /* a cancelled run's late reports are stale */
  if (!g_cancellable_is_cancelled (relay->cancellable))
    relay->func (&report->progress, relay->data);
  return G_SOURCE_REMOVE;
}

/* On the worker thread. Same priority as the GTask's return, queued
 * before it, so every report runs before the callback. */
static void
progress_relay_forward (const ConvolveDownloadProgress *progress,
                        gpointer                        user_data)
{
  ProgressRelay *relay = user_data;
  ProgressReport *report = g_new (ProgressReport, 1);
  g_autoptr(GSource) source = g_idle_source_new ();

  report->relay = progress_relay_ref (relay);
  report->progress = *progress;
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, progress_report_deliver, report, progress_report_free);
  g_source_set_static_name (source, "[convolve] download progress");
  g_source_attach (source, relay->context);
}

static gboolean
progress_relay_release (gpointer data)
{
  progress_relay_unref (data);
  return G_SOURCE_REMOVE;
}

/* On the worker thread, once the job is over: the last reference goes on
 * the caller's context too, after the reports queued before it and before
 * the callback, so progress_data_free runs there, before the callback. */
static void
progress_relay_release_on_context (ProgressRelay *relay)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, progress_relay_release, relay, NULL);
  g_source_set_static_name (source, "[convolve] download progress done");
  g_source_attach (source, relay->context);
}

typedef struct {
  ConvolveDownloadJob           *job;
  ProgressRelay *relay;  /* nullable */
} AsyncRun;

static void
async_run_free (gpointer data)
{
  AsyncRun *run = data;

  g_clear_pointer (&run->job, job_free);
  g_clear_pointer (&run->relay, progress_relay_unref);
  g_free (run);
}

static void
convolve_download_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  ConvolveDownload *self = source_object;
  AsyncRun *run = task_data;
  GError *error = NULL;
  gboolean ok = job_run (run->job, &error);

  if (run->relay != NULL)
    progress_relay_release_on_context (g_steal_pointer (&run->relay));
  g_atomic_int_set (&self->running, FALSE);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
convolve_download_run_async (ConvolveDownload             *self,
                             GCancellable                 *cancellable,
                             ConvolveDownloadProgressFunc  progress_func,
                             gpointer                      progress_data,
                             GDestroyNotify                progress_data_free,
                             GAsyncReadyCallback           callback,
                             gpointer                      user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncRun *run;

  g_return_if_fail (CONVOLVE_IS_DOWNLOAD (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, convolve_download_run_async);
  g_task_set_name (task, "[convolve] download");
  /* the job reports cancellation in our own error domain */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_set_check_cancellable (task, FALSE);

  if (!g_atomic_int_compare_and_exchange (&self->running, FALSE, TRUE))
    {
      if (progress_data_free != NULL)
        progress_data_free (progress_data);
      g_task_return_new_error (task, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                               _("A download is already running"));
      return;
    }

  run = g_new0 (AsyncRun, 1);
  if (progress_func != NULL)
    {
      run->relay = g_new0 (ProgressRelay, 1);
      g_atomic_ref_count_init (&run->relay->ref_count);
      run->relay->context = g_main_context_ref_thread_default ();
      run->relay->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
      run->relay->func = progress_func;
      run->relay->data = progress_data;
      run->relay->data_free = progress_data_free;
      run->job = job_new (self, cancellable, progress_relay_forward, run->relay);
    }
  else
    {
      if (progress_data_free != NULL)
        progress_data_free (progress_data);
      run->job = job_new (self, cancellable, NULL, NULL);
    }
  g_task_set_task_data (task, run, async_run_free);
  g_task_run_in_thread (task, convolve_download_thread);
}

gboolean
convolve_download_run_finish (ConvolveDownload  *self,
                              GAsyncResult      *result,
                              GError           **error)
{
  g_return_val_if_fail (CONVOLVE_IS_DOWNLOAD (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_download_run_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
