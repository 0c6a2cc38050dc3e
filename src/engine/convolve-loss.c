/* convolve-loss.c: softmax fused with sparse categorical cross-entropy.
 *
 * loss_i = logsumexp(z_i) - z_i[y_i], computed with the maximum subtracted
 * so no exponential overflows; the gradient of the batch mean is
 * (softmax(z_i) - onehot(y_i)) / batch.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <math.h>

void
convolve_softmax (float *probabilities, const float *logits, int batch, int classes)
{
  for (int n = 0; n < batch; n++)
    {
      const float *z = logits + (size_t) n * classes;
      float *p = probabilities + (size_t) n * classes;
      float max = z[0], sum = 0.0f;

      for (int j = 1; j < classes; j++)
        if (z[j] > max)
          max = z[j];
      for (int j = 0; j < classes; j++)
        {
          p[j] = expf (z[j] - max);
          sum += p[j];
        }
      for (int j = 0; j < classes; j++)
        p[j] /= sum;
    }
}

float
convolve_softmax_cross_entropy (float *dlogits, float *losses, int *n_correct,
                                int32_t *predictions,
                                const float *logits, const int32_t *labels,
                                int batch, int classes)
{
  double total = 0.0;
  int hits = 0;

  for (int n = 0; n < batch; n++)
    {
      const float *z = logits + (size_t) n * classes;
      int label = labels[n];
      int best = 0;
      float max = z[0];
      double sum = 0.0, loss;

      for (int j = 1; j < classes; j++)
        if (z[j] > max)
          {
            max = z[j];
            best = j;
          }
      for (int j = 0; j < classes; j++)
        sum += exp ((double) z[j] - max);
      loss = log (sum) - ((double) z[label] - max);
      total += loss;
      if (losses != NULL)
        losses[n] = (float) loss;
      if (best == label)
        hits++;
      if (predictions != NULL)
        predictions[n] = best;
      if (dlogits != NULL)
        {
          float *d = dlogits + (size_t) n * classes;
          double inv = 1.0 / (sum * batch);

          for (int j = 0; j < classes; j++)
            d[j] = (float) (exp ((double) z[j] - max) * inv);
          d[label] -= 1.0f / (float) batch;
        }
    }
  if (n_correct != NULL)
    *n_correct = hits;
  return (float) (total / batch);
}
