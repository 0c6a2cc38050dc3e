/* convolve-dataset-page.h: what the window shows while there is no
 * dataset: download CIFAR-10 (with progress, cancel and retry), open a
 * folder, or use a dataset found on the machine.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-download.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_DATASET_PAGE (convolve_dataset_page_get_type ())

G_DECLARE_FINAL_TYPE (ConvolveDatasetPage, convolve_dataset_page, CONVOLVE, DATASET_PAGE, GtkWidget)

GtkWidget        *convolve_dataset_page_new             (void);

/* Offers a dataset found on the machine (e.g. Debian's Fashion-MNIST) next
 * to the download; title is translated. NULL hides the offer. */
void              convolve_dataset_page_set_alternative (ConvolveDatasetPage *self,
                                                         const char          *title,
                                                         const char          *path);

/* The download this page runs (created on first use; its URL, MD5 and
 * folders may be changed before starting, e.g. by tests). */
ConvolveDownload *convolve_dataset_page_get_download    (ConvolveDatasetPage *self);
void              convolve_dataset_page_start_download  (ConvolveDatasetPage *self);
void              convolve_dataset_page_cancel_download (ConvolveDatasetPage *self);
gboolean          convolve_dataset_page_is_downloading  (ConvolveDatasetPage *self);

/* Signals: "dataset-chosen" (const char *folder): a download finished
 * there, or the user picked the offered dataset. "cancelled": a download
 * was cancelled, or the user went back after a failed one. */

G_END_DECLS
