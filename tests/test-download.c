/* test-download.c: the CIFAR-10 download against a SoupServer on 127.0.0.1
 * run by this test (never the internet), serving archives made here with
 * libarchive.
 *
 * Full disks: "/data/download/no-space/tmpfs/…" mount a small tmpfs in a
 * private mount namespace, which needs root (CAP_SYS_ADMIN); elsewhere they
 * are skipped. "/data/download/no-space/dev-full" runs everywhere: it points
 * the part file at /dev/full through convolve_download_set_part_path(), a
 * setter documented as meant for tests, so every write fails with ENOSPC.
 * "/data/download/no-space/up-front" has the server announce a petabyte.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* unshare(), renameat2() */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <libsoup/soup.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convolve-download.h"
#include "convolve-download-private.h"
#include "convolve-loaders.h"
#include "test-cifar-folder.h"

#define RECORD_SIZE        3073
#define RECORDS_PER_BATCH  12
#define STALL_BYTES        (64 * 1024)
#define TEST_RETRY_DELAY   10  /* ms */

static const char * const batch_names[] = {
  "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
  "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
};

/* ------------------------------------------------------------------ */
/* Archives */

typedef struct {
  const char *path;
  mode_t      type;      /* AE_IFREG, AE_IFDIR, AE_IFLNK */
  GBytes     *contents;  /* AE_IFREG */
  const char *link;      /* AE_IFLNK */
} Member;

static GBytes *
build_tar_gz (const Member *members,
              guint         n_members)
{
  struct archive *archive = archive_write_new ();
  gsize capacity = 64 * 1024;
  size_t used = 0;
  guint8 *buffer;

  for (guint i = 0; i < n_members; i++)
    capacity += 1024 + (members[i].contents != NULL ? g_bytes_get_size (members[i].contents) : 0);
  capacity += capacity / 4;
  buffer = g_malloc (capacity);

  g_assert_cmpint (archive_write_add_filter_gzip (archive), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_set_format_pax_restricted (archive), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_open_memory (archive, buffer, capacity, &used), ==, ARCHIVE_OK);

  for (guint i = 0; i < n_members; i++)
    {
      struct archive_entry *entry = archive_entry_new ();
      gsize size = members[i].contents != NULL ? g_bytes_get_size (members[i].contents) : 0;

      archive_entry_set_pathname (entry, members[i].path);
      archive_entry_set_filetype (entry, members[i].type);
      archive_entry_set_perm (entry, members[i].type == AE_IFDIR ? 0755 : 0644);
      archive_entry_set_size (entry, (la_int64_t) size);
      if (members[i].link != NULL)
        archive_entry_set_symlink (entry, members[i].link);
      g_assert_cmpint (archive_write_header (archive, entry), ==, ARCHIVE_OK);
      if (size > 0)
        g_assert_cmpint (archive_write_data (archive, g_bytes_get_data (members[i].contents, NULL), size),
                         ==, (la_ssize_t) size);
      archive_entry_free (entry);
    }
  g_assert_cmpint (archive_write_close (archive), ==, ARCHIVE_OK);
  archive_write_free (archive);

  return g_bytes_new_take (buffer, used);
}

/* A batch of CIFAR-10 records: label (batch * 3 + r) % 10, pixels random. */
static GBytes *
make_batch (GRand *rand,
            guint  batch,
            guint  n_records,
            gsize  extra_bytes)
{
  gsize size = (gsize) n_records * RECORD_SIZE + extra_bytes;
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_rand_int_range (rand, 0, 256);
  /* (with extra bytes, the piece of record after the last is labelled too) */
  for (guint r = 0; (gsize) r * RECORD_SIZE < size; r++)
    data[(gsize) r * RECORD_SIZE] = (guint8) ((batch * 3 + r) % 10);
  return g_bytes_new_take (data, size);
}

typedef enum {
  ARCHIVE_GOOD,
  ARCHIVE_TRAVERSAL,
  ARCHIVE_ABSOLUTE,
  ARCHIVE_SYMLINK,
  ARCHIVE_INCOMPLETE,
  ARCHIVE_RAGGED,
  ARCHIVE_BAD_LABEL,
  N_ARCHIVES
} ArchiveKind;

static const char * const archive_names[N_ARCHIVES] = {
  "cifar.tar.gz", "traversal.tar.gz", "absolute.tar.gz", "symlink.tar.gz",
  "incomplete.tar.gz", "ragged.tar.gz", "bad-label.tar.gz",
};

/* Made once in main(): the archives, the good one's members and MD5. */
static GBytes *archives[N_ARCHIVES];
static GBytes *good_batches[G_N_ELEMENTS (batch_names)];
static char   *good_md5;
static char   *absolute_target;  /* where ARCHIVE_ABSOLUTE points */

static const char meta_txt[] =
  "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
static const char readme_html[] = "<html><body>CIFAR-10 (test copy)</body></html>\n";

