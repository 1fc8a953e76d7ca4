"""The Snakemake workflow through its SLURM profile (workflow/profiles/slurm) on a real single-node
SLURM cluster that scripts/slurm_cluster.sh starts here (munged, MariaDB, slurmdbd, slurmctld,
slurmd), against a local-executor run of the same config; and the profile's loud failures.

Needs root (the script starts the daemons) and the Debian packages (`scripts/slurm_cluster.sh
install`, which .ci/run does). Not root: skipped loudly. SEQZOO_TEST_SLURM=0: skipped loudly.
Otherwise a cluster that does not come up is a failure, not a skip. Every subprocess runs under
one deadline (DEADLINE_S for the whole module); the cluster is stopped (by the PIDs its script
recorded) at the end whatever happens, unless it was already running before the tests.

The checks of workflow/slurm_preflight.py's pure functions at the end need no cluster.
"""
from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import ROOT, require_weights
from seqzoo.synthetic import make_gene_model_dataset
from test_workflow import MODELS, SNAKEMAKE, WEIGHTS, _augment, _seqzoo_executable, assert_same_outputs

SCRIPT = ROOT / "scripts" / "slurm_cluster.sh"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
SNAKEFILE = ROOT / "workflow" / "Snakefile"
DEADLINE_S = 600  # the whole module, cluster start and stop included
MERGED = ("merged.parquet", "merged.vcf.gz", "merged.skipped.tsv", "merged.summary.json")


def _load_preflight():
    spec = importlib.util.spec_from_file_location("slurm_preflight", ROOT / "workflow" / "slurm_preflight.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


preflight = _load_preflight()


class Deadline:
    """One wall-clock budget shared by every subprocess of the module."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 5:
            pytest.fail(f"the SLURM tests ran past their {DEADLINE_S} s budget")
        return left

    def run(self, cmd, *, env=None, cwd=None, limit: float = 300) -> subprocess.CompletedProcess:
        """Runs cmd in its own session; past min(limit, what is left) the whole session is killed."""
        timeout = min(limit, self.left())
        proc = subprocess.Popen([str(c) for c in cmd], env=env, cwd=cwd, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            pytest.fail(f"timed out after {timeout:.0f} s (a hang): {' '.join(map(str, cmd))}\n{out[-5000:]}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


@pytest.fixture(scope="module")
def deadline():
    return Deadline(DEADLINE_S)


@pytest.fixture(scope="module")
def cluster(deadline):
    """SLURM_CONF of a running cluster: started through scripts/slurm_cluster.sh, stopped at the end."""
    if os.environ.get("SEQZOO_TEST_SLURM") == "0":
        pytest.skip("SKIPPED LOUDLY: SEQZOO_TEST_SLURM=0, the workflow is NOT tested on SLURM")
    if os.geteuid() != 0:
        pytest.skip("SKIPPED LOUDLY: not root, so no SLURM cluster can be started here (scripts/slurm_cluster.sh "
                    "starts munged, MariaDB and the SLURM daemons); the workflow is NOT tested on SLURM")
    if not SNAKEMAKE.is_file():
        pytest.fail(f"{SNAKEMAKE} not found: python3 -m venv .venv-snakemake && .venv-snakemake/bin/pip install "
                    f"-c constraints-snakemake.txt snakemake snakemake-executor-plugin-slurm")
    probe = subprocess.run([str(SNAKEMAKE.parent / "python"), "-c", "import snakemake_executor_plugin_slurm"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail("snakemake-executor-plugin-slurm is not installed in .venv-snakemake: .venv-snakemake/bin/pip "
                    "install -c constraints-snakemake.txt snakemake-executor-plugin-slurm")
    started_here = True  # a start that fails or times out half-way is stopped too
    try:
        start = deadline.run(["bash", SCRIPT, "start"], limit=180)
        started_here = "already running" not in start.stdout
        assert start.returncode == 0, f"scripts/slurm_cluster.sh start failed:\n{start.stdout[-5000:]}"
        conf = re.search(r"^export SLURM_CONF=(\S+)$", start.stdout, re.M)
        assert conf, start.stdout
        yield conf.group(1)
    finally:
        if started_here:
            stop = subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True, timeout=120)
            assert stop.returncode == 0, stop.stdout + stop.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The synthetic genome, GTF and augmented VCF of tests/test_workflow.py."""
    d = tmp_path_factory.mktemp("slurm_data")
    paths = make_gene_model_dataset(d)
    _augment(paths["vcf"], "".join(paths["fasta"].read_text().splitlines()[1:]))
    lines = paths["vcf"].read_text().splitlines()
    body = [x for x in lines if not x.startswith("#")]
    assert all(x.startswith("chr1\t") for x in body[:10])
    paths["small_vcf"] = d / "small.vcf"  # one contig, one shard: three jobs (shard, score, merge) per model
    paths["small_vcf"].write_text("\n".join([x for x in lines if x.startswith("#")] + body[:10]) + "\n")
    return paths


def _env(slurm_conf: str, path_prefix: Path | None = None) -> dict:
    env = dict(os.environ, SLURM_CONF=slurm_conf)  # SEQZOO_WEIGHTS_DIR etc. reach the jobs: sbatch --export=ALL
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    return env


def _config(tmp_path: Path, data: dict, outdir: Path, **extra) -> Path:
    config = tmp_path / f"{outdir.name}.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "vcf": str(data["vcf"]), "fasta": str(data["fasta"]), "gtf": str(data["gtf"]), "outdir": str(outdir),
        "models": MODELS, "records_per_shard": 25, "seqzoo": _seqzoo_executable(), **extra}))
    return config


