"""funcnet.checkpoint: exact round trips, template checks, corruption, pickle refusal,
SIGKILL mid-save, and the keep-last-N folder manager."""

from __future__ import annotations

import collections
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from checkpoint_writer import tree_for
from helpers import assert_trees_identical

import funcnet
from funcnet import checkpoint
from funcnet.checkpoint import CheckpointError

KILL_TRIALS = 30


def round_trip(tmp_path, tree, metadata=None, like=None):
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, tree, metadata)
    return checkpoint.load(path, like=like)


def write_raw(path, manifest, members):
    """Write a sealed checkpoint by hand, following the documented format."""
    buf = io.BytesIO()
    manifest_bytes = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr in {"__manifest__": manifest_bytes, **members}.items():
            with zf.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=True)
        zf.comment = checkpoint.TRAILER_PREFIX + b"0" * 64
    body = buf.getvalue()[:-64]
    Path(path).write_bytes(body + hashlib.sha256(body).hexdigest().encode())


def read_raw(path):
    with np.load(path, allow_pickle=False) as npz:
        members = {name: npz[name] for name in npz.files}
    return json.loads(members.pop("__manifest__").tobytes()), members


# --------------------------------------------------------------------- round trips


def test_params_and_state_round_trip_exactly(tmp_path, key):
    model = funcnet.Sequential([funcnet.Dense(4), funcnet.relu, funcnet.Dense(2)])
    params, state = model.init(key, (3,))
    tree = {"params": params, "state": state,
            "f32": jnp.ones((2, 2), jnp.float32), "f64": jnp.linspace(0.0, 1.0, 5)}
    loaded, metadata = round_trip(tmp_path, tree, {"epoch": 3})
    assert_trees_identical(loaded, tree)
    assert metadata == {"epoch": 3}


class AppState(NamedTuple):
    step: jax.Array
    params: dict


@pytest.mark.parametrize("make_opt", [
    lambda: optax.adam(1e-3),
    lambda: optax.sgd(0.1, momentum=0.9),
    lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3)),
], ids=["adam", "sgd_momentum", "chain_clip_adamw"])
def test_optax_states_round_trip_without_like(tmp_path, make_opt):
    opt = make_opt()
    params = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
    grads = jax.tree_util.tree_map(lambda p: 0.1 * p + 1.0, params)
    _, opt_state = opt.update(grads, opt.init(params), params)
    tree = {"params": params, "opt_state": opt_state, "step": 7}

    loaded, _ = round_trip(tmp_path, tree)

    assert_trees_identical(loaded, {**tree, "step": jnp.asarray(7)})
    assert type(loaded["opt_state"]) is type(opt_state)
    assert [type(s) for s in jax.tree_util.tree_leaves(
        loaded["opt_state"], is_leaf=lambda x: hasattr(x, "_fields"))] == [
        type(s) for s in jax.tree_util.tree_leaves(
            opt_state, is_leaf=lambda x: hasattr(x, "_fields"))]
    # The restored state drives the optimizer exactly like the original.
    want, _ = opt.update(grads, opt_state, params)
    got, _ = opt.update(grads, loaded["opt_state"], params)
    assert_trees_identical(got, want)


def test_adam_count_stays_an_int32(tmp_path):
    opt_state = optax.adam(1e-3).init({"w": jnp.ones(2, jnp.float32)})
    loaded, _ = round_trip(tmp_path, opt_state)
    assert type(loaded[0]).__name__ == "ScaleByAdamState"
    assert loaded[0].count.dtype == jnp.int32
    assert type(loaded[1]) is optax.EmptyState


def test_prng_keys_round_trip_and_draw_the_same_numbers(tmp_path):
    tree = {"key": jax.random.key(0),
            "keys": jax.random.split(jax.random.key(1), 3),
            "rbg": jax.random.key(2, impl="rbg"),
            "raw": jax.random.PRNGKey(3)}
    loaded, _ = round_trip(tmp_path, tree)
    assert_trees_identical(loaded, tree)
    assert loaded["raw"].dtype == jnp.uint32
    for name in ("key", "rbg", "raw"):
        np.testing.assert_array_equal(jax.random.normal(loaded[name], (4,)),
                                      jax.random.normal(tree[name], (4,)))
    np.testing.assert_array_equal(jax.random.normal(loaded["keys"][2], (4,)),
                                  jax.random.normal(tree["keys"][2], (4,)))
    manifest, members = read_raw(tmp_path / "ckpt.npz")
    records = {r["name"]: r for r in manifest["leaves"]}
    assert records["['key']"]["dtype"] == "key<threefry2x32>"
    assert records["['rbg']"]["dtype"] == "key<rbg>"
    assert members["['keys']"].shape == (3, 2) and members["['keys']"].dtype == np.uint32


