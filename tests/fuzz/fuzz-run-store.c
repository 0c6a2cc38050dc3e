/* fuzz-run-store.c: reading the run store back (issues 9 and 10).
 *
 * The database in Convolve's data folder outlives the program that wrote
 * it: a crash, a disk error, another tool or a hand edit can leave any row
 * in it. Two kinds of input:
 *
 * - a file that starts like an SQLite database is the store as found on
 *   disk (damaged pages, another schema version, foreign tables);
 * - anything else is SQL, run against a new store that holds one run
 *   recorded the normal way, so rows can hold whatever values and types
 *   an UPDATE or INSERT can put there (NULLs, text in number columns,
 *   invalid UTF-8, huge or negative counts, duplicate epochs, new views
 *   and triggers).
 *
 * Then the store is opened as Convolve opens it (migration, layout check,
 * interrupted-run check), and every run is read back every way the CLI
 * and the app read it. Errors are fine; a crash, a leak, a GLib warning,
 * text that is not UTF-8, JSON that does not parse or a hang are not.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <sqlite3.h>
#include <string.h>

#include "convolve-json.h"
#include "convolve-run-store.h"
#include "fuzz-common.h"

#define SQLITE_MAGIC "SQLite format 3"

/* The input's own SQL gets a bounded budget: no statement of it may run
 * long or make a large value (that would time the harness out, not find
 * a bug in Convolve). */
#define SQL_STEPS_BUDGET 200000
#define SQL_VALUE_LIMIT  65536

static int
stop_long_sql (void *user_data)
{
  guint *calls = user_data;

  /* called every 1000 virtual machine steps */
  return ++*calls > SQL_STEPS_BUDGET / 1000;
}

static int
deny_other_files (void       *user_data,
                  int         action,
                  const char *arg1,
                  const char *arg2,
                  const char *database,
                  const char *trigger)
{
  (void) user_data; (void) arg1; (void) arg2; (void) database; (void) trigger;
  /* ATTACH (and VACUUM INTO) would write files outside the folder */
  return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

/* A store with one finished run of two epochs, recorded through the API. */
static void
record_one_run (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveRunStore) store = convolve_run_store_open (path, &error);
  ConvolveTrainConfig config;
  ConvolveRunInfo info = {
    .name = "seed run",
    .dataset_name = "cifar10",
    .dataset_path = "/data/cifar-10-batches-bin",
    .n_train = 100,
    .n_test = 20,
    .n_classes = 10,
    .model_spec = "conv2d(8,3,same,relu),maxpool(2),flatten,dense(10,softmax)",
    .n_parameters = 20714,
  };
  ConvolveHistoryStep steps[] = {
    { 1, 1, 1, 2.3, 0.1 }, { 2, 1, 2, 2.2, 0.15 },
    { 3, 2, 1, 2.0, 0.2 }, { 4, 2, 2, 1.9, 0.25 },
  };
  ConvolveHistoryEpoch epochs[] = {
    { 1, FALSE, 2.25, 0.12, 2.1, 0.2, 1.5 },
    { 2, TRUE, 1.95, 0.22, 1.9, 0.3, 1.4 },
  };
  gint64 id;

  if (store == NULL)
    g_error ("a new run store does not open: %s", error->message);
  convolve_train_config_init (&config);
  id = convolve_run_store_create_run (store, &info, &config, &error);
  if (id <= 0 ||
      !convolve_run_store_append_steps (store, id, steps, G_N_ELEMENTS (steps), &error) ||
      !convolve_run_store_append_epochs (store, id, epochs, G_N_ELEMENTS (epochs), &error) ||
      !convolve_run_store_set_paths (store, id, "/tmp/ck.safetensors", "/tmp/best.safetensors",
                                     "/tmp/model.safetensors", &error) ||
      !convolve_run_store_set_best_epoch (store, id, 2, 1.9, 0.3, &error) ||
      !convolve_run_store_finish_run (store, id, CONVOLVE_RUN_STATUS_FINISHED, NULL, NULL, &error))
    g_error ("recording the seed run failed: %s", error->message);
}

