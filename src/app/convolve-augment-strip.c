/* convolve-augment-strip.c: what augmentation does to one sample.
 *
 * The variants come from convolve_dataset_make_batch() with the
 * augmentation settings and a seeded generator, the very call the trainer
 * makes for an augmented batch, so the preview cannot drift from what
 * training sees. Each variant is shown nearest-neighbour upscaled.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-augment-strip.h"
#include "convolve-image-view.h"
#include "convolve-trainer.h"

#define VARIANT_COLUMNS 4
#define VARIANT_SIZE    64   /* natural size: two screen pixels per CIFAR-10 pixel */

struct _ConvolveAugmentStrip
{
  GtkWidget        parent_instance;

  /* template */
  GtkWidget       *variants_grid;
  GtkWidget       *caption_label;

  GtkWidget       *views[CONVOLVE_AUGMENT_STRIP_N_VARIANTS];

  ConvolveDataset *dataset;
  guint            index;
  ConvolveAugment  augment;
  guint64          seed;
  ConvolveRng      seeds;      /* where Shuffle draws new seeds from */
  float           *variants;   /* N_VARIANTS x c x h x w, or NULL */
  guint8          *pixels;     /* one variant as bytes, for the views */
};

G_DEFINE_FINAL_TYPE (ConvolveAugmentStrip, convolve_augment_strip, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_SEED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* A range below 1 is a fraction of the size, from 1 on a number of pixels
 * (as in Keras); both shown as a share of the image. */
static double
shift_percent (float range,
               int   size)
{
  if (!(range > 0.0f))
    return 0.0;
  if (range < 1.0f)
    return range * 100.0;
  return size > 0 ? MIN (100.0, range * 100.0 / size) : 100.0;
}

static void
convolve_augment_strip_update_caption (ConvolveAugmentStrip *self)
{
  ConvolveShape shape = { 0 };
  g_autofree char *shifts = NULL;
  g_autofree char *caption = NULL;
  double across, down;

  if (self->dataset != NULL)
    shape = convolve_dataset_get_shape (self->dataset);
  across = shift_percent (self->augment.width_shift_range, shape.w);
  down = shift_percent (self->augment.height_shift_range, shape.h);

  if (across == 0.0 && down == 0.0)
    shifts = g_strdup (_("No shifts"));
  else if (fabs (across - down) < 0.5)
    /* Translators: the largest random shift of an image, e.g. "Shifts up to 10 %" */
    shifts = g_strdup_printf (_("Shifts up to %.0f %%"), across);
  else
    /* Translators: the largest random shifts sideways and up or down */
    shifts = g_strdup_printf (_("Shifts up to %.0f %% across and %.0f %% up or down"), across, down);

  if (self->augment.horizontal_flip)
    /* Translators: %s is the shifts, e.g. "Shifts up to 10 %"; the edge
     * that a shift uncovers is filled with the nearest pixel */
    caption = g_strdup_printf (_("%s, horizontal flips, nearest fill"), shifts);
  else
    /* Translators: as "%s, horizontal flips, nearest fill", without flips */
    caption = g_strdup_printf (_("%s, no flips, nearest fill"), shifts);
  gtk_label_set_text (GTK_LABEL (self->caption_label), caption);
}

static void
convolve_augment_strip_update (ConvolveAugmentStrip *self)
{
  guint32 indices[CONVOLVE_AUGMENT_STRIP_N_VARIANTS];
  int32_t labels[CONVOLVE_AUGMENT_STRIP_N_VARIANTS];
  ConvolveShape shape;
  ConvolveRng rng;
  gsize image_size;

  g_clear_pointer (&self->variants, g_free);
  g_clear_pointer (&self->pixels, g_free);

  if (self->dataset == NULL)
    {
      for (guint i = 0; i < CONVOLVE_AUGMENT_STRIP_N_VARIANTS; i++)
        convolve_image_view_set_pixels (CONVOLVE_IMAGE_VIEW (self->views[i]), NULL, 0, 0, 0);
      return;
    }

  shape = convolve_dataset_get_shape (self->dataset);
  image_size = (gsize) shape.c * shape.h * shape.w;
  self->variants = g_new (float, CONVOLVE_AUGMENT_STRIP_N_VARIANTS * image_size);
  self->pixels = g_new (guint8, image_size);

  for (guint i = 0; i < CONVOLVE_AUGMENT_STRIP_N_VARIANTS; i++)
    indices[i] = self->index;
  convolve_rng_init (&rng, self->seed);
  convolve_dataset_make_batch (self->dataset, indices, CONVOLVE_AUGMENT_STRIP_N_VARIANTS,
                               self->variants, labels, &self->augment, &rng);

  for (guint i = 0; i < CONVOLVE_AUGMENT_STRIP_N_VARIANTS; i++)
    {
      const float *variant = self->variants + i * image_size;

      for (gsize k = 0; k < image_size; k++)
        self->pixels[k] = (guint8) lrintf (CLAMP (variant[k], 0.0f, 1.0f) * 255.0f);
      convolve_image_view_set_pixels (CONVOLVE_IMAGE_VIEW (self->views[i]), self->pixels,
                                      shape.c, shape.h, shape.w);
    }
}

static void
shuffle_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  convolve_augment_strip_shuffle (CONVOLVE_AUGMENT_STRIP (widget));
}

