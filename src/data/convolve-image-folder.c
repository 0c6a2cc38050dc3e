/* convolve-image-folder.c: a folder of pictures, one subfolder per class,
 * as a training and a test set (see convolve-image-folder.h).
 *
 * Three steps: the walk lists every file with its size and modification
 * time (nothing is read); their fingerprint names the cache, which is used
 * when it matches; otherwise the pictures are decoded by worker threads,
 * each into its own slot of one buffer, so the order is the walk's whatever
 * the threads do, and written to the cache. The split into training and
 * test sets comes last, so changing it decodes nothing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convolve-data-private.h"
#include "convolve-image-folder.h"
#include "convolve-image-folder-private.h"
#include "convolve-limits.h"

#define CACHE_VERSION "convolve-image-folder-cache 1"

typedef enum {
  SUBSET_SPLIT,   /* flat layout or train/ alone: split here */
  SUBSET_TRAIN,
  SUBSET_TEST,
} Subset;

typedef enum {
  STATUS_PENDING,
  STATUS_COLOUR,
  STATUS_GREY,
  STATUS_SKIPPED,
} Status;

typedef struct {
  char   *path;       /* to open */
  char   *relative;   /* below the root, for the fingerprint */
  gint64  mtime_ns;
  gint64  size;
  guint8  label;
  guint8  subset;
} FolderFile;

typedef struct {
  GArray       *files;          /* FolderFile, in walk order */
  GPtrArray    *classes;        /* class folder names, as on disk */
  guint         n_unreadable;   /* entries that are no regular file */
  GCancellable *cancellable;
} Walk;

void
convolve_image_folder_options_init (ConvolveImageFolderOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->side = 32;
  options->fit = CONVOLVE_IMAGE_FIT_CROP;
  options->validation_fraction = 0.2;
  options->split_seed = CONVOLVE_IMAGE_FOLDER_SPLIT_SEED;
  options->shuffle = TRUE;
}

char *
convolve_image_folder_cache_dir (void)
{
  const char *dir = g_getenv ("CONVOLVE_CACHE_DIR");

  if (dir != NULL && *dir != '\0')
    return g_strdup (dir);
  return g_build_filename (g_get_user_cache_dir (), "convolve", NULL);
}

static void
folder_file_clear (FolderFile *file)
{
  g_free (file->path);
  g_free (file->relative);
}

