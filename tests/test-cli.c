/* test-cli.c: convolve-cli train, evaluate, predict and explain, run as a real
 * process (its path in $CONVOLVE_CLI) on datasets and images this test
 * writes into a temporary folder. HOME and the XDG folders point there
 * too, so dataset discovery never sees the machine's own data.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convolve-loaders.h"
#include "convolve-train.h"
#include "test-cifar-folder.h"

#define SPEC "conv2d(4,3,same,relu),maxpool(4),flatten,dense(10,softmax)"

static const char *cli_path;
static char *work_dir;     /* HOME, XDG_*, current folder of every run */
static char *cifar_dir;    /* 200 training images, 50 test images */
static char *idx_dir;      /* 28x28 grey images */

static const char * const class_names[] = {
  "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", NULL
};

/* Class k: a bright vertical band at x in [3k, 3k+3) of the red plane, on
 * noise; learnable by a tiny model in a couple of epochs. */
static void
fill_image (guint8  *planes,
            int      label,
            guint32 *state)
{
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 32; y++)
      for (int x = 0; x < 32; x++)
        {
          *state = *state * 1664525u + 1013904223u;
          planes[(c * 32 + y) * 32 + x] =
            (guint8) ((c == 0 && x / 3 == label ? 180 : 0) + (*state >> 24) % 60);
        }
}

static void
write_cifar_batch (const char *path,
                   guint       n,
                   guint32     seed)
{
  g_autofree guint8 *data = g_malloc ((gsize) n * 3073);
  guint32 state = seed;

  for (guint i = 0; i < n; i++)
    {
      guint8 *record = data + (gsize) i * 3073;

      record[0] = (guint8) (i % 10);
      fill_image (record + 1, i % 10, &state);
    }
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) n * 3073, NULL));
}

static void
write_cifar_dir (const char *dir,
                 guint       n_train,
                 guint       n_test)
{
  g_autofree char *train = g_build_filename (dir, "data_batch_1.bin", NULL);
  g_autofree char *test = g_build_filename (dir, "test_batch.bin", NULL);
  g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);
  g_autofree char *names = g_strjoinv ("\n", (char **) class_names);
  g_autofree char *names_nl = g_strconcat (names, "\n", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_cifar_batch (train, n_train, 1);
  if (n_test > 0)
    write_cifar_batch (test, n_test, 2);
  g_assert_true (g_file_set_contents (meta, names_nl, -1, NULL));
}

static void
put_be32 (guint8 *p,
          guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
write_idx (const char *dir,
           const char *prefix,
           guint       n)
{
  g_autofree char *images_path = g_strdup_printf ("%s/%s-images-idx3-ubyte", dir, prefix);
  g_autofree char *labels_path = g_strdup_printf ("%s/%s-labels-idx1-ubyte", dir, prefix);
  g_autofree guint8 *images = g_malloc0 (16 + (gsize) n * 784);
  g_autofree guint8 *labels = g_malloc0 (8 + n);

  put_be32 (images, 0x803);
  put_be32 (images + 4, n);
  put_be32 (images + 8, 28);
  put_be32 (images + 12, 28);
  put_be32 (labels, 0x801);
  put_be32 (labels + 4, n);
  for (guint i = 0; i < n; i++)
    {
      labels[8 + i] = i % 10;
      images[16 + i * 784 + i % 784] = 255;
    }
  g_assert_true (g_file_set_contents (images_path, (const char *) images, 16 + (gssize) n * 784, NULL));
  g_assert_true (g_file_set_contents (labels_path, (const char *) labels, 8 + (gssize) n, NULL));
}

static void
write_png (const char *path,
           int         label)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 32, 32);
  g_autoptr(GError) error = NULL;
  guint8 planes[3 * 32 * 32];
  guint32 state = 99;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  fill_image (planes, label, &state);
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      for (int c = 0; c < 3; c++)
        pixels[y * stride + x * 3 + c] = planes[(c * 32 + y) * 32 + x];
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
}

static GSubprocessLauncher *
make_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);
  g_autofree char *data = g_build_filename (work_dir, "xdg-data", NULL);
  g_autofree char *cache = g_build_filename (work_dir, "xdg-cache", NULL);

  g_subprocess_launcher_set_cwd (launcher, work_dir);
  g_subprocess_launcher_setenv (launcher, "HOME", work_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "KERAS_HOME");
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "OPENBLAS_NUM_THREADS", "1", TRUE);
  return launcher;
}

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* g_subprocess_communicate_utf8(), but a run that hangs (a FIFO opened for
 * reading waits forever for a writer) fails the test instead of stalling
 * it until meson's timeout. */
static void
communicate_or_fail (GSubprocess  *process,
                     char        **out,
                     char        **err)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GSource) timer = g_timeout_source_new_seconds (60);
  g_autoptr(GError) error = NULL;
  gboolean expired = FALSE;

  g_main_context_push_thread_default (context);
  g_source_set_callback (timer, on_timeout, &expired, NULL);
  g_source_attach (timer, context);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated, &result);
  while (result == NULL && !expired)
    g_main_context_iteration (context, TRUE);
  if (result == NULL)
    {
      g_subprocess_force_exit (process);
      while (result == NULL)
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
      g_error ("convolve-cli did not finish within a minute");
    }
  g_source_destroy (timer);
  g_assert_true (g_subprocess_communicate_utf8_finish (process, result, out, err, &error));
  g_assert_no_error (error);
  g_main_context_pop_thread_default (context);
}

/* Runs convolve-cli with args (NULL-terminated); returns its exit status. */
static int
run_cli (char       **out,
         char       **err,
         const char  *first,
         ...)
{
  g_autoptr(GSubprocessLauncher) launcher = make_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                           G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) cli_path);
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  communicate_or_fail (process, &stdout_text, &stderr_text);
  g_assert_true (g_subprocess_get_if_exited (process));

  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  return g_subprocess_get_exit_status (process);
}

/* A failure is one line on stderr, "convolve-cli: " and the reason. */
static void
assert_one_message (const char *err,
                    const char *needle)
{
  g_assert_true (g_str_has_prefix (err, "convolve-cli: "));
  g_assert_true (g_str_has_suffix (err, "\n"));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
  if (needle != NULL && strstr (err, needle) == NULL)
    g_error ("expected “%s” in the message: %s", needle, err);
}

static void
assert_fails (const char *needle,
              const char *first,
              ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = make_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                           G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) cli_path);
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  communicate_or_fail (process, &out, &err);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (g_subprocess_get_exit_status (process) != 1)
    g_error ("%s %s: exit status %d, stderr: %s", first, needle, g_subprocess_get_exit_status (process), err);
  assert_one_message (err, needle);
}

