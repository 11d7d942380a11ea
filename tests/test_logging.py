"""history_logger: the file equals fit's history across a crash and a resume from
checkpoint_dir (no row twice), in CSV and in JSON lines, and a line cut short by a crash
is ignored."""

import jax
import pytest

import funcnet as fn
from funcnet import data, optim


def xor_fit(epochs, **kwargs):
    x, y = data.xor(repeats=2)
    model = fn.Sequential([fn.Dense(4), fn.tanh, fn.Dense(2)])
    params, state = model.init(jax.random.key(0), (2,))
    return fn.fit(model, params, state, optim.sgd(0.5), (x, y), epochs=epochs, batch_size=4,
                  key=jax.random.key(1), **kwargs)


class Crash(Exception):
    pass


def test_file_equals_history_across_a_crash_and_a_resume(tmp_path):
    path, checkpoints = tmp_path / "logs" / "history.csv", tmp_path / "checkpoints"
    logger = fn.history_logger(path)

    def crash_after_logging_epoch_3(epoch, row, params, state):
        logger(epoch, row, params, state)
        if epoch == 3:  # after the row is written, before epoch 3's checkpoint is
            raise Crash

    with pytest.raises(Crash):
        xor_fit(4, callback=crash_after_logging_epoch_3, checkpoint_dir=checkpoints)
    assert fn.read_history(path)["epoch"] == [1, 2, 3]
    # the resumed run starts after epoch 2's checkpoint and writes epochs 3 and 4 again
    history = xor_fit(4, callback=fn.history_logger(path), checkpoint_dir=checkpoints).history
    assert history["epoch"] == [1, 2, 3, 4]
    assert fn.read_history(path) == history
    assert len(path.read_text().splitlines()) == 5  # the header and one row per epoch


def test_dict_entries_get_one_csv_column_per_path_and_come_back_as_dicts(tmp_path):
    # rows holding a dict keyed by parameter path, written without training
    path = tmp_path / "g.csv"
    logger = fn.history_logger(path)
    rows = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": None,
             "gradient_norms": {"['dense_0']['w']": 0.1 * e, "['dense_2']['b']": 2.0 ** -e}}
            for e in (1, 2)]
    for row in rows:
        logger(row["epoch"], row, None, None)
    assert path.read_text().splitlines()[0] == (
        "epoch,train_loss,train_accuracy,gradient_norms/['dense_0']['w'],"
        "gradient_norms/['dense_2']['b']")
    assert fn.read_history(path) == {key: [row[key] for row in rows] for key in rows[0]}


def test_a_line_cut_short_by_a_crash_is_ignored_and_replaced(tmp_path):
    path = tmp_path / "h.jsonl"
    logger = fn.history_logger(path)
    for epoch in (1, 2):
        logger(epoch, {"epoch": epoch, "train_loss": 1.0 / epoch, "eval_loss": None}, None,
               None)
    with open(path, "a") as file:
        file.write('{"epoch": 3, "train_')  # the crash came mid-write
    assert fn.read_history(path) == {"epoch": [1, 2], "train_loss": [1.0, 0.5],
                                     "eval_loss": [None, None]}
    resumed = fn.history_logger(path)
    resumed(3, {"epoch": 3, "train_loss": 0.25, "eval_loss": 0.5}, None, None)
    assert fn.read_history(path)["train_loss"] == [1.0, 0.5, 0.25]
    fresh = fn.history_logger(path)  # a new run from epoch 1 starts the file over
    fresh(1, {"epoch": 1, "train_loss": 9.0, "eval_loss": None}, None, None)
    assert fn.read_history(path) == {"epoch": [1], "train_loss": [9.0], "eval_loss": [None]}


def _log_into_gap(tmp_path):
    logger = fn.history_logger(tmp_path / "gap.jsonl")
    logger(1, {"epoch": 1}, None, None)
    fn.history_logger(tmp_path / "gap.jsonl")(5, {"epoch": 5}, None, None)


BAD = [
    ("suffix", lambda p: fn.history_logger(p / "log.txt"), ValueError,
     r"history_logger: cannot tell the format from the suffix of .*log.txt"),
    ("format", lambda p: fn.history_logger(p / "log.csv", format="xml"), ValueError,
     r"history_logger: format must be one of \('csv', 'jsonl'\), got 'xml'"),
    ("path", lambda p: fn.history_logger(3), TypeError,
     r"history_logger: path must be a str or os.PathLike, got int"),
    ("list in csv", lambda p: fn.history_logger(p / "l.csv")(1, {"epoch": 1, "x": [1, 2]},
                                                              None, None), TypeError,
     r"history\['x'\] holds a list, which a CSV cell cannot hold; write JSON lines"),
    ("not a row", lambda p: fn.history_logger(p / "l.csv")(1, [1.0], None, None), TypeError,
     r"row must be a fit history row"),
    ("another run's file", _log_into_gap, ValueError,
     r"holds rows for epochs \[1\], but training continues at epoch 5"),
    ("columns change", lambda p: [fn.history_logger(p / "c.csv")(e, r, None, None) for e, r in
                                  ((1, {"epoch": 1, "a": 1.0}), (2, {"epoch": 2, "b": 1.0}))],
     ValueError, r"epoch 2's row has columns \['epoch', 'b'\]"),
    ("missing", lambda p: fn.read_history(p / "none.csv"), FileNotFoundError,
     r"read_history: no log at"),
]


@pytest.mark.parametrize("call, error, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(call, error, match, tmp_path):
    with pytest.raises(error, match=match):
        call(tmp_path)
