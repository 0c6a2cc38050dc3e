/* fuzz-tar.c: unpacking a downloaded dataset archive (.tar.gz, or plain
 * tar), _convolve_download_job_extract(), in a private folder: the archive
 * is the input as if downloaded and verified, and nothing may be written
 * outside the folder. A successful extraction installs
 * cifar-10-batches-bin there, which must then load.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-download-private.h"
#include "convolve-loaders.h"
#include "fuzz-common.h"

/* Everything in the folder after a run: only the archive and, after a
 * success, the dataset folder. */
static void
assert_folder_clean (const char *dir,
                     gboolean    installed)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert (listing != NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      if (strcmp (name, "archive.part") == 0)
        continue;
      if (installed && strcmp (name, CONVOLVE_CIFAR10_FOLDER) == 0)
        continue;
      g_error ("extraction left “%s” behind", name);
    }
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  const char *top = convolve_fuzz_temp_dir ();
  /* a folder below the temporary one: an entry escaping data_dir by one
   * level would still land inside it, where assert_folder_clean sees it */
  g_autofree char *dir = g_build_filename (top, "data", NULL);
  ConvolveDownloadJob job = { NULL, };
  g_autoptr(GError) error = NULL;
  gboolean ok;

  convolve_fuzz_init ();
  job.part_path = convolve_fuzz_write_file (dir, "archive.part", data, size);
  job.data_dir = g_strdup (dir);
  job.dataset_dir = g_build_filename (dir, CONVOLVE_CIFAR10_FOLDER, NULL);
  job.dir_fd = -1;
  job.part_fd = -1;

  ok = _convolve_download_job_extract (&job, &error);
  g_assert (ok == (error == NULL));
  assert_folder_clean (dir, ok);
  {
    g_autoptr(GDir) listing = g_dir_open (top, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (listing)) != NULL)
      if (strcmp (name, "data") != 0)
        g_error ("extraction wrote “%s” outside its folder", name);
  }
  if (ok)
    {
      g_autoptr(ConvolveDataset) train = NULL;
      g_autoptr(ConvolveDataset) test = NULL;
      g_autoptr(GError) load_error = NULL;

      if (!convolve_cifar10_load_binary (job.dataset_dir, &train, &test, NULL, &load_error))
        g_error ("an archive extracts, but its dataset does not load: %s", load_error->message);
    }

  convolve_fuzz_clear_dir (top);
  g_free (job.part_path);
  g_free (job.data_dir);
  g_free (job.dataset_dir);
  return 0;
}
