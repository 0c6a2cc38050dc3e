/* convolve-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CONVOLVE_TYPE_APPLICATION (convolve_application_get_type ())

G_DECLARE_FINAL_TYPE (ConvolveApplication, convolve_application, CONVOLVE, APPLICATION, AdwApplication)

ConvolveApplication *convolve_application_new (void);

G_END_DECLS
