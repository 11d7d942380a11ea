"""Input validation shared by the layers, losses and training loop.

Every helper raises a ValueError or TypeError that names where it was called from
(``where``), the argument, what was expected and what arrived. Shape and dtype checks
are static, so they also run under ``jax.jit``; value checks (ranges, finiteness) run
only when the array is concrete, because a traced value cannot be inspected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values that can be read now (not a tracer under jit/grad)."""
    return not isinstance(x, jax.core.Tracer)


def positive_int(where: str, name: str, value) -> int:
    """Return ``value`` as an int after checking it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def real_number(where: str, name: str, value) -> float:
    """Return ``value`` as a float after checking it is a real number (not a bool).

    A concrete 0-d array (NumPy or jax) counts as its Python scalar; a traced one (a
    hyperparameter built inside ``jit``) cannot be checked and is refused.
    """
    if hasattr(value, "ndim") and hasattr(value, "item") and np.ndim(value) == 0 \
            and is_concrete(value):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    return float(value)


#: The dtype a hyperparameter is checked in when it is used in compiled code: float32,
#: the narrowest dtype funcnet's params, optimizer moments and loss computations use by
#: default (a value float64 keeps, such as ``b1 = 1 - 1e-10``, can be lost in float32).
USED_DTYPE = np.float32


def _rounded(value: float, dtype) -> float:
    """``value`` rounded to ``dtype`` (inf where it overflows), back as a Python float."""
    with np.errstate(over="ignore"):
        return float(np.asarray(value, np.float64).astype(dtype))


def survives_rounding(where: str, name: str, value: float, dtype=USED_DTYPE, *,
                      below_one: bool = False, may_vanish: bool = False,
                      role: str = "the dtype it is used in") -> float:
    """Return ``value`` after checking it keeps its meaning once rounded to ``dtype``.

    Refused: a value that overflows to inf there (``sgd(1e300)``), a nonzero value that
    rounds to 0 or to a subnormal number (XLA may flush those to 0: ``eps=1e-50``), and,
    with ``below_one``, a value < 1 that rounds to 1 (``b1 = 1 - 1e-10``). ``may_vanish``
    accepts a tiny value that rounds to 0 (a decay within 1e-38 of 0 acts as 0 would).
    ``role`` says why ``dtype`` is the one that matters, for the message.
    """
    info = np.finfo(dtype)
    dtype_name = np.dtype(dtype).name
    rounded = _rounded(value, dtype)
    if not math.isfinite(rounded):
        raise ValueError(
            f"{where}: {name} must be finite in {dtype_name} ({role}), got {value!r}, which "
            f"rounds to {rounded} there; use at most {float(info.max):.4g}"
        )
    if value != 0 and abs(rounded) < info.tiny and not may_vanish:
        became = "0" if rounded == 0 else f"the subnormal {rounded:.4g}, which XLA may flush to 0"
        raise ValueError(
            f"{where}: {name} must stay > 0 in {dtype_name} ({role}), got {value!r}, which "
            f"rounds to {became}; use {float(info.tiny):.4g} or more"
        )
    if below_one and value < 1 and rounded >= 1:
        largest = float(np.nextafter(dtype(1), dtype(0)))
        raise ValueError(
            f"{where}: {name} must stay < 1 in {dtype_name} ({role}), got {value!r}, which "
            f"rounds to 1.0 there; use at most {largest!r}"
        )
    return value


def positive_float(where: str, name: str, value, *, dtype=None) -> float:
    """Return ``value`` as a float after checking it is finite and > 0 (and, with
    ``dtype``, that it stays so rounded to it: :func:`survives_rounding`)."""
    value = real_number(where, name, value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be finite and > 0, got {value!r}")
    return value if dtype is None else survives_rounding(where, name, value, dtype)


def non_negative(where: str, name: str, value, *, dtype=None) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0 (and, with
    ``dtype``, that it stays finite, and nonzero if it is, rounded to it)."""
    value = real_number(where, name, value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {name} must be finite and >= 0, got {value!r}")
    return value if dtype is None else survives_rounding(where, name, value, dtype)


def unit_interval(where: str, name: str, value, *, closed_right: bool = False,
                  dtype=None) -> float:
    """Return ``value`` after checking 0 <= value < 1 (or <= 1 when ``closed_right``).

    With ``dtype``, a value < 1 must also stay < 1 rounded to it (a decay of exactly 1
    never forgets); one that rounds to 0 is accepted (it acts as 0 would).
    """
    value = real_number(where, name, value)
    upper_ok = value <= 1 if closed_right else value < 1
    if not (math.isfinite(value) and value >= 0 and upper_ok):
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")
    if dtype is not None and not closed_right:
        survives_rounding(where, name, value, dtype, below_one=True, may_vanish=True)
    return value


def clip_margin(where: str, name: str, value, dtype) -> float:
    """Return ``value`` after checking it is in (0, 0.5) and that, in ``dtype`` (where a
    probability is clipped to ``[value, 1 - value]``), ``value`` stays > 0 and
    ``1 - value`` stays < 1, so both logs of the clipped probability are finite."""
    value = real_number(where, name, value)
    if not 0 < value < 0.5:
        raise ValueError(f"{where}: {name} must be in (0, 0.5), got {value!r}")
    role = "the dtype the loss computes in"
    survives_rounding(where, name, value, dtype, role=role)
    if _rounded(1 - value, dtype) >= 1:
        smallest = float(np.finfo(dtype).epsneg)
        raise ValueError(
            f"{where}: 1 - {name} must stay < 1 in {np.dtype(dtype).name} ({role}), got "
            f"{name}={value!r}, so a probability of 1 is not clipped and log(1 - p) is "
            f"-inf; use {name} >= {smallest:.4g} there"
        )
    return value


def dtype_of(x) -> np.dtype:
    """The dtype of an array-like, without converting a jax array to NumPy."""
    dtype = getattr(x, "dtype", None)
    # np.result_type would read a list such as [[1.0, 2.0]] as a structured-dtype spec.
    return np.dtype(dtype) if dtype is not None else np.asarray(x).dtype


def array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array or a scalar (not a list, tuple or None)."""
    if not hasattr(x, "dtype") and not isinstance(x, numbers.Number):
        raise TypeError(
            f"{where}: {name} must be an array (jax or NumPy), got {type(x).__name__}; "
            f"convert it first, e.g. jnp.asarray({name})"
        )


def floating_array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array with a floating-point dtype."""
    array(where, name, x)
    dtype = dtype_of(x)
    if not np.issubdtype(dtype, np.floating) and dtype != jax.numpy.bfloat16:
        raise TypeError(
            f"{where}: {name} must be a floating-point array, got dtype {dtype}; "
            f"convert it first, e.g. {name}.astype(jnp.float32)"
        )


def integer_array(where: str, name: str, x) -> None:
    """Raise TypeError unless ``x`` is an array with an integer dtype (ids, not floats)."""
    array(where, name, x)
    dtype = dtype_of(x)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"{where}: {name} must be an integer array, got dtype {dtype}; "
            f"convert it first, e.g. {name}.astype(jnp.int32)"
        )


