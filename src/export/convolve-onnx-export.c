/* convolve-onnx-export.c: packing the ONNX graph (convolve-onnx-graph.c)
 * with protobuf-c, into memory or straight into an atomically replaced
 * file, on the caller's thread or a worker's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-onnx-export.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include "convolve-onnx-private.h"

/* protobuf's own limit on one message (a larger model would need ONNX's
 * external data files). */
#define ONNX_MAX_BYTES ((gsize) G_MAXINT32)

static ConvolveOnnxGraph *
build_graph (ConvolveModel *model, const ConvolveModelMeta *meta, gsize *size, GError **error)
{
  g_autoptr(ConvolveOnnxGraph) graph = _convolve_onnx_graph_new (model, meta, error);

  if (graph == NULL)
    return NULL;
  *size = protobuf_c_message_get_packed_size (&_convolve_onnx_graph_get_proto (graph)->base);
  if (*size > ONNX_MAX_BYTES)
    {
      g_set_error (error, CONVOLVE_EXPORT_ERROR, CONVOLVE_EXPORT_ERROR_TOO_LARGE,
                   _("The model is too large for one ONNX file (%" PRIu64 " MiB; at most 2 GiB)"),
                   (guint64) (*size >> 20));
      return NULL;
    }
  return g_steal_pointer (&graph);
}

GBytes *
convolve_onnx_export_to_bytes (ConvolveModel           *model,
                               const ConvolveModelMeta *meta,
                               GError                 **error)
{
  g_autoptr(ConvolveOnnxGraph) graph = NULL;
  gsize size = 0;
  guint8 *data;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  graph = build_graph (model, meta, &size, error);
  if (graph == NULL)
    return NULL;
  data = g_malloc (MAX (size, 1));
  if (protobuf_c_message_pack (&_convolve_onnx_graph_get_proto (graph)->base, data) != size)
    g_error ("protobuf-c packed a different size than it measured");
  return g_bytes_new_take (data, size);
}

/* A protobuf-c output that writes through to the atomic file; the first
 * error stops further writes and is kept for the caller. */
typedef struct {
  ProtobufCBuffer     base;
  ConvolveAtomicFile *file;
  GError             *error;
} FileBuffer;

static void
file_buffer_append (ProtobufCBuffer *buffer, size_t length, const uint8_t *data)
{
  FileBuffer *self = (FileBuffer *) buffer;

  if (self->error == NULL)
    convolve_atomic_file_write (self->file, data, length, &self->error);
}

gboolean
convolve_onnx_export (ConvolveModel           *model,
                      const ConvolveModelMeta *meta,
                      const char              *path,
                      GError                 **error)
{
  g_autoptr(ConvolveOnnxGraph) graph = NULL;
  g_autoptr(ConvolveAtomicFile) file = NULL;
  FileBuffer buffer = { { file_buffer_append }, NULL, NULL };
  gsize size = 0;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  graph = build_graph (model, meta, &size, error);
  if (graph == NULL)
    return FALSE;
  file = convolve_atomic_file_new (path, error);
  if (file == NULL)
    return FALSE;

  /* Streamed: the weights go from the model to the file without a copy
   * of the whole message in memory. */
  buffer.file = file;
  protobuf_c_message_pack_to_buffer (&_convolve_onnx_graph_get_proto (graph)->base, &buffer.base);
  if (buffer.error != NULL)
    {
      g_propagate_error (error, buffer.error);
      return FALSE;
    }
  return convolve_atomic_file_commit (g_steal_pointer (&file), error);
}

typedef struct {
  ConvolveModel     *model;
  ConvolveModelMeta *meta;
  char              *path;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_clear_pointer (&data->model, convolve_model_free);
  g_clear_pointer (&data->meta, convolve_model_meta_free);
  g_free (data->path);
  g_free (data);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportData *data = task_data;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (convolve_onnx_export (data->model, data->meta, data->path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
convolve_onnx_export_async (ConvolveModel       *model,
                            ConvolveModelMeta   *meta,
                            const char          *path,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportData *data;

  g_return_if_fail (model != NULL);
  g_return_if_fail (path != NULL);

  data = g_new0 (ExportData, 1);
  data->model = model;
  data->meta = meta;
  data->path = g_strdup (path);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, convolve_onnx_export_async);
  g_task_set_name (task, "convolve-export-onnx");
  g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
  g_task_run_in_thread (task, export_thread);
}

gboolean
convolve_onnx_export_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == convolve_onnx_export_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
