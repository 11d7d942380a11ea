"""Resume, checkpoint folders and files: bad input refused, another run refused.

``BAD`` is a table in the style of ``tests/test_bad_input.py``: ``(id, call, exception,
message regex)``, where ``call(tmp, ckpt)`` gets a fresh temporary folder and a fresh
copy of the folder of a 2-epoch run (``BASE``). It covers resuming another run (other
data, batch size, key, model, loss), the epoch target, the ``resume`` argument,
checkpoints that fit did not write, and checkpoint folders and files that cannot work
(a file, ``''``, read-only, missing, a symlink loop). The tests after it check what the
table cannot: that nothing trains before a bad folder is refused, that an opted-in
resume continues and records the new run, the order of writes and deletes with
``keep=1``, and that saving through a symlink keeps the link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trees_close

import funcnet as fn
from funcnet import checkpoint, diagnostics, optim

X = np.random.default_rng(0).normal(size=(12, 2))
Y = (np.arange(12) % 3).astype(np.int32)
MODEL = fn.Sequential([fn.Dense(4), fn.relu, fn.Dropout(0.25), fn.Dense(3)])
PARAMS, STATE = MODEL.init(jax.random.key(0), (2,))
BASE = {"model": MODEL, "params": PARAMS, "state": STATE, "optimizer": optim.sgd(0.1),
        "train_data": (X, Y), "epochs": 3, "batch_size": 4, "key": jax.random.key(1)}
TREE = {"w": jnp.ones((2, 3))}


def fit(checkpoint_dir, **overrides):
    """``fn.fit`` of the base run (3 epochs) with any argument replaced."""
    args = {**BASE, "checkpoint_dir": checkpoint_dir, **overrides}
    return fn.fit(args.pop("model"), args.pop("params"), args.pop("state"),
                  args.pop("optimizer"), args.pop("train_data"), **args)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """The folder of the base run stopped after epoch 2, and its result."""
    folder = tmp_path_factory.mktemp("base") / "run"
    return folder, fit(folder, epochs=2)


@pytest.fixture
def ckpt(base_run, tmp_path):
    """A fresh copy of the base run's folder (rows may add to it)."""
    return shutil.copytree(base_run[0], tmp_path / "run")


def rewrite(folder, edit):
    """Rewrite the newest checkpoint of ``folder`` with its metadata passed through
    ``edit``; returns the folder."""
    path = checkpoint.latest(folder)
    tree, meta = checkpoint.load(path)
    edit(meta)
    checkpoint.save(path, tree, meta)
    return folder


