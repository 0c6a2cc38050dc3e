/* convolve-session.c: the datasets, the current weights, the run and the
 * test-set predictions, for the app's window and its tests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-loaders.h"
#include "convolve-model-check.h"
#include "convolve-session.h"

/* Images per batch when evaluating the test set after a run. */
#define EVALUATE_BATCH 256

struct _ConvolveSession
{
  GObject              parent_instance;

  /* datasets */
  ConvolveDataset     *train;
  ConvolveDataset     *test;
  char                *dataset_path;
  GCancellable        *load_cancellable;

  /* the current weights: inference only, one image */
  ConvolveModel       *model;
  ConvolveModelMeta   *meta;
  char                *model_path;
  gboolean             dirty;

  /* the latest run */
  gboolean             starting;
  ConvolveTrainer     *trainer;
  ConvolveProgress    *progress;
  guint64              weights_version;
  gint64               trained_steps;
  GCancellable        *run_cancellable;   /* this run's snapshots and evaluation */
  gboolean             snapshot_running;
  gboolean             snapshot_again;

  /* the test set's predictions after the run */
  ConvolveEvaluation  *evaluation;
  gboolean             evaluating;

  /* what was last notified */
  ConvolveTrainerState notified_state;
  gboolean             notified_training;
};

G_DEFINE_FINAL_TYPE (ConvolveSession, convolve_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_TRAINING,
  PROP_HAS_MODEL,
  PROP_MODEL_PATH,
  PROP_DIRTY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  DATASETS_CHANGED,
  MODEL_CHANGED,
  WEIGHTS_CHANGED,
  RUN_CHANGED,
  PROGRESS,
  PREDICTIONS_CHANGED,
  ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

ConvolveSession *
convolve_session_new (void)
{
  return g_object_new (CONVOLVE_TYPE_SESSION, NULL);
}

static gboolean
check_idle (ConvolveSession  *self,
            const char       *message,
            GError          **error)
{
  if (!convolve_session_is_training (self))
    return TRUE;
  g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY, message);
  return FALSE;
}

/* Notifies "state" and "training" when they changed since last time. */
static void
update_state (ConvolveSession *self)
{
  ConvolveTrainerState state = convolve_session_get_state (self);
  gboolean training = convolve_session_is_training (self);

  if (state != self->notified_state)
    {
      self->notified_state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  if (training != self->notified_training)
    {
      self->notified_training = training;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRAINING]);
    }
}

static void
set_dirty (ConvolveSession *self,
           gboolean         dirty)
{
  if (self->dirty == dirty)
    return;
  self->dirty = dirty;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIRTY]);
}

static void
set_model_path (ConvolveSession *self,
                const char      *path)
{
  if (g_strcmp0 (self->model_path, path) == 0)
    return;
  g_free (self->model_path);
  self->model_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_PATH]);
}

/* Background work that failed, in a translated sentence. */
static void G_GNUC_PRINTF (2, 3)
emit_error (ConvolveSession *self,
            const char      *format,
            ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_signal_emit (self, signals[ERROR], 0, message);
}

/* Swaps in new current weights (owned). */
static void
replace_weights (ConvolveSession *self,
                 ConvolveModel   *model)
{
  gboolean had_model = self->model != NULL;

  g_clear_pointer (&self->model, convolve_model_free);
  self->model = model;
  if (had_model != (model != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_MODEL]);
  g_signal_emit (self, signals[WEIGHTS_CHANGED], 0);
}

static void
clear_evaluation (ConvolveSession *self)
{
  gboolean had = self->evaluation != NULL || self->evaluating;

  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  self->evaluating = FALSE;
  if (had)
    g_signal_emit (self, signals[PREDICTIONS_CHANGED], 0);
}

/* ---- datasets ------------------------------------------------------------ */

