"""A ``fit`` callback that writes each history row to a file as training goes.

Every row is appended, flushed and ``fsync``-ed before training continues, so after a
crash the file holds every finished epoch (a line cut short by the crash is ignored
when the file is read). The file mirrors the history of the run writing it: a row for
epoch ``e`` replaces any rows already there for epochs ``>= e``. A run resumed from a
checkpoint repeats the epochs after that checkpoint, and their new rows replace the
old ones instead of being added twice; a fresh run (epoch 1) starts the file over.

Two formats: CSV (one column per key; a dict entry such as ``gradient_norms`` becomes
one column per path, ``gradient_norms/['dense_0']['w']``; ``None`` is an empty cell)
and JSON lines (one JSON object per line, nested as in the row).
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
from pathlib import Path

FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}


def _format_of(where: str, path: Path, format: str | None) -> str:
    if format is None:
        if path.suffix not in _SUFFIXES:
            raise ValueError(f"{where}: cannot tell the format from the suffix of {path} "
                             f"(expected .csv, .jsonl or .json); pass format='csv' or "
                             f"format='jsonl'")
        return _SUFFIXES[path.suffix]
    if format not in FORMATS:
        raise ValueError(f"{where}: format must be one of {FORMATS}, got {format!r}")
    return format


def _scalar(where: str, name: str, value):
    """A row value as a plain Python scalar (``None`` kept), or a TypeError."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) or (hasattr(value, "item") and getattr(
            value, "ndim", 1) == 0):
        return float(value)
    raise TypeError(f"{where}: history[{name!r}] holds a {type(value).__name__}, which a "
                    f"CSV cell cannot hold; write JSON lines (format='jsonl') instead")


def _flat(where: str, row: dict) -> dict:
    """One level: ``{"gradient_norms": {p: v}}`` becomes ``{"gradient_norms/p": v}``."""
    flat = {}
    for key, value in row.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                flat[f"{key}/{sub}"] = _scalar(where, f"{key}/{sub}", inner)
        else:
            flat[key] = _scalar(where, key, value)
    return flat


def _cell(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)  # repr round-trips


def _parse(text: str):
    if text == "":
        return None
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"history_logger: cannot write a {type(value).__name__} as JSON")


