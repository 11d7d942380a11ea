"""What a gradient check found: the pairs, their bars, one row per array, the table."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

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


def _scale(numerical: dict, exact: dict) -> float:
    """The largest gradient entry over every array (central differences, else jax)."""
    for grads in (numerical, exact):
        sizes = [np.max(np.abs(g)) for g in grads.values() if np.size(g)]
        top = float(max(sizes, default=0.0))
        if np.isfinite(top) and top > 0:
            return top
    return 0.0
