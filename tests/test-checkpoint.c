/* test-checkpoint.c: the trainer's checkpoint entries: the format as the
 * code before the key table wrote it (a committed checkpoint), every entry
 * round-tripped, and a missing, mistyped or out-of-range entry refused
 * with the entry's name.
 *
 * The expectations here are written out independently of the key table in
 * convolve-checkpoint.c, so a row that names the wrong field, type or
 * bound fails.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "convolve-checkpoint.h"
#include "convolve-train.h"

/* Every entry of fixtures/checkpoint-v1.safetensors but the history, as
 * its writer (tests/make-checkpoint-fixture.c) left it. */
static const struct {
  const char *key;
  const char *value;
} fixture_entries[] = {
  { "convolve.trainer", "1" },
  { "convolve.config.augment.height_shift_range", "0.070000000298023224" },
  { "convolve.config.augment.horizontal_flip", "0" },
  { "convolve.config.augment.width_shift_range", "0.12999999523162842" },
  { "convolve.config.augment_epochs", "1" },
  { "convolve.config.batch_size", "16" },
  { "convolve.config.epochs", "200" },
  { "convolve.config.eval_batch_size", "7" },
  { "convolve.config.learning_rate", "0.0030000000260770321" },
  { "convolve.config.optimizer", "sgd" },
  { "convolve.config.progress_interval_ms", "17" },
  { "convolve.config.seed", "18446744073709551557" },
  { "convolve.config.snapshot_every_steps", "3" },
  { "convolve.config.threads", "1" },
  { "convolve.config.train_limit", "50" },
  { "convolve.position.elapsed_seconds", "0.0050219999999999987" },
  { "convolve.position.epoch", "33" },
  { "convolve.position.epoch_seconds", "0.00015699999999999999" },
  { "convolve.position.global_step", "134" },
  { "convolve.position.loss_sum", "34.123481750488281" },
  { "convolve.position.n_correct", "25" },
  { "convolve.position.n_seen", "32" },
  { "convolve.position.step", "2" },
  { "convolve.position.train_images", "50" },
};

typedef enum {
  INTEGER,   /* decimal within [min, max] */
  REAL,      /* a finite number */
  SEED,      /* digits only */
  OPTIMIZER, /* adam or sgd */
  MONITOR,   /* val_loss or val_accuracy */
} Kind;

/* Every entry a checkpoint holds, with what the reader accepts; the
 * optional ones came after checkpoint-v1 and may be missing. */
static const struct {
  const char *key;
  Kind        kind;
  gint64      min;
  gint64      max;
  gboolean    optional;
} checkpoint_entries[] = {
  { "convolve.config.epochs", INTEGER, 0, 100000 },
  { "convolve.config.augment_epochs", INTEGER, 0, 100000 },
  { "convolve.config.batch_size", INTEGER, 1, 65536 },
  { "convolve.config.optimizer", OPTIMIZER, 0, 0 },
  { "convolve.config.learning_rate", REAL, 0, 0 },
  { "convolve.config.seed", SEED, 0, 0 },
  { "convolve.config.threads", INTEGER, 0, 1024 },
  { "convolve.config.train_limit", INTEGER, 0, G_MAXUINT },
  { "convolve.config.eval_batch_size", INTEGER, 1, 65536 },
  { "convolve.config.snapshot_every_steps", INTEGER, 0, G_MAXINT },
  { "convolve.config.progress_interval_ms", INTEGER, 0, 60000 },
  { "convolve.config.augment.width_shift_range", REAL, 0, 0 },
  { "convolve.config.augment.height_shift_range", REAL, 0, 0 },
  { "convolve.config.augment.horizontal_flip", INTEGER, 0, 1 },
  { "convolve.position.train_images", INTEGER, 1, G_MAXUINT },
  { "convolve.position.epoch", INTEGER, 0, 200000 },
  { "convolve.position.step", INTEGER, 0, G_MAXINT },
  { "convolve.position.global_step", INTEGER, 0, G_MAXINT64 },
  { "convolve.position.loss_sum", REAL, 0, 0 },
  { "convolve.position.n_correct", INTEGER, 0, G_MAXINT64 },
  { "convolve.position.n_seen", INTEGER, 0, G_MAXINT64 },
  { "convolve.position.epoch_seconds", REAL, 0, 0 },
  { "convolve.position.elapsed_seconds", REAL, 0, 0 },
  { "convolve.config.early_stopping_patience", INTEGER, 0, 100000, TRUE },
  { "convolve.config.early_stopping_monitor", MONITOR, 0, 0, TRUE },
  { "convolve.config.early_stopping_min_delta", REAL, 0, 0, TRUE },
  { "convolve.config.restore_best_weights", INTEGER, 0, 1, TRUE },
  { "convolve.config.restore_best_at_end", INTEGER, 0, 1, TRUE },
  { "convolve.position.best_epoch", INTEGER, 0, 200000, TRUE },
  { "convolve.position.best_value", REAL, 0, 0, TRUE },
  { "convolve.position.wait", INTEGER, 0, 200000, TRUE },
};