static void
run_sql (const char    *path,
         const uint8_t *data,
         size_t         size)
{
  g_autofree char *sql = g_strndup ((const char *) data, size);
  sqlite3 *db = NULL;
  guint calls = 0;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    g_error ("the seed store does not open in SQLite: %s", sqlite3_errmsg (db));
  sqlite3_limit (db, SQLITE_LIMIT_LENGTH, SQL_VALUE_LIMIT);
  sqlite3_limit (db, SQLITE_LIMIT_SQL_LENGTH, SQL_VALUE_LIMIT);
  sqlite3_progress_handler (db, 1000, stop_long_sql, &calls);
  sqlite3_set_authorizer (db, deny_other_files, NULL);
  sqlite3_exec (db, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
  /* errors are the input's: the statements before them stay done */
  sqlite3_exec (db, sql, NULL, NULL, NULL);
  sqlite3_close_v2 (db);
}

static void
assert_text (const char *text)
{
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    g_error ("the store handed out text that is not UTF-8");
}

static void
read_run (ConvolveRunStore        *store,
          const ConvolveRunRecord *listed)
{
  static const ConvolveRunExportFormat formats[] = {
    CONVOLVE_RUN_EXPORT_JSON, CONVOLVE_RUN_EXPORT_EPOCHS_CSV, CONVOLVE_RUN_EXPORT_STEPS_CSV,
  };
  g_autoptr(ConvolveRunRecord) record = NULL;
  g_autoptr(ConvolveHistory) history = NULL;
  g_autoptr(GArray) steps = NULL;
  g_autoptr(GArray) epochs = NULL;

  assert_text (listed->name);
  assert_text (listed->error_message);
  assert_text (listed->dataset_name);
  assert_text (listed->model_spec);
  record = convolve_run_store_get_run (store, listed->id, NULL);
  if (record != NULL)
    g_assert (record->id == listed->id);
  steps = convolve_run_store_get_steps (store, listed->id, NULL);
  epochs = convolve_run_store_get_epochs (store, listed->id, NULL);
  history = convolve_run_store_get_history (store, listed->id, NULL);
  if (history != NULL && steps != NULL && epochs != NULL)
    {
      g_assert (convolve_history_get_n_steps (history) <= steps->len);
      g_assert (convolve_history_get_n_epochs (history) <= epochs->len);
    }

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = convolve_run_store_export_run (store, listed->id, formats[i], &error);

      g_assert ((text == NULL) == (error != NULL));
      if (text == NULL)
        continue;
      if (!g_utf8_validate (text, -1, NULL))
        g_error ("an export is not UTF-8");
      if (formats[i] == CONVOLVE_RUN_EXPORT_JSON)
        {
          g_autoptr(GError) parse_error = NULL;
          ConvolveJsonValue *value = convolve_json_parse (text, strlen (text), NULL, &parse_error);

          if (value == NULL)
            g_error ("the JSON export does not parse: %s", parse_error->message);
          convolve_json_value_free (value);
        }
    }
}

static void
read_everything (ConvolveRunStore *store)
{
  static const ConvolveRunSort sorts[] = {
    CONVOLVE_RUN_SORT_NEWEST, CONVOLVE_RUN_SORT_OLDEST,
    CONVOLVE_RUN_SORT_NAME, CONVOLVE_RUN_SORT_BEST_ACCURACY,
  };
  g_autoptr(GPtrArray) runs = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sorts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) listed = convolve_run_store_list_runs (store, NULL, sorts[i], &error);

      g_assert ((listed == NULL) == (error != NULL));
      if (runs == NULL && listed != NULL)
        runs = g_ptr_array_ref (listed);
      else if (runs != NULL && listed != NULL)
        g_assert (runs->len == listed->len);
    }
  if (runs == NULL)
    return;

  /* a bounded number: the input could insert thousands of rows */
  for (guint i = 0; i < MIN (runs->len, 16u); i++)
    {
      const ConvolveRunRecord *record = g_ptr_array_index (runs, i);
      g_autoptr(GPtrArray) same = NULL;

      read_run (store, record);
      same = convolve_run_store_list_runs (store, record->dataset_name, CONVOLVE_RUN_SORT_NEWEST, NULL);
      if (same != NULL)
        g_assert (same->len >= 1 || record->dataset_name == NULL);
    }
  convolve_run_store_mark_interrupted (store, NULL);
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  const char *top = convolve_fuzz_temp_dir ();
  g_autofree char *dir = g_build_filename (top, "store", NULL);
  g_autofree char *path = g_build_filename (dir, "runs.sqlite", NULL);
  g_autoptr(ConvolveRunStore) store = NULL;
  g_autoptr(GError) error = NULL;

  convolve_fuzz_init ();
  if (size >= sizeof SQLITE_MAGIC && memcmp (data, SQLITE_MAGIC, sizeof SQLITE_MAGIC) == 0)
    {
      convolve_fuzz_clear_dir (top);
      g_free (convolve_fuzz_write_file (dir, "runs.sqlite", data, size));
    }
  else
    {
      static GBytes *seed_store;

      /* recorded once, copied for every input: recording costs fsyncs */
      if (seed_store == NULL)
        {
          g_autofree char *seed_dir = g_build_filename (top, "seed", NULL);
          g_autofree char *seed_path = g_build_filename (seed_dir, "runs.sqlite", NULL);
          g_autoptr(GMappedFile) file = NULL;

          g_mkdir_with_parents (seed_dir, 0700);
          record_one_run (seed_path);
          file = g_mapped_file_new (seed_path, FALSE, NULL);
          g_assert (file != NULL);
          seed_store = g_bytes_new (g_mapped_file_get_contents (file), g_mapped_file_get_length (file));
        }
      convolve_fuzz_clear_dir (top);
      g_free (convolve_fuzz_write_file (dir, "runs.sqlite", g_bytes_get_data (seed_store, NULL),
                                        g_bytes_get_size (seed_store)));
      run_sql (path, data, size);
    }

  store = convolve_run_store_open (path, &error);
  g_assert ((store == NULL) == (error != NULL));
  if (store != NULL)
    read_everything (store);
  g_clear_pointer (&store, convolve_run_store_unref);
  convolve_fuzz_clear_dir (top);
  return 0;
}
