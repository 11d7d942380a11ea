"""Gradient checks for users: reference backprop vs ``jax.grad`` vs central differences.

:func:`check_gradients` checks a whole model on a batch and :func:`check_function` any
function of arrays. Both run in float64 whatever ``jax_enable_x64`` says (the flag is
switched on for the check and restored after it), and both return a
:class:`GradientReport` whose ``str`` is a table: one row per parameter path, one
column per pair of gradients, the seeds' relative error
``||a - b|| / (||a|| + ||b||)`` in each cell, and where the worst element sits.

The bars are the textbook ones (DESIGN.md, "Gradient truth"): two exact backprops,
the NumPy twin's and ``jax.grad``, agree to ``1e-10``; either against central
differences to ``1e-7``. One exception keeps a true zero from failing: an array whose
gradient is 0 (a conv bias right before BatchNorm) compares rounding noise with
rounding noise, a relative error near 1; such a row passes when its largest gap is
below the pair's threshold times the largest gradient entry of the whole check
(``report.scale``), and the table marks it ``~0``.

funcnet never imports ``reference``: pass the package (``reference=reference``) to add
its leg. Without it the check is ``jax.grad`` against central differences alone::

    import reference
    report = check_gradients(model, params, (x, y), "mse", reference=reference)
    print(report)            # the table
    report.raise_if_failed()
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import inspect
import math
import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import losses as _losses
from funcnet.diagnostics import natural_order
from funcnet.dropout import dropout_masks

#: Largest relative error allowed between two exact backprops (reference, jax.grad).
EXACT_TOL = 1e-10
#: Largest relative error allowed against central differences (float64).
NUMERICAL_TOL = 1e-7

REFERENCE_JAX = "reference/jax"
REFERENCE_NUMERICAL = "reference/numerical"
JAX_NUMERICAL = "jax/numerical"
PAIRS = (REFERENCE_JAX, REFERENCE_NUMERICAL, JAX_NUMERICAL)


class GradientCheckError(AssertionError):
    """A gradient check failed; ``.report`` holds the full :class:`GradientReport`."""

    def __init__(self, report: GradientReport):
        self.report = report
        super().__init__(f"gradient check failed:\n{report}")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Two gradients of one array compared.

    Attributes:
        path: the array's path (``"['dense_0']['w']"``, ``"x"``).
        pair: which gradients, e.g. ``"jax/numerical"`` (first/second).
        error: ``||first - second|| / (||first|| + ||second||)`` (0 when both are 0).
        tol: the largest relative error that passes.
        gap: the largest ``|first - second|`` over the array's entries.
        atol: a gap this small passes whatever the relative error (a zero gradient).
        index: index of the entry with the largest gap.
        first: the first gradient at ``index``.
        second: the second gradient at ``index``.
    """

    path: str
    pair: str
    error: float
    tol: float
    gap: float
    atol: float
    index: tuple
    first: float
    second: float

    @property
    def zero(self) -> bool:
        """Passed only as a zero gradient: relative error over ``tol``, gap within ``atol``."""
        return bool(not self.error <= self.tol and self.gap <= self.atol)

    @property
    def passed(self) -> bool:
        """``error <= tol``, or ``gap <= atol`` (NaN fails)."""
        return bool(self.error <= self.tol or self.gap <= self.atol)