def _complete_lines(path: Path) -> list[str]:
    """The file's lines that end in a newline (a crash may cut the last one short)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]]


def _rows(path: Path, format: str) -> tuple[list[str], list[dict], list[str]]:
    """``(header lines, rows, their lines)`` of a log file (rows flat for CSV)."""
    lines = _complete_lines(path)
    if format == "jsonl":
        return [], [json.loads(line) for line in lines], lines
    if not lines:
        return [], [], []
    header = next(csv.reader([lines[0]]))
    rows = [dict(zip(header, (_parse(c) for c in cells), strict=True))
            for cells in csv.reader(lines[1:])]
    return lines[:1], rows, lines[1:]


def _write_atomically(path: Path, lines: list[str]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as file:
        file.writelines(lines)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


class HistoryLogger:
    """``callback(epoch, row, params, state)`` for ``fit``: appends ``row`` to ``path``.

    Made by :func:`history_logger`; it never asks ``fit`` to stop.
    """

    def __init__(self, path: Path, format: str):
        self.path, self.format = path, format
        self._last_epoch: int | None = None
        self._columns: list[str] | None = None

    def __repr__(self) -> str:
        return f"HistoryLogger({str(self.path)!r}, format={self.format!r})"

    def _restart_at(self, epoch: int) -> None:
        """Keep the rows for epochs ``1 .. epoch - 1`` (they must all be there) and
        drop the rest, rewriting the file atomically."""
        header, rows, lines = _rows(self.path, self.format)
        kept = [i for i, row in enumerate(rows) if row.get("epoch", math.inf) < epoch]
        epochs = [rows[i]["epoch"] for i in kept]
        if epochs != list(range(1, epoch)):
            raise ValueError(
                f"history_logger: {self.path} holds rows for epochs {epochs}, but training "
                f"continues at epoch {epoch}, which needs exactly epochs 1..{epoch - 1} "
                f"before it; was the file written by another run? Log to a new path")
        self._columns = (list(rows[0]) if kept and self.format == "csv" else None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path, (header if kept else []) + [lines[i] for i in kept])

    def __call__(self, epoch, row, params=None, state=None) -> None:
        where = "history_logger"
        if not isinstance(row, dict) or "epoch" not in row:
            raise TypeError(f"{where}: row must be a fit history row (a dict with an "
                            f"'epoch'), got {type(row).__name__}")
        number = int(row["epoch"])
        if self._last_epoch is None or number != self._last_epoch + 1:
            self._restart_at(number)
        if self.format == "jsonl":
            text = json.dumps(row, default=_json_default) + "\n"
        else:
            flat = _flat(where, row)
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            if self._columns is None:
                self._columns = list(flat)
                writer.writerow(self._columns)
            if list(flat) != self._columns:
                raise ValueError(f"{where}: epoch {number}'s row has columns {list(flat)}, "
                                 f"but {self.path} has {self._columns}")
            writer.writerow([_cell(flat[c]) for c in self._columns])
            text = buffer.getvalue()
        with open(self.path, "a", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        self._last_epoch = number


def history_logger(path, *, format: str | None = None) -> HistoryLogger:
    """A ``fit`` callback writing each epoch's history row to ``path`` as it ends.

    Pass it as ``fit(..., callback=history_logger("run/history.csv"))``. Each row is
    appended, flushed and fsync-ed; a row for epoch ``e`` replaces the file's rows for
    epochs ``>= e``, so a run resumed from ``checkpoint_dir`` leaves one row per epoch,
    equal to its history (and a fresh run starts the file over). Read it back with
    :func:`read_history`.

    Args:
        path: the file to write (its folder is created).
        format: ``"csv"`` or ``"jsonl"``; default from the suffix (``.csv``,
            ``.jsonl``/``.json``).

    Returns:
        A :class:`HistoryLogger`, callable as ``logger(epoch, row, params, state)``.

    Examples:
        >>> x, y = data.xor()
        >>> model = Sequential([Dense(4), tanh, Dense(2)])
        >>> params, state = model.init(jax.random.key(0), (2,))
        >>> result = fit(model, params, state, optim.sgd(0.5), (x, y), epochs=3,
        ...              batch_size=4, key=jax.random.key(1),
        ...              callback=history_logger("logs/xor.csv"))
        >>> read_history("logs/xor.csv") == result.history
        True
    """
    where = "history_logger"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: path must be a str or os.PathLike, got "
                        f"{type(path).__name__}")
    path = Path(path)
    return HistoryLogger(path, _format_of(where, path, format))


def read_history(path, *, format: str | None = None) -> dict:
    """A log written by :func:`history_logger` as a history: key -> list per epoch.

    Args:
        path: the log file.
        format: ``"csv"`` or ``"jsonl"``; default from the suffix.

    Returns:
        ``{key: [value per epoch]}`` like ``fit``'s history (dict entries such as
        ``gradient_norms`` rebuilt as one dict per epoch); a line cut short by a crash is
        left out.

    Examples:
        >>> logger = history_logger("logs/run.jsonl")
        >>> logger(1, {"epoch": 1, "train_loss": 0.7, "eval_loss": None}, None, None)
        >>> read_history("logs/run.jsonl")
        {'epoch': [1], 'train_loss': [0.7], 'eval_loss': [None]}
    """
    where = "read_history"
    path = Path(path)
    format = _format_of(where, path, format)
    if not path.exists():
        raise FileNotFoundError(f"{where}: no log at {path}")
    _, rows, _ = _rows(path, format)
    history: dict = {}
    for row in rows:
        nested: dict = {}
        for column, value in row.items():
            key, slash, sub = column.partition("/") if format == "csv" else (column, "", "")
            if slash:
                nested.setdefault(key, {})[sub] = value
            else:
                nested[key] = value
        for key, value in nested.items():
            history.setdefault(key, []).append(value)
    return history
