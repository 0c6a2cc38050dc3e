/* convolve-train-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-train-error.h"

G_DEFINE_QUARK (convolve-train-error-quark, convolve_train_error)
