"""Internal covariate shift, measured as Santurkar et al. (2018) do: on the linear outputs.

A layer's *linear output* `W h + b` is the input of its normalization. With batch norm the
post-normalization pre-activation has batch mean 0 and variance 1 by construction, so a shift
statistic computed there would report "no shift" whatever happens; the distribution BN is said to
stabilize is the one it receives. `linear_output_moments` records, on a fixed probe batch, the
per-unit mean and standard deviation of every hidden layer's linear output; `moment_shift`
turns a sequence of such records into the change from one record to the next, in units that do
not depend on the layer's scale (so a net whose weights grow is not penalized for the growth).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

TINY = 1e-12  # keeps a constant unit (std 0) finite in the log and the division


def linear_output_moments(model, x: jax.Array, *, train: bool = True):
    """Per hidden layer, the mean and std over `x` of each unit's linear output `W h + b`.

    Returns `(means, stds)`, each of shape (layers, width). The forward pass follows
    `models.MLP` (normalization, activation, residual connections; no dropout). With
    `train=True` batch norm normalizes with the probe batch's own statistics, as in a training
    step; its running statistics are updated on `model`, so pass a copy you can discard
    (as `train.fit`'s evaluate hook does).
    """
    means, stds = [], []
    h = x
    for i in range(len(model.hidden)):
        linear = model.hidden[i](h)
        means.append(jnp.mean(linear, axis=0))
        stds.append(jnp.std(linear, axis=0))
        _, a = model.hidden_layer(i, h, train=train)
        h = h + a if model.residual and i > 0 else a
    return jnp.stack(means), jnp.stack(stds)


def moment_shift(means, stds) -> dict[str, np.ndarray]:
    """Change of each unit's linear-output distribution between consecutive records.

    `means` and `stds` have shape (..., records, layers, units). Returns, each of shape
    (..., records - 1, layers), averaged over units:
      - `mean_shift`: |μ_t − μ_{t−1}| / σ_{t−1}, the mean's move in units of the earlier std;
      - `scale_shift`: |ln σ_t − ln σ_{t−1}|, the std's relative change;
      - `shift`: their sum, the statistic compared across nets.
    """
    means = np.asarray(means, np.float64)
    stds = np.asarray(stds, np.float64)
    mean_shift = np.abs(np.diff(means, axis=-3)) / (stds[..., :-1, :, :] + TINY)
    scale_shift = np.abs(np.diff(np.log(stds + TINY), axis=-3))
    mean_shift, scale_shift = mean_shift.mean(axis=-1), scale_shift.mean(axis=-1)
    return {"mean_shift": mean_shift, "scale_shift": scale_shift, "shift": mean_shift + scale_shift}