static void
make_archives (void)
{
  g_autoptr(GBytes) meta = g_bytes_new_static (meta_txt, strlen (meta_txt));
  g_autoptr(GBytes) readme = g_bytes_new_static (readme_html, strlen (readme_html));
  g_autoptr(GBytes) evil = g_bytes_new_static ("evil\n", 5);
  g_autoptr(GBytes) ragged = NULL;
  g_autoptr(GBytes) bad_label = NULL;
  GRand *rand = g_rand_new_with_seed (20240601);
  Member members[16];
  guint n;

  for (guint b = 0; b < G_N_ELEMENTS (batch_names); b++)
    good_batches[b] = make_batch (rand, b, RECORDS_PER_BATCH, 0);
  ragged = make_batch (rand, 2, RECORDS_PER_BATCH, 100);
  {
    gsize size;
    guint8 *data = g_bytes_unref_to_data (make_batch (rand, 4, RECORDS_PER_BATCH, 0), &size);

    data[5 * RECORD_SIZE] = 10;  /* a class that does not exist */
    bad_label = g_bytes_new_take (data, size);
  }
  absolute_target = g_strdup_printf ("/tmp/convolve-test-download-absolute-%d.txt", (int) getpid ());

  for (int kind = 0; kind < N_ARCHIVES; kind++)
    {
      n = 0;
      members[n++] = (Member) { "cifar-10-batches-bin/", AE_IFDIR, NULL, NULL };
      members[n++] = (Member) { "cifar-10-batches-bin/batches.meta.txt", AE_IFREG, meta, NULL };
      for (guint b = 0; b < G_N_ELEMENTS (batch_names); b++)
        {
          g_autofree char *path = NULL;
          GBytes *contents = good_batches[b];

          if (kind == ARCHIVE_INCOMPLETE && b == 5)
            continue;
          if (kind == ARCHIVE_RAGGED && b == 2)
            contents = ragged;
          if (kind == ARCHIVE_BAD_LABEL && b == 4)
            contents = bad_label;
          members[n++] = (Member) { g_intern_string (path = g_strconcat ("cifar-10-batches-bin/", batch_names[b], NULL)),
                                    AE_IFREG, contents, NULL };
          if (b == 2 && kind == ARCHIVE_TRAVERSAL)
            members[n++] = (Member) { "cifar-10-batches-bin/../../evil.txt", AE_IFREG, evil, NULL };
          if (b == 2 && kind == ARCHIVE_ABSOLUTE)
            members[n++] = (Member) { absolute_target, AE_IFREG, evil, NULL };
          if (b == 2 && kind == ARCHIVE_SYMLINK)
            members[n++] = (Member) { "cifar-10-batches-bin/passwd", AE_IFLNK, NULL, "/etc/passwd" };
        }
      members[n++] = (Member) { "cifar-10-batches-bin/readme.html", AE_IFREG, readme, NULL };
      archives[kind] = build_tar_gz (members, n);
    }

  good_md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, archives[ARCHIVE_GOOD]);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* The server: its own thread and main context, so the blocking API can
 * be tested from the main thread. URLs are /MODE/NAME?t=TEST, where the
 * t=TEST keeps each test's request log and "first request" apart. */

typedef struct {
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  guint         port;
  GMutex        mutex;
  GCond         cond;
  gboolean      ready;
  GHashTable   *requests;  /* "path?t=…" -> GPtrArray of Range values ("" for none) */
} TestServer;

static TestServer test_server;

static GBytes *
find_archive (const char *name)
{
  for (int kind = 0; kind < N_ARCHIVES; kind++)
    if (g_strcmp0 (name, archive_names[kind]) == 0)
      return archives[kind];
  return NULL;
}

static void
cut_after_chunk (SoupServerMessage *message,
                 gpointer           user_data)
{
  /* The first (and only) chunk is out: end the connection like a dropped
   * network would, without the rest of the announced body. */
  g_socket_shutdown (soup_server_message_get_socket (message), FALSE, TRUE, NULL);
}

static void
server_handler (SoupServer        *server,
                SoupServerMessage *message,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  TestServer *ts = user_data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (message);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (message);
  SoupMessageBody *body = soup_server_message_get_response_body (message);
  g_auto(GStrv) parts = g_strsplit (path, "/", 3);
  const char *test = query != NULL ? g_hash_table_lookup (query, "t") : NULL;
  g_autofree char *key = g_strdup_printf ("%s?t=%s", path, test != NULL ? test : "");
  g_autofree char *range = g_strdup (soup_message_headers_get_one (request, "Range"));
  const char *mode;
  GBytes *file;
  GPtrArray *log;
  guint hit;
  gsize size, start = 0, length;
  gboolean partial = FALSE;

  g_mutex_lock (&ts->mutex);
  log = g_hash_table_lookup (ts->requests, key);
  if (log == NULL)
    {
      log = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (ts->requests, g_strdup (key), log);
    }
  g_ptr_array_add (log, g_strdup (range != NULL ? range : ""));
  hit = log->len;
  g_mutex_unlock (&ts->mutex);

  if (g_strv_length (parts) != 3 || (file = find_archive (parts[2])) == NULL)
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  mode = parts[1];
  size = g_bytes_get_size (file);

  if (strcmp (mode, "huge") == 0)
    {
      /* announces a petabyte, then sends nothing */
      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
      soup_message_headers_set_content_length (response, G_GINT64_CONSTANT (1) << 50);
      return;
    }

  if (range != NULL && strcmp (mode, "norange") != 0 && strcmp (mode, "flaky-norange") != 0)
    {
      SoupRange *ranges = NULL;
      int n_ranges = 0;

      gboolean satisfiable = soup_message_headers_get_ranges (request, (goffset) size, &ranges, &n_ranges);

      satisfiable = satisfiable && n_ranges == 1 && ranges[0].start < (goffset) size;
      if (!satisfiable)
        {
          if (ranges != NULL)
            soup_message_headers_free_ranges (request, ranges);
          g_autofree char *unsatisfied = g_strdup_printf ("bytes */%" G_GSIZE_FORMAT, size);

          soup_message_headers_remove (request, "Range");
          soup_server_message_set_status (message, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL);
          soup_message_headers_replace (response, "Content-Range", unsatisfied);
          return;
        }
      start = (gsize) ranges[0].start;
      partial = TRUE;
      soup_message_headers_free_ranges (request, ranges);
    }
  /* every range is handled here, not by libsoup's automatic one */
  soup_message_headers_remove (request, "Range");

  length = size - start;
  soup_message_headers_replace (response, "Content-Type", "application/x-gzip");
  if (partial)
    {
      soup_server_message_set_status (message, SOUP_STATUS_PARTIAL_CONTENT, NULL);
      soup_message_headers_set_content_range (response, (goffset) start, (goffset) size - 1, (goffset) size);
    }
  else
    {
      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
    }

  if (strcmp (mode, "chunked") == 0)
    soup_message_headers_set_encoding (response, SOUP_ENCODING_CHUNKED);
  else
    soup_message_headers_set_content_length (response, (goffset) length);

  if (strcmp (mode, "stall") == 0)
    {
      /* the first 64 KiB, then nothing: libsoup pauses the message */
      g_autoptr(GBytes) first = g_bytes_new_from_bytes (file, start, MIN (length, STALL_BYTES));

      soup_message_body_append_bytes (body, first);
      return;
    }
  if (strcmp (mode, "cut") == 0 ||
      ((strcmp (mode, "flaky") == 0 || strcmp (mode, "flaky-norange") == 0) && hit == 1))
    {
      g_autoptr(GBytes) half = g_bytes_new_from_bytes (file, start, length / 2);

      soup_message_body_append_bytes (body, half);
      g_signal_connect (message, "wrote-chunk", G_CALLBACK (cut_after_chunk), NULL);
      return;
    }

  {
    g_autoptr(GBytes) slice = g_bytes_new_from_bytes (file, start, length);

    soup_message_body_append_bytes (body, slice);
    soup_message_body_complete (body);
  }
}