@contextlib.contextmanager
def read_only(folder):
    """``folder``, made and then read-only. Permission bits do not stop root, so making a
    file in it also fails as it would for anyone else (EACCES from ``os.open``)."""
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o555)
    real_open, inside = os.open, os.path.abspath(folder)

    def refusing(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and os.path.dirname(os.path.abspath(path)) == inside:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    try:
        with mock.patch("os.open", refusing):
            yield str(folder)
    finally:
        os.chmod(folder, 0o755)


def in_read_only(folder, call):
    with read_only(folder) as path:
        return call(path)


def a_file(tmp, name="notes.txt"):
    path = tmp / name
    path.write_text("not a folder")
    return str(path)


def renamed(tree):
    """The base model's params or state for the same model with tanh in place of relu."""
    return {("tanh_1" if k == "relu_1" else k): v for k, v in tree.items()}


def row(case_id, call, error, match):
    return pytest.param(call, error, match, id=case_id)


ANOTHER_RUN = (r"fit: the checkpoint in checkpoint_dir '.*run' \(ckpt_000002\.npz, epoch 2\) "
               r"was written by another run: ")
OPT_IN = r"\. Resuming it would continue that run .* Pass resume='any_run'"
SAME_SHAPES = r"train_data: the same shapes and dtypes \(x float64\(12, 2\), y int32\(12,\)\)"

BAD = [
    # ------------------------------------------------- family 7: another run is refused
    row("resume/other batch_size", lambda t, c: fit(c, batch_size=3),
        checkpoint.CheckpointError,
        ANOTHER_RUN + r"batch_size: the checkpoint's run used 4, this call passes 3" + OPT_IN),
    row("resume/other x values", lambda t, c: fit(c, train_data=(X + 1e-9, Y)),
        checkpoint.CheckpointError,
        ANOTHER_RUN + SAME_SHAPES + r" but other values \(sha256 [0-9a-f]{12}\.\.\. in the "
                                    r"checkpoint, [0-9a-f]{12}\.\.\. now\)" + OPT_IN),
    row("resume/other labels", lambda t, c: fit(c, train_data=(X, (Y + 1) % 3)),
        checkpoint.CheckpointError, ANOTHER_RUN + SAME_SHAPES + " but other values"),
    row("resume/rows in another order", lambda t, c: fit(c, train_data=(X[::-1], Y[::-1])),
        checkpoint.CheckpointError, ANOTHER_RUN + SAME_SHAPES + " but other values"),
    row("resume/fewer rows", lambda t, c: fit(c, train_data=(X[:8], Y[:8])),
        checkpoint.CheckpointError,
        ANOTHER_RUN + r"train_data: the checkpoint's run trained on x float64\(12, 2\), y "
                      r"int32\(12,\), this call passes x float64\(8, 2\), y int32\(8,\)"),
    row("resume/x in float32", lambda t, c: fit(c, train_data=(X.astype(np.float32), Y)),
        checkpoint.CheckpointError, ANOTHER_RUN + r"train_data: .* this call passes x "
                                                  r"float32\(12, 2\), y int32\(12,\)"),
    row("resume/y in int64", lambda t, c: fit(c, train_data=(X, Y.astype(np.int64))),
        checkpoint.CheckpointError, ANOTHER_RUN + r"train_data: .* this call passes x "
                                                  r"float64\(12, 2\), y int64\(12,\)"),
    row("resume/python lists of other values", lambda t, c: fit(
        c, train_data=((X * 2).tolist(), Y.tolist())), checkpoint.CheckpointError,
        ANOTHER_RUN + r"train_data: .* y int64\(12,\)"),
    row("resume/other key", lambda t, c: fit(c, key=jax.random.key(2)),
        checkpoint.CheckpointError,
        ANOTHER_RUN + r"key: the checkpoint's run used 'threefry2x32:\[0, 1\]', this call "
                      r"passes 'threefry2x32:\[0, 2\]'" + OPT_IN),
    row("resume/raw PRNGKey of another seed", lambda t, c: fit(c, key=jax.random.PRNGKey(7)),
        checkpoint.CheckpointError, ANOTHER_RUN + r"key: .* passes 'threefry2x32:\[0, 7\]'"),
    row("resume/another key implementation", lambda t, c: fit(
        c, key=jax.random.key(1, impl="rbg")), checkpoint.CheckpointError,
        ANOTHER_RUN + r"key: .* passes 'rbg:\[0, 1, 0, 1\]'"),
    row("resume/model with another dropout rate", lambda t, c: fit(
        c, model=fn.Sequential([fn.Dense(4), fn.relu, fn.Dropout(0.5), fn.Dense(3)])),
        checkpoint.CheckpointError,
        ANOTHER_RUN + r"model: line 4 of its description is 'dropout_2: Dropout\(rate=0\.25\),' "
                      r"in the checkpoint's run, 'dropout_2: Dropout\(rate=0\.5\),' in this "
                      r"call's" + OPT_IN),
    row("resume/another loss", lambda t, c: fit(
        c, loss=lambda logits, labels, reduction="mean":
        fn.softmax_cross_entropy_with_integer_labels(logits, labels, reduction=reduction)),
        checkpoint.CheckpointError,
        ANOTHER_RUN + r"loss: the checkpoint's run used "
                      r"'funcnet\.losses\.softmax_cross_entropy_with_integer_labels', this "
                      r"call passes '.*<lambda>'"),
    row("resume/two differences are both named", lambda t, c: fit(
        c, batch_size=6, key=jax.random.key(3)), checkpoint.CheckpointError,
        ANOTHER_RUN + r"batch_size: .* used 4, this call passes 6; key: .*\[0, 3\]'" + OPT_IN),
    row("resume/a checkpoint with no run identity", lambda t, c: fit(
        rewrite(c, lambda meta: meta.pop("run"))), checkpoint.CheckpointError,
        ANOTHER_RUN + r"the checkpoint records no run identity \(it was not written by fit, "
                      r"or by a funcnet older than run identities\)" + OPT_IN),
    row("resume/a malformed run identity", lambda t, c: fit(
        rewrite(c, lambda meta: meta.update(run="abc"))), checkpoint.CheckpointError,
        ANOTHER_RUN + r"the checkpoint's run identity is malformed \(expected the fields "
                      r"\['batch_size', 'train_data', 'key', 'model', 'loss'\], got 'abc'\)"),
    row("resume/a hand-written save_step checkpoint", lambda t, c: fit(
        checkpoint.save_step(t / "hand", 1, {"params": PARAMS}, {"epoch": 1}) and t / "hand"),
        checkpoint.CheckpointError,
        r"fit: the checkpoint in checkpoint_dir '.*hand' \(ckpt_000001\.npz, epoch 1\) was "
        r"written by another run: the checkpoint records no run identity"),
    # ------------------------------------------------------ family 7: the epoch target
    row("resume/epochs below the checkpoint's", lambda t, c: fit(c, epochs=1), ValueError,
        r"fit: epochs=1, but the checkpoint in checkpoint_dir '.*run' \(ckpt_000002\.npz, "
        r"epoch 2\) is past it: epochs is the total number of epochs, counting those "
        r"already trained\. Pass epochs >= 2 \(epochs=2 returns that checkpoint's result\)"),
    row("resume/epochs below, resume='any_run'", lambda t, c: fit(
        c, epochs=1, resume="any_run"), ValueError, r"fit: epochs=1, but .* is past it"),
    # --------------------------------------------------- family 7: the resume argument
    row("resume/resume='yes'", lambda t, c: fit(c, resume="yes"), ValueError,
        r"fit: resume must be one of \('same_run', 'any_run'\), got 'yes'"),
    row("resume/resume=True", lambda t, c: fit(c, resume=True), ValueError,
        r"fit: resume must be one of \('same_run', 'any_run'\), got True"),
    row("resume/resume=None", lambda t, c: fit(c, resume=None), ValueError,
        r"fit: resume must be one of \('same_run', 'any_run'\), got None"),
    row("resume/resume='any_run' without a folder", lambda t, c: fit(None, resume="any_run"),
        ValueError, r"fit: resume='any_run' needs a checkpoint_dir to resume from, got "
                    r"checkpoint_dir=None"),
    # ------------------------------------- family 7: what an opted-in resume still needs
    row("resume/any_run into another model's trees", lambda t, c: fit(
        c, resume="any_run", model=fn.Sequential([fn.Dense(4), fn.tanh, fn.Dropout(0.25),
                                                  fn.Dense(3)]),
        params=renamed(PARAMS), state=renamed(STATE)),
        checkpoint.CheckpointError,
        r"fit: cannot resume from the checkpoint in checkpoint_dir '.*run' "
        r"\(ckpt_000002\.npz, epoch 2\): its params, state and opt_state must have the "
        r"structure, shapes and dtypes of this call's: .*does not match like: the dict at "
        r"\['params'\] has keys \['dense_0', 'dense_3', 'dropout_2', 'relu_1'\] in the "
        r"checkpoint but \['dense_0', 'dense_3', 'dropout_2', 'tanh_1'\] in like"),
    row("resume/another optimizer's state", lambda t, c: fit(c, optimizer=optim.adam(0.1)),
        checkpoint.CheckpointError,
        r"fit: cannot resume from .*: .*does not match like: the tuple at \['opt_state'\]"),
    row("resume/record on a run that did not record", lambda t, c: fit(
        c, record=diagnostics.Health()), checkpoint.CheckpointError,
        r"fit: the checkpoint .* has no history of \['health'\] in its metadata "
        r"\(record=diagnostics.Health\(...\) needs a run that recorded it from the "
        r"start\)"),
    row("resume/record off on a run that recorded", lambda t, c: fit(
        rewrite(c, lambda meta: meta["history"].update(health=[{}, {}]))),
        ValueError, r"fit: the checkpoint .* has a history of \['health'\]; pass "
                    r"record=diagnostics.Health\(...\) to go on recording it"),
    row("resume/any_run on a checkpoint with no history", lambda t, c: fit(
        rewrite(c, lambda meta: meta.pop("history")), resume="any_run"),
        checkpoint.CheckpointError,
        r"fit: the checkpoint .* has no history of \['epoch', 'eval_accuracy', .*\] in its "
        r"metadata; it was not written by a fit call like this one"),
    row("resume/a truncated newest checkpoint", lambda t, c: fit(
        shutil.copyfile(checkpoint.latest(c), os.path.join(c, "ckpt_000009.npz"))
        and os.truncate(os.path.join(c, "ckpt_000009.npz"), 100) or c, epochs=9),
        checkpoint.CheckpointError,
        r"ckpt_000009\.npz: not a funcnet checkpoint or truncated"),
    row("fit/checkpoint_every=True", lambda t, c: fit(c, checkpoint_every=True), ValueError,
        r"fit: checkpoint_every must be a positive integer, got True"),
    row("fit/keep=1.5", lambda t, c: fit(c, keep=1.5), ValueError,
        r"fit: keep must be a positive integer, got 1\.5"),
    # ------------------------------------------------ family 8: the checkpoint folder
    row("fit/checkpoint_dir is a file", lambda t, c: fit(a_file(t)), NotADirectoryError,
        r"fit: checkpoint_dir '.*notes\.txt' is a file, not a folder"),
    row("fit/checkpoint_dir=''", lambda t, c: fit(""), ValueError,
        r"fit: checkpoint_dir must name a folder, got ''; use '\.' for the current folder"),
    row("fit/checkpoint_dir read-only", lambda t, c: in_read_only(t / "ro", fit),
        PermissionError, r"fit: cannot write in checkpoint_dir '.*ro': Permission denied; "
                         r"pick a folder you can write to"),
    row("fit/checkpoint_dir inside a file", lambda t, c: fit(os.path.join(a_file(t), "run")),
        NotADirectoryError, r"fit: cannot create checkpoint_dir '.*notes\.txt/run': Not a "
                            r"directory"),
    row("fit/checkpoint_dir an int", lambda t, c: fit(3), TypeError,
        r"fit: checkpoint_dir must be a folder path \(str or os\.PathLike\), got int 3"),
    row("save_step/directory is a file", lambda t, c: checkpoint.save_step(a_file(t), 1, TREE),
        NotADirectoryError, r"checkpoint\.save_step: directory '.*notes\.txt' is a file"),
    row("save_step/directory=''", lambda t, c: checkpoint.save_step("", 1, TREE), ValueError,
        r"checkpoint\.save_step: directory must name a folder, got ''"),
    row("save_step/read-only directory", lambda t, c: in_read_only(
        t / "ro", lambda d: checkpoint.save_step(d, 1, TREE)), PermissionError,
        r"checkpoint\.save_step: cannot write in directory '.*ro': Permission denied"),
    row("save_step/a step below the newest", lambda t, c: checkpoint.save_step(c, 1, TREE),
        ValueError, r"checkpoint\.save_step: directory '.*run' already holds step 2 "
                    r"\(ckpt_000002\.npz\), newer than step 1; latest\(\) would go on "
                    r"returning it"),
    row("ensure_folder/not a path", lambda t, c: checkpoint.ensure_folder(None), TypeError,
        r"checkpoint\.ensure_folder: directory must be a folder path \(str or os\.PathLike\), "
        r"got NoneType None"),
    row("list_steps/a file", lambda t, c: checkpoint.list_steps(a_file(t)),
        NotADirectoryError, r"checkpoint\.list_steps: directory '.*notes\.txt' is a file, "
                            r"not a checkpoint folder"),
    row("latest/a file", lambda t, c: checkpoint.latest(a_file(t)), NotADirectoryError,
        r"checkpoint\.latest: directory '.*notes\.txt' is a file"),
    row("restore_latest/a file", lambda t, c: checkpoint.restore_latest(a_file(t)),
        NotADirectoryError, r"checkpoint\.restore_latest: directory '.*notes\.txt' is a file"),
    row("list_steps/None", lambda t, c: checkpoint.list_steps(None), TypeError,
        r"checkpoint\.list_steps: directory must be a folder path .* got NoneType None"),
    # ---------------------------------------------------- family 8: the checkpoint file
    row("save/into a missing folder", lambda t, c: checkpoint.save(t / "missing" / "c.npz",
                                                                   TREE),
        FileNotFoundError, r"checkpoint\.save: the folder '.*missing' of path '.*c\.npz' does "
                           r"not exist; create it first \(os\.makedirs\), or use "
                           r"checkpoint\.save_step, which creates its folder"),
    row("save/path=''", lambda t, c: checkpoint.save("", TREE), ValueError,
        r"checkpoint\.save: path must name a file, got ''"),
    row("save/path is a folder", lambda t, c: checkpoint.save(str(t), TREE), IsADirectoryError,
        r"checkpoint\.save: path '.*' is a folder; give a file path inside it, e\.g\. "
        r"'.*ckpt\.npz'"),
    row("save/the folder is a file", lambda t, c: checkpoint.save(
        os.path.join(a_file(t), "c.npz"), TREE), NotADirectoryError,
        r"checkpoint\.save: '.*notes\.txt', the folder of path '.*c\.npz', is a file, not a "
        r"folder"),
    row("save/read-only folder", lambda t, c: in_read_only(
        t / "ro", lambda d: checkpoint.save(os.path.join(d, "c.npz"), TREE)), PermissionError,
        r"checkpoint\.save: cannot write '.*c\.npz' in the folder '.*ro': Permission denied"),
    row("save/a symlink loop", lambda t, c: (
        os.symlink(t / "b.npz", t / "a.npz"), os.symlink(t / "a.npz", t / "b.npz"),
        checkpoint.save(t / "a.npz", TREE)), OSError,
        r"checkpoint\.save: path '.*a\.npz' is a symlink that never reaches a file \(the "
        r"links loop\)"),
    row("save/a symlink into a missing folder", lambda t, c: (
        os.symlink(t / "gone" / "c.npz", t / "link.npz"), checkpoint.save(t / "link.npz",
                                                                         TREE)),
        FileNotFoundError, r"checkpoint\.save: the folder '.*gone' of path '.*link\.npz' "
                           r"\(a symlink to '.*gone/c\.npz'\) does not exist"),
    row("load_metadata/path None", lambda t, c: checkpoint.load_metadata(None), TypeError,
        r"checkpoint\.load_metadata: path must be a file path \(str or os\.PathLike\), got "
        r"NoneType None"),
    row("load_metadata/missing file", lambda t, c: checkpoint.load_metadata(t / "no.npz"),
        FileNotFoundError, r"No such file or directory"),
    row("load_metadata/not a checkpoint", lambda t, c: checkpoint.load_metadata(a_file(t)),
        checkpoint.CheckpointError, r"notes\.txt: not a funcnet checkpoint or truncated"),
]


@pytest.mark.parametrize("call, error, match", BAD)
def test_bad_resume_or_checkpoint_input_gets_a_clear_error(call, error, match, tmp_path,
                                                           ckpt):
    with pytest.raises(error, match=match):
        call(tmp_path, ckpt)


def test_table_size():
    assert len(BAD) >= 35
    assert len({p.id for p in BAD}) == len(BAD), "duplicate case ids"


# ------------------------------------------------------------------ beyond the table


def test_another_run_is_refused_untouched_and_any_run_continues_it(base_run, ckpt):
    before = {p.name: p.read_bytes() for p in ckpt.iterdir()}
    with pytest.raises(checkpoint.CheckpointError, match=r"batch_size: .* used 4, this call "
                                                         r"passes 3"):
        fit(ckpt, batch_size=3)
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before
    go_on = fit(ckpt, batch_size=3, resume="any_run")
    saved = base_run[1].history
    assert go_on.history["epoch"] == [1, 2, 3]
    for k in ("train_loss", "train_accuracy", "learning_rate"):
        assert go_on.history[k][:2] == saved[k], k
    assert checkpoint.list_steps(ckpt) == [1, 2, 3]
    assert checkpoint.load_metadata(checkpoint.latest(ckpt))["run"]["batch_size"] == 3
    # the newest checkpoint is the batch-3 run's now: it is that run's to resume ...
    done = fit(ckpt, batch_size=3)
    assert_trees_close(done.params, go_on.params, rtol=0, atol=0)
    # ... and the batch-4 run is the other one
    with pytest.raises(checkpoint.CheckpointError, match=r"batch_size: the checkpoint's run "
                                                         r"used 3, this call passes 4"):
        fit(ckpt)


def test_what_is_not_the_run_may_change_on_resume(base_run, ckpt):
    # another rate, other evaluation data and the other epoch runner continue the run
    result = fit(ckpt, optimizer=optim.sgd(0.05), eval_data=(X[:4], Y[:4]), mode="loop")
    assert result.history["epoch"] == [1, 2, 3]
    assert result.history["learning_rate"] == [0.1, 0.1, 0.05]
    assert result.history["eval_loss"][:2] == [None, None]


def test_epochs_is_the_total_and_epochs_0_reads_no_checkpoint(base_run, ckpt):
    done = fit(ckpt, epochs=2)  # the run's target reached: its checkpoint, as it is
    assert_trees_close(done.params, base_run[1].params, rtol=0, atol=0)
    assert_trees_close(done.opt_state, base_run[1].opt_state, rtol=0, atol=0)
    assert done.history == base_run[1].history
    (ckpt / "ckpt_000009.npz").write_bytes(b"not read")
    nothing = fit(ckpt, epochs=0)
    assert_trees_close(nothing.params, PARAMS, rtol=0, atol=0)
    assert_trees_close(nothing.opt_state, optim.sgd(0.1).init(PARAMS), rtol=0, atol=0)
    assert nothing.history == {k: [] for k in base_run[1].history}


@pytest.mark.parametrize("folder", ["file", "empty", "read-only", "inside a file"])
def test_a_bad_checkpoint_dir_is_refused_before_anything_is_built(folder, tmp_path,
                                                                  monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the training step was built before the folder was checked")

    monkeypatch.setattr(fn.train.step, "make_update", never)
    epochs_run = []
    record = {"callback": lambda epoch, *rest: epochs_run.append(epoch)}
    with pytest.raises(OSError if folder != "empty" else ValueError, match=r"checkpoint_dir"):
        if folder == "read-only":
            in_read_only(tmp_path / "ro", lambda d: fit(d, **record))
        else:
            fit({"file": lambda: a_file(tmp_path), "empty": lambda: "",
                 "inside a file": lambda: os.path.join(a_file(tmp_path), "run")}[folder](),
                **record)
    assert epochs_run == []


def test_keep_1_deletes_the_old_file_only_once_the_new_one_is_whole(tmp_path, monkeypatch):
    checkpoint.save_step(tmp_path, 1, TREE, {"n": 1}, keep=1)
    real_remove, deleted = os.remove, []

    def remove(path):
        if os.path.basename(path).startswith("ckpt_"):  # not the folder's write test
            # the new checkpoint is already complete (sealed) on disk
            deleted.append((os.path.basename(path),
                            checkpoint.load_metadata(tmp_path / "ckpt_000002.npz")))
        real_remove(path)

    monkeypatch.setattr(os, "remove", remove)
    checkpoint.save_step(tmp_path, 2, TREE, {"n": 2}, keep=1)
    assert deleted == [("ckpt_000001.npz", {"n": 2})]
    assert checkpoint.list_steps(tmp_path) == [2]


def test_a_failed_delete_leaves_both_checkpoints_and_says_so(tmp_path, monkeypatch):
    checkpoint.save_step(tmp_path, 1, TREE, {"n": 1}, keep=1)
    real_remove = os.remove

    def remove(path):
        if os.path.basename(path).startswith("ckpt_"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        real_remove(path)

    monkeypatch.setattr(os, "remove", remove)
    with pytest.raises(PermissionError, match=r"checkpoint\.save_step: saved '.*ckpt_000002\."
                                              r"npz', but cannot delete the old checkpoint "
                                              r"'.*ckpt_000001\.npz' \(keep=1\): Permission"):
        checkpoint.save_step(tmp_path, 2, TREE, {"n": 2}, keep=1)
    monkeypatch.undo()
    assert checkpoint.list_steps(tmp_path) == [1, 2]
    assert checkpoint.restore_latest(tmp_path)[1] == {"n": 2}


def test_two_writers_with_keep_1_never_leave_the_folder_empty(tmp_path, monkeypatch):
    """Writer A saves step 3, and before A cleans up, writer B saves step 4 and cleans
    up. Deleting every other step, as save_step once did, B deleted A's file and then A
    deleted B's: an empty folder. Deleting only lower steps keeps B's."""
    checkpoint.save_step(tmp_path, 2, TREE, {"writer": "first"}, keep=1)
    real_save = fn.checkpoint._steps.save

    def a_then_b(path, tree, metadata):
        written = real_save(path, tree, metadata)
        if path.endswith("ckpt_000003.npz"):
            checkpoint.save_step(tmp_path, 4, TREE, {"writer": "B"}, keep=1)
        return written

    monkeypatch.setattr(fn.checkpoint._steps, "save", a_then_b)
    checkpoint.save_step(tmp_path, 3, TREE, {"writer": "A"}, keep=1)
    assert checkpoint.list_steps(tmp_path) == [4]
    assert checkpoint.restore_latest(tmp_path)[1] == {"writer": "B"}


def test_saving_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    store, links = tmp_path / "store", tmp_path / "links"
    store.mkdir()
    links.mkdir()
    checkpoint.save(store / "c.npz", TREE, {"gen": 1})
    relative = os.path.join("..", "store", "c.npz")
    os.symlink(relative, links / "c.npz")
    checkpoint.save(links / "c.npz", {"w": jnp.zeros((2, 3))}, {"gen": 2})
    assert os.path.islink(links / "c.npz") and os.readlink(links / "c.npz") == relative
    tree, meta = checkpoint.load(store / "c.npz")
    assert meta == {"gen": 2}
    np.testing.assert_array_equal(tree["w"], np.zeros((2, 3)))
    # a link to a file not there yet makes it, beside its target (no temporary left)
    os.symlink(store / "new.npz", links / "new.npz")
    checkpoint.save(links / "new.npz", TREE, {"gen": 3})
    assert os.path.islink(links / "new.npz")
    assert checkpoint.load_metadata(store / "new.npz") == {"gen": 3}
    assert sorted(os.listdir(store)) == ["c.npz", "new.npz"]
    assert sorted(os.listdir(links)) == ["c.npz", "new.npz"]
