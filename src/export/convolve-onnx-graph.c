/* convolve-onnx-graph.c: the engine's inference pass as an ONNX
 * ModelProto (the mapping is described in convolve-onnx-export.h).
 *
 * One function per layer kind, found in layer_exporters[] by the kind: a
 * new layer kind needs one function and one line there. Each appends its
 * nodes (and initializers) reading the tensor the previous layer left in
 * graph->current. Everything the proto points to is owned by the graph
 * (graph->allocations), except the initializers' raw data, which points
 * into the model's weights.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-onnx-private.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "convolve-json.h"
/* Only for CONVOLVE_BATCHNORM_EPSILON: the exported BatchNormalization
 * must use the engine's own epsilon, not a copy of its value. */
#include "convolve-layers.h"

struct _ConvolveOnnxGraph {
  GPtrArray        *allocations;   /* everything below, freed with g_free */
  GPtrArray        *nodes;         /* Onnx__NodeProto * */
  GPtrArray        *initializers;  /* Onnx__TensorProto * */
  Onnx__ModelProto *proto;

  /* while building: the tensor the next node reads */
  const char       *current;
};

/* ---- owned memory ---------------------------------------------------------- */

static gpointer
graph_alloc (ConvolveOnnxGraph *graph, gsize size)
{
  gpointer p = g_malloc0 (size);

  g_ptr_array_add (graph->allocations, p);
  return p;
}

static char *
graph_strdup (ConvolveOnnxGraph *graph, const char *text)
{
  char *copy = g_strdup (text);

  g_ptr_array_add (graph->allocations, copy);
  return copy;
}

static G_GNUC_PRINTF (2, 3) char *
graph_printf (ConvolveOnnxGraph *graph, const char *format, ...)
{
  va_list args;
  char *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (graph->allocations, text);
  return text;
}

/* The pointers of items as an owned C array (for the proto's repeated
 * fields). */
static gpointer
graph_pointer_array (ConvolveOnnxGraph *graph, GPtrArray *items, size_t *n_items)
{
  gpointer *array = graph_alloc (graph, sizeof (gpointer) * MAX (items->len, 1));

  if (items->len > 0)
    memcpy (array, items->pdata, sizeof (gpointer) * items->len);
  *n_items = items->len;
  return array;
}

/* ---- attributes, nodes, tensors -------------------------------------------- */

static Onnx__AttributeProto *
attribute_new (ConvolveOnnxGraph *graph, const char *name, Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto *attribute = graph_alloc (graph, sizeof *attribute);

  onnx__attribute_proto__init (attribute);
  attribute->name = graph_strdup (graph, name);
  attribute->has_type = TRUE;
  attribute->type = type;
  return attribute;
}