static gpointer
server_thread (gpointer data)
{
  TestServer *ts = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (ts->context);
  ts->server = soup_server_new ("server-header", "convolve-test ", NULL);
  soup_server_add_handler (ts->server, NULL, server_handler, ts, NULL);
  soup_server_listen_local (ts->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (ts->server);
  g_assert_nonnull (uris);
  ts->port = (guint) g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_mutex_lock (&ts->mutex);
  ts->ready = TRUE;
  g_cond_signal (&ts->cond);
  g_mutex_unlock (&ts->mutex);

  g_main_loop_run (ts->loop);

  soup_server_disconnect (ts->server);
  g_clear_object (&ts->server);
  g_main_context_pop_thread_default (ts->context);
  return NULL;
}

static void
test_server_start (TestServer *ts)
{
  g_mutex_init (&ts->mutex);
  g_cond_init (&ts->cond);
  ts->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  ts->context = g_main_context_new ();
  ts->loop = g_main_loop_new (ts->context, FALSE);
  ts->thread = g_thread_new ("test-server", server_thread, ts);

  g_mutex_lock (&ts->mutex);
  while (!ts->ready)
    g_cond_wait (&ts->cond, &ts->mutex);
  g_mutex_unlock (&ts->mutex);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
test_server_stop (TestServer *ts)
{
  g_main_context_invoke (ts->context, quit_loop, ts->loop);
  g_thread_join (ts->thread);
  g_main_loop_unref (ts->loop);
  g_main_context_unref (ts->context);
  g_hash_table_unref (ts->requests);
  g_mutex_clear (&ts->mutex);
  g_cond_clear (&ts->cond);
}

static char *
server_url (const char *mode,
            const char *name)
{
  return g_strdup_printf ("http://127.0.0.1:%u/%s/%s?t=%s", test_server.port, mode, name,
                          g_test_get_path ());
}

/* The Range header of each request to /MODE/NAME in this test. */
static GStrv
server_requests (const char *mode,
                 const char *name)
{
  g_autofree char *key = g_strdup_printf ("/%s/%s?t=%s", mode, name, g_test_get_path ());
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GPtrArray *log;

  g_mutex_lock (&test_server.mutex);
  log = g_hash_table_lookup (test_server.requests, key);
  for (guint i = 0; log != NULL && i < log->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (log, i));
  g_mutex_unlock (&test_server.mutex);
  return g_strv_builder_end (builder);
}

/* ------------------------------------------------------------------ */
/* Fixture: a fresh folder per test; the data folder inside it is not
 * created, the download must make it. */

typedef struct {
  char *base;
  char *data_dir;
  char *dataset_dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->base = g_dir_make_tmp ("convolve-test-download-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->data_dir = g_build_filename (fixture->base, "data", NULL);
  fixture->dataset_dir = g_build_filename (fixture->data_dir, "cifar-10-batches-bin", NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  test_remove_tree (fixture->base);
  g_free (fixture->base);
  g_free (fixture->data_dir);
  g_free (fixture->dataset_dir);
}

static ConvolveDownload *
fixture_download (Fixture    *fixture,
                  const char *url)
{
  ConvolveDownload *download = convolve_download_new (fixture->data_dir);

  convolve_download_set_url (download, url);
  convolve_download_set_expected_md5 (download, good_md5);
  convolve_download_set_retries (download, 3, TEST_RETRY_DELAY);
  return download;
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (goffset) st.st_size : -1;
}

/* After a failure: no dataset folder, no temporary folder. */
static void
assert_no_partial_dataset (Fixture *fixture)
{
  GDir *dir = g_dir_open (fixture->data_dir, 0, NULL);
  const char *name;

  g_assert_false (g_file_test (fixture->dataset_dir, G_FILE_TEST_EXISTS));
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, ".cifar-10-batches-bin"))
      g_error ("a temporary folder was left behind: %s", name);
  if (dir != NULL)
    g_dir_close (dir);
}

/* The extracted files are byte for byte the ones put in the archive, and
 * the data layer's loader reads them. */
static void
assert_dataset_complete (Fixture *fixture)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  for (guint b = 0; b < G_N_ELEMENTS (batch_names); b++)
    {
      g_autofree char *path = g_build_filename (fixture->dataset_dir, batch_names[b], NULL);
      g_autofree char *contents = NULL;
      gsize length = 0;
      gsize expected_length;
      const guint8 *expected = g_bytes_get_data (good_batches[b], &expected_length);

      g_file_get_contents (path, &contents, &length, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (contents, length, expected, expected_length);
    }

  convolve_cifar10_load_binary (fixture->dataset_dir, &train, &test, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 5 * RECORDS_PER_BATCH);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, RECORDS_PER_BATCH);
  /* image 13 is record 1 of batch 1: label (1 * 3 + 1) % 10 */
  g_assert_cmpuint (convolve_dataset_get_label (train, 13), ==, 4);
  g_assert_cmpuint (convolve_dataset_get_label (test, 2), ==, (5 * 3 + 2) % 10);
  g_assert_cmpuint (convolve_dataset_get_image (train, 13)[0], ==,
                    ((const guint8 *) g_bytes_get_data (good_batches[1], NULL))[RECORD_SIZE + 1]);
}

/* ------------------------------------------------------------------ */
/* Running */

typedef struct {
  GMainLoop    *loop;
  GThread      *expected_thread;
  GCancellable *cancellable;
  char         *part_path;        /* cancel once this holds cancel_at bytes */
  goffset       cancel_at;
  guint         n_reports;
  guint         n_wrong_thread;
  guint         n_phase_back;
  ConvolveDownloadProgress last;
  guint64       downloaded;       /* highest received while downloading */
  gboolean      saw_phase[4];
  gboolean      done;
  gboolean      freed;
  gboolean      ok;
  GError       *error;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->loop, g_main_loop_unref);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->part_path, g_free);
  g_clear_error (&run->error);
}