/* What a checkpoint without the optional entries reads as. */
static const struct {
  const char *key;
  const char *value;
} optional_defaults[] = {
  { "convolve.config.early_stopping_patience", "0" },
  { "convolve.config.early_stopping_monitor", "val_loss" },
  { "convolve.config.early_stopping_min_delta", "0" },
  { "convolve.config.restore_best_weights", "0" },
  { "convolve.config.restore_best_at_end", "0" },
  { "convolve.position.best_epoch", "0" },
  { "convolve.position.best_value", "0" },
  { "convolve.position.wait", "0" },
};

static GHashTable *
new_extra (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static GHashTable *
load_fixture_extra (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "checkpoint-v1.safetensors", NULL);
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveModel *model;

  model = convolve_model_load (path, 1, &meta, &optimizer, &error);
  g_assert_no_error (error);
  g_assert_nonnull (optimizer);
  convolve_model_free (model);
  return g_hash_table_ref (meta->extra);
}

/* A state with a value other than the default in every field, some at the
 * ends of their ranges. */
static void
make_state (ConvolveCheckpointState *state)
{
  memset (state, 0, sizeof *state);
  convolve_train_config_init (&state->config);
  state->config.epochs = 100000;
  state->config.augment_epochs = 3;
  state->config.batch_size = 65536;
  state->config.optimizer = CONVOLVE_OPTIMIZER_SGD;
  state->config.learning_rate = 0.1234567f;
  state->config.seed = G_MAXUINT64;
  state->config.threads = 1024;
  state->config.train_limit = G_MAXUINT;
  state->config.eval_batch_size = 1;
  state->config.snapshot_every_steps = G_MAXINT;
  state->config.progress_interval_ms = 60000;
  state->config.augment.width_shift_range = 0.25f;
  state->config.augment.height_shift_range = 1e-7f;
  state->config.augment.horizontal_flip = FALSE;
  state->n_train = G_MAXUINT;
  state->position.epoch = 200000;
  state->position.step = G_MAXINT;
  state->position.global_step = G_MAXINT64;
  state->position.loss_sum = 1.0 / 3.0;
  state->position.n_correct = G_MAXINT64 - 1;
  state->position.n_seen = G_MAXINT64;
  state->position.epoch_seconds = 5e-324;  /* the smallest subnormal */
  state->position.elapsed_seconds = 123456.789012345678;
  state->config.early_stopping_patience = 100000;
  state->config.early_stopping_monitor = CONVOLVE_MONITOR_VAL_ACCURACY;
  state->config.early_stopping_min_delta = 1e-3;
  state->config.restore_best_weights = TRUE;
  state->config.restore_best_at_end = TRUE;
  state->position.best_epoch = 199999;
  state->position.best_value = 0.8125;
  state->position.wait = 1;
}

