/* test-session.c: the session headless, on the main loop as the app uses
 * it: datasets from a generated CIFAR-10 folder, a real short run with
 * pause, resume and stop, weight snapshots, the test set's predictions,
 * model files, and every refusal (busy, mismatch, damaged file).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convolve-train.h"
#include "session-test-util.h"
#include "test-cifar-folder.h"

#define TIMEOUT_US SESSION_TEST_TIMEOUT_US
/* Small enough to train in moments on 32x32x3 images. */
#define SPEC       "conv2d(4,3,same,relu),maxpool(2),flatten,dense(10,softmax)"
#define OTHER_SPEC "flatten,dense(10,softmax)"

static char *tmp_dir;

/* A plain in-memory dataset of n grey size x size images in k classes. */
static ConvolveDataset *
make_grey_dataset (guint n, int size, int k)
{
  static const char * const names[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", NULL };
  g_auto(GStrv) some = g_new0 (char *, k + 1);
  ConvolveDataset *dataset;

  for (int i = 0; i < k; i++)
    some[i] = g_strdup (names[i]);
  dataset = convolve_dataset_new ("grey", n, 1, size, size, (const char * const *) some);
  for (guint i = 0; i < n; i++)
    convolve_dataset_get_labels_mutable (dataset)[i] = i % k;
  return dataset;
}

/* Counts the session's signals. */
typedef struct {
  guint datasets;
  guint model;
  guint weights;
  guint run;
  guint progress;
  guint predictions;
  guint errors;
  guint has_model;
  guint training;
  gint64 last_step;
  gboolean steps_increase;
} Counts;

static void on_datasets    (ConvolveSession *s, Counts *c) { c->datasets++; }
/* Views read the new model when told of it. */
static void on_model       (ConvolveSession *s, Counts *c) { g_assert_nonnull (convolve_session_get_model (s)); c->model++; }
static void on_weights     (ConvolveSession *s, Counts *c) { c->weights++; }
static void on_run         (ConvolveSession *s, Counts *c) { c->run++; c->last_step = -1; }
static void on_predictions (ConvolveSession *s, Counts *c) { c->predictions++; }
static void on_has_model   (ConvolveSession *s, GParamSpec *p, Counts *c) { c->has_model++; }
static void on_training    (ConvolveSession *s, GParamSpec *p, Counts *c) { c->training++; }

static void
on_error (ConvolveSession *s,
          const char      *message,
          Counts          *c)
{
  g_test_message ("session error: %s", message);
  c->errors++;
}

static void
on_progress (ConvolveSession  *s,
             ConvolveProgress *progress,
             Counts           *c)
{
  /* Delivered on the main thread, in order. */
  g_assert_true (progress == convolve_session_get_progress (s));
  if (progress->global_step < c->last_step)
    c->steps_increase = FALSE;
  c->last_step = progress->global_step;
  c->progress++;
}

static ConvolveSession *
new_session (Counts *counts)
{
  ConvolveSession *session = convolve_session_new ();

  memset (counts, 0, sizeof *counts);
  counts->steps_increase = TRUE;
  counts->last_step = -1;
  g_signal_connect (session, "datasets-changed", G_CALLBACK (on_datasets), counts);
  g_signal_connect (session, "model-changed", G_CALLBACK (on_model), counts);
  g_signal_connect (session, "weights-changed", G_CALLBACK (on_weights), counts);
  g_signal_connect (session, "run-changed", G_CALLBACK (on_run), counts);
  g_signal_connect (session, "progress", G_CALLBACK (on_progress), counts);
  g_signal_connect (session, "predictions-changed", G_CALLBACK (on_predictions), counts);
  g_signal_connect (session, "error", G_CALLBACK (on_error), counts);
  g_signal_connect (session, "notify::has-model", G_CALLBACK (on_has_model), counts);
  g_signal_connect (session, "notify::training", G_CALLBACK (on_training), counts);
  return session;
}

static gboolean
run_has_steps (gpointer data)
{
  ConvolveSession *session = data;
  ConvolveProgress *progress = convolve_session_get_progress (session);

  return progress != NULL && (progress->global_step >= 3 || convolve_trainer_state_is_final (progress->state));
}

static gboolean
run_paused (gpointer data)
{
  ConvolveSession *session = data;

  return convolve_session_get_state (session) == CONVOLVE_TRAINER_PAUSED ||
         convolve_trainer_state_is_final (convolve_session_get_state (session));
}

static void
small_config (ConvolveTrainConfig *config,
              int                  epochs)
{
  convolve_train_config_init (config);
  config->epochs = epochs;
  config->augment_epochs = 0;
  config->batch_size = 16;
  config->learning_rate = 5e-3f;
  config->seed = 11;
  config->threads = 1;
  config->eval_batch_size = 32;
  config->snapshot_every_steps = 4;
  config->progress_interval_ms = 0;
}

static void
start_run (ConvolveSession     *session,
           ConvolveTrainConfig *config,
           GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  convolve_session_train_async (session, config, session_test_result_cb, &result);
  convolve_session_train_finish (session, session_test_wait_result (&result), error);
}

static float
first_weight (ConvolveSession *session)
{
  return convolve_model_get_params (convolve_session_get_model (session), NULL)[0];
}

/* ---- the shared rule -------------------------------------------------------- */

static void
test_check_model (void)
{
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(4,softmax)", NULL);
  ConvolveShape shape = { 1, 6, 6 };
  g_autoptr(ConvolveModel) model = convolve_model_new (spec, &shape, 1, 1, NULL);
  g_autoptr(ConvolveDataset) fits = make_grey_dataset (4, 6, 4);
  g_autoptr(ConvolveDataset) fewer = make_grey_dataset (4, 6, 3);
  g_autoptr(ConvolveDataset) more = make_grey_dataset (5, 6, 5);
  g_autoptr(ConvolveDataset) larger = make_grey_dataset (4, 8, 4);
  g_autoptr(GError) error = NULL;

  g_assert_true (convolve_check_model_for_dataset (model, fits, &error));
  g_assert_no_error (error);
  /* Spare outputs are fine: the model simply never sees those classes. */
  g_assert_true (convolve_check_model_for_dataset (model, fewer, &error));
  g_assert_no_error (error);

  g_assert_false (convolve_check_model_for_dataset (model, more, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "5 classes"));
  g_clear_error (&error);

  g_assert_false (convolve_check_model_for_dataset (model, larger, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "6×6×1"));
  g_assert_nonnull (strstr (error->message, "8×8×1"));
  g_clear_error (&error);

  /* The same rule by shape and class count. */
  g_assert_true (convolve_check_input_for_dataset (shape, 4, fits, NULL));
  g_assert_false (convolve_check_input_for_dataset (shape, 4, more, NULL));
  g_assert_false (convolve_check_input_for_dataset (shape, 4, larger, NULL));
}

/* ---- datasets and models ---------------------------------------------------- */

static void
test_session_datasets (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "datasets", 40, 20);
  g_autofree char *missing = g_build_filename (tmp_dir, "no-such-folder", NULL);
  g_autoptr(ConvolveDataset) grey = make_grey_dataset (8, 6, 3);
  g_autoptr(GError) error = NULL;
  Counts counts;
  g_autoptr(ConvolveSession) session = new_session (&counts);
  ConvolveModel *model;
  float before;

  g_assert_false (convolve_session_has_model (session));
  g_assert_null (convolve_session_get_train (session));
  g_assert_null (convolve_session_get_class_names (session));
  g_assert_cmpint (convolve_session_get_state (session), ==, CONVOLVE_TRAINER_IDLE);

  /* The first dataset brings a model made from the spec and the seed. */
  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_train (session)), ==, 40);
  g_assert_cmpuint (convolve_dataset_get_n_images (convolve_session_get_test (session)), ==, 20);
  g_assert_cmpstr (convolve_session_get_dataset_path (session), ==, dir);
  g_assert_cmpstr (convolve_session_get_class_names (session)[3], ==, "cat");
  g_assert_true (convolve_session_has_model (session));
  g_assert_cmpuint (counts.datasets, ==, 1);
  g_assert_cmpuint (counts.model, ==, 1);
  g_assert_cmpuint (counts.weights, ==, 1);
  g_assert_cmpuint (counts.has_model, ==, 1);
  g_assert_true (convolve_session_get_dirty (session));
  g_assert_null (convolve_session_get_model_path (session));
  model = convolve_session_get_model (session);
  g_assert_cmpint (convolve_model_get_n_layers (model), ==, 4);
  g_assert_cmpint (convolve_model_get_max_batch (model), ==, 1);
  /* The current weights are for inference: no gradient memory. */
  g_assert_false (convolve_model_has_gradients (model));
  before = first_weight (session);

  /* The same folder again: the model fits and stays. */
  session_test_open_dataset (session, dir, OTHER_SPEC, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (counts.datasets, ==, 2);
  g_assert_cmpuint (counts.model, ==, 1);
  g_assert_true (convolve_session_get_model (session) == model);

  /* A folder that is not there: nothing changes. */
  session_test_open_dataset (session, missing, SPEC, &error);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpstr (convolve_session_get_dataset_path (session), ==, dir);
  g_assert_true (convolve_session_get_model (session) == model);
  g_assert_cmpuint (counts.datasets, ==, 2);

  /* A newer load supersedes an older one. */
  {
    g_autoptr(GAsyncResult) first = NULL;
    g_autoptr(GAsyncResult) second = NULL;

    convolve_session_open_dataset_async (session, dir, SPEC, 3, NULL, session_test_result_cb, &first);
    convolve_session_open_dataset_async (session, dir, SPEC, 3, NULL, session_test_result_cb, &second);
    g_assert_false (convolve_session_open_dataset_finish (session, session_test_wait_result (&first), &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_assert_true (convolve_session_open_dataset_finish (session, session_test_wait_result (&second), &error));
    g_assert_no_error (error);
    g_assert_cmpuint (counts.datasets, ==, 3);
  }

  /* Another shape of images: a new model that fits them. */
  g_assert_true (convolve_session_set_datasets (session, grey, NULL, NULL, OTHER_SPEC, 5, &error));
  g_assert_no_error (error);
  g_assert_null (convolve_session_get_test (session));
  g_assert_cmpuint (counts.model, ==, 2);
  g_assert_true (convolve_check_model_for_dataset (convolve_session_get_model (session), grey, NULL));
  /* A spec of its own keeps its outputs; the tutorial's fits the classes. */
  g_assert_cmpint (convolve_model_get_n_classes (convolve_session_get_model (session)), ==, 10);
  g_assert_cmpstr (convolve_session_get_class_names (session)[2], ==, "c");

  /* New: fresh weights, another seed, same layers. */
  g_assert_true (convolve_session_set_datasets (session, convolve_session_get_train (session), NULL, NULL,
                                                OTHER_SPEC, 5, &error));
  g_assert_true (convolve_session_new_model (session, SPEC, 99, &error));
  g_assert_no_error (error);
  g_assert_cmpint (convolve_model_get_n_layers (convolve_session_get_model (session)), ==, 4);
  g_assert_true (first_weight (session) != before);

  /* A spec that does not parse keeps the old model. */
  model = convolve_session_get_model (session);
  g_assert_false (convolve_session_new_model (session, "conv2d(", 1, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (convolve_session_get_model (session) == model);
  g_assert_cmpuint (counts.errors, ==, 0);
}

static void
test_session_files (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "files", 40, 20);
  g_autofree char *path = g_build_filename (tmp_dir, "session.safetensors", NULL);
  g_autofree char *junk = g_build_filename (tmp_dir, "junk.safetensors", NULL);
  g_autofree char *grey_path = g_build_filename (tmp_dir, "grey.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  Counts counts;
  g_autoptr(ConvolveSession) session = new_session (&counts);
  ConvolveModel *model;
  float saved;

  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  saved = first_weight (session);

  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_save_model_async (session, path, NULL, session_test_result_cb, &result);
    g_assert_true (convolve_session_save_model_finish (session, session_test_wait_result (&result), &error));
    g_assert_no_error (error);
  }
  g_assert_cmpstr (convolve_session_get_model_path (session), ==, path);
  g_assert_false (convolve_session_get_dirty (session));

  /* The saved file names the dataset's classes. */
  {
    g_autoptr(ConvolveModelMeta) meta = NULL;
    g_autoptr(ConvolveModel) loaded = convolve_model_load (path, 1, &meta, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (meta->class_names[9], ==, "truck");
    g_assert_cmpfloat (convolve_model_get_params (loaded, NULL)[0], ==, saved);
  }

  g_assert_true (convolve_session_new_model (session, SPEC, 1234, &error));
  g_assert_null (convolve_session_get_model_path (session));
  g_assert_true (convolve_session_get_dirty (session));
  g_assert_true (first_weight (session) != saved);

  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_open_model_async (session, path, NULL, session_test_result_cb, &result);
    g_assert_true (convolve_session_open_model_finish (session, session_test_wait_result (&result), &error));
    g_assert_no_error (error);
  }
  g_assert_cmpfloat (first_weight (session), ==, saved);
  g_assert_cmpstr (convolve_session_get_model_path (session), ==, path);
  g_assert_false (convolve_session_get_dirty (session));
  g_assert_cmpstr (convolve_session_get_model_meta (session)->class_names[0], ==, "airplane");

  /* A damaged file and a model for other images leave the model alone. */
  model = convolve_session_get_model (session);
  g_assert_true (g_file_set_contents (junk, "not a model at all", -1, NULL));
  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_open_model_async (session, junk, NULL, session_test_result_cb, &result);
    g_assert_false (convolve_session_open_model_finish (session, session_test_wait_result (&result), &error));
    g_assert_true (error != NULL && error->domain == CONVOLVE_ENGINE_ERROR);
    g_clear_error (&error);
  }
  {
    g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (OTHER_SPEC, NULL);
    ConvolveShape shape = { 1, 6, 6 };
    g_autoptr(ConvolveModel) grey = convolve_model_new (spec, &shape, 1, 1, NULL);
    g_autoptr(GAsyncResult) result = NULL;

    g_assert_true (convolve_model_save (grey, NULL, NULL, grey_path, &error));
    convolve_session_open_model_async (session, grey_path, NULL, session_test_result_cb, &result);
    g_assert_false (convolve_session_open_model_finish (session, session_test_wait_result (&result), &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
    g_clear_error (&error);
  }
  g_assert_true (convolve_session_get_model (session) == model);
  g_assert_cmpstr (convolve_session_get_model_path (session), ==, path);

  /* Saving where no file can be written fails and changes nothing. */
  {
    g_autofree char *nowhere = g_build_filename (tmp_dir, "no-such-dir", "m.safetensors", NULL);
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_save_model_async (session, nowhere, NULL, session_test_result_cb, &result);
    g_assert_false (convolve_session_save_model_finish (session, session_test_wait_result (&result), &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
  g_assert_cmpstr (convolve_session_get_model_path (session), ==, path);

  g_unlink (path);
  g_unlink (junk);
  g_unlink (grey_path);
}

/* ---- training --------------------------------------------------------------- */

static void
test_session_train (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "train", 160, 50);
  g_autofree char *path = g_build_filename (tmp_dir, "trained.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  Counts counts;
  g_autoptr(ConvolveSession) session = new_session (&counts);
  ConvolveTrainConfig config;
  const ConvolveEvaluation *evaluation;
  ConvolveProgress *progress;
  guint weights_before, runs_before;
  float before;
  guint hits = 0;

  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  before = first_weight (session);
  weights_before = counts.weights;
  runs_before = counts.run;

  small_config (&config, 3);
  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_train_async (session, &config, session_test_result_cb, &result);
    /* While the trainer is built, nothing else may change the model. */
    g_assert_true (convolve_session_is_training (session));
    g_assert_true (convolve_session_is_busy (session));
    g_assert_false (convolve_session_new_model (session, SPEC, 1, &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
    g_clear_error (&error);
    g_assert_true (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
    g_assert_no_error (error);
  }
  g_assert_nonnull (convolve_session_get_trainer (session));
  g_assert_cmpuint (counts.run, ==, runs_before + 1);

  /* Refusals while it runs. */
  {
    g_autoptr(ConvolveModel) spare = convolve_model_copy (convolve_session_get_model (session), 1, NULL);
    g_autoptr(GAsyncResult) result = NULL;

    g_assert_false (convolve_session_set_model (session, g_steal_pointer (&spare), NULL, NULL, &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
    g_clear_error (&error);
    g_assert_false (convolve_session_set_datasets (session, convolve_session_get_train (session), NULL,
                                                   NULL, SPEC, 1, &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
    g_clear_error (&error);
    convolve_session_train_async (session, &config, session_test_result_cb, &result);
    g_assert_false (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
    g_clear_error (&error);
  }

  g_assert_true (session_test_iterate_until (session_test_run_final, session));
  progress = convolve_session_get_progress (session);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (progress->global_step, ==, 3 * 10);
  g_assert_true (counts.steps_increase);
  g_assert_cmpuint (counts.progress, >=, 3);
  g_assert_cmpuint (convolve_history_get_n_epochs (convolve_session_get_history (session)), ==, 3);
  g_assert_false (convolve_session_is_training (session));
  g_assert_true (convolve_session_get_dirty (session));

  /* Snapshots every 4 steps reached the current weights, which stay an
   * inference copy. */
  g_assert_cmpuint (counts.weights, >, weights_before + 1);
  g_assert_true (first_weight (session) != before);
  g_assert_false (convolve_model_has_gradients (convolve_session_get_model (session)));

  /* The final weights equal a fresh copy from the trainer. */
  {
    g_autoptr(ConvolveModel) newest = convolve_session_dup_model (session, 8, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (convolve_model_get_params (newest, NULL),
                     convolve_model_get_n_trainable (newest) * sizeof (float),
                     convolve_model_get_params (convolve_session_get_model (session), NULL),
                     convolve_model_get_n_trainable (newest) * sizeof (float));
  }

  /* Each epoch's validation is the test set's evaluation, the last with
   * the final weights. Progress is latest-wins: when the main loop is slow
   * (the ASan build) an epoch's evaluation can be superseded by the next
   * before it is seen, so at most one per epoch. */
  g_assert_cmpuint (counts.predictions, >=, 1);
  g_assert_cmpuint (counts.predictions, <=, 3);
  evaluation = convolve_session_get_evaluation (session);
  g_assert_nonnull (evaluation);
  g_assert_cmpuint (evaluation->n_images, ==, 50);
  for (guint i = 0; i < evaluation->n_images; i++)
    {
      g_assert_cmpint (evaluation->predictions[i], >=, 0);
      g_assert_cmpint (evaluation->predictions[i], <, 10);
      hits += evaluation->predictions[i] == (gint32) convolve_dataset_get_label (convolve_session_get_test (session), i);
    }
  g_assert_cmpfloat_with_epsilon (evaluation->accuracy, hits / 50.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (evaluation->accuracy, progress->val_accuracy, 1e-6);
  {
    /* Independently: the same weights, the same images, one at a time. */
    g_autoptr(ConvolveModel) copy = convolve_session_dup_model (session, 1, NULL);
    ConvolveDataset *test = convolve_session_get_test (session);

    for (guint i = 0; i < 50; i += 7)
      {
        float x[3 * 32 * 32], p[10];
        int32_t label;
        int best;
        guint32 index = i;

        convolve_dataset_make_batch (test, &index, 1, x, &label, NULL, NULL);
        g_assert_true (convolve_model_predict (copy, x, 1, p, NULL));
        convolve_top_k (p, 10, 1, &best);
        g_assert_cmpint (evaluation->predictions[i], ==, best);
      }
  }

  /* Saving after the run goes through the trainer. */
  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_save_model_async (session, path, NULL, session_test_result_cb, &result);
    g_assert_true (convolve_session_save_model_finish (session, session_test_wait_result (&result), &error));
    g_assert_no_error (error);
    g_assert_false (convolve_session_get_dirty (session));
  }

  /* A second run goes on from the trained weights and replaces the first. */
  {
    float trained = first_weight (session);
    g_autoptr(ConvolveModel) loaded = convolve_model_load (path, 1, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpfloat (convolve_model_get_params (loaded, NULL)[0], ==, trained);
    small_config (&config, 1);
    start_run (session, &config, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (counts.run, ==, runs_before + 2);
    g_assert_null (convolve_session_get_evaluation (session));
    g_assert_true (session_test_iterate_until (session_test_run_final, session));
    g_assert_cmpint (convolve_session_get_progress (session)->global_step, ==, 10);
    g_assert_cmpuint (convolve_history_get_n_epochs (convolve_session_get_history (session)), ==, 1);
    g_assert_nonnull (convolve_session_get_evaluation (session));
    g_assert_false (convolve_session_is_evaluating (session));
    g_assert_cmpfloat (convolve_session_get_evaluation_fraction (session), ==, -1.0);
  }

  /* Both runs were recorded in the run store, finished, with their epochs. */
  {
    g_autoptr(ConvolveRunStore) store = NULL;
    g_autoptr(ConvolveRunRecord) record = NULL;
    gint64 id = convolve_session_get_run_id (session);
    gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

    g_assert_cmpint (id, >, 0);
    store = convolve_run_store_open (NULL, &error);
    g_assert_no_error (error);
    /* The record is finished off the main thread: wait for it. */
    do
      {
        g_clear_pointer (&record, convolve_run_record_free);
        while (g_main_context_iteration (NULL, FALSE))
          ;
        record = convolve_run_store_get_run (store, id, &error);
        g_assert_no_error (error);
      }
    while (record->status == CONVOLVE_RUN_STATUS_RUNNING && g_get_monotonic_time () < deadline);
    g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
    g_assert_cmpint (record->n_epochs_done, ==, 1);
    g_assert_cmpstr (record->model_spec, ==, SPEC);
    g_assert_cmpuint (record->n_train, ==, 160);
    g_assert_cmpfloat_with_epsilon (record->final_accuracy, convolve_session_get_evaluation (session)->accuracy, 1e-9);
  }

  /* Forgetting the run keeps the weights and drops the predictions. */
  {
    float trained = first_weight (session);

    convolve_session_clear_run (session);
    g_assert_null (convolve_session_get_progress (session));
    g_assert_null (convolve_session_get_history (session));
    g_assert_null (convolve_session_get_evaluation (session));
    g_assert_cmpfloat (first_weight (session), ==, trained);
    g_assert_cmpint (convolve_session_get_state (session), ==, CONVOLVE_TRAINER_IDLE);
  }
  g_assert_cmpuint (counts.errors, ==, 0);
  g_assert_cmpuint (counts.training, >=, 4);

  g_unlink (path);
}

static void
test_session_pause_stop (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "pause", 800, 20);
  g_autoptr(GError) error = NULL;
  Counts counts;
  g_autoptr(ConvolveSession) session = new_session (&counts);
  ConvolveTrainConfig config;
  ConvolveProgress *progress;

  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  /* Far more epochs than the test waits for: a fast machine must not finish
   * the run before it is paused and stopped. */
  small_config (&config, 200);
  start_run (session, &config, &error);
  g_assert_no_error (error);

  g_assert_true (session_test_iterate_until (run_has_steps, session));
  convolve_session_pause (session);
  g_assert_true (session_test_iterate_until (run_paused, session));
  if (convolve_session_get_state (session) == CONVOLVE_TRAINER_PAUSED)
    {
      gint64 step = convolve_session_get_progress (session)->global_step;
      g_autoptr(ConvolveProgress) latest = NULL;

      /* Paused means no steps. */
      g_usleep (200 * 1000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      latest = convolve_trainer_get_progress (convolve_session_get_trainer (session));
      g_assert_cmpint (latest->global_step, ==, step);
      g_assert_true (convolve_session_is_training (session));
      convolve_session_resume (session);
    }
  convolve_session_stop (session);
  g_assert_true (session_test_iterate_until (session_test_run_final, session));
  progress = convolve_session_get_progress (session);
  g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_CANCELLED);
  g_assert_cmpint (progress->global_step, <, 200 * 50);
  /* A stopped run's weights are consistent and predict. */
  {
    float x[3 * 32 * 32] = { 0 }, p[10];
    double sum = 0;

    g_assert_true (convolve_model_predict (convolve_session_get_model (session), x, 1, p, NULL));
    for (int i = 0; i < 10; i++)
      sum += p[i];
    g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
  }
  /* The stopped run's predictions still arrive. */
  g_assert_nonnull (convolve_session_get_evaluation (session));
  g_assert_cmpuint (counts.errors, ==, 0);
}

static gboolean
evaluation_done (gpointer data)
{
  ConvolveSession *session = data;

  return !convolve_session_is_evaluating (session);
}

typedef struct {
  guint  changes;
  double last;
  gboolean rising;
} FractionLog;

static void
on_fraction (ConvolveSession *session,
             GParamSpec      *pspec,
             FractionLog     *log)
{
  double fraction = convolve_session_get_evaluation_fraction (session);

  if (fraction >= 0.0)
    {
      if (fraction < log->last)
        log->rising = FALSE;
      log->last = fraction;
    }
  log->changes++;
}

/* Without a run the session evaluates on request, off the main thread,
 * and a newer request supersedes an older one. */
static void
test_session_evaluate (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "evaluate", 40, 1200);
  g_autoptr(GError) error = NULL;
  Counts counts;
  g_autoptr(ConvolveSession) session = new_session (&counts);
  FractionLog log = { 0, 0.0, TRUE };
  const ConvolveEvaluation *evaluation;

  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  g_assert_null (convolve_session_get_evaluation (session));
  g_signal_connect (session, "notify::evaluation-fraction", G_CALLBACK (on_fraction), &log);

  counts.predictions = 0;
  convolve_session_evaluate (session);
  g_assert_true (convolve_session_is_evaluating (session));
  g_assert_true (convolve_session_is_busy (session));
  g_assert_cmpfloat (convolve_session_get_evaluation_fraction (session), >=, 0.0);
  /* Superseded at once: only the second one's result arrives. */
  convolve_session_evaluate (session);
  g_assert_true (session_test_iterate_until (evaluation_done, session));
  g_assert_cmpuint (counts.predictions, ==, 1);
  g_assert_true (log.rising);
  g_assert_cmpuint (log.changes, >=, 2);

  evaluation = convolve_session_get_evaluation (session);
  g_assert_nonnull (evaluation);
  g_assert_cmpuint (evaluation->n_images, ==, 1200);
  /* The same numbers as evaluating the current weights directly. */
  {
    g_autoptr(ConvolveModel) copy = convolve_session_dup_model (session, 64, NULL);
    g_autoptr(ConvolveEvaluation) direct = convolve_evaluate (copy, convolve_session_get_test (session), 0,
                                                              NULL, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpfloat_with_epsilon (direct->loss, evaluation->loss, 1e-6);
    g_assert_cmpmem (direct->predictions, 1200 * sizeof (gint32), evaluation->predictions, 1200 * sizeof (gint32));
  }

  /* A new model makes the old predictions meaningless. */
  g_assert_true (convolve_session_new_model (session, SPEC, 77, &error));
  g_assert_null (convolve_session_get_evaluation (session));
  /* An evaluation dropped halfway by a new dataset leaves nothing behind. */
  convolve_session_evaluate (session);
  g_assert_true (convolve_session_set_datasets (session, convolve_session_get_train (session), NULL,
                                                NULL, SPEC, 1, &error));
  g_assert_false (convolve_session_is_evaluating (session));
  {
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_null (convolve_session_get_evaluation (session));
  /* No test set: nothing to evaluate. */
  convolve_session_evaluate (session);
  g_assert_false (convolve_session_is_evaluating (session));
  g_assert_cmpuint (counts.errors, ==, 0);
}

/* A session dropped in the middle of a run ends the run's thread and
 * leaves nothing behind. */
static void
test_session_shutdown (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "shutdown", 800, 20);
  g_autoptr(GError) error = NULL;
  Counts counts;
  ConvolveSession *session = new_session (&counts);
  ConvolveTrainConfig config;
  ConvolveTrainer *trainer;

  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  small_config (&config, 50);
  start_run (session, &config, &error);
  g_assert_no_error (error);
  g_assert_true (session_test_iterate_until (run_has_steps, session));

  trainer = g_object_ref (convolve_session_get_trainer (session));
  convolve_session_shutdown (session);
  g_assert_true (convolve_trainer_state_is_final (convolve_trainer_get_state (trainer)));
  g_object_unref (trainer);
  /* Pending weight copies end on their own; the session goes when they do. */
  g_object_add_weak_pointer (G_OBJECT (session), (gpointer *) &session);
  g_object_unref (session);
  {
    gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

    while (session != NULL && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_null (session);
}

#define RESUME_EPOCHS 16

/* A run stopped after its first epoch (by another process, say the CLI)
 * goes on in the session from its checkpoint, recorded as the same run. */
static void
test_session_resume (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "resume", 160, 50);
  g_autofree char *checkpoint = g_build_filename (tmp_dir, "resume.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  Counts counts;
  g_autoptr(ConvolveSession) session = new_session (&counts);
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(ConvolveRunRecord) record = NULL;
  ConvolveTrainConfig config;
  gint64 id;

  session_test_open_dataset (session, dir, SPEC, &error);
  g_assert_no_error (error);
  store = convolve_run_store_open (NULL, &error);
  g_assert_no_error (error);

  /* Many epochs asked, stopped once the second has begun: the checkpoint
   * holds the first (it is written before the second epoch starts). The
   * trainer has no step-by-step control, so the epochs left are what keeps
   * the run going for far longer than a loaded machine leaves this thread
   * asleep (two epochs were once too few on CI). */
  {
    g_autoptr(ConvolveTrainer) trainer = NULL;
    g_autoptr(ConvolveRunRecorder) recorder = NULL;
    g_autoptr(ConvolveProgress) progress = NULL;
    ConvolveRunInfo info;
    ConvolveModel *model = convolve_session_dup_model (session, 16, &error);

    g_assert_no_error (error);
    small_config (&config, RESUME_EPOCHS);
    trainer = convolve_trainer_new (model, NULL, convolve_session_get_train (session),
                                    convolve_session_get_test (session), &config, &error);
    g_assert_no_error (error);
    g_assert_true (convolve_trainer_set_checkpoint_path (trainer, checkpoint, &error));
    convolve_trainer_describe_run (trainer, &info);
    recorder = convolve_run_recorder_new (store, &info, &config, &error);
    g_assert_no_error (error);
    id = convolve_run_recorder_get_run_id (recorder);
    convolve_run_recorder_set_paths (recorder, checkpoint, NULL, NULL);
    g_assert_true (convolve_trainer_start (trainer, &error));
    for (;;)
      {
        g_clear_pointer (&progress, convolve_progress_unref);
        progress = convolve_trainer_get_progress (trainer);
        if (progress->epoch >= 2 || convolve_trainer_state_is_final (progress->state))
          break;
        g_usleep (500);
      }
    convolve_trainer_stop (trainer);
    g_assert_true (convolve_trainer_join (trainer, &error));
    g_clear_pointer (&progress, convolve_progress_unref);
    progress = convolve_trainer_get_progress (trainer);
    g_assert_cmpint (progress->state, ==, CONVOLVE_TRAINER_CANCELLED);
    g_assert_cmpint (progress->epoch, <, RESUME_EPOCHS);
    convolve_run_recorder_add_progress (recorder, progress);
    g_assert_true (convolve_run_recorder_finish (recorder, progress->state, NULL, NULL, &error));
  }
  record = convolve_run_store_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_STOPPED);
  g_clear_pointer (&record, convolve_run_record_free);

  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_resume_run_async (session, id, session_test_result_cb, &result);
    g_assert_true (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (convolve_session_get_run_id (session), ==, id);
  g_assert_true (session_test_iterate_until (session_test_run_final, session));
  g_assert_cmpint (convolve_session_get_progress (session)->state, ==, CONVOLVE_TRAINER_FINISHED);
  g_assert_cmpint (convolve_session_get_progress (session)->epoch, ==, RESUME_EPOCHS);
  {
    gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

    do
      {
        g_clear_pointer (&record, convolve_run_record_free);
        while (g_main_context_iteration (NULL, FALSE))
          ;
        record = convolve_run_store_get_run (store, id, &error);
        g_assert_no_error (error);
      }
    while (record->status == CONVOLVE_RUN_STATUS_RUNNING && g_get_monotonic_time () < deadline);
  }
  g_assert_cmpint (record->status, ==, CONVOLVE_RUN_STATUS_FINISHED);
  g_assert_cmpint (record->n_epochs_done, ==, RESUME_EPOCHS);

  /* A finished run does not resume; nor does one that is not there. */
  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_resume_run_async (session, id, session_test_result_cb, &result);
    g_assert_false (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
    g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_BUSY);
    g_clear_error (&error);
  }
  {
    g_autoptr(GAsyncResult) result = NULL;

    convolve_session_resume_run_async (session, 99999, session_test_result_cb, &result);
    g_assert_false (convolve_session_train_finish (session, session_test_wait_result (&result), &error));
    g_assert_error (error, CONVOLVE_RUN_STORE_ERROR, CONVOLVE_RUN_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  g_assert_cmpuint (counts.errors, ==, 0);
  g_unlink (checkpoint);
  {
    g_autofree char *best = convolve_trainer_best_path_for (checkpoint);

    g_unlink (best);
  }
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  convolve_engine_set_threads (1);
  tmp_dir = g_dir_make_tmp ("convolve-session-XXXXXX", &error);
  g_assert_no_error (error);
  {
    /* The session records its runs in the default store: a private one. */
    g_autofree char *db = g_build_filename (tmp_dir, "runs.sqlite", NULL);

    g_setenv ("CONVOLVE_RUNS_DB", db, TRUE);
  }

  g_test_add_func ("/train/session/check-model", test_check_model);
  g_test_add_func ("/train/session/datasets", test_session_datasets);
  g_test_add_func ("/train/session/files", test_session_files);
  g_test_add_func ("/train/session/train", test_session_train);
  g_test_add_func ("/train/session/pause-stop", test_session_pause_stop);
  g_test_add_func ("/train/session/evaluate", test_session_evaluate);
  g_test_add_func ("/train/session/shutdown", test_session_shutdown);
  g_test_add_func ("/train/session/resume-run", test_session_resume);

  status = g_test_run ();

  {
    g_autofree char *command = g_strdup_printf ("rm -rf '%s'", tmp_dir);
    if (system (command) != 0)
      g_test_message ("could not remove %s", tmp_dir);
  }
  g_free (tmp_dir);
  return status;
}
