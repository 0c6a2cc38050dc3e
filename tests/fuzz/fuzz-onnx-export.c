/* fuzz-onnx-export.c: the ONNX writer round trip. The input describes a
 * small model (channels, height, width, layer count, then one layer per
 * two bytes: kind in the low 3 bits with 'valid' and ReLU flags in bits 3
 * and 4, and an argument giving units and kernel size; make-corpus.py's
 * onnx_export_seed() writes them) and its weights (the rest, as float32, repeated to fill every
 * parameter and BatchNorm statistic). A model that builds is exported,
 * parsed back with protobuf-c and checked: the graph is a chain from
 * "input" to "probabilities" with the nodes the layers need, input and
 * output shapes are the model's with a dynamic N, every initializer is
 * the model's tensor byte for byte, the metadata names every class, and
 * packing the parsed message again gives the same bytes. Non-finite
 * weights must give CONVOLVE_EXPORT_ERROR_NOT_FINITE and nothing else.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-onnx-export.h"
#include "fuzz-common.h"
#include "onnx.pb-c.h"

/* Small enough for thousands of runs a second. */
#define MAX_SIDE   12
#define MAX_LAYERS 10
#define MAX_UNITS  12
#define MAX_KERNEL 4

/* Reads the model's layers from data; returns how many bytes it used. */
static size_t
read_spec (const uint8_t *data, size_t size, ConvolveModelSpec *spec, ConvolveShape *shape)
{
  size_t used = 0;
  int n_layers;

  if (size < 4)
    return 0;
  shape->c = 1 + data[0] % 3;
  shape->h = 1 + data[1] % MAX_SIDE;
  shape->w = 1 + data[2] % MAX_SIDE;
  n_layers = 1 + data[3] % MAX_LAYERS;
  used = 4;

  spec->n_layers = 0;
  spec->layers = g_new0 (ConvolveLayerSpec, n_layers);
  for (int i = 0; i < n_layers && used + 2 <= size; i++, used += 2)
    {
      ConvolveLayerSpec *layer = &spec->layers[spec->n_layers++];
      uint8_t kind = data[used], arg = data[used + 1];

      layer->kind = (ConvolveLayerKind) ((kind & 7) % CONVOLVE_N_LAYER_KINDS);
      layer->units = 1 + arg % MAX_UNITS;
      layer->kernel_size = 1 + (arg >> 4) % MAX_KERNEL;
      layer->padding = (kind >> 3) & 1 ? CONVOLVE_PADDING_VALID : CONVOLVE_PADDING_SAME;
      layer->activation = (kind >> 4) & 1 ? CONVOLVE_ACTIVATION_RELU : CONVOLVE_ACTIVATION_LINEAR;
      layer->rate = (float) (arg % 10) / 10.0f;
    }
  /* The last layer gives the classes, with a softmax as a spec would. */
  if (spec->n_layers > 0 && spec->layers[spec->n_layers - 1].kind == CONVOLVE_LAYER_DENSE)
    {
      ConvolveLayerSpec *last = &spec->layers[spec->n_layers - 1];

      last->units = MAX (last->units, 2);
      if ((data[3] >> 4) & 1)
        last->activation = CONVOLVE_ACTIVATION_SOFTMAX;
    }
  return used;
}

/* Fills every float of block from the weight bytes, cycling. */
static void
fill_floats (float *block, gsize n, const uint8_t *data, size_t size, size_t *position)
{
  if (size < sizeof (float))
    return;
  for (gsize i = 0; i < n; i++)
    {
      memcpy (&block[i], data + *position, sizeof (float));
      *position = (*position + sizeof (float)) % (size - size % sizeof (float));
    }
}

static gboolean
all_finite (ConvolveModel *model)
{
  for (int t = 0; t < convolve_model_get_n_tensors (model); t++)
    {
      const ConvolveTensorInfo *info = convolve_model_get_tensor (model, t);

      for (gsize i = 0; i < info->size; i++)
        if (!isfinite (info->data[i]))
          return FALSE;
    }
  return TRUE;
}

/* How many nodes the layers make, the final Softmax included. */
static size_t
expected_nodes (const ConvolveModelSpec *spec)
{
  size_t n = 1;

  for (int i = 0; i < spec->n_layers; i++)
    {
      const ConvolveLayerSpec *layer = &spec->layers[i];

      if (layer->kind == CONVOLVE_LAYER_DROPOUT)
        continue;
      n++;
      if ((layer->kind == CONVOLVE_LAYER_CONV2D || layer->kind == CONVOLVE_LAYER_DENSE) &&
          layer->activation == CONVOLVE_ACTIVATION_RELU)
        n++;
      if (layer->kind == CONVOLVE_LAYER_GLOBAL_AVG_POOL) /* GlobalAveragePool, then Flatten */
        n++;
    }
  return n;
}

