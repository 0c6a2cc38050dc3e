/* test-onnx-export.c: the ONNX exporter without a runtime: the file parsed
 * back with protobuf-c (the graph, its shapes, the weights byte for byte,
 * the metadata), atomic writes (a full disk or an unwritable target keeps
 * the previous file), and `convolve-cli export` ($CONVOLVE_CLI). What a
 * runtime computes from the file is test-onnx-runtime.c's part.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "convolve-onnx-export.h"
#include "onnx-test-util.h"
#include "onnx.pb-c.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names in the folder, sorted, joined by spaces. */
static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
clear_dir (void)
{
  g_autoptr(GDir) handle = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = tmp_path (name);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
}

static Onnx__ModelProto *
unpack (GBytes *bytes)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  Onnx__ModelProto *proto = onnx__model_proto__unpack (NULL, size, data);

  g_assert_nonnull (proto);
  return proto;
}

static const char *
find_metadata (const Onnx__ModelProto *proto, const char *key)
{
  for (size_t i = 0; i < proto->n_metadata_props; i++)
    if (g_strcmp0 (proto->metadata_props[i]->key, key) == 0)
      return proto->metadata_props[i]->value;
  return NULL;
}

static const Onnx__AttributeProto *
find_attribute (const Onnx__NodeProto *node, const char *name)
{
  for (size_t i = 0; i < node->n_attribute; i++)
    if (g_strcmp0 (node->attribute[i]->name, name) == 0)
      return node->attribute[i];
  return NULL;
}