def _snakemake(config: Path, workdir: Path, *args) -> list:
    return [SNAKEMAKE, "-s", SNAKEFILE, "--configfile", config, "--directory", workdir, *args]


def _slurm(config: Path, workdir: Path, *args) -> list:
    return _snakemake(config, workdir, "--profile", PROFILE, *args)


def _sacct(slurm_conf: str, run_id: str) -> list[dict]:
    out = subprocess.run(["sacct", "-X", "-n", "-P", "--name", run_id, "-o", "JobID,Comment,State,Account"],
                         capture_output=True, text=True, env=_env(slurm_conf), timeout=60, check=True).stdout
    return [dict(zip(("id", "comment", "state", "account"), line.split("|"))) for line in out.splitlines() if line]


def _squeue(slurm_conf: str) -> str:
    return subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=_env(slurm_conf), timeout=60).stdout


def _node_cpus(slurm_conf: str) -> int:
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True, env=_env(slurm_conf),
                         timeout=60, check=True).stdout
    return max(int(x) for x in out.split())


def test_slurm_run_equals_local_run(cluster, deadline, data, tmp_path):
    """Two models, three shards (chr1, chrUn, chr1 again: the VCF is unsorted): 8 SLURM jobs (shard,
    6 score, merge), all seen by sacct as COMPLETED under the account `ci`; the merged outputs equal
    a local-executor run of the same config."""
    for f in WEIGHTS:
        require_weights(f)
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    t0 = time.monotonic()
    per_shard = {"records_per_shard": 1000}  # a shard per contig run; tests/test_workflow.py splits contigs
    proc = deadline.run(_snakemake(_config(tmp_path, data, local, **per_shard), tmp_path, "-j2"), env=_env(cluster),
                        limit=240)
    assert proc.returncode == 0, proc.stdout[-6000:]
    t1 = time.monotonic()
    proc = deadline.run(_slurm(_config(tmp_path, data, slurm, **per_shard), tmp_path), env=_env(cluster), limit=360)
    t2 = time.monotonic()
    logs = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in sorted(slurm.rglob("*.log")))
    assert proc.returncode == 0, proc.stdout[-6000:] + logs[-4000:]
    print(f"local run {t1 - t0:.0f} s, SLURM run {t2 - t1:.0f} s")

    run_id = re.search(r"SLURM run ID: (\S+)", proc.stdout).group(1)
    jobs = _sacct(cluster, run_id)
    shards = len(list((slurm / "shards").glob("shard_*.vcf")))
    assert shards == 3
    rules = sorted(re.match(r"rule_([a-z]+)", j["comment"]).group(1) for j in jobs)
    assert rules == sorted(["shard"] + ["score"] * (shards * len(MODELS)) + ["merge"]), jobs
    assert {(j["state"], j["account"]) for j in jobs} == {("COMPLETED", "ci")}, jobs

    merged = {k: slurm / f for k, f in zip(("parquet", "vcf", "skipped", "summary"), MERGED)}
    expected = {k: local / f for k, f in zip(("parquet", "vcf", "skipped", "summary"), MERGED)}
    assert_same_outputs(merged, expected)
    # same shards, same threads per job: the same values, not only the same to float32 precision
    assert pq.read_table(merged["parquet"]).equals(pq.read_table(expected["parquet"]))
    def vcf_text(path):  # the header's ##seqzooCommand names each run's own output folder
        return [line for line in gzip.decompress(path.read_bytes()).decode().splitlines()
                if not line.startswith("##seqzooCommand=")]
    assert vcf_text(merged["vcf"]) == vcf_text(expected["vcf"])
    for key in ("skipped", "summary"):
        assert merged[key].read_bytes() == expected[key].read_bytes(), key


