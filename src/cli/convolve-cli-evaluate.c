/* convolve-cli-evaluate.c: `convolve-cli evaluate`, a saved model measured
 * on a dataset's test set.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convolve-cli.h"
#include "convolve-cli-dataset.h"
#include "convolve-cli-options.h"
#include "convolve-train.h"

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
print_evaluation (const ConvolveEvaluation *evaluation,
                  const char * const       *class_names)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  int n = evaluation->n_classes;
  int name_width = 5;
  int count_width = 5;
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  for (int c = 0; c < n; c++)
    {
      char *label = class_names != NULL && c < (int) g_strv_length ((char **) class_names)
                  ? g_strdup (class_names[c])
                  : g_strdup_printf ("%d", c);

      name_width = MAX (name_width, (int) g_utf8_strlen (label, -1));
      g_ptr_array_add (labels, label);
    }
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
  printf ("%s%*s  %8s  %6s\n", _("Class"),
          name_width - (int) g_utf8_strlen (_("Class"), -1), "", _("Accuracy"), _("Images"));
  for (int c = 0; c < n; c++)
    {
      const char *label = g_ptr_array_index (labels, c);
      int pad = name_width - (int) g_utf8_strlen (label, -1);

      if (isnan (evaluation->class_accuracy[c]))
        printf ("%s%*s  %8s  %6u\n", label, pad, "", "-", evaluation->class_counts[c]);
      else
        printf ("%s%*s  %8s  %6u\n", label, pad, "", fixed4 (buffer, evaluation->class_accuracy[c]),
                evaluation->class_counts[c]);
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

int
convolve_cli_evaluate (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  int limit = 0, batch_size = 256;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_MODEL),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATA),
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_DATASET),
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit,
      N_("Evaluate only the first N test images"), N_("N") },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size,
      N_("Images per forward pass (default 256)"), N_("N") },
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
  if (!convolve_cli_load_dataset (options.data_dir, options.dataset_name, &train, &test, &error))
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
  return 0;
}