static void
assert_ints (const Onnx__NodeProto *node, const char *name, int n, const gint64 *want)
{
  const Onnx__AttributeProto *attribute = find_attribute (node, name);

  g_assert_nonnull (attribute);
  g_assert_cmpint (attribute->type, ==, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  g_assert_cmpuint (attribute->n_ints, ==, (guint) n);
  for (int i = 0; i < n; i++)
    g_assert_cmpint (attribute->ints[i], ==, want[i]);
}

/* dims: N (a parameter) then the rest. */
static void
assert_value_shape (const Onnx__ValueInfoProto *value, const char *name, int rank, const int *dims)
{
  const Onnx__TensorShapeProto *shape;

  g_assert_cmpstr (value->name, ==, name);
  g_assert_nonnull (value->type);
  g_assert_cmpint (value->type->value_case, ==, ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE);
  g_assert_cmpint (value->type->tensor_type->elem_type, ==, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  shape = value->type->tensor_type->shape;
  g_assert_cmpuint (shape->n_dim, ==, (guint) rank + 1);
  g_assert_cmpint (shape->dim[0]->value_case, ==, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM);
  g_assert_cmpstr (shape->dim[0]->dim_param, ==, "N");
  for (int i = 0; i < rank; i++)
    {
      g_assert_cmpint (shape->dim[i + 1]->value_case, ==, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE);
      g_assert_cmpint (shape->dim[i + 1]->dim_value, ==, dims[i]);
    }
}

/* Every initializer is the model's tensor of that name, byte for byte. */
static void
assert_weights (const Onnx__GraphProto *graph, ConvolveModel *model)
{
  int n_tensors = convolve_model_get_n_tensors (model);

  g_assert_cmpuint (graph->n_initializer, ==, (guint) n_tensors);
  for (size_t i = 0; i < graph->n_initializer; i++)
    {
      const Onnx__TensorProto *tensor = graph->initializer[i];
      const ConvolveTensorInfo *info = convolve_model_find_tensor (model, tensor->name);

      g_assert_nonnull (info);
      g_assert_cmpint (tensor->data_type, ==, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
      g_assert_cmpuint (tensor->n_dims, ==, (guint) info->rank);
      for (int d = 0; d < info->rank; d++)
        g_assert_cmpint (tensor->dims[d], ==, info->shape[d]);
      g_assert_true (tensor->has_raw_data);
      g_assert_cmpuint (tensor->raw_data.len, ==, info->size * sizeof (float));
      g_assert_cmpmem (tensor->raw_data.data, tensor->raw_data.len, info->data, info->size * sizeof (float));
    }
}

static void
test_tutorial_graph (void)
{
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 16, 12 };
  g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_TUTORIAL, shape, 3, 21);
  g_autoptr(ConvolveModelMeta) meta = onnx_test_meta (10);
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *proto;
  const Onnx__GraphProto *graph;
  const char *ops[] = { "Conv", "Relu", "BatchNormalization", "MaxPool", "Flatten",
                        "Gemm", "Relu", "Gemm", "Softmax" };
  const int input_dims[] = { 3, 16, 12 };
  const int output_dims[] = { 10 };
  g_autofree char *names = NULL;

  bytes = convolve_onnx_export_to_bytes (model, meta, &error);
  g_assert_no_error (error);
  proto = unpack (bytes);

  g_assert_cmpint (proto->ir_version, ==, CONVOLVE_ONNX_IR_VERSION);
  g_assert_cmpuint (proto->n_opset_import, ==, 1);
  g_assert_cmpstr (proto->opset_import[0]->domain, ==, "");
  g_assert_cmpint (proto->opset_import[0]->version, >=, 13);
  g_assert_cmpstr (proto->producer_name, ==, "Convolve");

  graph = proto->graph;
  g_assert_nonnull (graph);
  g_assert_cmpuint (graph->n_input, ==, 1);
  assert_value_shape (graph->input[0], "input", 3, input_dims);
  g_assert_cmpuint (graph->n_output, ==, 1);
  assert_value_shape (graph->output[0], "probabilities", 1, output_dims);

  /* Dropout gone, the softmax last; each node reads what the one before
   * wrote, the first the input, the last writes the output. */
  g_assert_cmpuint (graph->n_node, ==, G_N_ELEMENTS (ops));
  for (size_t i = 0; i < graph->n_node; i++)
    {
      const Onnx__NodeProto *node = graph->node[i];

      g_assert_cmpstr (node->op_type, ==, ops[i]);
      g_assert_cmpuint (node->n_input, >=, 1);
      g_assert_cmpstr (node->input[0], ==, i == 0 ? "input" : graph->node[i - 1]->output[0]);
      g_assert_cmpuint (node->n_output, ==, 1);
    }
  g_assert_cmpstr (graph->node[graph->n_node - 1]->output[0], ==, "probabilities");
  {
    const gint64 same3[] = { 1, 1, 1, 1 }, ones[] = { 1, 1 }, pool[] = { 2, 2 };

    assert_ints (graph->node[0], "pads", 4, same3);
    assert_ints (graph->node[0], "strides", 2, ones);
    assert_ints (graph->node[3], "kernel_shape", 2, pool);
    assert_ints (graph->node[3], "strides", 2, pool);
    g_assert_cmpfloat_with_epsilon (find_attribute (graph->node[2], "epsilon")->f, 1e-3, 1e-9);
    g_assert_cmpint (find_attribute (graph->node[8], "axis")->i, ==, 1);
    g_assert_cmpstr (graph->node[2]->input[3], ==, "batch_normalization/moving_mean");
    g_assert_cmpstr (graph->node[2]->input[4], ==, "batch_normalization/moving_variance");
  }
  assert_weights (graph, model);

  names = g_strdup_printf ("[\"class-0 “ä”\", \"class-1 “b”\", \"class-2 “ä”\", \"class-3 “b”\", "
                           "\"class-4 “ä”\", \"class-5 “b”\", \"class-6 “ä”\", \"class-7 “b”\", "
                           "\"class-8 “ä”\", \"class-9 “b”\"]");
  g_assert_cmpstr (find_metadata (proto, "class_names"), ==, names);
  g_assert_cmpstr (find_metadata (proto, "input_scale"), ==, "0.00392156886");
  g_assert_cmpstr (find_metadata (proto, "input_offset"), ==, "0");
  g_assert_cmpstr (find_metadata (proto, "input_layout"), ==, "NCHW");
  g_assert_cmpstr (find_metadata (proto, "input_channels"), ==, "RGB");
  g_assert_cmpstr (find_metadata (proto, "convolve_spec"), ==, ONNX_TEST_SPEC_TUTORIAL);
  g_assert_cmpstr (find_metadata (proto, "dataset"), ==, "generated");
  g_assert_nonnull (strstr (find_metadata (proto, "input_normalization"), "[N, 3, 16, 12]"));

  onnx__model_proto__free_unpacked (proto, NULL);
}

static void
test_every_kind_graph (void)
{
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 1, 11, 14 };
  g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_EVERY_KIND, shape, 3, 22);
  g_autoptr(GBytes) bytes = convolve_onnx_export_to_bytes (model, NULL, &error);
  Onnx__ModelProto *proto;
  const Onnx__GraphProto *graph;
  const char *ops[] = { "Conv", "Relu", "BatchNormalization", "Conv", "Relu", "MaxPool",
                        "Flatten", "Gemm", "BatchNormalization", "Relu", "Gemm", "Softmax" };
  const int output_dims[] = { 4 };

  g_assert_no_error (error);
  proto = unpack (bytes);
  graph = proto->graph;
  g_assert_cmpuint (graph->n_node, ==, G_N_ELEMENTS (ops));
  for (size_t i = 0; i < graph->n_node; i++)
    g_assert_cmpstr (graph->node[i]->op_type, ==, ops[i]);
  {
    /* valid: no pads; an even kernel 'same': the extra row and column at
     * the end, as Keras pads. */
    const gint64 none[] = { 0, 0, 0, 0 }, even[] = { 0, 0, 1, 1 }, pool[] = { 3, 3 };

    assert_ints (graph->node[0], "pads", 4, none);
    assert_ints (graph->node[3], "pads", 4, even);
    assert_ints (graph->node[5], "kernel_shape", 2, pool);
  }
  assert_value_shape (graph->output[0], "probabilities", 1, output_dims);
  assert_weights (graph, model);
  /* Without a file's metadata: the dataset's default scaling, the class
   * indices as names. */
  g_assert_cmpstr (find_metadata (proto, "class_names"), ==, "[\"0\", \"1\", \"2\", \"3\"]");
  g_assert_cmpstr (find_metadata (proto, "input_scale"), ==, "0.00392156886");
  g_assert_cmpstr (find_metadata (proto, "input_channels"), ==, "grey");
  g_assert_null (find_metadata (proto, "dataset"));
  onnx__model_proto__free_unpacked (proto, NULL);
}