static void
assert_same_state (const ConvolveCheckpointState *a,
                   const ConvolveCheckpointState *b)
{
  g_assert_cmpint (a->config.epochs, ==, b->config.epochs);
  g_assert_cmpint (a->config.augment_epochs, ==, b->config.augment_epochs);
  g_assert_cmpint (a->config.batch_size, ==, b->config.batch_size);
  g_assert_cmpint (a->config.optimizer, ==, b->config.optimizer);
  g_assert_true (a->config.learning_rate == b->config.learning_rate);
  g_assert_cmpuint (a->config.seed, ==, b->config.seed);
  g_assert_cmpint (a->config.threads, ==, b->config.threads);
  g_assert_cmpuint (a->config.train_limit, ==, b->config.train_limit);
  g_assert_cmpint (a->config.eval_batch_size, ==, b->config.eval_batch_size);
  g_assert_cmpint (a->config.snapshot_every_steps, ==, b->config.snapshot_every_steps);
  g_assert_cmpint (a->config.progress_interval_ms, ==, b->config.progress_interval_ms);
  g_assert_true (a->config.augment.width_shift_range == b->config.augment.width_shift_range);
  g_assert_true (a->config.augment.height_shift_range == b->config.augment.height_shift_range);
  g_assert_cmpint (a->config.augment.horizontal_flip, ==, b->config.augment.horizontal_flip);
  g_assert_cmpuint (a->n_train, ==, b->n_train);
  g_assert_cmpint (a->position.epoch, ==, b->position.epoch);
  g_assert_cmpint (a->position.step, ==, b->position.step);
  g_assert_cmpint (a->position.global_step, ==, b->position.global_step);
  g_assert_true (a->position.loss_sum == b->position.loss_sum);
  g_assert_cmpint (a->position.n_correct, ==, b->position.n_correct);
  g_assert_cmpint (a->position.n_seen, ==, b->position.n_seen);
  g_assert_true (a->position.epoch_seconds == b->position.epoch_seconds);
  g_assert_true (a->position.elapsed_seconds == b->position.elapsed_seconds);
  g_assert_cmpint (a->config.early_stopping_patience, ==, b->config.early_stopping_patience);
  g_assert_cmpint (a->config.early_stopping_monitor, ==, b->config.early_stopping_monitor);
  g_assert_true (a->config.early_stopping_min_delta == b->config.early_stopping_min_delta);
  g_assert_cmpint (a->config.restore_best_weights, ==, b->config.restore_best_weights);
  g_assert_cmpint (a->config.restore_best_at_end, ==, b->config.restore_best_at_end);
  g_assert_cmpint (a->position.best_epoch, ==, b->position.best_epoch);
  g_assert_true (a->position.best_value == b->position.best_value);
  g_assert_cmpint (a->position.wait, ==, b->position.wait);
}

/* A checkpoint written before the key table reads as it was meant, and
 * writing what was read gives the same entries, to the byte. */
static void
test_checkpoint_fixture (void)
{
  g_autoptr(GHashTable) extra = load_fixture_extra ();
  g_autoptr(GHashTable) written = new_extra ();
  g_autoptr(ConvolveHistory) history = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveCheckpointState state;
  GHashTableIter iter;
  gpointer key, value;

  g_assert_true (_convolve_checkpoint_has_format (extra));
  g_assert_true (_convolve_checkpoint_read (extra, &state, &history, &error));
  g_assert_no_error (error);

  g_assert_cmpint (state.config.epochs, ==, 200);
  g_assert_cmpint (state.config.augment_epochs, ==, 1);
  g_assert_cmpint (state.config.batch_size, ==, 16);
  g_assert_cmpint (state.config.optimizer, ==, CONVOLVE_OPTIMIZER_SGD);
  g_assert_true (state.config.learning_rate == 3e-3f);
  g_assert_cmpuint (state.config.seed, ==, G_GUINT64_CONSTANT (18446744073709551557));
  g_assert_cmpint (state.config.threads, ==, 1);
  g_assert_cmpuint (state.config.train_limit, ==, 50);
  g_assert_cmpint (state.config.eval_batch_size, ==, 7);
  g_assert_cmpint (state.config.snapshot_every_steps, ==, 3);
  g_assert_cmpint (state.config.progress_interval_ms, ==, 17);
  g_assert_true (state.config.augment.width_shift_range == 0.13f);
  g_assert_true (state.config.augment.height_shift_range == 0.07f);
  g_assert_false (state.config.augment.horizontal_flip);
  g_assert_cmpuint (state.n_train, ==, 50);
  g_assert_cmpint (state.position.epoch, ==, 33);
  g_assert_cmpint (state.position.step, ==, 2);
  g_assert_cmpint (state.position.global_step, ==, 134);
  g_assert_cmpfloat_with_epsilon (state.position.loss_sum, 34.123481750488281, 1e-12);
  g_assert_cmpint (state.position.n_correct, ==, 25);
  g_assert_cmpint (state.position.n_seen, ==, 32);
  g_assert_cmpfloat_with_epsilon (state.position.epoch_seconds, 0.000157, 1e-15);
  g_assert_cmpfloat_with_epsilon (state.position.elapsed_seconds, 0.005022, 1e-15);
  g_assert_cmpuint (convolve_history_get_n_epochs (history), ==, 33);
  g_assert_cmpuint (convolve_history_get_n_steps (history), >, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (fixture_entries); i++)
    g_assert_cmpstr (g_hash_table_lookup (extra, fixture_entries[i].key), ==, fixture_entries[i].value);

  /* Written before early stopping: off, no best epoch. */
  g_assert_cmpint (state.config.early_stopping_patience, ==, 0);
  g_assert_cmpint (state.config.early_stopping_monitor, ==, CONVOLVE_MONITOR_VAL_LOSS);
  g_assert_false (state.config.restore_best_weights);
  g_assert_cmpint (state.position.best_epoch, ==, 0);
  g_assert_cmpint (state.position.wait, ==, 0);

  /* Written again: the same entries to the byte, and the newer ones with
   * their defaults. */
  _convolve_checkpoint_write (written, &state, history);
  g_assert_cmpuint (g_hash_table_size (extra), ==, G_N_ELEMENTS (fixture_entries) + 2);
  g_assert_cmpuint (g_hash_table_size (written), ==,
                    G_N_ELEMENTS (fixture_entries) + 2 + G_N_ELEMENTS (optional_defaults));
  g_hash_table_iter_init (&iter, extra);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (g_hash_table_lookup (written, key), ==, value);
  for (gsize i = 0; i < G_N_ELEMENTS (optional_defaults); i++)
    g_assert_cmpstr (g_hash_table_lookup (written, optional_defaults[i].key), ==, optional_defaults[i].value);
}

