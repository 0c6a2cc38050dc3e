/* test-session-checkpoints.c: the checkpoints of the app's runs. The
 * trainer writes them in the background (a failed write leaves the
 * previous checkpoint and the run goes on); a run the session trains gets
 * them in its own folder beside the run store; a session killed with
 * SIGKILL mid-run leaves an interrupted run that a new session resumes
 * from its last checkpoint, with the losses of an uninterrupted run from
 * there; deleting the run removes its files.
 *
 * The killed session is this program again ("--kill-child DIR"), a whole
 * process that dies with its trainer, writer and recorder threads running.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convolve-loaders.h"
#include "convolve-session-private.h"
#include "convolve-train.h"
#include "convolve-trainer-private.h"
#include "session-test-util.h"
#include "test-cifar-folder.h"

#define SPEC "conv2d(4,3,same,relu),maxpool(2),flatten,dense(10,softmax)"

static char *tmp_dir;

static void
small_config (ConvolveTrainConfig *config,
              int                  epochs)
{
  convolve_train_config_init (config);
  config->epochs = epochs;
  config->augment_epochs = 0;
  config->batch_size = 16;
  config->learning_rate = 5e-3f;
  config->seed = 11;
  config->threads = 1;
  config->eval_batch_size = 32;
  config->progress_interval_ms = 0;
}

static ConvolveModel *
new_model (ConvolveDataset *train)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (SPEC, &error);
  ConvolveShape input = convolve_dataset_get_shape (train);
  ConvolveModel *model;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 16, 5, &error);
  g_assert_no_error (error);
  return model;
}

static GBytes *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* ---- the trainer --------------------------------------------------------- */

/* A full disk, as a file size limit (which root cannot ignore either):
 * each later checkpoint fails, the run finishes, and the checkpoint of
 * the first epoch is there byte for byte, with no temporary file left. */
