/* convolve-session.c: the datasets, the current weights, the run and the
 * test-set predictions, for the app's window and its tests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <string.h>

#include "convolve-loaders.h"
#include "convolve-model-check.h"
#include "convolve-session-private.h"

G_DEFINE_FINAL_TYPE (ConvolveSession, convolve_session, G_TYPE_OBJECT)

GParamSpec *_convolve_session_properties[N_PROPS];

guint _convolve_session_signals[N_SIGNALS];

ConvolveSession *
convolve_session_new (void)
{
  return g_object_new (CONVOLVE_TYPE_SESSION, NULL);
}

gboolean
_convolve_session_check_idle (ConvolveSession  *self,
                              const char       *message,
                              GError          **error)
{
  if (!convolve_session_is_training (self))
    return TRUE;
  g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY, message);
  return FALSE;
}

/* Notifies "state" and "training" when they changed since last time. */
void
_convolve_session_update_state (ConvolveSession *self)
{
  ConvolveTrainerState state = convolve_session_get_state (self);
  gboolean training = convolve_session_is_training (self);

  if (state != self->notified_state)
    {
      self->notified_state = state;
      g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_STATE]);
    }
  if (training != self->notified_training)
    {
      self->notified_training = training;
      g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_TRAINING]);
    }
}

void
_convolve_session_set_dirty (ConvolveSession *self,
                             gboolean         dirty)
{
  if (self->dirty == dirty)
    return;
  self->dirty = dirty;
  g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_DIRTY]);
}

void
_convolve_session_set_model_path (ConvolveSession *self,
                                  const char      *path)
{
  if (g_strcmp0 (self->model_path, path) == 0)
    return;
  g_free (self->model_path);
  self->model_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_MODEL_PATH]);
}

/* Background work that failed, in a translated sentence. */
void
_convolve_session_emit_error (ConvolveSession *self,
                              const char      *format,
                              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_signal_emit (self, _convolve_session_signals[ERROR], 0, message);
}

/* Swaps in new current weights (owned). */
void
_convolve_session_replace_weights (ConvolveSession *self,
                                   ConvolveModel   *model)
{
  gboolean had_model = self->model != NULL;

  g_clear_pointer (&self->model, convolve_model_free);
  self->model = model;
  if (had_model != (model != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), _convolve_session_properties[PROP_HAS_MODEL]);
  g_signal_emit (self, _convolve_session_signals[WEIGHTS_CHANGED], 0);
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

/* Installs the datasets with what their import found (nullable: they are
 * not an image folder), and model (owned, nullable) when the current one
 * does not fit them. */
static gboolean
install_datasets (ConvolveSession                 *self,
                  ConvolveDataset                 *train,
                  ConvolveDataset                 *test,
                  const char                      *path,
                  const ConvolveImageFolderReport *import_report,
                  ConvolveModel                   *model,
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

  /* Referenced first: the new ones may be the old ones. */
  convolve_dataset_ref (train);
  if (test != NULL)
    convolve_dataset_ref (test);
  g_clear_pointer (&self->train, convolve_dataset_unref);
  g_clear_pointer (&self->test, convolve_dataset_unref);
  self->train = train;
  self->test = test;
  g_free (self->dataset_path);
  self->dataset_path = g_strdup (path);
  /* before "datasets-changed", whose handlers may ask for it */
  if (import_report != NULL)
    self->import_report = *import_report;
  else
    memset (&self->import_report, 0, sizeof self->import_report);
  /* The old test set's predictions describe other images. */
  _convolve_session_clear_evaluation (self);
  g_signal_emit (self, _convolve_session_signals[DATASETS_CHANGED], 0);

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

  if (!_convolve_session_check_idle (self, _("Stop training before opening another dataset"), error))
    return FALSE;
  return install_datasets (self, train, test, path, NULL, NULL, spec_text, seed, error);
}

typedef struct {
  ConvolveSession *session;
  GMainContext    *context;
  GCancellable    *cancellable;
  char            *path;
  char            *spec_text;
  guint64          seed;
  ConvolveImageFolderOptions image_options;
  ConvolveImageFolderReport  import_report;
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
  g_clear_object (&data->session);
  g_clear_pointer (&data->context, g_main_context_unref);
  g_clear_object (&data->cancellable);
  g_free (data->path);
  g_free (data->spec_text);
  g_clear_pointer (&data->train, convolve_dataset_unref);
  g_clear_pointer (&data->test, convolve_dataset_unref);
  g_clear_pointer (&data->model, convolve_model_free);
  g_free (data);
}

typedef struct {
  ConvolveSession *session;
  GCancellable    *cancellable;
  guint            done;
  guint            total;
  guint            skipped;
} LoadProgress;

static void
load_progress_free (gpointer data)
{
  LoadProgress *progress = data;

  g_object_unref (progress->session);
  g_object_unref (progress->cancellable);
  g_free (progress);
}

static gboolean
emit_load_progress (gpointer data)
{
  LoadProgress *progress = data;

  /* only the newest load's, and not once it was cancelled */
  if (progress->cancellable == progress->session->load_cancellable &&
      !g_cancellable_is_cancelled (progress->cancellable))
    g_signal_emit (progress->session, _convolve_session_signals[LOAD_PROGRESS], 0,
                   progress->done, progress->total, progress->skipped);
  return G_SOURCE_REMOVE;
}

/* On the loading thread: passed on to the main context. */
static void
load_progress_cb (guint    done,
                  guint    total,
                  guint    skipped,
                  gpointer user_data)
{
  LoadData *data = user_data;
  LoadProgress *progress = g_new (LoadProgress, 1);

  progress->session = g_object_ref (data->session);
  progress->cancellable = g_object_ref (data->cancellable);
  progress->done = done;
  progress->total = total;
  progress->skipped = skipped;
  g_main_context_invoke_full (data->context, G_PRIORITY_DEFAULT, emit_load_progress,
                              progress, load_progress_free);
}

static void
load_dataset_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;

  data->image_options.progress = load_progress_cb;
  data->image_options.progress_data = data;
  if (!convolve_dataset_load_dir_full (data->path, &data->image_options, &data->import_report,
                                       &data->train, &data->test, cancellable, &error))
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
  gboolean newest = g_task_get_cancellable (task) == self->load_cancellable;

  /* Only the newest load counts. */
  if (newest)
    g_clear_object (&self->load_cancellable);
  else if (!g_task_had_error (task))
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("A newer dataset replaced this one"));
      g_object_unref (outer);
      return;
    }

  if (!g_task_propagate_boolean (task, &error) && newest &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* the newest load, stopped by convolve_session_cancel_load() */
      g_clear_error (&error);
      g_set_error_literal (&error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                           _("Loading was cancelled"));
    }
  if (error != NULL ||
      !_convolve_session_check_idle (self, _("Stop training before opening another dataset"), &error) ||
      !install_datasets (self, data->train, data->test, data->path, &data->import_report,
                         g_steal_pointer (&data->model), data->spec_text, data->seed, &error))
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
  if (!_convolve_session_check_idle (self, _("Stop training before opening another dataset"), &error))
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
  data->session = g_object_ref (self);
  data->context = g_main_context_ref_thread_default ();
  data->cancellable = g_object_ref (self->load_cancellable);
  data->image_options = self->image_options;
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

