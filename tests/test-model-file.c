/* test-model-file.c: models and checkpoints as safetensors files.
 *
 * Round trips (weights, state, metadata, optimizer slots), bitwise-equal
 * resumption of training from a checkpoint, the file's layout checked by a
 * reader independent of the engine (fixture-reader.c), every kind of
 * damaged or foreign file, a bounded random-mutation fuzz of the reader,
 * and atomic saves that leave the previous file when they fail.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "convolve-engine.h"
#include "convolve-limits.h"
#include "fixture-reader.h"
#include "resource-test-util.h"

#define SPEC  "conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,dense(16,relu),dropout(0.2),dense(5,softmax)"
#define BATCH 4
#define N_CLASSES 5

static const ConvolveShape input_shape = { 3, 8, 8 };

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
  char *dir;
} TmpDir;

static void
tmp_dir_setup (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  tmp->dir = g_dir_make_tmp ("convolve-model-file-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
tmp_dir_teardown (TmpDir *tmp, gconstpointer data)
{
  GDir *dir = g_dir_open (tmp->dir, 0, NULL);
  const char *name;

  /* The read-only test may have left the directory without write bits. */
  g_chmod (tmp->dir, 0700);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp->dir, name, NULL);

      g_chmod (path, 0700);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        g_rmdir (path);
      else
        g_unlink (path);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (tmp->dir);
  g_free (tmp->dir);
}

static char *
tmp_path (TmpDir *tmp, const char *name)
{
  return g_build_filename (tmp->dir, name, NULL);
}

static ConvolveModel *
new_model (uint64_t seed, int max_batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (SPEC, &error);
  ConvolveModel *model;

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input_shape, max_batch, seed, &error);
  g_assert_no_error (error);
  return model;
}

static ConvolveOptimizer *
new_optimizer (ConvolveModel *model, ConvolveOptimizerKind kind, float momentum, gboolean nesterov)
{
  g_autoptr(GError) error = NULL;
  ConvolveOptimizerConfig config;
  ConvolveOptimizer *optimizer;
  gsize n_params;

  if (kind == CONVOLVE_OPTIMIZER_ADAM)
    convolve_optimizer_config_init_adam (&config);
  else
    {
      convolve_optimizer_config_init_sgd (&config);
      config.momentum = momentum;
      config.nesterov = nesterov;
    }
  convolve_model_get_params (model, &n_params);
  optimizer = convolve_optimizer_new (&config, n_params, &error);
  g_assert_no_error (error);
  return optimizer;
}

/* The step-th batch of a fixed, seeded stream of random images. */
static void
make_batch (int step, float *x, int32_t *labels)
{
  ConvolveRng rng;
  gsize n = (gsize) BATCH * input_shape.c * input_shape.h * input_shape.w;

  convolve_rng_init (&rng, 1000 + (uint64_t) step);
  for (gsize i = 0; i < n; i++)
    x[i] = convolve_rng_uniform (&rng);
  for (int i = 0; i < BATCH; i++)
    labels[i] = (int32_t) convolve_rng_below (&rng, N_CLASSES);
}

static float
train_one (ConvolveModel *model, ConvolveOptimizer *optimizer, int step)
{
  g_autoptr(GError) error = NULL;
  float x[BATCH * 3 * 8 * 8];
  int32_t labels[BATCH];
  float loss = NAN;

  make_batch (step, x, labels);
  convolve_model_train_step (model, optimizer, x, labels, BATCH, &loss, NULL, &error);
  g_assert_no_error (error);
  return loss;
}

static void
assert_models_identical (ConvolveModel *a, ConvolveModel *b)
{
  g_autofree char *spec_a = convolve_model_spec_to_string (convolve_model_get_spec (a));
  g_autofree char *spec_b = convolve_model_spec_to_string (convolve_model_get_spec (b));
  ConvolveShape in_a = convolve_model_get_input (a);
  ConvolveShape in_b = convolve_model_get_input (b);

  g_assert_cmpstr (spec_a, ==, spec_b);
  g_assert_cmpint (in_a.c, ==, in_b.c);
  g_assert_cmpint (in_a.h, ==, in_b.h);
  g_assert_cmpint (in_a.w, ==, in_b.w);
  g_assert_cmpint (convolve_model_get_n_tensors (a), ==, convolve_model_get_n_tensors (b));
  for (int i = 0; i < convolve_model_get_n_tensors (a); i++)
    {
      const ConvolveTensorInfo *ta = convolve_model_get_tensor (a, i);
      const ConvolveTensorInfo *tb = convolve_model_get_tensor (b, i);

      g_assert_cmpstr (ta->name, ==, tb->name);
      g_assert_cmpint (ta->rank, ==, tb->rank);
      for (int d = 0; d < ta->rank; d++)
        g_assert_cmpint (ta->shape[d], ==, tb->shape[d]);
      g_assert_cmpmem (ta->data, ta->size * sizeof (float), tb->data, tb->size * sizeof (float));
    }
  g_assert_cmpmem (convolve_model_get_rng (a), sizeof (ConvolveRng),
                   convolve_model_get_rng (b), sizeof (ConvolveRng));
}

static void
assert_optimizers_identical (ConvolveOptimizer *a, ConvolveOptimizer *b)
{
  const ConvolveOptimizerConfig *ca = convolve_optimizer_get_config (a);
  const ConvolveOptimizerConfig *cb = convolve_optimizer_get_config (b);
  gsize n = convolve_optimizer_get_n_params (a);

  g_assert_cmpint (ca->kind, ==, cb->kind);
  g_assert_cmpfloat (ca->learning_rate, ==, cb->learning_rate);
  g_assert_cmpfloat (ca->beta_1, ==, cb->beta_1);
  g_assert_cmpfloat (ca->beta_2, ==, cb->beta_2);
  g_assert_cmpfloat (ca->epsilon, ==, cb->epsilon);
  g_assert_cmpfloat (ca->momentum, ==, cb->momentum);
  g_assert_cmpint (ca->nesterov, ==, cb->nesterov);
  g_assert_cmpint (convolve_optimizer_get_iterations (a), ==, convolve_optimizer_get_iterations (b));
  g_assert_cmpuint (n, ==, convolve_optimizer_get_n_params (b));
  g_assert_cmpint (convolve_optimizer_get_n_slots (a), ==, convolve_optimizer_get_n_slots (b));
  for (int s = 0; s < convolve_optimizer_get_n_slots (a); s++)
    {
      g_assert_cmpstr (convolve_optimizer_get_slot_name (a, s), ==, convolve_optimizer_get_slot_name (b, s));
      g_assert_cmpmem (convolve_optimizer_get_slot (a, s), n * sizeof (float),
                       convolve_optimizer_get_slot (b, s), n * sizeof (float));
    }
}

static ConvolveModelMeta *
new_meta (void)
{
  ConvolveModelMeta *meta = convolve_model_meta_new ();
  const char *names[] = {
    "plane", "say \"cheese\"", "back\\slash", "tab\tnew\nline\x01", "ünïcödé 猫 😀", NULL
  };

  meta->class_names = g_strdupv ((char **) names);
  meta->dataset = g_strdup ("cifar10");
  meta->input_scale = 1.0f / 255.0f;
  meta->input_offset = -0.1234567f;
  meta->epoch = 3;
  meta->step = G_GINT64_CONSTANT (9007199254740993); /* 2^53 + 1: not a double */
  g_hash_table_insert (meta->extra, g_strdup ("shuffle_rng"), g_strdup ("0123456789abcdef"));
  g_hash_table_insert (meta->extra, g_strdup ("odd \"key\"\x1f"), g_strdup ("value/with\\escapes\r"));
  return meta;
}

static void
assert_meta_equal (const ConvolveModelMeta *a, const ConvolveModelMeta *b)
{
  GHashTableIter iter;
  gpointer key, value;

  g_assert_true (g_strv_equal ((const char * const *) a->class_names,
                               (const char * const *) b->class_names));
  g_assert_cmpstr (a->dataset, ==, b->dataset);
  g_assert_cmpfloat (a->input_scale, ==, b->input_scale);
  g_assert_cmpfloat (a->input_offset, ==, b->input_offset);
  g_assert_cmpint (a->epoch, ==, b->epoch);
  g_assert_cmpint (a->step, ==, b->step);
  g_assert_cmpuint (g_hash_table_size (a->extra), ==, g_hash_table_size (b->extra));
  g_hash_table_iter_init (&iter, a->extra);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (g_hash_table_lookup (b->extra, key), ==, value);
}

static void
save_or_die (ConvolveModel *model, const ConvolveModelMeta *meta, ConvolveOptimizer *optimizer,
             const char *path)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (convolve_model_save (model, meta, optimizer, path, &error));
  g_assert_no_error (error);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

/* No fsync (g_file_set_contents would): these files are read back at
 * once, thousands of times in the fuzz test. */
