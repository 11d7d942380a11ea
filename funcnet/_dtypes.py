"""The one rule for where precision is raised: statistics and losses in at least float32."""

from __future__ import annotations

import jax.numpy as jnp


def at_least_float32(x):
    """``x`` in float32 if it is a narrower float (bf16, float16), else unchanged.

    Sums of squares, normalisation statistics and losses of a ``compute_dtype`` model
    lose too much in 8 bits of mantissa; integers and wider floats pass as they are.

    Examples:
        >>> at_least_float32(jnp.ones(2, jnp.bfloat16)).dtype, at_least_float32(jnp.arange(2)).dtype
        (dtype('float32'), dtype('int32'))
    """
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.floating):
        return x.astype(jnp.promote_types(x.dtype, jnp.float32))
    return x