const char * const *
convolve_session_get_class_names (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);

  if (self->train != NULL)
    return convolve_dataset_get_class_names (self->train);
  if (self->meta != NULL)
    return (const char * const *) self->meta->class_names;
  return NULL;
}

static ConvolveModel *
create_model (const char            *spec_text,
              const ConvolveDataset *train,
              guint64                seed,
              GError               **error)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  ConvolveShape shape = convolve_dataset_get_shape (train);

  if (spec_text == NULL || spec_text[0] == '\0')
    spec = convolve_model_spec_new_tutorial (convolve_dataset_get_n_classes (train));
  else
    spec = convolve_model_spec_parse (spec_text, error);
  if (spec == NULL)
    return NULL;
  return convolve_model_new (spec, &shape, 1, seed, error);
}

/* Installs the datasets, and model (owned, nullable) when the current one
 * does not fit them. */
static gboolean
install_datasets (ConvolveSession  *self,
                  ConvolveDataset  *train,
                  ConvolveDataset  *test,
                  const char       *path,
                  ConvolveModel    *model,
                  const char       *spec_text,
                  guint64           seed,
                  GError          **error)
{
  g_autoptr(ConvolveModel) fresh = model;
  gboolean fits = self->model != NULL && convolve_check_model_for_dataset (self->model, train, NULL);

  if (!fits && fresh == NULL)
    {
      fresh = create_model (spec_text, train, seed, error);
      if (fresh == NULL)
        return FALSE;
    }

  g_clear_pointer (&self->train, convolve_dataset_unref);
  g_clear_pointer (&self->test, convolve_dataset_unref);
  self->train = convolve_dataset_ref (train);
  self->test = test != NULL ? convolve_dataset_ref (test) : NULL;
  g_free (self->dataset_path);
  self->dataset_path = g_strdup (path);
  /* The old test set's predictions describe other images. */
  clear_evaluation (self);
  g_signal_emit (self, signals[DATASETS_CHANGED], 0);

  /* A model that fits keeps its run and its plots. */
  if (!fits)
    convolve_session_set_model (self, g_steal_pointer (&fresh), NULL, NULL, NULL);
  return TRUE;
}

gboolean
convolve_session_set_datasets (ConvolveSession  *self,
                               ConvolveDataset  *train,
                               ConvolveDataset  *test,
                               const char       *path,
                               const char       *spec_text,
                               guint64           seed,
                               GError          **error)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);
  g_return_val_if_fail (train != NULL, FALSE);

  if (!check_idle (self, _("Stop training before opening another dataset"), error))
    return FALSE;
  return install_datasets (self, train, test, path, NULL, spec_text, seed, error);
}

typedef struct {
  char            *path;
  char            *spec_text;
  guint64          seed;
  gboolean         have_model;
  ConvolveShape    model_input;
  int              model_classes;

  ConvolveDataset *train;
  ConvolveDataset *test;
  ConvolveModel   *model;      /* a new model when the current one does not fit */
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->path);
  g_free (data->spec_text);
  g_clear_pointer (&data->train, convolve_dataset_unref);
  g_clear_pointer (&data->test, convolve_dataset_unref);
  g_clear_pointer (&data->model, convolve_model_free);
  g_free (data);
}

static void
load_dataset_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;

  if (!convolve_dataset_load_dir (data->path, &data->train, &data->test, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* The new model, if one is needed, is made here: initialising millions
   * of weights would stall the main loop. */
  if (!data->have_model ||
      !convolve_check_input_for_dataset (data->model_input, data->model_classes, data->train, NULL))
    {
      data->model = create_model (data->spec_text, data->train, data->seed, &error);
      if (data->model == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  g_task_return_boolean (task, TRUE);
}

static void
load_dataset_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  GTask *outer = user_data;
  GTask *task = G_TASK (result);
  LoadData *data = g_task_get_task_data (task);
  GError *error = NULL;

  /* Only the newest load counts. */
  if (g_task_get_cancellable (task) == self->load_cancellable)
    g_clear_object (&self->load_cancellable);
  else if (!g_task_had_error (task))
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("A newer dataset replaced this one"));
      g_object_unref (outer);
      return;
    }

  if (!g_task_propagate_boolean (task, &error) ||
      !check_idle (self, _("Stop training before opening another dataset"), &error) ||
      !install_datasets (self, data->train, data->test, data->path, g_steal_pointer (&data->model),
                         data->spec_text, data->seed, &error))
    g_task_return_error (outer, error);
  else
    g_task_return_boolean (outer, TRUE);
  g_object_unref (outer);
}

