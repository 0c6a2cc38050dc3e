/* convolve-run-recorder.c: the run store's writer thread.
 *
 * Callers push messages onto a GAsyncQueue; the writer collects rows
 * until the batch is old or big enough and commits them in one
 * transaction on its own connection. Messages that need an answer (flush,
 * finish) carry a reply queue the writer answers on once everything
 * before them is committed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-run-recorder.h"

#include <math.h>

#include "convolve-run-store-private.h"

/* Rows kept for a retry while the file is locked; beyond that they are
 * dropped (the run keeps training, its record just has a gap). */
#define MAX_PENDING_ROWS (1u << 20)

typedef enum {
  MESSAGE_ROWS,
  MESSAGE_PATHS,
  MESSAGE_BEST,
  MESSAGE_FLUSH,
  MESSAGE_FINISH,
} MessageKind;

typedef struct {
  MessageKind         kind;
  GArray             *steps;        /* ROWS: ConvolveHistoryStep, nullable */
  GArray             *epochs;       /* ROWS: ConvolveHistoryEpoch, nullable */
  char               *paths[3];     /* PATHS */
  int                 best_epoch;   /* BEST */
  double              best_val_loss;
  double              best_val_accuracy;
  ConvolveRunStatus   status;       /* FINISH */
  ConvolveEvaluation *evaluation;   /* FINISH, a reference, nullable */
  char               *error_message;
  GAsyncQueue        *reply;        /* FLUSH, FINISH: gets a Reply */
} Message;

typedef struct {
  GError *error;
} Reply;

struct _ConvolveRunRecorder {
  ConvolveRunStore *writer_store;   /* the writer thread's own connection */
  gint64            run_id;
  GAsyncQueue      *queue;
  GThread          *thread;
  gboolean          finished;       /* finish was called (caller side) */

  GMutex            lock;           /* the caller-side fields below */
  guint             n_steps_seen;
  guint             n_epochs_seen;
  gboolean          best_explicit;
  int               best_epoch;
  double            best_val_loss;
  GError           *first_error;    /* shared with the writer */
  gboolean          error_reported;

  /* The writer thread's own state. */
  GArray           *pending_steps;
  GArray           *pending_epochs;
};

static void
message_free (Message *message)
{
  if (message->steps != NULL)
    g_array_unref (message->steps);
  if (message->epochs != NULL)
    g_array_unref (message->epochs);
  for (int i = 0; i < 3; i++)
    g_free (message->paths[i]);
  g_clear_pointer (&message->evaluation, convolve_evaluation_free);
  g_free (message->error_message);
  g_clear_pointer (&message->reply, g_async_queue_unref);
  g_free (message);
}

static Message *
message_new (MessageKind kind)
{
  Message *message = g_new0 (Message, 1);

  message->kind = kind;
  return message;
}

/* Writer side ------------------------------------------------------------ */

static void
keep_error (ConvolveRunRecorder *self,
            GError              *error)
{
  g_mutex_lock (&self->lock);
  if (self->first_error == NULL)
    self->first_error = error;
  else
    g_error_free (error);
  g_mutex_unlock (&self->lock);
}

/* Commits the pending rows. A locked file keeps them for the next try. */
static void
commit_pending (ConvolveRunRecorder *self)
{
  GError *error = NULL;
  guint n_pending = self->pending_steps->len + self->pending_epochs->len;

  if (n_pending == 0)
    return;
  if (_convolve_run_store_write_rows (self->writer_store, self->run_id,
                                      (const ConvolveHistoryStep *) (gpointer) self->pending_steps->data,
                                      self->pending_steps->len,
                                      (const ConvolveHistoryEpoch *) (gpointer) self->pending_epochs->data,
                                      self->pending_epochs->len, &error))
    {
      g_array_set_size (self->pending_steps, 0);
      g_array_set_size (self->pending_epochs, 0);
      return;
    }
  if (!g_error_matches (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_LOCKED) ||
      n_pending > MAX_PENDING_ROWS)
    {
      g_array_set_size (self->pending_steps, 0);
      g_array_set_size (self->pending_epochs, 0);
    }
  keep_error (self, error);
}

static void
apply (ConvolveRunRecorder *self,
       Message             *message)
{
  GError *error = NULL;
  gboolean ok = TRUE;

  switch (message->kind)
    {
    case MESSAGE_PATHS:
      ok = convolve_run_store_set_paths (self->writer_store, self->run_id, message->paths[0],
                                         message->paths[1], message->paths[2], &error);
      break;
    case MESSAGE_BEST:
      ok = convolve_run_store_set_best_epoch (self->writer_store, self->run_id, message->best_epoch,
                                              message->best_val_loss, message->best_val_accuracy,
                                              &error);
      break;
    case MESSAGE_FINISH:
      ok = convolve_run_store_finish_run (self->writer_store, self->run_id, message->status,
                                          message->evaluation, message->error_message, &error);
      break;
    default:
      break;
    }
  if (!ok)
    keep_error (self, error);
}