static void
walk_clear (Walk *walk)
{
  g_clear_pointer (&walk->files, g_array_unref);
  g_clear_pointer (&walk->classes, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Walk, walk_clear)

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The entries of path but hidden ones, in byte order; NULL when it cannot
 * be opened. */
static GPtrArray *
list_sorted (const char  *path,
             GError     **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;
  GPtrArray *names;
  const char *name;

  dir = g_dir_open (path, 0, &local_error);
  if (dir == NULL)
    {
      convolve_data_propagate_io_error (error, g_steal_pointer (&local_error), path);
      return NULL;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* Whether path is a folder, following a link. */
static gboolean
is_folder (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static gboolean
add_file (Walk             *walk,
          const char       *path,
          const char       *relative,
          const GStatBuf   *st,
          guint8            label,
          Subset            subset,
          GError          **error)
{
  FolderFile file;

  if (walk->files->len >= CONVOLVE_LIMIT_FOLDER_FILES)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                   _("The image folder holds more than %d files, the most Convolve reads"),
                   CONVOLVE_LIMIT_FOLDER_FILES);
      return FALSE;
    }
  file.path = g_strdup (path);
  file.relative = g_strdup (relative);
  file.mtime_ns = (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
  file.size = (gint64) st->st_size;
  file.label = label;
  file.subset = (guint8) subset;
  g_array_append_val (walk->files, file);
  return TRUE;
}

/* Every file below a class folder. Links to files are followed, links to
 * folders are not (a loop could never end); folders deeper than the limit
 * are left out. */
static gboolean
walk_class (Walk        *walk,
            const char  *path,
            const char  *relative,
            int          depth,
            guint8       label,
            Subset       subset,
            GError     **error)
{
  g_autoptr(GPtrArray) names = NULL;

  if (convolve_data_set_error_if_cancelled (walk->cancellable, error))
    return FALSE;

  names = list_sorted (path, NULL);
  if (names == NULL)
    {
      walk->n_unreadable++;
      return TRUE;
    }

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *child_relative = g_build_filename (relative, name, NULL);
      GStatBuf st;

      if (g_lstat (child, &st) != 0)
        {
          walk->n_unreadable++;
          continue;
        }
      if (S_ISDIR (st.st_mode))
        {
          if (depth + 1 < CONVOLVE_LIMIT_FOLDER_DEPTH &&
              !walk_class (walk, child, child_relative, depth + 1, label, subset, error))
            return FALSE;
          continue;
        }
      if (S_ISLNK (st.st_mode))
        {
          if (g_stat (child, &st) != 0)
            {
              walk->n_unreadable++;   /* a dangling link */
              continue;
            }
          if (S_ISDIR (st.st_mode))
            continue;                 /* not followed */
        }
      if (!S_ISREG (st.st_mode))
        {
          walk->n_unreadable++;
          continue;
        }
      if (!add_file (walk, child, child_relative, &st, label, subset, error))
        return FALSE;
    }
  return TRUE;
}

/* The class folders of root, each a folder (links followed). */
static GPtrArray *
list_class_folders (const char  *root,
                    GError     **error)
{
  g_autoptr(GPtrArray) names = list_sorted (root, error);
  GPtrArray *folders;

  if (names == NULL)
    return NULL;
  folders = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (root, name, NULL);

      if (is_folder (path))
        g_ptr_array_add (folders, g_strdup (name));
    }
  return folders;
}

static const char * const train_folder_names[] = { "train", "training" };
static const char * const test_folder_names[] = { "test", "val", "validation" };

/* root/train, and root/test (or val, validation) if there is one. */
static char *
find_subset_folder (const char         *root,
                    const char * const *names,
                    gsize               n_names)
{
  for (gsize i = 0; i < n_names; i++)
    {
      g_autofree char *path = g_build_filename (root, names[i], NULL);

      if (is_folder (path))
        return g_steal_pointer (&path);
    }
  return NULL;
}

static gint
class_index (GPtrArray  *classes,
             const char *name)
{
  for (guint i = 0; i < classes->len; i++)
    if (strcmp (g_ptr_array_index (classes, i), name) == 0)
      return (gint) i;
  return -1;
}

static gboolean
walk_subset (Walk        *walk,
             const char  *root,
             const char  *prefix,
             GPtrArray   *folders,
             Subset       subset,
             GError     **error)
{
  for (guint i = 0; i < folders->len; i++)
    {
      const char *name = g_ptr_array_index (folders, i);
      g_autofree char *path = g_build_filename (root, name, NULL);
      g_autofree char *relative = g_build_filename (prefix, name, NULL);
      gint label = class_index (walk->classes, name);

      g_assert (label >= 0);
      if (!walk_class (walk, path, relative, 0, (guint8) label, subset, error))
        return FALSE;
    }
  return TRUE;
}

static void
set_few_classes_error (GError     **error,
                       const char  *root,
                       guint        n_classes)
{
  g_autofree char *display = g_filename_display_name (root);

  g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
               g_dngettext (GETTEXT_PACKAGE,
                            "“%s” has %u class folder, but an image folder needs one folder of pictures per class, and at least two classes",
                            "“%s” has %u class folders, but an image folder needs one folder of pictures per class, and at least two classes",
                            n_classes),
               display, n_classes);
}