@dataclasses.dataclass(frozen=True)
class GradientReport:
    """What a gradient check found; ``str(report)`` is a readable table.

    Attributes:
        comparisons: one :class:`Comparison` per (path, pair).
        shapes: ``{path: shape}`` of every checked array, in table order.
        dtype: the dtype the check ran in (``"float64"`` unless asked otherwise).
        step: the relative finite-difference step ``h / max(|x|, 1)``.
        scale: the largest gradient entry (central differences) over every array.
        loss: ``{"jax": value, "reference": value}``: the checked scalar from each side.
        notes: what was not checked and why.
    """

    comparisons: tuple
    shapes: dict
    dtype: str
    step: float
    scale: float
    loss: dict
    notes: tuple = ()

    @property
    def pairs(self) -> tuple:
        """The pairs compared, in :data:`PAIRS` order."""
        present = {c.pair for c in self.comparisons}
        return tuple(p for p in PAIRS if p in present)

    @property
    def loss_error(self) -> float | None:
        """Relative difference of the reference and jax loss values (None without reference)."""
        if "reference" not in self.loss:
            return None
        a, b = self.loss["jax"], self.loss["reference"]
        return 0.0 if a == b else abs(a - b) / (abs(a) + abs(b))

    @property
    def failures(self) -> tuple:
        """The comparisons over their tolerance."""
        return tuple(c for c in self.comparisons if not c.passed)

    @property
    def passed(self) -> bool:
        """Every comparison within tolerance (and the two losses agree to 1e-10)."""
        loss_ok = self.loss_error is None or self.loss_error <= EXACT_TOL
        return loss_ok and not self.failures

    def _rows(self, where: str, pair: str) -> list:
        if pair not in self.pairs:
            raise ValueError(f"GradientReport.{where}: pair {pair!r} was not compared; "
                             f"this report has {list(self.pairs)}")
        return [c for c in self.comparisons if c.pair == pair]

    def errors(self, pair: str = JAX_NUMERICAL) -> dict[str, float]:
        """``{path: relative error}`` for one pair."""
        return {c.path: c.error for c in self._rows("errors", pair)}

    def max_error(self, pair: str = JAX_NUMERICAL) -> float:
        """The largest relative error of ``pair`` over all paths (NaN if any is NaN).

        A row that passed as a zero gradient (``~0``) counts as 0: its relative error
        compares rounding noise with rounding noise.
        """
        return max((0.0 if c.zero else c.error for c in self._rows("max_error", pair)),
                   key=lambda e: (math.isnan(e), e))

    def worst(self, pair: str = JAX_NUMERICAL) -> Comparison:
        """The :class:`Comparison` of ``pair`` that fails worst (or passes narrowest)."""
        return max(self._rows("worst", pair),
                   key=lambda c: (not c.passed, math.isnan(c.error),
                                  c.error if not c.zero else 0.0))

    def raise_if_failed(self) -> GradientReport:
        """Raise :class:`GradientCheckError` unless the check passed; return ``self``."""
        if not self.passed:
            raise GradientCheckError(self)
        return self

    def __str__(self) -> str:
        pairs = self.pairs
        by_key = {(c.path, c.pair): c for c in self.comparisons}
        header = ["path", "shape", *pairs, "largest gap"]
        rows = []
        for path, shape in self.shapes.items():
            present = [by_key[(path, pair)] for pair in pairs]
            cells = [path, str(tuple(shape))]
            cells += [f"{c.error:.2e}" + (" FAIL" if not c.passed else " ~0" if c.zero else "")
                      for c in present]
            # The entry to look at: the failing pair's largest gap, else the worst pair's.
            shown = max(present, key=lambda c: (not c.passed, c.gap / c.atol if c.atol else
                                                c.gap))
            first, second = shown.pair.split("/")
            cells.append(f"{list(shown.index)}: {first} {shown.first:.6g}, "
                         f"{second} {shown.second:.6g}")
            rows.append(cells)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [f"gradient check in {self.dtype}: relative error ||a - b|| / (||a|| + ||b||) "
                 f"per array; step {self.step:.2e} * max(|x|, 1)"]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                  for r in [header, ["-" * w for w in widths], *rows]]
        if "reference" in self.loss:
            lines.append(f"loss: jax {self.loss['jax']:.12g}, reference "
                         f"{self.loss['reference']:.12g} (relative difference "
                         f"{self.loss_error:.1e})")
        tols = {c.pair: c.tol for c in self.comparisons}
        lines.append("thresholds: " + ", ".join(f"{p} <= {tols[p]:.0e}" for p in pairs))
        if any(c.zero for c in self.comparisons):
            lines.append(f"~0: a zero gradient, rounding noise only: largest gap <= threshold "
                         f"* {self.scale:.3g} (the largest gradient entry)")
        lines += [f"note: {note}" for note in self.notes]
        failed = len({c.path for c in self.failures})
        loss_differs = self.loss_error is not None and not self.loss_error <= EXACT_TOL
        lines.append("PASSED" if self.passed else
                     f"FAILED: {failed} of {len(self.shapes)} arrays over their threshold"
                     + ("; the loss values differ" if loss_differs else ""))
        return "\n".join(lines)


def _x64():
    """A context with jax_enable_x64 on, restoring the caller's setting on exit."""
    if callable(getattr(jax, "enable_x64", None)):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # jax < 0.6

    return enable_x64()


