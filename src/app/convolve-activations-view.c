/* convolve-activations-view.c: the first convolution's filters and the
 * feature maps of one image, one section per layer, each a flow of small
 * nearest-neighbour tiles (ConvolveImageView).
 *
 * Filters are normalised each on its own to [0, 1] (their weights have no
 * common scale worth keeping); feature maps over their whole layer, as
 * ConvNetJS does, so that a channel that hardly responds looks dark.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "convolve-activations-view.h"
#include "convolve-image-view.h"

/* Tiles are scaled by a whole factor to about this size (logical px). */
#define TILE_TARGET 40

typedef struct {
  int        layer_index;
  gboolean   is_filters;
  guint      n_tiles;
  int        channels;     /* of each tile: 1 or 3 */
  int        height;
  int        width;
  guint8    *pixels;       /* n_tiles x channels x height x width */
  GPtrArray *tiles;        /* ConvolveImageView, borrowed */
} Section;

struct _ConvolveActivationsView
{
  GtkWidget  parent_instance;

  GArray    *sections;     /* Section */
  char      *layout;       /* what the sections are, to see when to rebuild */
};

G_DEFINE_FINAL_TYPE (ConvolveActivationsView, convolve_activations_view, GTK_TYPE_WIDGET)

static void
section_clear (gpointer data)
{
  Section *section = data;

  g_clear_pointer (&section->pixels, g_free);
  g_clear_pointer (&section->tiles, g_ptr_array_unref);
}

static gsize
tile_size (const Section *section)
{
  return (gsize) section->channels * section->height * section->width;
}

static gboolean
shows_layer (const ConvolveModel *model,
             int                  index)
{
  const ConvolveModelSpec *spec = convolve_model_get_spec (model);
  const ConvolveLayerInfo *info = convolve_model_get_layer (model, index);
  ConvolveLayerKind kind = spec->layers[index].kind;

  return info->rank == 3 &&
         (kind == CONVOLVE_LAYER_CONV2D || kind == CONVOLVE_LAYER_BATCH_NORM || kind == CONVOLVE_LAYER_MAX_POOL);
}

static int
find_first_conv (const ConvolveModel *model)
{
  const ConvolveModelSpec *spec = convolve_model_get_spec (model);

  for (int i = 0; i < spec->n_layers; i++)
    if (spec->layers[i].kind == CONVOLVE_LAYER_CONV2D)
      return i;
  return -1;
}

/* The sections model has, without pixels. */
static GArray *
plan_sections (const ConvolveModel *model)
{
  GArray *sections = g_array_new (FALSE, TRUE, sizeof (Section));
  int first_conv = find_first_conv (model);

  g_array_set_clear_func (sections, section_clear);
  if (first_conv >= 0)
    {
      const ConvolveLayerSpec *spec = &convolve_model_get_spec (model)->layers[first_conv];
      int in_c = convolve_model_get_input (model).c;
      Section filters = { first_conv, TRUE, spec->units, in_c == 3 ? 3 : 1,
                          spec->kernel_size, spec->kernel_size, NULL, NULL };
      g_array_append_val (sections, filters);
    }
  for (int i = 0; i < convolve_model_get_n_layers (model); i++)
    if (shows_layer (model, i))
      {
        const ConvolveLayerInfo *info = convolve_model_get_layer (model, i);
        Section maps = { i, FALSE, info->shape[0], 1, info->shape[1], info->shape[2], NULL, NULL };
        g_array_append_val (sections, maps);
      }
  return sections;
}

static char *
describe_layout (const ConvolveModel *model,
                 GArray              *sections)
{
  GString *layout = g_string_new (NULL);

  for (guint s = 0; s < sections->len; s++)
    {
      const Section *section = &g_array_index (sections, Section, s);
      g_string_append_printf (layout, "%s:%d:%u:%d:%d:%d;",
                              convolve_model_get_layer (model, section->layer_index)->name,
                              section->is_filters, section->n_tiles, section->channels,
                              section->height, section->width);
    }
  return g_string_free (layout, FALSE);
}

/* Each filter [in_c, k, k] of the kernel [units, in_c, k, k] on its own
 * to [0, 1]; as RGB for colour input, else the mean over the channels. */