void
convolve_session_open_dataset_async (ConvolveSession     *self,
                                     const char          *path,
                                     const char          *spec_text,
                                     guint64              seed,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GTask *outer;
  GError *error = NULL;
  LoadData *data;

  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, convolve_session_open_dataset_async);
  if (!check_idle (self, _("Stop training before opening another dataset"), &error))
    {
      g_task_return_error (outer, error);
      g_object_unref (outer);
      return;
    }

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  data = g_new0 (LoadData, 1);
  data->path = g_strdup (path);
  data->spec_text = g_strdup (spec_text);
  data->seed = seed;
  if (self->model != NULL)
    {
      data->have_model = TRUE;
      data->model_input = convolve_model_get_input (self->model);
      data->model_classes = convolve_model_get_n_classes (self->model);
    }

  task = g_task_new (self, self->load_cancellable, load_dataset_cb, outer);
  g_task_set_name (task, "convolve-load-dataset");
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_dataset_thread);
}

gboolean
convolve_session_open_dataset_finish (ConvolveSession  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_session_open_dataset_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
convolve_session_is_loading (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);
  return self->load_cancellable != NULL;
}

ConvolveDataset *
convolve_session_get_train (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->train;
}

ConvolveDataset *
convolve_session_get_test (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->test;
}

const char *
convolve_session_get_dataset_path (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->dataset_path;
}

/* ---- the model ----------------------------------------------------------- */

gboolean
convolve_session_has_model (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);
  return self->model != NULL;
}

ConvolveModel *
convolve_session_get_model (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->model;
}

const ConvolveModelMeta *
convolve_session_get_model_meta (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->meta;
}

ConvolveModel *
convolve_session_dup_model (ConvolveSession  *self,
                            int               max_batch,
                            GError          **error)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);

  if (self->trainer != NULL)
    return convolve_trainer_get_weights_snapshot (self->trainer, max_batch, error);
  if (self->model != NULL)
    return convolve_model_copy (self->model, max_batch, error);

  g_set_error_literal (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("There is no model yet: open a dataset first"));
  return NULL;
}

gboolean
convolve_session_set_model (ConvolveSession    *self,
                            ConvolveModel      *model,
                            ConvolveModelMeta  *meta,
                            const char         *path,
                            GError            **error)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);

  if (!check_idle (self, _("Stop training before opening a model"), error))
    {
      convolve_model_free (model);
      convolve_model_meta_free (meta);
      return FALSE;
    }

  convolve_session_clear_run (self);
  g_clear_pointer (&self->meta, convolve_model_meta_free);
  self->meta = meta;
  set_model_path (self, path);
  set_dirty (self, model != NULL && path == NULL);
  replace_weights (self, model);
  g_signal_emit (self, signals[MODEL_CHANGED], 0);
  return TRUE;
}

gboolean
convolve_session_new_model (ConvolveSession  *self,
                            const char       *spec_text,
                            guint64           seed,
                            GError          **error)
{
  ConvolveModel *model;

  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);

  if (self->train == NULL)
    {
      g_set_error_literal (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                           _("There is no model yet: open a dataset first"));
      return FALSE;
    }
  if (!check_idle (self, _("Stop training before opening a model"), error))
    return FALSE;
  model = create_model (spec_text, self->train, seed, error);
  if (model == NULL)
    return FALSE;
  return convolve_session_set_model (self, model, NULL, NULL, error);
}

