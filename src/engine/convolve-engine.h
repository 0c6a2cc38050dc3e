/* convolve-engine.h: everything the engine offers.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-error.h"
#include "convolve-atomic-file.h"
#include "convolve-rng.h"
#include "convolve-model.h"
#include "convolve-model-preset.h"
#include "convolve-optimizer.h"
#include "convolve-train-step.h"
#include "convolve-model-file.h"
