"""``jit`` with the compiler options funcnet's own compiled functions take on XLA:CPU.

XLA:CPU hands dots, reductions and convolutions to its YNNPACK library by default. For
convolutions that is the slower choice on the CPUs measured here: the MNIST CNN's
compiled training step took 0.72x the time with convolutions left to XLA's own (Eigen)
kernels, dots and reductions still in YNNPACK (``benchmarks/cnn_torch.py``, columns
``fit-scan`` against ``fit-scan, ynn conv``). So on CPU every step, epoch, ``evaluate``
and ``predict`` that funcnet compiles takes ``xla_cpu_experimental_ynn_fusion_type``
without convolutions. Other platforms, models without convolutions and JAX versions
without the option compile exactly as ``jax.jit`` would.

An ``xla_cpu_experimental_ynn_fusion_type`` set in ``XLA_FLAGS`` is the user's choice
and is kept: funcnet then adds nothing (so does ``FUNCNET_YNN_CONVOLUTIONS=1``).
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp

_OPTION = "xla_cpu_experimental_ynn_fusion_type"
# XLA's default set (dots, reductions, convolutions) less the convolutions
_WITHOUT_CONVOLUTIONS = "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"


@functools.cache
def _supported() -> bool:
    """Whether this jaxlib's CPU compiler takes the option (older ones reject it by
    name)."""
    try:
        jax.jit(jnp.negative).lower(jnp.zeros(2)).compile(
            compiler_options={_OPTION: _WITHOUT_CONVOLUTIONS})
    except Exception:  # noqa: BLE001 (any refusal means: compile without it)
        return False
    return True


def compiler_options() -> dict:
    """The options funcnet compiles with on the default backend (``{}`` off CPU).

    Examples:
        >>> sorted(compiler_options()) in ([], ["xla_cpu_experimental_ynn_fusion_type"])
        True
    """
    if jax.default_backend() != "cpu" or os.environ.get("FUNCNET_YNN_CONVOLUTIONS") == "1":
        return {}
    if _OPTION in os.environ.get("XLA_FLAGS", ""):
        return {}
    return {_OPTION: _WITHOUT_CONVOLUTIONS} if _supported() else {}


def jit(fun, **kwargs):
    """``jax.jit(fun, **kwargs)`` with :func:`compiler_options`.

    Examples:
        >>> jit(lambda x: 2 * x)(jnp.arange(3))
        Array([0, 2, 4], dtype=int32)
    """
    options = compiler_options()
    if options:
        kwargs["compiler_options"] = {**options, **kwargs.get("compiler_options", {})}
    return jax.jit(fun, **kwargs)