def default_step(dtype) -> float:
    """The relative central-difference step for ``dtype``: ``cbrt(machine epsilon)``.

    It balances truncation error (``O(h^2)``) against rounding error (``O(eps / h)``);
    the step for an entry ``x`` is ``default_step(dtype) * max(|x|, 1)``.

    Example:
        >>> round(default_step(np.float64), 8), round(default_step(np.float32), 5)
        (6.06e-06, 0.00492)
    """
    return float(jnp.finfo(dtype).eps) ** (1.0 / 3.0)


def _compare(path: str, pair: str, a, b, tol: float, scale: float) -> Comparison:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"gradient check: the {pair} gradients of {path} have shapes "
                         f"{a.shape} and {b.shape}; a backward pass returned the wrong shape")
    if a.size == 0:
        return Comparison(path, pair, 0.0, tol, 0.0, tol * scale, (), 0.0, 0.0)
    gaps = np.abs(a - b)
    if np.isfinite(gaps).all():
        denominator = np.linalg.norm(a) + np.linalg.norm(b)
        error = 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)
        flat, gap = int(np.argmax(gaps)), float(np.max(gaps))
    else:
        # Non-finite gradients fail; point at the first one.
        error = gap = float("nan")
        flat = int(np.argmax(~np.isfinite(gaps)))
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
    return Comparison(path, pair, error, tol, gap, tol * scale, index, float(a[index]),
                      float(b[index]))


def _one_dtype(where: str, leaves) -> np.dtype:
    dtypes = {np.asarray(leaf).dtype for leaf in leaves}
    if len(dtypes) != 1:
        raise TypeError(f"{where}: the differentiated arrays must share one dtype, got "
                        f"{sorted(map(str, dtypes))}")
    dtype = dtypes.pop()
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{where}: only floating-point arrays have gradients, got {dtype}")
    return dtype


def _differences(where: str, batched: Callable, tree, consts, step, chunk_size):
    """Central differences of ``batched(stacked_tree, consts) -> (chunk,)``, built on the host.

    Perturbed copies are made in NumPy and sent ``chunk_size`` at a time (the last chunk
    padded, so ``batched`` compiles once).
    """
    leaves, treedef = jax.tree.flatten(tree)
    if not leaves:
        return tree
    arrays = [np.asarray(leaf) for leaf in leaves]
    dtype = _one_dtype(where, arrays)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) \
            or chunk_size < 1:
        raise ValueError(f"{where}: chunk_size must be a positive integer, got {chunk_size!r}")
    step = default_step(dtype) if step is None else step
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not 0 < step < 1:
        raise ValueError(f"{where}: step must be a number in (0, 1), got {step!r}")
    base = np.concatenate([a.ravel() for a in arrays])
    h = (step * np.maximum(np.abs(base), 1)).astype(dtype)
    up, down = base + h, base - h
    n, chunk = base.size, min(int(chunk_size), base.size)

    def unflatten(flat, lead=()):
        out, offset = [], 0
        for a in arrays:
            out.append(flat[..., offset:offset + a.size].reshape(lead + a.shape))
            offset += a.size
        return treedef.unflatten(out)

    values = {}
    for name, moved in (("up", up), ("down", down)):
        parts = []
        for start in range(0, n, chunk):
            rows = np.arange(start, min(start + chunk, n))
            copies = np.repeat(base[None, :], chunk, axis=0)
            copies[np.arange(rows.size), rows] = moved[rows]
            out = batched(unflatten(copies, (chunk,)), consts)
            parts.append(np.asarray(out, dtype=np.float64)[: rows.size])
        values[name] = np.concatenate(parts)
    # Divide by the step as represented, (x + h) - (x - h), not by 2h.
    grads = (values["up"] - values["down"]) / (up.astype(np.float64) - down.astype(np.float64))
    return unflatten(grads.astype(dtype))


def central_differences(f: Callable, tree, *, step: float | None = None,
                        chunk_size: int = 64):
    """``df/dtree`` by central differences, every entry, ``chunk_size`` entries per call.

    Entry ``t`` of ``tree`` moves to ``t + h`` and ``t - h`` with
    ``h = step * max(|t|, 1)``; the derivative is ``(f(t+h) - f(t-h)) / (t+h - (t-h))``,
    dividing by the step as actually represented. ``f`` is compiled once, under
    ``jax.vmap``, and evaluated on ``chunk_size`` perturbed copies at a time.

    Args:
        f: ``f(tree) -> scalar``, traceable by jax.
        tree: a pytree of floating arrays of one dtype (or one array).
        step: relative step; default :func:`default_step` of the dtype.
        chunk_size: perturbed copies evaluated together (memory grows with it).

    Returns:
        A tree like ``tree`` of NumPy arrays holding ``df/dleaf``.

    Example:
        >>> g = central_differences(lambda p: jnp.sum(p["w"] ** 3),
        ...                         {"w": np.array([1.0, 2.0], np.float32)})
        >>> np.round(g["w"], 2)
        array([ 3., 12.], dtype=float32)
    """
    batched = jax.jit(jax.vmap(lambda t, consts: f(t), in_axes=(0, None)))
    return _differences("central_differences", batched, tree, None, step, chunk_size)


