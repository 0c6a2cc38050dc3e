/* test-onnx-runtime.c: exported ONNX files run in a real ONNX runtime
 * (onnxruntime-node, through onnx-run.js) give the engine's probabilities
 * to 1e-4 on 100 images, whole and in batches of 7 (the batch dimension
 * is dynamic), and ONNX's own full checker (python3-onnx, onnx-check.py)
 * accepts them. For the tutorial's layers and for a model with every
 * other layer kind, both trained for a few steps first.
 *
 * Needs node ($CONVOLVE_NODE), onnxruntime-node in
 * $CONVOLVE_ONNXRUNTIME_DIR/node_modules (scripts/install-onnxruntime.sh)
 * and python3 with onnx ($CONVOLVE_PYTHON3). Without them it exits 77
 * (skipped), unless CONVOLVE_REQUIRE_ONNXRUNTIME=1 (scripts/test.sh sets
 * it, so CI never skips it quietly).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "convolve-onnx-export.h"
#include "onnx-test-util.h"

#define N_IMAGES  100
#define TOLERANCE 1e-4

static char *node_path;
static char *ort_dir;
static char *python_path;
static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Runs argv; fails the test with its output unless it exits 0. */
static void
run_or_fail (const char * const *argv, const char * const *envp)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, (char **) envp, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s: %s%s", argv[1], out, err);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s %s failed: %s\n%s%s", argv[0], argv[1], error->message, out, err);
}

static void
check_against_onnxruntime (const char *spec_text, ConvolveShape shape, guint64 seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) trained = onnx_test_trained_model (spec_text, shape, 40, seed);
  g_autoptr(ConvolveModel) model = convolve_model_copy (trained, N_IMAGES, &error);
  int n_classes = convolve_model_get_n_classes (model);
  g_autoptr(ConvolveModelMeta) meta = onnx_test_meta (n_classes);
  g_autofree float *x = onnx_test_images (shape, N_IMAGES, n_classes, NULL, seed + 7);
  g_autofree float *expected = g_new (float, (gsize) N_IMAGES * n_classes);
  g_autofree char *onnx_path = tmp_path ("model.onnx");
  g_autofree char *input_path = tmp_path ("input.f32");
  g_autofree char *output_path = tmp_path ("output.f32");
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "onnx-run.js", NULL);
  g_autofree char *checker = g_test_build_filename (G_TEST_DIST, "onnx-check.py", NULL);
  g_autofree char *node_modules = g_build_filename (ort_dir, "node_modules", NULL);
  g_autofree char *n = g_strdup_printf ("%d", N_IMAGES);
  g_autofree char *c = g_strdup_printf ("%d", shape.c);
  g_autofree char *h = g_strdup_printf ("%d", shape.h);
  g_autofree char *w = g_strdup_printf ("%d", shape.w);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "NODE_PATH", node_modules, TRUE);
  g_autofree char *output = NULL;
  gsize length = 0;
  double worst = 0.0;
  int disagreements = 0;

  g_assert_no_error (error);
  g_assert_true (convolve_model_predict (model, x, N_IMAGES, expected, &error));
  g_assert_no_error (error);

  g_assert_true (convolve_onnx_export (model, meta, onnx_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (input_path, (const char *) x,
                                      (gssize) (sizeof (float) * N_IMAGES * shape.c * shape.h * shape.w),
                                      &error));
  g_assert_no_error (error);

  {
    const char *argv[] = { node_path, script, onnx_path, input_path, n, c, h, w, output_path, NULL };
    run_or_fail (argv, (const char * const *) envp);
  }
  {
    const char *argv[] = { python_path, checker, onnx_path, NULL };
    run_or_fail (argv, NULL);
  }

  g_assert_true (g_file_get_contents (output_path, &output, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, 2 * sizeof (float) * N_IMAGES * n_classes);

  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < N_IMAGES; i++)
      {
        const float *got = (const float *) output + ((gsize) pass * N_IMAGES + i) * n_classes;
        const float *want = expected + (gsize) i * n_classes;
        int best_got = 0, best_want = 0;

        for (int k = 0; k < n_classes; k++)
          {
            double diff = fabs ((double) got[k] - want[k]);

            worst = MAX (worst, diff);
            if (!(diff <= TOLERANCE))
              g_error ("image %d class %d: onnxruntime %.8g, engine %.8g (pass %d)",
                       i, k, got[k], want[k], pass);
            if (got[k] > got[best_got])
              best_got = k;
            if (want[k] > want[best_want])
              best_want = k;
          }
        disagreements += best_got != best_want;
      }
  g_test_message ("%s on %dx%dx%d: largest difference %.3g over %d images x %d classes, "
                  "%d argmax disagreements", spec_text, shape.c, shape.h, shape.w, worst,
                  N_IMAGES, n_classes, disagreements);
  /* The probabilities must not be trivially equal (an untrained or
   * collapsed model would pass any comparison). */
  {
    double spread = 0.0;

    for (int i = 0; i < N_IMAGES; i++)
      spread = MAX (spread, fabs ((double) expected[(gsize) i * n_classes] - expected[0]));
    g_assert_cmpfloat (spread, >, 1e-3);
  }
}

