/* convolve-checkpoint.c: the trainer's checkpoint entries, one table for
 * the writer and the reader.
 *
 * The format is that of CONVOLVE_CHECKPOINT_FORMAT "1": integers in
 * decimal, reals as %.17g (which reads back to the same double, so a
 * resumed run matches an uninterrupted one bit for bit), the optimizer as
 * "adam" or "sgd", booleans as 0 or 1. The model file sorts the entries, so
 * the table's order only decides which bad entry a reader reports first.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-checkpoint.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "convolve-train-error.h"

#define FORMAT_KEY         "convolve.trainer"
#define HISTORY_STEPS_KEY  "convolve.history.steps"
#define HISTORY_EPOCHS_KEY "convolve.history.epochs"

typedef enum {
  KEY_INT,        /* int within [min, max] */
  KEY_UINT,       /* guint within [min, max] */
  KEY_INT64,      /* gint64 within [min, max] */
  KEY_BOOLEAN,    /* gboolean, 0 or 1 */
  KEY_UINT64,     /* guint64, digits only: the whole range */
  KEY_FLOAT,      /* float, finite */
  KEY_DOUBLE,     /* double, finite */
  KEY_OPTIMIZER,  /* ConvolveOptimizerKind, "adam" or "sgd" */
  KEY_MONITOR,    /* ConvolveMonitor, "val_loss" or "val_accuracy" */
} KeyType;

typedef struct {
  const char *name;
  KeyType     type;
  gsize       offset;  /* into ConvolveCheckpointState */
  gint64      min;     /* KEY_INT, KEY_UINT and KEY_INT64; 0 for the rest */
  gint64      max;
  gboolean    optional; /* newer than the format: missing keeps the default */
} CheckpointKey;

#define FIELD(member) G_STRUCT_OFFSET (ConvolveCheckpointState, member)

/* The bounds are those convolve_train_config_validate() accepts, or what
 * the field's type holds; the reader refuses anything else. */
static const CheckpointKey checkpoint_keys[] = {
  { "convolve.config.epochs",                     KEY_INT,       FIELD (config.epochs),                     0, 100000 },
  { "convolve.config.augment_epochs",             KEY_INT,       FIELD (config.augment_epochs),             0, 100000 },
  { "convolve.config.batch_size",                 KEY_INT,       FIELD (config.batch_size),                 1, 65536 },
  { "convolve.config.optimizer",                  KEY_OPTIMIZER, FIELD (config.optimizer),                  0, 0 },
  { "convolve.config.learning_rate",              KEY_FLOAT,     FIELD (config.learning_rate),              0, 0 },
  { "convolve.config.seed",                       KEY_UINT64,    FIELD (config.seed),                       0, 0 },
  { "convolve.config.threads",                    KEY_INT,       FIELD (config.threads),                    0, 1024 },
  { "convolve.config.train_limit",                KEY_UINT,      FIELD (config.train_limit),                0, G_MAXUINT },
  { "convolve.config.eval_batch_size",            KEY_INT,       FIELD (config.eval_batch_size),            1, 65536 },
  { "convolve.config.snapshot_every_steps",       KEY_INT,       FIELD (config.snapshot_every_steps),       0, G_MAXINT },
  { "convolve.config.progress_interval_ms",       KEY_INT,       FIELD (config.progress_interval_ms),       0, 60000 },
  { "convolve.config.augment.width_shift_range",  KEY_FLOAT,     FIELD (config.augment.width_shift_range),  0, 0 },
  { "convolve.config.augment.height_shift_range", KEY_FLOAT,     FIELD (config.augment.height_shift_range), 0, 0 },
  { "convolve.config.augment.horizontal_flip",    KEY_BOOLEAN,   FIELD (config.augment.horizontal_flip),    0, 1 },

  { "convolve.position.train_images",             KEY_UINT,      FIELD (n_train),                           1, G_MAXUINT },
  { "convolve.position.epoch",                    KEY_INT,       FIELD (position.epoch),                    0, 200000 },
  { "convolve.position.step",                     KEY_INT,       FIELD (position.step),                     0, G_MAXINT },
  { "convolve.position.global_step",              KEY_INT64,     FIELD (position.global_step),              0, G_MAXINT64 },
  { "convolve.position.loss_sum",                 KEY_DOUBLE,    FIELD (position.loss_sum),                 0, 0 },
  { "convolve.position.n_correct",                KEY_INT64,     FIELD (position.n_correct),                0, G_MAXINT64 },
  { "convolve.position.n_seen",                   KEY_INT64,     FIELD (position.n_seen),                   0, G_MAXINT64 },
  { "convolve.position.epoch_seconds",            KEY_DOUBLE,    FIELD (position.epoch_seconds),            0, 0 },
  { "convolve.position.elapsed_seconds",          KEY_DOUBLE,    FIELD (position.elapsed_seconds),          0, 0 },

  { "convolve.config.early_stopping_patience",    KEY_INT,       FIELD (config.early_stopping_patience),    0, 100000, TRUE },
  { "convolve.config.early_stopping_monitor",     KEY_MONITOR,   FIELD (config.early_stopping_monitor),     0, 0, TRUE },
  { "convolve.config.early_stopping_min_delta",   KEY_DOUBLE,    FIELD (config.early_stopping_min_delta),   0, 0, TRUE },
  { "convolve.config.restore_best_weights",       KEY_BOOLEAN,   FIELD (config.restore_best_weights),       0, 1, TRUE },
  { "convolve.config.restore_best_at_end",        KEY_BOOLEAN,   FIELD (config.restore_best_at_end),        0, 1, TRUE },
  { "convolve.position.best_epoch",               KEY_INT,       FIELD (position.best_epoch),               0, 200000, TRUE },
  { "convolve.position.best_value",               KEY_DOUBLE,    FIELD (position.best_value),               0, 0, TRUE },
  { "convolve.position.wait",                     KEY_INT,       FIELD (position.wait),                     0, 200000, TRUE },
};

