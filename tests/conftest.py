"""Shared test setup: float64 everywhere gradients are checked, a key fixture, and
hypothesis profiles that keep the suite inside its time budget on 2 cores."""

import os
import pathlib
import sys
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
# The examples import their shared command line (examples/_cli.py) as a sibling module,
# as they do when run as scripts; tests load them by path, so put that folder on the path.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Gradient truth is checked in float64; tests that need float32 ask for it explicitly.
jax.config.update("jax_enable_x64", True)

# Many tests compile the same small programs (a model family, a step, an evaluation):
# the two pytest workers share JAX's persistent compilation cache, so each is compiled
# once per machine (about 10% of the suite's time on a clean one). Only these two
# processes use it: the tests that start processes of their own (determinism across
# core counts, several hosts) compile from scratch, as a user's run would.
jax.config.update("jax_compilation_cache_dir",
                  os.path.join(tempfile.gettempdir(), "funcnet-tests-jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

# "ci" (the default) draws its examples from a fixed seed: the same random shapes on
# every run, so a green suite stays green and a red one reproduces. "explore" draws new
# ones each run, for hunting (HYPOTHESIS_PROFILE=explore python -m pytest).
_COMMON = {"deadline": None,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=6, derandomize=True, **_COMMON)
settings.register_profile("explore", max_examples=10, derandomize=False, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def key():
    """A fresh PRNG key; tests split it rather than reuse it."""
    return jax.random.key(0)
