/* convolve-train-config.c: the defaults and the checks of a training
 * config.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-train-config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

void
convolve_train_config_init (ConvolveTrainConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof *config);
  config->epochs = 5;
  config->augment_epochs = 0;
  config->batch_size = 32;
  config->optimizer = CONVOLVE_OPTIMIZER_ADAM;
  config->learning_rate = 1e-3f;
  config->seed = 0;
  config->threads = 0;
  config->train_limit = 0;
  config->eval_batch_size = 256;
  config->snapshot_every_steps = 200;
  config->progress_interval_ms = 100;
  convolve_augment_init_tutorial (&config->augment);
  config->early_stopping_patience = 0;
  config->early_stopping_monitor = CONVOLVE_MONITOR_VAL_LOSS;
  config->early_stopping_min_delta = 0.0;
  config->restore_best_weights = FALSE;
  config->restore_best_at_end = FALSE;
  config->time_budget_seconds = 0.0;
}

const char *
convolve_monitor_to_string (ConvolveMonitor monitor)
{
  return monitor == CONVOLVE_MONITOR_VAL_ACCURACY ? "val_accuracy" : "val_loss";
}

gboolean
convolve_monitor_from_string (const char      *text,
                              ConvolveMonitor *monitor)
{
  g_return_val_if_fail (monitor != NULL, FALSE);

  if (g_strcmp0 (text, "val_loss") == 0)
    *monitor = CONVOLVE_MONITOR_VAL_LOSS;
  else if (g_strcmp0 (text, "val_accuracy") == 0)
    *monitor = CONVOLVE_MONITOR_VAL_ACCURACY;
  else
    return FALSE;
  return TRUE;
}

gboolean
convolve_train_config_validate (const ConvolveTrainConfig  *config,
                                GError                    **error)
{
  g_return_val_if_fail (config != NULL, FALSE);

#define BAD(...) \
  G_STMT_START { \
    g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_INVALID_CONFIG, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

  if (config->epochs < 0 || config->epochs > 100000)
    BAD (_("The number of epochs must be between 0 and 100000, not %d"), config->epochs);
  if (config->augment_epochs < 0 || config->augment_epochs > 100000)
    BAD (_("The number of augmented epochs must be between 0 and 100000, not %d"), config->augment_epochs);
  if (config->epochs + config->augment_epochs == 0)
    BAD (_("There must be at least one epoch to train"));
  if (config->batch_size < 1 || config->batch_size > 65536)
    BAD (_("The batch size must be between 1 and 65536, not %d"), config->batch_size);
  if (config->optimizer != CONVOLVE_OPTIMIZER_ADAM && config->optimizer != CONVOLVE_OPTIMIZER_SGD)
    BAD (_("Unknown optimizer %d"), (int) config->optimizer);
  if (!(config->learning_rate > 0.0f) || !isfinite (config->learning_rate) || config->learning_rate > 10.0f)
    BAD (_("The learning rate must be greater than 0 and at most 10, not %g"), (double) config->learning_rate);
  if (config->threads < 0 || config->threads > 1024)
    BAD (_("The number of threads must be between 0 (all cores) and 1024, not %d"), config->threads);
  if (config->eval_batch_size < 1 || config->eval_batch_size > 65536)
    BAD (_("The evaluation batch size must be between 1 and 65536, not %d"), config->eval_batch_size);
  if (config->snapshot_every_steps < 0)
    BAD (_("The weight snapshot interval must not be negative"));
  if (config->progress_interval_ms < 0 || config->progress_interval_ms > 60000)
    BAD (_("The progress interval must be between 0 and 60000 ms, not %d"), config->progress_interval_ms);
  if (!(config->augment.width_shift_range >= 0.0f && config->augment.width_shift_range < 1.0f) ||
      !(config->augment.height_shift_range >= 0.0f && config->augment.height_shift_range < 1.0f))
    BAD (_("Augmentation shift ranges must be at least 0 and below 1"));
  if (config->early_stopping_patience < 0 || config->early_stopping_patience > 100000)
    BAD (_("The early stopping patience must be between 0 (off) and 100000 epochs, not %d"),
         config->early_stopping_patience);
  if (config->early_stopping_monitor != CONVOLVE_MONITOR_VAL_LOSS &&
      config->early_stopping_monitor != CONVOLVE_MONITOR_VAL_ACCURACY)
    BAD (_("Unknown early stopping monitor %d"), (int) config->early_stopping_monitor);
  if (!(config->early_stopping_min_delta >= 0.0) || !isfinite (config->early_stopping_min_delta))
    BAD (_("The early stopping minimum improvement must be a number of at least 0"));
  if (!(config->time_budget_seconds >= 0.0 && config->time_budget_seconds <= CONVOLVE_TIME_BUDGET_MAX))
    BAD (_("The time budget must be from 0 (none) to %d seconds"), (int) CONVOLVE_TIME_BUDGET_MAX);

#undef BAD
  return TRUE;
}
