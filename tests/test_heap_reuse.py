"""Freed memory kept for reuse (seqzoo.heap_reuse): glibc's mmap and trim thresholds set once by the
command line (never by the Python API unless asked), left alone where the environment sets them
itself or opts out, a clear error for a bad value.

Each case runs in a fresh interpreter (the setting is per process and cannot be undone). The effect
is checked by its cause, not by a timing: page faults while numpy arrays are made and freed again
and again. With glibc's defaults a round that frees more than twice the largest block freed so far
shrinks the heap, so every round's arrays are fresh pages; once the thresholds are set, only the
first round's are. Arrays of 1 MiB test the trim threshold, arrays of 8 MiB (above what the first
loop taught glibc) the mmap threshold.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqzoo.errors import UsageError
from seqzoo.heap_reuse import ENV, USER_VARIABLES, wanted

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GLIBC = sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
needs_glibc = pytest.mark.skipif(not GLIBC, reason="glibc's malloc thresholds (elsewhere nothing is set)")

PROBE = """
import json, resource, sys
import numpy as np
import seqzoo
import seqzoo.cli
from seqzoo import heap_reuse

def faults(mib):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        a = np.ones(mib << 17)
        b = a + 1
        del a, b
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

how, ex, out = sys.argv[1:4]
before = faults(1)
if how == "cli":  # the command line (in this process, to read its state after)
    code = seqzoo.cli.main(["windows", "--model", "HAL", "--fasta", ex + "/genome.fa", "--gtf", ex + "/annotation.gtf",
                            "--vcf", ex + "/variants.vcf", "-o", out, "--quiet"])
    assert code == 0, code
elif how == "api":  # a run of the Python API
    seqzoo.windows_vcf("HAL", ex + "/genome.fa", ex + "/variants.vcf", ex + "/annotation.gtf")
else:  # the API function itself
    assert seqzoo.reuse_freed_memory() is (how == "call-yes")
print(json.dumps({"before": before, "after": faults(1), "after_large": faults(8), "done": heap_reuse._done,
                  "set": heap_reuse._set}))
"""
#: pages of one round of 1 MiB arrays (two of them): every round's with glibc's defaults, the first's
#: only once the thresholds are set
ROUND = 2 * 256


def probe(tmp_path, how: str, env: dict | None = None) -> dict:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("MALLOC_") and k not in (ENV, "GLIBC_TUNABLES", "LD_PRELOAD")}
    out = subprocess.run([sys.executable, "-c", PROBE, how, str(EXAMPLES), str(tmp_path / "w.tsv")],
                         env={**environ, **(env or {})}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["before"] > 20 * ROUND * 0.8  # glibc's defaults in a fresh process: fresh pages every round
    return r


@needs_glibc
def test_the_command_line_keeps_freed_memory_and_the_page_faults_stop(tmp_path):
    r = probe(tmp_path, "cli")
    assert r["done"] is True and r["set"] is True
    assert r["after"] < 2 * ROUND  # the first round's pages only
    assert r["after_large"] < 8 * 2 * ROUND  # 8 MiB arrays from the heap too (not mapped afresh)


@needs_glibc
def test_the_python_api_leaves_malloc_alone_unless_asked(tmp_path):
    r = probe(tmp_path, "api")
    assert r["done"] is False and r["set"] is False
    assert r["after"] > 20 * ROUND * 0.8
    asked = probe(tmp_path, "call-yes")
    assert asked["set"] is True and asked["after"] < 2 * ROUND and asked["after_large"] < 8 * 2 * ROUND


@needs_glibc
@pytest.mark.parametrize("env", [{ENV: "0"}, {"MALLOC_TRIM_THRESHOLD_": "131072"}, {"MALLOC_TOP_PAD_": "0"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_0_or_the_environments_own_thresholds_leave_malloc_alone(tmp_path, env):
    r = probe(tmp_path, "call-no", env)
    assert r["done"] is True and r["set"] is False
    assert r["after"] > 20 * ROUND * 0.8  # still fresh pages at every turn


def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch):
    for name in USER_VARIABLES + ("GLIBC_TUNABLES",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV, "yes")
    with pytest.raises(UsageError) as err:
        wanted()
    assert str(err.value) == ("environment variable SEQZOO_TUNE_MALLOC must be 1 (keep freed memory for reuse, the "
                              "default) or 0 (leave the C allocator's settings alone), not 'yes'")
    monkeypatch.setenv(ENV, " 0 ")
    assert wanted() is False
    monkeypatch.delenv(ENV)
    assert wanted() is True
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")  # not a threshold: ours still set
    assert wanted() is True
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536")
    assert wanted() is False
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert wanted() is False