def test_more_threads_than_node_cpus_fail_before_submitting(cluster, deadline, data, tmp_path):
    """Without the check such jobs stay pending forever (Reason=PartitionConfig)."""
    cpus = _node_cpus(cluster)
    before = _squeue(cluster)
    t0 = time.monotonic()
    proc = deadline.run(_slurm(_config(tmp_path, data, tmp_path / "out"), tmp_path, "--set-threads",
                               f"score={cpus + 1}"), env=_env(cluster), limit=120)
    assert proc.returncode != 0
    assert time.monotonic() - t0 < 60
    assert f"rule score: asks for {cpus + 1} CPUs per job, but the largest node of partition 'debug' has {cpus}" \
        in proc.stdout, proc.stdout[-3000:]
    assert "threads_per_job" in proc.stdout
    assert "has been submitted with SLURM jobid" not in proc.stdout and _squeue(cluster) == before


def test_unknown_partition_fails_before_submitting(cluster, deadline, data, tmp_path):
    proc = deadline.run(_slurm(_config(tmp_path, data, tmp_path / "out"), tmp_path, "--default-resources",
                               "slurm_partition=cpu"), env=_env(cluster), limit=120)
    assert proc.returncode != 0
    assert "partition 'cpu' does not exist (sinfo lists debug)" in proc.stdout, proc.stdout[-3000:]


def test_without_accounting_sacct_fails_fast_and_squeue_works(cluster, deadline, data, tmp_path):
    """A cluster without slurmdbd, emulated by a `sacct` that answers as SLURM's does there: the
    profile stops before submitting and names the fix; with that fix the run completes."""
    for f in WEIGHTS[:1]:
        require_weights(f)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "sacct").write_text("#!/bin/sh\necho 'Slurm accounting storage is disabled' >&2\nexit 1\n")
    (shim / "sacct").chmod(0o755)
    config = _config(tmp_path, data, tmp_path / "out", models=["Framepool"], vcf=str(data["small_vcf"]))
    proc = deadline.run(_slurm(config, tmp_path), env=_env(cluster, shim), limit=120)
    assert proc.returncode != 0
    assert "Slurm accounting storage is disabled" in proc.stdout, proc.stdout[-3000:]
    assert "slurm-status-command: squeue" in proc.stdout
    proc = deadline.run(_slurm(config, tmp_path, "--slurm-status-command", "squeue"), env=_env(cluster, shim),
                        limit=240)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert (tmp_path / "out" / "merged.parquet").is_file()