static void
on_progress (const ConvolveDownloadProgress *progress,
             gpointer                        user_data)
{
  Run *run = user_data;

  if (g_thread_self () != run->expected_thread)
    run->n_wrong_thread++;
  /* phases only move forward, except back to connecting for a retry */
  if (run->n_reports > 0 && progress->phase < run->last.phase &&
      !(progress->phase == CONVOLVE_DOWNLOAD_PHASE_CONNECTING && progress->attempt == run->last.attempt + 1))
    run->n_phase_back++;
  if (run->n_reports > 0 && progress->attempt < run->last.attempt)
    run->n_phase_back++;
  if (progress->phase == CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING)
    run->downloaded = MAX (run->downloaded, progress->received);
  run->saw_phase[progress->phase] = TRUE;
  run->last = *progress;
  run->n_reports++;
}

static void
on_progress_freed (gpointer user_data)
{
  Run *run = user_data;

  run->freed = TRUE;
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;

  run->ok = convolve_download_run_finish (CONVOLVE_DOWNLOAD (source), result, &run->error);
  run->done = TRUE;
  g_main_loop_quit (run->loop);
}

static gboolean
cancel_when_part_is_full (gpointer user_data)
{
  Run *run = user_data;

  if (file_size (run->part_path) < run->cancel_at)
    return G_SOURCE_CONTINUE;
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
give_up (gpointer user_data)
{
  g_error ("the download took more than 20 s");
  return G_SOURCE_REMOVE;
}

/* Runs download with the async API on this thread's main loop. */
static void
run_async (ConvolveDownload *download,
           Run              *run)
{
  guint timeout = g_timeout_add_seconds (20, give_up, NULL);

  run->loop = g_main_loop_new (NULL, FALSE);
  run->expected_thread = g_thread_self ();
  convolve_download_run_async (download, run->cancellable, on_progress, run, on_progress_freed,
                               on_done, run);
  g_main_loop_run (run->loop);
  g_source_remove (timeout);
  g_assert_true (run->done);
  g_assert_cmpuint (run->n_wrong_thread, ==, 0);
  g_assert_cmpuint (run->n_phase_back, ==, 0);
}

/* Runs download with the blocking API on this thread. */
static void
run_sync (ConvolveDownload *download,
          Run              *run)
{
  run->expected_thread = g_thread_self ();
  run->ok = convolve_download_run (download, run->cancellable, on_progress, run, &run->error);
  run->done = TRUE;
  g_assert_cmpuint (run->n_wrong_thread, ==, 0);
  g_assert_cmpuint (run->n_phase_back, ==, 0);
}

/* ------------------------------------------------------------------ */
/* Tests */

static void
test_success_async (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  g_autofree char *marker = g_build_filename (fixture->dataset_dir, "old-marker", NULL);
  g_autofree char *dataset_dir = convolve_download_dup_dataset_dir (download);
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  g_assert_cmpstr (dataset_dir, ==, fixture->dataset_dir);
  /* an older dataset is replaced as a whole */
  g_assert_cmpint (g_mkdir_with_parents (fixture->dataset_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (marker, "old", -1, NULL));

  run_async (download, &run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_true (run.freed);

  g_assert_true (run.saw_phase[CONVOLVE_DOWNLOAD_PHASE_CONNECTING]);
  g_assert_true (run.saw_phase[CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING]);
  g_assert_true (run.saw_phase[CONVOLVE_DOWNLOAD_PHASE_VERIFYING]);
  g_assert_true (run.saw_phase[CONVOLVE_DOWNLOAD_PHASE_EXTRACTING]);
  g_assert_cmpuint (run.downloaded, ==, g_bytes_get_size (archives[ARCHIVE_GOOD]));
  g_assert_cmpint (run.last.phase, ==, CONVOLVE_DOWNLOAD_PHASE_EXTRACTING);
  g_assert_cmpuint (run.last.total, ==, g_bytes_get_size (archives[ARCHIVE_GOOD]));
  g_assert_cmpuint (run.last.received, ==, run.last.total);
  g_assert_cmpfloat (run.last.eta_seconds, ==, 0);
  g_assert_cmpuint (run.last.attempt, ==, 1);

  requests = server_requests ("files", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 1);
  g_assert_cmpstr (requests[0], ==, "");

  assert_dataset_complete (fixture);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  {
    GDir *dir = g_dir_open (fixture->data_dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_cmpstr (name, ==, "cifar-10-batches-bin");
    g_dir_close (dir);
  }
  run_clear (&run);
}

static void
test_success_sync (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *url = server_url ("chunked", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  Run run = { 0 };

  /* chunked: no Content-Length, the total is only known at the end */
  run_sync (download, &run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_cmpuint (run.downloaded, ==, g_bytes_get_size (archives[ARCHIVE_GOOD]));
  g_assert_cmpuint (run.last.total, ==, g_bytes_get_size (archives[ARCHIVE_GOOD]));
  assert_dataset_complete (fixture);
  run_clear (&run);
}

static void
test_not_found (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "no-such-file.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK);
  g_assert_cmpstr (run.error->message, ==, "The server answered 404 Not Found");
  /* a 404 is not retried */
  requests = server_requests ("files", "no-such-file.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 1);
  assert_no_partial_dataset (fixture);
  g_assert_cmpint (file_size (part), ==, -1);
  run_clear (&run);
}

static void
test_connection_refused (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDownload) download = NULL;
  g_autofree char *url = NULL;
  Run run = { 0 };
  gint64 start;

  /* A socket bound but never listening holds a port nobody answers on. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u/files/cifar.tar.gz",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  download = fixture_download (fixture, url);
  convolve_download_set_retries (download, 3, 2000);
  start = g_get_monotonic_time ();
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK);
  g_assert_cmpstr (run.error->message, ==, "Could not connect to 127.0.0.1: Connection refused");
  /* a server that never answered is not retried (no 2 s wait) */
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_resume_range (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *url = server_url ("flaky", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *expected_range = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT "-",
                                                     g_bytes_get_size (archives[ARCHIVE_GOOD]) / 2);
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  run_sync (download, &run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  requests = server_requests ("flaky", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 2);
  g_assert_cmpstr (requests[0], ==, "");
  g_assert_cmpstr (requests[1], ==, expected_range);
  g_assert_cmpuint (run.last.attempt, ==, 2);
  assert_dataset_complete (fixture);
  run_clear (&run);
}

static void
test_resume_no_range (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autofree char *url = server_url ("flaky-norange", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  /* the server answers the Range request with the whole file: start over */
  run_sync (download, &run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  requests = server_requests ("flaky-norange", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 2);
  g_assert_true (g_str_has_prefix (requests[1], "bytes="));
  assert_dataset_complete (fixture);
  run_clear (&run);
}

static void
test_resume_gives_up (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autofree char *url = server_url ("cut", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  g_auto(GStrv) requests = NULL;
  gsize size = g_bytes_get_size (archives[ARCHIVE_GOOD]);
  gsize got = 0;
  g_autofree char *expected = NULL;
  g_autofree char *got_text = NULL;
  g_autofree char *size_text = NULL;
  Run run = { 0 };

  /* every answer stops halfway: 1 try + 3 retries, each resuming */
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK);
  requests = server_requests ("cut", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 4);
  for (guint i = 0; i < 4; i++)
    got += (size - got) / 2;
  got_text = g_format_size (got);
  size_text = g_format_size (size);
  expected = g_strdup_printf ("The download ended early: got %s of %s", got_text, size_text);
  g_assert_cmpstr (run.error->message, ==, expected);
  /* the part is kept for a later run */
  g_assert_cmpint (file_size (part), ==, (goffset) got);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_cancel_then_resume (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autofree char *stall_url = server_url ("stall", "cifar.tar.gz");
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, stall_url);
  g_autoptr(ConvolveDownload) again = NULL;
  g_autofree char *expected_range = g_strdup_printf ("bytes=%d-", STALL_BYTES);
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };
  Run resumed = { 0 };

  /* cancel while the server holds the transfer halfway */
  run.cancellable = g_cancellable_new ();
  run.part_path = convolve_download_dup_part_path (download);
  run.cancel_at = STALL_BYTES;
  g_timeout_add (10, cancel_when_part_is_full, &run);
  run_async (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);
  g_assert_false (run.ok);
  g_assert_true (run.freed);
  assert_no_partial_dataset (fixture);
  /* the part stays, for resuming */
  g_assert_cmpint (file_size (run.part_path), ==, STALL_BYTES);

  /* a later download picks it up with a Range request */
  again = fixture_download (fixture, url);
  run_sync (again, &resumed);
  g_assert_no_error (resumed.error);
  g_assert_true (resumed.ok);
  requests = server_requests ("files", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 1);
  g_assert_cmpstr (requests[0], ==, expected_range);
  assert_dataset_complete (fixture);
  g_assert_false (g_file_test (run.part_path, G_FILE_TEST_EXISTS));
  run_clear (&run);
  run_clear (&resumed);
}

static void
test_cancel_before_start (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  run.cancellable = g_cancellable_new ();
  g_cancellable_cancel (run.cancellable);
  run_async (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);
  /* no report reaches a caller that has cancelled */
  g_assert_cmpuint (run.n_reports, ==, 0);
  requests = server_requests ("files", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 0);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_resume_complete_part (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  g_autofree char *expected_range = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT "-",
                                                     g_bytes_get_size (archives[ARCHIVE_GOOD]));
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  /* a run that was stopped after the whole archive had arrived */
  g_assert_cmpint (g_mkdir_with_parents (fixture->data_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (part, g_bytes_get_data (archives[ARCHIVE_GOOD], NULL),
                                      g_bytes_get_size (archives[ARCHIVE_GOOD]), NULL));
  run_sync (download, &run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  /* the server's 416 says the part is whole */
  requests = server_requests ("files", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 1);
  g_assert_cmpstr (requests[0], ==, expected_range);
  assert_dataset_complete (fixture);
  run_clear (&run);
}

static void
test_checksum (Fixture       *fixture,
               gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = NULL;
  g_autofree char *marker = g_build_filename (fixture->dataset_dir, "old-marker", NULL);
  g_autofree char *contents = NULL;
  Run run = { 0 };

  convolve_download_set_expected_md5 (download, "0123456789ABCDEF0123456789abcdef");
  g_assert_cmpstr (convolve_download_get_expected_md5 (download), ==, "0123456789abcdef0123456789abcdef");
  part = convolve_download_dup_part_path (download);
  g_assert_cmpint (g_mkdir_with_parents (fixture->dataset_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (marker, "old", -1, NULL));

  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CHECKSUM);
  g_assert_cmpstr (run.error->message, ==, "The downloaded file is damaged (checksum mismatch)");
  /* the damaged part is gone, the previous dataset untouched */
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (marker, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  test_remove_tree (fixture->dataset_dir);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

typedef struct {
  ArchiveKind kind;
  const char *message;  /* expected (for ARCHIVE_ABSOLUTE: made from absolute_target) */
} BadArchive;

static const BadArchive bad_archives[] = {
  { ARCHIVE_TRAVERSAL,  "The archive contains an unsafe path “cifar-10-batches-bin/../../evil.txt”" },
  { ARCHIVE_ABSOLUTE,   NULL },
  { ARCHIVE_SYMLINK,    "The archive contains “cifar-10-batches-bin/passwd”, which is neither a file nor a folder" },
  { ARCHIVE_INCOMPLETE, "The archive is incomplete: test_batch.bin is missing" },
  { ARCHIVE_RAGGED,     "The archive is damaged: data_batch_3.bin is not a whole number of images" },
  { ARCHIVE_BAD_LABEL,  "cifar-10-batches-bin/data_batch_5.bin has an image with a class outside 0 to 9" },
};

static void
test_bad_archive (Fixture       *fixture,
                  gconstpointer  user_data)
{
  const BadArchive *bad = user_data;
  const char *name = archive_names[bad->kind];
  g_autofree char *url = server_url ("files", name);
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, archives[bad->kind]);
  g_autofree char *evil_in_data = g_build_filename (fixture->data_dir, "evil.txt", NULL);
  g_autofree char *evil_in_base = g_build_filename (fixture->base, "evil.txt", NULL);
  g_autofree char *expected = NULL;
  Run run = { 0 };

  if (bad->kind == ARCHIVE_ABSOLUTE)
    expected = g_strdup_printf ("The archive contains an unsafe path “%s”", absolute_target);
  else
    expected = g_strdup (bad->message);

  convolve_download_set_expected_md5 (download, md5);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_assert_cmpstr (run.error->message, ==, expected);
  g_assert_false (g_file_test (evil_in_data, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (evil_in_base, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (absolute_target, G_FILE_TEST_EXISTS));
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_bad_url (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, "ftp://example.org/cifar.tar.gz");
  Run run = { 0 };

  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NETWORK);
  g_assert_cmpstr (run.error->message, ==, "“ftp://example.org/cifar.tar.gz” is not a web address (http or https)");
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_no_space_up_front (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *url = server_url ("huge", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  g_autofree char *prefix = g_strdup_printf ("Not enough disk space in %s: ", fixture->data_dir);
  Run run = { 0 };

  /* past the download cap, which would refuse a petabyte first */
  _convolve_download_set_limits (download, G_MAXUINT64, 0, 0);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NO_SPACE);
  g_assert_true (g_str_has_prefix (run.error->message, prefix));
  /* nothing was written, and no empty part is left */
  g_assert_cmpint (file_size (part), ==, -1);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_no_space_dev_full (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  GStatBuf before, after;
  Run run = { 0 };

  if (access ("/dev/full", W_OK) != 0)
    {
      g_test_skip ("/dev/full is not writable here");
      return;
    }
  g_assert_cmpint (g_stat ("/dev/full", &before), ==, 0);

  convolve_download_set_part_path (download, "/dev/full");
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NO_SPACE);
  g_assert_cmpstr (run.error->message, ==, "Not enough disk space in /dev");
  assert_no_partial_dataset (fixture);
  /* the device is left alone */
  g_assert_cmpint (g_stat ("/dev/full", &after), ==, 0);
  g_assert_true (S_ISCHR (after.st_mode));
  g_assert_cmpuint (after.st_rdev, ==, before.st_rdev);
  run_clear (&run);
}

/* A real full disk: a tmpfs of size_kb, mounted in a mount namespace private
 * to one thread (mount namespaces are per task), where the download runs. */
typedef struct {
  Fixture    *fixture;
  const char *url;
  guint       size_kb;
  char       *skip;   /* why it could not run */
  char       *disk;
  Run         run;
} TmpfsRun;

static gpointer
tmpfs_thread (gpointer data)
{
  TmpfsRun *t = data;
  g_autoptr(ConvolveDownload) download = NULL;
  g_autofree char *options = g_strdup_printf ("size=%uk", t->size_kb);
  g_autofree char *data_dir = g_build_filename (t->disk, "data", NULL);

  if (unshare (CLONE_NEWNS) != 0 ||
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount ("tmpfs", t->disk, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
    {
      t->skip = g_strdup_printf ("cannot mount a tmpfs (%s); needs root", g_strerror (errno));
      return NULL;
    }

  download = convolve_download_new (data_dir);
  convolve_download_set_url (download, t->url);
  convolve_download_set_expected_md5 (download, good_md5);
  convolve_download_set_retries (download, 3, TEST_RETRY_DELAY);
  run_sync (download, &t->run);

  /* what the failure left on the small disk: nothing of the dataset */
  if (g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      GDir *dir = g_dir_open (data_dir, 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        g_assert_false (g_str_has_prefix (name, "cifar-10-batches-bin") ||
                        g_str_has_prefix (name, ".cifar-10-batches-bin"));
      g_dir_close (dir);
    }
  test_remove_tree (data_dir);
  umount2 (t->disk, MNT_DETACH);
  return NULL;
}

static void
run_on_tmpfs (Fixture               *fixture,
              const char            *url,
              guint                  size_kb,
              ConvolveDownloadPhase  failed_in)
{
  TmpfsRun t = { fixture, url, size_kb, NULL, NULL, { 0 } };
  g_autofree char *prefix = NULL;

  t.disk = g_build_filename (fixture->base, "disk", NULL);
  g_assert_cmpint (g_mkdir (t.disk, 0755), ==, 0);
  g_thread_join (g_thread_new ("tmpfs-download", tmpfs_thread, &t));
  if (t.skip != NULL)
    {
      g_test_skip (t.skip);
      g_free (t.skip);
      g_free (t.disk);
      return;
    }

  prefix = g_strdup_printf ("Not enough disk space in %s/data", t.disk);
  g_assert_error (t.run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NO_SPACE);
  g_assert_true (g_str_has_prefix (t.run.error->message, prefix));
  g_assert_cmpint (t.run.last.phase, ==, failed_in);
  g_test_message ("%s", t.run.error->message);
  run_clear (&t.run);
  g_free (t.disk);
}

static void
test_no_space_tmpfs_up_front (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");

  /* the archive would fit, the archive and its files would not */
  run_on_tmpfs (fixture, url, (guint) (g_bytes_get_size (archives[ARCHIVE_GOOD]) / 1024 + 64),
                CONVOLVE_DOWNLOAD_PHASE_CONNECTING);
}

static void
test_no_space_tmpfs_download (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autofree char *url = server_url ("chunked", "cifar.tar.gz");

  /* no Content-Length, so no check up front: the writes fail */
  run_on_tmpfs (fixture, url, (guint) (g_bytes_get_size (archives[ARCHIVE_GOOD]) / 2048),
                CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING);
}

static void
test_no_space_tmpfs_extract (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autofree char *url = server_url ("chunked", "cifar.tar.gz");

  /* the archive fits, its files do not */
  run_on_tmpfs (fixture, url, (guint) (g_bytes_get_size (archives[ARCHIVE_GOOD]) * 3 / 2048),
                CONVOLVE_DOWNLOAD_PHASE_EXTRACTING);
}

/* ------------------------------------------------------------------ */
/* Hardening: links, caps, a failed install */

static void
assert_dir_has_no_temp (Fixture *fixture)
{
  GDir *dir = g_dir_open (fixture->data_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, ".cifar-10-batches-bin"))
      g_error ("a temporary folder was left behind: %s", name);
  if (dir != NULL)
    g_dir_close (dir);
}

/* A link planted at the part path is not followed: the file it points at
 * is neither written nor deleted. */
static void
test_part_symlink (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  g_autofree char *victim = g_build_filename (fixture->base, "victim.txt", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) requests = NULL;
  GStatBuf st;
  Run run = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (fixture->data_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (victim, "precious", -1, NULL));
  g_assert_cmpint (symlink (victim, part), ==, 0);

  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO);
  g_assert_nonnull (strstr (run.error->message, "symbolic link"));
  g_test_message ("%s", run.error->message);
  g_assert_true (g_file_get_contents (victim, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
  g_assert_cmpint (g_lstat (part, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  /* refused before anything was fetched */
  requests = server_requests ("files", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 0);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

/* No Content-Length: the body is cut off at the cap, and the part that
 * reached it is dropped. */
static void
test_cap_download_chunked (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autofree char *url = server_url ("chunked", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  guint64 cap = g_bytes_get_size (archives[ARCHIVE_GOOD]) / 2;
  g_auto(GStrv) requests = NULL;
  Run run = { 0 };

  _convolve_download_set_limits (download, cap, 0, 0);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED);
  g_assert_true (g_str_has_prefix (run.error->message, "The download is larger than "));
  g_test_message ("%s", run.error->message);
  g_assert_cmpuint (run.downloaded, <=, cap);
  /* not retried: the same server would send as much again */
  requests = server_requests ("chunked", "cifar.tar.gz");
  g_assert_cmpuint (g_strv_length (requests), ==, 1);
  g_assert_cmpint (file_size (part), ==, -1);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

/* A Content-Length past the cap (the default one: a petabyte) is refused
 * before a byte is written. */
static void
test_cap_download_announced (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autofree char *url = server_url ("huge", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *part = convolve_download_dup_part_path (download);
  Run run = { 0 };

  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED);
  g_assert_true (g_str_has_prefix (run.error->message, "The download is larger than "));
  g_assert_cmpint (file_size (part), ==, -1);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

/* An archive member larger than the cap, and an archive that unpacks to
 * more than the dataset cap: refused, nothing installed. */
static void
test_cap_member (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  Run run = { 0 };

  /* every batch is RECORDS_PER_BATCH records */
  _convolve_download_set_limits (download, 0, RECORDS_PER_BATCH * RECORD_SIZE - 1, 0);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_assert_true (g_str_has_prefix (run.error->message,
                                   "The archive contains “cifar-10-batches-bin/data_batch_1.bin”, larger than "));
  g_test_message ("%s", run.error->message);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

static void
test_cap_dataset (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  Run run = { 0 };

  /* room for three of the six batches */
  _convolve_download_set_limits (download, 0, 0, 3 * RECORDS_PER_BATCH * RECORD_SIZE + 1024);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
  g_assert_true (g_str_has_prefix (run.error->message, "The archive unpacks to more than "));
  g_test_message ("%s", run.error->message);
  assert_no_partial_dataset (fixture);
  run_clear (&run);
}

/* The install's renames, failing as a test says: swap fails (errno), or
 * the file system cannot swap, and then moving the new one in fails, and
 * so does moving the old one back. */
typedef enum {
  RENAME_FAIL_SWAP,
  RENAME_FAIL_ALL,
} RenameFailure;

static RenameFailure rename_failure;
static guint rename_calls;

static int
failing_rename (const char   *from,
                const char   *to,
                unsigned int  flags)
{
  rename_calls++;
  if (flags & RENAME_EXCHANGE)
    {
      errno = rename_failure == RENAME_FAIL_SWAP ? EACCES : EINVAL;
      return -1;
    }
  /* the old one moved aside works; moving anything into place fails */
  if (rename_failure == RENAME_FAIL_ALL && !g_str_has_suffix (to, "/previous"))
    {
      errno = EIO;
      return -1;
    }
  return renameat2 (AT_FDCWD, from, AT_FDCWD, to, flags);
}

static char *
setup_old_dataset (Fixture *fixture)
{
  char *marker = g_build_filename (fixture->dataset_dir, "old-marker", NULL);

  g_assert_cmpint (g_mkdir_with_parents (fixture->dataset_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (marker, "old", -1, NULL));
  return marker;
}

static void
test_rename_fails_swap (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autofree char *marker = setup_old_dataset (fixture);
  g_autofree char *contents = NULL;
  Run run = { 0 };

  rename_failure = RENAME_FAIL_SWAP;
  rename_calls = 0;
  _convolve_download_set_rename_func (download, failing_rename);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO);
  g_assert_true (g_str_has_prefix (run.error->message, "Could not replace "));
  g_test_message ("%s", run.error->message);
  g_assert_cmpuint (rename_calls, ==, 1);
  /* the old dataset as it was, nothing left over */
  g_assert_true (g_file_get_contents (marker, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  assert_dir_has_no_temp (fixture);
  run_clear (&run);
}

static void
test_rename_fails_all (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autofree char *url = server_url ("files", "cifar.tar.gz");
  g_autoptr(ConvolveDownload) download = fixture_download (fixture, url);
  g_autoptr(ConvolveDownload) again = fixture_download (fixture, url);
  g_autofree char *marker = setup_old_dataset (fixture);
  g_autofree char *kept_marker = NULL;
  g_autofree char *contents = NULL;
  const char *kept;
  Run run = { 0 };
  Run second = { 0 };

  rename_failure = RENAME_FAIL_ALL;
  rename_calls = 0;
  _convolve_download_set_rename_func (download, failing_rename);
  run_sync (download, &run);
  g_assert_error (run.error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO);
  g_test_message ("%s", run.error->message);
  /* swap, aside, in, back */
  g_assert_cmpuint (rename_calls, ==, 4);
  kept = strstr (run.error->message, "; the previous dataset is kept in ");
  g_assert_nonnull (kept);
  kept += strlen ("; the previous dataset is kept in ");
  kept_marker = g_build_filename (kept, "old-marker", NULL);
  /* not deleted: kept where the message says */
  g_assert_false (g_file_test (fixture->dataset_dir, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (kept_marker, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  g_clear_pointer (&contents, g_free);

  /* the next run puts it back before it cleans up, then installs */
  run_sync (again, &second);
  g_assert_no_error (second.error);
  assert_dataset_complete (fixture);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  assert_dir_has_no_temp (fixture);
  run_clear (&run);
  run_clear (&second);
}

static void
test_md5_is_valid (void)
{
  g_assert_true (convolve_download_md5_is_valid (CONVOLVE_CIFAR10_MD5));
  g_assert_true (convolve_download_md5_is_valid ("C32A1D4AB5D03F1284B67883E8D87530"));
  g_assert_false (convolve_download_md5_is_valid ("c32a1d4ab5d03f1284b67883e8d8753"));
  g_assert_false (convolve_download_md5_is_valid ("c32a1d4ab5d03f1284b67883e8d8753g"));
  g_assert_false (convolve_download_md5_is_valid (NULL));
}

int
main (int argc, char **argv)
{
  int result;

  g_test_init (&argc, &argv, NULL);
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);  /* never a proxy for 127.0.0.1 */

  make_archives ();
  test_server_start (&test_server);

#define ADD(path, func) \
  g_test_add ("/data/download/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/data/download/md5-is-valid", test_md5_is_valid);
  ADD ("success/async", test_success_async);
  ADD ("success/sync-chunked", test_success_sync);
  ADD ("error/http-404", test_not_found);
  ADD ("error/connection-refused", test_connection_refused);
  ADD ("error/checksum", test_checksum);
  ADD ("error/bad-url", test_bad_url);
  ADD ("resume/range", test_resume_range);
  ADD ("resume/no-range", test_resume_no_range);
  ADD ("resume/gives-up", test_resume_gives_up);
  ADD ("resume/complete-part", test_resume_complete_part);
  ADD ("cancel/then-resume", test_cancel_then_resume);
  ADD ("cancel/before-start", test_cancel_before_start);
  ADD ("no-space/up-front", test_no_space_up_front);
  ADD ("no-space/dev-full", test_no_space_dev_full);
  ADD ("no-space/tmpfs/up-front", test_no_space_tmpfs_up_front);
  ADD ("no-space/tmpfs/download", test_no_space_tmpfs_download);
  ADD ("no-space/tmpfs/extract", test_no_space_tmpfs_extract);
  ADD ("hardening/part-symlink", test_part_symlink);
  ADD ("hardening/cap/download-chunked", test_cap_download_chunked);
  ADD ("hardening/cap/download-announced", test_cap_download_announced);
  ADD ("hardening/cap/member", test_cap_member);
  ADD ("hardening/cap/dataset", test_cap_dataset);
  ADD ("hardening/rename/swap-fails", test_rename_fails_swap);
  ADD ("hardening/rename/all-fail", test_rename_fails_all);
  for (guint i = 0; i < G_N_ELEMENTS (bad_archives); i++)
    {
      g_autofree char *path = g_strdup_printf ("/data/download/archive/%s", archive_names[bad_archives[i].kind]);

      g_test_add (path, Fixture, &bad_archives[i], fixture_set_up, test_bad_archive, fixture_tear_down);
    }
#undef ADD

  result = g_test_run ();

  test_server_stop (&test_server);
  for (int kind = 0; kind < N_ARCHIVES; kind++)
    g_bytes_unref (archives[kind]);
  for (guint b = 0; b < G_N_ELEMENTS (batch_names); b++)
    g_bytes_unref (good_batches[b]);
  g_free (good_md5);
  g_free (absolute_target);
  return result;
}
