"""check_gradients: a model's gradients on a batch, three ways."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np

from funcnet import losses as _losses
from funcnet.check._dtypes import _cast_floating, _require_floating, _x64
from funcnet.check._numerical import _differences, default_step
from funcnet.check._report import (
    EXACT_TOL,
    JAX_NUMERICAL,
    NUMERICAL_TOL,
    REFERENCE_JAX,
    REFERENCE_NUMERICAL,
    GradientReport,
    _compare,
    _scale,
)
from funcnet.check._twin import _check_reference, _replayed_masks
from funcnet.core import walk
from funcnet.diagnostics import natural_order


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

    Examples:
        >>> import funcnet as fn
        >>> model = fn.Sequential([fn.Dense(3), fn.tanh, fn.Dense(1)])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> x, y = np.ones((4, 2)), np.zeros((4, 1))
        >>> report = check_gradients(model, params, (x, y), "mse")
        >>> report.passed, report.pairs
        (True, ('jax/numerical',))

        With ``twin`` the caller's own ``reference`` package (funcnet never imports
        it), ``check_gradients(model, params, (x, y), "mse", reference=twin)`` adds the
        NumPy twin's leg, and ``report.pairs`` is ``('reference/jax',
        'reference/numerical', 'jax/numerical')``.
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
            raise ValueError(f"{where}: {_untwinned(model)} no reference twin (spec=None), "
                             f"so reference cannot rebuild the model; give the layer a "
                             f"spec and a reference.REGISTRY builder (README, 'Writing your "
                             f"own layer'), or pass reference=None to check jax.grad "
                             f"against central differences only")
        try:
            net = reference.build(model.spec)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: reference cannot rebuild the model: {err}; pass "
                             f"reference=None to check jax.grad against central "
                             f"differences only") from err
    else:
        notes.append(f"reference leg skipped: {_untwinned(model)} no reference twin"
                     if model.spec is None else
                     "reference leg skipped (pass reference=reference to add it)")

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
            extras = _replayed_masks(model, key) if train and key is not None else None
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


def _untwinned(model) -> str:
    """Name the layers without a twin: those with no spec whose children all have one."""
    paths = [node.path or "the model" for node in walk(model)
             if node.layer.spec is None
             and all(child.spec is not None for _, child in node.layer.children)]
    shown = ", ".join(repr(p) for p in paths)
    return f"layer {shown} has" if len(paths) == 1 else f"layers {shown} have"