static void
write_plain (const char *path, const void *data, gsize length)
{
  FILE *file = g_fopen (path, "wb");

  g_assert_nonnull (file);
  if (length > 0)
    g_assert_cmpuint (fwrite (data, 1, length, file), ==, length);
  g_assert_cmpint (fclose (file), ==, 0);
}

static void
write_bytes (const char *path, GBytes *bytes)
{

  write_plain (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Lists the directory, to catch temporary files left behind. */
static char *
list_dir (const char *path)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */
/* ------------------------------------------------------------------------ */

static void
test_meta_defaults (void)
{
  g_autoptr(ConvolveModelMeta) meta = convolve_model_meta_new ();

  g_assert_null (meta->class_names);
  g_assert_null (meta->dataset);
  g_assert_cmpfloat (meta->input_scale, ==, 1.0f / 255.0f);
  g_assert_cmpfloat (meta->input_offset, ==, 0.0f);
  g_assert_cmpint (meta->epoch, ==, 0);
  g_assert_cmpint (meta->step, ==, 0);
  g_assert_nonnull (meta->extra);
  convolve_model_meta_free (NULL);
}

static void
test_round_trip_model (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) model = new_model (11, BATCH);
  g_autoptr(ConvolveOptimizer) optimizer = new_optimizer (model, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
  g_autoptr(ConvolveModelMeta) meta = new_meta ();
  g_autoptr(ConvolveModelMeta) loaded_meta = NULL;
  g_autoptr(ConvolveOptimizer) loaded_optimizer = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModel) small = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  g_autofree char *path = tmp_path (tmp, "model.safetensors");

  /* Trained weights and moving statistics, and a used RNG. */
  for (int step = 0; step < 3; step++)
    train_one (model, optimizer, step);

  save_or_die (model, meta, NULL, path);
  loaded = convolve_model_load (path, BATCH, &loaded_meta, &loaded_optimizer, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_null (loaded_optimizer);
  assert_models_identical (model, loaded);
  assert_meta_equal (meta, loaded_meta);
  g_assert_cmpint (convolve_model_get_max_batch (loaded), ==, BATCH);

  /* The same model gives the same bytes. */
  first = read_bytes (path);
  save_or_die (model, meta, NULL, path);
  second = read_bytes (path);
  g_assert_true (g_bytes_equal (first, second));

  /* Any batch size, and no out-parameters. */
  small = convolve_model_load (path, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (convolve_model_get_max_batch (small), ==, 1);
  assert_models_identical (model, small);

  /* No metadata given: defaults, and they load back. */
  g_clear_pointer (&loaded_meta, convolve_model_meta_free);
  g_clear_pointer (&loaded, convolve_model_free);
  save_or_die (model, NULL, NULL, path);
  loaded = convolve_model_load (path, BATCH, &loaded_meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (loaded_meta->class_names);
  g_assert_null (loaded_meta->dataset);
  g_assert_cmpfloat (loaded_meta->input_scale, ==, 1.0f / 255.0f);
  g_assert_cmpuint (g_hash_table_size (loaded_meta->extra), ==, 0);
  assert_models_identical (model, loaded);

  g_assert_null (convolve_model_load (path, 0, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
}

/* A layer without weights of its own: only the spec text carries it, and
 * the loaded model predicts as the saved one. */
static void
test_round_trip_globalavgpool (TmpDir *tmp, gconstpointer data)
{
  const char *spec_text = "conv2d(6,3,same,relu),batchnorm,globalavgpool,dense(5,softmax)";
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, &error);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autofree char *path = tmp_path (tmp, "gap.safetensors");
  g_autofree char *loaded_text = NULL;
  float x[BATCH * 3 * 8 * 8], p_saved[BATCH * N_CLASSES], p_loaded[BATCH * N_CLASSES];
  int32_t labels[BATCH];

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input_shape, BATCH, 5, &error);
  g_assert_no_error (error);
  optimizer = new_optimizer (model, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
  for (int step = 0; step < 3; step++)
    train_one (model, optimizer, step);

  save_or_die (model, NULL, NULL, path);
  loaded = convolve_model_load (path, BATCH, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_models_identical (model, loaded);
  loaded_text = convolve_model_spec_to_string (convolve_model_get_spec (loaded));
  g_assert_cmpstr (loaded_text, ==, "conv2d(6,3,same,relu),batchnorm,globalavgpool,dense(5,softmax)");
  /* conv2d kernel and bias, BN's four tensors, dense kernel and bias */
  g_assert_cmpint (convolve_model_get_n_tensors (loaded), ==, 8);

  make_batch (7, x, labels);
  g_assert_true (convolve_model_predict (model, x, BATCH, p_saved, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_model_predict (loaded, x, BATCH, p_loaded, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (p_saved, sizeof p_saved, p_loaded, sizeof p_loaded);
}

static void
check_checkpoint_round_trip (TmpDir *tmp, ConvolveOptimizerKind kind, float momentum,
                             gboolean nesterov, int expected_slots)
{
  g_autoptr(ConvolveModel) model = new_model (12, BATCH);
  g_autoptr(ConvolveOptimizer) optimizer = new_optimizer (model, kind, momentum, nesterov);
  g_autoptr(ConvolveModelMeta) meta = new_meta ();
  g_autoptr(ConvolveModelMeta) loaded_meta = NULL;
  g_autoptr(ConvolveOptimizer) loaded_optimizer = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModel) weights_only = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path (tmp, "checkpoint.safetensors");

  for (int step = 0; step < 4; step++)
    train_one (model, optimizer, step);
  g_assert_cmpint (convolve_optimizer_get_n_slots (optimizer), ==, expected_slots);
  convolve_optimizer_set_learning_rate (optimizer, 0.000123f);

  save_or_die (model, meta, optimizer, path);
  loaded = convolve_model_load (path, BATCH, &loaded_meta, &loaded_optimizer, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded_optimizer);
  assert_models_identical (model, loaded);
  assert_meta_equal (meta, loaded_meta);
  assert_optimizers_identical (optimizer, loaded_optimizer);
  g_assert_cmpint (convolve_optimizer_get_iterations (loaded_optimizer), ==, 4);

  /* A checkpoint opened as a plain model: every tensor still checked,
   * the slots skipped. */
  weights_only = convolve_model_load (path, BATCH, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_models_identical (model, weights_only);
}

static void
test_round_trip_adam (TmpDir *tmp, gconstpointer data)
{
  check_checkpoint_round_trip (tmp, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE, 2);
}

static void
test_round_trip_sgd_momentum (TmpDir *tmp, gconstpointer data)
{
  check_checkpoint_round_trip (tmp, CONVOLVE_OPTIMIZER_SGD, 0.9f, TRUE, 1);
}

static void
test_round_trip_sgd_plain (TmpDir *tmp, gconstpointer data)
{
  check_checkpoint_round_trip (tmp, CONVOLVE_OPTIMIZER_SGD, 0.0f, FALSE, 0);
}

/* The bytes on disk, read without the engine's reader. */
static void
test_layout (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) model = new_model (13, BATCH);
  g_autoptr(ConvolveOptimizer) optimizer = new_optimizer (model, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
  g_autoptr(ConvolveModelMeta) meta = new_meta ();
  g_autoptr(FixtureFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *path = tmp_path (tmp, "checkpoint.safetensors");
  g_autofree char *spec = convolve_model_spec_to_string (convolve_model_get_spec (model));
  g_autofree char *rng = NULL;
  gsize n_params;
  float *params = convolve_model_get_params (model, &n_params);
  guint64 expected_offset = 0;
  int n_tensors = convolve_model_get_n_tensors (model);
  int n_trainable = 0;

  for (int step = 0; step < 2; step++)
    train_one (model, optimizer, step);
  rng = convolve_rng_to_string (convolve_model_get_rng (model));
  save_or_die (model, meta, optimizer, path);
  file = fixture_file_read (path);

  g_assert_cmpuint (file->header_length % 8, ==, 0);
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "format"), ==, "convolve-model");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "format_version"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "spec"), ==, spec);
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "input_shape"), ==, "[3,8,8]");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "dataset"), ==, "cifar10");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "epoch"), ==, "3");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "step"), ==, "9007199254740993");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "rng"), ==, rng);
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "optimizer"), ==, "adam");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "optimizer.iterations"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "extra.shuffle_rng"), ==, "0123456789abcdef");
  g_assert_cmpstr (g_hash_table_lookup (file->metadata, "class_names"), ==,
                   "[\"plane\",\"say \\\"cheese\\\"\",\"back\\\\slash\","
                   "\"tab\\tnew\\nline\\u0001\",\"ünïcödé 猫 😀\"]");

  /* Model tensors in model order, then each slot's, contiguous, F32. */
  for (int i = 0; i < n_tensors; i++)
    n_trainable += convolve_model_get_tensor (model, i)->trainable;
  g_assert_cmpuint (file->tensors->len, ==, (guint) (n_tensors + 2 * n_trainable));
  for (guint i = 0; i < file->tensors->len; i++)
    {
      FixtureTensor *tensor = g_ptr_array_index (file->tensors, i);
      g_autofree float *values = NULL;
      const ConvolveTensorInfo *info;
      const float *expected;
      gsize n;

      g_assert_cmpstr (tensor->dtype, ==, "F32");
      g_assert_cmpuint (tensor->begin, ==, expected_offset);
      expected_offset = tensor->end;

      if (g_str_has_prefix (tensor->name, "optimizer/"))
        {
          const char *rest = tensor->name + strlen ("optimizer/");
          int slot = g_str_has_prefix (rest, "m/") ? 0 : 1;

          g_assert_true (g_str_has_prefix (rest, slot == 0 ? "m/" : "v/"));
          g_assert_cmpstr (convolve_optimizer_get_slot_name (optimizer, slot), ==, slot == 0 ? "m" : "v");
          info = convolve_model_find_tensor (model, rest + 2);
          g_assert_nonnull (info);
          g_assert_true (info->trainable);
          expected = convolve_optimizer_get_slot (optimizer, slot) + (info->data - params);
        }
      else
        {
          info = convolve_model_find_tensor (model, tensor->name);
          g_assert_nonnull (info);
          g_assert_true (info == convolve_model_get_tensor (model, (int) i));
          expected = info->data;
        }
      g_assert_cmpint (tensor->rank, ==, info->rank);
      for (int d = 0; d < info->rank; d++)
        g_assert_cmpint (tensor->shape[d], ==, info->shape[d]);
      values = fixture_tensor_dup_floats (tensor, &n);
      g_assert_cmpmem (values, n * sizeof (float), expected, info->size * sizeof (float));
    }
  bytes = read_bytes (path);
  g_assert_cmpuint (8 + file->header_length + expected_offset, ==, g_bytes_get_size (bytes));
}