typedef struct {
  char              *path;
  ConvolveModel     *model;
  ConvolveModelMeta *meta;
} FileData;

static void
file_data_free (FileData *data)
{
  g_free (data->path);
  g_clear_pointer (&data->model, convolve_model_free);
  g_clear_pointer (&data->meta, convolve_model_meta_free);
  g_free (data);
}

static void
open_model_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  FileData *data = task_data;
  GError *error = NULL;

  data->model = convolve_model_load (data->path, 1, &data->meta, NULL, &error);
  if (data->model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
convolve_session_open_model_async (ConvolveSession     *self,
                                   const char          *path,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FileData *data;

  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  data = g_new0 (FileData, 1);
  data->path = g_strdup (path);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, convolve_session_open_model_async);
  g_task_set_name (task, "convolve-open-model");
  g_task_set_task_data (task, data, (GDestroyNotify) file_data_free);
  g_task_run_in_thread (task, open_model_thread);
}

gboolean
convolve_session_open_model_finish (ConvolveSession  *self,
                                    GAsyncResult     *result,
                                    GError          **error)
{
  FileData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_session_open_model_async, FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;

  /* The checks happen now, against what the session holds now. */
  data = g_task_get_task_data (G_TASK (result));
  if (!check_idle (self, _("Stop training before opening a model"), error))
    return FALSE;
  if (self->train != NULL && !convolve_check_model_for_dataset (data->model, self->train, error))
    return FALSE;
  return convolve_session_set_model (self, g_steal_pointer (&data->model),
                                     g_steal_pointer (&data->meta), data->path, error);
}

/* What a saved file says about the data the model was trained on: the
 * open dataset's names and scaling, else what the opened file said. */
static ConvolveModelMeta *
meta_for_dataset (ConvolveSession *self)
{
  ConvolveModelMeta *meta = convolve_model_meta_new ();

  if (self->meta != NULL)
    {
      meta->epoch = self->meta->epoch;
      meta->step = self->meta->step;
      meta->input_scale = self->meta->input_scale;
      meta->input_offset = self->meta->input_offset;
      meta->class_names = g_strdupv (self->meta->class_names);
      meta->dataset = g_strdup (self->meta->dataset);
    }
  if (self->train != NULL)
    {
      g_strfreev (meta->class_names);
      meta->class_names = g_strdupv ((char **) convolve_dataset_get_class_names (self->train));
      g_free (meta->dataset);
      meta->dataset = g_strdup (convolve_dataset_get_name (self->train));
      meta->input_scale = 1.0f / 255.0f;
      meta->input_offset = 0.0f;
    }
  return meta;
}

static void
save_model_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  FileData *data = task_data;
  GError *error = NULL;

  if (convolve_model_save (data->model, data->meta, NULL, data->path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
model_saved (ConvolveSession *self,
             GTask           *task,
             GError          *error)
{
  FileData *data = g_task_get_task_data (task);

  if (error != NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  set_model_path (self, data->path);
  set_dirty (self, FALSE);
  g_task_return_boolean (task, TRUE);
}

static void
trainer_saved_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ConvolveSession *self = g_task_get_source_object (task);
  GError *error = NULL;

  convolve_trainer_save_finish (CONVOLVE_TRAINER (source), result, &error);
  model_saved (self, task, error);
}

static void
model_file_saved_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  model_saved (CONVOLVE_SESSION (source), task, error);
}

void
convolve_session_save_model_async (ConvolveSession     *self,
                                   const char          *path,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task;
  FileData *data;
  GError *error = NULL;

  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  data = g_new0 (FileData, 1);
  data->path = g_strdup (path);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, convolve_session_save_model_async);
  g_task_set_task_data (task, data, (GDestroyNotify) file_data_free);

  if (self->trainer != NULL)
    {
      /* The trainer saves between two steps, with the dataset's metadata. */
      convolve_trainer_save_async (self->trainer, path, FALSE, cancellable, trainer_saved_cb, task);
      return;
    }

  data->model = convolve_session_dup_model (self, 1, &error);
  if (data->model == NULL)
    {
      model_saved (self, task, error);
      g_object_unref (task);
      return;
    }
  data->meta = meta_for_dataset (self);
  {
    g_autoptr(GTask) worker = g_task_new (self, cancellable, model_file_saved_cb, task);

    g_task_set_name (worker, "convolve-save-model");
    g_task_set_task_data (worker, data, NULL);
    g_task_run_in_thread (worker, save_model_thread);
  }
}

