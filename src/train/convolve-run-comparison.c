/* convolve-run-comparison.c: recorded runs side by side, see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-run-comparison.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>

static const struct {
  const char *key;
  const char *title;
} settings[CONVOLVE_RUN_N_SETTINGS] = {
  [CONVOLVE_RUN_SETTING_DATASET]        = { "dataset",        N_("Dataset") },
  [CONVOLVE_RUN_SETTING_MODEL]          = { "model",          N_("Model") },
  [CONVOLVE_RUN_SETTING_PARAMETERS]     = { "parameters",     N_("Parameters") },
  [CONVOLVE_RUN_SETTING_TRAIN_IMAGES]   = { "train_images",   N_("Training images") },
  [CONVOLVE_RUN_SETTING_EPOCHS]         = { "epochs",         N_("Epochs") },
  [CONVOLVE_RUN_SETTING_AUGMENT_EPOCHS] = { "augment_epochs", N_("Augmented epochs") },
  [CONVOLVE_RUN_SETTING_AUGMENT]        = { "augment",        N_("Augmentation") },
  [CONVOLVE_RUN_SETTING_BATCH_SIZE]     = { "batch_size",     N_("Batch size") },
  [CONVOLVE_RUN_SETTING_OPTIMIZER]      = { "optimizer",      N_("Optimizer") },
  [CONVOLVE_RUN_SETTING_LEARNING_RATE]  = { "learning_rate",  N_("Learning rate") },
  [CONVOLVE_RUN_SETTING_EARLY_STOPPING] = { "early_stopping", N_("Early stopping") },
  [CONVOLVE_RUN_SETTING_SEED]           = { "seed",           N_("Seed") },
  [CONVOLVE_RUN_SETTING_THREADS]        = { "threads",        N_("Threads") },
};

const char *
convolve_run_setting_get_key (ConvolveRunSetting setting)
{
  g_return_val_if_fail ((guint) setting < CONVOLVE_RUN_N_SETTINGS, NULL);
  return settings[setting].key;
}

const char *
convolve_run_setting_get_title (ConvolveRunSetting setting)
{
  g_return_val_if_fail ((guint) setting < CONVOLVE_RUN_N_SETTINGS, NULL);
  return _(settings[setting].title);
}

gboolean
convolve_run_setting_is_hyperparameter (ConvolveRunSetting setting)
{
  return setting != CONVOLVE_RUN_SETTING_THREADS;
}

static char *
format_float (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%g", value));
}

char *
convolve_run_setting_format (ConvolveRunSetting       setting,
                             const ConvolveRunRecord *run)
{
  const ConvolveTrainConfig *c;

  g_return_val_if_fail (run != NULL, NULL);
  c = &run->config;

  switch (setting)
    {
    case CONVOLVE_RUN_SETTING_DATASET:
      return g_strdup (run->dataset_name != NULL ? run->dataset_name : "");
    case CONVOLVE_RUN_SETTING_MODEL:
      return g_strdup (run->model_spec != NULL ? run->model_spec : "");
    case CONVOLVE_RUN_SETTING_PARAMETERS:
      return g_strdup_printf ("%" PRId64, run->n_parameters);
    case CONVOLVE_RUN_SETTING_TRAIN_IMAGES:
      return g_strdup_printf ("%u", run->n_train);
    case CONVOLVE_RUN_SETTING_EPOCHS:
      return g_strdup_printf ("%d", c->epochs);
    case CONVOLVE_RUN_SETTING_AUGMENT_EPOCHS:
      return g_strdup_printf ("%d", c->augment_epochs);
    case CONVOLVE_RUN_SETTING_AUGMENT:
      {
        g_autofree char *w = format_float (c->augment.width_shift_range);
        g_autofree char *h = format_float (c->augment.height_shift_range);

        return g_strdup_printf ("%s/%s%s", w, h, c->augment.horizontal_flip ? "/flip" : "");
      }
    case CONVOLVE_RUN_SETTING_BATCH_SIZE:
      return g_strdup_printf ("%d", c->batch_size);
    case CONVOLVE_RUN_SETTING_OPTIMIZER:
      return g_strdup (c->optimizer == CONVOLVE_OPTIMIZER_SGD ? "sgd" : "adam");
    case CONVOLVE_RUN_SETTING_LEARNING_RATE:
      return format_float (c->learning_rate);
    case CONVOLVE_RUN_SETTING_EARLY_STOPPING:
      {
        g_autofree char *min_delta = format_float (c->early_stopping_min_delta);

        if (c->early_stopping_patience <= 0)
          return g_strdup ("off");
        return g_strdup_printf ("%s/%d%s%s%s", convolve_monitor_to_string (c->early_stopping_monitor),
                                c->early_stopping_patience,
                                c->early_stopping_min_delta > 0.0 ? "/" : "",
                                c->early_stopping_min_delta > 0.0 ? min_delta : "",
                                c->restore_best_weights ? "/restore" : "");
      }
    case CONVOLVE_RUN_SETTING_SEED:
      return g_strdup_printf ("%" PRIu64, c->seed);
    case CONVOLVE_RUN_SETTING_THREADS:
      return g_strdup_printf ("%d", c->threads);
    case CONVOLVE_RUN_N_SETTINGS:
    default:
      break;
    }
  g_return_val_if_reached (NULL);
}

static gboolean
same_setting (ConvolveRunSetting       setting,
              const ConvolveRunRecord *a,
              const ConvolveRunRecord *b)
{
  g_autofree char *value_a = convolve_run_setting_format (setting, a);
  g_autofree char *value_b = convolve_run_setting_format (setting, b);

  return g_strcmp0 (value_a, value_b) == 0;
}

gboolean
convolve_run_records_differ_only_in_seed (const ConvolveRunRecord *a,
                                          const ConvolveRunRecord *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  for (guint s = 0; s < CONVOLVE_RUN_N_SETTINGS; s++)
    if (s != CONVOLVE_RUN_SETTING_SEED && convolve_run_setting_is_hyperparameter (s) &&
        !same_setting (s, a, b))
      return FALSE;
  return TRUE;
}

GArray *
convolve_run_records_differing_settings (const ConvolveRunRecord * const *runs,
                                         guint                            n_runs)
{
  GArray *differing = g_array_new (FALSE, FALSE, sizeof (guint));

  g_return_val_if_fail (runs != NULL || n_runs == 0, differing);

  for (guint s = 0; s < CONVOLVE_RUN_N_SETTINGS; s++)
    for (guint r = 1; r < n_runs; r++)
      if (!same_setting (s, runs[0], runs[r]))
        {
          g_array_append_val (differing, s);
          break;
        }
  return differing;
}

GPtrArray *
convolve_run_records_group_by_seed (const ConvolveRunRecord * const *runs,
                                    guint                            n_runs)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  g_return_val_if_fail (runs != NULL || n_runs == 0, groups);

  for (guint r = 0; r < n_runs; r++)
    {
      GArray *home = NULL;

      for (guint g = 0; g < groups->len && home == NULL; g++)
        {
          GArray *group = g_ptr_array_index (groups, g);

          if (convolve_run_records_differ_only_in_seed (runs[g_array_index (group, guint, 0)], runs[r]))
            home = group;
        }
      if (home == NULL)
        {
          home = g_array_new (FALSE, FALSE, sizeof (guint));
          g_ptr_array_add (groups, home);
        }
      g_array_append_val (home, r);
    }
  return groups;
}

/* Curves ------------------------------------------------------------------ */