static void
convolve_augment_strip_dispose (GObject *object)
{
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), CONVOLVE_TYPE_AUGMENT_STRIP);
  /* the heading row is no template child of its own */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (convolve_augment_strip_parent_class)->dispose (object);
}

static void
convolve_augment_strip_finalize (GObject *object)
{
  ConvolveAugmentStrip *self = CONVOLVE_AUGMENT_STRIP (object);

  g_clear_pointer (&self->dataset, convolve_dataset_unref);
  g_clear_pointer (&self->variants, g_free);
  g_clear_pointer (&self->pixels, g_free);

  G_OBJECT_CLASS (convolve_augment_strip_parent_class)->finalize (object);
}

static void
convolve_augment_strip_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ConvolveAugmentStrip *self = CONVOLVE_AUGMENT_STRIP (object);

  switch (prop_id)
    {
    case PROP_SEED:
      g_value_set_uint64 (value, self->seed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_augment_strip_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  ConvolveAugmentStrip *self = CONVOLVE_AUGMENT_STRIP (object);

  switch (prop_id)
    {
    case PROP_SEED:
      convolve_augment_strip_set_seed (self, g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_augment_strip_class_init (ConvolveAugmentStripClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_augment_strip_dispose;
  object_class->finalize = convolve_augment_strip_finalize;
  object_class->get_property = convolve_augment_strip_get_property;
  object_class->set_property = convolve_augment_strip_set_property;

  properties[PROP_SEED] =
    g_param_spec_uint64 ("seed", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-augment-strip.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveAugmentStrip, variants_grid);
  gtk_widget_class_bind_template_child (widget_class, ConvolveAugmentStrip, caption_label);

  gtk_widget_class_install_action (widget_class, "strip.shuffle", NULL, shuffle_action);

  gtk_widget_class_set_css_name (widget_class, "convolveaugmentstrip");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);

  g_type_ensure (CONVOLVE_TYPE_IMAGE_VIEW);
}

static void
convolve_augment_strip_init (ConvolveAugmentStrip *self)
{
  ConvolveTrainConfig config;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* The trainer's settings, from the one place that sets them. */
  convolve_train_config_init (&config);
  self->augment = config.augment;

  /* A preview needs no reproducible first roll; tests set the seed. */
  convolve_rng_init (&self->seeds, ((guint64) g_random_int () << 32) | g_random_int ());
  self->seed = convolve_rng_next_u64 (&self->seeds);

  for (guint i = 0; i < CONVOLVE_AUGMENT_STRIP_N_VARIANTS; i++)
    {
      g_autofree char *name = NULL;

      self->views[i] = convolve_image_view_new ();
      convolve_image_view_set_natural_size (CONVOLVE_IMAGE_VIEW (self->views[i]), VARIANT_SIZE);
      /* also the least: in a scrolled window the strip may get no more */
      gtk_widget_set_size_request (self->views[i], VARIANT_SIZE, VARIANT_SIZE);
      gtk_widget_add_css_class (self->views[i], "augment-variant");
      /* Translators: the accessible name of one augmented copy of a sample */
      name = g_strdup_printf (_("Variant %u"), i + 1);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->views[i]),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                      -1);
      gtk_grid_attach (GTK_GRID (self->variants_grid), self->views[i],
                       i % VARIANT_COLUMNS, i / VARIANT_COLUMNS, 1, 1);
    }

  convolve_augment_strip_update_caption (self);
}

GtkWidget *
convolve_augment_strip_new (void)
{
  return g_object_new (CONVOLVE_TYPE_AUGMENT_STRIP, NULL);
}

void
convolve_augment_strip_set_sample (ConvolveAugmentStrip *strip,
                                   ConvolveDataset      *dataset,
                                   guint                 index)
{
  g_return_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip));
  g_return_if_fail (dataset == NULL || index < convolve_dataset_get_n_images (dataset));

  if (dataset != NULL)
    convolve_dataset_ref (dataset);
  g_clear_pointer (&strip->dataset, convolve_dataset_unref);
  strip->dataset = dataset;
  strip->index = dataset != NULL ? index : 0;

  convolve_augment_strip_update_caption (strip);
  convolve_augment_strip_update (strip);
}