gboolean
convolve_session_save_model_finish (ConvolveSession  *self,
                                    GAsyncResult     *result,
                                    GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_session_save_model_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
convolve_session_get_model_path (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->model_path;
}

gboolean
convolve_session_get_dirty (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);
  return self->dirty;
}

/* ---- weight snapshots ---------------------------------------------------- */

typedef struct {
  ConvolveTrainer *trainer;
  ConvolveModel   *model;
} SnapshotData;

static void
snapshot_data_free (SnapshotData *data)
{
  g_clear_object (&data->trainer);
  g_clear_pointer (&data->model, convolve_model_free);
  g_free (data);
}

static void
snapshot_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  SnapshotData *data = task_data;
  GError *error = NULL;

  data->model = convolve_trainer_get_weights_snapshot (data->trainer, 1, &error);
  if (data->model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void request_snapshot (ConvolveSession *self);

static void
snapshot_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  SnapshotData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  /* A snapshot of a run that has since been replaced is stale. */
  if (data->trainer != self->trainer)
    return;
  self->snapshot_running = FALSE;
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        emit_error (self, _("Could not copy the weights for prediction: %s"), error->message);
      return;
    }

  replace_weights (self, g_steal_pointer (&data->model));
  if (self->snapshot_again)
    {
      self->snapshot_again = FALSE;
      request_snapshot (self);
    }
}

/* Copies the trainer's latest weights off the main thread; at most one
 * copy runs, and a request meanwhile makes one more afterwards. */
static void
request_snapshot (ConvolveSession *self)
{
  g_autoptr(GTask) task = NULL;
  SnapshotData *data;

  if (self->snapshot_running)
    {
      self->snapshot_again = TRUE;
      return;
    }

  self->snapshot_running = TRUE;
  data = g_new0 (SnapshotData, 1);
  data->trainer = g_object_ref (self->trainer);
  task = g_task_new (self, self->run_cancellable, snapshot_cb, NULL);
  g_task_set_name (task, "convolve-weights-snapshot");
  g_task_set_task_data (task, data, (GDestroyNotify) snapshot_data_free);
  g_task_run_in_thread (task, snapshot_thread);
}

/* ---- predictions on the test set ----------------------------------------- */

typedef struct {
  ConvolveSession *session;
  ConvolveTrainer *trainer;
  ConvolveDataset *dataset;
} EvaluateData;

static void
evaluate_data_free (EvaluateData *data)
{
  g_clear_object (&data->session);
  g_clear_object (&data->trainer);
  g_clear_pointer (&data->dataset, convolve_dataset_unref);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EvaluateData, evaluate_data_free)

static gboolean
evaluation_is_current (EvaluateData *data)
{
  return data->trainer == data->session->trainer && data->dataset == data->session->test;
}

static void
evaluate_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(EvaluateData) data = user_data;
  ConvolveSession *self = data->session;
  g_autoptr(GError) error = NULL;
  ConvolveEvaluation *evaluation = convolve_evaluate_finish (result, &error);

  if (!evaluation_is_current (data))
    {
      g_clear_pointer (&evaluation, convolve_evaluation_free);
      return;
    }
  self->evaluating = FALSE;
  if (evaluation == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    emit_error (self, _("Could not evaluate the test set: %s"), error->message);
  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  self->evaluation = evaluation;
  g_signal_emit (self, signals[PREDICTIONS_CHANGED], 0);
}

