"""Prints the README's table: both readings of a HAL table on the donor windows of example_files/.

    python models/HAL/compare_readings.py                         # the seeded stand-in table
    python models/HAL/compare_readings.py HAL_mer_scores.npz      # the published table

For each distinct donor window of ``example_files/annotation.gtf`` it gives the reference score and
the effect ``delta`` (alt - ref) of a substitution of the first intronic base (index 80, the G of the
GT) by C, under the default ``kipoi`` reading and under ``averaged`` (MultiMolecule's reading).
Without a path the table is a stand-in drawn from a seeded N(0, 1) (the published file is not
distributed with seqzoo): the numbers then show how the two readings differ in form and scale, not
real splice-site strengths.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqzoo.genome.fasta import Genome
from seqzoo.genome.names import ContigNames
from seqzoo.nets.hal import HAL, from_npz
from seqzoo.windows.donor import donor_rule

HERE = Path(__file__).resolve().parents[1] / "models" / "HAL"
STAND_IN_SEED = 0


def stand_in_table() -> np.ndarray:
    return np.random.default_rng(STAND_IN_SEED).normal(0.0, 1.0, size=(4096, 8))


def donor_windows(example_dir: Path = HERE / "example_files") -> list[tuple[str, str, str]]:
    """(feature_id, donor_ids, reference window) of every distinct donor window whose window fits the contig."""
    genome = Genome(example_dir / "genome.fa")
    rule = donor_rule(genome, example_dir / "annotation.gtf", ContigNames(genome.lengths))
    out = []
    for i, w in enumerate(rule.features):
        if w.start < 0 or w.end > genome.lengths[w.chrom]:
            continue
        out.append((w.feature_id, rule.donor_ids[w.feature_id], rule.orient(w, rule.ref_forward(i))))
    return out


def table_markdown(model: HAL) -> str:
    rows = donor_windows()
    ref = [seq for _, _, seq in rows]
    alt = [seq[:80] + ("C" if seq[80] != "C" else "A") + seq[81:] for seq in ref]
    lines = ["| donor window (feature_id) | +1,+2 | kipoi: ref score | kipoi: delta +1>C | averaged: ref score "
             "| averaged: delta +1>C |",
             "|---|---|---|---|---|---|"]
    scores = {m: (model.predict_sequences(ref, mode=m)["score"], model.predict_sequences(alt, mode=m)["score"])
              for m in ("kipoi", "averaged")}
    for i, (fid, ids, seq) in enumerate(rows):
        k_ref, k_alt = scores["kipoi"][0][i], scores["kipoi"][1][i]
        a_ref, a_alt = scores["averaged"][0][i], scores["averaged"][1][i]
        name = fid if ids == fid else f"{fid} (= {ids.split(',', 1)[1]})"
        lines.append(f"| {name} | {seq[80:82]} | {k_ref:.4f} | {k_alt - k_ref:.4f} | {a_ref:.6f} | "
                     f"{a_alt - a_ref:.6f} |")
    return "\n".join(lines)


def agreement_line(model: HAL, n: int = 2000, seed: int = 1) -> str:
    """How the two readings relate on ``n`` random windows (scores, and the +1>C effect)."""
    rng = np.random.default_rng(seed)
    ref = ["".join(rng.choice(list("ACGT"), size=160)) for _ in range(n)]
    alt = [seq[:80] + ("C" if seq[80] != "C" else "A") + seq[81:] for seq in ref]
    k_ref, a_ref = (model.predict_sequences(ref, mode=m)["score"] for m in ("kipoi", "averaged"))
    k_alt, a_alt = (model.predict_sequences(alt, mode=m)["score"] for m in ("kipoi", "averaged"))
    k_d, a_d = k_alt - k_ref, a_alt - a_ref
    return (f"On {n} random windows (seed {seed}): reference scores correlate at r = "
            f"{np.corrcoef(k_ref, a_ref)[0, 1]:.2f} (standard deviation {np.std(k_ref):.3g} vs "
            f"{np.std(a_ref):.3g}); the +1>C effects at r = {np.corrcoef(k_d, a_d)[0, 1]:.2f}, with opposite "
            f"signs in {np.mean(np.sign(k_d) != np.sign(a_d)):.0%} of the windows.")


def main(argv: list[str]) -> None:
    model = from_npz(argv[0]) if argv else HAL(stand_in_table())
    print(table_markdown(model))
    print()
    print(agreement_line(model))


if __name__ == "__main__":
    main(sys.argv[1:])