const ConvolveAugment *
convolve_augment_strip_get_augment (ConvolveAugmentStrip *strip)
{
  g_return_val_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip), NULL);
  return &strip->augment;
}

void
convolve_augment_strip_set_augment (ConvolveAugmentStrip  *strip,
                                    const ConvolveAugment *augment)
{
  g_return_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip));
  g_return_if_fail (augment != NULL);

  strip->augment = *augment;
  convolve_augment_strip_update_caption (strip);
  convolve_augment_strip_update (strip);
}

guint64
convolve_augment_strip_get_seed (ConvolveAugmentStrip *strip)
{
  g_return_val_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip), 0);
  return strip->seed;
}

void
convolve_augment_strip_set_seed (ConvolveAugmentStrip *strip,
                                 guint64               seed)
{
  g_return_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip));

  if (strip->seed == seed)
    return;
  strip->seed = seed;
  convolve_augment_strip_update (strip);
  g_object_notify_by_pspec (G_OBJECT (strip), properties[PROP_SEED]);
}

void
convolve_augment_strip_shuffle (ConvolveAugmentStrip *strip)
{
  guint64 seed;

  g_return_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip));

  do
    seed = convolve_rng_next_u64 (&strip->seeds);
  while (seed == strip->seed);
  convolve_augment_strip_set_seed (strip, seed);
}

const float *
convolve_augment_strip_get_variant (ConvolveAugmentStrip *strip,
                                    guint                 i)
{
  ConvolveShape shape;

  g_return_val_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip), NULL);
  g_return_val_if_fail (i < CONVOLVE_AUGMENT_STRIP_N_VARIANTS, NULL);

  if (strip->variants == NULL)
    return NULL;
  shape = convolve_dataset_get_shape (strip->dataset);
  return strip->variants + (gsize) i * shape.c * shape.h * shape.w;
}

GtkWidget *
convolve_augment_strip_get_variant_view (ConvolveAugmentStrip *strip,
                                         guint                 i)
{
  g_return_val_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip), NULL);
  g_return_val_if_fail (i < CONVOLVE_AUGMENT_STRIP_N_VARIANTS, NULL);
  return strip->views[i];
}

const char *
convolve_augment_strip_get_caption (ConvolveAugmentStrip *strip)
{
  g_return_val_if_fail (CONVOLVE_IS_AUGMENT_STRIP (strip), NULL);
  return gtk_label_get_text (GTK_LABEL (strip->caption_label));
}
