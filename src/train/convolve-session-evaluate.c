/* convolve-session-evaluate.c: the test set's predictions. While a run
 * trains, each epoch's validation is a whole evaluation that arrives with
 * the progress, so following it costs nothing. Otherwise (a model opened,
 * a run stopped mid-epoch) the session evaluates the current weights
 * itself: the weights are copied off the main thread, convolve_evaluate_async
 * does the rest, and a newer request (or a newer epoch) supersedes it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-model-check.h"
#include "convolve-session-private.h"

/* Images per batch when the session evaluates. */
#define EVALUATE_BATCH 256
/* How often the fraction done is told while the session evaluates. */
#define FRACTION_INTERVAL_MS 100

/* Written by the evaluating thread, read by the main one. */
typedef struct {
  gint done;
  gint total;
} Counter;

typedef struct {
  ConvolveSession *session;
  guint            serial;
  ConvolveTrainer *trainer;   /* the weights come from here, */
  ConvolveModel   *model;     /* or from this private copy */
  ConvolveDataset *dataset;
  Counter         *counter;   /* atomic rc box */
} Request;

static void
request_free (Request *request)
{
  g_clear_object (&request->session);
  g_clear_object (&request->trainer);
  g_clear_pointer (&request->model, convolve_model_free);
  g_clear_pointer (&request->dataset, convolve_dataset_unref);
  g_clear_pointer (&request->counter, g_atomic_rc_box_release);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_free)

static void
notify_evaluating (ConvolveSession *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_EVALUATING]);
  g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_EVALUATION_FRACTION]);
}

static void
set_fraction (ConvolveSession *self,
              double           fraction)
{
  if (self->evaluation_fraction == fraction)
    return;
  self->evaluation_fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_EVALUATION_FRACTION]);
}

/* Stops the session's own evaluation, if one is under way. */
static void
cancel_own (ConvolveSession *self)
{
  self->evaluation_serial++;
  if (self->evaluation_cancellable != NULL)
    g_cancellable_cancel (self->evaluation_cancellable);
  g_clear_object (&self->evaluation_cancellable);
  g_clear_handle_id (&self->evaluation_timeout, g_source_remove);
  if (self->evaluating)
    {
      self->evaluating = FALSE;
      notify_evaluating (self);
    }
}

static void
install (ConvolveSession    *self,
         ConvolveEvaluation *evaluation)
{
  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  self->evaluation = evaluation;
  g_signal_emit (self, _convolve_session_signals[PREDICTIONS_CHANGED], 0);
}

void
_convolve_session_clear_evaluation (ConvolveSession *self)
{
  gboolean had = self->evaluation != NULL || self->evaluating;

  cancel_own (self);
  if (self->validating)
    {
      self->validating = FALSE;
      notify_evaluating (self);
    }
  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  if (had)
    g_signal_emit (self, _convolve_session_signals[PREDICTIONS_CHANGED], 0);
}

void
_convolve_session_dispose_evaluation (ConvolveSession *self)
{
  self->evaluation_serial++;
  if (self->evaluation_cancellable != NULL)
    g_cancellable_cancel (self->evaluation_cancellable);
  g_clear_object (&self->evaluation_cancellable);
  g_clear_handle_id (&self->evaluation_timeout, g_source_remove);
  g_clear_pointer (&self->evaluation_counter, g_atomic_rc_box_release);
}

static void
finish (ConvolveSession    *self,
        ConvolveEvaluation *evaluation,
        const GError       *error)
{
  g_clear_object (&self->evaluation_cancellable);
  g_clear_handle_id (&self->evaluation_timeout, g_source_remove);
  self->evaluating = FALSE;
  notify_evaluating (self);

  if (evaluation != NULL)
    install (self, evaluation);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _convolve_session_emit_error (self, _("Could not evaluate the test set: %s"), error->message);
}

static void
count_progress (guint    done,
                guint    total,
                gpointer user_data)
{
  Counter *counter = user_data;

  g_atomic_int_set (&counter->total, (gint) total);
  g_atomic_int_set (&counter->done, (gint) done);
}

static gboolean
fraction_tick (gpointer user_data)
{
  ConvolveSession *self = user_data;
  Counter *counter = self->evaluation_counter;
  gint total = counter != NULL ? g_atomic_int_get (&counter->total) : 0;

  if (total > 0)
    set_fraction (self, (double) g_atomic_int_get (&counter->done) / total);
  return G_SOURCE_CONTINUE;
}

