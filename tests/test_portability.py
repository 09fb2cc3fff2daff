"""scripts/portability.py: the XLA_FLAGS it sets, the levels it picks, and the table it prints."""

import importlib.util
import os
import re
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "portability", Path(__file__).resolve().parent.parent / "scripts" / "portability.py"
)
portability = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(portability)

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="notebooks.ch01_perceptron.ipynb" name="Cell 0" time="1.0" />
<testcase classname="notebooks.ch01_perceptron.ipynb" name="Cell 1" time="1.0">
  <failure message="Notebook cell execution failed">outputs differ</failure></testcase>
<testcase classname="solutions.ch07a_rnn_basics.ipynb" name="Cell 0" time="1.0" />
<testcase classname="solutions.ch07a_rnn_basics.ipynb" name="Cell 4" time="1.0">
  <error message="worker crashed">boom</error></testcase>
<testcase classname="tests.test_losses" name="test_something" time="0.1">
  <failure message="x">not a notebook</failure></testcase>
</testsuite></testsuites>
"""


@pytest.mark.parametrize(
    ("level", "base", "expected"),
    [
        ("SSE4_2", "", "--xla_cpu_max_isa=SSE4_2"),
        (
            "AVX",
            "--xla_force_host_platform_device_count=2",
            ("--xla_force_host_platform_device_count=2 --xla_cpu_max_isa=AVX"),
        ),
        # an earlier cap, the caller's own, is replaced rather than doubled
        ("AVX2", "--xla_cpu_max_isa=AVX512 --foo", "--foo --xla_cpu_max_isa=AVX2"),
        ("default", "--xla_cpu_max_isa=AVX --foo", "--foo"),
    ],
)
def test_xla_flags_add_one_cap_and_keep_the_callers_flags(level, base, expected):
    assert portability.xla_flags_for(level, base) == expected


def test_failed_cells_are_read_per_notebook_and_other_tests_ignored(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text(JUNIT)
    assert portability.notebook_results(report) == {
        "notebooks/ch01_perceptron.ipynb": ["code cell 1"],
        "solutions/ch07a_rnn_basics.ipynb": ["code cell 4"],
    }


def test_the_table_has_a_row_per_notebook_and_a_column_per_level():
    columns = {
        "SSE4_2": {"notebooks/a.ipynb": [], "notebooks/b.ipynb": ["code cell 3", "code cell 5"]},
        "AVX": {"notebooks/a.ipynb": []},
    }
    rows = portability.table(columns).splitlines()
    assert rows[0] == "| notebook | SSE4_2 | AVX |"
    assert rows[2] == "| notebooks/a.ipynb | pass | pass |"
    assert rows[3] == "| notebooks/b.ipynb | FAIL: code cell 3, code cell 5 | not run |"


@pytest.mark.parametrize(
    ("machine", "flags", "expected"),
    [
        ("x86_64", {"sse4_2", "avx", "avx2", "avx512f"}, ["SSE4_2", "AVX", "AVX2", "AVX512"]),
        ("x86_64", {"sse4_2", "avx", "avx2"}, ["SSE4_2", "AVX", "AVX2"]),  # no AVX-512
        ("AMD64", {"sse4_2"}, ["SSE4_2"]),
        ("arm64", {"sse4_2", "avx"}, []),  # the cap is an x86 flag: nothing to vary on ARM
    ],
)
def test_levels_follow_the_cpu(monkeypatch, machine, flags, expected):
    monkeypatch.setattr(portability.platform, "machine", lambda: machine)
    monkeypatch.setattr(portability, "cpu_flags", lambda: flags)
    assert portability.supported_levels() == expected


def test_an_unsupported_level_is_skipped_with_a_message(monkeypatch, capsys):
    monkeypatch.setattr(portability, "supported_levels", lambda: [])
    assert portability.main(["--isa", "SSE4_2"]) == 0
    assert "skipping SSE4_2: this CPU does not support it" in capsys.readouterr().out


def test_an_unknown_level_is_an_error_naming_it():
    with pytest.raises(SystemExit) as err:
        portability.main(["--isa", "AVX3"])
    assert err.value.code == 2


def test_nudged_adds_no_isa_cap_and_runs_after_the_cpu_levels(monkeypatch, tmp_path):
    assert portability.xla_flags_for("NUDGED", "--foo --xla_cpu_max_isa=AVX") == "--foo"
    ran = []
    monkeypatch.setattr(portability, "supported_levels", lambda: ["SSE4_2", "AVX"])
    monkeypatch.setattr(
        portability, "run_level", lambda level, *a: (ran.append(level), ({}, 0.0))[1]
    )
    monkeypatch.setattr(portability, "OUT_DIR", tmp_path)
    assert portability.main([]) == 0
    assert ran == ["SSE4_2", "AVX", "NUDGED"]


def test_a_combined_level_caps_the_isa_and_nudges(monkeypatch, tmp_path):
    """SSE4_2+NUDGED (what CI runs): the cap of its ISA part, and the nudge's start-up file."""
    assert (
        portability.xla_flags_for("SSE4_2+NUDGED", "--foo --xla_cpu_max_isa=AVX")
        == "--foo --xla_cpu_max_isa=SSE4_2"
    )
    assert portability._is_nudged("SSE4_2+NUDGED") and portability._is_nudged("NUDGED")
    assert not portability._is_nudged("SSE4_2") and not portability._is_nudged("AVX2")
    ran = []
    monkeypatch.setattr(
        portability, "run_level", lambda level, *a: (ran.append(level), ({}, 0.0))[1]
    )
    monkeypatch.setattr(portability, "OUT_DIR", tmp_path)
    monkeypatch.setattr(portability, "supported_levels", lambda: ["SSE4_2", "AVX"])
    assert portability.main(["--isa", "sse4.2+nudged", "AVX"]) == 0
    assert ran == ["SSE4_2+NUDGED", "AVX"]
    # where the cap cannot apply (an ARM laptop), the nudge still runs
    ran.clear()
    monkeypatch.setattr(portability, "supported_levels", lambda: [])
    assert portability.main(["--isa", "SSE4_2+NUDGED"]) == 0
    assert ran == ["NUDGED"]


