/* convolve-train.h: everything the train layer offers.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-train-error.h"
#include "convolve-history.h"
#include "convolve-evaluation.h"
#include "convolve-explain.h"
#include "convolve-lr-finder.h"
#include "convolve-run-comparison.h"
#include "convolve-run-recorder.h"
#include "convolve-run-store.h"
#include "convolve-metrics.h"
#include "convolve-model-check.h"
#include "convolve-session.h"
#include "convolve-trainer.h"
