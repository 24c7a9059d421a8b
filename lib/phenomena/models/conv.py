"""Convolution and pooling in 1 or 2 spatial dimensions, fast under `vmap` over runs on the CPU.

A convolution here is a matmul over windows (im2col): `patches` cuts every window of the
(padded) input out with strided slices, and `conv` contracts them with the kernel. Vmapping
`lax.conv_general_dilated` (or `nnx.Conv`) over runs vmaps its kernel, which XLA turns into a
grouped convolution, about 20x slower on its CPU backend (see models/cnn.py). Vmapped, the
slices here only fold runs into the batch and the contraction becomes a batched matmul.
`lax.conv_general_dilated_patches` cuts the same windows, but with a grouped convolution of
an identity kernel: measured (8 runs, 100 x 40 x 32 maps, kernel 5, three layers, gradient) it
took ~4.5x as long as the slices (584 ms against 130 ms per step; 2-D 8 x 8 maps, 3 x 3: ~4x).

Layouts follow `nnx.Conv`: inputs `(n, *spatial, channels)`, kernels `(*window, c_in, c_out)`.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Sequence, Union

import jax
import jax.numpy as jnp
from flax import nnx

from phenomena.config import check

PADDINGS = ("SAME", "VALID", "CIRCULAR")
POOL_KINDS = ("max", "avg")
Padding = Union[str, int, Sequence[tuple[int, int]]]


def per_dim(value: int | Sequence[int], dims: int, name: str = "value") -> tuple[int, ...]:
    """`value` as one int per spatial dimension (an int repeats; a tuple must have `dims` items)."""
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(int(v) for v in value)
    check(len(value) == dims, f"{name} needs {dims} entries (one per spatial dim), got {value}")
    return value


def output_size(n: int, kernel: int, stride: int = 1, padding: int | tuple[int, int] = 0,
                dilation: int = 1) -> int:
    """Output length of a convolution along one axis of length `n`.

    floor((n + 2p - d (k - 1) - 1) / s) + 1 with `p` zeros on each side (or `(lo, hi)`);
    at dilation 1 this is the familiar floor((n + 2p - k) / s) + 1.
    """
    lo, hi = (padding, padding) if isinstance(padding, int) else padding
    return (n + lo + hi - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """The `(lo, hi)` zeros of "SAME" padding (XLA's rule): the output has ceil(n / s) positions,
    the extra zero, when the total is odd, goes on the high side."""
    out = -(-n // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def padding_pairs(spatial: Sequence[int], window: Sequence[int], stride: Sequence[int],
                  padding: Padding, dilation: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Explicit `(lo, hi)` pads per spatial dim for any `padding` that `conv` accepts.

    "SAME" and "CIRCULAR" pad alike (CIRCULAR fills with wrapped values instead of zeros);
    "VALID" pads nothing; an int `p` pads `p` on both sides; pairs are taken as given.
    """
    dims = len(spatial)
    if isinstance(padding, str):
        check(padding in PADDINGS, f"padding must be one of {', '.join(PADDINGS)} or ints; "
                                   f"got {padding!r}")
        if padding == "VALID":
            return ((0, 0),) * dims
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(spatial, window, stride, dilation))
    if isinstance(padding, int):
        return ((padding, padding),) * dims
    pairs = tuple((int(lo), int(hi)) for lo, hi in padding)
    check(len(pairs) == dims, f"padding needs {dims} (lo, hi) pairs, got {padding}")
    return pairs


def patches(x: jax.Array, window: Sequence[int], *, stride: int | Sequence[int] = 1,
            padding: Padding = "SAME", dilation: int | Sequence[int] = 1) -> jax.Array:
    """Every window of `x` (n, *spatial, c) as one vector: (n, *spatial_out, prod(window) * c).

    The vector is window-major, `(*window, c)` flattened, so it contracts with a kernel
    `(*window, c_in, c_out)` reshaped to `(prod(window) * c_in, c_out)`. (`lax`'s
    `conv_general_dilated_patches` orders it channel-major, `(c, *window)`.)
    """
    dims = x.ndim - 2
    window = per_dim(window, dims, "window")
    stride = per_dim(stride, dims, "stride")
    dilation = per_dim(dilation, dims, "dilation")
    pads = padding_pairs(x.shape[1:-1], window, stride, padding, dilation)
    mode = "wrap" if padding == "CIRCULAR" else "constant"
    x = jnp.pad(x, ((0, 0), *pads, (0, 0)), mode=mode)
    out = [output_size(n, k, s, 0, d) for n, k, s, d in zip(x.shape[1:-1], window, stride, dilation)]
    check(all(o > 0 for o in out), f"a window of {window} (dilation {dilation}) does not fit "
                                   f"the padded input {x.shape[1:-1]}")
    slices = []
    for offset in itertools.product(*(range(k) for k in window)):
        start = [0, *(o * d for o, d in zip(offset, dilation)), 0]
        limit = [x.shape[0], *(b + (m - 1) * s + 1 for b, m, s in zip(start[1:-1], out, stride)),
                 x.shape[-1]]
        slices.append(jax.lax.slice(x, start, limit, (1, *stride, 1)))
    stacked = jnp.stack(slices, axis=-2)  # (n, *out, prod(window), c)
    return stacked.reshape(*stacked.shape[:-2], -1)