/* GlobalAveragePooling2D: ONNX's GlobalAveragePool ([N, C, 1, 1]) then a
 * Flatten on axis 1, so the Gemm after it gets [N, C]. */
static void
test_global_avg_pool_graph (void)
{
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 9, 13 };
  g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_GLOBAL_AVG_POOL, shape, 3, 23);
  g_autoptr(GBytes) bytes = convolve_onnx_export_to_bytes (model, NULL, &error);
  Onnx__ModelProto *proto;
  const Onnx__GraphProto *graph;
  const char *ops[] = { "Conv", "Relu", "BatchNormalization", "Conv", "Relu", "GlobalAveragePool",
                        "Flatten", "Gemm", "Relu", "Gemm", "Softmax" };
  const int output_dims[] = { 4 };

  g_assert_no_error (error);
  proto = unpack (bytes);
  graph = proto->graph;
  g_assert_cmpuint (graph->n_node, ==, G_N_ELEMENTS (ops));
  for (size_t i = 0; i < graph->n_node; i++)
    g_assert_cmpstr (graph->node[i]->op_type, ==, ops[i]);
  /* The pool feeds the Flatten, the Flatten (named for the layer) the Gemm. */
  g_assert_cmpstr (graph->node[5]->name, ==, "global_average_pooling2d/pool");
  g_assert_cmpstr (graph->node[6]->input[0], ==, graph->node[5]->output[0]);
  g_assert_cmpstr (graph->node[6]->output[0], ==, "global_average_pooling2d");
  g_assert_cmpstr (graph->node[7]->input[0], ==, "global_average_pooling2d");
  g_assert_cmpuint (graph->node[6]->n_attribute, ==, 1);
  g_assert_cmpstr (graph->node[6]->attribute[0]->name, ==, "axis");
  g_assert_cmpint (graph->node[6]->attribute[0]->i, ==, 1);
  g_assert_cmpuint (graph->node[5]->n_attribute, ==, 0);
  assert_value_shape (graph->output[0], "probabilities", 1, output_dims);
  assert_weights (graph, model);
  g_assert_cmpstr (find_metadata (proto, "convolve_spec"), ==, ONNX_TEST_SPEC_GLOBAL_AVG_POOL);
  onnx__model_proto__free_unpacked (proto, NULL);
}

