/* convolve-sample-grid.h: a page of 5 x 5 samples of a dataset, with
 * paging, a class filter and a Training/Test switch; or a chosen subset of
 * the test images with what an evaluation predicted for them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-dataset.h"
#include "convolve-evaluation.h"

G_BEGIN_DECLS

#define CONVOLVE_SAMPLE_GRID_COLUMNS 5
#define CONVOLVE_SAMPLE_GRID_ROWS    5
#define CONVOLVE_SAMPLE_GRID_CELLS   (CONVOLVE_SAMPLE_GRID_COLUMNS * CONVOLVE_SAMPLE_GRID_ROWS)

/* What a sample dragged from the grid carries besides its texture: the
 * dataset (a reference) and the image's index in it. */
typedef struct {
  ConvolveDataset *dataset;
  guint            index;
} ConvolveSampleRef;

#define CONVOLVE_TYPE_SAMPLE_REF (convolve_sample_ref_get_type ())
GType              convolve_sample_ref_get_type (void) G_GNUC_CONST;
ConvolveSampleRef *convolve_sample_ref_new      (ConvolveDataset         *dataset,
                                                 guint                    index);
ConvolveSampleRef *convolve_sample_ref_copy     (const ConvolveSampleRef *ref);
void               convolve_sample_ref_free     (ConvolveSampleRef       *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveSampleRef, convolve_sample_ref_free)

#define CONVOLVE_TYPE_SAMPLE_GRID (convolve_sample_grid_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveSampleGrid, convolve_sample_grid, CONVOLVE, SAMPLE_GRID, GtkWidget)

GtkWidget *convolve_sample_grid_new             (void);
/* Either may be NULL; a NULL train shows nothing. The Training/Test switch
 * is insensitive while test is NULL or empty. */
void       convolve_sample_grid_set_datasets    (ConvolveSampleGrid *grid,
                                                 ConvolveDataset    *train,
                                                 ConvolveDataset    *test);
ConvolveDataset *convolve_sample_grid_get_dataset (ConvolveSampleGrid *grid); /* the one shown */
/* One predicted class per image of dataset (copied), shown as a tick or
 * cross on each sample while that dataset is on screen. predictions NULL
 * removes the overlay for dataset. */
void       convolve_sample_grid_set_predictions (ConvolveSampleGrid *grid,
                                                 ConvolveDataset    *dataset,
                                                 const gint32       *predictions,
                                                 guint               n_predictions);

guint      convolve_sample_grid_get_page        (ConvolveSampleGrid *grid);
void       convolve_sample_grid_set_page        (ConvolveSampleGrid *grid,
                                                 guint               page);
guint      convolve_sample_grid_get_n_pages     (ConvolveSampleGrid *grid);
gboolean   convolve_sample_grid_get_show_test   (ConvolveSampleGrid *grid);
void       convolve_sample_grid_set_show_test   (ConvolveSampleGrid *grid,
                                                 gboolean            show_test);
/* -1 for all classes */
int        convolve_sample_grid_get_class_filter (ConvolveSampleGrid *grid);
void       convolve_sample_grid_set_class_filter (ConvolveSampleGrid *grid,
                                                  int                 class_index);

/* Shows exactly the images of test whose label is true_class and whose
 * prediction in evaluation (of test, in dataset order) is predicted_class,
 * each with its predicted class and confidence; -1 stands for any class.
 * Sorted by loss, highest first, except a diagonal cell (true_class ==
 * predicted_class, the right answers), which shows the least confident
 * first; ties keep dataset order. Both -1 is "top losses": the whole split.
 * The grid copies evaluation; title (shown above the grid) is copied too.
 * The subset view ends with convolve_sample_grid_show_all(), Escape or its
 * back button, and when set_datasets, set_show_test or set_class_filter is
 * called. */
void        convolve_sample_grid_show_evaluation_subset (ConvolveSampleGrid       *grid,
                                                         ConvolveDataset          *test,
                                                         const ConvolveEvaluation *evaluation,
                                                         int                       true_class,
                                                         int                       predicted_class,
                                                         const char               *title);
/* Back to the whole dataset (the page, class filter and set of before). */
void        convolve_sample_grid_show_all               (ConvolveSampleGrid       *grid);
gboolean    convolve_sample_grid_get_showing_subset     (ConvolveSampleGrid       *grid);
/* NULL while the whole dataset is shown */
const char *convolve_sample_grid_get_subset_title       (ConvolveSampleGrid       *grid);
/* How many images the grid pages over (the subset's, the class's or all) */
guint       convolve_sample_grid_get_n_shown            (ConvolveSampleGrid       *grid);

/* For tests: what cell position (0..24, row-major) shows. The index is -1
 * for an empty cell. */
gint64      convolve_sample_grid_get_cell_index (ConvolveSampleGrid *grid,
                                                 guint               position);
const char *convolve_sample_grid_get_cell_label (ConvolveSampleGrid *grid,
                                                 guint               position);
GtkWidget  *convolve_sample_grid_get_cell_image (ConvolveSampleGrid *grid,
                                                 guint               position);
const char *convolve_sample_grid_get_range_text (ConvolveSampleGrid *grid);

G_END_DECLS