static void
evaluate_snapshot_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  EvaluateData *data = task_data;
  GError *error = NULL;
  ConvolveModel *model;

  model = convolve_trainer_get_weights_snapshot (data->trainer, EVALUATE_BATCH, &error);
  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, (GDestroyNotify) convolve_model_free);
}

static void
evaluate_snapshot_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  EvaluateData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  ConvolveModel *model = g_task_propagate_pointer (G_TASK (result), &error);
  EvaluateData *next;

  if (!evaluation_is_current (data))
    {
      g_clear_pointer (&model, convolve_model_free);
      return;
    }
  if (model == NULL)
    {
      self->evaluating = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        emit_error (self, _("Could not evaluate the test set: %s"), error->message);
      return;
    }

  next = g_new0 (EvaluateData, 1);
  next->session = g_object_ref (self);
  next->trainer = g_object_ref (data->trainer);
  next->dataset = convolve_dataset_ref (data->dataset);
  convolve_evaluate_async (model, data->dataset, 0, self->run_cancellable, evaluate_done_cb, next);
}

/* The run's final weights on the whole test set: the copy is made off the
 * main thread, then convolve_evaluate_async does the rest. */
static void
evaluate_test_set (ConvolveSession *self)
{
  g_autoptr(GTask) task = NULL;
  EvaluateData *data;

  if (self->test == NULL || convolve_dataset_get_n_images (self->test) == 0)
    return;
  if (self->model == NULL || !convolve_check_model_for_dataset (self->model, self->test, NULL))
    return;

  self->evaluating = TRUE;
  data = g_new0 (EvaluateData, 1);
  data->session = g_object_ref (self);
  data->trainer = g_object_ref (self->trainer);
  data->dataset = convolve_dataset_ref (self->test);
  task = g_task_new (self, self->run_cancellable, evaluate_snapshot_cb, NULL);
  g_task_set_name (task, "convolve-evaluation-snapshot");
  g_task_set_task_data (task, data, (GDestroyNotify) evaluate_data_free);
  g_task_run_in_thread (task, evaluate_snapshot_thread);
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
  return self->evaluating;
}

/* ---- the run ------------------------------------------------------------- */

static void
progress_cb (ConvolveTrainer  *trainer,
             ConvolveProgress *progress,
             ConvolveSession  *self)
{
  if (trainer != self->trainer)
    return;

  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->progress = convolve_progress_ref (progress);
  if (progress->global_step != self->trained_steps)
    {
      self->trained_steps = progress->global_step;
      set_dirty (self, TRUE);
    }

  g_signal_emit (self, signals[PROGRESS], 0, progress);

  if (progress->weights_version != self->weights_version)
    {
      self->weights_version = progress->weights_version;
      request_snapshot (self);
    }

  if (convolve_trainer_state_is_final (progress->state) &&
      progress->state != CONVOLVE_TRAINER_FAILED)
    evaluate_test_set (self);

  update_state (self);
}

/* Drops the run without telling anyone. */
static void
forget_run (ConvolveSession *self)
{
  if (self->trainer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      convolve_trainer_stop (self->trainer);
      g_clear_object (&self->trainer);
    }
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  g_clear_object (&self->run_cancellable);
  self->snapshot_running = FALSE;
  self->snapshot_again = FALSE;
  g_clear_pointer (&self->progress, convolve_progress_unref);
  self->weights_version = 0;
  self->trained_steps = 0;
  clear_evaluation (self);
}

void
convolve_session_clear_run (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));

  forget_run (self);
  g_signal_emit (self, signals[RUN_CHANGED], 0);
  update_state (self);
}

