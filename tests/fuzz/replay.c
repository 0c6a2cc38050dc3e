/* replay.c: runs every harness once on each committed input, without
 * libFuzzer, so the normal and the sanitizer builds (any compiler) replay
 * the seed corpora and every input that ever found a bug.
 *
 * usage: fuzz-replay FUZZ-DIR
 *          runs the files of FUZZ-DIR/corpus/<target> and FUZZ-DIR/regressions/<target>
 *          for each target, as a TAP test per target; the inputs listed in
 *          FUZZ-DIR/known-bugs.txt (bugs not fixed yet) are skipped
 *        fuzz-replay TARGET FILE...
 *          runs one target on the given files (to reproduce a crash in a
 *          gcc build)
 *
 * A bug shows as the harness aborting or a sanitizer report: the test then
 * fails, and the last "# running" line names the input.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "fuzz-targets.h"

typedef int (*FuzzEntry) (const uint8_t *data, size_t size);

#define DECLARE_TARGET(id, name) int convolve_fuzz_##id (const uint8_t *data, size_t size);
CONVOLVE_FUZZ_TARGETS (DECLARE_TARGET)

static const struct {
  const char *name;
  FuzzEntry   entry;
} targets[] = {
#define TABLE_ROW(id, name) { name, convolve_fuzz_##id },
  CONVOLVE_FUZZ_TARGETS (TABLE_ROW)
};

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
run_file (FuzzEntry   entry,
          const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autofree uint8_t *copy = NULL;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      printf ("# %s\n", error->message);
      return FALSE;
    }
  /* an exact-size copy, so ASan sees a read past the end as libFuzzer would */
  copy = g_memdup2 (contents, length);
  printf ("# running %s (%" G_GSIZE_FORMAT " bytes)\n", path, length);
  fflush (stdout);
  entry (copy, length);
  return TRUE;
}

/* "target/file" lines of known-bugs.txt; '#' starts a comment. */
static GHashTable *
read_known_bugs (const char *fuzz_dir)
{
  g_autofree char *path = g_build_filename (fuzz_dir, "known-bugs.txt", NULL);
  GHashTable *known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return known;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = NULL;
      char *comment = strchr (lines[i], '#');

      if (comment != NULL)
        *comment = '\0';
      words = g_strsplit_set (g_strstrip (lines[i]), " \t", 2);
      if (words[0] != NULL && words[0][0] != '\0')
        g_hash_table_add (known, g_strdup (words[0]));
    }
  return known;
}

/* Runs the files of fuzz_dir/kind/target in name order; returns how many
 * ran, or -1 when one could not be read. */
static int
run_folder (FuzzEntry    entry,
            const char  *fuzz_dir,
            const char  *kind,
            const char  *target,
            GHashTable  *known,
            guint       *n_skipped)
{
  g_autofree char *dir = g_build_filename (fuzz_dir, kind, target, NULL);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  int n = 0;

  if (listing == NULL)
    return 0;
  while ((name = g_dir_read_name (listing)) != NULL)
    if (name[0] != '.' && strcmp (name, "README") != 0 && !g_str_has_suffix (name, ".md"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *key = g_strconcat (target, "/", g_ptr_array_index (names, i), NULL);
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);

      if (g_hash_table_contains (known, key))
        {
          printf ("# skipping %s/%s: a known bug, listed in known-bugs.txt\n", kind, key);
          (*n_skipped)++;
          continue;
        }
      if (!run_file (entry, path))
        return -1;
      n++;
    }
  return n;
}

static int
replay_all (const char *fuzz_dir)
{
  g_autoptr(GHashTable) known = read_known_bugs (fuzz_dir);
  int status = 0;

  printf ("1..%u\n", (guint) G_N_ELEMENTS (targets));
  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    {
      guint n_skipped = 0;
      int n_corpus = run_folder (targets[t].entry, fuzz_dir, "corpus", targets[t].name, known, &n_skipped);
      int n_regressions = run_folder (targets[t].entry, fuzz_dir, "regressions", targets[t].name,
                                      known, &n_skipped);

      /* a target with no input at all would test nothing */
      if (n_corpus <= 0 || n_regressions < 0)
        {
          printf ("not ok %u - %s: %s\n", t + 1, targets[t].name,
                  n_corpus == 0 ? "no seed corpus" : "unreadable input");
          status = 1;
          continue;
        }
      printf ("ok %u - %s: %d seeds, %d regressions, %u known bugs skipped\n",
              t + 1, targets[t].name, n_corpus, n_regressions, n_skipped);
    }
  return status;
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 2)
    return replay_all (argv[1]);

  if (argc >= 3)
    {
      for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
        {
          if (strcmp (targets[t].name, argv[1]) != 0)
            continue;
          for (int i = 2; i < argc; i++)
            if (!run_file (targets[t].entry, argv[i]))
              return 1;
          return 0;
        }
      fprintf (stderr, "fuzz-replay: no target “%s”\n", argv[1]);
      return 2;
    }

  fprintf (stderr, "usage: fuzz-replay FUZZ-DIR\n"
                   "       fuzz-replay TARGET FILE...\n");
  return 2;
}
