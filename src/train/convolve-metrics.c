/* convolve-metrics.c: classification metrics from a confusion matrix.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-metrics.h"

#include <glib/gi18n.h>
#include <string.h>

static double
ratio_or_zero (double numerator,
               double denominator)
{
  return denominator > 0 ? numerator / denominator : 0.0;
}

ConvolveMetrics *
convolve_metrics_new (const ConvolveEvaluation *evaluation)
{
  ConvolveMetrics *metrics;
  int n;
  guint total = 0, hits = 0;

  g_return_val_if_fail (evaluation != NULL, NULL);
  g_return_val_if_fail (evaluation->n_classes > 0, NULL);

  n = evaluation->n_classes;
  metrics = g_new0 (ConvolveMetrics, 1);
  metrics->n_classes = n;
  metrics->classes = g_new0 (ConvolveClassMetrics, n);

  for (int t = 0; t < n; t++)
    for (int p = 0; p < n; p++)
      {
        guint count = evaluation->confusion[(gsize) t * n + p];

        metrics->classes[t].support += count;
        metrics->classes[p].predicted += count;
        total += count;
        if (t == p)
          hits += count;
      }

  for (int c = 0; c < n; c++)
    {
      ConvolveClassMetrics *m = &metrics->classes[c];
      double tp = evaluation->confusion[(gsize) c * n + c];

      m->precision = ratio_or_zero (tp, m->predicted);
      m->recall = ratio_or_zero (tp, m->support);
      m->f1 = ratio_or_zero (2.0 * m->precision * m->recall, m->precision + m->recall);

      metrics->macro.precision += m->precision / n;
      metrics->macro.recall += m->recall / n;
      metrics->macro.f1 += m->f1 / n;
      metrics->weighted.precision += m->precision * m->support;
      metrics->weighted.recall += m->recall * m->support;
      metrics->weighted.f1 += m->f1 * m->support;
    }
  metrics->weighted.precision = ratio_or_zero (metrics->weighted.precision, total);
  metrics->weighted.recall = ratio_or_zero (metrics->weighted.recall, total);
  metrics->weighted.f1 = ratio_or_zero (metrics->weighted.f1, total);
  metrics->macro.support = metrics->weighted.support = total;
  metrics->macro.predicted = metrics->weighted.predicted = total;
  metrics->n_images = total;
  metrics->accuracy = ratio_or_zero (hits, total);
  return metrics;
}

void
convolve_metrics_free (ConvolveMetrics *metrics)
{
  if (metrics == NULL)
    return;
  g_free (metrics->classes);
  g_free (metrics);
}

static int
compare_pairs (gconstpointer a,
               gconstpointer b)
{
  const ConvolveConfusedPair *x = a, *y = b;

  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  if (x->true_class != y->true_class)
    return x->true_class - y->true_class;
  return x->predicted_class - y->predicted_class;
}

GArray *
convolve_metrics_confused_pairs (const ConvolveEvaluation *evaluation,
                                 guint                     max_pairs)
{
  GArray *pairs;
  int n;

  g_return_val_if_fail (evaluation != NULL, NULL);

  n = evaluation->n_classes;
  pairs = g_array_new (FALSE, FALSE, sizeof (ConvolveConfusedPair));
  for (int t = 0; t < n; t++)
    for (int p = 0; p < n; p++)
      {
        ConvolveConfusedPair pair = { t, p, evaluation->confusion[(gsize) t * n + p] };

        if (t != p && pair.count > 0)
          g_array_append_val (pairs, pair);
      }
  g_array_sort (pairs, compare_pairs);
  if (max_pairs > 0 && pairs->len > max_pairs)
    g_array_set_size (pairs, max_pairs);
  return pairs;
}

guint
convolve_metrics_top_losses (const ConvolveEvaluation *evaluation,
                             guint                     k,
                             guint                    *indices)
{
  guint n = 0;

  g_return_val_if_fail (evaluation != NULL, 0);
  g_return_val_if_fail (indices != NULL || k == 0, 0);

  /* Insertion into a sorted prefix: k is small (a grid's worth). */
  for (guint i = 0; i < evaluation->n_images; i++)
    {
      float loss = evaluation->losses[i];
      guint position = n;

      while (position > 0 && loss > evaluation->losses[indices[position - 1]])
        position--;
      if (position >= k)
        continue;
      if (n < k)
        n++;
      memmove (indices + position + 1, indices + position, (n - 1 - position) * sizeof (guint));
      indices[position] = i;
    }
  return n;
}

