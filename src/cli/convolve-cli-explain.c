/* convolve-cli-explain.c: `convolve-cli explain`, the most probable
 * classes of image files and where in each image the model finds one of
 * them: a saliency map and a Grad-CAM map drawn over the image, saved as
 * PNG files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "convolve-cli.h"
#include "convolve-cli-options.h"
#include "convolve-cli-predictions.h"
#include "convolve-heatmap.h"
#include "convolve-loaders.h"
#include "convolve-train.h"

/* The overlays are the model's input scaled by a whole factor, so its
 * pixels stay sharp, to about this long a side. */
#define OVERLAY_LONG_SIDE 256
#define OVERLAY_ALPHA     0.5
#define TOP_CLASSES       3

typedef struct {
  ConvolveExplainMethod  method;
  const char            *suffix;  /* of the file name */
} ExplainOutput;

static const ExplainOutput outputs[] = {
  { CONVOLVE_EXPLAIN_SALIENCY, "saliency" },
  { CONVOLVE_EXPLAIN_GRAD_CAM, "gradcam" },
};

/* --class: a class name of the model file, or a number. -1 on error. */
static int
parse_class (const char *text, const ConvolveModelMeta *meta, int n_classes, GError **error)
{
  guint64 index;

  if (meta->class_names != NULL)
    for (int i = 0; meta->class_names[i] != NULL && i < n_classes; i++)
      if (strcmp (meta->class_names[i], text) == 0)
        return i;
  if (g_ascii_string_to_unsigned (text, 10, 0, (guint64) n_classes - 1, &index, NULL))
    return (int) index;

  if (meta->class_names != NULL && meta->class_names[0] != NULL)
    {
      g_autofree char *names = g_strjoinv (", ", meta->class_names);

      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--class “%s”: no such class; give one of %s or a number from 0 to %d"),
                   text, names, n_classes - 1);
    }
  else
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 _("--class “%s”: no such class; give a number from 0 to %d"),
                 text, n_classes - 1);
  return -1;
}

/* "pictures/frog.png" -> "frog" */
static char *
output_stem (const char *argument)
{
  g_autofree char *base = g_path_get_basename (argument);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, G_DIR_SEPARATOR_S) == 0)
    return g_strdup ("image");
  return g_steal_pointer (&base);
}

/* Written to a temporary file beside path, then renamed over it: a failed
 * write never leaves a half PNG or destroys an earlier one. */
static gboolean
write_png_atomically (cairo_surface_t *surface, const char *path, GError **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *temporary = g_strconcat (path, ".XXXXXX", NULL);
  cairo_status_t status;
  int fd, saved_errno;

  fd = g_mkstemp_full (temporary, O_RDWR, 0644);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not write “%s”: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);

  status = cairo_surface_write_to_png (surface, temporary);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_unlink (temporary);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("Could not write “%s”: %s"), display, cairo_status_to_string (status));
      return FALSE;
    }
  if (g_rename (temporary, path) != 0)
    {
      saved_errno = errno;
      g_unlink (temporary);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not write “%s”: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_overlay (const guint8 *preview, ConvolveShape shape, const float *map, int scale,
               const char *path, GError **error)
{
  cairo_surface_t *surface;
  gboolean ok;

  surface = convolve_heatmap_overlay (preview, shape.c, shape.h, shape.w, map, scale,
                                      CONVOLVE_COLORMAP_VIRIDIS, OVERLAY_ALPHA);
  if (surface == NULL)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("Could not draw “%s”: the model’s input of %d×%d is too large"),
                   display, shape.w, shape.h);
      return FALSE;
    }
  ok = write_png_atomically (surface, path, error);
  cairo_surface_destroy (surface);
  return ok;
}