void
convolve_session_cancel_load (ConvolveSession *self)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
}

void
convolve_session_set_image_folder_options (ConvolveSession                  *self,
                                           const ConvolveImageFolderOptions *options)
{
  g_return_if_fail (CONVOLVE_IS_SESSION (self));
  g_return_if_fail (options != NULL);

  self->image_options = *options;
  self->image_options.progress = NULL;
  self->image_options.progress_data = NULL;
}

gboolean
convolve_session_get_import_report (ConvolveSession           *self,
                                    ConvolveImageFolderReport *report)
{
  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), FALSE);
  g_return_val_if_fail (report != NULL, FALSE);

  if (self->import_report.n_files == 0)
    return FALSE;
  *report = self->import_report;
  return TRUE;
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

  if (!_convolve_session_check_idle (self, _("Stop training before opening a model"), error))
    {
      convolve_model_free (model);
      convolve_model_meta_free (meta);
      return FALSE;
    }

  convolve_session_clear_run (self);
  g_clear_pointer (&self->meta, convolve_model_meta_free);
  self->meta = meta;
  _convolve_session_set_model_path (self, path);
  _convolve_session_set_dirty (self, model != NULL && path == NULL);
  _convolve_session_replace_weights (self, model);
  g_signal_emit (self, _convolve_session_signals[MODEL_CHANGED], 0);
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
  if (!_convolve_session_check_idle (self, _("Stop training before opening a model"), error))
    return FALSE;
  model = create_model (spec_text, self->train, seed, error);
  if (model == NULL)
    return FALSE;
  return convolve_session_set_model (self, model, NULL, NULL, error);
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
  _convolve_session_dispose_evaluation (self);
  g_clear_pointer (&self->recorder, convolve_run_recorder_free);
  g_clear_pointer (&self->run_store, convolve_run_store_unref);

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
    case PROP_EVALUATING:
      g_value_set_boolean (value, convolve_session_is_evaluating (self));
      break;
    case PROP_EVALUATION_FRACTION:
      g_value_set_double (value, convolve_session_get_evaluation_fraction (self));
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

  _convolve_session_properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       CONVOLVE_TYPE_TRAINER_STATE, CONVOLVE_TRAINER_IDLE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  _convolve_session_properties[PROP_TRAINING] =
    g_param_spec_boolean ("training", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  _convolve_session_properties[PROP_HAS_MODEL] =
    g_param_spec_boolean ("has-model", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  _convolve_session_properties[PROP_MODEL_PATH] =
    g_param_spec_string ("model-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  _convolve_session_properties[PROP_DIRTY] =
    g_param_spec_boolean ("dirty", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  _convolve_session_properties[PROP_EVALUATING] =
    g_param_spec_boolean ("evaluating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  _convolve_session_properties[PROP_EVALUATION_FRACTION] =
    g_param_spec_double ("evaluation-fraction", NULL, NULL, -1.0, 1.0, -1.0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, _convolve_session_properties);

  _convolve_session_signals[DATASETS_CHANGED] =
    g_signal_new ("datasets-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  _convolve_session_signals[MODEL_CHANGED] =
    g_signal_new ("model-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  _convolve_session_signals[WEIGHTS_CHANGED] =
    g_signal_new ("weights-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  _convolve_session_signals[RUN_CHANGED] =
    g_signal_new ("run-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  _convolve_session_signals[PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  CONVOLVE_TYPE_PROGRESS | G_SIGNAL_TYPE_STATIC_SCOPE);
  _convolve_session_signals[PREDICTIONS_CHANGED] =
    g_signal_new ("predictions-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  _convolve_session_signals[ERROR] =
    g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  _convolve_session_signals[LOAD_PROGRESS] =
    g_signal_new ("load-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT);
}

static void
convolve_session_init (ConvolveSession *self)
{
  convolve_image_folder_options_init (&self->image_options);
  self->notified_state = CONVOLVE_TRAINER_IDLE;
}
