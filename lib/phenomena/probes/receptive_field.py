"""Receptive fields measured from input gradients (the formula is `models.receptive_fields`).

`measured_receptive_field(apply_fn, input_shape, layer)` takes any function from inputs to an
intermediate map (a model's per-layer maps, or a plain stack of `lax.conv_general_dilated`),
differentiates one central output position of the map (summed over channels) with respect
to the input, and counts how many input positions along each spatial axis get a nonzero
gradient: the span from the first to the last such position, so a dilated layer's field
(which has holes) is as wide as the formula says. `measured_receptive_fields` measures every
map of a network in one compiled program; `input_gradient_support` gives the mask itself.

Why random inputs, and several of them. A structured input creates exact zeros that are
not in the architecture: at x = 0 with zero biases every pre-activation is exactly 0, where
ReLU's gradient is 0 (JAX's choice), so the whole gradient vanishes; a constant input makes
the values in a pooling window tie, and max pooling passes the gradient to one of them
only. At a random normal input pre-activations are almost surely not 0 and values almost
surely do not tie. A position inside the field can still get an exact zero gradient at a
given input: every path from it to the output may pass through a ReLU that is off, or lose
a max pooling's argmax. Those zeros are accidents of that input, so the support of the
gradient is united over the batch of `input_shape[0]` random inputs: an edge position of
the field is missed only if every input switches all of its paths off (with many channels,
practically never; with one channel and k max-pooling layers of window w, each input finds
it with probability w^-k, so use dozens of inputs). The weights may be trained or freshly
initialized; where they are free, the surest choice is a model whose paths cannot vanish:
all-ones kernels and an identity (or leaky) activation give every input position of the
field a positive gradient at any input.

Borders. With padding, an output near the border sees fewer real inputs, so the central
output position is used, and the input must be long enough that the field does not reach
the border: when the gradient's support touches either end of a spatial axis, the field may
be clipped and `measured_receptive_field` raises instead of returning a short answer.

`models.receptive_fields(config)` gives a `ConvNet`'s fields by the formula
r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, j_l = j_{l-1} s_l (a pool: k = s = window);
tests/test_receptive_field.py checks the two against each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np


def _central_cotangent(out: jax.Array, spatial_dims: int) -> jax.Array:
    """Ones at the map's central spatial position (every example, every channel), else 0:
    pulled back, the gradient of that position's sum over the batch and the channels."""
    if out.ndim < 1 + spatial_dims:
        raise ValueError(f"the map has shape {out.shape}: fewer than {spatial_dims} spatial "
                         "axes after the batch axis")
    centre = tuple(size // 2 for size in out.shape[1:1 + spatial_dims])
    return jnp.zeros_like(out).at[(slice(None), *centre)].set(1.0)


def _supports(apply_fn: Callable, input_shape: tuple, layers: tuple | None,
              spatial_dims: int, seed: int) -> list[np.ndarray]:
    """The gradient support (a boolean mask of the input's spatial shape) of the central
    position of each map in `layers` (None: `apply_fn` returns one map), in one jitted program:
    one forward pass, one pullback per map."""
    if not 1 <= spatial_dims <= len(input_shape) - 1:
        raise ValueError(f"spatial_dims must be in [1, {len(input_shape) - 1}] for input "
                         f"shape {input_shape}; got {spatial_dims}")

    def maps(x):
        out = apply_fn(x)
        return (out,) if layers is None else tuple(out[i] for i in layers)

    def supports(x):
        outs, pullback = jax.vjp(maps, x)
        masks = []
        for i in range(len(outs)):
            cotangents = tuple(_central_cotangent(o, spatial_dims) if j == i else jnp.zeros_like(o)
                               for j, o in enumerate(outs))
            (grad,) = pullback(cotangents)
            # The union over inputs (axis 0) and over any input axes after the spatial ones.
            masks.append(jnp.any(grad != 0, axis=(0, *range(1 + spatial_dims, grad.ndim))))
        return masks

    x = jax.random.normal(jax.random.key(seed), input_shape, jnp.float32)
    return [np.asarray(m) for m in jax.jit(supports)(x)]


def _spatial_dims(input_shape: Sequence[int], spatial_dims: int | None) -> int:
    return len(input_shape) - 1 if spatial_dims is None else spatial_dims


def input_gradient_support(apply_fn: Callable, input_shape: Sequence[int],
                           layer: int | None = None, *, spatial_dims: int | None = None,
                           seed: int = 0) -> np.ndarray:
    """Which input positions move the central position of `apply_fn`'s map: a boolean mask
    of the input's spatial shape, united over `input_shape[0]` random normal inputs.

    `apply_fn(x)` maps inputs of `input_shape` (batch first) to a map (batch, *spatial,
    *channels), or to a sequence of such maps, one per layer, of which `layer` is taken. The
    input's spatial axes are the `spatial_dims` axes after the batch axis (default: all of
    them, as for (n, length) and (n, h, w) inputs); any later input axes (channels) are
    united too. Examples must not interact (no batch statistics), or the union is wrong.
    The gradient is computed in one jitted program (traced and compiled at each call).
    """
    layers = None if layer is None else (layer,)
    return _supports(apply_fn, tuple(input_shape), layers,
                     _spatial_dims(input_shape, spatial_dims), seed)[0]


def _span(support: np.ndarray, axis: int) -> int:
    """From the first to the last position along `axis` where `support` holds anything."""
    hits = np.flatnonzero(support.any(axis=tuple(a for a in range(support.ndim) if a != axis)))
    if hits.size and (hits[0] == 0 or hits[-1] == support.shape[axis] - 1):
        raise ValueError(f"the gradient reaches the border of spatial axis {axis} (length "
                         f"{support.shape[axis]}): the field may be clipped; use a longer input")
    return int(hits[-1] - hits[0] + 1) if hits.size else 0


def _extent(support: np.ndarray) -> tuple[int, ...]:
    return tuple(_span(support, axis) for axis in range(support.ndim))


def measured_receptive_field(apply_fn: Callable, input_shape: Sequence[int],
                             layer: int | None = None, *, spatial_dims: int | None = None,
                             seed: int = 0) -> tuple[int, ...]:
    """The receptive field of the central position of a map, measured: per spatial axis, the
    span of input positions with a nonzero gradient (0 where none has one, a dead map).

    See `input_gradient_support` for the arguments: `input_shape` is batch first, and its
    batch size is the number of random inputs whose gradient supports are united. Raises
    if the support touches the input's border (the field may be clipped).
    """
    return _extent(input_gradient_support(apply_fn, input_shape, layer,
                                          spatial_dims=spatial_dims, seed=seed))


def measured_receptive_fields(apply_fn: Callable, input_shape: Sequence[int], *,
                              spatial_dims: int | None = None,
                              seed: int = 0) -> list[tuple[int, ...]]:
    """`measured_receptive_field` of every map `apply_fn` returns (a sequence, one per layer),
    from one forward pass and one compiled program: the way to measure a whole network."""
    x = jax.ShapeDtypeStruct(tuple(input_shape), jnp.float32)
    count = len(jax.eval_shape(apply_fn, x))
    supports = _supports(apply_fn, tuple(input_shape), tuple(range(count)),
                         _spatial_dims(input_shape, spatial_dims), seed)
    return [_extent(s) for s in supports]