/* Training from a reloaded checkpoint loses nothing: the same losses, bit
 * for bit, as an uninterrupted run (Dropout draws from the saved RNG). */
static void
test_resume_bitwise (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) straight = new_model (21, BATCH);
  g_autoptr(ConvolveOptimizer) straight_opt = new_optimizer (straight, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
  g_autoptr(ConvolveModel) resumed = new_model (21, BATCH);
  g_autoptr(ConvolveOptimizer) resumed_opt = new_optimizer (resumed, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
  g_autoptr(ConvolveModelMeta) meta = convolve_model_meta_new ();
  g_autoptr(ConvolveModelMeta) loaded_meta = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path (tmp, "resume.safetensors");
  const int total = 8, split = 3;
  float straight_losses[8], resumed_losses[8];
  gboolean losses_moved = FALSE;

  for (int step = 0; step < total; step++)
    straight_losses[step] = train_one (straight, straight_opt, step);

  for (int step = 0; step < split; step++)
    resumed_losses[step] = train_one (resumed, resumed_opt, step);
  meta->step = split;
  save_or_die (resumed, meta, resumed_opt, path);
  g_clear_pointer (&resumed, convolve_model_free);
  g_clear_pointer (&resumed_opt, convolve_optimizer_free);

  resumed = convolve_model_load (path, BATCH, &loaded_meta, &resumed_opt, &error);
  g_assert_no_error (error);
  g_assert_nonnull (resumed_opt);
  for (int step = (int) loaded_meta->step; step < total; step++)
    resumed_losses[step] = train_one (resumed, resumed_opt, step);

  g_assert_cmpmem (straight_losses, sizeof straight_losses, resumed_losses, sizeof resumed_losses);
  for (int step = 1; step < total; step++)
    losses_moved |= straight_losses[step] != straight_losses[0];
  g_assert_true (losses_moved);
  assert_models_identical (straight, resumed);
  assert_optimizers_identical (straight_opt, resumed_opt);
}

/* ------------------------------------------------------------------------ */
/* Damaged, foreign and mismatched files                                     */
/* ------------------------------------------------------------------------ */

typedef GBytes *(*DamageFunc) (GBytes *valid, const char *valid_path);

typedef struct {
  const char *name;
  DamageFunc  damage;
  int         code;
  const char *says;   /* a phrase the message must contain */
} CorruptCase;

static guint64
header_length_of (GBytes *bytes)
{
  guint64 n;

  g_assert_cmpuint (g_bytes_get_size (bytes), >=, 8);
  memcpy (&n, g_bytes_get_data (bytes, NULL), 8);
  return GUINT64_FROM_LE (n);
}

/* A new file from header text (padded here) and a data block. */
static GBytes *
assemble (const char *header, gsize header_len, const guint8 *data, gsize data_len)
{
  GByteArray *out = g_byte_array_new ();
  gsize padded = (header_len + 7) / 8 * 8;
  guint64 n = GUINT64_TO_LE ((guint64) padded);

  g_byte_array_append (out, (const guint8 *) &n, 8);
  g_byte_array_append (out, (const guint8 *) header, (guint) header_len);
  for (gsize i = header_len; i < padded; i++)
    g_byte_array_append (out, (const guint8 *) " ", 1);
  g_byte_array_append (out, data, (guint) data_len);
  return g_byte_array_free_to_bytes (out);
}

/* Replaces the first occurrence of find in the header (which must exist). */
static GBytes *
edit_header (GBytes *valid, const char *find, const char *replace)
{
  const guint8 *bytes = g_bytes_get_data (valid, NULL);
  guint64 n = header_length_of (valid);
  g_autofree char *header = g_strndup ((const char *) bytes + 8, n);
  g_autoptr(GString) edited = NULL;
  char *at = strstr (header, find);

  if (at == NULL)
    g_error ("“%s” is not in the header", find);
  edited = g_string_new_len (header, at - header);
  g_string_append (edited, replace);
  g_string_append (edited, at + strlen (find));
  while (edited->len > 0 && edited->str[edited->len - 1] == ' ')
    g_string_truncate (edited, edited->len - 1);
  return assemble (edited->str, edited->len, bytes + 8 + n, g_bytes_get_size (valid) - 8 - n);
}

static GBytes *
with_file (const char *valid_path, void (*edit) (FixtureFile *file), gboolean contiguous)
{
  g_autoptr(FixtureFile) file = fixture_file_read (valid_path);

  edit (file);
  return fixture_file_to_bytes (file, contiguous, NULL);
}

static FixtureTensor *
must_find (FixtureFile *file, const char *name)
{
  FixtureTensor *tensor = fixture_file_find (file, name);

  g_assert_nonnull (tensor);
  return tensor;
}

static void
set_float (FixtureTensor *tensor, gsize index, float value)
{
  gsize size;
  guint8 *copy = g_bytes_unref_to_data (tensor->data, &size);
  guint32 word;

  g_assert_cmpuint ((index + 1) * 4, <=, size);
  memcpy (&word, &value, 4);
  word = GUINT32_TO_LE (word);
  memcpy (copy + index * 4, &word, 4);
  tensor->data = g_bytes_new_take (copy, size);
}

static GBytes *
prefix_of (GBytes *valid, gsize length)
{
  return g_bytes_new_from_bytes (valid, 0, length);
}

static GBytes *damage_empty (GBytes *v, const char *p) { return g_bytes_new (NULL, 0); }

static GBytes *
damage_png (GBytes *v, const char *p)
{
  static const guint8 png[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
    0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde,
  };
  return g_bytes_new (png, sizeof png);
}

static GBytes *
damage_text (GBytes *v, const char *p)
{
  static const char text[] = "These are not the weights you are looking for.\n";
  return g_bytes_new (text, sizeof text - 1);
}

static GBytes *damage_short (GBytes *v, const char *p) { return prefix_of (v, 5); }
static GBytes *damage_length_only (GBytes *v, const char *p) { return prefix_of (v, 8); }
static GBytes *damage_cut_header (GBytes *v, const char *p) { return prefix_of (v, 8 + header_length_of (v) / 2); }
static GBytes *damage_cut_after_header (GBytes *v, const char *p) { return prefix_of (v, 8 + header_length_of (v)); }
static GBytes *damage_cut_data (GBytes *v, const char *p)
{
  return prefix_of (v, 8 + header_length_of (v) + (g_bytes_get_size (v) - 8 - header_length_of (v)) / 2);
}
static GBytes *damage_cut_last_byte (GBytes *v, const char *p) { return prefix_of (v, g_bytes_get_size (v) - 1); }

static GBytes *
set_length (GBytes *v, guint64 length)
{
  gsize size;
  guint8 *copy = g_memdup2 (g_bytes_get_data (v, &size), g_bytes_get_size (v));
  guint64 le = GUINT64_TO_LE (length);

  memcpy (copy, &le, 8);
  return g_bytes_new_take (copy, size);
}

static GBytes *damage_length_huge (GBytes *v, const char *p) { return set_length (v, G_GUINT64_CONSTANT (1) << 40); }
static GBytes *damage_length_beyond (GBytes *v, const char *p) { return set_length (v, g_bytes_get_size (v)); }
static GBytes *damage_length_short (GBytes *v, const char *p) { return set_length (v, header_length_of (v) - 16); }
static GBytes *damage_length_zero (GBytes *v, const char *p) { return set_length (v, 0); }

static GBytes *damage_json_colon (GBytes *v, const char *p) { return edit_header (v, "\"data_offsets\":", "\"data_offsets\" "); }
static GBytes *damage_json_comma (GBytes *v, const char *p) { return edit_header (v, "]}", "],}"); }
static GBytes *damage_json_trailing (GBytes *v, const char *p) { return edit_header (v, "]}}", "]}}x"); }
static GBytes *damage_json_utf8 (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\xff\xfe"); }
static GBytes *damage_json_control (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\x01" "0"); }
static GBytes *damage_json_duplicate (GBytes *v, const char *p) { return edit_header (v, "\"dataset\":", "\"dataset\":\"x\",\"dataset\":"); }
static GBytes *damage_json_surrogate (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\\udc00"); }
static GBytes *damage_json_high_surrogate (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\\ud83d!"); }
static GBytes *damage_json_nul (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\\u0000"); }
static GBytes *damage_json_escape (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\\q"); }
static GBytes *damage_json_hex (GBytes *v, const char *p) { return edit_header (v, "cifar10", "cifar\\u12g4"); }
static GBytes *damage_json_leading_zero (GBytes *v, const char *p) { return edit_header (v, "\"shape\":[4,", "\"shape\":[04,"); }
static GBytes *damage_json_unterminated (GBytes *v, const char *p) { return edit_header (v, "\"cifar10\"", "\"cifar10"); }

static GBytes *
damage_json_deep (GBytes *v, const char *p)
{
  g_autoptr(GString) deep = g_string_new ("\"__metadata__\":{\"extra.deep\":");

  for (int i = 0; i < 5000; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 5000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, ',');
  return edit_header (v, "\"__metadata__\":{", deep->str);
}

static GBytes *
damage_stray_member (GBytes *v, const char *p)
{
  return assemble ("{\"a\":1} ", 8, NULL, 0);
}

static GBytes *
damage_array_header (GBytes *v, const char *p)
{
  return assemble ("[1,2,3]", 7, NULL, 0);
}

static void
make_foreign (FixtureFile *file)
{
  static const float weight[6] = { 1, 2, 3, 4, 5, 6 };
  static const gint64 shape[2] = { 2, 3 };

  g_clear_pointer (&file->metadata, g_hash_table_unref);
  g_ptr_array_set_size (file->tensors, 0);
  g_ptr_array_add (file->tensors, fixture_tensor_new ("model.weight", "F32", 2, shape, weight, sizeof weight));
  g_ptr_array_add (file->tensors, fixture_tensor_new ("model.bias", "F32", 1, shape, weight, 8));
}
static GBytes *damage_foreign (GBytes *v, const char *p) { return with_file (p, make_foreign, TRUE); }

static void
make_foreign_metadata (FixtureFile *file)
{
  g_hash_table_remove_all (file->metadata);
  g_hash_table_insert (file->metadata, g_strdup ("format"), g_strdup ("pt"));
}
static GBytes *damage_foreign_metadata (GBytes *v, const char *p) { return with_file (p, make_foreign_metadata, TRUE); }

static void
make_future (FixtureFile *file)
{
  g_hash_table_insert (file->metadata, g_strdup ("format_version"), g_strdup ("2"));
}
static GBytes *damage_future (GBytes *v, const char *p) { return with_file (p, make_future, TRUE); }

static void
make_f16 (FixtureFile *file)
{
  FixtureTensor *tensor = must_find (file, "dense/bias");

  g_free (tensor->dtype);
  tensor->dtype = g_strdup ("F16");
}
static GBytes *damage_dtype (GBytes *v, const char *p) { return with_file (p, make_f16, TRUE); }

static void
make_reshaped (FixtureFile *file)
{
  FixtureTensor *tensor = must_find (file, "conv2d/kernel");

  /* [4,3,3,3] as [4,3,1,9]: the same bytes, the wrong shape. */
  tensor->shape[2] = 1;
  tensor->shape[3] = 9;
}
static GBytes *damage_wrong_shape (GBytes *v, const char *p) { return with_file (p, make_reshaped, TRUE); }

static void
make_transposed (FixtureFile *file)
{
  FixtureTensor *tensor = must_find (file, "dense_1/kernel");
  gint64 rows = tensor->shape[0];

  tensor->shape[0] = tensor->shape[1];
  tensor->shape[1] = rows;
}
static GBytes *damage_transposed (GBytes *v, const char *p) { return with_file (p, make_transposed, TRUE); }

static void
make_unknown (FixtureFile *file)
{
  static const float values[2] = { 1, 2 };
  static const gint64 shape[1] = { 2 };

  g_ptr_array_add (file->tensors, fixture_tensor_new ("dense_9/kernel", "F32", 1, shape, values, sizeof values));
}
static GBytes *damage_unknown_tensor (GBytes *v, const char *p) { return with_file (p, make_unknown, TRUE); }

static void
make_slot_for_state (FixtureFile *file)
{
  FixtureTensor *mean = must_find (file, "batch_normalization/moving_mean");

  g_ptr_array_add (file->tensors,
                   fixture_tensor_new ("optimizer/m/batch_normalization/moving_mean", "F32",
                                       mean->rank, mean->shape,
                                       g_bytes_get_data (mean->data, NULL), g_bytes_get_size (mean->data)));
}
static GBytes *damage_slot_for_state (GBytes *v, const char *p) { return with_file (p, make_slot_for_state, TRUE); }

static void
make_missing (FixtureFile *file)
{
  g_assert_true (g_ptr_array_remove (file->tensors, must_find (file, "batch_normalization/moving_mean")));
}
static GBytes *damage_missing (GBytes *v, const char *p) { return with_file (p, make_missing, TRUE); }

static void
make_missing_slot (FixtureFile *file)
{
  g_assert_true (g_ptr_array_remove (file->tensors, must_find (file, "optimizer/v/dense/bias")));
}
static GBytes *damage_missing_slot (GBytes *v, const char *p) { return with_file (p, make_missing_slot, TRUE); }

static void
make_overlap (FixtureFile *file)
{
  FixtureTensor *tensor = must_find (file, "conv2d/bias");

  tensor->begin -= 4;
  tensor->end -= 4;
}
static GBytes *damage_overlap (GBytes *v, const char *p) { return with_file (p, make_overlap, FALSE); }

static FixtureTensor *
last_tensor (FixtureFile *file)
{
  FixtureTensor *last = NULL;

  for (guint i = 0; i < file->tensors->len; i++)
    {
      FixtureTensor *tensor = g_ptr_array_index (file->tensors, i);

      if (last == NULL || tensor->end > last->end)
        last = tensor;
    }
  return last;
}

static void
make_gap (FixtureFile *file)
{
  FixtureTensor *tensor = last_tensor (file);

  tensor->begin += 4;
  tensor->end += 4;
}
static GBytes *damage_gap (GBytes *v, const char *p) { return with_file (p, make_gap, FALSE); }

static void
make_size_mismatch (FixtureFile *file)
{
  last_tensor (file)->end += 4;
}
static GBytes *damage_size_mismatch (GBytes *v, const char *p) { return with_file (p, make_size_mismatch, FALSE); }

static void
make_reversed_offsets (FixtureFile *file)
{
  FixtureTensor *tensor = must_find (file, "conv2d/bias");
  guint64 begin = tensor->begin;

  tensor->begin = tensor->end;
  tensor->end = begin;
}
static GBytes *damage_reversed_offsets (GBytes *v, const char *p) { return with_file (p, make_reversed_offsets, FALSE); }

static GBytes *
damage_trailing_bytes (GBytes *v, const char *p)
{
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, g_bytes_get_data (v, NULL), (guint) g_bytes_get_size (v));
  g_byte_array_append (out, (const guint8 *) "\0\0\0\0", 4);
  return g_byte_array_free_to_bytes (out);
}

static void make_nan (FixtureFile *file) { set_float (must_find (file, "dense/kernel"), 17, NAN); }
static GBytes *damage_nan (GBytes *v, const char *p) { return with_file (p, make_nan, TRUE); }
static void make_inf (FixtureFile *file) { set_float (must_find (file, "optimizer/v/conv2d/kernel"), 3, -INFINITY); }
static GBytes *damage_inf (GBytes *v, const char *p) { return with_file (p, make_inf, TRUE); }
static void make_negative_variance (FixtureFile *file) { set_float (must_find (file, "batch_normalization/moving_variance"), 1, -0.5f); }
static GBytes *damage_negative_variance (GBytes *v, const char *p) { return with_file (p, make_negative_variance, TRUE); }

#define META_EDIT(fn, key, value)                                          \
  static void make_##fn (FixtureFile *file)                                \
  {                                                                        \
    if ((value) == NULL)                                                   \
      g_assert_true (g_hash_table_remove (file->metadata, key));          \
    else                                                                   \
      g_hash_table_insert (file->metadata, g_strdup (key), g_strdup (value)); \
  }                                                                        \
  static GBytes *damage_##fn (GBytes *v, const char *p) { return with_file (p, make_##fn, TRUE); }

META_EDIT (no_format_version, "format_version", (const char *) NULL)
META_EDIT (no_spec, "spec", (const char *) NULL)
META_EDIT (no_input_shape, "input_shape", (const char *) NULL)
META_EDIT (no_rng, "rng", (const char *) NULL)
META_EDIT (no_epoch, "epoch", (const char *) NULL)
META_EDIT (no_scale, "input_scale", (const char *) NULL)
META_EDIT (no_iterations, "optimizer.iterations", (const char *) NULL)
META_EDIT (bad_rng, "rng", "zz")
META_EDIT (zero_rng, "rng", "0000000000000000000000000000000000000000000000000000000000000000")
META_EDIT (bad_spec, "spec", "conv2d(banana)")
META_EDIT (impossible_spec, "spec", "conv2d(4,9,valid,relu),batchnorm,maxpool(2),flatten,dense(16,relu),dense(5,softmax)")
META_EDIT (other_spec, "spec", "conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,dense(17,relu),dense(5,softmax)")
META_EDIT (huge_spec, "spec", "conv2d(4,3,same,relu),batchnorm,maxpool(2),flatten,dense(60000,relu),dense(5,softmax)")
META_EDIT (short_input_shape, "input_shape", "[3,8]")
META_EDIT (zero_input_shape, "input_shape", "[3,0,8]")
META_EDIT (huge_input_shape, "input_shape", "[3,100000,8]")
META_EDIT (text_input_shape, "input_shape", "3x8x8")
META_EDIT (other_input_shape, "input_shape", "[3,16,16]")
META_EDIT (negative_epoch, "epoch", "-1")
META_EDIT (junk_step, "step", "12abc")
META_EDIT (nan_scale, "input_scale", "nan")
META_EDIT (huge_input_offset, "input_offset", "1e300")
META_EDIT (many_class_names, "class_names", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]")
META_EDIT (bad_class_names, "class_names", "[\"a\",2,\"c\",\"d\",\"e\"]")
META_EDIT (text_class_names, "class_names", "plane,car")
META_EDIT (unknown_optimizer, "optimizer", "rmsprop")
META_EDIT (bad_learning_rate, "optimizer.learning_rate", "fast")
META_EDIT (negative_learning_rate, "optimizer.learning_rate", "-1")
META_EDIT (bad_nesterov, "optimizer.nesterov", "maybe")
META_EDIT (sgd_instead_of_adam, "optimizer", "sgd")

static GBytes *damage_metadata_number (GBytes *v, const char *p) { return edit_header (v, "\"epoch\":\"3\"", "\"epoch\":3"); }
static GBytes *damage_metadata_array (GBytes *v, const char *p) { return edit_header (v, "\"__metadata__\":{", "\"__metadata__\":[],\"x\":{"); }
static GBytes *damage_entry_extra_key (GBytes *v, const char *p) { return edit_header (v, "{\"dtype\":\"F32\",", "{\"dtype\":\"F32\",\"foo\":1,"); }
static GBytes *damage_entry_not_object (GBytes *v, const char *p) { return edit_header (v, "{\"dtype\":\"F32\",\"shape\":[4,3,3,3],\"data_offsets\":[0,432]}", "[0,432]"); }
static GBytes *damage_negative_shape (GBytes *v, const char *p) { return edit_header (v, "\"shape\":[4,", "\"shape\":[-4,"); }
static GBytes *damage_float_shape (GBytes *v, const char *p) { return edit_header (v, "\"shape\":[4,", "\"shape\":[4.0,"); }
static GBytes *damage_exp_offset (GBytes *v, const char *p) { return edit_header (v, "\"data_offsets\":[0,", "\"data_offsets\":[0e0,"); }
static GBytes *damage_huge_shape (GBytes *v, const char *p) { return edit_header (v, "\"shape\":[4,", "\"shape\":[2147483647,2147483647,2147483647,"); }
static GBytes *damage_huge_offset (GBytes *v, const char *p) { return edit_header (v, "\"data_offsets\":[0,", "\"data_offsets\":[99999999999999999999999,"); }
static GBytes *damage_string_offset (GBytes *v, const char *p) { return edit_header (v, "\"data_offsets\":[0,", "\"data_offsets\":[\"0\","); }

#define CORRUPT  CONVOLVE_ENGINE_ERROR_CORRUPT
#define FOREIGN  CONVOLVE_ENGINE_ERROR_UNSUPPORTED
#define MISMATCH CONVOLVE_ENGINE_ERROR_MISMATCH

static const CorruptCase corrupt_cases[] = {
  { "empty", damage_empty, CORRUPT, "is empty" },
  { "png", damage_png, FOREIGN, "not in the safetensors format" },
  { "text", damage_text, FOREIGN, "not in the safetensors format" },
  { "short", damage_short, CORRUPT, "too short" },
  { "length-only", damage_length_only, CORRUPT, "too short" },
  { "cut-header", damage_cut_header, CORRUPT, "truncated" },
  { "cut-after-header", damage_cut_after_header, CORRUPT, "truncated" },
  { "cut-data", damage_cut_data, CORRUPT, "truncated" },
  { "cut-last-byte", damage_cut_last_byte, CORRUPT, "truncated" },
  { "length-huge", damage_length_huge, CORRUPT, "more than any model file" },
  { "length-beyond", damage_length_beyond, CORRUPT, "truncated" },
  { "length-short", damage_length_short, CORRUPT, "its header has" },
  { "length-zero", damage_length_zero, CORRUPT, "header length is 0" },
  { "json-colon", damage_json_colon, CORRUPT, "colon" },
  { "json-comma", damage_json_comma, CORRUPT, "key that is not a string" },
  { "json-trailing", damage_json_trailing, CORRUPT, "text after its end" },
  { "json-utf8", damage_json_utf8, CORRUPT, "UTF-8" },
  { "json-control", damage_json_control, CORRUPT, "control character" },
  { "json-duplicate", damage_json_duplicate, CORRUPT, "twice" },
  { "json-surrogate", damage_json_surrogate, CORRUPT, "surrogate" },
  { "json-high-surrogate", damage_json_high_surrogate, CORRUPT, "surrogate" },
  { "json-nul", damage_json_nul, CORRUPT, "NUL" },
  { "json-escape", damage_json_escape, CORRUPT, "escape" },
  { "json-hex", damage_json_hex, CORRUPT, "escape" },
  { "json-leading-zero", damage_json_leading_zero, CORRUPT, "its header has" },
  { "json-unterminated", damage_json_unterminated, CORRUPT, "its header has" },
  { "json-deep", damage_json_deep, CORRUPT, "nested" },
  { "stray-member", damage_stray_member, FOREIGN, "no metadata" },
  { "array-header", damage_array_header, FOREIGN, "not in the safetensors format" },
  { "foreign", damage_foreign, FOREIGN, "not a Convolve model" },
  { "foreign-metadata", damage_foreign_metadata, FOREIGN, "not a Convolve model" },
  { "future-version", damage_future, FOREIGN, "version “2”" },
  { "dtype-f16", damage_dtype, FOREIGN, "F16" },
  { "wrong-shape", damage_wrong_shape, MISMATCH, "[4, 3, 1, 9]" },
  { "transposed", damage_transposed, MISMATCH, "dense_1/kernel" },
  { "unknown-tensor", damage_unknown_tensor, MISMATCH, "no tensor “dense_9/kernel”" },
  { "slot-for-state", damage_slot_for_state, MISMATCH, "no tensor" },
  { "missing-tensor", damage_missing, MISMATCH, "“batch_normalization/moving_mean” is missing" },
  { "missing-slot", damage_missing_slot, MISMATCH, "“optimizer/v/dense/bias” is missing" },
  { "overlap", damage_overlap, CORRUPT, "overlap" },
  { "gap", damage_gap, CORRUPT, "unused bytes lie before" },
  { "size-mismatch", damage_size_mismatch, CORRUPT, "its shape needs" },
  { "reversed-offsets", damage_reversed_offsets, CORRUPT, "invalid data offsets" },
  { "trailing-bytes", damage_trailing_bytes, CORRUPT, "unused bytes follow" },
  { "nan", damage_nan, CORRUPT, "not finite" },
  { "inf-slot", damage_inf, CORRUPT, "not finite" },
  { "negative-variance", damage_negative_variance, CORRUPT, "negative variance" },
  { "no-format-version", damage_no_format_version, CORRUPT, "lacks “format_version”" },
  { "no-spec", damage_no_spec, CORRUPT, "lacks “spec”" },
  { "no-input-shape", damage_no_input_shape, CORRUPT, "lacks “input_shape”" },
  { "no-rng", damage_no_rng, CORRUPT, "lacks “rng”" },
  { "no-epoch", damage_no_epoch, CORRUPT, "lacks “epoch”" },
  { "no-scale", damage_no_scale, CORRUPT, "lacks “input_scale”" },
  { "no-iterations", damage_no_iterations, CORRUPT, "lacks “optimizer.iterations”" },
  { "bad-rng", damage_bad_rng, CORRUPT, "“rng”" },
  { "zero-rng", damage_zero_rng, CORRUPT, "“rng”" },
  { "bad-spec", damage_bad_spec, CORRUPT, "model description is invalid" },
  { "impossible-spec", damage_impossible_spec, CORRUPT, "cannot be built" },
  { "other-spec", damage_other_spec, MISMATCH, "shape" },
  { "huge-spec", damage_huge_spec, MISMATCH, "the model needs [64, 60000]" },
  { "short-input-shape", damage_short_input_shape, CORRUPT, "“input_shape”" },
  { "zero-input-shape", damage_zero_input_shape, CORRUPT, "“input_shape”" },
  { "huge-input-shape", damage_huge_input_shape, CORRUPT, "“input_shape”" },
  { "text-input-shape", damage_text_input_shape, CORRUPT, "“input_shape”" },
  { "other-input-shape", damage_other_input_shape, MISMATCH, "dense/kernel" },
  { "negative-epoch", damage_negative_epoch, CORRUPT, "“epoch”" },
  { "junk-step", damage_junk_step, CORRUPT, "“step”" },
  { "nan-scale", damage_nan_scale, CORRUPT, "“input_scale”" },
  { "huge-offset", damage_huge_offset, CORRUPT, "invalid data offsets" },
  { "huge-input-offset", damage_huge_input_offset, CORRUPT, "“input_offset”" },
  { "many-class-names", damage_many_class_names, MISMATCH, "names 7 classes" },
  { "bad-class-names", damage_bad_class_names, CORRUPT, "“class_names”" },
  { "text-class-names", damage_text_class_names, CORRUPT, "“class_names”" },
  { "unknown-optimizer", damage_unknown_optimizer, FOREIGN, "rmsprop" },
  { "bad-learning-rate", damage_bad_learning_rate, CORRUPT, "“optimizer.learning_rate”" },
  { "negative-learning-rate", damage_negative_learning_rate, CORRUPT, "is damaged" },
  { "bad-nesterov", damage_bad_nesterov, CORRUPT, "“optimizer.nesterov”" },
  { "sgd-instead-of-adam", damage_sgd_instead_of_adam, MISMATCH, "optimizer/m/" },
  { "metadata-number", damage_metadata_number, CORRUPT, "“epoch” is not a string" },
  { "metadata-array", damage_metadata_array, CORRUPT, "metadata is not a JSON object" },
  { "entry-extra-key", damage_entry_extra_key, CORRUPT, "dtype, shape and data_offsets" },
  { "entry-not-object", damage_entry_not_object, CORRUPT, "dtype, shape and data_offsets" },
  { "negative-shape", damage_negative_shape, CORRUPT, "invalid shape" },
  { "float-shape", damage_float_shape, CORRUPT, "invalid shape" },
  { "exponent-offset", damage_exp_offset, CORRUPT, "invalid data offsets" },
  { "huge-shape", damage_huge_shape, CORRUPT, "impossible shape" },
  { "string-offset", damage_string_offset, CORRUPT, "invalid data offsets" },
};

/* The checkpoint that every damage starts from. */
static char *
save_valid_checkpoint (TmpDir *tmp)
{
  g_autoptr(ConvolveModel) model = new_model (31, BATCH);
  g_autoptr(ConvolveOptimizer) optimizer = new_optimizer (model, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
  g_autoptr(ConvolveModelMeta) meta = new_meta ();
  char *path = tmp_path (tmp, "valid.safetensors");

  for (int step = 0; step < 2; step++)
    train_one (model, optimizer, step);
  save_or_die (model, meta, optimizer, path);
  return path;
}

static void
assert_load_fails (const char *path, int code, const char *says)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autofree char *base = g_path_get_basename (path);

  model = convolve_model_load (path, BATCH, &meta, &optimizer, &error);
  g_assert_null (model);
  g_assert_null (meta);
  g_assert_null (optimizer);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, code);
  if (strstr (error->message, says) == NULL)
    g_error ("“%s” does not say “%s”", error->message, says);
  g_assert_nonnull (strstr (error->message, base));
}

/* ------------------------------------------------------------------------ */
/* Hostile headers: sizes declared, not present                             */
/* ------------------------------------------------------------------------ */

/* A hand-made file of about 700 bytes: the tensors of
 * "flatten,dense(2,softmax)" on a 1x2x2 input (40 bytes of weights), with
 * whatever spec and input shape the metadata claims. */
static char *
write_tiny_model (TmpDir *tmp, const char *name, const char *spec, const char *input)
{
  g_autoptr(GString) header = g_string_new ("{\"__metadata__\":{");
  g_autoptr(GByteArray) file = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  char *path = tmp_path (tmp, name);
  float weights[10] = { 0.5f, -0.5f, 0.25f, -0.25f, 1, -1, 0.125f, -0.125f, 0, 0 };
  guint64 length_le;

  g_string_append_printf (header,
                          "\"format\":\"convolve-model\",\"format_version\":\"1\","
                          "\"spec\":\"%s\",\"input_shape\":\"%s\","
                          "\"rng\":\"%s\",\"input_scale\":\"1\",\"input_offset\":\"0\","
                          "\"epoch\":\"0\",\"step\":\"0\"},"
                          "\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[0,32]},"
                          "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}}",
                          spec, input,
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  length_le = GUINT64_TO_LE ((guint64) header->len);
  g_byte_array_append (file, (const guint8 *) &length_le, 8);
  g_byte_array_append (file, (const guint8 *) header->str, header->len);
  for (int i = 0; i < 10; i++)
    {
      guint32 word = GUINT32_TO_LE (*(guint32 *) &weights[i]);

      g_byte_array_append (file, (const guint8 *) &word, 4);
    }
  g_file_set_contents (path, (const char *) file->data, file->len, &error);
  g_assert_no_error (error);
  return path;
}

typedef struct {
  const char *spec, *input;
  int         code;
  const char *says;
} HugeCase;

static const HugeCase huge_cases[] = {
  /* 1.7 billion weights declared by a 700-byte file: the limit, named */
  { "flatten,dense(100,softmax)", "[1,4096,4096]", CONVOLVE_ENGINE_ERROR_UNSUPPORTED,
    "limit of 268435456 weights" },
  /* 134 million activation floats for one image */
  { "conv2d(8,3,same,relu),maxpool(16),flatten,dense(2,softmax)", "[1,4096,4096]",
    CONVOLVE_ENGINE_ERROR_UNSUPPORTED, "limit of 67108864" },
  /* within the limits (25 million weights) but not what the file holds */
  { "flatten,dense(2,softmax)", "[3,2048,2048]", CONVOLVE_ENGINE_ERROR_MISMATCH,
    "the model needs [12582912, 2]" },
  /* a deeper model, also within the limits (134 million weights) */
  { "flatten,dense(64,relu),dense(2,softmax)", "[1,1024,2048]", CONVOLVE_ENGINE_ERROR_MISMATCH,
    "needs [2097152, 64]" },
};

static void
test_huge_declared (TmpDir *tmp, gconstpointer data)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  {
    /* the tiny file itself loads */
    g_autofree char *path = write_tiny_model (tmp, "tiny.safetensors", "flatten,dense(2,softmax)", "[1,2,2]");
    g_autoptr(GError) error = NULL;
    g_autoptr(ConvolveModel) model = convolve_model_load (path, 1, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpfloat (convolve_model_find_tensor (model, "dense/kernel")->data[2], ==, 0.25f);
  }

  for (guint i = 0; i < G_N_ELEMENTS (huge_cases); i++)
    {
      const HugeCase *hc = &huge_cases[i];
      g_autofree char *path = write_tiny_model (tmp, "huge.safetensors", hc->spec, hc->input);
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModel) model = NULL;
      g_autoptr(ConvolveModelMeta) meta = NULL;
      g_autoptr(ConvolveOptimizer) optimizer = NULL;
      ResourceProbe probe = resource_probe_begin ();

      model = convolve_model_load (path, 1, &meta, &optimizer, &error);
      g_assert_null (model);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, hc->code);
      if (strstr (error->message, hc->says) == NULL)
        g_error ("“%s” does not say “%s”", error->message, hc->says);
      /* before the plan came first: 50 s and 16 GB for the first case */
      resource_probe_check (&probe, hc->input, 1000, 16);
    }
}

/* The limits the engine states: a model within them builds. */
static void
test_limits_build (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(2,softmax)", &error);
  ConvolveShape too_wide = { 1, 1, CONVOLVE_LIMIT_INPUT_SIDE + 1 };
  ConvolveShape big = { 1, 1024, 1024 };
  g_autoptr(ConvolveModel) model = NULL;

  g_assert_no_error (error);
  g_assert_null (convolve_model_new (spec, &too_wide, 1, 1, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (convolve_model_new (spec, &big, CONVOLVE_LIMIT_BATCH + 1, 1, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  model = convolve_model_new (spec, &big, 1, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_model_get_n_trainable (model), ==, 1024 * 1024 * 2 + 2);
}

static void
test_corrupt (TmpDir *tmp, gconstpointer data)
{
  const CorruptCase *cc = data;
  g_autofree char *valid_path = save_valid_checkpoint (tmp);
  g_autofree char *bad_path = tmp_path (tmp, "damaged.safetensors");
  g_autoptr(GBytes) valid = read_bytes (valid_path);
  g_autoptr(GBytes) damaged = cc->damage (valid, valid_path);

  g_assert_false (g_bytes_equal (valid, damaged));
  write_bytes (bad_path, damaged);
  assert_load_fails (bad_path, cc->code, cc->says);
}

/* The edits above keep every other part of the file valid: the same
 * rebuild without damage loads. */
static void
keep (FixtureFile *file)
{
}

static void
test_rebuild_loads (TmpDir *tmp, gconstpointer data)
{
  g_autofree char *valid_path = save_valid_checkpoint (tmp);
  g_autofree char *path = tmp_path (tmp, "rebuilt.safetensors");
  g_autoptr(GBytes) valid = read_bytes (valid_path);
  g_autoptr(GBytes) rebuilt = with_file (valid_path, keep, TRUE);
  g_autoptr(GBytes) escaped = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(GError) error = NULL;

  write_bytes (path, rebuilt);
  model = convolve_model_load (path, BATCH, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&model, convolve_model_free);

  /* JSON escapes the engine does not write itself still read right. */
  escaped = edit_header (valid, "\"cifar10\"",
                         "\"\\u0063\\u00e9\\ud83d\\ude00\\/\\b\\f\\\"\\\\\\t\" , \"extra.z\" : \"1\"");
  write_bytes (path, escaped);
  model = convolve_model_load (path, BATCH, &meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (meta->dataset, ==, "cé😀/\b\f\"\\\t");
  g_assert_cmpstr (g_hash_table_lookup (meta->extra, "z"), ==, "1");
}

static void
test_not_a_file (TmpDir *tmp, gconstpointer data)
{
  g_autofree char *missing = tmp_path (tmp, "missing.safetensors");

  g_autofree char *fifo = tmp_path (tmp, "fifo.safetensors");

  assert_load_fails (missing, CONVOLVE_ENGINE_ERROR_IO, "No such file");
  assert_load_fails (tmp->dir, CONVOLVE_ENGINE_ERROR_IO, "not a regular file");

  /* open() of a FIFO waits for a writer: it must not (the alarm turns a
   * hang into a failure). */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  alarm (30);
  assert_load_fails (fifo, CONVOLVE_ENGINE_ERROR_IO, "not a regular file");
  alarm (0);
}

/* A model with spare outputs, trained on a dataset with fewer classes,
 * is saved with the dataset's names: it must load again (it used to be
 * refused, so the trained model was lost). */
static void
test_fewer_class_names (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) model = new_model (12, BATCH);
  g_autoptr(ConvolveModelMeta) meta = convolve_model_meta_new ();
  g_autoptr(ConvolveModelMeta) loaded_meta = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path (tmp, "spare-outputs.safetensors");
  const char *names[] = { "cat", "dog", NULL };

  g_assert_cmpint (convolve_model_get_n_classes (model), >, 2);
  meta->class_names = g_strdupv ((char **) names);
  save_or_die (model, meta, NULL, path);
  loaded = convolve_model_load (path, BATCH, &loaded_meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (loaded_meta->class_names, names);
  assert_models_identical (model, loaded);
}

/* Random damage, bounded: every outcome is a model or an engine error,
 * never a crash (this test also runs under AddressSanitizer). */
static void
test_fuzz (TmpDir *tmp, gconstpointer data)
{
  g_autofree char *valid_path = save_valid_checkpoint (tmp);
  g_autofree char *path = tmp_path (tmp, "fuzzed.safetensors");
  g_autoptr(GBytes) valid = read_bytes (valid_path);
  const guint8 *base = g_bytes_get_data (valid, NULL);
  gsize base_size = g_bytes_get_size (valid);
  guint64 header_length = header_length_of (valid);
  static const char json_chars[] = "{}[]\":,0123456789-+.eE\\u \t/nft";
  int iterations = g_test_slow () ? 20000 : 2500;
  int outcomes[CONVOLVE_ENGINE_ERROR_MISMATCH + 2] = { 0 };
  ConvolveRng rng;

  convolve_rng_init (&rng, 4242);
  for (int it = 0; it < iterations; it++)
    {
      g_autoptr(GByteArray) bytes = g_byte_array_sized_new ((guint) base_size + 16);
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModel) model = NULL;
      g_autoptr(ConvolveModelMeta) meta = NULL;
      g_autoptr(ConvolveOptimizer) optimizer = NULL;
      int n_mutations = 1 + (int) convolve_rng_below (&rng, 3);

      g_byte_array_append (bytes, base, (guint) base_size);
      for (int m = 0; m < n_mutations && bytes->len > 0; m++)
        {
          guint32 kind = convolve_rng_below (&rng, 100);
          guint32 header_end = (guint32) MIN (8 + header_length, bytes->len);
          guint32 at;

          if (kind < 40 && header_end > 8)
            {
              at = 8 + convolve_rng_below (&rng, header_end - 8);
              bytes->data[at] ^= (guint8) (1u << convolve_rng_below (&rng, 8));
            }
          else if (kind < 60 && header_end > 8)
            {
              at = 8 + convolve_rng_below (&rng, header_end - 8);
              bytes->data[at] = (guint8) json_chars[convolve_rng_below (&rng, sizeof json_chars - 1)];
            }
          else if (kind < 75)
            {
              at = convolve_rng_below (&rng, bytes->len);
              bytes->data[at] = (guint8) convolve_rng_below (&rng, 256);
            }
          else if (kind < 85)
            g_byte_array_set_size (bytes, convolve_rng_below (&rng, bytes->len));
          else if (kind < 90)
            {
              guint8 insert[8];
              guint32 n = 1 + convolve_rng_below (&rng, 8);

              for (guint32 k = 0; k < n; k++)
                insert[k] = (guint8) json_chars[convolve_rng_below (&rng, sizeof json_chars - 1)];
              guint32 pos = convolve_rng_below (&rng, bytes->len + 1);
              guint old_len = bytes->len;

              g_byte_array_set_size (bytes, old_len + n);
              memmove (bytes->data + pos + n, bytes->data + pos, old_len - pos);
              memcpy (bytes->data + pos, insert, n);
            }
          else if (kind < 95)
            {
              guint32 start = convolve_rng_below (&rng, bytes->len);
              guint32 n = 1 + convolve_rng_below (&rng, MIN (16, bytes->len - start));

              g_byte_array_remove_range (bytes, start, n);
            }
          else if (bytes->len >= 8)
            {
              guint64 length;

              memcpy (&length, bytes->data, 8);
              length = GUINT64_FROM_LE (length) + (guint64) convolve_rng_below (&rng, 33) - 16;
              length = GUINT64_TO_LE (length);
              memcpy (bytes->data, &length, 8);
            }
        }

      write_plain (path, bytes->data, bytes->len);
      model = convolve_model_load (path, BATCH, &meta, &optimizer, &error);
      if (model != NULL)
        {
          ConvolveShape in = convolve_model_get_input (model);
          gsize n_in = (gsize) in.c * in.h * in.w;
          g_autofree float *x = g_new0 (float, n_in);
          g_autofree float *p = g_new (float, convolve_model_get_n_classes (model));

          g_assert_no_error (error);
          g_assert_nonnull (meta);
          /* A file that loads is a usable model. */
          g_assert_true (convolve_model_predict (model, x, 1, p, &error));
          g_assert_no_error (error);
          outcomes[0]++;
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == CONVOLVE_ENGINE_ERROR);
          g_assert_cmpint (error->code, >=, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
          g_assert_cmpint (error->code, <=, CONVOLVE_ENGINE_ERROR_MISMATCH);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          g_assert_cmpuint (strlen (error->message), >, 10);
          g_assert_null (meta);
          g_assert_null (optimizer);
          outcomes[1 + error->code]++;
        }
    }

  g_test_message ("%d mutated files: %d loaded, %d corrupt, %d unsupported, %d mismatched, %d i/o",
                  iterations, outcomes[0], outcomes[1 + CONVOLVE_ENGINE_ERROR_CORRUPT],
                  outcomes[1 + CONVOLVE_ENGINE_ERROR_UNSUPPORTED],
                  outcomes[1 + CONVOLVE_ENGINE_ERROR_MISMATCH],
                  outcomes[1 + CONVOLVE_ENGINE_ERROR_IO]);
  /* The mutations reach every stage of the reader. */
  g_assert_cmpint (outcomes[0], >, 0);
  g_assert_cmpint (outcomes[1 + CONVOLVE_ENGINE_ERROR_CORRUPT], >, 0);
  g_assert_cmpint (outcomes[1 + CONVOLVE_ENGINE_ERROR_UNSUPPORTED], >, 0);
  g_assert_cmpint (outcomes[1 + CONVOLVE_ENGINE_ERROR_MISMATCH], >, 0);
}

/* ------------------------------------------------------------------------ */
/* Atomic saves                                                              */
/* ------------------------------------------------------------------------ */

static void
assert_save_fails_keeping (TmpDir *tmp, ConvolveModel *model, const char *path,
                           const char *previous_path, GBytes *previous, int code, const char *says)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *listing_before = list_dir (tmp->dir);
  g_autofree char *listing_after = NULL;
  g_autoptr(GBytes) after = NULL;

  g_assert_false (convolve_model_save (model, NULL, NULL, path, &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, code);
  g_test_message ("%s", error->message);
  if (strstr (error->message, says) == NULL)
    g_error ("“%s” does not say “%s”", error->message, says);

  after = read_bytes (previous_path);
  g_assert_true (g_bytes_equal (previous, after));
  listing_after = list_dir (tmp->dir);
  g_assert_cmpstr (listing_before, ==, listing_after);
}

static void
test_atomic_bad_targets (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) model = new_model (41, BATCH);
  g_autofree char *path = tmp_path (tmp, "model.safetensors");
  g_autofree char *nowhere = g_build_filename (tmp->dir, "no-such-dir", "model.safetensors", NULL);
  g_autofree char *subdir = tmp_path (tmp, "a-directory");
  g_autoptr(GBytes) previous = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  save_or_die (model, NULL, NULL, path);
  previous = read_bytes (path);
  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);

  assert_save_fails_keeping (tmp, model, nowhere, path, previous,
                             CONVOLVE_ENGINE_ERROR_IO, "No such file");
  assert_save_fails_keeping (tmp, model, subdir, path, previous,
                             CONVOLVE_ENGINE_ERROR_IO, "not a regular file");

  /* A device is never replaced, and nothing can be created inside one. */
  g_assert_false (convolve_model_save (model, NULL, NULL, "/dev/full", &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
  g_clear_error (&error);
  g_assert_cmpint (g_stat ("/dev/full", &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));
  g_assert_false (convolve_model_save (model, NULL, NULL, "/dev/full/model.safetensors", &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
  g_test_message ("%s", error->message);
}

static void
test_atomic_non_finite (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) model = new_model (42, BATCH);
  g_autofree char *path = tmp_path (tmp, "model.safetensors");
  g_autoptr(GBytes) previous = NULL;

  save_or_die (model, NULL, NULL, path);
  previous = read_bytes (path);
  convolve_model_find_tensor (model, "dense/kernel")->data[5] = NAN;
  assert_save_fails_keeping (tmp, model, path, path, previous,
                             CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT, "not finite");
}

/* A disk that fills up during the save, simulated with a file size limit
 * (works for root too, unlike permissions) in a child process. */
static void
test_atomic_full_disk (TmpDir *tmp, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      const char *target = g_getenv ("CONVOLVE_TEST_SAVE_TARGET");
      g_autoptr(ConvolveModel) model = new_model (44, BATCH);
      g_autoptr(ConvolveOptimizer) optimizer = new_optimizer (model, CONVOLVE_OPTIMIZER_ADAM, 0, FALSE);
      g_autoptr(GError) error = NULL;
      struct rlimit limit = { 2048, 2048 };

      g_assert_nonnull (target);
      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      g_assert_false (convolve_model_save (model, NULL, optimizer, target, &error));
      g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_IO);
      g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
      g_printerr ("child: %s\n", error->message);
      return;
    }
  else
    {
      g_autoptr(ConvolveModel) model = new_model (43, BATCH);
      g_autofree char *path = tmp_path (tmp, "model.safetensors");
      g_autoptr(GBytes) previous = NULL;
      g_autoptr(GBytes) after = NULL;
      g_autofree char *listing = NULL;

      save_or_die (model, NULL, NULL, path);
      previous = read_bytes (path);
      g_assert_cmpuint (g_bytes_get_size (previous), >, 4096);

      g_setenv ("CONVOLVE_TEST_SAVE_TARGET", path, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT);
      g_unsetenv ("CONVOLVE_TEST_SAVE_TARGET");
      g_test_trap_assert_passed ();
      g_test_trap_assert_stderr ("*child: *model.safetensors*");

      after = read_bytes (path);
      g_assert_true (g_bytes_equal (previous, after));
      listing = list_dir (tmp->dir);
      g_assert_cmpstr (listing, ==, "model.safetensors");
    }
}

static void
test_atomic_read_only_dir (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) model = new_model (45, BATCH);
  g_autofree char *path = tmp_path (tmp, "model.safetensors");
  g_autoptr(GBytes) previous = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root writes into read-only directories; see the full-disk test instead");
      return;
    }
  save_or_die (model, NULL, NULL, path);
  previous = read_bytes (path);
  g_assert_cmpint (g_chmod (tmp->dir, 0500), ==, 0);
  assert_save_fails_keeping (tmp, model, path, path, previous,
                             CONVOLVE_ENGINE_ERROR_IO, "Permission denied");
  g_chmod (tmp->dir, 0700);
}

/* A successful save over an existing file replaces it whole. */
static void
test_atomic_replace (TmpDir *tmp, gconstpointer data)
{
  g_autoptr(ConvolveModel) first = new_model (46, BATCH);
  g_autoptr(ConvolveModel) second = new_model (47, BATCH);
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path (tmp, "model.safetensors");
  g_autofree char *listing = NULL;

  save_or_die (first, NULL, NULL, path);
  save_or_die (second, NULL, NULL, path);
  loaded = convolve_model_load (path, BATCH, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_models_identical (second, loaded);
  listing = list_dir (tmp->dir);
  g_assert_cmpstr (listing, ==, "model.safetensors");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  convolve_engine_set_threads (1);

#define ADD(path, func) g_test_add (path, TmpDir, NULL, tmp_dir_setup, func, tmp_dir_teardown)
  g_test_add_func ("/engine/model-file/meta-defaults", test_meta_defaults);
  g_test_add_func ("/engine/model-file/limits", test_limits_build);
  ADD ("/engine/model-file/huge-declared", test_huge_declared);
  ADD ("/engine/model-file/round-trip/model", test_round_trip_model);
  ADD ("/engine/model-file/round-trip/globalavgpool", test_round_trip_globalavgpool);
  ADD ("/engine/model-file/round-trip/adam", test_round_trip_adam);
  ADD ("/engine/model-file/round-trip/sgd-momentum", test_round_trip_sgd_momentum);
  ADD ("/engine/model-file/round-trip/sgd-plain", test_round_trip_sgd_plain);
  ADD ("/engine/model-file/layout", test_layout);
  ADD ("/engine/model-file/resume-bitwise", test_resume_bitwise);
  ADD ("/engine/model-file/rebuild-loads", test_rebuild_loads);
  ADD ("/engine/model-file/not-a-file", test_not_a_file);
  ADD ("/engine/model-file/fewer-class-names", test_fewer_class_names);
  for (guint i = 0; i < G_N_ELEMENTS (corrupt_cases); i++)
    {
      g_autofree char *path = g_strconcat ("/engine/model-file/corrupt/", corrupt_cases[i].name, NULL);

      g_test_add (path, TmpDir, &corrupt_cases[i], tmp_dir_setup, test_corrupt, tmp_dir_teardown);
    }
  ADD ("/engine/model-file/fuzz", test_fuzz);
  ADD ("/engine/model-file/atomic/bad-targets", test_atomic_bad_targets);
  ADD ("/engine/model-file/atomic/non-finite", test_atomic_non_finite);
  ADD ("/engine/model-file/atomic/full-disk", test_atomic_full_disk);
  ADD ("/engine/model-file/atomic/read-only-dir", test_atomic_read_only_dir);
  ADD ("/engine/model-file/atomic/replace", test_atomic_replace);
#undef ADD

  return g_test_run ();
}
