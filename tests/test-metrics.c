/* test-metrics.c: precision, recall, F1, support, averages and the most
 * confused pairs against figures worked out by hand, and the CSV tables.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "convolve-train.h"

#define EPS 5e-7

static const char * const names[] = { "plane", "car", "bird", "frog", NULL };

/* Rows true, columns predicted; class 3 ("frog") has no images and is
 * never predicted, so each of its figures is an undefined case.
 *
 *            plane car bird frog | support
 *   plane      6    2    2    0  |  10
 *   car        1    3    0    0  |   4
 *   bird       1    0    4    0  |   5
 *   frog       0    0    0    0  |   0
 *   predicted  8    5    6    0  |  19
 */
static const guint matrix[16] = {
  6, 2, 2, 0,
  1, 3, 0, 0,
  1, 0, 4, 0,
  0, 0, 0, 0,
};

static ConvolveEvaluation *
make_evaluation (const guint *confusion,
                 int          n_classes)
{
  ConvolveEvaluation *evaluation = convolve_evaluation_new ();
  guint n = 0, i = 0;

  evaluation->n_classes = n_classes;
  evaluation->confusion = g_memdup2 (confusion, sizeof (guint) * n_classes * n_classes);
  for (int k = 0; k < n_classes * n_classes; k++)
    n += confusion[k];
  evaluation->n_images = n;
  evaluation->labels = g_new (gint32, n);
  evaluation->predictions = g_new (gint32, n);
  evaluation->confidences = g_new (float, n);
  evaluation->losses = g_new (float, n);
  for (int t = 0; t < n_classes; t++)
    for (int p = 0; p < n_classes; p++)
      for (guint k = 0; k < confusion[t * n_classes + p]; k++, i++)
        {
          evaluation->labels[i] = t;
          evaluation->predictions[i] = p;
          evaluation->confidences[i] = 0.5f;
          evaluation->losses[i] = t == p ? 0.25f : 2.0f;
        }
  return evaluation;
}

static void
test_metrics_hand_computed (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (matrix, 4);
  g_autoptr(ConvolveMetrics) m = convolve_metrics_new (evaluation);

  g_assert_cmpint (m->n_classes, ==, 4);
  g_assert_cmpuint (m->n_images, ==, 19);
  /* 13 / 19 */
  g_assert_cmpfloat_with_epsilon (m->accuracy, 0.6842105, EPS);

  g_assert_cmpuint (m->classes[0].support, ==, 10);
  g_assert_cmpuint (m->classes[1].support, ==, 4);
  g_assert_cmpuint (m->classes[2].support, ==, 5);
  g_assert_cmpuint (m->classes[3].support, ==, 0);
  g_assert_cmpuint (m->classes[0].predicted, ==, 8);
  g_assert_cmpuint (m->classes[2].predicted, ==, 6);

  /* plane: 6/8, 6/10, 2 * 0.75 * 0.6 / 1.35 */
  g_assert_cmpfloat_with_epsilon (m->classes[0].precision, 0.75, EPS);
  g_assert_cmpfloat_with_epsilon (m->classes[0].recall, 0.6, EPS);
  g_assert_cmpfloat_with_epsilon (m->classes[0].f1, 0.6666667, EPS);
  /* car: 3/5, 3/4, the same F1 */
  g_assert_cmpfloat_with_epsilon (m->classes[1].precision, 0.6, EPS);
  g_assert_cmpfloat_with_epsilon (m->classes[1].recall, 0.75, EPS);
  g_assert_cmpfloat_with_epsilon (m->classes[1].f1, 0.6666667, EPS);
  /* bird: 4/6, 4/5, 16/22 */
  g_assert_cmpfloat_with_epsilon (m->classes[2].precision, 0.6666667, EPS);
  g_assert_cmpfloat_with_epsilon (m->classes[2].recall, 0.8, EPS);
  g_assert_cmpfloat_with_epsilon (m->classes[2].f1, 0.7272727, EPS);
  /* frog: never predicted, no images: all 0, not NaN */
  g_assert_cmpfloat (m->classes[3].precision, ==, 0.0);
  g_assert_cmpfloat (m->classes[3].recall, ==, 0.0);
  g_assert_cmpfloat (m->classes[3].f1, ==, 0.0);

  /* macro: (0.75 + 0.6 + 2/3 + 0) / 4, (0.6 + 0.75 + 0.8) / 4, 17/33 */
  g_assert_cmpfloat_with_epsilon (m->macro.precision, 0.5041667, EPS);
  g_assert_cmpfloat_with_epsilon (m->macro.recall, 0.5375, EPS);
  g_assert_cmpfloat_with_epsilon (m->macro.f1, 0.5151515, EPS);
  g_assert_cmpuint (m->macro.support, ==, 19);
  /* weighted: 397/570, 13/19 (weighted recall is accuracy), 428/627 */
  g_assert_cmpfloat_with_epsilon (m->weighted.precision, 0.6964912, EPS);
  g_assert_cmpfloat_with_epsilon (m->weighted.recall, 0.6842105, EPS);
  g_assert_cmpfloat_with_epsilon (m->weighted.f1, 0.6826156, EPS);
  g_assert_cmpuint (m->weighted.support, ==, 19);
}

static void
test_metrics_empty (void)
{
  static const guint zeros[4] = { 0 };
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (zeros, 2);
  g_autoptr(ConvolveMetrics) m = convolve_metrics_new (evaluation);
  g_autoptr(GArray) pairs = convolve_metrics_confused_pairs (evaluation, 0);

  g_assert_cmpfloat (m->accuracy, ==, 0.0);
  g_assert_cmpfloat (m->weighted.precision, ==, 0.0);
  g_assert_cmpfloat (m->macro.f1, ==, 0.0);
  g_assert_cmpuint (pairs->len, ==, 0);
}

