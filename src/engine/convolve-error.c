/* convolve-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-error.h"

G_DEFINE_QUARK (convolve-engine-error-quark, convolve_engine_error)