static void
test_checkpoint_round_trip (void)
{
  g_autoptr(GHashTable) extra = new_extra ();
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveHistory) read_history = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveHistoryStep step = { .global_step = 7, .epoch = 1, .step = 7, .loss = 0.5, .accuracy = 0.25 };
  ConvolveHistoryEpoch epoch = { .epoch = 1, .loss = 0.75, .accuracy = 0.5, .val_loss = NAN,
                                 .val_accuracy = NAN, .seconds = 2.5, .augmented = TRUE };
  ConvolveCheckpointState state, read_state;

  g_assert_false (_convolve_checkpoint_has_format (NULL));
  g_assert_false (_convolve_checkpoint_has_format (extra));

  g_assert_true (convolve_history_append_step (history, &step));
  g_assert_true (convolve_history_append_epoch (history, &epoch));

  /* Both ends of every range, and both values of the flag and the
   * optimizer. */
  for (int round = 0; round < 2; round++)
    {
      make_state (&state);
      if (round == 1)
        {
          state.config.epochs = 0;
          state.config.batch_size = 1;
          state.config.optimizer = CONVOLVE_OPTIMIZER_ADAM;
          state.config.seed = 0;
          state.config.threads = 0;
          state.config.train_limit = 0;
          state.config.eval_batch_size = 65536;
          state.config.augment.horizontal_flip = TRUE;
          state.n_train = 1;
          state.position.epoch = 0;
          state.position.n_correct = 0;
          state.position.loss_sum = -0.0;
        }

      g_hash_table_remove_all (extra);
      _convolve_checkpoint_write (extra, &state, history);
      g_assert_true (_convolve_checkpoint_has_format (extra));
      /* the format, every entry, the two history tables */
      g_assert_cmpuint (g_hash_table_size (extra), ==, 1 + G_N_ELEMENTS (checkpoint_entries) + 2);
      for (gsize i = 0; i < G_N_ELEMENTS (checkpoint_entries); i++)
        g_assert_true (g_hash_table_contains (extra, checkpoint_entries[i].key));

      g_clear_pointer (&read_history, convolve_history_unref);
      g_assert_true (_convolve_checkpoint_read (extra, &read_state, &read_history, &error));
      g_assert_no_error (error);
      assert_same_state (&state, &read_state);
    }

  g_assert_cmpuint (convolve_history_get_n_steps (read_history), ==, 1);
  g_assert_cmpuint (convolve_history_get_n_epochs (read_history), ==, 1);
  g_assert_cmpint (convolve_history_get_step (read_history, 0)->global_step, ==, 7);
  g_assert_true (convolve_history_get_epoch (read_history, 0)->augmented);
  g_assert_true (isnan (convolve_history_get_epoch (read_history, 0)->val_loss));
}

/* extra from a good state with key set to value (NULL: removed); the read
 * must fail with the key's name, or succeed when good. */
