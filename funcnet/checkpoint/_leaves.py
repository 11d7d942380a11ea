"""Leaves <-> stored arrays: dtype views for ml_dtypes (bfloat16), PRNG keys, dtype checks
against ``like``, and JSON-ready metadata."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from funcnet.checkpoint._format import CheckpointError

# Dtypes that .npy cannot describe; stored as an unsigned-int view of the same width.
_EXTENDED_DTYPES = {
    np.dtype(getattr(jnp, name)).name: np.dtype(getattr(jnp, name))
    for name in (
        "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz",
        "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn",
        "int2", "int4", "uint2", "uint4",
    )
    if hasattr(jnp, name)
}


def _is_key_array(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _key_impl_name(x) -> str:
    if isinstance(x, jax.Array):
        return str(jax.random.key_impl(x))
    # An abstract template (jax.ShapeDtypeStruct) only has the dtype to ask.
    impl = getattr(x.dtype, "_impl", None)
    return getattr(impl, "name", str(x.dtype))


def _scalar_dtype(x):
    """The dtype jax gives a Python number (int32/float32 unless jax_enable_x64)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.result_type(x)))


def _to_storage(name, x):
    """``(record, array)``: the manifest entry of a leaf and the array written for it."""
    if _is_key_array(x):
        data = np.asarray(jax.random.key_data(x))
        logical, shape = f"key<{_key_impl_name(x)}>", tuple(x.shape)
    else:
        if isinstance(x, numbers.Number) and not isinstance(x, np.generic):
            if not isinstance(x, bool | int | float | complex):
                raise TypeError(f"checkpoint.save: leaf {name} is a "
                                f"{type(x).__name__}; convert it to an array")
            try:
                arr = np.asarray(x, dtype=_scalar_dtype(x))
            except OverflowError as e:
                raise ValueError(f"checkpoint.save: leaf {name} = {x!r}: {e}") from None
        elif isinstance(x, np.ndarray | np.generic | jax.Array):
            arr = np.asarray(x)
        else:
            raise TypeError(f"checkpoint.save: leaf {name} is a {type(x).__name__}; only "
                            f"arrays and numbers can be saved (put other values in metadata)")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        logical, shape = arr.dtype.name, arr.shape
        if logical in _EXTENDED_DTYPES:
            data = arr.view(np.dtype(f"u{arr.dtype.itemsize}"))
        elif arr.dtype.kind in "biufc":
            data = arr
        else:
            raise TypeError(f"checkpoint.save: leaf {name} has dtype {arr.dtype}; only "
                            f"bool, integer, floating and complex arrays can be saved")
    data = np.require(data, requirements="C")  # ascontiguousarray would make 0-d 1-d
    record = {"name": name, "dtype": logical, "shape": list(shape),
              "stored_dtype": data.dtype.str, "stored_shape": list(data.shape)}
    return record, data


def _spec(name, x):
    """``(dtype name, shape)`` of a ``like`` leaf, as the manifest records them."""
    if _is_key_array(x):
        return f"key<{_key_impl_name(x)}>", tuple(x.shape)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return np.dtype(x.dtype).name, tuple(x.shape)
    if isinstance(x, bool | int | float | complex):
        return _scalar_dtype(x).name, ()
    raise TypeError(f"checkpoint.load: like has a {type(x).__name__} leaf at {name}; "
                    f"like must hold arrays, jax.ShapeDtypeStruct or numbers")


def _from_storage(path, record, data):
    """The leaf as a jax array, after checking ``data`` is what ``record`` says."""
    name = record["name"]
    stored_dtype = np.dtype(record["stored_dtype"])
    if data.dtype != stored_dtype or list(data.shape) != record["stored_shape"]:
        raise CheckpointError(f"{path}: array {name} has dtype {data.dtype} and shape "
                              f"{data.shape}, but the manifest says {stored_dtype} and "
                              f"{tuple(record['stored_shape'])}")
    logical = record["dtype"]
    if logical.startswith("key<") and logical.endswith(">"):
        try:
            keys = jax.random.wrap_key_data(jnp.asarray(data), impl=logical[4:-1])
        except Exception as e:
            raise CheckpointError(f"{path}: cannot rebuild the PRNG key {name} "
                                  f"({logical}): {e}") from e
        if list(keys.shape) != record["shape"]:
            raise CheckpointError(f"{path}: key {name} has shape {keys.shape}, but the "
                                  f"manifest says {tuple(record['shape'])}")
        return keys
    dtype = _EXTENDED_DTYPES.get(logical)
    if dtype is None:
        try:
            dtype = np.dtype(logical)
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind not in "biufc" or dtype != stored_dtype:
            raise CheckpointError(f"{path}: leaf {name} has unsupported dtype {logical!r}")
    elif dtype.itemsize != stored_dtype.itemsize or stored_dtype.kind != "u":
        raise CheckpointError(f"{path}: leaf {name} ({logical}) is stored as {stored_dtype}")
    if list(data.shape) != record["shape"]:
        raise CheckpointError(f"{path}: leaf {name} has shape {data.shape}, but the "
                              f"manifest says {tuple(record['shape'])}")
    if np.dtype(jax.dtypes.canonicalize_dtype(dtype)) != dtype:
        raise CheckpointError(
            f"{path}: leaf {name} is {dtype}, which jax would narrow to "
            f"{np.dtype(jax.dtypes.canonicalize_dtype(dtype))} because jax_enable_x64 is "
            f"off; call jax.config.update('jax_enable_x64', True) before loading")
    return jnp.asarray(data.view(dtype))


def _json_ready(value, where):
    """``value`` with numpy/jax scalars made Python numbers, tuples made lists."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray | jax.Array)
                                         and value.shape == () and not _is_key_array(value)):
        return _json_ready(np.asarray(value).item(), where)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"checkpoint.save: metadata keys must be str (JSON), got "
                                f"{type(k).__name__} key {k!r} in metadata{where}")
            out[k] = _json_ready(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_json_ready(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"checkpoint.save: metadata{where} is a {type(value).__name__}, which "
                    f"JSON cannot hold; use numbers, strings, bools, None, lists and dicts")