static void
reply (ConvolveRunRecorder *self,
       Message             *message)
{
  Reply *answer = g_new0 (Reply, 1);

  g_mutex_lock (&self->lock);
  if (self->first_error != NULL && !self->error_reported)
    {
      answer->error = g_error_copy (self->first_error);
      self->error_reported = TRUE;
    }
  g_mutex_unlock (&self->lock);
  g_async_queue_push (message->reply, answer);
}

static gpointer
writer_thread (gpointer data)
{
  ConvolveRunRecorder *self = data;
  gint64 deadline = 0;   /* when the oldest pending row must be committed */
  gboolean done = FALSE;

  while (!done)
    {
      guint n_pending = self->pending_steps->len + self->pending_epochs->len;
      Message *message;

      if (n_pending == 0)
        message = g_async_queue_pop (self->queue);
      else
        {
          gint64 wait = deadline - g_get_monotonic_time ();

          message = wait > 0 ? g_async_queue_timeout_pop (self->queue, (guint64) wait) : NULL;
        }

      if (message == NULL)
        {
          commit_pending (self);
          deadline = g_get_monotonic_time () + CONVOLVE_RUN_RECORDER_INTERVAL_MS * 1000;
          continue;
        }

      switch (message->kind)
        {
        case MESSAGE_ROWS:
          if (n_pending == 0)
            deadline = g_get_monotonic_time () + CONVOLVE_RUN_RECORDER_INTERVAL_MS * 1000;
          if (message->steps != NULL)
            g_array_append_vals (self->pending_steps, message->steps->data, message->steps->len);
          if (message->epochs != NULL)
            g_array_append_vals (self->pending_epochs, message->epochs->data, message->epochs->len);
          if (self->pending_steps->len + self->pending_epochs->len >= CONVOLVE_RUN_RECORDER_BATCH_ROWS)
            commit_pending (self);
          break;
        case MESSAGE_PATHS:
        case MESSAGE_BEST:
          /* In order: the rows before it first. */
          commit_pending (self);
          apply (self, message);
          break;
        case MESSAGE_FLUSH:
          commit_pending (self);
          reply (self, message);
          break;
        case MESSAGE_FINISH:
          commit_pending (self);
          apply (self, message);
          reply (self, message);
          done = TRUE;
          break;
        }
      message_free (message);
    }
  return NULL;
}

/* Caller side ------------------------------------------------------------- */

/* The writer's own connection, so it never waits for the caller's; it
 * also holds the run's owner lock (convolve-run-store.h) until finish. */
static ConvolveRunStore *
open_writer_store (ConvolveRunStore *store,
                   GError          **error)
{
  return convolve_run_store_open_full (convolve_run_store_get_path (store),
                                       convolve_run_store_get_busy_timeout (store),
                                       error);
}

static ConvolveRunRecorder *
recorder_start (ConvolveRunStore *writer_store,
                gint64            run_id)
{
  ConvolveRunRecorder *self = g_new0 (ConvolveRunRecorder, 1);

  self->writer_store = writer_store;
  self->run_id = run_id;
  self->queue = g_async_queue_new_full ((GDestroyNotify) message_free);
  g_mutex_init (&self->lock);
  self->best_val_loss = INFINITY;
  self->pending_steps = g_array_new (FALSE, FALSE, sizeof (ConvolveHistoryStep));
  self->pending_epochs = g_array_new (FALSE, FALSE, sizeof (ConvolveHistoryEpoch));
  self->thread = g_thread_new ("convolve-run-store", writer_thread, self);
  return self;
}

ConvolveRunRecorder *
convolve_run_recorder_new (ConvolveRunStore          *store,
                           const ConvolveRunInfo     *info,
                           const ConvolveTrainConfig *config,
                           GError                   **error)
{
  ConvolveRunStore *writer_store;
  gint64 run_id;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  writer_store = open_writer_store (store, error);
  if (writer_store == NULL)
    return NULL;
  run_id = convolve_run_store_create_run (writer_store, info, config, error);
  if (run_id == 0)
    {
      convolve_run_store_unref (writer_store);
      return NULL;
    }
  return recorder_start (writer_store, run_id);
}

ConvolveRunRecorder *
convolve_run_recorder_new_for_run (ConvolveRunStore *store,
                                   gint64            run_id,
                                   GError          **error)
{
  g_autoptr(ConvolveRunRecord) run = NULL;
  ConvolveRunStore *writer_store;
  ConvolveRunRecorder *self;

  g_return_val_if_fail (store != NULL, NULL);

  writer_store = open_writer_store (store, error);
  if (writer_store == NULL)
    return NULL;
  run = convolve_run_store_get_run (writer_store, run_id, error);
  if (run == NULL || !convolve_run_store_reopen_run (writer_store, run_id, error))
    {
      convolve_run_store_unref (writer_store);
      return NULL;
    }
  self = recorder_start (writer_store, run_id);
  if (run->best_epoch > 0)
    {
      self->best_epoch = run->best_epoch;
      self->best_val_loss = isnan (run->best_val_loss) ? INFINITY : run->best_val_loss;
    }
  return self;
}