@pytest.mark.parametrize("dtype", [
    "bool", "int8", "uint16", "int32", "int64", "uint64", "float16", "float32", "float64",
    "complex64", "complex128", "bfloat16", "float8_e4m3fn", "int4",
])
def test_every_dtype_round_trips_bit_for_bit(tmp_path, dtype):
    dtype = np.dtype(getattr(jnp, dtype))
    values = np.random.default_rng(0).normal(size=(3, 4)) * 3
    if dtype.kind == "c":
        values = values + 1j * values[::-1]
    tree = {"x": jnp.asarray(values.astype(dtype)), "np": values.astype(dtype)}
    loaded, _ = round_trip(tmp_path, tree)
    assert_trees_identical(loaded, tree)


def test_bfloat16_is_stored_as_uint16_with_its_dtype_in_the_manifest(tmp_path):
    x = jnp.asarray([1.0, -2.5, 3e38, float("nan")], jnp.bfloat16)
    loaded, _ = round_trip(tmp_path, {"x": x})
    assert loaded["x"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(loaded["x"]).view(np.uint16),
                                  np.asarray(x).view(np.uint16))
    manifest, members = read_raw(tmp_path / "ckpt.npz")
    assert members["['x']"].dtype == np.uint16
    assert manifest["leaves"][0]["dtype"] == "bfloat16"


def test_python_numbers_come_back_as_0d_arrays_with_jax_dtypes(tmp_path):
    loaded, _ = round_trip(tmp_path, {"step": 12, "lr": 0.5, "flag": True, "z": 1 + 2j})
    assert_trees_identical(loaded, {"step": jnp.asarray(12), "lr": jnp.asarray(0.5),
                              "flag": jnp.asarray(True), "z": jnp.asarray(1 + 2j)})


@pytest.mark.parametrize("tree", [
    {},
    [],
    (),
    None,
    jnp.arange(3),
    {"params": {}, "state": {"bn": {}}, "x": jnp.ones(2)},
    {"a": [jnp.ones(1), (jnp.zeros(2), [jnp.ones(3), ()]), []], "b": (None, jnp.ones(1))},
    [None, {"w": None}, (None,), jnp.ones(2)],
    {0: jnp.ones(1), 5: {"x": jnp.zeros(1)}, 10: [None]},
    (jnp.ones(1), [jnp.ones(1)]),
], ids=["empty_dict", "empty_list", "empty_tuple", "none", "bare_array", "empty_dicts",
        "nested", "none_leaves", "int_keys", "tuple_vs_list"])
def test_structures_round_trip_without_like(tmp_path, tree):
    loaded, metadata = round_trip(tmp_path, tree)
    assert_trees_identical(loaded, tree)
    assert metadata == {}
    # the exact container types, not only jax's structure
    assert repr(jax.tree_util.tree_map(lambda _: 0, loaded)) == repr(
        jax.tree_util.tree_map(lambda _: 0, tree))


def test_member_names_are_jax_keystr_paths_and_plain_numpy_reads_them(tmp_path):
    tree = {"params": {"dense": {"w": jnp.ones((2, 3))}}, "opt": optax.adam(0.1).init(
        {"w": jnp.ones(2)}), "seq": [jnp.zeros(1), (jnp.ones(1),)]}
    checkpoint.save(tmp_path / "ckpt.npz", tree)
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as npz:
        names = set(npz.files)
        manifest = npz["__manifest__"]
    want = {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]}
    assert names == want | {"__manifest__"}
    assert "['opt'][0].mu['w']" in names
    assert manifest.dtype == np.uint8


def test_same_tree_gives_same_bytes_and_overwrites_cleanly(tmp_path):
    tree = {"w": jnp.arange(4.0)}
    checkpoint.save(tmp_path / "a.npz", tree, {"epoch": 1})
    checkpoint.save(tmp_path / "b.npz", tree, {"epoch": 1})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    checkpoint.save(tmp_path / "a.npz", {"w": jnp.zeros(2)}, {"epoch": 2})
    loaded, metadata = checkpoint.load(tmp_path / "a.npz")
    assert_trees_identical(loaded, {"w": jnp.zeros(2)})
    assert metadata == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]


