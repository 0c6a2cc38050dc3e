/* test-evaluate.c: evaluation (loss, accuracy, per-class accuracy,
 * confusion matrix) on a hand-built model whose every prediction is known,
 * and single-image prediction.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "convolve-train.h"

/* Input 3x1x1, "flatten,dense(3,softmax)" with an identity kernel and zero
 * bias: the logits are the three pixels / 255, so the prediction is the
 * brightest channel. */
static ConvolveModel *
make_identity_model (int max_batch)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape input = { 3, 1, 1 };
  const ConvolveTensorInfo *kernel, *bias;
  ConvolveModel *model;

  spec = convolve_model_spec_parse ("flatten,dense(3,softmax)", &error);
  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, max_batch, 1, &error);
  g_assert_no_error (error);

  kernel = convolve_model_find_tensor (model, "dense/kernel");
  bias = convolve_model_find_tensor (model, "dense/bias");
  g_assert_nonnull (kernel);
  g_assert_nonnull (bias);
  g_assert_cmpuint (kernel->size, ==, 9);
  for (int i = 0; i < 9; i++)
    kernel->data[i] = i % 4 == 0 ? 1.0f : 0.0f;
  for (int i = 0; i < 3; i++)
    bias->data[i] = 0.0f;
  return model;
}

static const guint8 pixels[10][3] = {
  { 255, 0, 0 },     /* predicted 0 */
  { 200, 10, 30 },   /* 0 */
  { 0, 255, 0 },     /* 1 */
  { 5, 250, 7 },     /* 1 */
  { 0, 0, 255 },     /* 2 */
  { 20, 40, 255 },   /* 2 */
  { 0, 100, 101 },   /* 2 */
  { 90, 80, 70 },    /* 0 */
  { 1, 2, 0 },       /* 1 */
  { 100, 200, 50 },  /* 1 */
};
static const guint8 labels[10] = { 0, 0, 0, 1, 1, 2, 2, 2, 1, 1 };

static ConvolveDataset *
make_dataset (void)
{
  static const char * const names[] = { "red", "green", "blue", NULL };
  ConvolveDataset *dataset = convolve_dataset_new ("rgb", 10, 3, 1, 1, names);
  guint8 *data = convolve_dataset_get_pixels_mutable (dataset);
  guint8 *y = convolve_dataset_get_labels_mutable (dataset);

  for (int i = 0; i < 10; i++)
    {
      memcpy (data + 3 * i, pixels[i], 3);
      y[i] = labels[i];
    }
  return dataset;
}

/* The loss computed independently, in double. */
static double
expected_loss (guint n)
{
  double sum = 0.0;

  for (guint i = 0; i < n; i++)
    {
      double z[3], max, total = 0.0;

      for (int c = 0; c < 3; c++)
        z[c] = pixels[i][c] / 255.0;
      max = MAX (z[0], MAX (z[1], z[2]));
      for (int c = 0; c < 3; c++)
        total += exp (z[c] - max);
      sum += -(z[labels[i]] - max - log (total));
    }
  return sum / n;
}

typedef struct {
  guint calls;
  guint last_done;
  guint total;
} ProgressLog;

static void
log_progress (guint done, guint total, gpointer user_data)
{
  ProgressLog *log = user_data;

  g_assert_cmpuint (done, >, log->last_done);
  log->calls++;
  log->last_done = done;
  log->total = total;
}