int
convolve_cli_explain (int argc, char **argv)
{
  g_auto(ConvolveCliOptions) options = CONVOLVE_CLI_OPTIONS_INIT;
  g_autofree char *class_text = NULL;
  g_autofree char *out_dir = NULL;
  GOptionEntry entries[] = {
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_MODEL),
    { "class", 'c', 0, G_OPTION_ARG_STRING, &class_text,
      N_("The class to explain, by name or number (default: each image’s most probable class)"),
      N_("CLASS") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
      N_("Folder for the PNG files (default: the current folder)"), N_("DIR") },
    convolve_cli_shared_entry (&options, CONVOLVE_CLI_OPTION_PICTURE_FIT),
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModel) model = NULL;
  g_autoptr(ConvolveModelMeta) meta = NULL;
  g_autofree float *input = NULL;
  g_autofree float *probabilities = NULL;
  g_autofree float *map = NULL;
  g_autofree guint8 *preview = NULL;
  ConvolveShape shape;
  const char *dir;
  gboolean has_conv;
  gboolean empty_grad_cam = FALSE;
  int n_classes, chosen = -1, scale, status = 0;

  if (!convolve_cli_parse_options (&options, entries, _("IMAGE…"),
                                   _("Print the most probable classes of each image and save, for one class, "
                                     "where in the image the model sees it: NAME-saliency.png (the pixels "
                                     "that move its score most) and NAME-gradcam.png (Grad-CAM: the regions "
                                     "whose features speak for it), over the image as the model sees it."),
                                   CONVOLVE_CLI_PARSE_ARGUMENTS | CONVOLVE_CLI_PARSE_NEEDS_MODEL,
                                   &argc, &argv))
    return 1;
  if (argc < 2)
    return convolve_cli_fail (_("no image: give one or more image files"));
  if (out_dir != NULL && *out_dir == '\0')
    return convolve_cli_fail (_("--out needs a folder name"));
  dir = out_dir != NULL ? out_dir : ".";

  model = convolve_model_load (options.model_path, 1, &meta, NULL, &error);
  if (model == NULL)
    return convolve_cli_fail ("%s", error->message);
  n_classes = convolve_model_get_n_classes (model);
  if (class_text != NULL)
    {
      chosen = parse_class (class_text, meta, n_classes, &error);
      if (chosen < 0)
        return convolve_cli_fail ("%s", error->message);
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (dir);

      return convolve_cli_fail (_("--out “%s”: could not create the folder: %s"),
                                display, g_strerror (saved_errno));
    }

  shape = convolve_model_get_input (model);
  scale = CLAMP ((OVERLAY_LONG_SIDE + MAX (shape.h, shape.w) / 2) / MAX (shape.h, shape.w), 1, 64);
  input = g_new (float, (gsize) shape.c * shape.h * shape.w);
  preview = g_new (guint8, (gsize) shape.c * shape.h * shape.w);
  map = g_new (float, (gsize) shape.h * shape.w);
  probabilities = g_new (float, n_classes);

  has_conv = convolve_model_find_last_conv (model) >= 0;
  if (!has_conv)
    fprintf (stderr, "convolve-cli: %s\n",
             _("the model has no convolution layer, so there is no Grad-CAM: "
               "only the saliency maps are written"));

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (argv[i]);
      g_autoptr(GError) image_error = NULL;
      g_autofree char *stem = NULL;
      GString *written;
      int top, explained;

      if (!convolve_image_load_file (file, shape, options.fit, input, preview, NULL, &image_error) ||
          !convolve_predict_image (model, input, probabilities, &image_error))
        {
          status = convolve_cli_fail ("%s", image_error->message);
          continue;
        }

      top = convolve_cli_print_top_classes (argv[i], probabilities, n_classes, TOP_CLASSES, meta);
      explained = chosen >= 0 ? chosen : top;
      empty_grad_cam = FALSE;
      stem = output_stem (argv[i]);
      written = g_string_new (NULL);
      for (gsize m = 0; m < G_N_ELEMENTS (outputs); m++)
        {
          g_autofree char *file_name = NULL;
          g_autofree char *path = NULL;

          if (outputs[m].method == CONVOLVE_EXPLAIN_GRAD_CAM && !has_conv)
            continue;
          file_name = g_strdup_printf ("%s-%s.png", stem, outputs[m].suffix);
          path = g_build_filename (dir, file_name, NULL);
          if (!convolve_explain (model, input, explained, outputs[m].method, map, &image_error) ||
              !write_overlay (preview, shape, map, scale, path, &image_error))
            {
              status = convolve_cli_fail ("%s", image_error->message);
              g_clear_error (&image_error);
              continue;
            }
          g_string_append_c (written, ' ');
          g_string_append (written, path);
          if (outputs[m].method == CONVOLVE_EXPLAIN_GRAD_CAM && convolve_explain_map_is_empty (map, (gsize) shape.h * shape.w))
            empty_grad_cam = TRUE;
        }
      if (written->len > 0)
        {
          g_autofree char *name = convolve_cli_class_name (meta, explained);
          g_autofree char *line = g_strdup_printf (_("explained as %s:"), name);

          printf ("  %s%s\n", line, written->str);
          if (empty_grad_cam)
            /* Translators: Grad-CAM's map is zero everywhere */
            printf ("  %s\n", _("(Grad-CAM finds no region of the last convolution that speaks for this class)"));
        }
      g_string_free (written, TRUE);
      fflush (stdout);
    }

  return status;
}