# --------------------------------------------------------------------- metadata


def test_metadata_round_trips_through_json(tmp_path):
    metadata = {"epoch": np.int64(4), "lr": np.float32(0.25), "loss": jnp.asarray(1.5),
                "history": {"loss": [2.0, 1.0, float("nan")], "acc": (0.5, 0.75)},
                "name": "mnist", "done": False, "note": None}
    _, loaded = round_trip(tmp_path, {}, metadata)
    assert loaded["epoch"] == 4 and type(loaded["epoch"]) is int
    assert loaded["lr"] == 0.25 and type(loaded["lr"]) is float
    assert loaded["loss"] == 1.5
    assert loaded["history"]["loss"][:2] == [2.0, 1.0]
    assert np.isnan(loaded["history"]["loss"][2])
    assert loaded["history"]["acc"] == [0.5, 0.75]
    assert (loaded["name"], loaded["done"], loaded["note"]) == ("mnist", False, None)


@pytest.mark.parametrize(("metadata", "error", "match"), [
    ({1: "a"}, TypeError, r"metadata keys must be str .* key 1 in metadata"),
    ({"h": {"x": object()}}, TypeError, r"metadata\['h'\]\['x'\] is a object"),
    ({"w": np.ones(3)}, TypeError, r"metadata\['w'\] is a ndarray"),
    ([1, 2], TypeError, r"metadata must be a dict or None, got list"),
])
def test_metadata_that_json_cannot_hold_is_refused(tmp_path, metadata, error, match):
    with pytest.raises(error, match=match):
        checkpoint.save(tmp_path / "ckpt.npz", {}, metadata)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("tree", "error", "match"), [
    ({"name": "mnist"}, TypeError, r"leaf \['name'\] is a str; only arrays and numbers"),
    ({"x": np.array(["a", "b"])}, TypeError, r"leaf \['x'\] has dtype <U1"),
    ({"x": np.array([None], dtype=object)}, TypeError, r"leaf \['x'\] has dtype object"),
    ({(1, 2): jnp.ones(1)}, TypeError, r"dict keys must be str or int, got tuple key"),
    ({"a": {1: jnp.ones(1), "b": jnp.ones(1)}}, TypeError, r"keys of the dict at \['a'\]"),
])
def test_unsavable_trees_are_refused_naming_the_path(tmp_path, tree, error, match):
    with pytest.raises(error, match=match):
        checkpoint.save(tmp_path / "ckpt.npz", tree)
    assert list(tmp_path.iterdir()) == []


def test_64bit_leaves_are_refused_not_narrowed_when_x64_is_off(tmp_path):
    checkpoint.save(tmp_path / "ckpt.npz", {"w": jnp.ones(2, jnp.float64)})
    with jax.enable_x64(False), pytest.raises(
            CheckpointError, match=r"leaf \['w'\] is float64, .*jax_enable_x64 is off"):
        checkpoint.load(tmp_path / "ckpt.npz")


# --------------------------------------------------------------------- like


def _template():
    params = {"dense": {"w": jnp.ones((2, 3), jnp.float32), "b": jnp.zeros(3, jnp.float32)}}
    return {"params": params, "opt_state": optax.adam(1e-3).init(params),
            "key": jax.random.key(0), "extra": [None, jnp.ones(1)]}