typedef struct {
  ConvolveTrainConfig  config;
  ConvolveTrainer     *source;   /* the previous run, whose weights go on */
  ConvolveModel       *model;    /* else the current weights (borrowed) */
  ConvolveDataset     *train;
  ConvolveDataset     *test;
  ConvolveTrainer     *trainer;
} StartData;

static void
start_data_free (StartData *data)
{
  g_clear_object (&data->source);
  g_clear_pointer (&data->train, convolve_dataset_unref);
  g_clear_pointer (&data->test, convolve_dataset_unref);
  g_clear_object (&data->trainer);
  g_free (data);
}

/* Building a trainer copies the weights a few times (tens of megabytes for
 * the tutorial model), so it happens here; only starting the trainer's own
 * thread happens on the main thread. */
static void
start_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  StartData *data = task_data;
  GError *error = NULL;
  ConvolveModel *model;

  /* The current weights stay put while starting: nothing replaces them
   * before the callback (the session refuses while starting, and without
   * a previous run no snapshot arrives). */
  if (data->source != NULL)
    model = convolve_trainer_get_weights_snapshot (data->source, data->config.batch_size, &error);
  else
    model = convolve_model_copy (data->model, data->config.batch_size, &error);
  if (model != NULL)
    data->trainer = convolve_trainer_new (model, NULL, data->train, data->test, &data->config, &error);

  if (data->trainer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
start_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  ConvolveSession *self = CONVOLVE_SESSION (source);
  g_autoptr(GTask) outer = user_data;
  StartData *data = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  self->starting = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error) ||
      !convolve_trainer_start (data->trainer, &error))
    {
      update_state (self);
      g_task_return_error (outer, error);
      return;
    }

  /* The new run replaces the old one; the current weights stay until its
   * first snapshot. */
  forget_run (self);
  self->trainer = g_steal_pointer (&data->trainer);
  self->run_cancellable = g_cancellable_new ();
  self->progress = convolve_trainer_get_progress (self->trainer);
  g_signal_connect (self->trainer, "progress", G_CALLBACK (progress_cb), self);
  g_signal_emit (self, signals[RUN_CHANGED], 0);
  update_state (self);
  g_task_return_boolean (outer, TRUE);
}

void
convolve_session_train_async (ConvolveSession           *self,
                              const ConvolveTrainConfig *config,
                              GAsyncReadyCallback        callback,
                              gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  GTask *outer;
  StartData *data;
  GError *error = NULL;

  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (config != NULL);

  outer = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (outer, convolve_session_train_async);
  if (!check_idle (self, _("The model is already training"), &error))
    {
      g_task_return_error (outer, error);
      g_object_unref (outer);
      return;
    }
  if (self->train == NULL || self->model == NULL)
    {
      g_task_return_new_error (outer, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT,
                               "%s", _("There is no model yet: open a dataset first"));
      g_object_unref (outer);
      return;
    }

  data = g_new0 (StartData, 1);
  data->config = *config;
  data->train = convolve_dataset_ref (self->train);
  data->test = self->test != NULL ? convolve_dataset_ref (self->test) : NULL;
  if (self->trainer != NULL)
    data->source = g_object_ref (self->trainer);
  else
    data->model = self->model;

  self->starting = TRUE;
  update_state (self);

  task = g_task_new (self, NULL, start_cb, outer);
  g_task_set_name (task, "convolve-start-training");
  g_task_set_task_data (task, data, (GDestroyNotify) start_data_free);
  g_task_run_in_thread (task, start_thread);
}