static gboolean
walk_folder (Walk        *walk,
             const char  *root,
             GError     **error)
{
  g_autofree char *train_dir = find_subset_folder (root, train_folder_names,
                                                   G_N_ELEMENTS (train_folder_names));
  g_autofree char *test_dir = NULL;
  g_autoptr(GPtrArray) train_folders = NULL;
  g_autoptr(GPtrArray) test_folders = NULL;

  walk->files = g_array_new (FALSE, FALSE, sizeof (FolderFile));
  g_array_set_clear_func (walk->files, (GDestroyNotify) folder_file_clear);
  walk->classes = g_ptr_array_new_with_free_func (g_free);

  if (train_dir != NULL)
    test_dir = find_subset_folder (root, test_folder_names, G_N_ELEMENTS (test_folder_names));

  train_folders = list_class_folders (train_dir != NULL ? train_dir : root, error);
  if (train_folders == NULL)
    return FALSE;
  if (test_dir != NULL)
    {
      test_folders = list_class_folders (test_dir, error);
      if (test_folders == NULL)
        return FALSE;
    }

  /* The classes: the class folders of both sets, in byte order. */
  for (guint i = 0; i < train_folders->len; i++)
    g_ptr_array_add (walk->classes, g_strdup (g_ptr_array_index (train_folders, i)));
  for (guint i = 0; test_folders != NULL && i < test_folders->len; i++)
    if (class_index (walk->classes, g_ptr_array_index (test_folders, i)) < 0)
      g_ptr_array_add (walk->classes, g_strdup (g_ptr_array_index (test_folders, i)));
  g_ptr_array_sort (walk->classes, compare_names);

  if (walk->classes->len < 2)
    {
      set_few_classes_error (error, train_dir != NULL ? train_dir : root, walk->classes->len);
      return FALSE;
    }
  if (walk->classes->len > CONVOLVE_LIMIT_FOLDER_CLASSES)
    {
      g_autofree char *display = g_filename_display_name (root);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                   _("“%s” has %u class folders, more than the %d classes Convolve trains"),
                   display, walk->classes->len, CONVOLVE_LIMIT_FOLDER_CLASSES);
      return FALSE;
    }

  if (train_dir == NULL)
    return walk_subset (walk, root, "", train_folders, SUBSET_SPLIT, error);
  if (!walk_subset (walk, train_dir, "train", train_folders,
                    test_dir != NULL ? SUBSET_TRAIN : SUBSET_SPLIT, error))
    return FALSE;
  return test_dir == NULL || walk_subset (walk, test_dir, "test", test_folders, SUBSET_TEST, error);
}

/* ------------------------------------------------------------------ */

static void
checksum_u64 (GChecksum *checksum,
              guint64    value)
{
  guint8 bytes[8];

  for (int i = 0; i < 8; i++)
    bytes[i] = (guint8) (value >> (8 * i));
  g_checksum_update (checksum, bytes, sizeof bytes);
}

/* What the cached pixels depend on: the settings, the classes and every
 * file's name, class, size and modification time. */
static void
walk_fingerprint (const Walk                       *walk,
                  const ConvolveImageFolderOptions *options,
                  guint8                           *fingerprint)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize size = CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE;

  g_checksum_update (checksum, (const guchar *) CACHE_VERSION, sizeof CACHE_VERSION);
  checksum_u64 (checksum, (guint64) options->side);
  checksum_u64 (checksum, (guint64) options->fit);
  checksum_u64 (checksum, walk->classes->len);
  for (guint i = 0; i < walk->classes->len; i++)
    {
      const char *name = g_ptr_array_index (walk->classes, i);

      g_checksum_update (checksum, (const guchar *) name, (gssize) strlen (name) + 1);
    }
  checksum_u64 (checksum, walk->files->len);
  for (guint i = 0; i < walk->files->len; i++)
    {
      const FolderFile *file = &g_array_index (walk->files, FolderFile, i);

      g_checksum_update (checksum, (const guchar *) file->relative, (gssize) strlen (file->relative) + 1);
      checksum_u64 (checksum, file->label);
      checksum_u64 (checksum, file->subset);
      checksum_u64 (checksum, (guint64) file->mtime_ns);
      checksum_u64 (checksum, (guint64) file->size);
    }
  g_checksum_get_digest (checksum, fingerprint, &size);
}

/* One cache file per folder and settings; what it holds is checked
 * against the fingerprint. */
static char *
cache_path (const char                       *root,
            const ConvolveImageFolderOptions *options)
{
  g_autofree char *cache_dir = convolve_image_folder_cache_dir ();
  g_autofree char *real = realpath (root, NULL);
  g_autofree char *key = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *name = NULL;

  if (real == NULL)
    real = g_canonicalize_filename (root, NULL);
  key = g_strdup_printf ("%s\n%d\n%d", real, options->side, (int) options->fit);
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  name = g_strconcat (hash, ".cache", NULL);
  return g_build_filename (cache_dir, "image-folders", name, NULL);
}

/* ------------------------------------------------------------------ */

typedef struct {
  const FolderFile *files;
  guint             n_files;
  int               side;
  ConvolveImageFit  fit;
  guint8           *pixels;    /* n_files x 3 x side x side */
  guint8           *status;    /* Status per file */
  GCancellable     *cancellable;
  gint              next;      /* atomic: the next file to take */
  gint              done;      /* atomic */
  gint              skipped;   /* atomic */
} Decode;