static void
test_cli_usage (void)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (run_cli (&out, &err, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "Usage"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (&out, &err, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "train"));
  g_assert_nonnull (strstr (out, "evaluate"));
  g_assert_nonnull (strstr (out, "predict"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (&out, &err, "train", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--augment-epochs"));
  g_assert_nonnull (strstr (out, "--log-json"));
}

static void
test_cli_train_bad_input (void)
{
  g_autofree char *missing = g_build_filename (work_dir, "no-such-folder", NULL);
  g_autofree char *bad_save = g_build_filename (work_dir, "no-such-folder", "model.safetensors", NULL);
  g_autofree char *missing_model = g_build_filename (work_dir, "missing.safetensors", NULL);

  assert_fails ("--data", "train", NULL);
  assert_fails ("not both", "train", "--data", cifar_dir, "--dataset", "cifar10", NULL);
  assert_fails ("does not exist", "train", "--data", missing, NULL);
  assert_fails ("abc", "train", "--data", cifar_dir, "--epochs", "abc", NULL);
  assert_fails ("negative", "train", "--data", cifar_dir, "--epochs", "-3", NULL);
  assert_fails ("batch size", "train", "--data", cifar_dir, "--batch-size", "0", NULL);
  assert_fails ("learning-rate", "train", "--data", cifar_dir, "--learning-rate", "0", NULL);
  assert_fails ("--limit", "train", "--data", cifar_dir, "--limit", "0", NULL);
  assert_fails ("unknown dataset", "train", "--dataset", "imagenet", NULL);
  assert_fails ("not on this machine", "train", "--dataset", "mnist", NULL);
  assert_fails ("unknown layer", "train", "--data", cifar_dir, "--spec", "conv3d(1)", NULL);
  assert_fails ("folder does not exist", "train", "--data", cifar_dir, "--save", bad_save, NULL);
  assert_fails ("missing.safetensors", "train", "--data", cifar_dir, "--resume", missing_model, NULL);
  assert_fails ("unexpected argument", "train", "--data", cifar_dir, "extra", NULL);
  assert_fails ("vgg", "train", "--data", cifar_dir, "--preset", "vgg", NULL);
  assert_fails ("cannot be combined", "train", "--data", cifar_dir, "--preset", "better",
                "--spec", "flatten,dense(10,softmax)", NULL);
  assert_fails ("--time-budget", "train", "--data", cifar_dir, "--time-budget", "0", NULL);
  assert_fails ("--time-budget", "train", "--data", cifar_dir, "--time-budget", "nan", NULL);
}

/* --preset NAME wherever --spec is taken; the default is the tutorial. */
static void
test_cli_presets (void)
{
  g_autofree char *out = NULL;
  g_autofree char *tutorial = NULL;

  g_assert_cmpint (run_cli (&out, NULL, "summary", "--preset", "better", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "(None, 4, 4, 128)"));
  g_assert_nonnull (strstr (out, "Total params: 357,706"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_cli (&out, NULL, "summary", "--preset", "tutorial", NULL), ==, 0);
  g_assert_cmpint (run_cli (&tutorial, NULL, "summary", NULL), ==, 0);
  g_assert_cmpstr (out, ==, tutorial);
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_cli (&out, NULL, "bench", "--preset", "better", "--steps", "1", "--warmup", "0",
                            "--predictions", "1", "--threads", "1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"ms_per_step\""));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_cli (&out, NULL, "train", "--data", cifar_dir, "--preset", "better", "--epochs", "1",
                            "--limit", "32", "--threads", "1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "val_accuracy:"));
  g_clear_pointer (&out, g_free);

  /* A generous budget: the run ends as asked, budget unspent. */
  g_assert_cmpint (run_cli (&out, NULL, "train", "--data", cifar_dir, "--epochs", "1", "--limit", "32",
                            "--threads", "1", "--time-budget", "100000", NULL), ==, 0);
  g_assert_null (strstr (out, "Time budget"));
  g_assert_nonnull (strstr (out, "val_accuracy:"));
  g_clear_pointer (&out, g_free);

  assert_fails ("cannot be combined", "summary", "--preset", "better", "--spec", "flatten,dense(10,softmax)", NULL);
  assert_fails ("tutorial, better", "bench", "--preset", "resnet", NULL);
  assert_fails ("cannot be combined", "lr-find", "--data", cifar_dir, "--preset", "better",
                "--model", "x.safetensors", NULL);
}

static void
test_cli_predict_evaluate_bad_input (void)
{
  g_autofree char *junk = g_build_filename (work_dir, "junk.safetensors", NULL);
  g_autofree char *text = g_build_filename (work_dir, "notes.txt", NULL);

  g_assert_true (g_file_set_contents (junk, "this is not a model", -1, NULL));
  g_assert_true (g_file_set_contents (text, "not an image either", -1, NULL));

  assert_fails ("--model", "evaluate", "--data", cifar_dir, NULL);
  assert_fails ("junk.safetensors", "evaluate", "--model", junk, "--data", cifar_dir, NULL);
  assert_fails ("--model", "predict", text, NULL);
  assert_fails ("no image", "predict", "--model", junk, NULL);
  assert_fails ("junk.safetensors", "predict", "--model", junk, text, NULL);
}

/* --data, --dataset, --threads and --model mean and check the same in
 * every subcommand that takes them. */
static void
test_cli_shared_options (void)
{
  static const char * const threads_commands[] = { "bench", "train", "evaluate" };
  static const struct {
    const char *value;
    const char *needle;
  } bad_threads[] = {
    { "-1", "--threads must be between 0 (all cores) and 1024, not -1" },
    { "1025", "--threads must be between 0 (all cores) and 1024, not 1025" },
    { "many", "“many” for --threads" },
  };
  g_autofree char *model = g_build_filename (work_dir, "shared-options.safetensors", NULL);
  g_autoptr(GError) error = NULL;

  /* A model that loads, so that evaluate gets as far as the dataset. */
  {
    g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(10,softmax)", &error);
    ConvolveShape shape = { 3, 32, 32 };
    ConvolveModel *small;

    g_assert_no_error (error);
    small = convolve_model_new (spec, &shape, 1, 1, &error);
    g_assert_no_error (error);
    g_assert_true (convolve_model_save (small, NULL, NULL, model, &error));
    g_assert_no_error (error);
    convolve_model_free (small);
  }

  /* --threads: a number from 0 to 1024, checked before any work. */
  for (gsize i = 0; i < G_N_ELEMENTS (bad_threads); i++)
    {
      const char *value = bad_threads[i].value;
      const char *needle = bad_threads[i].needle;

      assert_fails (needle, "bench", "--threads", value, NULL);
      assert_fails (needle, "train", "--data", cifar_dir, "--threads", value, NULL);
      assert_fails (needle, "evaluate", "--model", model, "--data", cifar_dir, "--threads", value, NULL);
    }
  assert_fails ("Unknown option --model", "bench", "--model", model, NULL);
  assert_fails ("Unknown option --threads", "predict", "--model", model, "--threads", "1", NULL);

  /* --dataset: a known name, for train and evaluate alike. */
  assert_fails ("unknown dataset “imagenet”", "train", "--dataset", "imagenet", NULL);
  assert_fails ("unknown dataset “imagenet”", "evaluate", "--model", model, "--dataset", "imagenet", NULL);
  assert_fails ("not both", "evaluate", "--model", model, "--data", cifar_dir, "--dataset", "cifar10", NULL);
  assert_fails ("--data DIR", "evaluate", "--model", model, NULL);

  /* --model: required by evaluate and predict. */
  assert_fails ("no model: give --model FILE", "evaluate", "--data", cifar_dir, NULL);
  assert_fails ("no model: give --model FILE", "predict", "image.png", NULL);

  /* Arguments only where the subcommand takes them. */
  assert_fails ("unexpected argument “extra”", "summary", "extra", NULL);
  assert_fails ("unexpected argument “extra”", "bench", "extra", NULL);
  assert_fails ("unexpected argument “extra”", "evaluate", "--model", model, "--data", cifar_dir, "extra", NULL);
  assert_fails ("unexpected argument “extra”", "download", "extra", NULL);

  /* The shared options read the same in every --help. */
  for (gsize i = 0; i < G_N_ELEMENTS (threads_commands); i++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (run_cli (&out, NULL, threads_commands[i], "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "-t, --threads=N"));
      g_assert_nonnull (strstr (out, "Threads for the computation (default: all cores)"));
    }
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (run_cli (&out, NULL, k == 0 ? "evaluate" : "predict", "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "-m, --model=FILE"));
      g_assert_nonnull (strstr (out, "Model or checkpoint file"));
    }
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (run_cli (&out, NULL, k == 0 ? "train" : "evaluate", "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "-d, --data=DIR"));
      g_assert_nonnull (strstr (out, "--dataset=NAME"));
    }
}

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  return contents;
}

static const char *
last_line (char *text)
{
  char *end = text + strlen (text);
  char *start;

  while (end > text && end[-1] == '\n')
    *--end = '\0';
  start = strrchr (text, '\n');
  return start != NULL ? start + 1 : text;
}

static void
assert_png_size (const char *path,
                 int         width,
                 int         height)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, height);
}

/* evaluate --report DIR: the files, and tables that agree with the
 * accuracy evaluate prints (the same as the last validation). */
static void
check_report (const char *model,
              double      accuracy)
{
  g_autofree char *dir = g_build_filename (work_dir, "report", "nested", NULL);
  g_autofree char *per_class_path = g_build_filename (dir, "per-class.csv", NULL);
  g_autofree char *predictions_path = g_build_filename (dir, "predictions.csv", NULL);
  g_autofree char *png = g_build_filename (dir, "confusion.png", NULL);
  g_autofree char *svg_path = g_build_filename (dir, "confusion.svg", NULL);
  g_autofree char *top_losses = g_build_filename (dir, "top-losses.png", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *per_class = NULL;
  g_autofree char *predictions = NULL;
  g_autofree char *svg = NULL;
  g_auto(GStrv) rows = NULL;
  guint support = 0, hits = 0, n_rows;

  g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", cifar_dir,
                            "--report", dir, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "Report written to "));

  /* Ten classes, then the averages; the weighted recall is the accuracy. */
  per_class = read_file (per_class_path);
  rows = g_strsplit (per_class, "\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, 1 + 10 + 2 + 1);
  g_assert_cmpstr (rows[0], ==, "class,precision,recall,f1,support");
  for (int c = 0; c < 10; c++)
    {
      g_auto(GStrv) fields = g_strsplit (rows[1 + c], ",", -1);

      g_assert_cmpuint (g_strv_length (fields), ==, 5);
      g_assert_cmpstr (fields[0], ==, class_names[c]);
      g_assert_cmpuint (atoi (fields[4]), ==, 5);
      support += atoi (fields[4]);
    }
  g_assert_cmpuint (support, ==, 50);
  g_assert_true (g_str_has_prefix (rows[11], "macro avg,"));
  g_assert_true (g_str_has_prefix (rows[12], "weighted avg,"));
  {
    g_auto(GStrv) fields = g_strsplit (rows[12], ",", -1);

    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (fields[2], NULL), accuracy, 5e-5);
    g_assert_cmpstr (fields[4], ==, "50");
  }

  /* One row per test image; the share of right ones is the accuracy. */
  predictions = read_file (predictions_path);
  g_clear_pointer (&rows, g_strfreev);
  rows = g_strsplit (predictions, "\n", -1);
  n_rows = g_strv_length (rows);
  g_assert_cmpuint (n_rows, ==, 1 + 50 + 1);
  g_assert_cmpstr (rows[0], ==, "index,true,predicted,confidence,loss");
  for (guint i = 1; i <= 50; i++)
    {
      g_auto(GStrv) fields = g_strsplit (rows[i], ",", -1);
      double confidence;

      g_assert_cmpuint (g_strv_length (fields), ==, 5);
      g_assert_cmpint (atoi (fields[0]), ==, (int) i - 1);
      /* the test images are labelled i % 10 */
      g_assert_cmpstr (fields[1], ==, class_names[(i - 1) % 10]);
      g_assert_true (g_strv_contains (class_names, fields[2]));
      confidence = g_ascii_strtod (fields[3], NULL);
      g_assert_cmpfloat (confidence, >, 0.0);
      g_assert_cmpfloat (confidence, <=, 1.0);
      g_assert_cmpfloat (g_ascii_strtod (fields[4], NULL), >=, 0.0);
      if (strcmp (fields[1], fields[2]) == 0)
        hits++;
    }
  g_assert_cmpfloat_with_epsilon (hits / 50.0, accuracy, 5e-5);

  assert_png_size (png, 800, 800);
  /* 5 x 5 tiles of 128 pixels (32 x 4) with 10 between and round, each
   * over a two-line caption (29) 4 below it. */
  assert_png_size (top_losses, 5 * 138 + 10, 10 + 5 * (128 + 4 + 29 + 10));
  svg = read_file (svg_path);
  g_assert_nonnull (strstr (svg, "<svg"));

  /* A folder that cannot be made: one message, exit status 1. */
  {
    g_autofree char *blocked = g_build_filename (work_dir, "report-file", NULL);
    g_autofree char *inside = g_build_filename (blocked, "sub", NULL);

    g_assert_true (g_file_set_contents (blocked, "", -1, NULL));
    assert_fails ("report-file", "evaluate", "--model", model, "--data", cifar_dir, "--report", inside, NULL);
  }
}

static void
test_cli_train_predict_evaluate (void)
{
  g_autofree char *model = g_build_filename (work_dir, "model.safetensors", NULL);
  g_autofree char *model2 = g_build_filename (work_dir, "model2.safetensors", NULL);
  g_autofree char *truncated = g_build_filename (work_dir, "truncated.safetensors", NULL);
  g_autofree char *log = g_build_filename (work_dir, "log.jsonl", NULL);
  g_autofree char *log2 = g_build_filename (work_dir, "log2.jsonl", NULL);
  g_autofree char *image = g_build_filename (work_dir, "frog.png", NULL);
  g_autofree char *text = g_build_filename (work_dir, "notes.txt", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *contents2 = NULL;
  g_autofree char *val_line = NULL;
  g_autofree char *accuracy_line = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) lines2 = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  const char *val;

  /* Train: two epochs of 10 steps each, plain lines (not a terminal). */
  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--epochs", "2",
                            "--batch-size", "20", "--learning-rate", "0.01", "--seed", "3",
                            "--threads", "1", "--spec", SPEC, "--log-json", log,
                            "--save", model, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "Epoch 1/2"));
  g_assert_nonnull (strstr (out, "Epoch 2/2"));
  g_assert_nonnull (strstr (out, "10/10"));
  g_assert_nonnull (strstr (out, "val_loss: "));
  g_assert_null (strstr (out, "\r"));
  val = last_line (out);
  g_assert_true (g_str_has_prefix (val, "val_accuracy: "));
  val_line = g_strdup (val);
  g_assert_cmpfloat (g_ascii_strtod (val_line + strlen ("val_accuracy: "), NULL), >=, 0.5);

  contents = read_file (log);
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_cmpstr (lines[2], ==, "");
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("{\"epoch\": %d, \"loss\": ", i + 1);

      g_assert_true (g_str_has_prefix (lines[i], prefix));
      g_assert_nonnull (strstr (lines[i], "\"accuracy\": "));
      g_assert_nonnull (strstr (lines[i], "\"val_loss\": "));
      g_assert_nonnull (strstr (lines[i], "\"val_accuracy\": "));
      g_assert_nonnull (strstr (lines[i], "\"seconds\": "));
      g_assert_true (g_str_has_suffix (lines[i], "\"augmented\": false}"));
    }

  /* The saved model loads, knows its classes, and is a checkpoint. */
  loaded = convolve_model_load (model, 1, &meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (meta->class_names[6], ==, "frog");
  g_assert_cmpint (meta->step, ==, 20);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Predict: the top three classes with probabilities, best first. */
  write_png (image, 6);
  g_assert_cmpint (run_cli (&out, &err, "predict", "--model", model, image, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  {
    g_auto(GStrv) rows = g_strsplit (out, "\n", -1);
    double previous = 1.0, total = 0.0;

    g_assert_cmpuint (g_strv_length (rows), ==, 5);
    g_assert_cmpstr (rows[0], ==, image);
    for (int k = 1; k <= 3; k++)
      {
        g_auto(GStrv) fields = g_strsplit_set (g_strstrip (rows[k]), " ", -1);
        guint n = g_strv_length (fields);
        double p = g_ascii_strtod (fields[n - 1], NULL);

        g_assert_true (g_strv_contains (class_names, fields[0]));
        g_assert_cmpfloat (p, <=, previous);
        previous = p;
        total += p;
      }
    g_assert_cmpfloat (total, <=, 1.0001);
    g_assert_true (g_str_has_prefix (g_strstrip (rows[1]), "frog"));
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* One bad image among good ones: the rest are still predicted. */
  g_assert_true (g_file_set_contents (text, "not an image", -1, NULL));
  g_assert_cmpint (run_cli (&out, &err, "predict", "--model", model, text, image, NULL), ==, 1);
  assert_one_message (err, "notes.txt");
  g_assert_true (g_str_has_prefix (out, image));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Evaluate: the same accuracy the last validation reported. */
  g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", cifar_dir, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "Evaluated 50 images"));
  g_assert_nonnull (strstr (out, "Confusion matrix"));
  g_assert_nonnull (strstr (out, "truck"));
  accuracy_line = g_strdup_printf ("\naccuracy: %s\n", val_line + strlen ("val_accuracy: "));
  g_assert_nonnull (strstr (out, accuracy_line));
  g_assert_nonnull (strstr (out, "Precision"));
  g_assert_nonnull (strstr (out, "\nweighted avg"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  check_report (model, g_ascii_strtod (val_line + strlen ("val_accuracy: "), NULL));

  /* A model and a dataset that do not fit; a truncated model. */
  assert_fails ("expects images of 32×32×3", "evaluate", "--model", model, "--data", idx_dir, NULL);
  {
    g_autofree char *bytes = NULL;

    g_assert_true (g_file_get_contents (model, &bytes, &length, NULL));
    g_assert_true (g_file_set_contents (truncated, bytes, (gssize) length / 2, NULL));
  }
  assert_fails ("truncated.safetensors", "evaluate", "--model", truncated, "--data", cifar_dir, NULL);
  assert_fails ("truncated.safetensors", "predict", "--model", truncated, image, NULL);
  assert_fails ("expects images of 32×32×3", "train", "--data", idx_dir, "--resume", model, NULL);

  /* Resuming a finished run trains nothing, and says so. */
  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--resume", model, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "already done its 2 epochs: nothing to train"));
  g_assert_null (strstr (out, "Epoch "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Resume: the saved model is a checkpoint; one more epoch. */
  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--resume", model,
                            "--epochs", "3", "--log-json", log2, "--save", model2, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "Resuming at epoch 3"));
  g_assert_nonnull (strstr (out, "Epoch 3/3"));
  g_assert_null (strstr (out, "Epoch 1/3"));
  contents2 = read_file (log2);
  lines2 = g_strsplit (contents2, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines2), ==, 4);
  g_assert_cmpstr (lines2[0], ==, lines[0]);
  g_assert_cmpstr (lines2[1], ==, lines[1]);
  g_assert_true (g_str_has_prefix (lines2[2], "{\"epoch\": 3, "));
  g_clear_pointer (&meta, convolve_model_meta_free);
  g_clear_pointer (&loaded, convolve_model_free);
  loaded = convolve_model_load (model2, 1, &meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (meta->step, ==, 30);
  g_assert_cmpint (meta->epoch, ==, 3);
}

static void
test_cli_dataset_by_name (void)
{
  g_autofree char *data_home = g_build_filename (work_dir, "xdg-data", "convolve", "cifar-10-batches-bin", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* --dataset cifar10 finds Convolve's own data folder. */
  write_cifar_dir (data_home, 40, 10);
  g_assert_cmpint (run_cli (&out, &err, "train", "--dataset", "cifar10", "--epochs", "1",
                            "--batch-size", "20", "--threads", "1", "--spec", SPEC, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Training on 40 images, validating on 10 images"));
  g_assert_true (g_str_has_prefix (last_line (out), "val_accuracy: "));
}

static void
test_cli_train_interrupt (void)
{
  g_autoptr(GSubprocessLauncher) launcher = make_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                           G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveOptimizer) optimizer = NULL;
  g_autofree char *model = g_build_filename (work_dir, "interrupted.safetensors", NULL);
  g_autofree char *checkpoint = g_build_filename (work_dir, "interrupted-checkpoint.safetensors", NULL);
  g_autoptr(GString) rest = g_string_new (NULL);
  gboolean started = FALSE;
  char *line;

  process = g_subprocess_launcher_spawn (launcher, &error, cli_path, "train", "--data", cifar_dir,
                                         "--epochs", "100000", "--batch-size", "20", "--threads", "1",
                                         "--spec", SPEC, "--save", model, "--checkpoint", checkpoint, NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));

  /* "Epoch 1/…" comes once training runs, Ctrl-C handling installed. */
  while (!started && (line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error)) != NULL)
    {
      started = g_str_has_prefix (line, "Epoch 1/");
      g_free (line);
    }
  g_assert_no_error (error);
  g_assert_true (started);

  g_subprocess_send_signal (process, SIGINT);
  while ((line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error)) != NULL)
    {
      g_string_append_printf (rest, "%s\n", line);
      g_free (line);
    }
  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 130);
  g_assert_nonnull (strstr (rest->str, "Stopping after the current batch"));
  g_assert_nonnull (strstr (rest->str, "stopped before the last epoch"));

  /* Saved where asked, as checkpoints that agree with each other. */
  loaded = convolve_model_load (model, 1, &meta, &optimizer, &error);
  g_assert_no_error (error);
  g_assert_nonnull (optimizer);
  g_assert_cmpint (meta->step, >, 0);
  g_assert_cmpint (convolve_optimizer_get_iterations (optimizer), ==, meta->step);
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
}

/* --- explain ---------------------------------------------------------------- */

/* An untrained model file with the class names: explain needs weights, not
 * good ones. */
static void
save_model (const char *path,
            const char *spec_text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (spec_text, &error);
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = convolve_model_meta_new ();
  ConvolveShape input = { 3, 32, 32 };

  g_assert_no_error (error);
  model = convolve_model_new (spec, &input, 1, 5, &error);
  g_assert_no_error (error);
  meta->class_names = g_strdupv ((char **) class_names);
  g_assert_true (convolve_model_save (model, meta, NULL, path, &error));
  g_assert_no_error (error);
}

/* A PNG of width x height, decoded independently of cairo. */
static void
assert_png (const char *path,
            int         width,
            int         height)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  GdkPixbufFormat *format = gdk_pixbuf_get_file_info (path, NULL, NULL);
  g_autofree char *format_name = NULL;

  g_assert_nonnull (format);
  format_name = gdk_pixbuf_format_get_name (format);
  g_assert_cmpstr (format_name, ==, "png");
  pixbuf = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, height);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The names in dir, sorted, joined by spaces. */
static char *
list_folder (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  const char *name;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
test_cli_explain (void)
{
  g_autofree char *conv = g_build_filename (work_dir, "explain-conv.safetensors", NULL);
  g_autofree char *flat = g_build_filename (work_dir, "explain-flat.safetensors", NULL);
  g_autofree char *image = g_build_filename (work_dir, "explain-ship.png", NULL);
  g_autofree char *out_dir = g_build_filename (work_dir, "explain-out", "maps", NULL);
  g_autofree char *flat_dir = g_build_filename (work_dir, "explain-flat", NULL);
  g_autofree char *saliency = g_build_filename (out_dir, "explain-ship-saliency.png", NULL);
  g_autofree char *gradcam = g_build_filename (out_dir, "explain-ship-gradcam.png", NULL);
  g_autofree char *here = g_build_filename (work_dir, "explain-ship-saliency.png", NULL);
  g_autofree char *here_cam = g_build_filename (work_dir, "explain-ship-gradcam.png", NULL);
  g_autofree char *flat_saliency = g_build_filename (flat_dir, "explain-ship-saliency.png", NULL);
  g_autofree char *missing = g_build_filename (work_dir, "no-such-image.png", NULL);
  g_autofree char *listing = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  save_model (conv, "conv2d(4,3,same,relu),maxpool(4),flatten,dense(10,softmax)");
  save_model (flat, "flatten,dense(10,softmax)");
  write_png (image, 8);

  /* Both maps, into a folder made for them, the image 8x as large as the
   * model's 32x32 input; the top three classes as predict prints them. */
  g_assert_cmpint (run_cli (&out, &err, "explain", "--model", conv, "--out", out_dir, image, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  {
    g_auto(GStrv) rows = g_strsplit (out, "\n", -1);

    g_assert_cmpuint (g_strv_length (rows), ==, 6);
    g_assert_cmpstr (rows[0], ==, image);
    for (int k = 1; k <= 3; k++)
      {
        g_auto(GStrv) fields = g_strsplit_set (g_strstrip (rows[k]), " ", -1);

        g_assert_true (g_strv_contains (class_names, fields[0]));
      }
    g_assert_true (g_str_has_prefix (g_strstrip (rows[4]), "explained as "));
    g_assert_nonnull (strstr (rows[4], saliency));
    g_assert_nonnull (strstr (rows[4], gradcam));
  }
  assert_png (saliency, 256, 256);
  assert_png (gradcam, 256, 256);
  /* no temporary files left behind */
  listing = list_folder (out_dir);
  g_assert_cmpstr (listing, ==, "explain-ship-gradcam.png explain-ship-saliency.png");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --class by name or number; the current folder by default */
  g_assert_cmpint (run_cli (&out, &err, "explain", "--model", conv, "--class", "frog", image, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "explained as frog:"));
  assert_png (here, 256, 256);
  assert_png (here_cam, 256, 256);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&out, &err, "explain", "--model", conv, "-c", "3", "-o", out_dir, image, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "explained as cat:"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* No convolution: the saliency map, and one line saying why there is no
   * Grad-CAM; still a success. */
  g_assert_cmpint (run_cli (&out, &err, "explain", "--model", flat, "--out", flat_dir, image, NULL), ==, 0);
  assert_one_message (err, "Grad-CAM");
  assert_png (flat_saliency, 256, 256);
  g_clear_pointer (&listing, g_free);
  listing = list_folder (flat_dir);
  g_assert_cmpstr (listing, ==, "explain-ship-saliency.png");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A missing image among good ones: the others are still explained. */
  g_assert_cmpint (run_cli (&out, &err, "explain", "--model", conv, "--out", out_dir, missing, image, NULL), ==, 1);
  assert_one_message (err, "no-such-image.png");
  g_assert_true (g_str_has_prefix (out, image));

  /* Bad inputs: one line each, exit status 1. */
  assert_fails ("no-such-image.png", "explain", "--model", conv, missing, NULL);
  assert_fails ("--model", "explain", image, NULL);
  assert_fails ("no image", "explain", "--model", conv, NULL);
  assert_fails ("no such class", "explain", "--model", conv, "--class", "zebra", image, NULL);
  assert_fails ("0 to 9", "explain", "--model", conv, "--class", "10", image, NULL);
  assert_fails ("could not create", "explain", "--model", conv, "--out", image, image, NULL);
  assert_fails ("missing.safetensors", "explain", "--model", "missing.safetensors", image, NULL);
}


/* Options and files that must be refused before any training starts:
 * nothing is trained and then lost for want of a place to save it. */
static void
test_cli_hostile_options (void)
{
  g_autofree char *batch_file = g_build_filename (cifar_dir, "data_batch_1.bin", NULL);
  g_autofree char *truncated_dir = g_build_filename (work_dir, "truncated-cifar", NULL);
  g_autofree char *test_only_dir = g_build_filename (work_dir, "test-only-cifar", NULL);
  g_autofree char *truncated_batch = g_build_filename (truncated_dir, "data_batch_1.bin", NULL);
  g_autofree char *test_batch = g_build_filename (test_only_dir, "test_batch.bin", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* "nan" is a number to strtod, and was taken for "not given". */
  assert_fails ("“nan”", "train", "--data", cifar_dir, "--learning-rate", "nan", NULL);
  assert_fails ("“inf”", "train", "--data", cifar_dir, "--learning-rate", "inf", NULL);
  assert_fails ("“1e-300”", "train", "--data", cifar_dir, "--learning-rate", "1e-300", NULL);

  /* Saving there could never work: said at once, not after training. */
  if (g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--epochs", "1",
                                "--threads", "1", "--spec", SPEC, "--save", "/dev/full", NULL), ==, 1);
      assert_one_message (err, "/dev/full");
      g_assert_null (strstr (out, "Epoch"));
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      assert_fails ("/dev/full", "train", "--data", cifar_dir, "--log-json", "/dev/full", NULL);
    }
  assert_fails ("--save", "train", "--data", cifar_dir, "--save", "", NULL);
  if (g_file_test ("/proc/self", G_FILE_TEST_IS_DIR))
    assert_fails ("cannot write in its folder", "train", "--data", cifar_dir,
                  "--checkpoint", "/proc/self/convolve.safetensors", NULL);

  /* An empty --dest meant the current folder (the URL is a closed local
   * port: this test never reaches the network). */
  assert_fails ("--dest", "download", "--dest", "", "--url", "http://127.0.0.1:1/none.tar.gz", NULL);

  /* Datasets that are not one: the reason, not just "no dataset". */
  assert_fails ("not a folder", "train", "--data", batch_file, NULL);
  g_assert_cmpint (g_mkdir_with_parents (truncated_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (truncated_batch, "short", 5, NULL));
  assert_fails ("data_batch_1.bin", "train", "--data", truncated_dir, NULL);
  g_assert_cmpint (g_mkdir_with_parents (test_only_dir, 0755), ==, 0);
  write_cifar_batch (test_batch, 3, 5);
  assert_fails ("training batches", "train", "--data", test_only_dir, NULL);

  /* A spec with a layer too large says which limit, not "invalid". */
  assert_fails ("units", "summary", "--spec", "flatten,dense(2000000000,softmax)", NULL);
  /* warmup + steps overflowed an int: no timing of zero steps. */
  assert_fails ("--steps", "bench", "--steps", "2147483647", "--warmup", "2147483647", NULL);
}

/* Files that are not regular files or not whole: refused, never waited on
 * or read without end. */
static void
test_cli_hostile_files (void)
{
  g_autofree char *fifo = g_build_filename (work_dir, "fifo.safetensors", NULL);
  g_autofree char *fifo_image = g_build_filename (work_dir, "fifo.png", NULL);
  g_autofree char *model = g_build_filename (work_dir, "small.safetensors", NULL);
  g_autofree char *image = g_build_filename (work_dir, "whole.png", NULL);
  g_autofree char *truncated = g_build_filename (work_dir, "truncated.png", NULL);
  g_autofree char *bytes = NULL;
  gsize length = 0;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (mkfifo (fifo_image, 0600), ==, 0);
  assert_fails ("not a regular file", "evaluate", "--model", fifo, "--data", cifar_dir, NULL);
  assert_fails ("not a regular file", "train", "--data", cifar_dir, "--resume", fifo, NULL);

  g_assert_cmpint (run_cli (NULL, NULL, "train", "--data", cifar_dir, "--epochs", "1", "--threads", "1",
                            "--spec", SPEC, "--limit", "20", "--save", model, NULL), ==, 0);
  assert_fails ("not a regular file", "predict", "--model", model, fifo_image, NULL);
  assert_fails ("not a regular file", "predict", "--model", model, "/dev/zero", NULL);

  /* A foreign model for two-channel images: an error, not a crash. */
  {
    g_autofree char *two_channels = g_build_filename (work_dir, "two-channels.safetensors", NULL);
    g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse ("flatten,dense(10,softmax)", NULL);
    g_autoptr(ConvolveModel) foreign = NULL;
    g_autoptr(GError) error = NULL;
    ConvolveShape shape = { 2, 8, 8 };

    foreign = convolve_model_new (spec, &shape, 1, 1, &error);
    g_assert_no_error (error);
    g_assert_true (convolve_model_save (foreign, NULL, NULL, two_channels, &error));
    g_assert_no_error (error);
    write_png (image, 3);
    assert_fails ("2 channels", "predict", "--model", two_channels, image, NULL);
  }

  /* Half a PNG decodes "fine", its missing rows left blank. */
  g_assert_true (g_file_get_contents (image, &bytes, &length, NULL));
  g_assert_true (g_file_set_contents (truncated, bytes, (gssize) length / 2, NULL));
  assert_fails ("truncated", "predict", "--model", model, truncated, NULL);
}

/* A batch size beyond the dataset costs nothing: Keras takes the whole
 * set as one batch, and so must we, without memory for 65536 images. */
static void
test_cli_large_batch (void)
{
  const char *spec = "conv2d(64,3,same,relu),maxpool(8),flatten,dense(10,softmax)";
  g_autofree char *one_dir = g_build_filename (work_dir, "one-image", NULL);
  g_autofree char *model = g_build_filename (work_dir, "large-batch.safetensors", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--limit", "40", "--epochs", "1",
                            "--batch-size", "65536", "--threads", "1", "--spec", spec,
                            "--save", model, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "1/1 - "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", cifar_dir,
                            "--batch-size", "65536", "--threads", "1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Evaluated 50 images"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* More outputs than the dataset has classes: trained, saved with the
   * dataset's names, and usable afterwards. */
  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--limit", "40", "--epochs", "1",
                            "--threads", "1", "--spec", "maxpool(8),flatten,dense(20,softmax)",
                            "--save", model, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", cifar_dir, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "truck"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* One image: the messages count it in the singular. */
  g_assert_cmpint (g_mkdir_with_parents (one_dir, 0755), ==, 0);
  write_idx (one_dir, "train", 1);
  g_assert_cmpint (run_cli (&out, &err, "train", "--data", one_dir, "--epochs", "1", "--threads", "1",
                            "--spec", "flatten,dense(10,softmax)", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Training on 1 image, validating on 0 images\n"));
}

/* Removes folder while convolve-cli writes into it, once path exists. */
static void
pull_folder_once_written (GSubprocess *process,
                          const char  *path,
                          const char  *folder)
{
  for (int i = 0; i < 6000 && !g_file_test (path, G_FILE_TEST_EXISTS); i++)
    {
      g_assert_false (g_subprocess_get_identifier (process) == NULL);
      g_usleep (10 * 1000);
    }
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  /* A temporary file may appear between unlink and rmdir: try again. */
  for (int i = 0; i < 100 && g_file_test (folder, G_FILE_TEST_EXISTS); i++)
    test_remove_tree (folder);
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
}

/* A log or a checkpoint that cannot be written stops the run; the model
 * trained so far is still saved where --save says. */
static void
test_cli_output_fails_midway (void)
{
  const char *what[] = { "--log-json", "--checkpoint" };

  for (guint k = 0; k < G_N_ELEMENTS (what); k++)
    {
      g_autoptr(GSubprocessLauncher) launcher = make_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                               G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_autoptr(GSubprocess) process = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(ConvolveModel) loaded = NULL;
      g_autoptr(ConvolveModelMeta) meta = NULL;
      g_autofree char *folder = g_build_filename (work_dir, "vanishing", NULL);
      g_autofree char *output = g_build_filename (folder, "output", NULL);
      g_autofree char *model = g_build_filename (work_dir, "kept.safetensors", NULL);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      g_unlink (model);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
      process = g_subprocess_launcher_spawn (launcher, &error, cli_path, "train", "--data", cifar_dir,
                                             "--epochs", "100000", "--batch-size", "50", "--threads", "1",
                                             "--spec", SPEC, what[k], output, "--save", model, NULL);
      g_assert_no_error (error);
      pull_folder_once_written (process, output, folder);
      communicate_or_fail (process, &out, &err);
      g_assert_true (g_subprocess_get_if_exited (process));
      g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
      g_assert_nonnull (strstr (err, "output"));
      g_assert_nonnull (strstr (out, "Model saved to"));

      loaded = convolve_model_load (model, 1, &meta, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (meta->epoch, >=, 1);
    }
}

static gboolean
same_weights (const char *path_a,
              const char *path_b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) a = convolve_model_load (path_a, 1, NULL, NULL, &error);
  g_autoptr(ConvolveModel) b = NULL;
  gsize na = 0, nb = 0;
  float *pa, *pb;

  g_assert_no_error (error);
  b = convolve_model_load (path_b, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  pa = convolve_model_get_params (a, &na);
  pb = convolve_model_get_params (b, &nb);
  return na == nb && memcmp (pa, pb, na * sizeof (float)) == 0;
}

/* --early-stopping on a rule that cannot be met after the first epoch (an
 * improvement of more than 1000): the run stops after epoch 2 of 5, the
 * best is epoch 1, --save-best writes it, and --restore-best makes it the
 * saved model. */
static void
test_cli_train_early_stopping (void)
{
  g_autofree char *model = g_build_filename (work_dir, "early.safetensors", NULL);
  g_autofree char *best = g_build_filename (work_dir, "early-best-out.safetensors", NULL);
  g_autofree char *checkpoint = g_build_filename (work_dir, "early-ckpt.safetensors", NULL);
  g_autofree char *checkpoint_best = g_build_filename (work_dir, "early-ckpt-best.safetensors", NULL);
  g_autofree char *no_test = g_build_filename (work_dir, "cifar-no-test", NULL);
  g_autofree char *db = g_build_filename (work_dir, "early-runs.sqlite", NULL);
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  g_autoptr(GError) error = NULL;

  assert_fails ("--early-stopping", "train", "--data", cifar_dir, "--early-stopping", "-1", NULL);
  assert_fails ("val_loss or val_accuracy", "train", "--data", cifar_dir, "--monitor", "loss", NULL);
  assert_fails ("--min-delta", "train", "--data", cifar_dir, "--min-delta", "nan", NULL);
  assert_fails ("--min-delta", "train", "--data", cifar_dir, "--min-delta", "-0.1", NULL);
  write_cifar_dir (no_test, 40, 0);
  assert_fails ("test set", "train", "--data", no_test, "--early-stopping", "2", "--spec", SPEC,
                "--threads", "1", NULL);
  assert_fails ("--save-best needs a test set", "train", "--data", no_test, "--epochs", "1", "--spec", SPEC,
                "--threads", "1", "--save-best", best, NULL);

  for (int restore = 0; restore < 2; restore++)
    {
      const char *monitor = restore ? "val_accuracy" : "val_loss";
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--epochs", "5",
                                "--batch-size", "20", "--learning-rate", "0.01", "--seed", "3",
                                "--threads", "1", "--spec", SPEC, "--early-stopping", "1",
                                "--monitor", monitor, "--min-delta", "1000",
                                /* a harmless repeat where --restore-best is not given */
                                restore ? "--restore-best" : "--seed=3",
                                "--checkpoint", checkpoint, "--runs-db", db,
                                "--save", model, "--save-best", best, NULL), ==, 0);
      g_assert_cmpstr (err, ==, "");
      g_assert_nonnull (strstr (out, "Epoch 2/5"));
      g_assert_null (strstr (out, "Epoch 3/5"));
      g_assert_nonnull (strstr (out, "stopped after epoch 2"));
      g_assert_nonnull (strstr (out, "\nbest_epoch: 1\n"));
      g_assert_cmpint (strstr (out, "Restored the weights of epoch 1") != NULL, ==, restore);
      g_assert_true (g_str_has_prefix (last_line (out), "val_accuracy: "));

      loaded = convolve_model_load (best, 1, &meta, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (meta->epoch, ==, 1);
      g_clear_pointer (&loaded, convolve_model_free);
      g_clear_pointer (&meta, convolve_model_meta_free);
      /* Kept beside the per-epoch checkpoint too. */
      g_assert_true (same_weights (best, checkpoint_best));
      g_assert_cmpint (same_weights (model, best), ==, restore);

      /* The run store keeps the settings: run 1, then run 2. */
      {
        g_autofree char *id = g_strdup_printf ("%d", restore + 1);
        g_autofree char *shown = NULL;

        g_assert_cmpint (run_cli (&shown, NULL, "runs", "show", id, "--runs-db", db, NULL), ==, 0);
        g_assert_nonnull (strstr (shown, restore ? "early_stopping   val_accuracy/1/1000/restore\n"
                                                 : "early_stopping   val_loss/1/1000\n"));
      }
    }
}

/* lr-find: both suggestions printed for scripts, inside the sweep; the
 * plot as SVG and PNG; bad options refused. */
static void
test_cli_lr_find (void)
{
  g_autofree char *svg = g_build_filename (work_dir, "lr.svg", NULL);
  g_autofree char *png = g_build_filename (work_dir, "lr.png", NULL);
  const char *outs[] = { svg, png };

  assert_fails ("between 2 and 100000 batches", "lr-find", "--data", cifar_dir, "--batches", "1", NULL);
  assert_fails (".png or .svg", "lr-find", "--data", cifar_dir, "--out", "plot.txt", NULL);
  assert_fails ("--start-lr", "lr-find", "--data", cifar_dir, "--start-lr", "abc", NULL);
  assert_fails ("learning rate sweep", "lr-find", "--data", cifar_dir, "--start-lr", "1", "--end-lr", "0.1", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (outs); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autofree char *contents = NULL;
      const char *steep, *valley;
      double steep_lr, valley_lr;

      g_assert_cmpint (run_cli (&out, &err, "lr-find", "--data", cifar_dir, "--spec", SPEC,
                                "--threads", "1", "--batches", "60", "--out", outs[i], NULL), ==, 0);
      g_assert_cmpstr (err, ==, "");
      steep = strstr (out, "\nsteep: ");
      valley = strstr (out, "\nvalley: ");
      g_assert_nonnull (steep);
      g_assert_nonnull (valley);
      steep_lr = g_ascii_strtod (steep + strlen ("\nsteep: "), NULL);
      valley_lr = g_ascii_strtod (valley + strlen ("\nvalley: "), NULL);
      g_assert_cmpfloat (steep_lr, >=, 1e-7);
      g_assert_cmpfloat (steep_lr, <=, 10.0);
      g_assert_cmpfloat (valley_lr, >=, 1e-7);
      g_assert_cmpfloat (valley_lr, <=, 10.0);
      g_assert_nonnull (strstr (out, "Plot saved to"));

      contents = read_file (outs[i]);
      if (i == 0)
        g_assert_nonnull (strstr (contents, "<svg"));
      else
        g_assert_true (memcmp (contents, "\x89PNG", 4) == 0);
    }
}

/* Every run is recorded; `runs` lists, shows, compares, exports and
 * deletes them, and --resume-run continues one from its checkpoint. */
static void
test_cli_runs (void)
{
  g_autofree char *db = g_build_filename (work_dir, "runs-test.sqlite", NULL);
  g_autofree char *checkpoint = g_build_filename (work_dir, "runs-test.safetensors", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *spec = "conv2d(4,3,same,relu),maxpool(2),flatten,dense(10,softmax)";

  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--epochs", "1", "--spec", spec,
                            "--threads", "1", "--runs-db", db, "--checkpoint", checkpoint, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Recording as run 1"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (NULL, NULL, "train", "--data", cifar_dir, "--epochs", "1", "--spec", spec,
                            "--threads", "1", "--seed", "9", "--runs-db", db, NULL), ==, 0);

  g_assert_cmpint (run_cli (&out, &err, "runs", "list", "--runs-db", db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Run 1"));
  g_assert_nonnull (strstr (out, "Run 2"));
  g_assert_nonnull (strstr (out, "finished"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_cli (&out, NULL, "runs", "show", "1", "--runs-db", db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, spec));
  g_assert_nonnull (strstr (out, checkpoint));
  g_assert_nonnull (strstr (out, "epochs_done      1"));
  g_assert_nonnull (strstr (out, "early_stopping   off\n"));
  g_clear_pointer (&out, g_free);

  /* Only the seed differs, and compare says so. */
  g_assert_cmpint (run_cli (&out, NULL, "runs", "compare", "1", "2", "--runs-db", db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "* seed"));
  g_assert_nonnull (strstr (out, "  epochs"));
  g_assert_nonnull (strstr (out, "curve: 1 2\n"));
  g_clear_pointer (&out, g_free);

  /* ... and plots them: one mean curve with its band, or one per run. */
  {
    g_autofree char *svg = g_build_filename (work_dir, "compare.svg", NULL);
    g_autofree char *png = g_build_filename (work_dir, "compare.png", NULL);
    g_autofree char *contents = NULL;
    gsize length;

    g_assert_cmpint (run_cli (&out, NULL, "runs", "compare", "1", "2", "--out", svg, "--runs-db", db, NULL), ==, 0);
    g_assert_nonnull (strstr (out, svg));
    g_clear_pointer (&out, g_free);
    g_assert_true (g_file_get_contents (svg, &contents, &length, NULL));
    g_assert_cmpuint (length, >, 1000);
    g_assert_nonnull (strstr (contents, "<svg"));
    g_clear_pointer (&contents, g_free);
    g_assert_cmpint (run_cli (&out, NULL, "runs", "compare", "1", "2", "--separate", "--out", png,
                              "--runs-db", db, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "curve: 1\ncurve: 2\n"));
    g_clear_pointer (&out, g_free);
    g_assert_true (g_file_get_contents (png, &contents, &length, NULL));
    g_assert_cmpmem (contents, 8, "\x89PNG\r\n\x1a\n", 8);
    assert_fails (".png or .svg", "runs", "compare", "1", "2", "--out", "plot.pdf", "--runs-db", db, NULL);
    g_unlink (svg);
    g_unlink (png);
  }

  g_assert_cmpint (run_cli (&out, NULL, "runs", "export", "1", "--runs-db", db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"history\""));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "runs", "export", "1", "--format", "csv", "--runs-db", db, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "epoch,loss,accuracy"));
  g_clear_pointer (&out, g_free);

  /* Resume continues the same run: two epochs recorded in run 1. */
  g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--epochs", "2", "--resume-run", "1",
                            "--runs-db", db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Recording as run 1"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "runs", "show", "1", "--runs-db", db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "epochs_done      2"));
  g_clear_pointer (&out, g_free);

  /* Delete asks for --yes, then deletes. */
  g_assert_cmpint (run_cli (NULL, &err, "runs", "delete", "2", "--runs-db", db, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "--yes"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (NULL, NULL, "runs", "delete", "2", "--yes", "--runs-db", db, NULL), ==, 0);
  g_assert_cmpint (run_cli (&out, NULL, "runs", "list", "--runs-db", db, NULL), ==, 0);
  g_assert_null (strstr (out, "Run 2"));
  g_clear_pointer (&out, g_free);
  /* A run's checkpoints go with it. */
  {
    g_autofree char *best = convolve_trainer_best_path_for (checkpoint);

    g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (best, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpint (run_cli (NULL, NULL, "runs", "delete", "1", "--yes", "--runs-db", db, NULL), ==, 0);
    g_assert_false (g_file_test (checkpoint, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (best, G_FILE_TEST_EXISTS));
  }

  /* Bad input: one clear line each. */
  assert_fails ("not a run number", "runs", "show", "x", "--runs-db", db, NULL);
  assert_fails ("no run 99", "runs", "show", "99", "--runs-db", db, NULL);
  assert_fails ("unknown command", "runs", "frobnicate", "--runs-db", db, NULL);
  assert_fails ("There is no run 3", "train", "--data", cifar_dir, "--resume-run", "3", "--runs-db", db, NULL);
  assert_fails ("no run 1", "runs", "show", "1", "--runs-db", db, NULL);

  /* A damaged store does not stop training: the run is simply not recorded. */
  {
    g_autofree char *bad = g_build_filename (work_dir, "not-a-store.sqlite", NULL);

    g_assert_true (g_file_set_contents (bad, "this is not a database, not at all, no", -1, NULL));
    g_assert_cmpint (run_cli (&out, &err, "train", "--data", cifar_dir, "--epochs", "1", "--spec", spec,
                              "--threads", "1", "--runs-db", bad, NULL), ==, 0);
    g_assert_null (strstr (out, "Recording as run"));
    g_assert_nonnull (strstr (err, "not-a-store.sqlite"));
  }
}

/* bench --spec trains the given model; --profile adds a row per layer and
 * the optimizer, in the table and the JSON; --epoch runs the trainer
 * through one epoch with validation and reports its time and memory. */
static void
test_cli_bench (void)
{
  const char *spec = "conv2d(4,3,same,relu),batchnorm,maxpool,flatten,dense(8,relu),dense(3,softmax)";
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *epoch_out = NULL;
  const char *json;

  g_assert_cmpint (run_cli (&out, &err, "bench", "--steps", "3", "--warmup", "1",
                            "--predictions", "2", "--threads", "1", "--profile",
                            "--spec", spec, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "batch_normalization"));
  g_assert_nonnull (strstr (out, "max_pooling2d"));
  json = last_line (out);
  g_assert_true (g_str_has_prefix (json, "{") && g_str_has_suffix (json, "}"));
  /* 4*3*9+4 + 2*4 + 4*16*16*8+8 + 8*3+3 trainable parameters */
  g_assert_nonnull (strstr (json, "\"params\": 8347,"));
  g_assert_nonnull (strstr (json, "{\"name\": \"conv2d\", \"type\": \"Conv2D\", \"forward_ms\": "));
  g_assert_nonnull (strstr (json, "{\"name\": \"dense_1\", \"type\": \"Dense\", \"forward_ms\": "));
  g_assert_nonnull (strstr (json, "\"optimizer_ms\": "));
  g_assert_nonnull (strstr (json, "\"ms_per_step\": "));
  /* (the kernels the figures came from) */
  g_assert_nonnull (strstr (json, "\"blas_kernels\": \""));
  /* and the floor for predicting one image: its 8347 weights read once */
  g_assert_nonnull (strstr (out, "read the 33.4\u00a0kB of weights once "));  /* GLib's no-break space */
  g_assert_nonnull (strstr (json, "\"params_read_microseconds\": "));

  g_assert_cmpint (run_cli (&epoch_out, NULL, "bench", "--epoch", "--epoch-images", "100",
                            "--threads", "1", "--spec", spec, NULL), ==, 0);
  json = last_line (epoch_out);
  g_assert_nonnull (strstr (json, "\"train_images\": 100, \"test_images\": 20,"));
  g_assert_nonnull (strstr (json, "\"epoch_wall_seconds\": "));
  g_assert_nonnull (strstr (json, "\"val_loss\": "));
  g_assert_nonnull (strstr (json, "\"peak_rss_mb\": "));

  assert_fails ("--epoch", "bench", "--epoch-images", "10", NULL);
  assert_fails ("--epoch", "bench", "--epoch", "--profile", NULL);
  assert_fails ("--epoch-images", "bench", "--epoch", "--epoch-images", "-3", NULL);
  assert_fails ("dense", "bench", "--spec", "dense(3)", NULL);
}

/* A width x height PNG: a bright square whose place says the class, on a
 * gradient that differs from picture to picture. */
static void
write_shape_png (const char *path,
                 int         width,
                 int         height,
                 int         label,
                 int         seed)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autoptr(GError) error = NULL;
  g_autofree char *parent = g_path_get_dirname (path);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        gboolean in_square = y > height / 4 && y < 3 * height / 4 &&
                             (label == 0 ? x < width / 4 : x > 3 * width / 4);

        pixels[y * stride + x * 3 + 0] = in_square ? 240 : (guint8) ((x * 2 + seed * 13) % 200);
        pixels[y * stride + x * 3 + 1] = in_square ? 240 : (guint8) ((y * 3 + seed * 7) % 200);
        pixels[y * stride + x * 3 + 2] = (guint8) ((x + y + seed * 29) % 256);
      }
  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
}

/* What convolve-cli predict prints for path with fit, worked out here: the
 * picture fitted by the loader, the model's probabilities at 4 decimals. */
static char *
expected_prediction (const char       *model_path,
                     const char       *path,
                     ConvolveImageFit  fit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autoptr(ConvolveModel) model = convolve_model_load (model_path, 1, &meta, NULL, &error);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  ConvolveShape shape;
  g_autofree float *input = NULL;
  float probabilities[2];
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  int best;

  g_assert_no_error (error);
  shape = convolve_model_get_input (model);
  g_assert_cmpint (convolve_model_get_n_classes (model), ==, 2);
  input = g_new (float, (gsize) shape.c * shape.h * shape.w);
  g_assert_true (convolve_image_load_file (file, shape, fit, input, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (convolve_model_predict (model, input, 1, probabilities, &error));
  g_assert_no_error (error);
  best = probabilities[1] > probabilities[0] ? 1 : 0;
  return g_strdup_printf ("  %-16s %s\n  %-16s %s\n", meta->class_names[best],
                          g_ascii_formatd (a, sizeof a, "%.4f", probabilities[best]),
                          meta->class_names[1 - best],
                          g_ascii_formatd (b, sizeof b, "%.4f", probabilities[1 - best]));
}

/* --image-size, --fit and --validation-fraction: checked alike wherever
 * --data is taken, refused for a dataset that is no image folder, and
 * applied: the model's input size, the split, the fit of predict. */
static void
test_cli_image_folder_options (void)
{
  static const char * const data_commands[] = { "train", "evaluate", "lr-find" };
  static const struct {
    const char *option;
    const char *value;
    const char *needle;
  } bad[] = {
    { "--image-size", "48", "--image-size must be 32, 64 or 96, not 48" },
    { "--image-size", "0", "--image-size must be 32, 64 or 96, not 0" },
    { "--image-size", "big", "“big” for --image-size" },
    { "--fit", "stretch", "--fit must be crop or pad, not “stretch”" },
    { "--fit", "", "--fit must be crop or pad, not “”" },
    { "--validation-fraction", "0.95", "--validation-fraction must be a number from 0 to 0.9, not “0.95”" },
    { "--validation-fraction", "-0.1", "--validation-fraction must be a number from 0 to 0.9, not “-0.1”" },
    { "--validation-fraction", "nan", "--validation-fraction must be a number from 0 to 0.9, not “nan”" },
    { "--validation-fraction", "0.2x", "--validation-fraction must be a number from 0 to 0.9, not “0.2x”" },
  };
  g_autofree char *folder = g_build_filename (work_dir, "shapes", NULL);
  g_autofree char *model = g_build_filename (work_dir, "shapes.safetensors", NULL);
  g_autofree char *wide = g_build_filename (work_dir, "wide-shape.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) loaded = NULL;
  ConvolveShape shape;

  for (int label = 0; label < 2; label++)
    for (int i = 0; i < 6; i++)
      {
        g_autofree char *name = g_strdup_printf ("%s/%d.png", label == 0 ? "left" : "right", i);
        g_autofree char *path = g_build_filename (folder, name, NULL);

        write_shape_png (path, 120 + 10 * i, 40, label, i);
      }
  write_shape_png (wide, 150, 50, 0, 9);

  /* bad values: one message, before any work, in each subcommand */
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      assert_fails (bad[i].needle, "train", "--data", folder, bad[i].option, bad[i].value, NULL);
      assert_fails (bad[i].needle, "evaluate", "--model", model, "--data", folder, bad[i].option, bad[i].value,
                    NULL);
      assert_fails (bad[i].needle, "lr-find", "--data", folder, bad[i].option, bad[i].value, NULL);
    }
  assert_fails ("--fit must be crop or pad, not “stretch”", "predict", "--model", model, "--fit", "stretch",
                wide, NULL);
  assert_fails ("--fit must be crop or pad, not “stretch”", "explain", "--model", model, "--fit", "stretch",
                wide, NULL);
  assert_fails ("Unknown option --image-size", "predict", "--model", model, "--image-size", "64", wide, NULL);

  /* for image folders only */
  assert_fails ("is not an image folder: --image-size, --fit and --validation-fraction apply to image folders only",
                "train", "--data", cifar_dir, "--fit", "pad", "--epochs", "1", NULL);
  assert_fails ("“cifar10” is not an image folder", "train", "--dataset", "cifar10", "--image-size", "64", NULL);

  /* documented in each --help */
  for (gsize i = 0; i < G_N_ELEMENTS (data_commands); i++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (run_cli (&out, NULL, data_commands[i], "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "--image-size=N"));
      g_assert_nonnull (strstr (out, "--fit=crop|pad"));
      g_assert_nonnull (strstr (out, "--validation-fraction=F"));
    }
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (run_cli (&out, NULL, k == 0 ? "predict" : "explain", "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "--fit=crop|pad"));
      g_assert_null (strstr (out, "--image-size"));
    }

  /* 64 x 64, padded, half of each class held out: 6 images to train on
   * (3 steps of 2), 6 to validate on */
  {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_assert_cmpint (run_cli (&out, &err, "train", "--data", folder, "--image-size", "64", "--fit", "pad",
                              "--validation-fraction", "0.5", "--epochs", "1", "--batch-size", "2",
                              "--spec", "conv2d(4,3,same,relu),maxpool(4),flatten,dense(2,softmax)",
                              "--threads", "1", "--save", model, NULL), ==, 0);
    g_assert_cmpstr (err, ==, "");
    g_assert_nonnull (strstr (out, "3/3 - "));
    g_assert_nonnull (strstr (out, "val_accuracy"));
  }
  loaded = convolve_model_load (model, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  shape = convolve_model_get_input (loaded);
  g_assert_cmpint (shape.c, ==, 3);
  g_assert_cmpint (shape.h, ==, 64);
  g_assert_cmpint (shape.w, ==, 64);

  /* evaluate and a resumed run take the model's size when none is given */
  {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", folder, "--fit", "pad",
                              "--validation-fraction", "0.5", NULL), ==, 0);
    g_assert_cmpstr (err, ==, "");
    g_assert_nonnull (strstr (out, "Evaluated 6 images\n"));
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", folder,
                              "--validation-fraction", "0", NULL), ==, 1);
    g_assert_nonnull (strstr (err, "no test images"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_cli (&out, &err, "train", "--data", folder, "--fit", "pad", "--validation-fraction", "0.5",
                              "--resume", model, "--epochs", "2", "--batch-size", "2", "--threads", "1", NULL), ==, 0);
    g_assert_cmpstr (err, ==, "");
    g_assert_nonnull (strstr (out, "Epoch 2/2"));
    /* a size the model does not take */
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_cli (&out, &err, "evaluate", "--model", model, "--data", folder, "--image-size", "32",
                              NULL), ==, 1);
    assert_one_message (err, NULL);
  }

  /* predict fits a picture as told, crop by default: the probabilities
   * of the model on that very input */
  {
    g_autofree char *crop = expected_prediction (model, wide, CONVOLVE_IMAGE_FIT_CROP);
    g_autofree char *pad = expected_prediction (model, wide, CONVOLVE_IMAGE_FIT_PAD);

    /* the square that says the class is cut off, or kept */
    g_assert_cmpstr (crop, !=, pad);
    for (int k = 0; k < 3; k++)
      {
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        g_autofree char *expected = NULL;

        if (k == 0)
          g_assert_cmpint (run_cli (&out, &err, "predict", "--model", model, wide, NULL), ==, 0);
        else
          g_assert_cmpint (run_cli (&out, &err, "predict", "--model", model, "--fit", k == 1 ? "crop" : "pad",
                                    wide, NULL), ==, 0);
        g_assert_cmpstr (err, ==, "");
        expected = g_strdup_printf ("%s\n%s", wide, k == 2 ? pad : crop);
        g_assert_cmpstr (out, ==, expected);
      }
  }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  cli_path = g_getenv ("CONVOLVE_CLI");
  if (cli_path == NULL)
    {
      g_printerr ("CONVOLVE_CLI must name the convolve-cli to test\n");
      return 1;
    }

  work_dir = g_dir_make_tmp ("convolve-cli-XXXXXX", &error);
  g_assert_no_error (error);
  cifar_dir = g_build_filename (work_dir, "cifar", NULL);
  idx_dir = g_build_filename (work_dir, "idx", NULL);
  write_cifar_dir (cifar_dir, 200, 50);
  g_assert_cmpint (g_mkdir_with_parents (idx_dir, 0755), ==, 0);
  write_idx (idx_dir, "train", 30);
  write_idx (idx_dir, "t10k", 10);

  g_test_add_func ("/cli/usage", test_cli_usage);
  g_test_add_func ("/cli/train/bad-input", test_cli_train_bad_input);
  g_test_add_func ("/cli/presets", test_cli_presets);
  g_test_add_func ("/cli/predict-evaluate/bad-input", test_cli_predict_evaluate_bad_input);
  g_test_add_func ("/cli/options/shared", test_cli_shared_options);
  g_test_add_func ("/cli/runs", test_cli_runs);
  g_test_add_func ("/cli/train/predict-evaluate", test_cli_train_predict_evaluate);
  g_test_add_func ("/cli/train/dataset-by-name", test_cli_dataset_by_name);
  g_test_add_func ("/cli/train/interrupt", test_cli_train_interrupt);
  g_test_add_func ("/cli/hostile/options", test_cli_hostile_options);
  g_test_add_func ("/cli/hostile/files", test_cli_hostile_files);
  g_test_add_func ("/cli/train/large-batch", test_cli_large_batch);
  g_test_add_func ("/cli/train/output-fails-midway", test_cli_output_fails_midway);
  g_test_add_func ("/cli/explain", test_cli_explain);
  g_test_add_func ("/cli/train/early-stopping", test_cli_train_early_stopping);
  g_test_add_func ("/cli/lr-find", test_cli_lr_find);
  g_test_add_func ("/cli/bench", test_cli_bench);
  g_test_add_func ("/cli/image-folder-options", test_cli_image_folder_options);

  status = g_test_run ();

  /* Everything in it was made here; kept after a failure, to look at. */
  if (status == 0)
    test_remove_tree (work_dir);
  g_free (cifar_dir);
  g_free (idx_dir);
  g_free (work_dir);
  return status;
}