struct _ConvolveRunComparison {
  GPtrArray *runs;      /* ConvolveRunRecord*, copies */
  GArray    *curves;    /* ConvolveRunCurve */
  GArray    *differing; /* guint settings */
  guint      n_epochs;
};

static void
curve_clear (ConvolveRunCurve *curve)
{
  g_free (curve->label);
  g_free (curve->run_ids);
  g_free (curve->val_accuracy);
  g_free (curve->val_accuracy_min);
  g_free (curve->val_accuracy_max);
  g_free (curve->val_loss);
  g_free (curve->val_loss_min);
  g_free (curve->val_loss_max);
}

/* Mean, min and max per epoch of one field over the members. */
static void
aggregate (const ConvolveRunCurve *curve,
           GArray * const         *epochs,
           const guint            *members,
           gboolean                loss,
           double                 *mean,
           double                 *lo,
           double                 *hi)
{
  for (guint e = 0; e < curve->n_epochs; e++)
    {
      double sum = 0.0, min = INFINITY, max = -INFINITY;
      guint n = 0;

      for (guint m = 0; m < curve->n_runs; m++)
        {
          GArray *rows = epochs[members[m]];

          for (guint i = 0; i < rows->len; i++)
            {
              const ConvolveHistoryEpoch *row = &g_array_index (rows, ConvolveHistoryEpoch, i);
              double value = loss ? row->val_loss : row->val_accuracy;

              if (row->epoch != (int) e + 1 || !isfinite (value))
                continue;
              sum += value;
              min = MIN (min, value);
              max = MAX (max, value);
              n++;
              break;
            }
        }
      mean[e] = n > 0 ? sum / n : NAN;
      lo[e] = n > 0 ? min : NAN;
      hi[e] = n > 0 ? max : NAN;
    }
}