static Onnx__AttributeProto *
attribute_int (ConvolveOnnxGraph *graph, const char *name, gint64 value)
{
  Onnx__AttributeProto *attribute = attribute_new (graph, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

  attribute->has_i = TRUE;
  attribute->i = value;
  return attribute;
}

static Onnx__AttributeProto *
attribute_float (ConvolveOnnxGraph *graph, const char *name, float value)
{
  Onnx__AttributeProto *attribute = attribute_new (graph, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

  attribute->has_f = TRUE;
  attribute->f = value;
  return attribute;
}

/* n values (at most 4). */
static Onnx__AttributeProto *
attribute_ints (ConvolveOnnxGraph *graph, const char *name, int n, gint64 a, gint64 b, gint64 c, gint64 d)
{
  Onnx__AttributeProto *attribute = attribute_new (graph, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  const gint64 values[4] = { a, b, c, d };

  g_assert (n >= 1 && n <= 4);
  attribute->n_ints = (size_t) n;
  attribute->ints = graph_alloc (graph, sizeof (int64_t) * (gsize) n);
  for (int i = 0; i < n; i++)
    attribute->ints[i] = values[i];
  return attribute;
}

/* Appends a node op_type named name reading graph->current and then the
 * NULL-terminated extra inputs, with the NULL-terminated attributes after
 * them; its one output (also called name) becomes graph->current. */
static G_GNUC_NULL_TERMINATED void
add_node (ConvolveOnnxGraph *graph, const char *op_type, const char *name, ...)
{
  Onnx__NodeProto *node = graph_alloc (graph, sizeof *node);
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) attributes = g_ptr_array_new ();
  const char *input;
  Onnx__AttributeProto *attribute;
  va_list args;

  onnx__node_proto__init (node);
  node->op_type = graph_strdup (graph, op_type);
  node->name = graph_strdup (graph, name);

  g_ptr_array_add (inputs, (gpointer) graph->current);
  va_start (args, name);
  while ((input = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (inputs, (gpointer) input);
  while ((attribute = va_arg (args, Onnx__AttributeProto *)) != NULL)
    g_ptr_array_add (attributes, attribute);
  va_end (args);

  node->input = graph_pointer_array (graph, inputs, &node->n_input);
  node->attribute = graph_pointer_array (graph, attributes, &node->n_attribute);
  node->n_output = 1;
  node->output = graph_alloc (graph, sizeof (char *));
  node->output[0] = node->name;

  g_ptr_array_add (graph->nodes, node);
  graph->current = node->name;
}

/* The model's tensor "layer/suffix" as an initializer of the same name;
 * returns the name, or NULL with an error. */
static const char *
add_initializer (ConvolveOnnxGraph *graph, ConvolveModel *model, const char *layer,
                 const char *suffix, GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s/%s", layer, suffix);
  const ConvolveTensorInfo *info = convolve_model_find_tensor (model, name);
  Onnx__TensorProto *tensor;

  if (info == NULL)
    {
      g_set_error (error, CONVOLVE_EXPORT_ERROR, CONVOLVE_EXPORT_ERROR_UNSUPPORTED,
                   _("The model has no tensor “%s”"), name);
      return NULL;
    }
  for (gsize i = 0; i < info->size; i++)
    if (!isfinite (info->data[i]))
      {
        g_set_error (error, CONVOLVE_EXPORT_ERROR, CONVOLVE_EXPORT_ERROR_NOT_FINITE,
                     _("Tensor “%s” holds values that are not finite numbers (did training diverge?)"),
                     name);
        return NULL;
      }

  tensor = graph_alloc (graph, sizeof *tensor);
  onnx__tensor_proto__init (tensor);
  tensor->name = graph_strdup (graph, name);
  tensor->has_data_type = TRUE;
  tensor->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tensor->n_dims = (size_t) info->rank;
  tensor->dims = graph_alloc (graph, sizeof (int64_t) * (gsize) MAX (info->rank, 1));
  for (int i = 0; i < info->rank; i++)
    tensor->dims[i] = info->shape[i];
  tensor->has_raw_data = TRUE;
  tensor->raw_data.len = info->size * sizeof (float);
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  tensor->raw_data.data = (uint8_t *) info->data;
#else
  {
    guint32 *swapped = graph_alloc (graph, tensor->raw_data.len);

    memcpy (swapped, info->data, tensor->raw_data.len);
    for (gsize i = 0; i < info->size; i++)
      swapped[i] = GUINT32_TO_LE (swapped[i]);
    tensor->raw_data.data = (uint8_t *) swapped;
  }
#endif
  g_ptr_array_add (graph->initializers, tensor);
  return tensor->name;
}

/* ---- one function per layer kind --------------------------------------------- */

typedef struct {
  ConvolveOnnxGraph       *graph;
  ConvolveModel           *model;
  const ConvolveLayerSpec *spec;
  const ConvolveLayerInfo *info;
} LayerContext;

typedef gboolean (*LayerExporter) (const LayerContext *layer, GError **error);

static void
add_relu_if (const LayerContext *layer, ConvolveActivation activation)
{
  if (activation == CONVOLVE_ACTIVATION_RELU)
    add_node (layer->graph, "Relu", graph_printf (layer->graph, "%s/relu", layer->info->name),
              NULL, NULL);
}

static gboolean
export_conv2d (const LayerContext *layer, GError **error)
{
  ConvolveOnnxGraph *graph = layer->graph;
  int k = layer->spec->kernel_size;
  /* Keras 'same' with stride 1: k - 1 in all, the smaller half first
   * (the engine's pad_before()); ONNX pads are [top, left, bottom, right]. */
  int before = layer->spec->padding == CONVOLVE_PADDING_SAME ? (k - 1) / 2 : 0;
  int after = layer->spec->padding == CONVOLVE_PADDING_SAME ? k - 1 - before : 0;
  const char *kernel, *bias;

  if ((kernel = add_initializer (graph, layer->model, layer->info->name, "kernel", error)) == NULL ||
      (bias = add_initializer (graph, layer->model, layer->info->name, "bias", error)) == NULL)
    return FALSE;
  add_node (graph, "Conv", layer->info->name, kernel, bias, NULL,
            attribute_ints (graph, "kernel_shape", 2, k, k, 0, 0),
            attribute_ints (graph, "strides", 2, 1, 1, 0, 0),
            attribute_ints (graph, "dilations", 2, 1, 1, 0, 0),
            attribute_ints (graph, "pads", 4, before, before, after, after),
            NULL);
  add_relu_if (layer, layer->spec->activation);
  return TRUE;
}

static gboolean
export_batch_norm (const LayerContext *layer, GError **error)
{
  ConvolveOnnxGraph *graph = layer->graph;
  const char *name = layer->info->name;
  const char *gamma, *beta, *mean, *variance;

  /* Inference: the moving statistics. On a flat input ([N, features]) ONNX
   * normalises over the features, as the engine does. */
  if ((gamma = add_initializer (graph, layer->model, name, "gamma", error)) == NULL ||
      (beta = add_initializer (graph, layer->model, name, "beta", error)) == NULL ||
      (mean = add_initializer (graph, layer->model, name, "moving_mean", error)) == NULL ||
      (variance = add_initializer (graph, layer->model, name, "moving_variance", error)) == NULL)
    return FALSE;
  add_node (graph, "BatchNormalization", name, gamma, beta, mean, variance, NULL,
            attribute_float (graph, "epsilon", CONVOLVE_BATCHNORM_EPSILON),
            NULL);
  return TRUE;
}

static gboolean
export_max_pool (const LayerContext *layer, GError **error)
{
  ConvolveOnnxGraph *graph = layer->graph;
  int p = layer->spec->kernel_size;

  /* 'valid', floor: what ceil_mode 0 and no pads give. */
  add_node (graph, "MaxPool", layer->info->name, NULL,
            attribute_ints (graph, "kernel_shape", 2, p, p, 0, 0),
            attribute_ints (graph, "strides", 2, p, p, 0, 0),
            NULL);
  return TRUE;
}

static gboolean
export_flatten (const LayerContext *layer, GError **error)
{
  /* The engine's activations are NCHW, so its flat order (c, y, x) is
   * ONNX's Flatten on NCHW: the following Dense kernel rows match as
   * they are. */
  add_node (layer->graph, "Flatten", layer->info->name, NULL,
            attribute_int (layer->graph, "axis", 1),
            NULL);
  return TRUE;
}

static gboolean
export_dense (const LayerContext *layer, GError **error)
{
  ConvolveOnnxGraph *graph = layer->graph;
  const char *kernel, *bias;

  if ((kernel = add_initializer (graph, layer->model, layer->info->name, "kernel", error)) == NULL ||
      (bias = add_initializer (graph, layer->model, layer->info->name, "bias", error)) == NULL)
    return FALSE;
  /* Y = X K + b with K stored in x out, as Keras keeps it. A softmax
   * activation is the model's final Softmax node. */
  add_node (graph, "Gemm", layer->info->name, kernel, bias, NULL, NULL);
  add_relu_if (layer, layer->spec->activation);
  return TRUE;
}

static gboolean
export_dropout (const LayerContext *layer, GError **error)
{
  /* Identity at inference: no node. */
  return TRUE;
}

static gboolean
export_relu (const LayerContext *layer, GError **error)
{
  add_node (layer->graph, "Relu", layer->info->name, NULL, NULL);
  return TRUE;
}

static gboolean
export_global_avg_pool (const LayerContext *layer, GError **error)
{
  ConvolveOnnxGraph *graph = layer->graph;

  /* ONNX's GlobalAveragePool keeps [N, C, 1, 1]; the engine's (and
   * Keras') layer gives [N, C], so a Flatten (axis 1) follows it. */
  add_node (graph, "GlobalAveragePool",
            graph_printf (graph, "%s/pool", layer->info->name), NULL, NULL);
  add_node (graph, "Flatten", layer->info->name, NULL,
            attribute_int (graph, "axis", 1),
            NULL);
  return TRUE;
}

/* By layer kind. A kind without an entry is refused with a clear error. */
static const LayerExporter layer_exporters[] = {
  [CONVOLVE_LAYER_CONV2D]     = export_conv2d,
  [CONVOLVE_LAYER_BATCH_NORM] = export_batch_norm,
  [CONVOLVE_LAYER_MAX_POOL]   = export_max_pool,
  [CONVOLVE_LAYER_FLATTEN]    = export_flatten,
  [CONVOLVE_LAYER_DENSE]      = export_dense,
  [CONVOLVE_LAYER_DROPOUT]    = export_dropout,
  [CONVOLVE_LAYER_RELU]       = export_relu,
  [CONVOLVE_LAYER_GLOBAL_AVG_POOL] = export_global_avg_pool,
};

/* ---- inputs, outputs, metadata --------------------------------------------- */

/* A float32 tensor value: [N, dims...] with N the dynamic batch. */
static Onnx__ValueInfoProto *
value_info_new (ConvolveOnnxGraph *graph, const char *name, int rank, const int *dims)
{
  Onnx__ValueInfoProto *value = graph_alloc (graph, sizeof *value);
  Onnx__TypeProto *type = graph_alloc (graph, sizeof *type);
  Onnx__TypeProto__Tensor *tensor_type = graph_alloc (graph, sizeof *tensor_type);
  Onnx__TensorShapeProto *shape = graph_alloc (graph, sizeof *shape);

  onnx__value_info_proto__init (value);
  onnx__type_proto__init (type);
  onnx__type_proto__tensor__init (tensor_type);
  onnx__tensor_shape_proto__init (shape);

  shape->n_dim = (size_t) rank + 1;
  shape->dim = graph_alloc (graph, sizeof (Onnx__TensorShapeProto__Dimension *) * shape->n_dim);
  for (size_t i = 0; i < shape->n_dim; i++)
    {
      Onnx__TensorShapeProto__Dimension *dim = graph_alloc (graph, sizeof *dim);

      onnx__tensor_shape_proto__dimension__init (dim);
      if (i == 0)
        {
          dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          dim->dim_param = graph_strdup (graph, "N");
        }
      else
        {
          dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          dim->dim_value = dims[i - 1];
        }
      shape->dim[i] = dim;
    }

  tensor_type->has_elem_type = TRUE;
  tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tensor_type->shape = shape;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor_type;
  value->name = graph_strdup (graph, name);
  value->type = type;
  return value;
}

static void
add_metadata (ConvolveOnnxGraph *graph, GPtrArray *props, const char *key, const char *value)
{
  Onnx__StringStringEntryProto *entry = graph_alloc (graph, sizeof *entry);

  onnx__string_string_entry_proto__init (entry);
  entry->key = graph_strdup (graph, key);
  entry->value = graph_strdup (graph, value);
  g_ptr_array_add (props, entry);
}

/* Nine significant digits: a float32 read back exactly. */
static char *
format_float (ConvolveOnnxGraph *graph, float value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return graph_strdup (graph, g_ascii_formatd (buffer, sizeof buffer, "%.9g", value));
}

static gboolean
check_utf8 (const char *text, GError **error)
{
  if (g_utf8_validate (text, -1, NULL))
    return TRUE;
  g_set_error (error, CONVOLVE_EXPORT_ERROR, CONVOLVE_EXPORT_ERROR_UNSUPPORTED,
               _("The model’s metadata is not valid UTF-8"));
  return FALSE;
}

static gboolean
build_metadata (ConvolveOnnxGraph *graph, ConvolveModel *model, const ConvolveModelMeta *meta,
                GPtrArray *props, GError **error)
{
  int n_classes = convolve_model_get_n_classes (model);
  ConvolveShape input = convolve_model_get_input (model);
  float scale = meta != NULL ? meta->input_scale : 1.0f / 255.0f;
  float offset = meta != NULL ? meta->input_offset : 0.0f;
  guint n_names = meta != NULL && meta->class_names != NULL ? g_strv_length (meta->class_names) : 0;
  g_autoptr(GString) names = g_string_new ("[");
  g_autofree char *spec = convolve_model_spec_to_string (convolve_model_get_spec (model));
  const char *channels = input.c == 3 ? "RGB" : input.c == 1 ? "grey" : "planar";

  /* One name per output; a file naming fewer classes than the model has
   * gets the index for the rest. */
  for (int i = 0; i < n_classes; i++)
    {
      g_autofree char *fallback = g_strdup_printf ("%d", i);
      const char *name = (guint) i < n_names ? meta->class_names[i] : fallback;

      if (!check_utf8 (name, error))
        return FALSE;
      if (i > 0)
        g_string_append (names, ", ");
      convolve_json_append_string (names, name);
    }
  g_string_append_c (names, ']');

  add_metadata (graph, props, "class_names", names->str);
  add_metadata (graph, props, "input_scale", format_float (graph, scale));
  add_metadata (graph, props, "input_offset", format_float (graph, offset));
  add_metadata (graph, props, "input_layout", "NCHW");
  add_metadata (graph, props, "input_channels", channels);
  add_metadata (graph, props, "input_normalization",
                graph_printf (graph, "input = pixel * %s + %s, pixel 0 to 255, %s planes, "
                              "NCHW float32 [N, %d, %d, %d]",
                              format_float (graph, scale), format_float (graph, offset),
                              channels, input.c, input.h, input.w));
  add_metadata (graph, props, "output", "softmax probabilities [N, classes], in class_names order");
  add_metadata (graph, props, "convolve_spec", spec);
  if (meta != NULL && meta->dataset != NULL)
    {
      if (!check_utf8 (meta->dataset, error))
        return FALSE;
      add_metadata (graph, props, "dataset", meta->dataset);
    }
  if (meta != NULL)
    {
      add_metadata (graph, props, "epoch", graph_printf (graph, "%" G_GINT64_FORMAT, meta->epoch));
      add_metadata (graph, props, "step", graph_printf (graph, "%" G_GINT64_FORMAT, meta->step));
    }
  return TRUE;
}

/* ---- the whole model ------------------------------------------------------- */

static Onnx__OperatorSetIdProto *
opset_new (ConvolveOnnxGraph *graph)
{
  Onnx__OperatorSetIdProto *opset = graph_alloc (graph, sizeof *opset);

  onnx__operator_set_id_proto__init (opset);
  opset->domain = graph_strdup (graph, "");
  opset->has_version = TRUE;
  opset->version = CONVOLVE_ONNX_OPSET;
  return opset;
}

ConvolveOnnxGraph *
_convolve_onnx_graph_new (ConvolveModel           *model,
                          const ConvolveModelMeta *meta,
                          GError                 **error)
{
  g_autoptr(ConvolveOnnxGraph) graph = g_new0 (ConvolveOnnxGraph, 1);
  g_autoptr(GPtrArray) props = g_ptr_array_new ();
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) outputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) opsets = g_ptr_array_new ();
  const ConvolveModelSpec *spec;
  ConvolveShape input;
  int input_dims[3], output_dims[1];
  Onnx__GraphProto *graph_proto;
  Onnx__ModelProto *proto;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  spec = convolve_model_get_spec (model);
  input = convolve_model_get_input (model);
  input_dims[0] = input.c;
  input_dims[1] = input.h;
  input_dims[2] = input.w;
  output_dims[0] = convolve_model_get_n_classes (model);

  graph->allocations = g_ptr_array_new_with_free_func (g_free);
  graph->nodes = g_ptr_array_new ();
  graph->initializers = g_ptr_array_new ();
  graph->current = CONVOLVE_ONNX_INPUT;

  for (int i = 0; i < spec->n_layers; i++)
    {
      LayerContext layer = {
        .graph = graph,
        .model = model,
        .spec = &spec->layers[i],
        .info = convolve_model_get_layer (model, i),
      };
      guint kind = (guint) layer.spec->kind;

      if (kind >= G_N_ELEMENTS (layer_exporters) || layer_exporters[kind] == NULL)
        {
          g_set_error (error, CONVOLVE_EXPORT_ERROR, CONVOLVE_EXPORT_ERROR_UNSUPPORTED,
                       _("Layer “%s” (%s) cannot be exported to ONNX yet"),
                       layer.info->name, layer.info->type_name);
          return NULL;
        }
      if (!layer_exporters[kind] (&layer, error))
        return NULL;
    }
  /* convolve_model_predict()'s softmax, whatever the last layer's
   * activation. */
  add_node (graph, "Softmax", CONVOLVE_ONNX_OUTPUT, NULL,
            attribute_int (graph, "axis", 1),
            NULL);

  if (!build_metadata (graph, model, meta, props, error))
    return NULL;

  g_ptr_array_add (inputs, value_info_new (graph, CONVOLVE_ONNX_INPUT, 3, input_dims));
  g_ptr_array_add (outputs, value_info_new (graph, CONVOLVE_ONNX_OUTPUT, 1, output_dims));
  g_ptr_array_add (opsets, opset_new (graph));

  graph_proto = graph_alloc (graph, sizeof *graph_proto);
  onnx__graph_proto__init (graph_proto);
  graph_proto->name = graph_strdup (graph, "convolve");
  graph_proto->node = graph_pointer_array (graph, graph->nodes, &graph_proto->n_node);
  graph_proto->initializer = graph_pointer_array (graph, graph->initializers, &graph_proto->n_initializer);
  graph_proto->input = graph_pointer_array (graph, inputs, &graph_proto->n_input);
  graph_proto->output = graph_pointer_array (graph, outputs, &graph_proto->n_output);

  proto = graph_alloc (graph, sizeof *proto);
  onnx__model_proto__init (proto);
  proto->has_ir_version = TRUE;
  proto->ir_version = CONVOLVE_ONNX_IR_VERSION;
  proto->opset_import = graph_pointer_array (graph, opsets, &proto->n_opset_import);
  proto->producer_name = graph_strdup (graph, "Convolve");
  proto->producer_version = graph_strdup (graph, PACKAGE_VERSION);
  proto->doc_string = graph_strdup (graph, "An image classifier trained with Convolve.");
  proto->graph = graph_proto;
  proto->metadata_props = graph_pointer_array (graph, props, &proto->n_metadata_props);
  graph->proto = proto;

  return g_steal_pointer (&graph);
}

Onnx__ModelProto *
_convolve_onnx_graph_get_proto (ConvolveOnnxGraph *graph)
{
  g_return_val_if_fail (graph != NULL, NULL);
  return graph->proto;
}

void
_convolve_onnx_graph_free (ConvolveOnnxGraph *graph)
{
  if (graph == NULL)
    return;
  g_clear_pointer (&graph->nodes, g_ptr_array_unref);
  g_clear_pointer (&graph->initializers, g_ptr_array_unref);
  g_clear_pointer (&graph->allocations, g_ptr_array_unref);
  g_free (graph);
}