static Status
decode_file (const Decode     *decode,
             const FolderFile *file,
             guint8           *out)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *display = g_filename_display_name (file->relative);
  gsize plane = (gsize) decode->side * (gsize) decode->side;
  int min_short, min_long;

  convolve_image_fit_decode_hints (decode->side, decode->side, decode->fit, &min_short, &min_long);
  pixbuf = convolve_image_decode_path (file->path, display, min_short, min_long,
                                       decode->cancellable, &error);
  if (pixbuf == NULL)
    {
      g_debug ("%s", error->message);
      return STATUS_SKIPPED;
    }
  if (!convolve_image_fit_pixbuf (pixbuf, decode->side, decode->side, decode->fit, out))
    {
      g_debug ("%s: out of memory resizing it", display);
      return STATUS_SKIPPED;
    }
  for (gsize i = 0; i < plane; i++)
    if (out[i] != out[plane + i] || out[i] != out[2 * plane + i])
      return STATUS_COLOUR;
  return STATUS_GREY;
}

static void
decode_files (Decode *decode)
{
  for (;;)
    {
      gint index;
      Status status;

      if (g_cancellable_is_cancelled (decode->cancellable))
        return;
      index = g_atomic_int_add (&decode->next, 1);
      if (index < 0 || (guint) index >= decode->n_files)
        return;
      status = decode_file (decode, &decode->files[index],
                            decode->pixels + (gsize) index * 3 * decode->side * decode->side);
      decode->status[index] = (guint8) status;
      if (status == STATUS_SKIPPED)
        g_atomic_int_inc (&decode->skipped);
      g_atomic_int_inc (&decode->done);
    }
}

static gpointer
decode_worker (gpointer data)
{
  decode_files (data);
  return NULL;
}

typedef struct {
  Decode                           *decode;
  gint                              finished;   /* atomic: workers still running */
  GMutex                            mutex;
  GCond                             cond;
} Progress;

static gpointer
decode_worker_signalling (gpointer data)
{
  Progress *progress = data;

  decode_files (progress->decode);
  g_mutex_lock (&progress->mutex);
  g_atomic_int_inc (&progress->finished);
  g_cond_signal (&progress->cond);
  g_mutex_unlock (&progress->mutex);
  return NULL;
}

/* Decodes every file on n_threads threads, reporting progress from this
 * one about ten times a second. */
static void
decode_all (Decode                           *decode,
            const ConvolveImageFolderOptions *options)
{
  guint n_threads = options->n_threads > 0 ? options->n_threads : g_get_num_processors ();
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  Progress progress = { decode, 0, { 0 }, { 0 } };

  n_threads = CLAMP (n_threads, 1, 8);
  n_threads = MIN (n_threads, MAX (decode->n_files, 1));
  g_mutex_init (&progress.mutex);
  g_cond_init (&progress.cond);

  if (options->progress == NULL)
    {
      for (guint i = 1; i < n_threads; i++)
        g_ptr_array_add (threads, g_thread_new ("convolve-decode", decode_worker, decode));
      decode_files (decode);
    }
  else
    {
      for (guint i = 0; i < n_threads; i++)
        g_ptr_array_add (threads, g_thread_new ("convolve-decode", decode_worker_signalling, &progress));
      g_mutex_lock (&progress.mutex);
      while ((guint) g_atomic_int_get (&progress.finished) < n_threads)
        {
          gint64 deadline = g_get_monotonic_time () + G_TIME_SPAN_SECOND / 10;

          g_cond_wait_until (&progress.cond, &progress.mutex, deadline);
          g_mutex_unlock (&progress.mutex);
          options->progress ((guint) g_atomic_int_get (&decode->done), decode->n_files,
                             (guint) g_atomic_int_get (&decode->skipped), options->progress_data);
          g_mutex_lock (&progress.mutex);
        }
      g_mutex_unlock (&progress.mutex);
    }

  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  g_mutex_clear (&progress.mutex);
  g_cond_clear (&progress.cond);
}

/* The kept pictures of a decoded folder, packed in order (in place) with
 * the number of channels they share. */
typedef struct {
  guint    channels;
  guint    n_kept;
  guint32 *kept;      /* n_kept file indices */
  guint8  *pixels;    /* n_kept x channels x side x side */
  GBytes  *storage;   /* what pixels points into, when read from the cache */
  gboolean owns_pixels;
} Pictures;