static void
fill_filters (Section                  *section,
              const ConvolveTensorInfo *kernel)
{
  int in_c = kernel->shape[1];
  gsize k2 = (gsize) section->height * section->width;

  for (guint f = 0; f < section->n_tiles; f++)
    {
      const float *w = kernel->data + (gsize) f * in_c * k2;
      guint8 *out = section->pixels + f * tile_size (section);
      float lo = INFINITY, hi = -INFINITY;

      for (gsize i = 0; i < in_c * k2; i++)
        {
          lo = MIN (lo, w[i]);
          hi = MAX (hi, w[i]);
        }
      for (int c = 0; c < section->channels; c++)
        for (gsize p = 0; p < k2; p++)
          {
            float v = 0.0f;

            if (section->channels == 3)
              v = w[c * k2 + p];
            else
              {
                for (int ic = 0; ic < in_c; ic++)
                  v += w[ic * k2 + p];
                v /= in_c;
              }
            out[c * k2 + p] = hi > lo ? (guint8) lroundf (255.0f * (v - lo) / (hi - lo)) : 0;
          }
    }
}

/* The layer's maps over their common range to [0, 255]. */
static void
fill_maps (Section     *section,
           const float *output)
{
  gsize n = section->n_tiles * tile_size (section);
  float lo = INFINITY, hi = -INFINITY;

  if (output == NULL)
    {
      memset (section->pixels, 0, n);
      return;
    }
  for (gsize i = 0; i < n; i++)
    {
      lo = MIN (lo, output[i]);
      hi = MAX (hi, output[i]);
    }
  for (gsize i = 0; i < n; i++)
    section->pixels[i] = hi > lo ? (guint8) lroundf (255.0f * (output[i] - lo) / (hi - lo)) : 0;
}

static void
remove_children (ConvolveActivationsView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
}

static GtkWidget *
build_section (const ConvolveModel *model,
               Section             *section)
{
  const ConvolveLayerInfo *info = convolve_model_get_layer (model, section->layer_index);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *heading = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *title, *subtitle, *flow;
  g_autofree char *title_text = NULL, *subtitle_text = NULL;
  int scale = MAX (1, (TILE_TARGET + section->width - 1) / section->width);

  if (section->is_filters)
    {
      /* Translators: a heading, e.g. "Filters of conv2d" (a layer's name) */
      title_text = g_strdup_printf (_("Filters of %s"), info->name);
      /* Translators: e.g. "32 filters, 3 × 3, colour" */
      subtitle_text = g_strdup_printf (section->channels == 3 ? _("%u filters, %d × %d, colour")
                                                              : _("%u filters, %d × %d, grey"),
                                       section->n_tiles, section->width, section->height);
    }
  else
    {
      title_text = g_strdup (info->name);
      /* Translators: a layer's type and output, e.g. "Conv2D · 32 × 32, 32 channels" */
      subtitle_text = g_strdup_printf (_("%s · %d × %d, %u channels"), info->type_name,
                                       section->width, section->height, section->n_tiles);
    }

  title = gtk_label_new (title_text);
  gtk_widget_add_css_class (title, "heading");
  subtitle = gtk_label_new (subtitle_text);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_add_css_class (subtitle, "numeric");
  gtk_box_append (GTK_BOX (heading), title);
  gtk_box_append (GTK_BOX (heading), subtitle);
  gtk_box_append (GTK_BOX (box), heading);

  flow = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (flow), GTK_SELECTION_NONE);
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (flow), TRUE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (flow), 128);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (flow), 4);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (flow), 4);
  gtk_widget_add_css_class (flow, "activation-tiles");
  gtk_accessible_update_property (GTK_ACCESSIBLE (flow), GTK_ACCESSIBLE_PROPERTY_LABEL, title_text, -1);

  section->tiles = g_ptr_array_new ();
  for (guint t = 0; t < section->n_tiles; t++)
    {
      GtkWidget *tile = convolve_image_view_new ();

      convolve_image_view_set_natural_size (CONVOLVE_IMAGE_VIEW (tile),
                                            scale * MAX (section->width, section->height));
      gtk_widget_add_css_class (tile, "activation-tile");
      gtk_flow_box_append (GTK_FLOW_BOX (flow), tile);
      gtk_widget_set_focusable (gtk_widget_get_parent (tile), FALSE);
      g_ptr_array_add (section->tiles, tile);
    }
  gtk_box_append (GTK_BOX (box), flow);
  return box;
}

/* ---------------------------------------------------------- GObject */

static void
convolve_activations_view_dispose (GObject *object)
{
  ConvolveActivationsView *self = CONVOLVE_ACTIVATIONS_VIEW (object);

  remove_children (self);
  g_clear_pointer (&self->sections, g_array_unref);

  G_OBJECT_CLASS (convolve_activations_view_parent_class)->dispose (object);
}

static void
convolve_activations_view_finalize (GObject *object)
{
  ConvolveActivationsView *self = CONVOLVE_ACTIVATIONS_VIEW (object);

  g_free (self->layout);

  G_OBJECT_CLASS (convolve_activations_view_parent_class)->finalize (object);
}

