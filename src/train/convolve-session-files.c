/* convolve-session-files.c: opening and saving the session's model, off
 * the main thread; the checks happen against what the session holds when
 * the file has been read.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-model-check.h"
#include "convolve-session-private.h"

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
  if (!_convolve_session_check_idle (self, _("Stop training before opening a model"), error))
    return FALSE;
  if (self->train != NULL && !convolve_check_model_for_dataset (data->model, self->train, error))
    return FALSE;
  return convolve_session_set_model (self, g_steal_pointer (&data->model),
                                     g_steal_pointer (&data->meta), data->path, error);
}

/* What a saved file says about the data the model was trained on: the
 * open dataset's names and scaling, else what the opened file said. */
ConvolveModelMeta *
convolve_session_dup_model_meta (ConvolveSession *self)
{
  ConvolveModelMeta *meta;

  g_return_val_if_fail (CONVOLVE_IS_SESSION (self), NULL);

  meta = convolve_model_meta_new ();

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
  _convolve_session_set_model_path (self, data->path);
  _convolve_session_set_dirty (self, FALSE);
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
  data->meta = convolve_session_dup_model_meta (self);
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