static void
pictures_clear (Pictures *pictures)
{
  g_clear_pointer (&pictures->kept, g_free);
  if (pictures->owns_pixels)
    g_free (pictures->pixels);
  pictures->pixels = NULL;
  g_clear_pointer (&pictures->storage, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pictures, pictures_clear)

static gboolean
decode_folder (const Walk                       *walk,
               const ConvolveImageFolderOptions *options,
               GCancellable                     *cancellable,
               Pictures                         *pictures,
               GError                          **error)
{
  gsize image_size = 3 * (gsize) options->side * (gsize) options->side;
  guint n_files = walk->files->len;
  g_autofree guint8 *status = NULL;
  gboolean all_grey = TRUE;
  gsize plane = (gsize) options->side * (gsize) options->side;
  Decode decode = { 0 };
  guint k = 0;

  if ((guint64) image_size * n_files > CONVOLVE_LIMIT_DATASET_BYTES)
    {
      g_autofree char *limit = g_format_size (CONVOLVE_LIMIT_DATASET_BYTES);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                   _("%u pictures of %d × %d would take more than %s, the most Convolve holds"),
                   n_files, options->side, options->side, limit);
      return FALSE;
    }

  pictures->pixels = g_try_malloc (MAX (image_size * n_files, 1));
  pictures->owns_pixels = TRUE;
  status = g_malloc0 (MAX (n_files, 1));
  if (pictures->pixels == NULL)
    {
      g_autofree char *size = g_format_size (image_size * n_files);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Not enough memory for %u images (%s)"), n_files, size);
      return FALSE;
    }

  decode.files = (const FolderFile *) (gpointer) walk->files->data;
  decode.n_files = n_files;
  decode.side = options->side;
  decode.fit = options->fit;
  decode.pixels = pictures->pixels;
  decode.status = status;
  decode.cancellable = cancellable;
  decode_all (&decode, options);
  if (convolve_data_set_error_if_cancelled (cancellable, error))
    return FALSE;

  for (guint i = 0; i < n_files; i++)
    if (status[i] == STATUS_COLOUR)
      all_grey = FALSE;
  pictures->channels = all_grey ? 1 : 3;
  pictures->kept = g_new (guint32, MAX (n_files, 1));
  for (guint i = 0; i < n_files; i++)
    {
      if (status[i] == STATUS_SKIPPED)
        continue;
      g_assert (status[i] == STATUS_COLOUR || status[i] == STATUS_GREY);
      /* k <= i and channels <= 3: the copy never overtakes its source */
      memmove (pictures->pixels + (gsize) k * pictures->channels * plane,
               pictures->pixels + (gsize) i * image_size, pictures->channels * plane);
      pictures->kept[k++] = i;
    }
  pictures->n_kept = k;
  return TRUE;
}