static void
check_value (const Onnx__ValueInfoProto *value, const char *name, int rank, const int *dims)
{
  const Onnx__TensorShapeProto *shape;

  g_assert (g_strcmp0 (value->name, name) == 0);
  g_assert (value->type != NULL && value->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE);
  g_assert (value->type->tensor_type->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  shape = value->type->tensor_type->shape;
  g_assert (shape != NULL && shape->n_dim == (size_t) rank + 1);
  g_assert (shape->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM);
  g_assert (g_strcmp0 (shape->dim[0]->dim_param, "N") == 0);
  for (int i = 0; i < rank; i++)
    {
      g_assert (shape->dim[i + 1]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE);
      g_assert (shape->dim[i + 1]->dim_value == dims[i]);
    }
}

static const Onnx__TensorProto *
find_initializer (const Onnx__GraphProto *graph, const char *name)
{
  for (size_t i = 0; i < graph->n_initializer; i++)
    if (g_strcmp0 (graph->initializer[i]->name, name) == 0)
      return graph->initializer[i];
  return NULL;
}

static void
check_round_trip (ConvolveModel *model, const ConvolveModelSpec *spec, GBytes *bytes)
{
  gsize size = 0;
  const uint8_t *data = g_bytes_get_data (bytes, &size);
  Onnx__ModelProto *proto = onnx__model_proto__unpack (NULL, size, data);
  const Onnx__GraphProto *graph;
  ConvolveShape input = convolve_model_get_input (model);
  int input_dims[3] = { input.c, input.h, input.w };
  int n_classes = convolve_model_get_n_classes (model);
  gboolean named = FALSE;

  g_assert (proto != NULL);
  g_assert (proto->ir_version == CONVOLVE_ONNX_IR_VERSION);
  g_assert (proto->n_opset_import == 1 && proto->opset_import[0]->version == CONVOLVE_ONNX_OPSET);
  graph = proto->graph;
  g_assert (graph != NULL);
  g_assert (graph->n_input == 1 && graph->n_output == 1);
  check_value (graph->input[0], CONVOLVE_ONNX_INPUT, 3, input_dims);
  check_value (graph->output[0], CONVOLVE_ONNX_OUTPUT, 1, &n_classes);

  /* A chain: each node reads the previous one's output first, then only
   * initializers. */
  g_assert (graph->n_node == expected_nodes (spec));
  for (size_t i = 0; i < graph->n_node; i++)
    {
      const Onnx__NodeProto *node = graph->node[i];

      g_assert (node->n_input >= 1 && node->n_output == 1);
      g_assert (g_strcmp0 (node->input[0], i == 0 ? CONVOLVE_ONNX_INPUT : graph->node[i - 1]->output[0]) == 0);
      for (size_t k = 1; k < node->n_input; k++)
        g_assert (find_initializer (graph, node->input[k]) != NULL);
      g_assert (g_strcmp0 (node->op_type, "Dropout") != 0);
    }
  g_assert (g_strcmp0 (graph->node[graph->n_node - 1]->op_type, "Softmax") == 0);
  g_assert (g_strcmp0 (graph->node[graph->n_node - 1]->output[0], CONVOLVE_ONNX_OUTPUT) == 0);

  /* The weights, exactly. */
  g_assert (graph->n_initializer == (size_t) convolve_model_get_n_tensors (model));
  for (size_t i = 0; i < graph->n_initializer; i++)
    {
      const Onnx__TensorProto *tensor = graph->initializer[i];
      const ConvolveTensorInfo *info = convolve_model_find_tensor (model, tensor->name);

      g_assert (info != NULL);
      g_assert (tensor->n_dims == (size_t) info->rank);
      for (int d = 0; d < info->rank; d++)
        g_assert (tensor->dims[d] == info->shape[d]);
      g_assert (tensor->has_raw_data && tensor->raw_data.len == info->size * sizeof (float));
      g_assert (memcmp (tensor->raw_data.data, info->data, tensor->raw_data.len) == 0);
    }

  for (size_t i = 0; i < proto->n_metadata_props; i++)
    if (g_strcmp0 (proto->metadata_props[i]->key, "class_names") == 0)
      {
        g_autofree char *last = g_strdup_printf ("\"%d\"]", n_classes - 1);

        g_assert (g_str_has_suffix (proto->metadata_props[i]->value, last));
        named = TRUE;
      }
  g_assert (named);

  /* Packing what was parsed gives the same bytes. */
  {
    gsize again = protobuf_c_message_get_packed_size (&proto->base);
    g_autofree uint8_t *repacked = g_malloc (MAX (again, 1));

    g_assert (again == size);
    g_assert (protobuf_c_message_pack (&proto->base, repacked) == size);
    g_assert (memcmp (repacked, data, size) == 0);
  }
  onnx__model_proto__free_unpacked (proto, NULL);
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  g_autoptr(ConvolveModelSpec) spec = g_new0 (ConvolveModelSpec, 1);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 0, 0, 0 };
  size_t used, position = 0;
  gsize n;
  float *block;

  convolve_fuzz_init ();
  used = read_spec (data, size, spec, &shape);
  if (used == 0 || spec->n_layers == 0)
    return 0;
  model = convolve_model_new (spec, &shape, 1, 1, &error);
  if (model == NULL)
    return 0;

  block = convolve_model_get_params (model, &n);
  fill_floats (block, n, data + used, size - used, &position);
  block = convolve_model_get_state (model, &n);
  fill_floats (block, n, data + used, size - used, &position);

  bytes = convolve_onnx_export_to_bytes (model, NULL, &error);
  if (bytes == NULL)
    {
      g_assert (g_error_matches (error, CONVOLVE_EXPORT_ERROR, CONVOLVE_EXPORT_ERROR_NOT_FINITE));
      g_assert (!all_finite (model));
      return 0;
    }
  g_assert (all_finite (model));
  check_round_trip (model, spec, bytes);
  return 0;
}