/* The same model gives the same bytes, in memory and in a file. */
static void
test_file_matches_bytes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_EVERY_KIND,
                                                            (ConvolveShape) { 3, 9, 9 }, 2, 23);
  g_autoptr(ConvolveModelMeta) meta = onnx_test_meta (4);
  g_autoptr(GBytes) bytes = convolve_onnx_export_to_bytes (model, meta, &error);
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GBytes) file = NULL;
  g_autofree char *path = tmp_path ("model.onnx");
  g_autofree char *listing = NULL;

  g_assert_no_error (error);
  again = convolve_onnx_export_to_bytes (model, meta, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (bytes, again));
  g_assert_true (convolve_onnx_export (model, meta, path, &error));
  g_assert_no_error (error);
  file = read_bytes (path);
  g_assert_true (g_bytes_equal (bytes, file));
  listing = list_dir (tmp_dir);
  g_assert_cmpstr (listing, ==, "model.onnx");
  clear_dir ();
}

static void
assert_export_fails_keeping (ConvolveModel *model, const char *target, const char *path,
                             GBytes *previous, const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) after = NULL;

  g_assert_false (convolve_onnx_export (model, NULL, target, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, message_part));
  after = read_bytes (path);
  g_assert_true (g_bytes_equal (previous, after));
}

/* Targets that cannot be written: an error that says why, and the
 * previous file untouched. */
static void
test_unwritable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_EVERY_KIND,
                                                            (ConvolveShape) { 1, 9, 9 }, 1, 24);
  g_autofree char *path = tmp_path ("model.onnx");
  g_autofree char *nowhere = tmp_path ("missing/model.onnx");
  g_autofree char *subdir = tmp_path ("folder");
  g_autoptr(GBytes) previous = NULL;
  g_autofree char *listing = NULL;
  GStatBuf st;

  g_assert_true (convolve_onnx_export (model, NULL, path, &error));
  g_assert_no_error (error);
  previous = read_bytes (path);
  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);

  assert_export_fails_keeping (model, nowhere, path, previous, "No such file");
  assert_export_fails_keeping (model, subdir, path, previous, "not a regular file");
  g_assert_false (convolve_onnx_export (model, NULL, "/dev/full", &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
  g_clear_error (&error);
  g_assert_cmpint (g_stat ("/dev/full", &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));

  listing = list_dir (tmp_dir);
  g_assert_cmpstr (listing, ==, "folder model.onnx");
  g_rmdir (subdir);
  clear_dir ();
}

/* A disk that fills up during the export, simulated with a file size
 * limit in a child process (works for root too, unlike permissions). */
static void
test_full_disk (void)
{
  g_autofree char *path = tmp_path ("model.onnx");

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_TUTORIAL,
                                                                (ConvolveShape) { 3, 8, 8 }, 1, 26);
      struct rlimit limit = { 64 * 1024, 64 * 1024 };

      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      g_assert_false (convolve_onnx_export (model, NULL, path, &error));
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
      g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
      g_printerr ("child: %s\n", error->message);
      return;
    }
  else
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModel) small = onnx_test_trained_model (ONNX_TEST_SPEC_EVERY_KIND,
                                                                (ConvolveShape) { 1, 9, 9 }, 1, 25);
      g_autoptr(GBytes) previous = NULL;
      g_autoptr(GBytes) after = NULL;
      g_autofree char *listing = NULL;

      g_assert_true (convolve_onnx_export (small, NULL, path, &error));
      g_assert_no_error (error);
      previous = read_bytes (path);

      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stderr ("*child: *model.onnx*");

      after = read_bytes (path);
      g_assert_true (g_bytes_equal (previous, after));
      listing = list_dir (tmp_dir);
      g_assert_cmpstr (listing, ==, "model.onnx");
      clear_dir ();
    }
}