static void
test_metrics_confused_pairs (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (matrix, 4);
  g_autoptr(GArray) pairs = convolve_metrics_confused_pairs (evaluation, 0);
  g_autoptr(GArray) top = convolve_metrics_confused_pairs (evaluation, 3);
  /* by count, then true class, then predicted class */
  static const ConvolveConfusedPair expected[] = {
    { 0, 1, 2 }, { 0, 2, 2 }, { 1, 0, 1 }, { 2, 0, 1 },
  };

  g_assert_cmpuint (pairs->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < pairs->len; i++)
    {
      ConvolveConfusedPair *pair = &g_array_index (pairs, ConvolveConfusedPair, i);

      g_assert_cmpint (pair->true_class, ==, expected[i].true_class);
      g_assert_cmpint (pair->predicted_class, ==, expected[i].predicted_class);
      g_assert_cmpuint (pair->count, ==, expected[i].count);
    }
  g_assert_cmpuint (top->len, ==, 3);
  g_assert_cmpint (g_array_index (top, ConvolveConfusedPair, 2).true_class, ==, 1);
}

static void
test_metrics_top_losses (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (matrix, 4);
  guint indices[8];
  static const float losses[8] = { 0.5f, 3.0f, 0.1f, 3.0f, 7.0f, 0.2f, 0.9f, 2.5f };

  memcpy (evaluation->losses, losses, sizeof losses);
  evaluation->n_images = 8;
  g_assert_cmpuint (convolve_metrics_top_losses (evaluation, 4, indices), ==, 4);
  g_assert_cmpuint (indices[0], ==, 4);
  g_assert_cmpuint (indices[1], ==, 1);  /* a tie: the lower index first */
  g_assert_cmpuint (indices[2], ==, 3);
  g_assert_cmpuint (indices[3], ==, 7);
  g_assert_cmpuint (convolve_metrics_top_losses (evaluation, 8, indices), ==, 8);
  g_assert_cmpuint (indices[7], ==, 2);
  evaluation->n_images = 2;
  g_assert_cmpuint (convolve_metrics_top_losses (evaluation, 25, indices), ==, 2);
  g_assert_cmpuint (indices[0], ==, 1);
  g_assert_cmpuint (indices[1], ==, 0);
  evaluation->n_images = 19;
}

static void
test_metrics_csv (void)
{
  g_autoptr(ConvolveEvaluation) evaluation = make_evaluation (matrix, 4);
  g_autoptr(ConvolveMetrics) m = convolve_metrics_new (evaluation);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("convolve-metrics-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "per-class.csv", NULL);
  g_autofree char *predictions_path = g_build_filename (dir, "predictions.csv", NULL);
  g_autofree char *text = NULL;
  g_autofree char *numbered = NULL;
  g_auto(GStrv) lines = NULL;
  const char * const odd_names[] = { "plane", "car, red", "say \"hi\"", "frog", NULL };

  g_assert_no_error (error);
  g_assert_true (convolve_metrics_save_csv (m, names, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_cmpstr (text, ==,
                   "class,precision,recall,f1,support\n"
                   "plane,0.750000,0.600000,0.666667,10\n"
                   "car,0.600000,0.750000,0.666667,4\n"
                   "bird,0.666667,0.800000,0.727273,5\n"
                   "frog,0.000000,0.000000,0.000000,0\n"
                   "macro avg,0.504167,0.537500,0.515152,19\n"
                   "weighted avg,0.696491,0.684211,0.682616,19\n");
  g_clear_pointer (&text, g_free);

  /* Without names: numbers. Names that need quoting are quoted. */
  numbered = convolve_metrics_to_csv (m, NULL);
  g_assert_true (g_str_has_prefix (numbered, "class,precision,recall,f1,support\n0,0.750000,"));
  text = convolve_metrics_to_csv (m, odd_names);
  g_assert_nonnull (strstr (text, "\n\"car, red\",0.600000,"));
  g_assert_nonnull (strstr (text, "\n\"say \"\"hi\"\"\",0.666667,"));
  g_clear_pointer (&text, g_free);

  g_assert_true (convolve_evaluation_save_predictions_csv (evaluation, names, predictions_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (predictions_path, &text, NULL, &error));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 19 + 1);
  g_assert_cmpstr (lines[0], ==, "index,true,predicted,confidence,loss");
  g_assert_cmpstr (lines[1], ==, "0,plane,plane,0.500000,0.250000");
  g_assert_cmpstr (lines[7], ==, "6,plane,car,0.500000,2.000000");
  g_assert_cmpstr (lines[19], ==, "18,bird,bird,0.500000,0.250000");
  g_assert_cmpstr (lines[20], ==, "");

  /* A failed save leaves no file and says why. */
  {
    g_autofree char *bad = g_build_filename (dir, "missing", "x.csv", NULL);

    g_assert_false (convolve_metrics_save_csv (m, names, bad, &error));
    g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_clear_error (&error);
  }

  g_unlink (path);
  g_unlink (predictions_path);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/metrics/hand-computed", test_metrics_hand_computed);
  g_test_add_func ("/train/metrics/empty", test_metrics_empty);
  g_test_add_func ("/train/metrics/confused-pairs", test_metrics_confused_pairs);
  g_test_add_func ("/train/metrics/top-losses", test_metrics_top_losses);
  g_test_add_func ("/train/metrics/csv", test_metrics_csv);

  return g_test_run ();
}
