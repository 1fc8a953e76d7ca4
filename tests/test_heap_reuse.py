"""Freed memory kept for reuse (seqzoo.heap_reuse): glibc's mmap and trim thresholds set once when
a run starts, left alone where the environment tunes malloc itself or opts out, a clear error for a
bad value.

Each case runs in a fresh interpreter (the setting is per process). The effect is checked by its
cause, not by a timing: page faults while numpy arrays of 1 MiB are made and freed again and again
(each a fresh set of 256 pages with glibc's defaults, none once freed memory is kept).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqzoo.errors import UsageError
from seqzoo.heap_reuse import ENV, wanted

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GLIBC = sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")

PROBE = """
import json, resource, sys
import numpy as np
import seqzoo
from seqzoo import heap_reuse

def faults():
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(40):
        a = np.ones(1 << 17)  # 1 MiB
        b = a + 1
        del a, b
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

before = faults()
if sys.argv[1] == "run":  # a run of the API sets it (setup_run), here a windows-only run of the examples
    ex = sys.argv[2]
    seqzoo.windows_vcf("HAL", ex + "/genome.fa", ex + "/variants.vcf", ex + "/annotation.gtf")
    tuned = heap_reuse.reuse_freed_memory()  # what the run did
else:
    tuned = heap_reuse.reuse_freed_memory()
print(json.dumps({"before": before, "after": faults(), "tuned": tuned}))
"""


def probe(env: dict, how: str = "call") -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k not in (ENV, "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", PROBE, how, str(EXAMPLES)], env={**environ, **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc settings (elsewhere nothing is set)")
def test_a_run_keeps_freed_memory_and_the_page_faults_stop():
    r = probe({}, "run")
    assert r["tuned"] is True
    assert r["before"] > 40 * 200  # glibc's defaults: ~2 x 256 fresh pages per round
    assert r["after"] < 1000  # the first round's pages only (2 x 256)


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc settings (elsewhere nothing is set)")
def test_0_leaves_malloc_alone():
    assert probe({ENV: "1"})["tuned"] is True
    off = probe({ENV: "0"})
    assert off["tuned"] is False
    assert off["after"] > 40 * 200  # still fresh pages at every turn


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc settings (elsewhere nothing is set)")
@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "131072"}, {"MALLOC_TOP_PAD_": "0"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_the_environments_own_malloc_settings_win(env):
    r = probe(env)
    assert r["tuned"] is False
    assert r["after"] > 40 * 200


def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv(ENV, "yes")
    with pytest.raises(UsageError) as err:
        wanted()
    assert str(err.value) == ("SEQZOO_TUNE_MALLOC must be 1 (keep freed memory for reuse, the default) or 0 (leave "
                              "the C allocator's settings alone), not 'yes'")
    monkeypatch.setenv(ENV, " 0 ")
    assert wanted() is False
    monkeypatch.delenv(ENV)
    assert wanted() is True
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert wanted() is False