gboolean
convolve_session_train_finish (ConvolveSession  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_session_train_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
convolve_session_pause (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  if (self->trainer != NULL)
    convolve_trainer_pause (self->trainer);
}

void
convolve_session_resume (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  if (self->trainer != NULL)
    convolve_trainer_resume (self->trainer);
}

void
convolve_session_stop (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  if (self->trainer != NULL)
    convolve_trainer_stop (self->trainer);
}

void
convolve_session_shutdown (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  if (self->trainer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      convolve_trainer_stop (self->trainer);
      /* Stopping takes effect within one batch; wait so no thread outlives us. */
      convolve_trainer_join (self->trainer, NULL);
    }
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
}

gboolean
convolve_session_is_training (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);

  return self->starting ||
         (self->trainer != NULL &&
          !convolve_trainer_state_is_final (convolve_session_get_state (self)));
}

gboolean
convolve_session_is_busy (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);

  return self->load_cancellable != NULL || self->starting ||
         self->snapshot_running || self->evaluating;
}

ConvolveTrainerState
convolve_session_get_state (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), CONVOLVE_TRAINER_IDLE);

  /* What the main thread was told, so views agree with each other. */
  if (self->progress != NULL)
    return self->progress->state;
  if (self->trainer != NULL)
    return convolve_trainer_get_state (self->trainer);
  return CONVOLVE_TRAINER_IDLE;
}

ConvolveProgress *
convolve_session_get_progress (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->progress;
}

ConvolveHistory *
convolve_session_get_history (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->trainer != NULL ? convolve_trainer_get_history (self->trainer) : NULL;
}

ConvolveTrainer *
convolve_session_get_trainer (ConvolveSession *self)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);
  return self->trainer;
}

/* ---- GObject ------------------------------------------------------------- */

static void
convolve_session_dispose (GObject *object)
{
  ConvolveSession *self = CONVOLVE_SESSION (object);

  convolve_session_shutdown (self);
  g_clear_object (&self->trainer);
  g_clear_object (&self->run_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_pointer (&self->progress, convolve_progress_unref);
  g_clear_pointer (&self->evaluation, convolve_evaluation_free);

  G_OBJECT_CLASS (convolve_session_parent_class)->dispose (object);
}

static void
convolve_session_finalize (GObject *object)
{
  ConvolveSession *self = CONVOLVE_SESSION (object);

  g_clear_pointer (&self->train, convolve_dataset_unref);
  g_clear_pointer (&self->test, convolve_dataset_unref);
  g_free (self->dataset_path);
  g_clear_pointer (&self->model, convolve_model_free);
  g_clear_pointer (&self->meta, convolve_model_meta_free);
  g_free (self->model_path);

  G_OBJECT_CLASS (convolve_session_parent_class)->finalize (object);
}

static void
convolve_session_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  ConvolveSession *self = CONVOLVE_SESSION (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, convolve_session_get_state (self));
      break;
    case PROP_TRAINING:
      g_value_set_boolean (value, convolve_session_is_training (self));
      break;
    case PROP_HAS_MODEL:
      g_value_set_boolean (value, self->model != NULL);
      break;
    case PROP_MODEL_PATH:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_DIRTY:
      g_value_set_boolean (value, self->dirty);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_session_class_init (ConvolveSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = convolve_session_dispose;
  object_class->finalize = convolve_session_finalize;
  object_class->get_property = convolve_session_get_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       CONVOLVE_TYPE_TRAINER_STATE, CONVOLVE_TRAINER_IDLE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TRAINING] =
    g_param_spec_boolean ("training", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_HAS_MODEL] =
    g_param_spec_boolean ("has-model", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MODEL_PATH] =
    g_param_spec_string ("model-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DIRTY] =
    g_param_spec_boolean ("dirty", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[DATASETS_CHANGED] =
    g_signal_new ("datasets-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[MODEL_CHANGED] =
    g_signal_new ("model-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[WEIGHTS_CHANGED] =
    g_signal_new ("weights-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[RUN_CHANGED] =
    g_signal_new ("run-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  CONVOLVE_TYPE_PROGRESS | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[PREDICTIONS_CHANGED] =
    g_signal_new ("predictions-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
convolve_session_init (ConvolveSession *self)
{
  self->notified_state = CONVOLVE_TRAINER_IDLE;
}