def conv(x: jax.Array, kernel: jax.Array, bias: jax.Array | None = None, *,
         stride: int | Sequence[int] = 1, padding: Padding = "SAME",
         dilation: int | Sequence[int] = 1) -> jax.Array:
    """Convolution (cross-correlation, as in deep learning) of `x` (n, *spatial, c_in) with
    `kernel` (*window, c_in, c_out), plus `bias` (c_out,): (n, *spatial_out, c_out).

    `padding`: "SAME", "VALID", "CIRCULAR" (wrap-around), an int (zeros on each side) or one
    `(lo, hi)` pair per spatial dim. `stride` and `dilation`: an int or one per spatial dim.
    """
    window = kernel.shape[:-2]
    check(x.ndim == len(window) + 2, f"input {x.shape} does not match a {len(window)}-D kernel")
    check(x.shape[-1] == kernel.shape[-2],
          f"input has {x.shape[-1]} channels, the kernel expects {kernel.shape[-2]}")
    windows = patches(x, window, stride=stride, padding=padding, dilation=dilation)
    y = jnp.einsum("...k,ko->...o", windows, kernel.reshape(-1, kernel.shape[-1]))
    if bias is not None:
        y = y + bias.reshape((1,) * (y.ndim - 1) + (-1,))
    return y


def pool(x: jax.Array, window: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
         kind: str = "max", padding: str = "VALID") -> jax.Array:
    """Max or average pooling of `x` (n, *spatial, c) over `window` (stride defaults to it).

    `padding` "VALID" drops a remainder that does not fill a window; "SAME" pads, and the
    average then counts only the real positions of each window (not the padding).
    """
    check(kind in POOL_KINDS, f"pool kind must be max or avg; got {kind!r}")
    check(padding in ("SAME", "VALID"), f"pool padding must be SAME or VALID; got {padding!r}")
    dims = x.ndim - 2
    window = per_dim(window, dims, "pool window")
    stride = window if stride is None else per_dim(stride, dims, "pool stride")
    shape, strides = (1, *window, 1), (1, *stride, 1)
    if kind == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, shape, strides, padding)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, shape, strides, padding)
    if padding == "VALID":
        return total / math.prod(window)
    count = jax.lax.reduce_window(jnp.ones((1, *x.shape[1:-1], 1), x.dtype), 0.0, jax.lax.add,
                                  shape, strides, padding)
    return total / count


def global_pool(x: jax.Array, kind: str = "avg") -> jax.Array:
    """Max or average of `x` (n, *spatial, c) over all its spatial axes: (n, c)."""
    check(kind in POOL_KINDS, f"global pool kind must be max or avg; got {kind!r}")
    axes = tuple(range(1, x.ndim - 1))
    return jnp.max(x, axis=axes) if kind == "max" else jnp.mean(x, axis=axes)


class Conv(nnx.Module):
    """A convolution layer with `nnx.Conv`'s parameters (`kernel` (*window, in, out), `bias`
    (out,)) whose call is `conv` (a matmul over windows, fast under vmap over runs)."""

    def __init__(self, in_channels: int, out_channels: int, window: int | Sequence[int], *,
                 dims: int | None = None, stride: int | Sequence[int] = 1,
                 padding: Padding = "SAME", dilation: int | Sequence[int] = 1,
                 use_bias: bool = True,
                 kernel_init: Callable = nnx.initializers.lecun_normal(),
                 bias_init: Callable = nnx.initializers.zeros_init(),
                 rngs: nnx.Rngs):
        if dims is None:
            check(not isinstance(window, int), "Conv needs `dims` when `window` is an int")
            dims = len(window)
        self.window = per_dim(window, dims, "window")
        self.stride = per_dim(stride, dims, "stride")
        self.dilation = per_dim(dilation, dims, "dilation")
        self.padding = padding
        self.kernel = nnx.Param(kernel_init(rngs.params(), (*self.window, in_channels, out_channels)))
        self.bias = nnx.Param(bias_init(rngs.params(), (out_channels,))) if use_bias else None

    def __call__(self, x: jax.Array) -> jax.Array:
        bias = None if self.bias is None else self.bias[...]
        return conv(x, self.kernel[...], bias, stride=self.stride, padding=self.padding,
                    dilation=self.dilation)