def min_rank(where: str, name: str, x, rank: int, layout: str) -> None:
    """Raise ValueError unless ``x.ndim >= rank``; ``layout`` describes the expected axes."""
    if np.ndim(x) < rank:
        raise ValueError(
            f"{where}: {name} must have at least {rank} dimension(s) {layout}, "
            f"got shape {tuple(np.shape(x))}"
        )


def exact_rank(where: str, name: str, x, rank: int, layout: str) -> None:
    """Raise ValueError unless ``x.ndim == rank``; ``layout`` describes the expected axes."""
    if np.ndim(x) != rank:
        raise ValueError(
            f"{where}: {name} must have {rank} dimensions {layout}, got shape {tuple(np.shape(x))}"
        )


def same_length(where: str, name_a: str, a, name_b: str, b) -> None:
    """Raise ValueError unless the leading (batch) axes of ``a`` and ``b`` agree."""
    len_a = np.shape(a)[0] if np.ndim(a) else None
    len_b = np.shape(b)[0] if np.ndim(b) else None
    if len_a != len_b:
        raise ValueError(
            f"{where}: {name_a} and {name_b} must have the same number of samples "
            f"(leading axis), got {name_a} shape {tuple(np.shape(a))} and "
            f"{name_b} shape {tuple(np.shape(b))}"
        )


def prng_key(where: str, name: str, key) -> None:
    """Raise unless ``key`` is one ``jax.random`` key: a typed key (``jax.random.key``)
    of shape ``()``, or a raw ``uint32`` key (``jax.random.PRNGKey``) of shape ``(2,)``
    (or another implementation's ``(k,)``). Works on traced keys (dtype and shape only).
    """
    dtype = getattr(key, "dtype", None)
    shape = tuple(np.shape(key)) if dtype is not None else None
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape == ():
            return
        raise ValueError(
            f"{where}: {name} must be a single jax.random key, got a key array of shape "
            f"{shape}; pass one key (e.g. keys[0]) or split it with jax.random.split"
        )
    if dtype is not None and np.dtype(dtype) == np.uint32 and len(shape) == 1:
        return
    got = (f"{type(key).__name__} {key!r}" if dtype is None
           else f"an array of dtype {np.dtype(dtype)} and shape {shape}")
    raise TypeError(
        f"{where}: {name} must be a jax.random key, got {got}; make one with "
        f"jax.random.key(seed), e.g. {name}=jax.random.key(0)"
    )