gint64
convolve_run_recorder_get_run_id (ConvolveRunRecorder *recorder)
{
  g_return_val_if_fail (recorder != NULL, 0);
  return recorder->run_id;
}

ConvolveRunStore *
_convolve_run_recorder_get_writer_store (ConvolveRunRecorder *recorder)
{
  return recorder->writer_store;
}

static void
push (ConvolveRunRecorder *self,
      Message             *message)
{
  if (self->finished)
    {
      message_free (message);
      return;
    }
  g_async_queue_push (self->queue, message);
}

/* The caller holds self->lock. Queues a BEST message when epoch beats the
 * best so far by validation loss. */
static Message *
track_best (ConvolveRunRecorder        *self,
            const ConvolveHistoryEpoch *epoch)
{
  Message *message;

  if (self->best_explicit || isnan (epoch->val_loss) || !(epoch->val_loss < self->best_val_loss))
    return NULL;
  self->best_epoch = epoch->epoch;
  self->best_val_loss = epoch->val_loss;
  message = message_new (MESSAGE_BEST);
  message->best_epoch = epoch->epoch;
  message->best_val_loss = epoch->val_loss;
  message->best_val_accuracy = epoch->val_accuracy;
  return message;
}

void
convolve_run_recorder_add_progress (ConvolveRunRecorder    *recorder,
                                    const ConvolveProgress *progress)
{
  Message *rows = NULL, *best = NULL;
  guint n_steps, n_epochs;

  g_return_if_fail (recorder != NULL);
  g_return_if_fail (progress != NULL);

  if (progress->history == NULL)
    return;
  n_steps = progress->history_n_steps;
  n_epochs = progress->history_n_epochs;

  g_mutex_lock (&recorder->lock);
  /* A new history (a resumed trainer) starts below what was seen. */
  if (n_steps < recorder->n_steps_seen)
    recorder->n_steps_seen = 0;
  if (n_epochs < recorder->n_epochs_seen)
    recorder->n_epochs_seen = 0;
  if (n_steps > recorder->n_steps_seen || n_epochs > recorder->n_epochs_seen)
    {
      rows = message_new (MESSAGE_ROWS);
      if (n_steps > recorder->n_steps_seen)
        {
          rows->steps = g_array_sized_new (FALSE, FALSE, sizeof (ConvolveHistoryStep),
                                           n_steps - recorder->n_steps_seen);
          for (guint i = recorder->n_steps_seen; i < n_steps; i++)
            g_array_append_vals (rows->steps, convolve_history_get_step (progress->history, i), 1);
        }
      if (n_epochs > recorder->n_epochs_seen)
        {
          rows->epochs = g_array_sized_new (FALSE, FALSE, sizeof (ConvolveHistoryEpoch),
                                            n_epochs - recorder->n_epochs_seen);
          for (guint i = recorder->n_epochs_seen; i < n_epochs; i++)
            {
              const ConvolveHistoryEpoch *epoch = convolve_history_get_epoch (progress->history, i);
              Message *better;

              g_array_append_vals (rows->epochs, epoch, 1);
              better = track_best (recorder, epoch);
              if (better != NULL)
                {
                  g_clear_pointer (&best, message_free);
                  best = better;
                }
            }
        }
      recorder->n_steps_seen = n_steps;
      recorder->n_epochs_seen = n_epochs;
    }
  g_mutex_unlock (&recorder->lock);

  if (rows != NULL)
    push (recorder, rows);
  if (best != NULL)
    push (recorder, best);
}

void
convolve_run_recorder_add_step (ConvolveRunRecorder       *recorder,
                                const ConvolveHistoryStep *step)
{
  Message *rows;

  g_return_if_fail (recorder != NULL);
  g_return_if_fail (step != NULL);

  rows = message_new (MESSAGE_ROWS);
  rows->steps = g_array_sized_new (FALSE, FALSE, sizeof (ConvolveHistoryStep), 1);
  g_array_append_vals (rows->steps, step, 1);
  push (recorder, rows);
}