static void
curve_init (ConvolveRunCurve               *curve,
            const ConvolveRunRecord * const *runs,
            GArray * const                  *epochs,
            const guint                     *members,
            guint                            n_members)
{
  const ConvolveRunRecord *first = runs[members[0]];
  const char *name = first->name != NULL ? first->name : "";

  curve->n_runs = n_members;
  curve->run_ids = g_new (gint64, n_members);
  curve->n_epochs = 0;
  for (guint m = 0; m < n_members; m++)
    {
      GArray *rows = epochs[members[m]];

      curve->run_ids[m] = runs[members[m]]->id;
      for (guint i = 0; i < rows->len; i++)
        {
          int epoch = g_array_index (rows, ConvolveHistoryEpoch, i).epoch;

          /* A sane bound: a recorded epoch number is not trusted blindly. */
          if (epoch > 0 && epoch <= 1 << 20)
            curve->n_epochs = MAX (curve->n_epochs, (guint) epoch);
        }
    }
  if (n_members == 1)
    curve->label = g_strdup (name);
  else
    /* Translators: a curve that is the mean of runs that differ only in their seed, e.g. "Run 3 (3 seeds)" */
    curve->label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s (%u seed)", "%s (%u seeds)", n_members),
                                    name, n_members);

  curve->val_accuracy = g_new (double, MAX (curve->n_epochs, 1));
  curve->val_accuracy_min = g_new (double, MAX (curve->n_epochs, 1));
  curve->val_accuracy_max = g_new (double, MAX (curve->n_epochs, 1));
  curve->val_loss = g_new (double, MAX (curve->n_epochs, 1));
  curve->val_loss_min = g_new (double, MAX (curve->n_epochs, 1));
  curve->val_loss_max = g_new (double, MAX (curve->n_epochs, 1));
  aggregate (curve, epochs, members, FALSE, curve->val_accuracy, curve->val_accuracy_min, curve->val_accuracy_max);
  aggregate (curve, epochs, members, TRUE, curve->val_loss, curve->val_loss_min, curve->val_loss_max);

  curve->best_epoch = 0;
  if (n_members == 1 && first->best_epoch > 0 && (guint) first->best_epoch <= curve->n_epochs)
    curve->best_epoch = first->best_epoch;
  else
    {
      /* As the recorder judges a run: the lowest validation loss, the
       * earlier epoch on a tie. */
      double best = INFINITY;

      for (guint e = 0; e < curve->n_epochs; e++)
        if (isfinite (curve->val_loss[e]) && curve->val_loss[e] < best)
          {
            best = curve->val_loss[e];
            curve->best_epoch = (int) e + 1;
          }
    }
}