static void
convolve_activations_view_class_init (ConvolveActivationsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_activations_view_dispose;
  object_class->finalize = convolve_activations_view_finalize;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "convolveactivationsview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
convolve_activations_view_init (ConvolveActivationsView *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 18);
}

/* ------------------------------------------------------- public API */

GtkWidget *
convolve_activations_view_new (void)
{
  return g_object_new (CONVOLVE_TYPE_ACTIVATIONS_VIEW, NULL);
}

void
convolve_activations_view_set_model (ConvolveActivationsView *view,
                                     const ConvolveModel     *model)
{
  g_autoptr(GArray) planned = NULL;
  g_autofree char *layout = NULL;

  g_return_if_fail (CONVOLVE_IS_ACTIVATIONS_VIEW (view));

  if (model == NULL)
    {
      remove_children (view);
      g_clear_pointer (&view->sections, g_array_unref);
      g_clear_pointer (&view->layout, g_free);
      return;
    }

  planned = plan_sections (model);
  layout = describe_layout (model, planned);
  if (view->sections == NULL || g_strcmp0 (layout, view->layout) != 0)
    {
      remove_children (view);
      g_clear_pointer (&view->sections, g_array_unref);
      view->sections = g_steal_pointer (&planned);
      g_free (view->layout);
      view->layout = g_steal_pointer (&layout);
      for (guint s = 0; s < view->sections->len; s++)
        {
          Section *section = &g_array_index (view->sections, Section, s);

          section->pixels = g_new0 (guint8, section->n_tiles * tile_size (section));
          gtk_widget_set_parent (build_section (model, section), GTK_WIDGET (view));
        }
    }

  for (guint s = 0; s < view->sections->len; s++)
    {
      Section *section = &g_array_index (view->sections, Section, s);

      if (section->is_filters)
        {
          g_autofree char *name = g_strdup_printf ("%s/kernel",
                                                   convolve_model_get_layer (model, section->layer_index)->name);
          const ConvolveTensorInfo *kernel = convolve_model_find_tensor (model, name);

          if (kernel != NULL && kernel->rank == 4)
            fill_filters (section, kernel);
        }
      else
        fill_maps (section, convolve_model_get_layer_output (model, section->layer_index, 0));

      for (guint t = 0; t < section->n_tiles; t++)
        convolve_image_view_set_pixels (g_ptr_array_index (section->tiles, t),
                                        section->pixels + t * tile_size (section),
                                        section->channels, section->height, section->width);
    }
}

gboolean
convolve_activations_view_is_empty (ConvolveActivationsView *view)
{
  g_return_val_if_fail (CONVOLVE_IS_ACTIVATIONS_VIEW (view), TRUE);
  return view->sections == NULL || view->sections->len == 0;
}

guint
convolve_activations_view_get_n_sections (ConvolveActivationsView *view)
{
  g_return_val_if_fail (CONVOLVE_IS_ACTIVATIONS_VIEW (view), 0);
  return view->sections != NULL ? view->sections->len : 0;
}

gboolean
convolve_activations_view_get_section (ConvolveActivationsView *view,
                                       guint                    section,
                                       int                     *layer_index,
                                       gboolean                *is_filters,
                                       guint                   *n_tiles)
{
  const Section *s;

  g_return_val_if_fail (CONVOLVE_IS_ACTIVATIONS_VIEW (view), FALSE);

  if (section >= convolve_activations_view_get_n_sections (view))
    return FALSE;
  s = &g_array_index (view->sections, Section, section);
  if (layer_index != NULL)
    *layer_index = s->layer_index;
  if (is_filters != NULL)
    *is_filters = s->is_filters;
  if (n_tiles != NULL)
    /* what is on screen, not what was planned */
    *n_tiles = s->tiles->len;
  return TRUE;
}

const guint8 *
convolve_activations_view_get_tile (ConvolveActivationsView *view,
                                    guint                    section,
                                    guint                    tile,
                                    int                     *channels,
                                    int                     *height,
                                    int                     *width)
{
  const Section *s;

  g_return_val_if_fail (CONVOLVE_IS_ACTIVATIONS_VIEW (view), NULL);

  if (section >= convolve_activations_view_get_n_sections (view))
    return NULL;
  s = &g_array_index (view->sections, Section, section);
  if (tile >= s->n_tiles)
    return NULL;
  if (channels != NULL)
    *channels = s->channels;
  if (height != NULL)
    *height = s->height;
  if (width != NULL)
    *width = s->width;
  return s->pixels + tile * tile_size (s);
}