@pytest.mark.parametrize(("change", "match"), [
    (lambda t: t["params"].pop("dense"),
     r"the dict at \['params'\] has keys \['dense'\] in the checkpoint but \[\] in like"),
    (lambda t: t["params"]["dense"].update(c=jnp.ones(1)),
     r"\['params'\]\['dense'\] .*\(missing from the checkpoint: \['c'\]"),
    (lambda t: t["params"]["dense"].update(w=jnp.ones((3, 2), jnp.float32)),
     r"like at \['params'\]\['dense'\]\['w'\]: the checkpoint has float32\(2, 3\), "
     r"like has float32\(3, 2\)"),
    (lambda t: t["params"]["dense"].update(b=jnp.zeros(3, jnp.bfloat16)),
     r"like at \['params'\]\['dense'\]\['b'\]: the checkpoint has float32\(3,\), "
     r"like has bfloat16\(3,\)"),
    (lambda t: t.update(extra=(None, jnp.ones(1))),
     r"at \['extra'\] the checkpoint has a list but like has a tuple"),
    (lambda t: t.update(extra=[None, jnp.ones(1), jnp.ones(1)]),
     r"the list at \['extra'\] has 2 items in the checkpoint but 3 in like"),
    (lambda t: t.update(extra=[jnp.ones(1), jnp.ones(1)]),
     r"at \['extra'\]\[0\] the checkpoint has a None but like has a leaf"),
    (lambda t: t.update(opt_state=optax.sgd(0.1, momentum=0.9).init(t["params"])),
     r"at \['opt_state'\]\[0\] the checkpoint has a NamedTuple optax.*ScaleByAdamState"),
    (lambda t: t.update(key=jax.random.PRNGKey(0)),
     r"like at \['key'\]: the checkpoint has key<threefry2x32>\(\), like has uint32\(2,\)"),
    (lambda t: t.update(key=jax.random.key(0, impl="rbg")),
     r"the checkpoint has key<threefry2x32>\(\), like has key<rbg>\(\)"),
], ids=["missing_key", "extra_key", "shape", "dtype", "list_vs_tuple", "length",
        "none_vs_leaf", "optimizer_state", "typed_vs_raw_key", "key_impl"])
def test_like_mismatch_names_the_first_differing_path(tmp_path, change, match):
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, _template())
    like = _template()
    change(like)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": does not match like"):
        checkpoint.load(path, like=like)
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(path, like=like)


def test_like_accepts_abstract_leaves_and_restores_its_node_types(tmp_path):
    tree = _template()
    checkpoint.save(tmp_path / "ckpt.npz", tree, {"epoch": 2})
    abstract = jax.eval_shape(lambda: _template())
    loaded, metadata = checkpoint.load(tmp_path / "ckpt.npz", like=abstract)
    assert_trees_identical(loaded, tree)
    assert metadata == {"epoch": 2}


def test_other_node_types_need_like(tmp_path):
    tree = {"app": AppState(step=jnp.asarray(3), params={"w": jnp.ones(2)}),
            "od": collections.OrderedDict([("z", jnp.ones(1)), ("a", jnp.zeros(1))])}
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, tree)
    with pytest.raises(CheckpointError,
                       match=r"NamedTuple test_checkpoint\.AppState at \['app'\] is not from an "
                             r"allowed module \(optax, funcnet\).*pass like="):
        checkpoint.load(path)
    checkpoint.save(path, {"od": tree["od"]})
    with pytest.raises(CheckpointError, match=r"collections\.OrderedDict node at \['od'\] "
                                              r"cannot be rebuilt from the file alone"):
        checkpoint.load(path)
    checkpoint.save(path, tree)
    loaded, _ = checkpoint.load(path, like=tree)
    assert_trees_identical(loaded, tree)
    assert type(loaded["app"]) is AppState and list(loaded["od"]) == ["z", "a"]


@pytest.mark.parametrize(("module", "qualname", "match"), [
    ("os", "system", r"NamedTuple os\.system .* is not from an allowed module"),
    ("optax", "adam", r"optax\.adam at \['s'\] is not a NamedTuple"),
    ("optax", "__class__.__init__", r"is not from an allowed module"),
    ("optax._src.transform", "NoSuchState", r"cannot import the NamedTuple"),
    ("optaxevil", "State", r"is not from an allowed module"),
])
def test_a_crafted_manifest_cannot_import_arbitrary_objects(tmp_path, module, qualname, match):
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"s": optax.EmptyState()})
    manifest, members = read_raw(path)
    node = manifest["tree"]["children"][0]
    node.update(module=module, qualname=qualname)
    write_raw(path, manifest, members)
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(path)


# --------------------------------------------------------------------- bad files


def _saved(tmp_path):
    path = tmp_path / "ckpt.npz"
    tree = _template()
    checkpoint.save(path, tree, {"epoch": 1, "history": [1.0, 0.5]})
    return path, path.read_bytes()


def test_flipped_bytes_anywhere_are_detected(tmp_path):
    path, good = _saved(tmp_path)
    rng = np.random.default_rng(0)
    positions = sorted({*np.linspace(0, len(good) - 1, 24).astype(int),
                        *rng.integers(0, len(good), 16).tolist()})
    # A flip inside the float data and inside the manifest JSON are both among them.
    w_bytes = np.ones((2, 3), np.float32).tobytes()
    positions += [good.index(w_bytes) + 5, good.index(b'"metadata"') + 3]
    for pos in positions:
        bad = bytearray(good)
        bad[pos] ^= 0x41
        path.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": "
                           r"(checksum mismatch: the file is corrupted|not a funcnet checkpoint)"):
            checkpoint.load(path)