static gboolean
read_cache (const char   *path,
            const guint8 *fingerprint,
            const Walk   *walk,
            int           side,
            Pictures     *pictures)
{
  g_auto(ConvolveImageCache) cache = { { 0 } };
  g_autoptr(GError) error = NULL;

  if (!_convolve_image_cache_read (path, &cache, &error))
    {
      if (!g_error_matches (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND))
        g_debug ("Rebuilding the image folder cache: %s", error->message);
      return FALSE;
    }
  if (memcmp (cache.fingerprint, fingerprint, CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE) != 0 ||
      cache.side != (guint) side || cache.n_files != walk->files->len)
    {
      g_debug ("Rebuilding the image folder cache: the folder changed");
      return FALSE;
    }

  pictures->channels = cache.channels;
  pictures->n_kept = cache.n_kept;
  pictures->kept = g_steal_pointer (&cache.kept);
  pictures->storage = g_steal_pointer (&cache.bytes);
  pictures->pixels = (guint8 *) cache.pixels;
  pictures->owns_pixels = FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------ */

/* For each kept picture, whether it goes to the test set: the test
 * folder's, and of the rest a seeded share of each class, so each class
 * keeps its proportion in both sets. */
static guint8 *
split_pictures (const Walk                       *walk,
                const Pictures                   *pictures,
                const ConvolveImageFolderOptions *options)
{
  guint8 *is_test = g_malloc0 (MAX (pictures->n_kept, 1));
  double fraction = CLAMP (options->validation_fraction, 0.0, 1.0);
  g_autofree guint32 *members = g_new (guint32, MAX (pictures->n_kept, 1));
  ConvolveRng rng;

  convolve_rng_init (&rng, options->split_seed);
  for (guint label = 0; label < walk->classes->len; label++)
    {
      guint n = 0;
      guint n_test;

      for (guint k = 0; k < pictures->n_kept; k++)
        {
          const FolderFile *file = &g_array_index (walk->files, FolderFile, pictures->kept[k]);

          if (file->label != label)
            continue;
          if (file->subset == SUBSET_TEST)
            is_test[k] = TRUE;
          else if (file->subset == SUBSET_SPLIT)
            members[n++] = k;
        }
      if (n == 0)
        continue;
      /* every class keeps at least one training picture */
      n_test = (guint) MIN (lround (fraction * n), (long) n - 1);
      convolve_rng_shuffle_u32 (&rng, members, n);
      for (guint j = 0; j < n_test; j++)
        is_test[members[j]] = TRUE;
    }
  return is_test;
}

/* The kept pictures of one set, in the walk's order or shuffled. */
static guint32 *
set_order (const Pictures *pictures,
           const guint8   *is_test,
           gboolean        test_set,
           ConvolveRng    *rng,
           guint          *n)
{
  guint32 *order = g_new (guint32, MAX (pictures->n_kept, 1));

  *n = 0;
  for (guint k = 0; k < pictures->n_kept; k++)
    if ((is_test[k] != 0) == test_set)
      order[(*n)++] = k;
  if (rng != NULL)
    convolve_rng_shuffle_u32 (rng, order, *n);
  return order;
}

static void
fill_set (ConvolveDataset *set,
          const Walk      *walk,
          const Pictures  *pictures,
          const guint32   *order,
          guint            n,
          gsize            image_size)
{
  for (guint i = 0; i < n; i++)
    {
      const FolderFile *file = &g_array_index (walk->files, FolderFile, pictures->kept[order[i]]);

      memcpy (convolve_dataset_get_pixels_mutable (set) + (gsize) i * image_size,
              pictures->pixels + (gsize) order[i] * image_size, image_size);
      convolve_dataset_get_labels_mutable (set)[i] = file->label;
    }
}

static gboolean
make_datasets (const char                       *root,
               const Walk                       *walk,
               const Pictures                   *pictures,
               const guint8                     *is_test,
               const ConvolveImageFolderOptions *options,
               ConvolveDataset                 **train,
               ConvolveDataset                 **test,
               GError                          **error)
{
  int side = options->side;
  g_autofree guint32 *train_order = NULL;
  g_autofree guint32 *test_order = NULL;
  guint n_train, n_test_order;
  ConvolveRng rng;
  g_autoptr(ConvolveDataset) train_set = NULL;
  g_autoptr(ConvolveDataset) test_set = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *basename = g_path_get_basename (root);
  g_autofree char *name = g_filename_display_name (basename);
  g_autofree guint *per_class = g_new0 (guint, walk->classes->len);
  gsize image_size = (gsize) pictures->channels * (gsize) side * (gsize) side;
  guint n_test = 0;

  for (guint i = 0; i < walk->classes->len; i++)
    g_ptr_array_add (names, g_filename_display_name (g_ptr_array_index (walk->classes, i)));
  g_ptr_array_add (names, NULL);

  for (guint k = 0; k < pictures->n_kept; k++)
    {
      if (is_test[k])
        n_test++;
      else
        per_class[g_array_index (walk->files, FolderFile, pictures->kept[k]).label]++;
    }
  for (guint i = 0; i < walk->classes->len; i++)
    if (per_class[i] == 0)
      {
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                     _("The class folder “%s” has no pictures to train on: "
                       "every class needs at least one picture Convolve can read"),
                     (const char *) g_ptr_array_index (names, i));
        return FALSE;
      }

  train_set = convolve_dataset_try_new (name, pictures->n_kept - n_test, (int) pictures->channels,
                                        side, side, (const char * const *) names->pdata, error);
  if (train_set == NULL)
    return FALSE;
  test_set = convolve_dataset_try_new (name, n_test, (int) pictures->channels,
                                       side, side, (const char * const *) names->pdata, error);
  if (test_set == NULL)
    return FALSE;

  /* a stream of its own: the split's draws stay as they are */
  convolve_rng_init (&rng, options->split_seed ^ G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  train_order = set_order (pictures, is_test, FALSE, options->shuffle ? &rng : NULL, &n_train);
  test_order = set_order (pictures, is_test, TRUE, options->shuffle ? &rng : NULL, &n_test_order);
  g_assert (n_train + n_test_order == pictures->n_kept && n_test_order == n_test);
  fill_set (train_set, walk, pictures, train_order, n_train, image_size);
  fill_set (test_set, walk, pictures, test_order, n_test, image_size);

  *train = g_steal_pointer (&train_set);
  *test = g_steal_pointer (&test_set);
  return TRUE;
}

gboolean
convolve_image_folder_load (const char                       *dir,
                            const ConvolveImageFolderOptions *options,
                            ConvolveImageFolderReport        *report,
                            ConvolveDataset                 **train,
                            ConvolveDataset                 **test,
                            GCancellable                     *cancellable,
                            GError                          **error)
{
  ConvolveImageFolderOptions defaults;
  g_auto(Walk) walk = { NULL, NULL, 0, cancellable };
  g_auto(Pictures) pictures = { 0 };
  g_autofree guint8 *is_test = NULL;
  g_autofree char *path = NULL;
  guint8 fingerprint[CONVOLVE_IMAGE_CACHE_FINGERPRINT_SIZE];
  gboolean from_cache;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL && test != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options == NULL)
    {
      convolve_image_folder_options_init (&defaults);
      options = &defaults;
    }
  g_return_val_if_fail (options->side > 0 && options->side <= 1024, FALSE);

  if (!walk_folder (&walk, dir, error))
    return FALSE;

  walk_fingerprint (&walk, options, fingerprint);
  path = cache_path (dir, options);
  from_cache = read_cache (path, fingerprint, &walk, options->side, &pictures);
  if (!from_cache)
    {
      g_autoptr(GError) cache_error = NULL;

      if (!decode_folder (&walk, options, cancellable, &pictures, error))
        return FALSE;
      /* A cache that cannot be written only makes the next open slower. */
      if (!_convolve_image_cache_write (path, fingerprint, pictures.channels, (guint) options->side,
                                        walk.files->len, pictures.kept, pictures.n_kept,
                                        pictures.pixels, &cache_error))
        g_debug ("Not caching the image folder: %s", cache_error->message);
    }
  /* the end of decoding; a cached open is quick and reports nothing */
  if (options->progress != NULL && !from_cache)
    options->progress (walk.files->len, walk.files->len, walk.files->len - pictures.n_kept,
                       options->progress_data);

  is_test = split_pictures (&walk, &pictures, options);
  if (!make_datasets (dir, &walk, &pictures, is_test, options, train, test, error))
    return FALSE;

  if (report != NULL)
    {
      report->n_files = walk.files->len + walk.n_unreadable;
      report->n_skipped = walk.files->len - pictures.n_kept + walk.n_unreadable;
      report->from_cache = from_cache;
      report->side = options->side;
      report->fit = options->fit;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */

static gboolean
has_picture_name (const char *folder)
{
  static const char * const suffixes[] = {
    ".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".gif",
  };
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint n_seen = 0;

  if (dir == NULL)
    return FALSE;
  /* a few entries suffice: a class folder is mostly pictures */
  while ((name = g_dir_read_name (dir)) != NULL && n_seen++ < 64)
    {
      g_autofree char *lower = g_ascii_strdown (name, -1);

      for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
        if (g_str_has_suffix (lower, suffixes[i]))
          return TRUE;
    }
  return FALSE;
}

gboolean
convolve_image_folder_detect (const char *dir)
{
  g_autofree char *train_dir = NULL;
  const char *root;
  g_autoptr(GPtrArray) folders = NULL;
  gboolean any_picture = FALSE;

  g_return_val_if_fail (dir != NULL, FALSE);

  train_dir = find_subset_folder (dir, train_folder_names, G_N_ELEMENTS (train_folder_names));
  root = train_dir != NULL ? train_dir : dir;

  folders = list_class_folders (root, NULL);
  if (folders == NULL || folders->len < 2)
    return FALSE;
  for (guint i = 0; i < folders->len && i < 16 && !any_picture; i++)
    {
      g_autofree char *path = g_build_filename (root, g_ptr_array_index (folders, i), NULL);

      any_picture = has_picture_name (path);
    }
  return any_picture;
}