def _cast_floating(tree, dtype):
    """NumPy copies of the leaves, floating ones cast to ``dtype`` (no device work)."""
    def cast(leaf):
        arr = np.asarray(leaf)
        return arr.astype(dtype) if jnp.issubdtype(arr.dtype, jnp.floating) else arr

    return jax.tree.map(cast, tree)


def _require_floating(where: str, what: str, tree) -> None:
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        dtype = np.asarray(leaf).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"{where}: {what}{jax.tree_util.keystr(path)} has dtype {dtype}; "
                            f"only floating-point arrays have gradients")


def _stateless(where: str, model, x):
    """The state tree of a model that has none: its structure of empty dicts."""
    abstract = jax.eval_shape(lambda k: model.init(k, tuple(np.shape(x)[1:]))[1],
                              jax.random.key(0))
    if jax.tree.leaves(abstract):
        raise ValueError(f"{where}: the model {model.name!r} has state "
                         f"({jax.tree.map(lambda s: s.shape, abstract)}); pass state= (from "
                         f"model.init or the last apply)")
    return abstract


def _loss_name(loss) -> str | None:
    if isinstance(loss, str):
        return loss
    for name, fn in _losses.LOSSES.items():
        if loss is fn:
            return name
    return None


def _check_reference(reference) -> None:
    missing = [name for name in ("build", "value_and_grad")
               if not callable(getattr(reference, name, None))]
    if missing:
        raise TypeError(
            f"check_gradients: reference must be the reference package (import reference; "
            f"reference=reference), its network module, or an object with build(spec) and "
            f"value_and_grad(net, params, x, targets, loss, ...); got "
            f"{type(reference).__name__} without {missing}"
        )


# Compiled (value_and_grad, batched value) per model and loss, so checking one model
# several times (against several twins, or several batches of one shape) compiles once.
_COMPILED: collections.OrderedDict = collections.OrderedDict()
_COMPILED_SIZE = 16


def _model_functions(model, loss_fn, named_loss: bool, reduction: str, train: bool,
                     with_x: bool):
    cache_key = (id(model), id(loss_fn), named_loss, reduction, train, with_x)
    hit = _COMPILED.get(cache_key)
    if hit is not None and hit[0] is model and hit[1] is loss_fn:
        _COMPILED.move_to_end(cache_key)
        return hit[2]

    def scalar(variables, consts):
        params, x = variables if with_x else (variables[0], consts["x"])
        predictions, _ = model.apply(params, consts["state"], x, train=train, key=consts["key"])
        if named_loss:
            return loss_fn(predictions, consts["y"], reduction)
        return loss_fn(predictions, consts["y"])

    functions = (jax.jit(jax.value_and_grad(scalar)),
                 jax.jit(jax.vmap(scalar, in_axes=(0, None))))
    _COMPILED[cache_key] = (model, loss_fn, functions)
    while len(_COMPILED) > _COMPILED_SIZE:
        _COMPILED.popitem(last=False)
    return functions


def _named(dparams, dx) -> dict[str, np.ndarray]:
    """``{path: array}``: params paths in layer order, then ``"x"`` when given."""
    pairs = [(jax.tree_util.keystr(path), leaf)
             for path, leaf in jax.tree_util.tree_flatten_with_path(dparams)[0]]
    out = {path: np.asarray(leaf) for path, leaf in natural_order(pairs)}
    if dx is not None:
        out["x"] = np.asarray(dx)
    return out


def _replayed_masks(spec, key) -> dict:
    """``funcnet.dropout_masks`` with each mask drawn by one compiled call."""
    def compiled(mask_for):
        draw = jax.jit(mask_for, static_argnums=0)
        return lambda shape: np.asarray(draw(tuple(shape)))

    return {path: compiled(mask_for) for path, mask_for in dropout_masks(spec, key).items()}


