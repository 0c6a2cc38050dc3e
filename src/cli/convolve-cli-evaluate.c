/* convolve-cli-evaluate.c: `convolve-cli evaluate`, a saved model measured
 * on a dataset's test set.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convolve-cli.h"
#include "convolve-cli-dataset.h"
#include "convolve-cli-options.h"
#include "convolve-train.h"
#include "convolve-confusion-render.h"
#include "convolve-image-grid.h"

/* The most confused pairs listed after the table. */
#define N_CONFUSED_PAIRS 5

/* Figures with '.' whatever the locale: scripts read these lines. */
static const char *
fixed4 (char   *buffer,
        double  value)
{
  return g_ascii_formatd (buffer, G_ASCII_DTOSTR_BUF_SIZE, "%.4f", value);
}

static gboolean
same_class_names (const char * const *a,
                  const char * const *b)
{
  guint n = g_strv_length ((char **) a);

  if (n != g_strv_length ((char **) b))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (strcmp (a[i], b[i]) != 0)
      return FALSE;
  return TRUE;
}

static void
print_figures (const char                 *label,
               int                         name_width,
               const char                 *accuracy,
               const ConvolveClassMetrics *m)
{
  char precision[G_ASCII_DTOSTR_BUF_SIZE], recall[G_ASCII_DTOSTR_BUF_SIZE], f1[G_ASCII_DTOSTR_BUF_SIZE];
  int pad = name_width - (int) g_utf8_strlen (label, -1);

  printf ("%s%*s  %8s  %9s  %6s  %6s  %6u\n", label, pad, "", accuracy,
          fixed4 (precision, m->precision), fixed4 (recall, m->recall), fixed4 (f1, m->f1), m->support);
}

static void
print_evaluation (const ConvolveEvaluation *evaluation,
                  const char * const       *class_names)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(ConvolveMetrics) metrics = convolve_metrics_new (evaluation);
  g_autoptr(GArray) pairs = convolve_metrics_confused_pairs (evaluation, N_CONFUSED_PAIRS);
  int n = evaluation->n_classes;
  int name_width = 5;
  int count_width = 5;
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  const char *macro = _("macro avg");
  const char *weighted = _("weighted avg");

  for (int c = 0; c < n; c++)
    {
      char *label = class_names != NULL && c < (int) g_strv_length ((char **) class_names)
                  ? g_strdup (class_names[c])
                  : g_strdup_printf ("%d", c);

      name_width = MAX (name_width, (int) g_utf8_strlen (label, -1));
      g_ptr_array_add (labels, label);
    }
  name_width = MAX (name_width, (int) g_utf8_strlen (macro, -1));
  name_width = MAX (name_width, (int) g_utf8_strlen (weighted, -1));
  for (int i = 0; i < n * n; i++)
    {
      char digits[16];

      count_width = MAX (count_width, g_snprintf (digits, sizeof digits, "%u", evaluation->confusion[i]));
    }

  printf (ngettext ("Evaluated %u image\n", "Evaluated %u images\n", evaluation->n_images),
          evaluation->n_images);
  printf ("loss: %s\n", fixed4 (buffer, evaluation->loss));
  printf ("accuracy: %s\n\n", fixed4 (buffer, evaluation->accuracy));

  /* Pad by characters, not bytes: class names may be translated. */
  /* Images is the support; precision, recall and F1 as scikit-learn
   * defines them (0 where undefined, see convolve-metrics.h). */
  printf ("%s%*s  %8s  %9s  %6s  %6s  %6s\n", _("Class"),
          name_width - (int) g_utf8_strlen (_("Class"), -1), "", _("Accuracy"), _("Precision"),
          _("Recall"), _("F1"), _("Images"));
  for (int c = 0; c < n; c++)
    print_figures (g_ptr_array_index (labels, c), name_width,
                   isnan (evaluation->class_accuracy[c]) ? "-" : fixed4 (buffer, evaluation->class_accuracy[c]),
                   &metrics->classes[c]);
  print_figures (macro, name_width, "", &metrics->macro);
  print_figures (weighted, name_width, "", &metrics->weighted);

  if (pairs->len > 0)
    {
      printf ("\n%s\n", _("Most confused (true → predicted: images)"));
      for (guint i = 0; i < pairs->len; i++)
        {
          ConvolveConfusedPair *pair = &g_array_index (pairs, ConvolveConfusedPair, i);

          printf ("  %s → %s: %u\n", (const char *) g_ptr_array_index (labels, pair->true_class),
                  (const char *) g_ptr_array_index (labels, pair->predicted_class), pair->count);
        }
    }

  printf ("\n%s\n", _("Confusion matrix (rows: true class, columns: predicted class)"));
  printf ("%*s", name_width + 4, "");
  for (int c = 0; c < n; c++)
    printf (" %*d", count_width, c);
  printf ("\n");
  for (int t = 0; t < n; t++)
    {
      const char *label = g_ptr_array_index (labels, t);
      int pad = name_width - (int) g_utf8_strlen (label, -1);

      printf ("%3d %s%*s", t, label, pad, "");
      for (int p = 0; p < n; p++)
        printf (" %*u", count_width, convolve_evaluation_get_confusion (evaluation, t, p));
      printf ("\n");
    }
}