def param_dict(where: str, params, names) -> None:
    """Raise ValueError unless ``params`` is a dict (mapping) with exactly the keys ``names``."""
    if not isinstance(params, Mapping) or set(params) != set(names):
        got = (f"keys {sorted(map(str, params))}" if isinstance(params, Mapping)
               else type(params).__name__)
        raise ValueError(
            f"{where}: params must be the dict with keys {sorted(names)} made by this "
            f"layer's init, got {got}; pass the params from model.init (or from fit)"
        )


def _shape_text(shape, sizes: Mapping) -> str:
    """``("in", 5)`` as ``(in, 5)``, or ``(3, 5)`` once ``in`` is known to be 3."""
    dims = [str(sizes.get(d, d)) if isinstance(d, str) else str(d) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def layer_params(where: str, params, shapes: Mapping, *, name: str = "params",
                 sizes: Mapping | None = None) -> dict:
    """Check a layer's ``params`` (or ``state``) against its configuration; return the
    sizes it found.

    ``params`` must be a dict with exactly the keys of ``shapes``, each leaf a
    floating-point array of the shape given there. A shape entry is an int (a size
    the configuration fixes, such as Dense's ``features``) or a name (a size the
    configuration leaves open, such as ``"in"``): the first leaf with that name fixes
    it and every later one must agree, as must ``sizes``, names already known. Shapes
    and dtypes only, so under ``jax.jit`` it runs once, at trace time, and costs
    nothing per step.

    Returns:
        ``sizes`` with every named size found, e.g. ``{"in": 4}``.

    Examples:
        >>> layer_params("Dense(5)", {"w": np.ones((4, 5)), "b": np.ones(5)},
        ...              {"w": ("in", 5), "b": (5,)})
        {'in': 4}
    """
    if name == "params":
        param_dict(where, params, shapes)
    elif not isinstance(params, Mapping) or set(params) != set(shapes):
        got = (f"keys {sorted(map(str, params))}" if isinstance(params, Mapping)
               else type(params).__name__)
        raise ValueError(
            f"{where}: {name} must be the dict with keys {sorted(shapes)} made by this "
            f"layer's init, got {got}; pass the {name} from model.init (or from fit)"
        )
    found = dict(sizes or {})
    for key, shape in shapes.items():
        leaf = params[key]
        if not hasattr(leaf, "dtype") or not hasattr(leaf, "shape"):
            raise TypeError(
                f"{where}: {name}[{key!r}] must be an array (jax or NumPy), got "
                f"{type(leaf).__name__}; pass the {name} from model.init, or convert the "
                f"leaf with jnp.asarray"
            )
        dtype = dtype_of(leaf)
        if not np.issubdtype(dtype, np.floating) and dtype != jax.numpy.bfloat16:
            raise TypeError(
                f"{where}: {name}[{key!r}] must be a floating-point array, got dtype "
                f"{dtype}; an integer or complex {name} leaf would truncate or mix in "
                f"imaginary parts (cast it, e.g. .astype(jnp.float32))"
            )
        got = tuple(leaf.shape)
        # sizes are learned only from a leaf that fits, so the message never quotes the
        # bad leaf back as the expected shape
        trial = dict(found)
        ok = len(got) == len(shape) and all(
            (trial.setdefault(d, g) if isinstance(d, str) else d) == g
            for d, g in zip(shape, got, strict=True))
        if ok:
            found = trial
        else:
            raise ValueError(
                f"{where}: {name}[{key!r}] must have shape {_shape_text(shape, found)}, got "
                f"{got}; these {name} do not fit this layer's configuration (were they made "
                f"for another model?)"
            )
    return found


def input_shape(where: str, shape, layout: str, *, rank: int | None = None) -> tuple:
    """Return ``shape`` as a tuple after checking it is a tuple of positive ints (one
    example, no batch axis), of length ``rank`` when given, else at least 1."""
    ok = (isinstance(shape, tuple | list)
          and all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                  for d in shape)
          and (len(shape) == rank if rank is not None else len(shape) >= 1))
    if not ok:
        raise ValueError(
            f"{where}: input_shape must be {layout} per example (positive ints, without "
            f"the batch axis), got {shape!r}"
        )
    return tuple(int(d) for d in shape)