ConvolveRunComparison *
convolve_run_comparison_new (const ConvolveRunRecord * const *runs,
                             GArray * const                  *epochs,
                             guint                            n_runs,
                             gboolean                         group_seeds)
{
  ConvolveRunComparison *comparison = g_new0 (ConvolveRunComparison, 1);

  g_return_val_if_fail (n_runs == 0 || (runs != NULL && epochs != NULL), comparison);

  comparison->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_run_record_free);
  comparison->curves = g_array_new (FALSE, TRUE, sizeof (ConvolveRunCurve));
  g_array_set_clear_func (comparison->curves, (GDestroyNotify) curve_clear);
  for (guint r = 0; r < n_runs; r++)
    g_ptr_array_add (comparison->runs, convolve_run_record_copy (runs[r]));
  comparison->differing = convolve_run_records_differing_settings (runs, n_runs);

  if (group_seeds)
    {
      g_autoptr(GPtrArray) groups = convolve_run_records_group_by_seed (runs, n_runs);

      for (guint g = 0; g < groups->len; g++)
        {
          GArray *group = g_ptr_array_index (groups, g);
          ConvolveRunCurve curve = { 0 };

          curve_init (&curve, runs, epochs, (const guint *) group->data, group->len);
          g_array_append_val (comparison->curves, curve);
        }
    }
  else
    for (guint r = 0; r < n_runs; r++)
      {
        ConvolveRunCurve curve = { 0 };

        curve_init (&curve, runs, epochs, &r, 1);
        g_array_append_val (comparison->curves, curve);
      }

  for (guint c = 0; c < comparison->curves->len; c++)
    comparison->n_epochs = MAX (comparison->n_epochs,
                                g_array_index (comparison->curves, ConvolveRunCurve, c).n_epochs);
  return comparison;
}

ConvolveRunComparison *
convolve_run_comparison_load (ConvolveRunStore  *store,
                              const gint64      *run_ids,
                              guint              n_runs,
                              gboolean           group_seeds,
                              GError           **error)
{
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) convolve_run_record_free);
  g_autoptr(GPtrArray) epochs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (run_ids != NULL || n_runs == 0, NULL);

  for (guint r = 0; r < n_runs; r++)
    {
      ConvolveRunRecord *run = convolve_run_store_get_run (store, run_ids[r], error);
      GArray *rows;

      if (run == NULL)
        return NULL;
      g_ptr_array_add (runs, run);
      rows = convolve_run_store_get_epochs (store, run_ids[r], error);
      if (rows == NULL)
        return NULL;
      g_ptr_array_add (epochs, rows);
    }
  return convolve_run_comparison_new ((const ConvolveRunRecord * const *) runs->pdata,
                                      (GArray * const *) epochs->pdata, n_runs, group_seeds);
}

void
convolve_run_comparison_free (ConvolveRunComparison *comparison)
{
  if (comparison == NULL)
    return;
  g_ptr_array_unref (comparison->runs);
  g_array_unref (comparison->curves);
  g_array_unref (comparison->differing);
  g_free (comparison);
}

guint
convolve_run_comparison_get_n_curves (const ConvolveRunComparison *comparison)
{
  g_return_val_if_fail (comparison != NULL, 0);
  return comparison->curves->len;
}

const ConvolveRunCurve *
convolve_run_comparison_get_curve (const ConvolveRunComparison *comparison,
                                   guint                        index)
{
  g_return_val_if_fail (comparison != NULL, NULL);
  g_return_val_if_fail (index < comparison->curves->len, NULL);
  return &g_array_index (comparison->curves, ConvolveRunCurve, index);
}

guint
convolve_run_comparison_get_n_runs (const ConvolveRunComparison *comparison)
{
  g_return_val_if_fail (comparison != NULL, 0);
  return comparison->runs->len;
}

const ConvolveRunRecord *
convolve_run_comparison_get_run (const ConvolveRunComparison *comparison,
                                 guint                        index)
{
  g_return_val_if_fail (comparison != NULL, NULL);
  g_return_val_if_fail (index < comparison->runs->len, NULL);
  return g_ptr_array_index (comparison->runs, index);
}

const GArray *
convolve_run_comparison_get_differing (const ConvolveRunComparison *comparison)
{
  g_return_val_if_fail (comparison != NULL, NULL);
  return comparison->differing;
}

guint
convolve_run_comparison_get_n_epochs (const ConvolveRunComparison *comparison)
{
  g_return_val_if_fail (comparison != NULL, 0);
  return comparison->n_epochs;
}