static void
assert_entry (const char *key,
              const char *value,
              gboolean    good)
{
  g_autoptr(GHashTable) extra = new_extra ();
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveHistory) read_history = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveCheckpointState state;
  gboolean ok;

  make_state (&state);
  _convolve_checkpoint_write (extra, &state, history);
  if (value == NULL)
    g_assert_true (g_hash_table_remove (extra, key));
  else
    g_hash_table_replace (extra, g_strdup (key), g_strdup (value));

  ok = _convolve_checkpoint_read (extra, &state, &read_history, &error);
  if (good)
    {
      if (!ok)
        g_error ("%s = “%s” was refused: %s", key, value, error->message);
      return;
    }
  if (ok)
    g_error ("%s = “%s” was accepted", key, value != NULL ? value : "(none)");
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "missing or damaged"));
  g_assert_nonnull (strstr (error->message, key));
  g_assert_null (read_history);
}

static void
test_checkpoint_bad_entries (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (checkpoint_entries); i++)
    {
      const char *key = checkpoint_entries[i].key;
      gint64 min = checkpoint_entries[i].min;
      gint64 max = checkpoint_entries[i].max;
      char text[32];

      /* missing (fine for the newer entries), empty, not of its kind */
      assert_entry (key, NULL, checkpoint_entries[i].optional);
      assert_entry (key, "", FALSE);
      assert_entry (key, "x", FALSE);
      assert_entry (key, "1 x", FALSE);

      switch (checkpoint_entries[i].kind)
        {
        case INTEGER:
          assert_entry (key, "1.5", FALSE);
          assert_entry (key, "0x10", FALSE);
          g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, min - 1);
          assert_entry (key, text, FALSE);
          if (max < G_MAXINT64)
            {
              g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, max + 1);
              assert_entry (key, text, FALSE);
            }
          /* n_correct must not pass n_seen, which is G_MAXINT64 here */
          if (g_str_equal (key, "convolve.position.n_seen"))
            break;
          g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, min);
          assert_entry (key, text, TRUE);
          g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, max);
          assert_entry (key, text, TRUE);
          break;
        case REAL:
          assert_entry (key, "nan", FALSE);
          assert_entry (key, "inf", FALSE);
          assert_entry (key, "-inf", FALSE);
          assert_entry (key, "1e999", FALSE);
          assert_entry (key, "0.5", TRUE);
          assert_entry (key, "-2e-3", TRUE);
          break;
        case SEED:
          assert_entry (key, "-1", FALSE);
          assert_entry (key, "+1", FALSE);
          assert_entry (key, " 1", FALSE);
          assert_entry (key, "0", TRUE);
          assert_entry (key, "18446744073709551615", TRUE);
          break;
        case OPTIMIZER:
          assert_entry (key, "rmsprop", FALSE);
          assert_entry (key, "Adam", FALSE);
          assert_entry (key, "adam", TRUE);
          assert_entry (key, "sgd", TRUE);
          break;
        case MONITOR:
          assert_entry (key, "loss", FALSE);
          assert_entry (key, "Val_Loss", FALSE);
          assert_entry (key, "val_loss", TRUE);
          assert_entry (key, "val_accuracy", TRUE);
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

static void
test_checkpoint_inconsistent (void)
{
  g_autoptr(GHashTable) extra = new_extra ();
  g_autoptr(ConvolveHistory) history = convolve_history_new ();
  g_autoptr(ConvolveHistory) read_history = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveCheckpointState state;

  /* More right answers than images seen. */
  make_state (&state);
  state.position.n_correct = 10;
  state.position.n_seen = 9;
  _convolve_checkpoint_write (extra, &state, history);
  g_assert_false (_convolve_checkpoint_read (extra, &state, &read_history, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "inconsistent"));
  g_clear_error (&error);

  /* A damaged history is the history's error. */
  make_state (&state);
  _convolve_checkpoint_write (extra, &state, history);
  g_hash_table_replace (extra, g_strdup ("convolve.history.epochs"), g_strdup ("not,a,header\n"));
  g_assert_false (_convolve_checkpoint_read (extra, &state, &read_history, &error));
  g_assert_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY);
  g_assert_null (read_history);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/train/checkpoint/fixture", test_checkpoint_fixture);
  g_test_add_func ("/train/checkpoint/round-trip", test_checkpoint_round_trip);
  g_test_add_func ("/train/checkpoint/bad-entries", test_checkpoint_bad_entries);
  g_test_add_func ("/train/checkpoint/inconsistent", test_checkpoint_inconsistent);

  return g_test_run ();
}
