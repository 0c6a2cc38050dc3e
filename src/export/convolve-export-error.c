/* convolve-export-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-export-error.h"

G_DEFINE_QUARK (convolve-export-error-quark, convolve_export_error)