def test_failed_job_names_its_log(cluster, deadline, data, tmp_path):
    """A score job fails (a weights file that is not HDF5; a missing one stops the run before any job):
    the run ends with the job's log path and its last lines."""
    out = tmp_path / "out"
    config = _config(tmp_path, data, out, models=["Framepool"], vcf=str(data["small_vcf"]),
                     weights={"Framepool": str(_damaged_weights(tmp_path))})
    proc = deadline.run(_slurm(config, tmp_path, "--retries", "0"), env=_env(cluster), limit=240)
    assert proc.returncode != 0
    log = out / "logs" / "score" / "Framepool" / "shard_00000.log"
    assert f"seqzoo workflow: a job failed, see its log {log}; last lines:" in proc.stdout, proc.stdout[-4000:]
    assert "seqzoo: error:" in proc.stdout and f"{tmp_path / 'damaged.h5'} cannot be loaded as Framepool" in proc.stdout
    assert "the command failed with exit status 2" in log.read_text()


def _damaged_weights(folder: Path) -> Path:
    """A weights file that exists (the workflow checks that before any job) but is not HDF5: the score
    job fails on it."""
    path = folder / "damaged.h5"
    path.write_text("not an HDF5 file\n")
    return path


# --- workflow/slurm_preflight.py without a cluster ----------------------------------------------

SINFO = "vm|debug*|2|21694\nbig1|long|64|512000\nbig2|long|32|256000\n"


def test_parse_nodes():
    partitions, default = preflight.parse_nodes(SINFO)
    assert partitions == {"debug": [(2, 21694)], "long": [(64, 512000), (32, 256000)]}
    assert default == "debug"
    assert preflight.parse_nodes("a|p|4|1000+\n") == ({"p": [(4, 1000)]}, None)
    with pytest.raises(ValueError, match="NODE|PARTITION"):
        preflight.parse_nodes("vm debug 2 1000\n")


def test_rule_problems():
    partitions, default = preflight.parse_nodes(SINFO)
    R = preflight.RuleRequest
    assert preflight.rule_problems([R("score", 2, 4000, None), R("merge", 64, 16000, "long"),
                                    R("x", None, None, None)], partitions, default) == []
    problems = preflight.rule_problems([R("score", 4, 4000, None), R("merge", 1, 30000, "debug"),
                                        R("shard", 1, 100, "cpu")], partitions, default)
    assert len(problems) == 3
    assert problems[0].startswith("rule score: asks for 4 CPUs per job, but the largest node of partition 'debug' "
                                  "has 2; SLURM would keep these jobs pending forever")
    assert problems[1].startswith("rule merge: asks for mem_mb=30000, but the largest node of partition 'debug' "
                                  "has 21694 MB")
    assert problems[2].startswith("rule shard: partition 'cpu' does not exist (sinfo lists debug, long)")
    no_default = preflight.rule_problems([R("score", 1, 1, None)], partitions, None)
    assert no_default[0].startswith("rule score: no slurm_partition is set and the cluster has no default partition")


def test_status_problem():
    def answer(code, err=""):
        return lambda *a, **k: subprocess.CompletedProcess(a, code, "", err)

    assert preflight.status_problem("sacct", run=answer(0)) is None
    assert preflight.status_problem("squeue", run=answer(1, "Slurm accounting storage is disabled")) is None
    message = preflight.status_problem("sacct", run=answer(1, "Slurm accounting storage is disabled"))
    assert "Slurm accounting storage is disabled" in message and "slurm-status-command: squeue" in message


def test_failed_job_names_its_log_with_the_local_executor(data, tmp_path):
    """The same report without SLURM (the Snakefile's onerror handler does not depend on the executor)."""
    if not SNAKEMAKE.is_file():
        pytest.skip(f"SKIPPED LOUDLY: {SNAKEMAKE} not found, the Snakemake workflow is NOT tested")
    out = tmp_path / "out"
    config = _config(tmp_path, data, out, models=["Framepool"], vcf=str(data["small_vcf"]),
                     weights={"Framepool": str(_damaged_weights(tmp_path))})
    proc = subprocess.run([str(c) for c in _snakemake(config, tmp_path, "-j1")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    log = out / "logs" / "score" / "Framepool" / "shard_00000.log"
    output = proc.stdout + proc.stderr
    assert f"seqzoo workflow: a job failed, see its log {log}; last lines:" in output, output[-4000:]
    assert "seqzoo: error:" in output and f"{tmp_path / 'damaged.h5'} cannot be loaded as Framepool" in output