@pytest.mark.parametrize("bad", ["NUDGED+SSE4_2", "SSE4_2+AVX", "AVX3+NUDGED", "SSE4_2+NUDGED+X"])
def test_a_malformed_combined_level_is_an_error(bad):
    with pytest.raises(SystemExit) as err:
        portability.main(["--isa", bad])
    assert err.value.code == 2


def test_the_nudge_moves_every_float_draw_by_about_two_ulps_and_leaves_integers():
    """The start-up file's code, run in a fresh interpreter, in float32 and float64.

    Multiplying by 1 + 2 eps moves |a| by 2 eps |a|, which is 2 to 4 ulps of a (an ulp of a is
    eps times the power of two at or below |a|), before rounding to the nearest float.
    """
    import subprocess
    import sys

    probe = portability.NUDGE_STARTUP + "\n".join(
        [
            "import numpy as np",
            "k = jax.random.key(0)",
            "orig = jax.random.normal.__wrapped__",
            "for dt in (jnp.float32, jnp.float64):",
            "    a = np.asarray(orig(k, (1000,), dt))",
            "    b = np.asarray(jax.random.normal(k, (1000,), dt))",
            "    ulps = np.abs(b - a) / np.spacing(np.abs(a))",
            "    print(dt.__name__, ulps.min() >= 1, ulps.max() <= 4, b.dtype == dt)",
            "ints = _nudged(lambda: jnp.arange(3))()",
            "print(ints.tolist() == [0, 1, 2])",
        ]
    )
    env = {"JAX_ENABLE_X64": "1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == [
        "float32 True True True",
        "float64 True True True",
        "True",
    ]


def test_level_env_caps_the_isa_and_nudges_as_the_run_does(monkeypatch, tmp_path):
    """The environment a process gets at a level (the browser test's kernels use it, CI's
    BROWSER_ISA): the cap in XLA_FLAGS, and for a nudged level an IPYTHONDIR whose start-up
    file IPython really loads (level_env checks that by starting IPython)."""
    monkeypatch.setattr(portability, "OUT_DIR", tmp_path)
    base = {"XLA_FLAGS": "--foo --xla_cpu_max_isa=AVX", "PATH": os.environ.get("PATH", "")}
    plain = portability.level_env("SSE4_2", base)
    assert plain["XLA_FLAGS"] == "--foo --xla_cpu_max_isa=SSE4_2" and "IPYTHONDIR" not in plain
    assert base["XLA_FLAGS"] == "--foo --xla_cpu_max_isa=AVX", "the caller's dict is kept"
    nudged = portability.level_env("SSE4_2+NUDGED", base)
    assert nudged["XLA_FLAGS"] == "--foo --xla_cpu_max_isa=SSE4_2"
    startup = Path(nudged["IPYTHONDIR"]) / "profile_default" / "startup" / "00_nudge.py"
    assert startup.read_text() == portability.NUDGE_STARTUP
    assert list(startup.parent.glob(".*.tmp")) == [], "the file is written whole, then renamed"


@pytest.mark.parametrize("bad", ["", "sse4_2", "NUDGED+SSE4_2", "AVX3", "SSE4_2+AVX"])
def test_level_env_names_a_bad_level(bad):
    with pytest.raises(ValueError, match=f"level: expected .* got {re.escape(repr(bad))}"):
        portability.level_env(bad, {})


def test_the_compilation_cache_option_reaches_the_run(monkeypatch, tmp_path):
    """--compilation-cache DIR: the kernels get JAX's cache in DIR (absolute: nbval's kernels
    start in the notebooks' folders) with the course kernel's threshold of 0 s; without it
    nothing is cached."""
    env = portability.cache_env(".cache/jax")
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(Path(".cache/jax").resolve())
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    seen = []
    monkeypatch.setattr(
        portability,
        "run_level",
        lambda level, paths, w, py, cache=None: seen.append(cache) or ({}, 0.0),
    )
    monkeypatch.setattr(portability, "OUT_DIR", tmp_path)
    monkeypatch.setattr(portability, "supported_levels", lambda: ["SSE4_2"])
    assert portability.main(["--isa", "SSE4_2", "--compilation-cache", str(tmp_path / "c")]) == 0
    assert portability.main(["--isa", "SSE4_2"]) == 0
    assert seen == [str(tmp_path / "c"), None]