def _scale(numerical: dict, exact: dict) -> float:
    """The largest gradient entry over every array (central differences, else jax)."""
    for grads in (numerical, exact):
        sizes = [np.max(np.abs(g)) for g in grads.values() if np.size(g)]
        top = float(max(sizes, default=0.0))
        if np.isfinite(top) and top > 0:
            return top
    return 0.0


def check_gradients(model, params, batch, loss, state=None, *, train: bool = False,
                    key=None, reference=None, reduction: str = "mean",
                    check_input: bool = True, step: float | None = None,
                    exact_tol: float = EXACT_TOL, numerical_tol: float = NUMERICAL_TOL,
                    chunk_size: int = 64) -> GradientReport:
    """Check a model's gradients on a batch: reference backprop, jax.grad, central differences.

    The checked scalar is ``loss(model.apply(params, state, x, train=train, key=key)[0],
    y, reduction)``. Everything is cast to float64 and run with ``jax_enable_x64`` on
    (restored afterwards). Its gradient with respect to every parameter array (and
    ``x``) comes from ``jax.grad``, from central differences of the same function and,
    when ``reference`` is given, from the NumPy twin rebuilt from ``model.spec``;
    each pair is compared per array.

    Args:
        model: a :class:`funcnet.Layer` (a Sequential, or one layer).
        params: its params tree (any float dtype).
        batch: ``(x, y)``: inputs ``(N, ...)`` and what the loss compares with.
        loss: a loss name (``"mse"``) or a ``funcnet.losses`` function; any other
            ``loss(predictions, targets) -> scalar`` works without the reference leg.
        state: the model's state tree (BatchNorm), or ``None`` for a stateless model.
        train: training mode (BatchNorm batch statistics, Dropout masks).
        key: the ``jax.random`` key for ``apply`` (needed by Dropout in training); the
            reference replays the same masks through ``funcnet.dropout_masks``.
        reference: the ``reference`` package or its ``network`` module (anything with
            ``build(spec)`` and ``value_and_grad(net, params, x, targets, loss, *, state,
            train, extras, reduction)``) to add the NumPy twin's leg; ``None`` checks
            ``jax.grad`` against central differences only.
        reduction: ``"mean"`` or ``"sum"``.
        check_input: also check the gradient with respect to ``x`` (path ``"x"``).
        step: relative finite-difference step (default ``cbrt(eps)``, about 6e-6).
        exact_tol: bar for reference vs jax.grad.
        numerical_tol: bar for either against central differences.
        chunk_size: finite-difference evaluations run together.

    Returns:
        A :class:`GradientReport`; ``print`` it, test ``.passed`` or call
        ``.raise_if_failed()``.

    Raises:
        ValueError: ``reference`` given but the model has a layer with no NumPy twin
            (``model.spec`` is None or names an unregistered type), or the loss is not
            a named one.

    Example:
        >>> import reference
        >>> model = Sequential([Dense(3), tanh, Dense(1)])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> x, y = np.ones((4, 2)), np.zeros((4, 1))
        >>> report = check_gradients(model, params, (x, y), "mse", reference=reference)
        >>> report.passed, report.pairs
        (True, ('reference/jax', 'reference/numerical', 'jax/numerical'))
    """
    where = "check_gradients"
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"{where}: batch must be a tuple (x, y), got {type(batch).__name__}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{where}: reduction must be 'mean' or 'sum' (a scalar loss), "
                         f"got {reduction!r}")
    loss_name = _loss_name(loss)
    if loss_name is not None:
        loss_fn = _losses.get(loss_name)
    elif callable(loss):
        loss_fn = loss
    else:
        raise TypeError(f"{where}: loss must be a loss name or a function, got "
                        f"{type(loss).__name__}")
    notes = []
    if reference is not None:
        _check_reference(reference)
        if loss_name is None:
            raise ValueError(f"{where}: the reference leg needs a named loss (one of "
                             f"{sorted(_losses.LOSSES)}), got the function "
                             f"{getattr(loss, '__name__', loss)!r}; pass reference=None to "
                             f"check jax.grad against central differences only")
        if model.spec is None:
            raise ValueError(f"{where}: the model {model.name!r} holds a layer with no "
                             f"reference twin (model.spec is None), so reference cannot "
                             f"rebuild it; pass reference=None to check jax.grad against "
                             f"central differences only")
        try:
            net = reference.build(model.spec)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: reference cannot rebuild the model: {err}; pass "
                             f"reference=None to check jax.grad against central "
                             f"differences only") from err
    else:
        notes.append("reference leg skipped (pass reference=reference to add it)")

    x, y = batch
    _require_floating(where, "params", params)
    with_x = check_input and jnp.issubdtype(np.asarray(x).dtype, jnp.floating)
    if check_input and not with_x:
        notes.append(f"x has dtype {np.asarray(x).dtype}: no gradient with respect to x")
    with _x64():
        params64 = _cast_floating(params, np.float64)
        state64 = _cast_floating(_stateless(where, model, x) if state is None else state,
                                 np.float64)
        x64, y64 = _cast_floating(x, np.float64), _cast_floating(y, np.float64)
        value_and_grad, batched = _model_functions(model, loss_fn, loss_name is not None,
                                                   reduction, train, with_x)
        variables = (params64, x64) if with_x else (params64,)
        consts = {"state": state64, "x": None if with_x else x64, "y": y64, "key": key}
        value, grads = value_and_grad(variables, consts)
        if np.ndim(value) != 0:
            raise ValueError(f"{where}: the loss must be a scalar, got shape {np.shape(value)}")
        numerical = _differences(where, batched, variables, consts, step, chunk_size)
        named = {"jax": _named(grads[0], grads[1] if with_x else None),
                 "numerical": _named(numerical[0], numerical[1] if with_x else None)}
        losses = {"jax": float(value)}
        if reference is not None:
            extras = _replayed_masks(model.spec, key) if train and key is not None else None
            ref_value, dparams, dx = reference.value_and_grad(
                net, params64, x64, y64, loss_name, state=state64, train=train,
                extras=extras, reduction=reduction)
            losses["reference"] = float(ref_value)
            named["reference"] = _named(dparams, dx if with_x else None)

    scale = _scale(named["numerical"], named["jax"])
    comparisons = []
    for path in named["jax"]:
        if "reference" in named:
            if path not in named["reference"]:
                raise ValueError(f"{where}: reference returned no gradient for {path}; its "
                                 f"gradient tree has {sorted(named['reference'])}")
            comparisons.append(_compare(path, REFERENCE_JAX, named["reference"][path],
                                        named["jax"][path], exact_tol, scale))
            comparisons.append(_compare(path, REFERENCE_NUMERICAL, named["reference"][path],
                                        named["numerical"][path], numerical_tol, scale))
        comparisons.append(_compare(path, JAX_NUMERICAL, named["jax"][path],
                                    named["numerical"][path], numerical_tol, scale))
    shapes = {path: np.shape(g) for path, g in named["jax"].items()}
    used_step = default_step(np.float64) if step is None else float(step)
    return GradientReport(tuple(comparisons), shapes, "float64", used_step, scale, losses,
                          tuple(notes))