static void
evaluated_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  ConvolveSession *self = request->session;
  g_autoptr(GError) error = NULL;
  ConvolveEvaluation *evaluation = convolve_evaluate_finish (result, &error);

  if (request->serial != self->evaluation_serial)
    {
      g_clear_pointer (&evaluation, convolve_evaluation_free);
      return;
    }
  finish (self, evaluation, error);
}

static void
copy_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Request *request = task_data;
  GError *error = NULL;
  ConvolveModel *model;

  if (request->trainer != NULL)
    model = convolve_trainer_get_weights_snapshot (request->trainer, EVALUATE_BATCH, &error);
  else
    model = convolve_model_copy (request->model, EVALUATE_BATCH, &error);
  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, (GDestroyNotify) convolve_model_free);
}

static void
copied_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  Request *request = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  ConvolveModel *model = g_task_propagate_pointer (G_TASK (result), &error);
  Request *next;

  if (request->serial != self->evaluation_serial)
    {
      g_clear_pointer (&model, convolve_model_free);
      return;
    }
  if (model == NULL)
    {
      finish (self, NULL, error);
      return;
    }

  next = g_new0 (Request, 1);
  next->session = g_object_ref (self);
  next->serial = request->serial;
  next->dataset = convolve_dataset_ref (request->dataset);
  next->counter = g_atomic_rc_box_acquire (request->counter);
  convolve_evaluate_async (model, next->dataset, 0, count_progress, next->counter,
                           self->evaluation_cancellable, evaluated_cb, next);
}

void
convolve_session_evaluate (ConvolveSession *self)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (CONVOLVE_IS_SESSION (self));

  cancel_own (self);
  if (self->test == NULL || convolve_dataset_get_n_images (self->test) == 0 ||
      self->model == NULL || !convolve_check_model_for_dataset (self->model, self->test, NULL))
    return;

  request = g_new0 (Request, 1);
  request->session = g_object_ref (self);
  request->serial = self->evaluation_serial;
  request->dataset = convolve_dataset_ref (self->test);
  request->counter = g_atomic_rc_box_new0 (Counter);
  /* The trainer's copy is thread-safe; without one the current weights
   * are copied here (a plain memcpy: they hold no gradients), because
   * the main thread may replace them meanwhile. */
  if (self->trainer != NULL)
    request->trainer = g_object_ref (self->trainer);
  else
    {
      g_autoptr(GError) error = NULL;

      request->model = convolve_model_copy (self->model, 1, &error);
      if (request->model == NULL)
        {
          request_free (request);
          _convolve_session_emit_error (self, _("Could not evaluate the test set: %s"), error->message);
          return;
        }
    }

  self->evaluating = TRUE;
  self->evaluation_fraction = 0.0;
  self->evaluation_cancellable = g_cancellable_new ();
  g_clear_pointer (&self->evaluation_counter, g_atomic_rc_box_release);
  self->evaluation_counter = g_atomic_rc_box_acquire (request->counter);
  self->evaluation_timeout = g_timeout_add (FRACTION_INTERVAL_MS, fraction_tick, self);
  notify_evaluating (self);

  task = g_task_new (self, self->evaluation_cancellable, copied_cb, NULL);
  g_task_set_name (task, "convolve-evaluation-copy");
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_task_run_in_thread (task, copy_thread);
}

void
_convolve_session_evaluation_progress (ConvolveSession  *self,
                                       ConvolveProgress *progress)
{
  gboolean validating = progress->validating && !convolve_trainer_state_is_final (progress->state);

  if (validating != self->validating)
    {
      self->validating = validating;
      notify_evaluating (self);
    }
  if (validating && !self->evaluating)
    set_fraction (self, progress->validation_fraction);

  /* A new epoch's evaluation supersedes whatever the session had. */
  if (progress->evaluation != NULL && progress->evaluation != self->evaluation)
    {
      cancel_own (self);
      install (self, convolve_evaluation_ref (progress->evaluation));
    }

  /* A run stopped mid-epoch has weights no evaluation has seen yet. */
  if (progress->state == CONVOLVE_TRAINER_CANCELLED ||
      (progress->state == CONVOLVE_TRAINER_FINISHED && progress->evaluation == NULL))
    convolve_session_evaluate (self);
}

const ConvolveEvaluation *
convolve_session_get_evaluation (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->evaluation;
}

gboolean
convolve_session_is_evaluating (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);
  return self->evaluating || self->validating;
}

double
convolve_session_get_evaluation_fraction (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), -1.0);
  return convolve_session_is_evaluating (self) ? self->evaluation_fraction : -1.0;
}