#undef FIELD

gboolean
_convolve_checkpoint_has_format (GHashTable *extra)
{
  return extra != NULL &&
         g_strcmp0 (g_hash_table_lookup (extra, FORMAT_KEY), CONVOLVE_CHECKPOINT_FORMAT) == 0;
}

/* --- writing ------------------------------------------------------------- */

static char *
format_double (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.17g", value));
}

static char *
format_key (const CheckpointKey *key,
            gconstpointer        field)
{
  switch (key->type)
    {
    case KEY_INT:
      return g_strdup_printf ("%d", *(const int *) field);
    case KEY_UINT:
      return g_strdup_printf ("%u", *(const guint *) field);
    case KEY_INT64:
      return g_strdup_printf ("%" PRId64, *(const gint64 *) field);
    case KEY_BOOLEAN:
      return g_strdup (*(const gboolean *) field ? "1" : "0");
    case KEY_UINT64:
      return g_strdup_printf ("%" PRIu64, *(const guint64 *) field);
    case KEY_FLOAT:
      return format_double (*(const float *) field);
    case KEY_DOUBLE:
      return format_double (*(const double *) field);
    case KEY_OPTIMIZER:
      return g_strdup (*(const ConvolveOptimizerKind *) field == CONVOLVE_OPTIMIZER_SGD ? "sgd" : "adam");
    case KEY_MONITOR:
      return g_strdup (convolve_monitor_to_string (*(const ConvolveMonitor *) field));
    default:
      g_assert_not_reached ();
    }
}

void
_convolve_checkpoint_write (GHashTable                    *extra,
                            const ConvolveCheckpointState *state,
                            const ConvolveHistory         *history)
{
  g_return_if_fail (extra != NULL);
  g_return_if_fail (state != NULL);
  g_return_if_fail (history != NULL);

  g_hash_table_insert (extra, g_strdup (FORMAT_KEY), g_strdup (CONVOLVE_CHECKPOINT_FORMAT));
  for (gsize i = 0; i < G_N_ELEMENTS (checkpoint_keys); i++)
    {
      const CheckpointKey *key = &checkpoint_keys[i];

      g_hash_table_insert (extra, g_strdup (key->name),
                           format_key (key, G_STRUCT_MEMBER_P (state, key->offset)));
    }
  g_hash_table_insert (extra, g_strdup (HISTORY_STEPS_KEY), convolve_history_steps_to_csv (history));
  g_hash_table_insert (extra, g_strdup (HISTORY_EPOCHS_KEY), convolve_history_epochs_to_csv (history));
}