def _argument_names(f: Callable, count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= count:
        return positional[:count]
    return [f"args[{i}]" for i in range(count)]


def _projection(out, seed: int):
    """A fixed random vector for every output leaf (``None`` for a scalar output)."""
    leaves = jax.tree.leaves(out)
    if len(leaves) == 1 and len(leaves[0].shape) == 0:
        return None
    rng = np.random.default_rng(seed)
    return [rng.normal(size=leaf.shape) for leaf in leaves]


def check_function(f: Callable, *args, argnums=None, dtype=np.float64,
                   tol: float | None = None, step: float | None = None, seed: int = 0,
                   chunk_size: int = 64) -> GradientReport:
    """Check ``jax.grad`` of any function of arrays against central differences.

    A scalar output is differentiated as is; an array (or pytree) output is dotted
    with a fixed-seed random vector ``r`` first, ``sum(f(*args) * r)``, which tests
    the whole Jacobian in one gradient (a wrong entry shows unless ``r`` happens to be
    orthogonal to it, which has probability 0).

    Args:
        f: ``f(*args) -> array or pytree of arrays``, traceable by jax.
        *args: arrays or pytrees of arrays (params dicts work).
        argnums: which args to differentiate (int or tuple); default all. The others
            are passed unchanged (e.g. integer labels).
        dtype: the float dtype to check in (default float64, with x64 switched on for
            the check); ``None`` keeps the args' own dtype, which must be one.
        tol: bar for the relative error; default ``1e-7`` in float64 and
            ``sqrt(eps)`` of a lower precision (``3.5e-4`` in float32).
        step: relative finite-difference step; default ``cbrt(eps)`` of the dtype.
        seed: seed of the projection vector.
        chunk_size: finite-difference evaluations run together.

    Returns:
        A :class:`GradientReport` with the pair ``"jax/numerical"``, paths named after
        ``f``'s parameters (``"w"``, ``"params['b']"``).

    Example:
        >>> report = check_function(lambda w, x: jnp.tanh(x @ w), np.ones((3, 2)),
        ...                         np.ones((4, 3)))
        >>> report.passed, list(report.shapes)
        (True, ['w', 'x'])
    """
    where = "check_function"
    if not callable(f):
        raise TypeError(f"{where}: f must be a function, got {type(f).__name__}")
    if not args:
        raise ValueError(f"{where}: pass the arguments to differentiate at, "
                         f"check_function(f, x, ...)")
    if argnums is None:
        argnums = tuple(range(len(args)))
    elif isinstance(argnums, numbers.Integral):
        argnums = (int(argnums),)
    argnums = tuple(argnums)
    if not argnums or len(set(argnums)) != len(argnums) or any(
            isinstance(i, bool) or not isinstance(i, numbers.Integral)
            or not 0 <= i < len(args) for i in argnums):
        raise ValueError(f"{where}: argnums must be distinct indices into the {len(args)} "
                         f"args, got {argnums!r}")
    names = _argument_names(f, len(args))
    for i in argnums:
        _require_floating(where, names[i], args[i])
    if dtype is None:
        check_dtype = _one_dtype(where, [leaf for i in argnums
                                         for leaf in jax.tree.leaves(args[i])])
    else:
        check_dtype = np.dtype(dtype)
        if not jnp.issubdtype(check_dtype, jnp.floating):
            raise TypeError(f"{where}: dtype must be a floating dtype, got {check_dtype}")
    # float64 needs x64 on; a lower precision is checked in the caller's own setting, so
    # that f's constants promote exactly as they do when the user runs it.
    context = _x64() if check_dtype == np.float64 else contextlib.nullcontext()

    with context:
        variables = tuple(_cast_floating(args[i], check_dtype) for i in argnums)

        def call(values):
            full = list(args)
            for i, value in zip(argnums, values, strict=True):
                full[i] = value
            return f(*full)

        projection = _projection(jax.eval_shape(call, variables), seed)

        def scalar(values, consts=None):
            out = call(values)
            if projection is None:
                return jnp.asarray(out).astype(check_dtype)
            return sum(jnp.sum(leaf.astype(check_dtype) * r.astype(check_dtype))
                       for leaf, r in zip(jax.tree.leaves(out), projection, strict=True))

        grads = jax.jit(jax.grad(scalar))(variables)
        batched = jax.jit(jax.vmap(scalar, in_axes=(0, None)))
        numerical = _differences(where, batched, variables, None, step, chunk_size)
        named = {}
        for kind, tree in (("jax", grads), ("numerical", numerical)):
            named[kind] = {}
            for i, sub in zip(argnums, tree, strict=True):
                named[kind].update({names[i] + jax.tree_util.keystr(path): np.asarray(leaf)
                                    for path, leaf in
                                    jax.tree_util.tree_flatten_with_path(sub)[0]})
    if tol is None:
        tol = (NUMERICAL_TOL if check_dtype == np.float64
               else float(jnp.finfo(check_dtype).eps) ** 0.5)
    scale = _scale(named["numerical"], named["jax"])
    comparisons = tuple(_compare(path, JAX_NUMERICAL, named["jax"][path],
                                 named["numerical"][path], tol, scale)
                        for path in named["jax"])
    notes = () if projection is None else (
        f"array output: checked sum(f(...) * r) with r ~ N(0, 1), seed {seed}",)
    used_step = default_step(check_dtype) if step is None else float(step)
    return GradientReport(comparisons, {p: np.shape(g) for p, g in named["jax"].items()},
                          str(check_dtype), used_step, scale, {}, notes)


__all__ = [
    "EXACT_TOL",
    "JAX_NUMERICAL",
    "NUMERICAL_TOL",
    "PAIRS",
    "REFERENCE_JAX",
    "REFERENCE_NUMERICAL",
    "Comparison",
    "GradientCheckError",
    "GradientReport",
    "central_differences",
    "check_function",
    "check_gradients",
    "default_step",
]
