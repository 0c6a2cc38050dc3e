/* convolve-download.h: fetching CIFAR-10 (binary version) into Convolve's
 * data folder: HTTP download with resume, MD5 check, safe extraction.
 *
 * The archive is streamed to a ".part" file in the data folder, hashed as
 * it arrives, checked, extracted into a hidden temporary folder next to the
 * destination and renamed into place only once every file is there and
 * whole. A failure or a cancel never leaves a partial dataset folder: an
 * existing dataset is replaced only by a complete one.
 *
 * The ".part" file is kept after a cancel, a lost connection or a full disk,
 * and the next download of the same archive (same expected MD5) resumes it
 * with an HTTP Range request; it is removed after a checksum mismatch,
 * after success, and when nothing was received.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-dataset.h"

G_BEGIN_DECLS

#define CONVOLVE_CIFAR10_URL    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
#define CONVOLVE_CIFAR10_MD5    "c32a1d4ab5d03f1284b67883e8d87530"
#define CONVOLVE_CIFAR10_FOLDER "cifar-10-batches-bin"

typedef enum {
  CONVOLVE_DOWNLOAD_PHASE_CONNECTING,   /* resolving, connecting, waiting for the answer */
  CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING,  /* receiving the archive */
  CONVOLVE_DOWNLOAD_PHASE_VERIFYING,    /* comparing the MD5 */
  CONVOLVE_DOWNLOAD_PHASE_EXTRACTING,   /* unpacking and checking the files */
} ConvolveDownloadPhase;

/* One immutable progress report. While extracting, received and total count
 * bytes of the archive read back, so a bar can show the extraction too. */
typedef struct {
  ConvolveDownloadPhase phase;
  guint64               received;          /* bytes so far (a resumed part included) */
  guint64               total;             /* size of the archive, 0 when not known yet */
  double                bytes_per_second;  /* smoothed rate, 0 when not known yet */
  double                eta_seconds;       /* time left in this phase, < 0 when not known */
  guint                 attempt;           /* 1 for the first try, 2 after the first retry, … */
} ConvolveDownloadProgress;

/* Called about 10 times a second at most, and on every change of phase. */
typedef void (*ConvolveDownloadProgressFunc) (const ConvolveDownloadProgress *progress,
                                              gpointer                        user_data);

/* Translated name of a phase, e.g. "Downloading". */
const char *convolve_download_phase_get_label (ConvolveDownloadPhase phase);

#define CONVOLVE_TYPE_DOWNLOAD (convolve_download_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveDownload, convolve_download, CONVOLVE, DOWNLOAD, GObject)

/* data_dir (nullable) is the folder that receives CONVOLVE_CIFAR10_FOLDER;
 * NULL means convolve_data_dir(); a relative one is taken from the current
 * folder. It is created when missing. */
ConvolveDownload *convolve_download_new               (const char       *data_dir);

const char       *convolve_download_get_data_dir      (ConvolveDownload *self);
/* <data dir>/cifar-10-batches-bin: where the dataset ends up. */
char             *convolve_download_dup_dataset_dir   (ConvolveDownload *self);

/* Default CONVOLVE_CIFAR10_URL; http or https. */
const char       *convolve_download_get_url           (ConvolveDownload *self);
void              convolve_download_set_url           (ConvolveDownload *self,
                                                       const char       *url);
/* Default CONVOLVE_CIFAR10_MD5; 32 hexadecimal digits, any case. */
const char       *convolve_download_get_expected_md5  (ConvolveDownload *self);
void              convolve_download_set_expected_md5  (ConvolveDownload *self,
                                                       const char       *md5);
gboolean          convolve_download_md5_is_valid      (const char       *md5);

/* Retries after a lost connection, a truncated body or a 5xx answer
 * (default 3), waiting first_delay_ms (default 1000), then twice as long
 * each time. */
void              convolve_download_set_retries       (ConvolveDownload *self,
                                                       guint             max_retries,
                                                       guint             first_delay_ms);

/* Where the archive is streamed to; default
 * <data dir>/cifar-10-binary-<first 8 digits of the MD5>.tar.gz.part.
 * Setting it is meant for tests (e.g. /dev/full to meet a full disk while
 * writing). A part path that is not a regular file is never truncated nor
 * deleted. */
char             *convolve_download_dup_part_path     (ConvolveDownload *self);
void              convolve_download_set_part_path     (ConvolveDownload *self,
                                                       const char       *part_path);

/* Blocking: runs in the calling thread (a worker thread or the CLI) and
 * calls progress_func (nullable) in that thread. Errors are in
 * CONVOLVE_DATA_ERROR: NETWORK, CHECKSUM, NO_SPACE, CANCELLED, FORMAT, IO. */
gboolean          convolve_download_run               (ConvolveDownload             *self,
                                                       GCancellable                 *cancellable,
                                                       ConvolveDownloadProgressFunc  progress_func,
                                                       gpointer                      progress_data,
                                                       GError                      **error);

/* Runs the download on a worker thread. progress_func (nullable) is called
 * on the thread-default main context of the caller, and no longer once
 * cancellable is cancelled; progress_data_free (nullable) is called on that
 * context too, once no report is left, before callback. One run at a time
 * per object (a second one fails with CONVOLVE_DATA_ERROR_IO). */
void              convolve_download_run_async         (ConvolveDownload             *self,
                                                       GCancellable                 *cancellable,
                                                       ConvolveDownloadProgressFunc  progress_func,
                                                       gpointer                      progress_data,
                                                       GDestroyNotify                progress_data_free,
                                                       GAsyncReadyCallback           callback,
                                                       gpointer                      user_data);
gboolean          convolve_download_run_finish        (ConvolveDownload             *self,
                                                       GAsyncResult                 *result,
                                                       GError                      **error);

G_END_DECLS