def test_truncated_files_are_detected(tmp_path):
    path, good = _saved(tmp_path)
    for length in (0, 1, 30, len(good) // 3, len(good) // 2, len(good) - 80, len(good) - 64,
                   len(good) - 1):
        path.write_bytes(good[:length])
        with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": "
                           r"(checksum mismatch|not a funcnet checkpoint or truncated)"):
            checkpoint.load(path)


def test_a_plain_npz_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(2))
    with pytest.raises(CheckpointError, match=r"plain\.npz: not a funcnet checkpoint"):
        checkpoint.load(path)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        checkpoint.load(tmp_path / "nope.npz")


EXECUTED = []


def _record_execution():
    EXECUTED.append(True)
    return 0


class _Trap:
    def __reduce__(self):
        return (_record_execution, ())


def test_object_arrays_are_refused_and_never_unpickled(tmp_path):
    trap = np.empty(1, dtype=object)
    trap[0] = _Trap()

    plain = tmp_path / "plain.npz"
    np.savez(plain, x=trap)
    with pytest.raises(CheckpointError, match="not a funcnet checkpoint"):
        checkpoint.load(plain)

    # A correctly sealed file with a valid manifest: only allow_pickle=False stops it.
    path = tmp_path / "crafted.npz"
    manifest = {"format": checkpoint.FORMAT, "version": checkpoint.VERSION,
                "tree": {"kind": "dict", "keys": [["str", "x"]],
                         "children": [{"kind": "leaf"}]},
                "leaves": [{"name": "['x']", "dtype": "float32", "shape": [1],
                            "stored_dtype": "<f4", "stored_shape": [1]}],
                "metadata": {}}
    write_raw(path, manifest, {"['x']": trap})
    with pytest.raises(CheckpointError, match=r"crafted\.npz: cannot read array \['x'\]: "
                                              r"Object arrays cannot be loaded when "
                                              r"allow_pickle=False .*never unpickles"):
        checkpoint.load(path)
    assert EXECUTED == []
    # The trap is live: unpickling it (what load refuses to do) would run code.
    with np.load(path, allow_pickle=True) as npz:
        npz["['x']"]
    assert EXECUTED == [True]


@pytest.mark.parametrize(("edit", "match"), [
    (lambda m: m.update(version=99), r"format version 99 is not supported"),
    (lambda m: m.update(format="other"), r"the manifest is not a funcnet-checkpoint manifest"),
    (lambda m: m["leaves"][0].update(shape=[7]), r"leaf \['x'\] has shape \(2,\), but the "
                                                 r"manifest says \(7,\)"),
    (lambda m: m["leaves"][0].update(stored_dtype="<f8"), r"array \['x'\] has dtype float32"),
    (lambda m: m["leaves"][0].update(dtype="object"), r"unsupported dtype 'object'"),
    (lambda m: m["leaves"].pop(), r"malformed manifest"),
    (lambda m: m["leaves"].append(dict(m["leaves"][0])), r"more leaves than its tree"),
    (lambda m: m.pop("tree"), r"malformed manifest \(KeyError"),
])
def test_an_inconsistent_manifest_is_refused(tmp_path, edit, match):
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"x": jnp.ones(2, jnp.float32)})
    manifest, members = read_raw(path)
    edit(manifest)
    write_raw(path, manifest, members)
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(path)


# --------------------------------------------------------------------- crash safety