char *
convolve_metrics_class_name (const char * const *class_names,
                             int                 c)
{
  if (class_names != NULL && c >= 0)
    for (int i = 0; class_names[i] != NULL; i++)
      if (i == c)
        return g_strdup (class_names[i]);
  return g_strdup_printf ("%d", c);
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void
append_csv_field (GString    *out,
                  const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_figure (GString *out,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_c (out, ',');
  g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.6f", value));
}

static void
append_metrics_row (GString                    *out,
                    const char                 *name,
                    const ConvolveClassMetrics *m)
{
  append_csv_field (out, name);
  append_figure (out, m->precision);
  append_figure (out, m->recall);
  append_figure (out, m->f1);
  g_string_append_printf (out, ",%u\n", m->support);
}

char *
convolve_metrics_to_csv (const ConvolveMetrics *metrics,
                         const char * const    *class_names)
{
  GString *out;

  g_return_val_if_fail (metrics != NULL, NULL);

  out = g_string_new ("class,precision,recall,f1,support\n");
  for (int c = 0; c < metrics->n_classes; c++)
    {
      g_autofree char *name = convolve_metrics_class_name (class_names, c);

      append_metrics_row (out, name, &metrics->classes[c]);
    }
  /* scikit-learn's row names; files are data, not translated. */
  append_metrics_row (out, "macro avg", &metrics->macro);
  append_metrics_row (out, "weighted avg", &metrics->weighted);
  return g_string_free (out, FALSE);
}

char *
convolve_evaluation_predictions_to_csv (const ConvolveEvaluation *evaluation,
                                        const char * const       *class_names)
{
  g_autoptr(GPtrArray) names = NULL;
  GString *out;

  g_return_val_if_fail (evaluation != NULL, NULL);

  names = g_ptr_array_new_with_free_func (g_free);
  for (int c = 0; c < evaluation->n_classes; c++)
    g_ptr_array_add (names, convolve_metrics_class_name (class_names, c));

  out = g_string_new ("index,true,predicted,confidence,loss\n");
  for (guint i = 0; i < evaluation->n_images; i++)
    {
      int truth = evaluation->labels != NULL ? evaluation->labels[i] : -1;
      int guess = evaluation->predictions[i];

      g_string_append_printf (out, "%u,", i);
      if (truth >= 0 && truth < evaluation->n_classes)
        append_csv_field (out, g_ptr_array_index (names, truth));
      g_string_append_c (out, ',');
      if (guess >= 0 && guess < evaluation->n_classes)
        append_csv_field (out, g_ptr_array_index (names, guess));
      append_figure (out, evaluation->confidences[i]);
      append_figure (out, evaluation->losses[i]);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static gboolean
save_text (const char  *text,
           const char  *path,
           GError     **error)
{
  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (path, text, -1, error))
    {
      g_prefix_error (error, _("Could not save “%s”: "), path);
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_metrics_save_csv (const ConvolveMetrics  *metrics,
                           const char * const     *class_names,
                           const char             *path,
                           GError                **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (metrics != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  text = convolve_metrics_to_csv (metrics, class_names);
  return save_text (text, path, error);
}

gboolean
convolve_evaluation_save_predictions_csv (const ConvolveEvaluation  *evaluation,
                                          const char * const        *class_names,
                                          const char                *path,
                                          GError                   **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (evaluation != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  text = convolve_evaluation_predictions_to_csv (evaluation, class_names);
  return save_text (text, path, error);
}
