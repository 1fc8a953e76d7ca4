"""Kipoi dataloaders of the kipoi-veff model directories (``models/<Name>/veff``): ONE reference window
per sample, which kipoi-veff mutates itself (see :mod:`seqzoo.veff`).

:class:`RegionWindowsDataLoader` (APARENT2, HAL; :class:`XpressoRegionWindowsDataLoader` adds the
half-life features): one sample per line of a regions BED written by ``seqzoo veff-regions``
(:func:`seqzoo.veff.write_regions`), in file order, so kipoi-veff's ``rID`` (its sample counter)
is the region's 0-based index in the BED::

    {"inputs": {"seq": <window, model orientation, str>[, "halflife": (6,) float32]},
     "metadata": {"ranges": {"chr", "start", "end", "id", "strand"}, "feature_id", "gene_id"}}

``ranges`` is the window on the forward strand (FASTA contig name, 0-based half-open) with the
feature's strand: kipoi-veff mutates index ``POS - start - 1`` of the forward window, i.e. index
``end - POS`` of the reverse-complemented window on '-', with the complemented base.

:class:`SnvCentredDataLoader` (BPNet-OSKN): kipoi-veff fills ``intervals_file`` (``bed_input``)
with one 1000-nt region per SNV, the SNV at index 499 (``SnvCenteredRg``: 0-based
[POS - 500, POS + 500)); each region gives seqzoo's window of that SNV, [POS - 501, POS + 499)
with the SNV at index 500 (:func:`seqzoo.windows.centered.variant_window`), one-hot (A, C, G, T),
``ranges.id`` = the region's name (kipoi-veff matches it back to the VCF record). A region whose
window passes a contig end gives no sample (seqzoo: ``window_past_contig_end``).
"""
from __future__ import annotations

import logging
import os

import numpy as np
from kipoi.data import SampleIterator

from seqzoo.encoding import one_hot, reverse_complement
from seqzoo.genome.fasta import Genome
from seqzoo.genome.names import ContigNames
from seqzoo.veff import get_spec, read_regions
from seqzoo.windows.centered import CENTER, variant_window
from seqzoo.windows.fixed import WindowPastContigEnd, _fetch

log = logging.getLogger("kipoi." + __name__)


class _SampleStream(SampleIterator):
    """A SampleIterator over ``self._generate()``; iterating again starts a new pass."""

    _samples = None

    def _generate(self):
        raise NotImplementedError

    def __iter__(self):
        self._samples = self._generate()
        return self

    def __next__(self):
        if self._samples is None:
            self.__iter__()
        return next(self._samples)

    next = __next__


class RegionWindowsDataLoader(_SampleStream):
    """Reference windows of the regions of ``regions_file``, one sample per region, in file order.

    Args:
      fasta_file: reference genome FASTA (a missing ``.fai`` is built next to it).
      regions_file: BED written by ``seqzoo veff-regions --model <model_name>`` (7 columns).

    Every region must be a window of the model (its length) on a FASTA contig, inside it; anything
    else raises ValueError naming the file and line (a sample cannot be left out: kipoi-veff's
    ``rID`` counts samples).
    """

    #: registry name of the model (set by subclasses)
    model_name: str | None = None

    def __init__(self, fasta_file, regions_file):
        self._init(fasta_file, regions_file)

    def _init(self, fasta_file, regions_file):
        if not self.model_name:
            raise TypeError(f"{type(self).__name__} must set the class attribute `model_name`")
        self.veff = get_spec(self.model_name)
        self.genome = Genome(os.path.abspath(os.fspath(fasta_file)))
        self.names = ContigNames(self.genome.lengths)
        self.regions_file = os.path.abspath(os.fspath(regions_file))
        if not os.path.isfile(self.regions_file):
            raise FileNotFoundError(f"regions file {self.regions_file} does not exist (write it with `seqzoo "
                                    f"veff-regions --model {self.model_name} --fasta F --gtf G -o regions.bed`)")

    def inputs(self, region) -> dict:
        """Model inputs besides the sequence (none here)."""
        return {}

    def _sample(self, r) -> dict:
        where = f"regions file {self.regions_file}, line {r.line}"
        if r.end - r.start != self.veff.window:
            raise ValueError(f"{where}: {r.chrom}:{r.start}-{r.end} is {r.end - r.start} nt; a {self.model_name} window "
                             f"is {self.veff.window} nt (write the regions with `seqzoo veff-regions --model "
                             f"{self.model_name}`)")
        chrom = self.names.resolve(r.chrom, "regions BED")
        if chrom is None:
            raise ValueError(f"{where}: contig {r.chrom!r} is not in the FASTA {self.genome.path}")
        try:
            seq = _fetch(self.genome, chrom, r.start, r.end)
        except WindowPastContigEnd as exc:
            raise ValueError(f"{where}: {exc}") from None
        if r.strand == "-":
            seq = reverse_complement(seq)
        return {"inputs": {"seq": seq, **self.inputs(r)},
                "metadata": {"ranges": {"chr": chrom, "start": r.start, "end": r.end, "id": r.feature_id,
                                        "strand": r.strand},
                             "feature_id": r.feature_id, "gene_id": r.gene_id}}

    def _generate(self):
        n = 0
        for region in read_regions(self.regions_file):
            yield self._sample(region)
            n += 1
        log.info("%s veff dataloader: %d windows from %s", self.model_name, n, self.regions_file)


