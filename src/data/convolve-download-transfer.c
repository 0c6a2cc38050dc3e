/* convolve-download-transfer.c: fetching the archive over HTTP.
 *
 * One libsoup session per run; each attempt asks for the rest of the part
 * file with a Range request, judges the answer (a server may ignore the
 * range, or say the part is already whole), streams the body into the part
 * and the running MD5, and says whether a failure is worth retrying.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "convolve-download-private.h"

#define IO_TIMEOUT_SECONDS 30

typedef enum {
  ATTEMPT_DONE,   /* the part holds the whole archive */
  ATTEMPT_RETRY,  /* worth trying again; error set */
  ATTEMPT_FATAL,  /* give up; error set */
} AttemptResult;

static char *
describe_connect_error (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup (_("Connection refused"));
  if (error->domain == G_RESOLVER_ERROR)
    return g_strdup (_("The name could not be resolved"));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_strdup (_("The connection timed out"));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return g_strdup (_("The network is unreachable"));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE))
    return g_strdup (_("The host is unreachable"));
  if (error->domain == G_TLS_ERROR)
    return g_strdup_printf (_("The secure connection failed (%s)"), error->message);
  return g_strdup (error->message);
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         size,
           const char   *path,
           GError      **error)
{
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);

      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          _convolve_download_set_errno_error (error, errsv, path);
          return FALSE;
        }
      data += n;
      size -= (gsize) n;
    }
  return TRUE;
}

static gboolean
job_sleep (ConvolveDownloadJob  *job,
           guint                 milliseconds,
           GError              **error)
{
  GPollFD pollfd;

  if (job->cancellable != NULL && g_cancellable_make_pollfd (job->cancellable, &pollfd))
    {
      g_poll (&pollfd, 1, (int) milliseconds);
      g_cancellable_release_fd (job->cancellable);
    }
  else
    {
      g_usleep ((gulong) milliseconds * 1000);
    }
  return !_convolve_download_job_set_error_if_cancelled (job, error);
}

static void
set_status_error (GError      **error,
                  SoupMessage  *message)
{
  guint status = soup_message_get_status (message);
  const char *phrase = soup_message_get_reason_phrase (message);

  if (phrase == NULL || *phrase == '\0')
    phrase = soup_status_get_phrase (status);
  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
               _("The server answered %u %s"), status, phrase);
}

static void
set_ended_early_error (ConvolveDownloadJob  *job,
                       GError              **error,
                       const GError         *cause)
{
  g_autofree char *got = g_format_size (job->part_size);

  if (job->total > 0)
    {
      g_autofree char *expected = g_format_size (job->total);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
                   _("The download ended early: got %s of %s"), got, expected);
    }
  else
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
                   _("The download ended early after %s: %s"), got,
                   cause != NULL ? cause->message : _("the connection was closed"));
    }
}

/* The size N in the "Content-Range: bytes '*'/N" of a 416 answer. */
static gboolean
parse_unsatisfied_range (SoupMessageHeaders *headers,
                         guint64            *size)
{
  const char *value = soup_message_headers_get_one (headers, "Content-Range");
  char *end = NULL;

  if (value == NULL || !g_str_has_prefix (value, "bytes */"))
    return FALSE;
  *size = g_ascii_strtoull (value + strlen ("bytes */"), &end, 10);
  return end != NULL && end != value + strlen ("bytes */") && *end == '\0';
}

static void
set_too_large_error (ConvolveDownloadJob  *job,
                     GError              **error)
{
  g_autofree char *limit = g_format_size (job->max_download);

  /* TRANSLATORS: %s is a size such as “2.1 GB” */
  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED,
               _("The download is larger than %s, the most Convolve downloads"), limit);
}

/* The answer's status and headers: sets job->total, restarts the part when
 * the server sends the whole file again. */
static AttemptResult
job_accept_answer (ConvolveDownloadJob  *job,
                   SoupMessage          *message,
                   guint64               offset,
                   GError              **error)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  guint status = soup_message_get_status (message);
  goffset length = 0;

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    length = soup_message_headers_get_content_length (headers);

  if (status == SOUP_STATUS_PARTIAL_CONTENT)
    {
      goffset start = 0, end = 0, size = 0;

      if (!soup_message_headers_get_content_range (headers, &start, &end, &size) ||
          (guint64) start != offset)
        {
          /* a range we did not ask for: start over with a plain request */
          if (!_convolve_download_job_restart_part (job, error))
            return ATTEMPT_FATAL;
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
                       _("The server sent a part of the file that was not asked for"));
          return ATTEMPT_RETRY;
        }
      job->total = size > 0 ? (guint64) size : (length > 0 ? offset + (guint64) length : 0);
      return ATTEMPT_DONE;
    }

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && offset > 0)
    {
      guint64 size = 0;

      if (parse_unsatisfied_range (headers, &size) && size == offset)
        {
          /* the part already holds the whole archive */
          job->total = size;
          return ATTEMPT_DONE;
        }
      if (!_convolve_download_job_restart_part (job, error))
        return ATTEMPT_FATAL;
      set_status_error (error, message);
      return ATTEMPT_RETRY;
    }

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      if (status != SOUP_STATUS_OK)
        {
          set_status_error (error, message);
          return ATTEMPT_FATAL;
        }
      if (offset > 0 && !_convolve_download_job_restart_part (job, error))
        return ATTEMPT_FATAL;
      job->total = length > 0 ? (guint64) length : 0;
      return ATTEMPT_DONE;
    }

  set_status_error (error, message);
  return SOUP_STATUS_IS_SERVER_ERROR (status) ? ATTEMPT_RETRY : ATTEMPT_FATAL;
}