static void
test_evaluate_confusion (void)
{
  g_autoptr(ConvolveModel) model = make_identity_model (4);
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  g_autoptr(ConvolveEvaluation) copy = NULL;
  g_autoptr(GError) error = NULL;
  static const guint confusion[3][3] = {
    { 2, 1, 0 },
    { 0, 3, 1 },
    { 1, 0, 2 },
  };
  ProgressLog log = { 0 };

  evaluation = convolve_evaluate (model, dataset, 0, log_progress, &log, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (evaluation);

  /* Batches of 4: 4, 8, 10. */
  g_assert_cmpuint (log.calls, ==, 3);
  g_assert_cmpuint (log.last_done, ==, 10);
  g_assert_cmpuint (log.total, ==, 10);

  g_assert_cmpint (evaluation->n_classes, ==, 3);
  g_assert_cmpuint (evaluation->n_images, ==, 10);
  g_assert_cmpfloat_with_epsilon (evaluation->accuracy, 0.7, 1e-12);
  g_assert_cmpfloat_with_epsilon (evaluation->loss, expected_loss (10), 1e-5);
  for (int t = 0; t < 3; t++)
    for (int p = 0; p < 3; p++)
      g_assert_cmpuint (convolve_evaluation_get_confusion (evaluation, t, p), ==, confusion[t][p]);
  g_assert_cmpuint (evaluation->class_counts[0], ==, 3);
  g_assert_cmpuint (evaluation->class_counts[1], ==, 4);
  g_assert_cmpuint (evaluation->class_counts[2], ==, 3);
  g_assert_cmpfloat_with_epsilon (evaluation->class_accuracy[0], 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (evaluation->class_accuracy[1], 3.0 / 4.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (evaluation->class_accuracy[2], 2.0 / 3.0, 1e-12);
  g_assert_cmpstr (evaluation->class_names[0], ==, "red");
  g_assert_cmpstr (evaluation->class_names[2], ==, "blue");
  g_assert_null (evaluation->class_names[3]);
  /* The identity model predicts the brightest channel of each image. */
  for (int i = 0; i < 10; i++)
    {
      int brightest = 0;

      for (int c = 1; c < 3; c++)
        if (pixels[i][c] > pixels[i][brightest])
          brightest = c;
      g_assert_cmpint (evaluation->predictions[i], ==, brightest);
      g_assert_cmpint (evaluation->labels[i], ==, convolve_dataset_get_label (dataset, i));
    }

  /* Per image: the loss and confidence of a softmax over the pixels. */
  {
    double loss_sum = 0.0;

    for (int i = 0; i < 10; i++)
      {
        double z[3], total = 0.0;

        for (int c = 0; c < 3; c++)
          total += exp (z[c] = pixels[i][c] / 255.0);
        g_assert_cmpfloat_with_epsilon (evaluation->losses[i], logf ((float) total) - z[labels[i]], 1e-5);
        g_assert_cmpfloat_with_epsilon (evaluation->confidences[i],
                                        exp (z[evaluation->predictions[i]]) / total, 1e-5);
        loss_sum += evaluation->losses[i];
      }
    g_assert_cmpfloat_with_epsilon (loss_sum / 10, evaluation->loss, 1e-5);
  }

  copy = convolve_evaluation_copy (evaluation);
  g_assert_cmpmem (copy->losses, 10 * sizeof (float), evaluation->losses, 10 * sizeof (float));
  g_assert_cmpmem (copy->predictions, 10 * sizeof (gint32), evaluation->predictions, 10 * sizeof (gint32));
  g_assert_cmpmem (copy->confusion, 9 * sizeof (guint), evaluation->confusion, 9 * sizeof (guint));
  g_assert_true (copy->loss == evaluation->loss);
  g_assert_cmpstr (copy->class_names[1], ==, "green");
}

static void
test_evaluate_limit (void)
{
  g_autoptr(ConvolveModel) model = make_identity_model (3);
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  g_autoptr(GError) error = NULL;

  /* Images 0-4: labels 0,0,0,1,1; no image of class 2. */
  evaluation = convolve_evaluate (model, dataset, 5, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (evaluation->n_images, ==, 5);
  g_assert_cmpfloat_with_epsilon (evaluation->accuracy, 0.6, 1e-12);
  g_assert_cmpfloat_with_epsilon (evaluation->loss, expected_loss (5), 1e-5);
  g_assert_cmpuint (evaluation->class_counts[2], ==, 0);
  g_assert_true (isnan (evaluation->class_accuracy[2]));
  g_assert_cmpuint (convolve_evaluation_get_confusion (evaluation, 1, 2), ==, 1);
  g_assert_cmpuint (convolve_evaluation_get_confusion (evaluation, 0, 1), ==, 1);
}

static void
test_evaluate_errors (void)
{
  g_autoptr(ConvolveModel) model = make_identity_model (4);
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  g_autoptr(ConvolveDataset) wrong_shape = convolve_dataset_new ("grey", 4, 1, 1, 3, NULL);
  g_autoptr(ConvolveDataset) too_many = NULL;
  g_autoptr(ConvolveDataset) empty = convolve_dataset_new ("empty", 0, 3, 1, 1, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  static const char * const four[] = { "a", "b", "c", "d", NULL };

  g_assert_null (convolve_evaluate (model, wrong_shape, 0, NULL, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);

  too_many = convolve_dataset_new ("four", 4, 3, 1, 1, four);
  g_assert_null (convolve_evaluate (model, too_many, 0, NULL, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);

  g_assert_null (convolve_evaluate (model, empty, 0, NULL, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_MISMATCH);
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  g_assert_null (convolve_evaluate (model, dataset, 0, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
on_evaluated (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ConvolveEvaluation **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = convolve_evaluate_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_evaluate_async (void)
{
  g_autoptr(ConvolveDataset) dataset = make_dataset ();
  ConvolveEvaluation *evaluation = NULL;

  convolve_evaluate_async (make_identity_model (8), dataset, 0, NULL, NULL, NULL, on_evaluated, &evaluation);
  while (evaluation == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpfloat_with_epsilon (evaluation->accuracy, 0.7, 1e-12);
  g_assert_cmpuint (convolve_evaluation_get_confusion (evaluation, 2, 0), ==, 1);
  convolve_evaluation_free (evaluation);
}

static void
test_predict_image (void)
{
  g_autoptr(ConvolveModel) model = make_identity_model (1);
  g_autoptr(GError) error = NULL;
  const float input[3] = { 0.2f, 0.9f, 0.5f };
  float probabilities[3];
  double total = 0.0, z[3];
  int top[3];

  g_assert_true (convolve_predict_image (model, input, probabilities, &error));
  g_assert_no_error (error);
  for (int c = 0; c < 3; c++)
    total += exp (input[c]);
  for (int c = 0; c < 3; c++)
    {
      z[c] = exp (input[c]) / total;
      g_assert_cmpfloat_with_epsilon (probabilities[c], z[c], 1e-6);
    }

  g_assert_cmpint (convolve_top_k (probabilities, 3, 3, top), ==, 3);
  g_assert_cmpint (top[0], ==, 1);
  g_assert_cmpint (top[1], ==, 2);
  g_assert_cmpint (top[2], ==, 0);
}

static void
test_top_k (void)
{
  const float p[6] = { 0.1f, 0.3f, 0.05f, 0.3f, 0.2f, 0.05f };
  int top[6];

  g_assert_cmpint (convolve_top_k (p, 6, 3, top), ==, 3);
  /* Ties keep the lower class first. */
  g_assert_cmpint (top[0], ==, 1);
  g_assert_cmpint (top[1], ==, 3);
  g_assert_cmpint (top[2], ==, 4);

  g_assert_cmpint (convolve_top_k (p, 6, 10, top), ==, 6);
  g_assert_cmpint (top[3], ==, 0);
  g_assert_cmpint (top[4], ==, 2);
  g_assert_cmpint (top[5], ==, 5);

  g_assert_cmpint (convolve_top_k (p, 6, 1, top), ==, 1);
  g_assert_cmpint (top[0], ==, 1);
  g_assert_cmpint (convolve_top_k (p, 6, 0, top), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  convolve_engine_set_threads (1);

  g_test_add_func ("/train/evaluate/confusion", test_evaluate_confusion);
  g_test_add_func ("/train/evaluate/limit", test_evaluate_limit);
  g_test_add_func ("/train/evaluate/errors", test_evaluate_errors);
  g_test_add_func ("/train/evaluate/async", test_evaluate_async);
  g_test_add_func ("/train/predict/image", test_predict_image);
  g_test_add_func ("/train/predict/top-k", test_top_k);

  return g_test_run ();
}
