/* convolve-confusion-render.h: a confusion matrix drawn with cairo and
 * Pango: square cells coloured by the share of their row (what fraction
 * of a class's images went where), the count in each cell, class names on
 * both axes and the axis titles. The layout is its own step so that a
 * widget can hit-test the cells it drew.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "convolve-colormap.h"
#include "convolve-evaluation.h"
#include "convolve-report.h"

G_BEGIN_DECLS

/* The size the CLI and the app's export draw at. */
#define CONVOLVE_CONFUSION_EXPORT_SIZE 800

typedef struct {
  ConvolveReportColor foreground;  /* class names, titles, the highlight */
  ConvolveReportColor background;  /* painted first unless alpha is 0 */
  ConvolveColormap    colormap;
  int                 focus_true;  /* the cell drawn with a focus ring, -1: none */
  int                 focus_predicted;
  int                 hover_true;  /* the cell drawn with a thin outline, -1: none */
  int                 hover_predicted;
} ConvolveConfusionStyle;

/* Black on white, viridis, nothing highlighted: how files are drawn. */
void convolve_confusion_style_init (ConvolveConfusionStyle *style);

typedef struct {
  int      n_classes;
  double   width, height;          /* of the whole drawing */
  double   x, y;                   /* top left corner of the cells */
  double   cell;                   /* side of one cell */
  double   row_label_width;        /* room left of the cells for class names */
  double   column_label_extent;    /* room below the cells for class names */
  gboolean rotate_column_labels;   /* column names read bottom to top */
  int      column_label_step;      /* every how many columns a name fits */
  double   font_size;              /* of class names and titles, in pixels */
  double   count_font_size;        /* of the counts; 0: counts do not fit */
} ConvolveConfusionLayout;

/* Lays out n_classes classes (class_names nullable: numbers) on a width x
 * height drawing; cr measures text and is left unchanged. */
void     convolve_confusion_layout_compute (ConvolveConfusionLayout *layout,
                                            cairo_t                 *cr,
                                            double                   width,
                                            double                   height,
                                            int                      n_classes,
                                            const char * const      *class_names);
/* The cell under (x, y): TRUE and its classes, or FALSE outside the cells. */
gboolean convolve_confusion_layout_cell_at (const ConvolveConfusionLayout *layout,
                                            double                         x,
                                            double                         y,
                                            int                           *true_class,
                                            int                           *predicted_class);
/* Where cell (true_class, predicted_class) is drawn. */
void     convolve_confusion_layout_cell_rect (const ConvolveConfusionLayout *layout,
                                              int                            true_class,
                                              int                            predicted_class,
                                              double                        *x,
                                              double                        *y,
                                              double                        *width,
                                              double                        *height);

/* The share of the row (true class) in cell (t, p): what colours it; 0 for
 * a row without images. */
double   convolve_confusion_row_fraction (const ConvolveEvaluation *evaluation,
                                          int                       true_class,
                                          int                       predicted_class);

/* Draws evaluation's matrix as layout says (computed for the same
 * n_classes and names); style nullable (convolve_confusion_style_init). */
void     convolve_confusion_draw (cairo_t                       *cr,
                                  const ConvolveConfusionLayout *layout,
                                  const ConvolveEvaluation      *evaluation,
                                  const char * const            *class_names,
                                  const ConvolveConfusionStyle  *style);

/* Layout and drawing in one, width x height, as PNG or SVG bytes. */
GBytes  *convolve_confusion_render (ConvolveReportFormat          format,
                                    int                           width,
                                    int                           height,
                                    const ConvolveEvaluation     *evaluation,
                                    const char * const           *class_names,
                                    const ConvolveConfusionStyle *style,
                                    GError                      **error);

G_END_DECLS
