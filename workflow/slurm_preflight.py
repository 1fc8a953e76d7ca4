"""Checks the Snakefile runs before the first SLURM submission (from its `onstart:` handler), so
that a profile the cluster cannot satisfy fails at once with a message that names the fix, instead
of leaving jobs pending forever or a status loop that never sees a job finish:

- every rule's partition exists (or the cluster has a default partition when none is given);
- every rule's CPUs (threads, or the `cpus_per_task` resource) and `mem_mb` fit one node of its
  partition (SLURM queues a job that asks for more CPUs than any node has with
  `Reason=PartitionConfig` and never runs it);
- `sacct` works when the executor polls job states with it (without slurmdbd it only says
  "Slurm accounting storage is disabled" and the executor never sees a job finish).

Pure functions (``parse_nodes``, ``rule_problems``, ``status_problem``) plus ``check_workflow``,
the glue to Snakemake's objects. Runs in the Snakemake environment (no seqzoo import).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass

SINFO = ["sinfo", "--noheader", "--Node", "--format=%N|%P|%c|%m"]
SACCT = ["sacct", "--noheader", "-X", "--starttime=now", "--format=JobID"]
PROFILE = "workflow/profiles/slurm/config.yaml"


@dataclass(frozen=True)
class RuleRequest:
    """What one rule's jobs ask SLURM for (None: not set or only known per job)."""
    rule: str
    cpus: int | None
    mem_mb: int | None
    partition: str | None


def parse_nodes(sinfo_text: str) -> tuple[dict[str, list[tuple[int, int]]], str | None]:
    """``sinfo -N -h -o '%N|%P|%c|%m'`` -> ({partition: [(cpus, mem_mb) per node]}, default partition).

    The default partition carries a ``*`` in sinfo's output. Raises ValueError on a line that is
    not four ``|``-separated fields with integer CPUs and memory.
    """
    partitions: dict[str, list[tuple[int, int]]] = {}
    default = None
    for line in sinfo_text.splitlines():
        if not line.strip():
            continue
        fields = line.strip().split("|")
        if len(fields) != 4:
            raise ValueError(f"unexpected sinfo line {line!r}: expected NODE|PARTITION|CPUS|MEMORY")
        _, partition, cpus, mem = fields
        if partition.endswith("*"):
            partition = partition[:-1]
            default = partition
        try:
            partitions.setdefault(partition, []).append((int(cpus), int(mem.rstrip("+"))))
        except ValueError:
            raise ValueError(f"unexpected sinfo line {line!r}: CPUs and memory must be integers") from None
    return partitions, default


def rule_problems(requests: list[RuleRequest], partitions: dict[str, list[tuple[int, int]]],
                  default: str | None) -> list[str]:
    """One sentence per rule whose jobs SLURM cannot place, naming the setting to change."""
    problems = []
    for r in requests:
        partition = r.partition or default
        if partition is None:
            problems.append(f"rule {r.rule}: no slurm_partition is set and the cluster has no default partition "
                            f"(sinfo lists {', '.join(sorted(partitions)) or 'none'}); set default-resources: "
                            f"slurm_partition in {PROFILE}")
            continue
        nodes = partitions.get(partition)
        if not nodes:
            problems.append(f"rule {r.rule}: partition {partition!r} does not exist (sinfo lists "
                            f"{', '.join(sorted(partitions)) or 'none'}); fix slurm_partition in {PROFILE}")
            continue
        max_cpus = max(c for c, _ in nodes)
        max_mem = max(m for _, m in nodes)
        if r.cpus is not None and r.cpus > max_cpus:
            problems.append(f"rule {r.rule}: asks for {r.cpus} CPUs per job, but the largest node of partition "
                            f"{partition!r} has {max_cpus}; SLURM would keep these jobs pending forever "
                            f"(Reason=PartitionConfig). Lower threads_per_job in the workflow config "
                            f"(or set-threads / cpus_per_task in {PROFILE}) to at most {max_cpus}")
        if r.mem_mb is not None and r.mem_mb > max_mem:
            problems.append(f"rule {r.rule}: asks for mem_mb={r.mem_mb}, but the largest node of partition "
                            f"{partition!r} has {max_mem} MB; lower mem_mb for {r.rule} in {PROFILE} "
                            f"(set-resources) or score_resources in the workflow config")
    return problems


def status_problem(status_command: str | None, run=subprocess.run) -> str | None:
    """A sentence when the executor would poll job states with a `sacct` that does not work."""
    if status_command not in (None, "sacct"):
        return None
    try:
        proc = run(SACCT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        detail = str(err)
    else:
        if proc.returncode == 0:
            return None
        detail = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
    return (f"the SLURM executor polls job states with sacct, and `{' '.join(SACCT)}` fails here: {detail}. "
            f"Without working accounting (slurmdbd) it would never see a job finish. Add "
            f"`slurm-status-command: squeue` to {PROFILE} (or --slurm-status-command squeue; it needs MinJobAge, "
            f"`scontrol show config`, above 180 s, the default is 300), or ask the admins to enable accounting")


def _resource(workflow, rule, name: str, threads=None):
    """A rule's resource value, evaluated as for a job without wildcards and inputs (profile and
    --set-resources values are Python expressions, e.g. slurm_partition=cpu); None when unset or
    when it depends on the job (wildcards, input sizes)."""
    from snakemake.common.tbdstring import TBDString
    from snakemake.iocontainers import Wildcards

    res = rule.resources.get(name)
    if res is None:
        return None
    if res.is_evaluable():
        try:
            res = res.evaluate(wildcards=Wildcards(), input=[], attempt=1, threads=threads, rulename=rule.name,
                               async_run=workflow.async_run)
        except Exception:
            return None
    value = res.value
    return None if value is None or isinstance(value, (bool, TBDString)) else value


def rule_requests(workflow) -> list[RuleRequest]:
    """What each submitted rule of a parsed Snakemake workflow asks for (profile defaults and
    overrides applied)."""
    def as_int(value):
        return value if isinstance(value, int) else None

    requests = []
    for rule in workflow.rules:
        if workflow.is_local(rule):  # `all` and local rules are not submitted
            continue
        threads = as_int(_resource(workflow, rule, "_cores"))
        cpus = as_int(_resource(workflow, rule, "cpus_per_task", threads))
        if cpus is None or cpus <= 0:
            cpus = threads
        partition = _resource(workflow, rule, "slurm_partition", threads)
        requests.append(RuleRequest(rule.name, cpus, as_int(_resource(workflow, rule, "mem_mb", threads)),
                                    str(partition) if partition not in (None, "") else None))
    return requests


def check_workflow(workflow) -> None:
    """Raises WorkflowError listing every problem when the workflow runs with the SLURM executor."""
    plugin = workflow.executor_plugin
    if plugin is None or plugin.name != "slurm" or not workflow.is_main_process:
        return
    try:
        proc = subprocess.run(SINFO, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RuntimeError(f"seqzoo workflow: cannot run sinfo for the SLURM checks: {err}") from None
    if proc.returncode != 0:
        raise RuntimeError(f"seqzoo workflow: `{' '.join(SINFO)}` failed: {proc.stderr.strip()}")
    partitions, default = parse_nodes(proc.stdout)
    problems = rule_problems(rule_requests(workflow), partitions, default)
    status = status_problem(getattr(workflow.executor_settings, "status_command", None))
    if status:
        problems.append(status)
    if problems:
        from snakemake.exceptions import WorkflowError  # printed without a traceback
        raise WorkflowError("seqzoo workflow: this SLURM profile cannot run on this cluster:\n  - "
                           + "\n  - ".join(problems))