static AttemptResult
job_receive_body (ConvolveDownloadJob  *job,
                  GInputStream         *stream,
                  GError              **error)
{
  g_autoptr(GError) read_error = NULL;

  if (lseek (job->part_fd, (off_t) job->part_size, SEEK_SET) < 0 && job->part_is_regular)
    {
      _convolve_download_set_errno_error (error, errno, job->part_path);
      return ATTEMPT_FATAL;
    }

  _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING, job->part_size, job->total, TRUE);
  for (;;)
    {
      gssize n = g_input_stream_read (stream, job->buffer, CONVOLVE_DOWNLOAD_BUFFER_SIZE,
                                      job->cancellable, &read_error);

      if (n == 0)
        break;
      if (n < 0)
        {
          if (_convolve_download_job_set_error_if_cancelled (job, error))
            return ATTEMPT_FATAL;
          break;  /* a lost connection: judged below like an early end */
        }
      /* without a Content-Length (or past it), the cap is met here */
      if (job->part_size + (guint64) n > job->max_download)
        {
          set_too_large_error (job, error);
          _convolve_download_job_restart_part (job, NULL);
          return ATTEMPT_FATAL;
        }
      if (!write_all (job->part_fd, job->buffer, (gsize) n, job->part_path, error))
        return ATTEMPT_FATAL;
      g_checksum_update (job->md5, job->buffer, n);
      job->part_size += (guint64) n;
      _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING, job->part_size, job->total, FALSE);
    }

  if (read_error != NULL || (job->total > 0 && job->part_size < job->total))
    {
      set_ended_early_error (job, error, read_error);
      return ATTEMPT_RETRY;
    }
  if (job->total == 0)
    job->total = job->part_size;
  _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING, job->part_size, job->total, TRUE);
  return ATTEMPT_DONE;
}

static AttemptResult
job_attempt (ConvolveDownloadJob  *job,
             SoupSession          *session,
             GError              **error)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) send_error = NULL;
  guint64 offset = job->part_size;
  AttemptResult result;

  message = soup_message_new (SOUP_METHOD_GET, job->url);
  if (message == NULL)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
                   _("“%s” is not a web address (http or https)"), job->url);
      return ATTEMPT_FATAL;
    }
  if (offset > 0)
    soup_message_headers_set_range (soup_message_get_request_headers (message), (goffset) offset, -1);

  _convolve_download_job_report (job, CONVOLVE_DOWNLOAD_PHASE_CONNECTING, offset, job->total, TRUE);
  stream = soup_session_send (session, message, job->cancellable, &send_error);
  if (stream == NULL)
    {
      g_autofree char *reason = NULL;

      if (_convolve_download_job_set_error_if_cancelled (job, error))
        return ATTEMPT_FATAL;
      reason = describe_connect_error (send_error);
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
                   _("Could not connect to %s: %s"), job->host, reason);
      /* a server that never answered is not there; one that did may be back */
      return job->reached_server ? ATTEMPT_RETRY : ATTEMPT_FATAL;
    }
  job->reached_server = TRUE;

  result = job_accept_answer (job, message, offset, error);
  /* what the server announces, before a byte of it is written */
  if (result == ATTEMPT_DONE && job->total > job->max_download)
    {
      set_too_large_error (job, error);
      _convolve_download_job_restart_part (job, NULL);  /* of no use for resuming */
      result = ATTEMPT_FATAL;
    }
  else if (result == ATTEMPT_DONE && job->part_size < job->total)
    {
      if (!_convolve_download_job_check_space (job, error))
        result = ATTEMPT_FATAL;
      else
        result = job_receive_body (job, stream, error);
    }
  else if (result == ATTEMPT_DONE && job->total == 0)
    {
      result = job_receive_body (job, stream, error);
    }

  g_input_stream_close (stream, NULL, NULL);
  return result;
}

gboolean
_convolve_download_job_fetch (ConvolveDownloadJob  *job,
                              GError              **error)
{
  g_autoptr(SoupSession) session = NULL;
  guint retries_left = job->max_retries;
  guint delay = job->first_delay_ms;

  session = soup_session_new_with_options ("user-agent", "Convolve/" PACKAGE_VERSION " ",
                                           "timeout", IO_TIMEOUT_SECONDS,
                                           NULL);
  /* Bytes as they are on the server: the MD5 and Range offsets are about
   * the file itself, never a decoded body. */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);

  for (;;)
    {
      g_autoptr(GError) attempt_error = NULL;

      switch (job_attempt (job, session, &attempt_error))
        {
        case ATTEMPT_DONE:
          return TRUE;

        case ATTEMPT_FATAL:
          g_propagate_error (error, g_steal_pointer (&attempt_error));
          return FALSE;

        case ATTEMPT_RETRY:
        default:
          if (retries_left == 0)
            {
              g_propagate_error (error, g_steal_pointer (&attempt_error));
              return FALSE;
            }
          retries_left--;
          if (!job_sleep (job, delay, error))
            return FALSE;
          delay *= 2;
          job->progress.attempt++;
          break;
        }
    }
}

gboolean
_convolve_download_job_check_url (ConvolveDownloadJob  *job,
                                  GError              **error)
{
  g_autoptr(GUri) uri = g_uri_parse (job->url, SOUP_HTTP_URI_FLAGS, NULL);
  const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (scheme == NULL || host == NULL || *host == '\0' ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK,
                   _("“%s” is not a web address (http or https)"), job->url);
      return FALSE;
    }
  job->host = g_strdup (host);
  return TRUE;
}
