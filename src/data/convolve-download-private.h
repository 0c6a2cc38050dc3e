/* convolve-download-private.h: what the parts of a download share.
 *
 * One run of a ConvolveDownload is a ConvolveDownloadJob: a copy of the
 * settings plus the state of the transfer, owned by the thread running it.
 * convolve-download.c makes and runs it (the part file, its checksum and
 * resumption, progress, errors); convolve-download-transfer.c fetches the
 * archive over HTTP; convolve-download-extract.c unpacks the checked
 * archive and installs the dataset.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-download.h"

G_BEGIN_DECLS

#define CONVOLVE_DOWNLOAD_BUFFER_SIZE (64 * 1024)
/* Hidden folders next to the dataset that extraction works in. */
#define CONVOLVE_DOWNLOAD_TEMP_PREFIX "." CONVOLVE_CIFAR10_FOLDER "-"

/* rename(2) with renameat2() flags (RENAME_EXCHANGE, RENAME_NOREPLACE):
 * 0, or -1 and errno. Replaceable by tests, to meet a rename that fails. */
typedef int (*ConvolveDownloadRenameFunc) (const char   *from,
                                           const char   *to,
                                           unsigned int  flags);

/* The job: everything one run needs, owned by the thread running it. */
typedef struct {
  char                        *data_dir;
  char                        *dataset_dir;
  char                        *url;
  char                        *host;
  char                        *expected_md5;
  char                        *part_path;
  guint                        max_retries;
  guint                        first_delay_ms;
  guint64                      max_download;    /* bytes, CONVOLVE_LIMIT_DOWNLOAD_BYTES */
  guint64                      max_member;      /* bytes of one unpacked file */
  guint64                      max_dataset;     /* bytes of all of them */
  ConvolveDownloadRenameFunc   rename_func;
  GCancellable                *cancellable;
  ConvolveDownloadProgressFunc progress_func;
  gpointer                     progress_data;

  /* progress */
  ConvolveDownloadProgress     progress;
  gboolean                     reported;
  gint64                       last_emit_us;
  gint64                       rate_time_us;
  guint64                      rate_received;

  /* transfer */
  int                          dir_fd;          /* locked while we run */
  int                          part_fd;
  gboolean                     part_is_regular;
  guint64                      part_size;       /* bytes in the part == bytes hashed */
  guint64                      total;           /* archive size, 0 unknown */
  GChecksum                   *md5;
  gboolean                     reached_server;  /* some attempt got an HTTP answer */
  guint8                      *buffer;
} ConvolveDownloadJob;

/* convolve-download.c */

/* For tests: smaller limits (0 keeps the default of convolve-limits.h),
 * so a cap is met without moving gigabytes. */
void     _convolve_download_set_limits                 (ConvolveDownload           *self,
                                                        guint64                     max_download,
                                                        guint64                     max_member,
                                                        guint64                     max_dataset);
/* For tests: the rename that installs the dataset (NULL: renameat2()). */
void     _convolve_download_set_rename_func            (ConvolveDownload           *self,
                                                        ConvolveDownloadRenameFunc  func);

/* Sets CONVOLVE_DATA_ERROR_CANCELLED and returns TRUE when cancelled. */
gboolean _convolve_download_job_set_error_if_cancelled (ConvolveDownloadJob  *job,
                                                        GError              **error);
/* Updates the job's progress and reports it, at most 10 times a second
 * unless force is set or the phase changes. */
void     _convolve_download_job_report                 (ConvolveDownloadJob   *job,
                                                        ConvolveDownloadPhase  phase,
                                                        guint64                received,
                                                        guint64                total,
                                                        gboolean               force);
/* A failed write or create on path: a full disk becomes NO_SPACE naming
 * folder (nullable: the file's own folder), anything else IO naming the
 * file. */
void     _convolve_download_set_errno_error_full       (GError     **error,
                                                        int          errsv,
                                                        const char  *path,
                                                        const char  *folder);
void     _convolve_download_set_errno_error            (GError     **error,
                                                        int          errsv,
                                                        const char  *path);
/* Deletes path and, for a folder, everything in it; never follows links. */
void     _convolve_download_remove_tree                (const char  *path);
/* Drops what the part file holds, for a server that ignores Range. */
gboolean _convolve_download_job_restart_part           (ConvolveDownloadJob  *job,
                                                        GError              **error);
/* Before the first byte is written: room for the rest of the archive and
 * for the extracted files. */
gboolean _convolve_download_job_check_space            (ConvolveDownloadJob  *job,
                                                        GError              **error);

/* convolve-download-transfer.c */

/* Checks that job->url is http or https and sets job->host. */
gboolean _convolve_download_job_check_url (ConvolveDownloadJob  *job,
                                           GError              **error);
/* Fetches the rest of the archive into the part file, retrying as set.
 * Runs libsoup on the calling thread's thread-default context. */
gboolean _convolve_download_job_fetch     (ConvolveDownloadJob  *job,
                                           GError              **error);

/* convolve-download-extract.c */

/* Unpacks the verified part into a temporary folder, checks every file of
 * the dataset and only then moves it into job->dataset_dir; a previous
 * dataset is only ever deleted once the new one is in its place. */
gboolean _convolve_download_job_extract (ConvolveDownloadJob  *job,
                                         GError              **error);
/* A temporary folder left by a run that died between moving the previous
 * dataset aside and putting the new one in place: the previous one goes
 * back. Called with the data folder locked, before stale folders are
 * removed. */
void     _convolve_download_restore_previous (ConvolveDownloadJob  *job,
                                             const char           *temp_dir);

G_END_DECLS
