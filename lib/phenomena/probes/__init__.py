"""Diagnostics of models and training, computed inside jit.

The unit statistics (`safe_norm`, `tree_norm`, dead units, activation statistics, sparsity)
are importable from here; the larger families are submodules: `curvature` (Hessian-vector
products, Lanczos), `slices` (loss along lines and planes), `gradient_noise` (minibatch noise,
noise scale), `covariate_shift` (layer-input moments), `costs` (FLOPs from XLA),
`permutation` (MLP parameters compared modulo the order of hidden units: sorting, weight matching),
`linear_probe` (logistic-regression probes on every run's frozen layer features, L2 tuned per
run) and `receptive_field` (receptive fields measured from input gradients).
"""

from phenomena.probes.units import (activation_stats, activity_rates, bias_grad_norms_per_seed,
                                    dead_fractions, dead_mask, hidden_bias_grad_norms,
                                    hidden_bias_grads, safe_norm, tree_norm, zero_fraction)

__all__ = ["activation_stats", "activity_rates", "bias_grad_norms_per_seed", "dead_fractions",
           "dead_mask", "hidden_bias_grad_norms", "hidden_bias_grads", "safe_norm", "tree_norm",
           "zero_fraction"]