static void
test_tutorial (void)
{
  check_against_onnxruntime (ONNX_TEST_SPEC_TUTORIAL, (ConvolveShape) { 3, 16, 16 }, 11);
}

static void
test_every_kind (void)
{
  /* Not square, so a swapped height and width would show. */
  check_against_onnxruntime (ONNX_TEST_SPEC_EVERY_KIND, (ConvolveShape) { 1, 11, 14 }, 12);
}

static void
test_global_avg_pool (void)
{
  check_against_onnxruntime (ONNX_TEST_SPEC_GLOBAL_AVG_POOL, (ConvolveShape) { 3, 9, 13 }, 13);
}

/* The reason the runtime cannot run here, or NULL. */
static char *
missing_runtime (void)
{
  g_autofree char *probe = NULL;
  g_autofree char *out = NULL;
  g_autofree char *python_out = NULL;
  int status = 0;

  if (node_path == NULL || *node_path == '\0')
    return g_strdup ("no node (Debian: nodejs)");
  probe = g_build_filename (ort_dir, "node_modules", "onnxruntime-node", "package.json", NULL);
  if (!g_file_test (probe, G_FILE_TEST_IS_REGULAR))
    return g_strdup_printf ("no onnxruntime-node in %s (scripts/install-onnxruntime.sh %s)",
                            ort_dir, ort_dir);
  if (python_path == NULL || *python_path == '\0')
    return g_strdup ("no python3");
  {
    const char *argv[] = { python_path, "-c", "import onnx", NULL };

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                       &python_out, NULL, &status, NULL) ||
        !g_spawn_check_wait_status (status, NULL))
      return g_strdup_printf ("%s has no onnx module (Debian: python3-onnx)", python_path);
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  g_autofree char *missing = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  node_path = g_strdup (g_getenv ("CONVOLVE_NODE"));
  python_path = g_strdup (g_getenv ("CONVOLVE_PYTHON3"));
  ort_dir = g_strdup (g_getenv ("CONVOLVE_ONNXRUNTIME_DIR"));
  if (ort_dir == NULL || *ort_dir == '\0')
    {
      g_free (ort_dir);
      ort_dir = g_strdup (g_getenv ("CONVOLVE_ONNXRUNTIME_DEFAULT_DIR"));
    }
  if (ort_dir == NULL)
    ort_dir = g_strdup ("onnxruntime-node");

  missing = missing_runtime ();
  if (missing != NULL)
    {
      if (g_strcmp0 (g_getenv ("CONVOLVE_REQUIRE_ONNXRUNTIME"), "1") == 0)
        {
          g_printerr ("test-onnx-runtime: %s, but CONVOLVE_REQUIRE_ONNXRUNTIME=1\n", missing);
          return 1;
        }
      g_print ("test-onnx-runtime: skipped: %s\n", missing);
      return 77;
    }

  tmp_dir = g_dir_make_tmp ("convolve-onnx-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);

  g_test_add_func ("/export/onnx/runtime/tutorial", test_tutorial);
  g_test_add_func ("/export/onnx/runtime/every-kind", test_every_kind);
  g_test_add_func ("/export/onnx/runtime/global-avg-pool", test_global_avg_pool);
  status = g_test_run ();

  {
    const char *names[] = { "model.onnx", "input.f32", "output.f32" };

    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *path = tmp_path (names[i]);
        g_unlink (path);
      }
    g_rmdir (tmp_dir);
  }
  g_free (tmp_dir);
  g_free (node_path);
  g_free (python_path);
  g_free (ort_dir);
  return status;
}