void
convolve_run_recorder_add_epoch (ConvolveRunRecorder        *recorder,
                                 const ConvolveHistoryEpoch *epoch)
{
  Message *rows, *best;

  g_return_if_fail (recorder != NULL);
  g_return_if_fail (epoch != NULL);

  rows = message_new (MESSAGE_ROWS);
  rows->epochs = g_array_sized_new (FALSE, FALSE, sizeof (ConvolveHistoryEpoch), 1);
  g_array_append_vals (rows->epochs, epoch, 1);
  g_mutex_lock (&recorder->lock);
  best = track_best (recorder, epoch);
  g_mutex_unlock (&recorder->lock);
  push (recorder, rows);
  if (best != NULL)
    push (recorder, best);
}

void
convolve_run_recorder_set_paths (ConvolveRunRecorder *recorder,
                                 const char          *checkpoint_path,
                                 const char          *best_checkpoint_path,
                                 const char          *model_path)
{
  Message *message;

  g_return_if_fail (recorder != NULL);

  message = message_new (MESSAGE_PATHS);
  message->paths[0] = g_strdup (checkpoint_path);
  message->paths[1] = g_strdup (best_checkpoint_path);
  message->paths[2] = g_strdup (model_path);
  push (recorder, message);
}

void
convolve_run_recorder_set_best_epoch (ConvolveRunRecorder *recorder,
                                      int                  epoch,
                                      double               val_loss,
                                      double               val_accuracy)
{
  Message *message;

  g_return_if_fail (recorder != NULL);

  g_mutex_lock (&recorder->lock);
  recorder->best_explicit = TRUE;
  recorder->best_epoch = epoch;
  recorder->best_val_loss = val_loss;
  g_mutex_unlock (&recorder->lock);

  message = message_new (MESSAGE_BEST);
  message->best_epoch = epoch;
  message->best_val_loss = val_loss;
  message->best_val_accuracy = val_accuracy;
  push (recorder, message);
}

/* Sends message and waits for the writer's reply. */
static gboolean
round_trip (ConvolveRunRecorder *self,
            Message             *message,
            GError             **error)
{
  g_autoptr(GAsyncQueue) answers = g_async_queue_new ();
  Reply *answer;
  gboolean ok;

  message->reply = g_async_queue_ref (answers);
  g_async_queue_push (self->queue, message);
  answer = g_async_queue_pop (answers);
  ok = answer->error == NULL;
  if (!ok)
    g_propagate_error (error, answer->error);
  g_free (answer);
  return ok;
}

gboolean
convolve_run_recorder_flush (ConvolveRunRecorder *recorder,
                             GError             **error)
{
  g_return_val_if_fail (recorder != NULL, FALSE);

  if (recorder->finished)
    return TRUE;
  return round_trip (recorder, message_new (MESSAGE_FLUSH), error);
}

static ConvolveRunStatus
status_for_state (ConvolveTrainerState state)
{
  switch (state)
    {
    case CONVOLVE_TRAINER_FINISHED:
      return CONVOLVE_RUN_STATUS_FINISHED;
    case CONVOLVE_TRAINER_FAILED:
      return CONVOLVE_RUN_STATUS_FAILED;
    case CONVOLVE_TRAINER_CANCELLED:
    default:
      return CONVOLVE_RUN_STATUS_STOPPED;
    }
}

gboolean
convolve_run_recorder_finish (ConvolveRunRecorder      *recorder,
                              ConvolveTrainerState      state,
                              const ConvolveEvaluation *evaluation,
                              const GError             *run_error,
                              GError                  **error)
{
  Message *message;
  gboolean ok;

  g_return_val_if_fail (recorder != NULL, FALSE);

  if (recorder->finished)
    return TRUE;
  message = message_new (MESSAGE_FINISH);
  message->status = status_for_state (state);
  if (evaluation != NULL)
    message->evaluation = convolve_evaluation_ref ((ConvolveEvaluation *) evaluation);
  if (run_error != NULL)
    message->error_message = g_strdup (run_error->message);
  ok = round_trip (recorder, message, error);
  recorder->finished = TRUE;
  g_thread_join (g_steal_pointer (&recorder->thread));
  return ok;
}

GError *
convolve_run_recorder_dup_error (ConvolveRunRecorder *recorder)
{
  GError *error = NULL;

  g_return_val_if_fail (recorder != NULL, NULL);

  g_mutex_lock (&recorder->lock);
  if (recorder->first_error != NULL)
    error = g_error_copy (recorder->first_error);
  g_mutex_unlock (&recorder->lock);
  return error;
}

void
convolve_run_recorder_free (ConvolveRunRecorder *recorder)
{
  if (recorder == NULL)
    return;
  if (!recorder->finished)
    convolve_run_recorder_finish (recorder, CONVOLVE_TRAINER_CANCELLED, NULL, NULL, NULL);
  g_async_queue_unref (recorder->queue);
  g_array_unref (recorder->pending_steps);
  g_array_unref (recorder->pending_epochs);
  g_clear_error (&recorder->first_error);
  g_mutex_clear (&recorder->lock);
  convolve_run_store_unref (recorder->writer_store);
  g_free (recorder);
}