class XpressoRegionWindowsDataLoader(RegionWindowsDataLoader):
    """TSS windows of a regions BED plus each gene's six half-life features.

    Args:
      fasta_file, regions_file: as :class:`RegionWindowsDataLoader`.
      halflife_file: optional TSV (gene_id + six features, as ``seqzoo score --halflife-file``);
        without it, and for genes missing from it, zeros.
    """

    model_name = "Xpresso/human_median"  # the window rule and inputs are those of every weight set

    def __init__(self, fasta_file, regions_file, halflife_file=None):
        from seqzoo.windows.tss import N_HALFLIFE, read_halflife_file

        self._init(fasta_file, regions_file)
        self.halflife = read_halflife_file(halflife_file) if halflife_file else {}
        self._zeros = np.zeros(N_HALFLIFE, np.float32)

    def inputs(self, region) -> dict:
        return {"halflife": self.halflife.get(region.gene_id, self._zeros)}


class SnvCentredDataLoader(_SampleStream):
    """BPNet-OSKN windows of the SNVs kipoi-veff writes into ``intervals_file`` (its ``bed_input``).

    Args:
      fasta_file: reference genome FASTA.
      intervals_file: kipoi-veff's BED: ``chrom start end name``, 1000 nt, SNV at index 499.
    """

    model_name = "BPNet-OSKN"

    def __init__(self, fasta_file, intervals_file):
        self.veff = get_spec(self.model_name)
        self.genome = Genome(os.path.abspath(os.fspath(fasta_file)))
        self.names = ContigNames(self.genome.lengths)
        self.intervals_file = os.path.abspath(os.fspath(intervals_file))

    def _generate(self):
        width = self.veff.window
        with open(self.intervals_file) as fh:
            for line_no, line in enumerate(fh, start=1):
                f = line.rstrip("\n").split("\t")
                if len(f) < 4 or not line.strip():
                    raise ValueError(f"intervals file {self.intervals_file}, line {line_no}: expected chrom, start, "
                                     f"end, name (kipoi-veff's SNV-centred regions)")
                start, end = int(f[1]), int(f[2])
                if end - start != width:
                    raise ValueError(f"intervals file {self.intervals_file}, line {line_no}: {end - start} nt; "
                                     f"kipoi-veff writes {width}-nt regions for this model")
                chrom = self.names.resolve(f[0], "intervals BED")
                if chrom is None:
                    log.warning("region %s: contig %r is not in the FASTA; no sample", f[3], f[0])
                    continue
                w = variant_window(chrom, start + width // 2 - 1, width, CENTER)  # the SNV's 0-based position
                try:
                    seq = _fetch(self.genome, chrom, w.start, w.end)
                except WindowPastContigEnd as exc:
                    log.warning("region %s: no sample, the window needs sequence past a contig end: %s", f[3], exc)
                    continue
                yield {"inputs": {"seq": one_hot(seq)},
                       "metadata": {"ranges": {"chr": chrom, "start": w.start, "end": w.end, "id": f[3],
                                               "strand": "+"}}}