static gboolean
write_report (const char               *dir,
              const ConvolveEvaluation *evaluation,
              const ConvolveDataset    *test,
              const char * const       *class_names,
              GError                  **error)
{
  static const ConvolveReportFormat formats[] = { CONVOLVE_REPORT_FORMAT_PNG, CONVOLVE_REPORT_FORMAT_SVG };
  static const char * const matrix_files[] = { "confusion.png", "confusion.svg" };
  g_autoptr(ConvolveMetrics) metrics = convolve_metrics_new (evaluation);
  g_autofree char *per_class = g_build_filename (dir, "per-class.csv", NULL);
  g_autofree char *predictions = g_build_filename (dir, "predictions.csv", NULL);
  g_autofree char *top_losses = g_build_filename (dir, "top-losses.png", NULL);
  cairo_surface_t *grid;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Could not create the folder “%s”: %s"), dir, g_strerror (saved));
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *path = g_build_filename (dir, matrix_files[i], NULL);
      g_autoptr(GBytes) bytes = convolve_confusion_render (formats[i], CONVOLVE_CONFUSION_EXPORT_SIZE,
                                                           CONVOLVE_CONFUSION_EXPORT_SIZE, evaluation,
                                                           class_names, NULL, error);

      if (bytes == NULL || !convolve_report_save (bytes, path, error))
        return FALSE;
    }
  if (!convolve_metrics_save_csv (metrics, class_names, per_class, error) ||
      !convolve_evaluation_save_predictions_csv (evaluation, class_names, predictions, error))
    return FALSE;

  grid = convolve_top_losses_render (evaluation, test, class_names);
  if (grid != NULL)
    {
      g_autoptr(GBytes) bytes = convolve_report_surface_to_png (grid, error);

      cairo_surface_destroy (grid);
      if (bytes == NULL || !convolve_report_save (bytes, top_losses, error))
        return FALSE;
    }
  return TRUE;
}

int
convolve_cli_evaluate (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  int limit = 0, batch_size = 256;
  g_autofree char *report_dir = NULL;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_MODEL),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATA),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATASET),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_IMAGE_SIZE),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_FIT),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_VALIDATION_FRACTION),
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit,
      N_("Evaluate only the first N test images"), N_("N") },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size,
      N_("Images per forward pass (default 256)"), N_("N") },
    { "report", 0, 0, G_OPTION_ARG_FILENAME, &report_dir,
      N_("Also write the confusion matrix (PNG, SVG), per-class and per-image tables (CSV) "
         "and the top losses (PNG) into DIR"), N_("DIR") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_THREADS),
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveEvaluation) evaluation = NULL;
  const char * const *class_names;
  ConvolveShape model_input;

  if (!convolve_cli_parse_options (&options, entries, NULL,
                                   _("Measure a saved model on a dataset’s test set: loss, accuracy, "
                                     "accuracy per class and the confusion matrix."),
                                   CONVOLVE_CLI_PARSE_NEEDS_MODEL, &argc, &argv))
    return 1;
  if (limit < 0)
    return convolve_cli_fail (_("--limit must not be negative"));
  if (batch_size < 1 || batch_size > 65536)
    return convolve_cli_fail (_("--batch-size must be between 1 and 65536, not %d"), batch_size);

  /* Sized for one image until the test set's size is known: memory for
   * --batch-size images that are not there is not spent. */
  model = convolve_model_load (options.model_path, 1, &meta, NULL, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);
  model_input = convolve_model_get_input (model);
  if (!convolve_cli_load_dataset (&options, &model_input, &train, &test, &error))
    return convolve_cli_fail ("%s", error->message);
  if (convolve_dataset_get_n_images (test) == 0)
    return convolve_cli_fail (_("the dataset has no test images to evaluate on"));

  if (!convolve_check_model_for_dataset (model, test, &error))
    return convolve_cli_fail ("%s", error->message);

  class_names = convolve_dataset_get_class_names (test);
  if (meta->class_names != NULL && class_names != NULL &&
      !same_class_names ((const char * const *) meta->class_names, class_names))
    {
      g_autofree char *model_classes = g_strjoinv (", ", meta->class_names);
      g_autofree char *data_classes = g_strjoinv (", ", (char **) class_names);

      return convolve_cli_fail (_("the model was trained on the classes %s, but the dataset’s classes are %s"),
                                model_classes, data_classes);
    }
  if (meta->class_names != NULL)
    class_names = (const char * const *) meta->class_names;

  {
    guint n_images = convolve_dataset_get_n_images (test);
    int batch = (int) MIN ((guint) batch_size, limit > 0 ? MIN (n_images, (guint) limit) : n_images);

    /* Inference does not depend on the batch size, only memory does. */
    if (batch > 1)
      {
        ConvolveModel *sized = convolve_model_copy (model, batch, &error);

        if (sized == NULL)
          return convolve_cli_fail ("%s", error->message);
        convolve_model_free (model);
        model = sized;
      }
  }

  convolve_engine_set_threads (convolve_cli_options_get_threads (&options));
  evaluation = convolve_evaluate (model, test, (guint) limit, NULL, NULL, NULL, &error);
  if (evaluation == NULL)
    return convolve_cli_fail ("%s", error->message);

  print_evaluation (evaluation, class_names);
  if (report_dir != NULL)
    {
      if (!write_report (report_dir, evaluation, test, class_names, &error))
        return convolve_cli_fail ("%s", error->message);
      printf ("\n");
      printf (_("Report written to %s\n"), report_dir);
    }
  return 0;
}