static void
test_background_write_fails (void)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveTrainer) trainer = NULL;
  g_autoptr(ConvolveProgress) progress = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  ConvolveTrainConfig config;
  struct rlimit limit;

  if (!g_test_subprocess ())
    {
      /* The limit stays with the process: a child of its own. */
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  data_dir = test_cifar_folder_new (tmp_dir, "fsize-data", 64, 32);
  dir = g_build_filename (tmp_dir, "fsize", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  path = g_build_filename (dir, "checkpoint.safetensors", NULL);
  g_assert_true (convolve_dataset_load_dir (data_dir, &train, &test, NULL, &error));
  g_assert_no_error (error);

  /* One epoch, written in the background: there when the run is over. */
  small_config (&config, 1);
  trainer = convolve_trainer_new (new_model (train), NULL, train, test, &config, &error);
  g_assert_no_error (error);
  g_assert_true (convolve_trainer_set_checkpoint_path (trainer, path, &error));
  g_assert_true (convolve_trainer_set_checkpoint_mode (trainer, CONVOLVE_CHECKPOINT_MODE_BACKGROUND, &error));
  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_true (convolve_trainer_join (trainer, &error));
  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpuint (progress->checkpoint_saves, ==, 1);
  g_assert_cmpint (progress->checkpoint_epoch, ==, 1);
  g_assert_cmpint (progress->checkpoint_best_epoch, ==, 1);
  g_assert_cmpuint (progress->checkpoint_failures, ==, 0);
  g_assert_null (progress->checkpoint_error);
  g_clear_pointer (&progress, convolve_progress_unref);
  g_clear_object (&trainer);
  before = read_file (path);
  g_assert_cmpuint (count_files (dir), ==, 2);  /* checkpoint and best */

  /* Three more epochs in files that cannot grow past half of it. */
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  limit.rlim_cur = g_bytes_get_size (before) / 2;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

  trainer = convolve_trainer_new_from_checkpoint (path, train, test, &error);
  g_assert_no_error (error);
  small_config (&config, 4);
  g_assert_true (convolve_trainer_set_config (trainer, &config, &error));
  g_assert_true (convolve_trainer_set_checkpoint_path (trainer, path, &error));
  g_assert_true (convolve_trainer_set_checkpoint_mode (trainer, CONVOLVE_CHECKPOINT_MODE_BACKGROUND, &error));
  g_assert_true (convolve_trainer_start (trainer, &error));
  g_assert_true (convolve_trainer_join (trainer, &error));
  g_assert_no_error (error);
  progress = convolve_trainer_get_progress (trainer);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (progress->epoch, ==, 4);
  g_assert_cmpuint (progress->checkpoint_saves, ==, 0);
  /* Each epoch's save failed, or was replaced by the next while it
   * waited (the best file, a quarter of the size, may have gone through
   * first; a resume checks that it fits). */
  g_assert_cmpuint (progress->checkpoint_failures, >=, 1);
  g_assert_cmpuint (progress->checkpoint_failures, <=, 3);
  g_assert_error (progress->checkpoint_error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
  g_test_message ("the failure: %s", progress->checkpoint_error->message);

  after = read_file (path);
  g_assert_true (g_bytes_equal (before, after));
  g_assert_cmpuint (count_files (dir), ==, 2);
  {
    /* ... and it still resumes: the run after its first epoch. */
    g_autoptr(ConvolveTrainer) resumed = convolve_trainer_new_from_checkpoint (path, train, test, &error);
    g_autoptr(ConvolveProgress) start = NULL;

    g_assert_no_error (error);
    start = convolve_trainer_get_progress (resumed);
    g_assert_cmpint (start->global_step, ==, 4);  /* 64 images, 16 a batch */
  }
}

/* ---- the session ---------------------------------------------------------- */

typedef struct {
  guint errors;
  char *last_error;
} Errors;

static void
on_error (ConvolveSession *session,
          const char      *message,
          Errors          *errors)
{
  g_test_message ("session error: %s", message);
  errors->errors++;
  g_free (errors->last_error);
  errors->last_error = g_strdup (message);
}

static void
train (ConvolveSession *session,
       int              epochs)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveTrainConfig config;

  small_config (&config, epochs);
  convolve_session_train_async (session, &config, session_test_result_cb, &result);
  g_assert_true (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
  g_assert_no_error (error);
}

/* The run's record once it has left RUNNING (the recorder finishes it
 * off the main thread). */
static ConvolveRunRecord *
wait_record_done (ConvolveRunStore *store,
                  gint64            id)
{
  gint64 deadline = g_get_monotonic_time () + SESSION_TEST_TIMEOUT_US;
  ConvolveRunRecord *record = NULL;
  g_autoptr(GError) error = NULL;

  do
    {
      g_clear_pointer (&record, convolve_run_record_free);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      record = convolve_run_store_get_run (store, id, &error);
      g_assert_no_error (error);
      if (record->status == CONVOLVE_RUN_STATUS_RUNNING)
        g_usleep (1000);
    }
  while (record->status == CONVOLVE_RUN_STATUS_RUNNING && g_get_monotonic_time () < deadline);
  return record;
}

/* A run of the session keeps its last and best checkpoints in
 * runs/ID beside the store; they record as the run's. */
static void
test_session_checkpoints (void)
{
  g_autofree char *data_dir = test_cifar_folder_new (tmp_dir, "plain", 64, 32);
  g_autoptr(ConvolveSession) session = convolve_session_new ();
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) record = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *run_dir = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *best = NULL;
  Errors errors = { 0 };
  gint64 id;

  g_signal_connect (session, "error", G_CALLBACK (on_error), &errors);
  session_test_open_dataset (session, data_dir, SPEC, &error);
  g_assert_no_error (error);
  train (session, 2);
  id = convolve_session_get_run_id (session);
  g_assert_cmpint (id, >, 0);
  g_assert_true (session_test_iterate_until (session_test_run_final, session));
  g_assert_cmpint (convolve_session_get_progress (session)->checkpoint_epoch, ==, 2);

  store = convolve_run_store_open (NULL, &error);
  g_assert_no_error (error);
  record = wait_record_done (store, id);
  g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  run_dir = convolve_run_store_get_run_dir (store, id);
  expected = g_build_filename (run_dir, "checkpoint.safetensors", NULL);
  best = convolve_trainer_best_path_for (expected);
  g_assert_cmpstr (record->checkpoint_path, ==, expected);
  g_assert_cmpstr (record->best_checkpoint_path, ==, best);
  g_assert_true (g_file_test (expected, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (best, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (errors.errors, ==, 0);

  /* Deleting the run deletes them, and the folder. */
  g_assert_true (convolve_run_store_delete_run (store, id, &error));
  g_assert_cmpuint (convolve_run_store_delete_run_files (store, record, TRUE), ==, 2);
  g_assert_false (g_file_test (run_dir, G_FILE_TEST_EXISTS));
  g_free (errors.last_error);
}

/* Where the checkpoint cannot be written (a folder in its place, which
 * stops root too), the session says so once and the run finishes. */
static void
test_session_checkpoint_fails (void)
{
  g_autofree char *data_dir = test_cifar_folder_new (tmp_dir, "blocked", 64, 32);
  g_autoptr(ConvolveSession) session = convolve_session_new ();
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) record = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *run_dir = NULL;
  g_autofree char *blocker = NULL;
  Errors errors = { 0 };
  gint64 next;

  store = convolve_run_store_open (NULL, &error);
  g_assert_no_error (error);
  {
    /* The next run's number: one past the newest. */
    g_autoptr(GPtrArray) runs = convolve_run_store_list_runs (store, NULL, CONVOLVE_RUN_SORT_NEWEST, &error);

    g_assert_no_error (error);
    next = 1;
    for (guint i = 0; i < runs->len; i++)
      next = MAX (next, ((ConvolveRunRecord *) runs->pdata[i])->id + 1);
  }
  run_dir = convolve_run_store_get_run_dir (store, next);
  blocker = g_build_filename (run_dir, "checkpoint.safetensors", NULL);
  g_assert_cmpint (g_mkdir_with_parents (blocker, 0700), ==, 0);

  g_signal_connect (session, "error", G_CALLBACK (on_error), &errors);
  session_test_open_dataset (session, data_dir, SPEC, &error);
  g_assert_no_error (error);
  train (session, 3);
  g_assert_cmpint (convolve_session_get_run_id (session), ==, next);
  g_assert_true (session_test_iterate_until (session_test_run_final, session));
  g_assert_cmpint (convolve_session_get_progress (session)->state, ==, CONVOLVE_TRAINER_FINISHED);
  /* (one that waited while another was written may have been replaced
   * by the next, without a try of its own) */
  g_assert_cmpuint (convolve_session_get_progress (session)->checkpoint_failures, >=, 1);
  g_assert_cmpuint (convolve_session_get_progress (session)->checkpoint_saves, ==, 0);
  g_assert_cmpuint (errors.errors, ==, 1);
  g_assert_nonnull (strstr (errors.last_error, "checkpoint"));

  record = wait_record_done (store, next);
  g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_cmpint (record->n_epochs_done, ==, 3);
  g_assert_null (record->checkpoint_path);
  g_assert_cmpint (g_rmdir (blocker), ==, 0);
  g_free (errors.last_error);
}

/* The child: trains in a session as the app does, pausing right after
 * its first epoch (from the trainer thread, so exactly there), prints the
 * run's number once that epoch's checkpoint is recorded and waits to be
 * killed. */
static void
pause_after_first_epoch (int       epoch,
                         double   *val_loss,
                         double   *val_accuracy,
                         gpointer  user_data)
{
  /* Takes effect before the next step: after this epoch's checkpoint. */
  if (epoch == 1)
    convolve_trainer_pause (user_data);
}

static void
set_pause_hook (ConvolveTrainer *trainer,
                gpointer         user_data)
{
  _convolve_trainer_set_validation_hook (trainer, pause_after_first_epoch, trainer);
}

static gboolean
checkpoint_recorded (gpointer data)
{
  ConvolveSession *session = data;
  static gint64 next_look;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) record = NULL;

  if (convolve_session_get_state (session) != CONVOLVE_TRAINER_PAUSED)
    return FALSE;
  if (g_get_monotonic_time () < next_look)
    return FALSE;
  next_look = g_get_monotonic_time () + 20000;
  store = convolve_run_store_open (NULL, NULL);
  record = store != NULL ? convolve_run_store_get_run (store, convolve_session_get_run_id (session), NULL) : NULL;
  return record != NULL && record->checkpoint_path != NULL && record->best_checkpoint_path != NULL;
}

static int
kill_child (const char *data_dir)
{
  g_autoptr(ConvolveSession) session = convolve_session_new ();
  g_autoptr(GError) error = NULL;

  session_test_open_dataset (session, data_dir, SPEC, &error);
  g_assert_no_error (error);
  _convolve_session_set_trainer_hook (session, set_pause_hook, NULL);
  train (session, 3);
  g_assert_true (session_test_iterate_until (checkpoint_recorded, session));
  g_assert_cmpint (convolve_session_get_progress (session)->checkpoint_epoch, ==, 1);
  printf ("%" PRId64 "\n", convolve_session_get_run_id (session));
  fflush (stdout);
  /* Until killed; a parent that forgot us is not waited for. */
  for (int i = 0; i < 120 * 10; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (100000);
    }
  return 1;
}

/* The run's epoch rows from the first epoch after first_epoch. */
static void
assert_same_epochs (ConvolveHistory *expected,
                    ConvolveHistory *actual,
                    guint            first_epoch)
{
  g_assert_cmpuint (convolve_history_get_n_epochs (actual), ==, convolve_history_get_n_epochs (expected));
  for (guint i = first_epoch; i < convolve_history_get_n_epochs (expected); i++)
    {
      const ConvolveHistoryEpoch *e = convolve_history_get_epoch (expected, i);
      const ConvolveHistoryEpoch *a = convolve_history_get_epoch (actual, i);

      g_assert_cmpint (a->epoch, ==, e->epoch);
      g_assert_cmpfloat (a->loss, ==, e->loss);
      g_assert_cmpfloat (a->accuracy, ==, e->accuracy);
      g_assert_cmpfloat (a->val_loss, ==, e->val_loss);
      g_assert_cmpfloat (a->val_accuracy, ==, e->val_accuracy);
    }
}

static void
test_session_kill_resume (void)
{
  g_autofree char *data_dir = test_cifar_folder_new (tmp_dir, "kill", 160, 48);
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  const char *argv[] = { self_exe, "--kill-child", data_dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) record = NULL;
  g_autoptr(ConvolveSession) session = NULL;
  g_autoptr(ConvolveTrainer) reference = NULL;
  g_autofree char *run_dir = NULL;
  char line[64] = { 0 };
  gsize length = 0;
  GPid pid;
  int out_fd, status;
  guint first_epoch;
  gint64 id;
  Errors errors = { 0 };

  g_assert_nonnull (self_exe);
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  while (length < sizeof line - 1 && strchr (line, '\n') == NULL)
    {
      gssize n = read (out_fd, line + length, sizeof line - 1 - length);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);  /* else the child died first */
      length += n;
    }
  close (out_fd);
  id = g_ascii_strtoll (line, NULL, 10);
  g_assert_cmpint (id, >, 0);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  g_spawn_close_pid (pid);

  /* Found interrupted, with its checkpoint in its folder. */
  store = convolve_run_store_open (NULL, &error);
  g_assert_no_error (error);
  record = convolve_run_store_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_INTERRUPTED);
  run_dir = convolve_run_store_get_run_dir (store, id);
  g_assert_true (g_str_has_prefix (record->checkpoint_path, run_dir));
  g_assert_true (g_file_test (record->checkpoint_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (record->best_checkpoint_path, G_FILE_TEST_IS_REGULAR));

  session = convolve_session_new ();
  g_signal_connect (session, "error", G_CALLBACK (on_error), &errors);
  session_test_open_dataset (session, data_dir, SPEC, &error);
  g_assert_no_error (error);

  /* What an uninterrupted run from that checkpoint gives (read before
   * the resumed run saves over it). */
  reference = convolve_trainer_new_from_checkpoint (record->checkpoint_path,
                                                    convolve_session_get_train (session),
                                                    convolve_session_get_test (session), &error);
  g_assert_no_error (error);
  first_epoch = convolve_history_get_n_epochs (convolve_trainer_get_history (reference));
  g_assert_cmpuint (first_epoch, ==, 1);
  g_test_message ("killed after %u epochs", first_epoch);
  g_assert_true (convolve_trainer_start (reference, &error));
  g_assert_true (convolve_trainer_join (reference, &error));

  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_resume_run_async (session, id, session_test_result_cb, &result);
    g_assert_true (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (convolve_session_get_run_id (session), ==, id);
  g_assert_true (session_test_iterate_until (session_test_run_final, session));
  g_assert_cmpint (convolve_session_get_progress (session)->state, ==, CONVOLVE_TRAINER_FINISHED);
  assert_same_epochs (convolve_trainer_get_history (reference), convolve_session_get_history (session),
                      first_epoch);
  g_assert_cmpint (convolve_session_get_progress (session)->checkpoint_epoch, ==, 3);
  g_assert_cmpuint (errors.errors, ==, 0);

  g_clear_pointer (&record, convolve_run_record_free);
  record = wait_record_done (store, id);
  g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_cmpint (record->n_epochs_done, ==, 3);

  g_assert_true (convolve_run_store_delete_run (store, id, &error));
  g_assert_cmpuint (convolve_run_store_delete_run_files (store, record, TRUE), ==, 2);
  g_assert_false (g_file_test (run_dir, G_FILE_TEST_EXISTS));
  g_free (errors.last_error);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  if (argc == 3 && strcmp (argv[1], "--kill-child") == 0)
    return kill_child (argv[2]);

  g_test_init (&argc, &argv, NULL);
  convolve_engine_set_threads (1);
  tmp_dir = g_dir_make_tmp ("convolve-session-checkpoints-XXXXXX", &error);
  g_assert_no_error (error);
  {
    /* The session records its runs in the default store: a private one,
     * which the killed child inherits. */
    g_autofree char *db = g_build_filename (tmp_dir, "runs.sqlite", NULL);

    g_setenv ("CONVOLVE_RUNS_DB", db, TRUE);
  }

  g_test_add_func ("/train/checkpoints/background/write-fails", test_background_write_fails);
  g_test_add_func ("/train/session/checkpoints/run-folder", test_session_checkpoints);
  g_test_add_func ("/train/session/checkpoints/write-fails", test_session_checkpoint_fails);
  g_test_add_func ("/train/session/checkpoints/kill-resume", test_session_kill_resume);

  status = g_test_run ();
  test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