/* `convolve-cli export` writes what the library writes; bad options and
 * files give one line and status 1. */
static void
test_cli (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) model = onnx_test_trained_model (ONNX_TEST_SPEC_EVERY_KIND,
                                                            (ConvolveShape) { 3, 9, 10 }, 2, 27);
  g_autoptr(ConvolveModelMeta) meta = onnx_test_meta (4);
  g_autofree char *model_path = tmp_path ("model.safetensors");
  g_autofree char *onnx_path = tmp_path ("model.onnx");
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModelMeta) loaded_meta = NULL;
  g_autoptr(GBytes) expected = NULL;
  g_autoptr(GBytes) written = NULL;
  const char *cli = g_getenv ("CONVOLVE_CLI");
  struct {
    const char *args[4];
    const char *message;
  } failures[] = {
    { { "--format", "tflite", "--out", NULL }, "unknown format “tflite”" },
    { { NULL }, "no output file" },
  };

  g_assert_nonnull (cli);
  g_assert_true (convolve_model_save (model, meta, NULL, model_path, &error));
  g_assert_no_error (error);
  /* What the file holds (the saved floats are the model's). */
  loaded = convolve_model_load (model_path, 1, &loaded_meta, NULL, &error);
  g_assert_no_error (error);
  expected = convolve_onnx_export_to_bytes (loaded, loaded_meta, &error);
  g_assert_no_error (error);

  {
    const char *argv[] = { cli, "export", "--model", model_path, "--format", "onnx",
                           "--out", onnx_path, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (err, ==, "");
    g_assert_true (g_spawn_check_wait_status (status, &error));
    g_assert_nonnull (strstr (out, "model.onnx"));
  }
  written = read_bytes (onnx_path);
  g_assert_true (g_bytes_equal (expected, written));

  for (guint i = 0; i < G_N_ELEMENTS (failures); i++)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = 0;

      g_ptr_array_add (argv, (gpointer) cli);
      g_ptr_array_add (argv, "export");
      g_ptr_array_add (argv, "--model");
      g_ptr_array_add (argv, model_path);
      for (int k = 0; k < 4 && failures[i].args[k] != NULL; k++)
        g_ptr_array_add (argv, (gpointer) failures[i].args[k]);
      if (g_strcmp0 (failures[i].args[0], "--format") == 0)
        g_ptr_array_add (argv, onnx_path);
      g_ptr_array_add (argv, NULL);
      g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &error));
      g_assert_no_error (error);
      g_assert_false (g_spawn_check_wait_status (status, NULL));
      g_assert_nonnull (strstr (err, failures[i].message));
      g_assert_null (strchr (strchr (err, '\n') + 1, '\n'));
    }
  clear_dir ();
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* The full-disk child writes into its parent's folder. */
  if (g_test_subprocess ())
    tmp_dir = g_strdup (g_getenv ("CONVOLVE_TEST_ONNX_DIR"));
  else
    {
      tmp_dir = g_dir_make_tmp ("convolve-onnx-export-XXXXXX", NULL);
      g_setenv ("CONVOLVE_TEST_ONNX_DIR", tmp_dir, TRUE);
    }
  g_assert_nonnull (tmp_dir);

  g_test_add_func ("/export/onnx/graph/tutorial", test_tutorial_graph);
  g_test_add_func ("/export/onnx/graph/every-kind", test_every_kind_graph);
  g_test_add_func ("/export/onnx/graph/global-avg-pool", test_global_avg_pool_graph);
  g_test_add_func ("/export/onnx/file/same-bytes", test_file_matches_bytes);
  g_test_add_func ("/export/onnx/file/unwritable", test_unwritable);
  g_test_add_func ("/export/onnx/file/full-disk", test_full_disk);
  g_test_add_func ("/export/onnx/cli", test_cli);
  status = g_test_run ();

  if (!g_test_subprocess ())
    g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