/* --- reading ------------------------------------------------------------- */

static gboolean
parse_integer (const char *text,
               gint64      min,
               gint64      max,
               gint64     *value)
{
  char *end = NULL;

  *value = g_ascii_strtoll (text, &end, 10);
  return *end == '\0' && *value >= min && *value <= max;
}

static gboolean
parse_finite (const char *text,
              double     *value)
{
  char *end = NULL;

  *value = g_ascii_strtod (text, &end);
  return *end == '\0' && isfinite (*value);
}

/* Stores text into field when it is a valid value of the key. */
static gboolean
parse_key (const CheckpointKey *key,
           const char          *text,
           gpointer             field)
{
  gint64 integer;
  double real;
  char *end = NULL;

  if (text == NULL || *text == '\0')
    return FALSE;

  switch (key->type)
    {
    case KEY_INT:
      if (!parse_integer (text, key->min, key->max, &integer))
        return FALSE;
      *(int *) field = (int) integer;
      return TRUE;
    case KEY_UINT:
      if (!parse_integer (text, key->min, key->max, &integer))
        return FALSE;
      *(guint *) field = (guint) integer;
      return TRUE;
    case KEY_INT64:
      if (!parse_integer (text, key->min, key->max, &integer))
        return FALSE;
      *(gint64 *) field = integer;
      return TRUE;
    case KEY_BOOLEAN:
      if (!parse_integer (text, 0, 1, &integer))
        return FALSE;
      *(gboolean *) field = (gboolean) integer;
      return TRUE;
    case KEY_UINT64:
      if (!g_ascii_isdigit (*text))
        return FALSE;
      *(guint64 *) field = g_ascii_strtoull (text, &end, 10);
      return *end == '\0';
    case KEY_FLOAT:
      if (!parse_finite (text, &real))
        return FALSE;
      *(float *) field = (float) real;
      return TRUE;
    case KEY_DOUBLE:
      if (!parse_finite (text, &real))
        return FALSE;
      *(double *) field = real;
      return TRUE;
    case KEY_OPTIMIZER:
      if (strcmp (text, "adam") == 0)
        *(ConvolveOptimizerKind *) field = CONVOLVE_OPTIMIZER_ADAM;
      else if (strcmp (text, "sgd") == 0)
        *(ConvolveOptimizerKind *) field = CONVOLVE_OPTIMIZER_SGD;
      else
        return FALSE;
      return TRUE;
    case KEY_MONITOR:
      return convolve_monitor_from_string (text, (ConvolveMonitor *) field);
    default:
      g_assert_not_reached ();
    }
}

gboolean
_convolve_checkpoint_read (GHashTable               *extra,
                           ConvolveCheckpointState  *state,
                           ConvolveHistory         **history,
                           GError                  **error)
{
  g_return_val_if_fail (extra != NULL, FALSE);
  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (history != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (state, 0, sizeof *state);
  convolve_train_config_init (&state->config);

  for (gsize i = 0; i < G_N_ELEMENTS (checkpoint_keys); i++)
    {
      const CheckpointKey *key = &checkpoint_keys[i];

      if (key->optional && !g_hash_table_contains (extra, key->name))
        continue;
      if (!parse_key (key, g_hash_table_lookup (extra, key->name),
                      G_STRUCT_MEMBER_P (state, key->offset)))
        {
          g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                       _("The checkpoint’s “%s” entry is missing or damaged"), key->name);
          return FALSE;
        }
    }

  if (state->position.n_correct > state->position.n_seen)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT,
                           _("The checkpoint’s position in the run is inconsistent"));
      return FALSE;
    }

  *history = convolve_history_new_from_csv (g_hash_table_lookup (extra, HISTORY_STEPS_KEY),
                                            g_hash_table_lookup (extra, HISTORY_EPOCHS_KEY),
                                            error);
  return *history != NULL;
}