def _temp_files(directory):
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def _stop_mid_write(pid, directory):
    """Freeze writer ``pid`` (SIGSTOP) at a moment its temporary file exists, so the
    kill that follows lands mid-write whatever the machine's speed or load. The
    deadline only guards against a hang; it decides nothing."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(f".{pid}." in p.name for p in _temp_files(directory)):
            os.kill(pid, signal.SIGSTOP)
            if any(f".{pid}." in p.name for p in _temp_files(directory)):
                return
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.0005)
    raise AssertionError(f"writer {pid} was never caught with its temporary file open")


def test_sigkill_mid_save_leaves_the_previous_checkpoint_intact(tmp_path):
    """Kill a writer (SIGKILL) while it saves 4 MiB checkpoints in a loop; every time,
    the file at the path is a complete checkpoint of some generation.

    Even trials freeze the writer while its temporary file exists and kill it there
    (mid-write); odd trials wait until it has replaced the file once and kill it after
    a random delay (after a completed save). Both kinds happen on every run, however
    fast or loaded the machine."""
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, tree_for(0), {"gen": 0})
    script = Path(__file__).with_name("checkpoint_writer.py")
    rng = np.random.default_rng(0)
    gen, killed_mid_write, committed = 0, 0, 0
    with subprocess.Popen([sys.executable, str(script), str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as writer:

        def ask(line):
            writer.stdin.write(line + "\n")
            writer.stdin.flush()
            return writer.stdout.readline().strip()

        assert writer.stdout.readline().strip() == "ready"
        for trial in range(KILL_TRIALS):
            inode = path.stat().st_ino
            pid = int(ask(f"spawn {gen}"))
            if trial % 2:
                deadline = time.monotonic() + 120  # a hang guard only
                while path.stat().st_ino == inode and time.monotonic() < deadline:
                    time.sleep(0.002)
                assert path.stat().st_ino != inode, "the writer never completed a save"
                time.sleep(rng.uniform(0.0, 0.06))
            else:
                _stop_mid_write(pid, tmp_path)
                killed_mid_write += 1
            os.kill(pid, signal.SIGKILL)
            assert ask(f"reap {pid}") == f"signal {int(signal.SIGKILL)}"
            loaded, metadata = checkpoint.load(path)
            assert metadata["gen"] >= gen
            committed += metadata["gen"] > gen
            gen = metadata["gen"]
            assert_trees_identical(loaded, tree_for(gen))
        writer.stdin.write("quit\n")
    print(f"{KILL_TRIALS} kills: {killed_mid_write} mid-write, {committed} after a new save")
    # Every odd trial waited for a completed save before its kill.
    assert committed >= KILL_TRIALS // 2, committed
    # The killed writers' temporary files are gone after the next save.
    checkpoint.save(path, tree_for(gen + 1), {"gen": gen + 1})
    assert _temp_files(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_stale_temp_files_are_ignored_then_cleaned_only_when_their_writer_is_gone(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    stale = tmp_path / f".ckpt_000009.npz.{dead_pid}.0123456789abcdef.tmp"
    ours = tmp_path / f".ckpt_000009.npz.{os.getpid()}.0123456789abcdef.tmp"
    stale.write_bytes(b"half a checkpoint")
    ours.write_bytes(b"another writer still at work")
    checkpoint.save_step(tmp_path, 1, {"w": jnp.ones(1)})
    assert checkpoint.latest(tmp_path) == os.path.join(tmp_path, "ckpt_000001.npz")
    assert not stale.exists()
    assert ours.exists()


# --------------------------------------------------------------------- folders


def test_save_step_keeps_the_last_n_and_restore_latest_reads_the_newest(tmp_path):
    run = tmp_path / "runs" / "mnist"
    assert checkpoint.latest(run) is None
    assert checkpoint.restore_latest(run) is None
    for epoch in range(6):
        written = checkpoint.save_step(run, epoch, {"w": jnp.full(2, float(epoch))},
                                       {"epoch": epoch}, keep=3)
        assert written == os.path.join(run, f"ckpt_{epoch:06d}.npz")
    assert sorted(p.name for p in run.iterdir()) == [
        "ckpt_000003.npz", "ckpt_000004.npz", "ckpt_000005.npz"]
    assert checkpoint.list_steps(run) == [3, 4, 5]
    assert checkpoint.latest(run) == os.path.join(run, "ckpt_000005.npz")
    tree, metadata, step = checkpoint.restore_latest(run, like={"w": jnp.zeros(2)})
    assert_trees_identical(tree, {"w": jnp.full(2, 5.0)})
    assert (metadata, step) == ({"epoch": 5}, 5)


def test_save_step_refuses_a_step_below_the_newest_and_sorts_big_steps_numerically(tmp_path):
    checkpoint.save_step(tmp_path, 999_999, {})
    checkpoint.save_step(tmp_path, 1_000_000, {})
    assert checkpoint.list_steps(tmp_path) == [999_999, 1_000_000]
    assert checkpoint.latest(tmp_path).endswith("ckpt_1000000.npz")
    # a rerun from an earlier step would hide behind the newer file: refused, nothing lost
    with pytest.raises(ValueError, match=r"save_step: directory .* already holds step 1000000 "
                                         r"\(ckpt_1000000\.npz\), newer than step 5; latest"):
        checkpoint.save_step(tmp_path, 5, {}, keep=1)
    assert checkpoint.list_steps(tmp_path) == [999_999, 1_000_000]
    checkpoint.save_step(tmp_path, 1_000_000, {"w": jnp.ones(1)}, keep=1)  # the same step
    assert checkpoint.list_steps(tmp_path) == [1_000_000]
    checkpoint.save_step(tmp_path, 1_000_001, {}, keep=None)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / "ckpt_12.npz").write_text("not a step name")
    assert checkpoint.list_steps(tmp_path) == [1_000_000, 1_000_001]


@pytest.mark.parametrize(("step", "keep", "match"), [
    (-1, None, r"step must be a non-negative int, got -1"),
    (1.5, None, r"step must be a non-negative int, got 1\.5"),
    (True, None, r"step must be a non-negative int, got True"),
    (1, 0, r"keep must be a positive int or None, got 0"),
    (1, 2.0, r"keep must be a positive int or None, got 2\.0"),
])
def test_save_step_validates_step_and_keep(tmp_path, step, keep, match):
    with pytest.raises(ValueError, match=match):
        checkpoint.save_step(tmp_path, step, {}, keep=keep)
    assert list(tmp_path.iterdir()) == []


def test_restore_latest_raises_on_a_corrupted_newest_checkpoint(tmp_path):
    checkpoint.save_step(tmp_path, 1, {"w": jnp.ones(2)})
    newest = checkpoint.save_step(tmp_path, 2, {"w": jnp.ones(2)})
    Path(newest).write_bytes(Path(newest).read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"ckpt_000002\.npz: not a funcnet checkpoint"):
        checkpoint.restore_latest(tmp_path)


def test_a_constant_learning_rate_state_round_trips_without_like(tmp_path):
    # a float rate is a ScaleByLearningRateState of scalar arrays, like a schedule's
    from funcnet import optim

    params = {"w": jnp.arange(3.0)}
    tree = {"opt_state": optim.adam(0.1).init(params)}
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, tree)
    loaded, _ = checkpoint.load(path)
    assert jax.tree.structure(loaded) == jax.tree.structure(tree)
    assert isinstance(loaded["opt_state"][1], optim.ScaleByLearningRateState)
    assert float(optim.current_learning_rate(loaded["opt_state"])) == np.float32(0.1)


def _with_static_rate_node(path, params):
    """Write ``path`` as funcnet before one-lr wrote an ``adam(0.1)`` state: the rate an
    array-free "static" ConstantLearningRate node, with no leaves of its own."""
    from funcnet import optim

    checkpoint.save(path, {"params": params, "opt_state": optim.adam(0.1).init(params)})
    manifest, members = read_raw(path)
    opt_node = manifest["tree"]["children"][0]
    opt_node["children"][1] = {"kind": "static", "module": "funcnet.optim.transforms",
                               "qualname": "ConstantLearningRate",
                               "fields": {"learning_rate": 0.1}}
    for name in ("['opt_state'][1].count", "['opt_state'][1].learning_rate"):
        del members[name]
    manifest["leaves"] = [r for r in manifest["leaves"] if r["name"] in members]
    write_raw(path, manifest, members)


def test_a_checkpoint_with_the_old_static_learning_rate_node_is_refused_by_name(tmp_path):
    from funcnet import optim

    params = {"w": jnp.arange(3.0)}
    path = tmp_path / "old.npz"
    _with_static_rate_node(path, params)
    with pytest.raises(CheckpointError, match=r"the checkpoint has a static node "
                                              r"funcnet\.optim\.transforms\.ConstantLearning"
                                              r"Rate at \['opt_state'\]\[1\], a kind of node "
                                              r"this version of funcnet does not read"):
        checkpoint.load(path)
    like = {"params": params, "opt_state": optim.adam(0.1).init(params)}
    with pytest.raises(CheckpointError, match=r"does not match like: at \['opt_state'\]\[1\] "
                                              r"the checkpoint has a static node funcnet\.optim"
                                              r"\.transforms\.ConstantLearningRate but like has "
                                              r"a NamedTuple funcnet\.optim\.transforms\."
                                              r"ScaleByLearningRateState"):
        checkpoint.load(path, like=like)
