/* convolve-run-row.c: one run of the runs page's list, see the header.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-run-row.h"

struct _ConvolveRunRow
{
  GObject            parent_instance;
  ConvolveRunRecord *record;
  char              *settings;   /* the key hyperparameters, one line */
  double             duration;   /* seconds */
};

G_DEFINE_FINAL_TYPE (ConvolveRunRow, convolve_run_row, G_TYPE_OBJECT)

enum {
  ROW_PROP_0,
  ROW_PROP_ID,
  ROW_PROP_NAME,
  ROW_PROP_STARTED,
  ROW_PROP_DATASET,
  ROW_PROP_MODEL,
  ROW_PROP_SETTINGS,
  ROW_PROP_EPOCHS,
  ROW_PROP_BEST_ACCURACY,
  ROW_PROP_FINAL_ACCURACY,
  ROW_PROP_DURATION,
  ROW_PROP_STATUS,
  ROW_N_PROPS
};

static GParamSpec *row_properties[ROW_N_PROPS];

const char *
convolve_run_status_get_title (ConvolveRunStatus status)
{
  switch (status)
    {
    case CONVOLVE_RUN_STATUS_RUNNING:     return _("Running");
    case CONVOLVE_RUN_STATUS_FINISHED:    return _("Finished");
    case CONVOLVE_RUN_STATUS_STOPPED:     return _("Stopped");
    case CONVOLVE_RUN_STATUS_FAILED:      return _("Failed");
    case CONVOLVE_RUN_STATUS_INTERRUPTED: return _("Interrupted");
    default:                              return "";
    }
}

/* NaN sorts below every figure. */
static double
sortable (double value)
{
  return isnan (value) ? -1.0 : value;
}

static void
convolve_run_row_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  ConvolveRunRow *self = CONVOLVE_RUN_ROW (object);
  const ConvolveRunRecord *run = self->record;

  switch (prop_id)
    {
    case ROW_PROP_ID:             g_value_set_int64 (value, run->id); break;
    case ROW_PROP_NAME:           g_value_set_string (value, run->name); break;
    case ROW_PROP_STARTED:        g_value_set_int64 (value, run->started_at); break;
    case ROW_PROP_DATASET:        g_value_set_string (value, run->dataset_name); break;
    case ROW_PROP_MODEL:          g_value_set_string (value, run->model_spec); break;
    case ROW_PROP_SETTINGS:       g_value_set_string (value, self->settings); break;
    case ROW_PROP_EPOCHS:         g_value_set_int (value, run->n_epochs_done); break;
    case ROW_PROP_BEST_ACCURACY:  g_value_set_double (value, sortable (run->best_val_accuracy)); break;
    case ROW_PROP_FINAL_ACCURACY: g_value_set_double (value, sortable (run->final_accuracy)); break;
    case ROW_PROP_DURATION:       g_value_set_double (value, self->duration); break;
    case ROW_PROP_STATUS:         g_value_set_string (value, convolve_run_status_get_title (run->status)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_run_row_finalize (GObject *object)
{
  ConvolveRunRow *self = CONVOLVE_RUN_ROW (object);

  convolve_run_record_free (self->record);
  g_free (self->settings);
  G_OBJECT_CLASS (convolve_run_row_parent_class)->finalize (object);
}

static void
convolve_run_row_class_init (ConvolveRunRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = convolve_run_row_get_property;
  object_class->finalize = convolve_run_row_finalize;
  row_properties[ROW_PROP_ID] = g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  row_properties[ROW_PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  row_properties[ROW_PROP_STARTED] = g_param_spec_int64 ("started", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  row_properties[ROW_PROP_DATASET] = g_param_spec_string ("dataset", NULL, NULL, NULL, flags);
  row_properties[ROW_PROP_MODEL] = g_param_spec_string ("model", NULL, NULL, NULL, flags);
  row_properties[ROW_PROP_SETTINGS] = g_param_spec_string ("settings", NULL, NULL, NULL, flags);
  row_properties[ROW_PROP_EPOCHS] = g_param_spec_int ("epochs", NULL, NULL, 0, G_MAXINT, 0, flags);
  row_properties[ROW_PROP_BEST_ACCURACY] = g_param_spec_double ("best-accuracy", NULL, NULL, -1, 1, -1, flags);
  row_properties[ROW_PROP_FINAL_ACCURACY] = g_param_spec_double ("final-accuracy", NULL, NULL, -1, 1, -1, flags);
  row_properties[ROW_PROP_DURATION] = g_param_spec_double ("duration", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  row_properties[ROW_PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, ROW_N_PROPS, row_properties);
}

static void
convolve_run_row_init (ConvolveRunRow *self)
{
}

ConvolveRunRow *
convolve_run_row_new (ConvolveRunRecord *record)  /* takes it */
{
  ConvolveRunRow *row = g_object_new (CONVOLVE_TYPE_RUN_ROW, NULL);
  g_autofree char *optimizer = convolve_run_setting_format (CONVOLVE_RUN_SETTING_OPTIMIZER, record);
  g_autofree char *rate = convolve_run_setting_format (CONVOLVE_RUN_SETTING_LEARNING_RATE, record);
  g_autofree char *seed = convolve_run_setting_format (CONVOLVE_RUN_SETTING_SEED, record);
  gint64 end = record->ended_at > 0 ? record->ended_at : record->updated_at;

  row->record = record;
  /* Translators: a run's key settings in the runs list: optimizer, learning rate, batch size, seed */
  row->settings = g_strdup_printf (_("%s, lr %s, batch %d, seed %s"), optimizer, rate,
                                   record->config.batch_size, seed);
  row->duration = record->started_at > 0 && end > record->started_at
                  ? (end - record->started_at) / (double) G_USEC_PER_SEC : 0.0;
  return row;
}

ConvolveRunRecord *
convolve_run_row_get_record (ConvolveRunRow *self)
{
  g_return_val_if_fail (CONVOLVE_IS_RUN_ROW (self), NULL);
  return self->record;
}

const char *
convolve_run_row_get_settings (ConvolveRunRow *self)
{
  g_return_val_if_fail (CONVOLVE_IS_RUN_ROW (self), NULL);
  return self->settings;
}

double
convolve_run_row_get_duration (ConvolveRunRow *self)
{
  g_return_val_if_fail (CONVOLVE_IS_RUN_ROW (self), 0.0);
  return self->duration;
}
