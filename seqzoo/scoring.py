"""Scoring window pairs with models: batched predictions, shared reference predictions, effects, and
the output columns (:class:`seqzoo.table.Table`).

:class:`PairScorer` scores one model's :class:`~seqzoo.windows.base.WindowPair` objects: each
reference window is predicted once (an LRU cache of ``ref_cache_size`` windows keyed by the
window and its extra inputs), alt windows once per distinct sequence in a batch, then
``spec.effects(ref, alt)``. :class:`ModelsScorer` scores several models' pairs into one table in
stream order.

The VCF-side pieces live in :mod:`seqzoo.windowing` (windows, accounting) and
:mod:`seqzoo.accounting`; their names are re-exported here for existing imports.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .accounting import SKIP_COLUMNS, RunSummary, Skip  # noqa: F401  (re-exported)
from .table import METADATA_COLUMNS, Column, Table, metadata_columns, model_columns, score_columns  # noqa: F401
from .table import take_text, text_column, upper_text
from .table import window_columns as _window_columns
from .windowing import Chunk, VariantWindows  # noqa: F401  (re-exported)
from .windows.base import WindowPair


def metadata_row(pair: WindowPair, spec=None) -> dict:
    """The metadata columns of a row, plus the model's ``note_columns`` when ``spec`` is given."""
    a = pair.allele
    row = {"variant_id": a.variant_id, "chrom": a.chrom, "pos": a.pos, "ref": a.ref, "alt": a.alt,
           "feature_id": pair.feature_id, "gene_id": pair.gene_id, "strand": pair.strand}
    if spec is not None:
        notes = pair.notes or {}
        for col in spec.note_columns:
            row[col] = notes.get(col, "")
    row["record"], row["alt_index"] = a.record, a.alt_index
    return row


def metadata_table(pairs: Sequence[WindowPair], spec) -> dict[str, np.ndarray]:
    """The metadata columns of ``pairs`` (one model's), as arrays."""
    n = len(pairs)
    alleles = [p.allele for p in pairs]
    cols = {"variant_id": text_column([a.variant_id for a in alleles]),
            "chrom": text_column([a.chrom for a in alleles]),
            "pos": np.fromiter((a.pos for a in alleles), np.int64, n),
            "ref": text_column([a.ref for a in alleles]), "alt": text_column([a.alt for a in alleles]),
            "record": np.fromiter((a.record for a in alleles), np.int64, n),
            "alt_index": np.fromiter((a.alt_index for a in alleles), np.int64, n),
            "feature_id": text_column([p.feature_id for p in pairs]),
            "gene_id": text_column([p.gene_id for p in pairs]), "strand": text_column([p.strand for p in pairs])}
    for col in spec.note_columns:
        cols[col] = text_column([(p.notes or {}).get(col, "") for p in pairs])
    return cols


def metadata_columns_of(spec) -> list[str]:
    return [c.name for c in metadata_columns(spec)]


def _inputs_key(inputs: dict | None) -> tuple:
    if not inputs:
        return ()
    return tuple((k, np.asarray(v).tobytes()) for k, v in sorted(inputs.items()))


def first_occurrences(keys: Iterable) -> tuple[list[int], np.ndarray]:
    """(the index of each distinct key's first occurrence, in order; per key, the number of its
    distinct key among them): ``keys[first[index[i]]] == keys[i]``."""
    seen: dict = {}
    first: list[int] = []
    index = []
    for i, key in enumerate(keys):
        j = seen.get(key)
        if j is None:
            j = seen[key] = len(first)
            first.append(i)
        index.append(j)
    return first, np.asarray(index, dtype=np.int64)


def stack_inputs(inputs: Sequence[dict | None]) -> dict[str, np.ndarray]:
    """Per-sequence extra-input dicts (all with the first one's keys, or all None/empty) as arrays
    stacked along a first axis of length len(inputs); {} when there are none."""
    if not inputs or not inputs[0]:
        return {}
    return {k: np.stack([np.asarray(inp[k]) for inp in inputs]) for k in inputs[0]}


def literal_model(model):
    """The model for full passes without the incremental path (``incremental=False``): its
    ``literal()`` twin where it has one (:meth:`seqzoo.nets.base.SequenceModel.literal`: every
    layer computed as such, no lookup table derived from the weights), else the model itself."""
    literal = getattr(model, "literal", None)
    return literal() if callable(literal) else model


def predict_unique(model, seqs: Sequence[str], batch_size: int = 64, inputs: Sequence[dict | None] | None = None,
                   **extra) -> dict[str, np.ndarray]:
    """``model.predict_sequences(seqs)``, predicting each distinct (sequence, inputs) once.

    ``inputs``: optional per-sequence dicts of extra model inputs (all with the same keys), passed
    to the model stacked along a first axis of length N.
    """
    inputs = list(inputs) if inputs is not None else [None] * len(seqs)
    first, idx = first_occurrences((s, _inputs_key(inp)) for s, inp in zip(seqs, inputs))
    per_seq = stack_inputs([inputs[i] for i in first])
    preds = model.predict_sequences([seqs[i] for i in first], batch_size=batch_size, **extra, **per_seq)
    return {k: v[idx] for k, v in preds.items()}


def predict_edits_unique(model, ref_seqs: Sequence[str], ref_index: np.ndarray, starts: np.ndarray,
                         ends: np.ndarray, alts: Sequence[str], batch_size: int = 64,
                         per_ref: dict | None = None, **extra) -> tuple[dict, dict]:
    """``model.predict_edits`` computing each distinct reference once and each distinct edit of it
    once: (ref outputs per given reference, alt outputs per given edit).

    A reference is its sequence and its row of each ``per_ref`` input ((n_refs, ...) arrays, e.g.
    Xpresso's half-lives); an edit is its reference, ``starts[i]``, ``ends[i]`` and ``alts[i]``
    (0-based half-open, model orientation). Transcripts of one gene often share a 5'UTR, a TSS
    window or a donor window: their rows then cost one reference pass and one edit each, as the
    full-pass path's :func:`predict_unique` costs one pass per distinct alt sequence.
    """
    per_ref = per_ref or {}
    names = sorted(per_ref)
    first, ref_map = first_occurrences((seq,) + tuple(np.asarray(per_ref[k][j]).tobytes() for k in names)
                                       for j, seq in enumerate(ref_seqs))
    if len(first) == len(ref_seqs):  # all distinct (then an edit repeats only with its record)
        return model.predict_edits(ref_seqs, ref_index, starts, ends, alts, batch_size=batch_size, **extra, **per_ref)
    index = ref_map[np.asarray(ref_index, dtype=np.int64)]
    keep, edit_map = first_occurrences(zip(index.tolist(), starts.tolist(), ends.tolist(), alts))
    keep_arr = np.asarray(keep, dtype=np.int64)
    ref_out, alt_out = model.predict_edits([ref_seqs[j] for j in first], index[keep_arr], starts[keep_arr],
                                           ends[keep_arr], [alts[i] for i in keep], batch_size=batch_size, **extra,
                                           **{k: np.asarray(v)[first] for k, v in per_ref.items()})
    return {k: v[ref_map] for k, v in ref_out.items()}, {k: v[edit_map] for k, v in alt_out.items()}


def edit_of(ref: str, alt: str) -> tuple[int, int, str]:
    """(start, end, replacement): ``alt == ref[:start] + replacement + ref[end:]`` with the shortest
    replacement (the common prefix and suffix of the two windows kept)."""
    a = np.frombuffer(ref.encode("latin-1", "replace"), dtype=np.uint8)
    b = np.frombuffer(alt.encode("latin-1", "replace"), dtype=np.uint8)
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    start = int(differ[0]) if len(differ) else n
    tail = n - start
    ra, rb = a[len(a) - tail:][::-1], b[len(b) - tail:][::-1]
    differ = np.flatnonzero(ra != rb)
    same_end = int(differ[0]) if len(differ) else tail
    return start, len(a) - same_end, alt[start:len(b) - same_end]


class BlockRows:
    """The rows of :class:`seqzoo.windowing.FastRows` blocks of one model, in order, as arrays:
    each distinct feature's reference window once (``ref_seqs``, ``extras`` = (inputs, notes)),
    each row's feature (``inv``, an index into them) and edit (``starts``, ``ends``, ``alts``,
    model orientation), and :meth:`metadata` (the metadata columns)."""

    def __init__(self, blocks, spec):
        self.blocks, self.spec = list(blocks), spec
        rule = self.blocks[0].rule
        feats = np.concatenate([b.features for b in self.blocks])
        self.n = len(feats)
        uniq, self.inv = np.unique(feats, return_inverse=True)
        self.about = [rule.block_row(int(k)) for k in uniq]  # (feature_id, gene_id, strand, inputs, notes)
        self.extras = [a[3:] for a in self.about]
        self.ref_seqs = rule.block_references(uniq) if hasattr(rule, "block_references") else \
            [rule.block_reference(int(k)) for k in uniq]
        self.starts = np.concatenate([b.starts for b in self.blocks])
        self.ends = np.concatenate([b.ends for b in self.blocks])
        self.alts = np.concatenate([b.alts for b in self.blocks]).tolist()

    def edits(self) -> "EditSet":
        """The rows as an :class:`EditSet` (each distinct feature's reference once)."""
        return EditSet(self.ref_seqs, [e[0] for e in self.extras], self.inv, self.starts, self.ends, self.alts)

    def alt_seqs(self) -> list[str]:
        return [self.ref_seqs[j][:a] + r + self.ref_seqs[j][b:]
                for j, a, b, r in zip(self.inv.tolist(), self.starts.tolist(), self.ends.tolist(), self.alts)]

    def metadata(self) -> dict[str, np.ndarray]:
        n, inv = self.n, self.inv

        def per_feature(values) -> np.ndarray:  # one value per distinct feature -> one per row
            return text_column(values)[inv]

        chrom, ref_al, alt_al, ids, pos, record = [], [], [], [], [], []
        for b in self.blocks:
            recs = b.records
            chrom.append(take_text(b.block.chrom, recs))
            ref_al.append(upper_text(take_text(b.block.ref, recs)))
            alt_al.append(upper_text(_row_alts(b)))
            ids.append(take_text(b.block.ids, recs))
            pos.append(b.block.pos[recs])
            record.append(b.block.first_record + recs)
        chrom, ref_al, alt_al, ids = (np.concatenate(c) for c in (chrom, ref_al, alt_al, ids))  # >= 1 block
        pos = np.concatenate(pos).astype(np.int64)
        variant_id = ids.copy()
        unnamed = np.flatnonzero(~ids.astype(bool))  # no ID (None) or an empty one
        if unnamed.size:
            variant_id[unnamed] = [f"{c}:{p}:{a}>{b}" for c, p, a, b in zip(
                chrom[unnamed].tolist(), pos[unnamed].tolist(), ref_al[unnamed].tolist(), alt_al[unnamed].tolist())]
        about = self.about
        cols = {"variant_id": variant_id, "chrom": chrom, "pos": pos, "ref": ref_al, "alt": alt_al,
                "feature_id": per_feature([a[0] for a in about]),
                "gene_id": per_feature([a[1] for a in about]),
                "strand": per_feature([a[2] for a in about]),
                "record": np.concatenate(record).astype(np.int64),
                "alt_index": np.concatenate([b.alt_index for b in self.blocks]).astype(np.int64)}
        for col in self.spec.note_columns:
            cols[col] = per_feature([(e[1] or {}).get(col, "") for e in self.extras])
        return cols


def _row_alts(rows) -> np.ndarray:
    """The VCF ALT of each row of a FastRows block (a str column, as written): its record's ALT
    field, split at its commas where the record has several."""
    fields = take_text(rows.block.alt, rows.records)
    multi = np.flatnonzero(rows.n_alts[rows.records - rows.start] > 1)
    if multi.size:
        fields[multi] = [f.split(",")[k] for f, k in zip(fields[multi].tolist(), rows.alt_index[multi].tolist())]
    return fields


def _split_items(items) -> tuple[list, list, np.ndarray | None]:
    """(window pairs, FastRows blocks, is-block per row in item order (None: no blocks))."""
    pairs = [item for item in items if isinstance(item, WindowPair)]
    blocks = [item for item in items if not isinstance(item, WindowPair)]
    if not blocks:
        return pairs, blocks, None
    return pairs, blocks, np.concatenate([np.ones(len(item), dtype=bool) if not isinstance(item, WindowPair)
                                          else np.zeros(1, dtype=bool) for item in items])


class PairScorer:
    """Scores batches of :class:`WindowPair` with one model, sharing reference predictions.

    Reference windows are predicted once per ``ref_key`` (kept in an LRU cache of
    ``ref_cache_size`` windows); alt windows once per distinct sequence in a batch. ``vectors``:
    also the per-position outputs and effects (Parquet, HDF5). ``reuse_reference=False`` predicts
    the reference window of every pair anew (the naive scheme; benchmarks compare against it).
    """

    #: pairs predicted together in :meth:`score_table`: bounds the per-position outputs held at
    #: once (BPNet-OSKN: 64 KB per window and side), whatever the chunk size
    score_rows = 1024

    def __init__(self, spec, model, batch_size: int = 64, ref_cache_size: int | None = None,
                 vectors: bool = False, reuse_reference: bool = True, incremental: bool = True, **extra):
        self.spec = spec
        self.vectors = vectors
        self.batch_size = batch_size
        self.reuse_reference = reuse_reference
        #: alts as edits of their reference (``model.predict_edits``) where the model has it; False:
        #: a full forward pass of every alt window (the path the incremental one is tested against)
        self.incremental = incremental and reuse_reference and hasattr(model, "predict_edits")
        #: with incremental=False, full passes of the model as such (:func:`literal_model`);
        #: reuse_reference=False alone keeps the model's own fast path
        self.model = model if incremental else literal_model(model)
        self.extra = extra
        self._ref_cache: OrderedDict = OrderedDict()
        self.ref_cache_size = ref_cache_size if ref_cache_size is not None else spec.ref_cache_size
        self._columns = model_columns(spec, vectors)

    def predict_pairs(self, pairs: Sequence[WindowPair]) -> tuple[dict, dict]:
        """Ref and alt predictions for ``pairs``: two dicts of arrays with first axis len(pairs)."""
        if self.incremental and pairs:
            return self._predict_edits(pairs)
        alt = predict_unique(self.model, [p.alt_seq for p in pairs], self.batch_size,
                             inputs=[p.inputs for p in pairs], **self.extra)
        if not self.reuse_reference:
            ref = predict_unique(self.model, [p.ref_seq for p in pairs], self.batch_size,
                                 inputs=[p.inputs for p in pairs], **self.extra)
            return ref, alt
        # the window's key, a hash of its sequence (not the sequence: 10.5 kb per Xpresso window) and its inputs
        keys = [(p.ref_key, hash(p.ref_seq), _inputs_key(p.inputs)) for p in pairs]
        missing: OrderedDict = OrderedDict()
        for key, p in zip(keys, pairs):
            if key in self._ref_cache:
                self._ref_cache.move_to_end(key)
            elif key not in missing:
                missing[key] = p
        if missing:
            todo = list(missing.values())
            preds = predict_unique(self.model, [p.ref_seq for p in todo], self.batch_size,
                                   inputs=[p.inputs for p in todo], **self.extra)
            for i, key in enumerate(missing):
                self._ref_cache[key] = {k: v[i] for k, v in preds.items()}
        ref_rows = [self._ref_cache[key] for key in keys]
        while len(self._ref_cache) > self.ref_cache_size:
            self._ref_cache.popitem(last=False)
        ref = {k: np.stack([r[k] for r in ref_rows]) for k in ref_rows[0]} if ref_rows else {}
        return ref, alt

    def _predict_edits(self, pairs: Sequence[WindowPair]) -> tuple[dict, dict]:
        """Ref and alt predictions through the model's ``predict_edits``: each distinct reference
        window once, each alt as the edit of its reference (only what the variant changes is
        recomputed; exact against full passes, see tests/test_incremental.py)."""
        return self._predict_edit_sets([_pair_edits(pairs)])[0]

    def _predict_edit_sets(self, sets: Sequence["EditSet"]) -> list[tuple[dict, dict]]:
        """(ref, alt) predictions per row of each :class:`EditSet`, all sets in one
        :func:`predict_edits_unique` call: a reference that several sets hold (a chunk's FastRows
        blocks and its per-allele pairs on the same 5'UTR) is computed once."""
        ref_seqs = [s for e in sets for s in e.ref_seqs]
        ref_inputs = [inp for e in sets for inp in e.ref_inputs]
        offsets = np.cumsum([0] + [len(e.ref_seqs) for e in sets])
        ref_index = np.concatenate([e.ref_index + o for e, o in zip(sets, offsets[:-1].tolist())])
        starts, ends = np.concatenate([e.starts for e in sets]), np.concatenate([e.ends for e in sets])
        alts = [a for e in sets for a in e.alts]
        per_ref = stack_inputs(ref_inputs)
        ref_out, alt_out = predict_edits_unique(self.model, ref_seqs, ref_index, starts, ends, alts,
                                                self.batch_size, per_ref, **self.extra)
        rows = np.cumsum([0] + [len(e.starts) for e in sets]).tolist()
        return [({k: v[ref_index[a:b]] for k, v in ref_out.items()}, {k: v[a:b] for k, v in alt_out.items()})
                for a, b in zip(rows[:-1], rows[1:])]

    def score_fast(self, blocks) -> Table:
        """The table of :class:`seqzoo.windowing.FastRows` blocks (alleles inside one model's
        windows), in order: the same rows and values as :meth:`score_table` of their pairs, built
        from arrays, with one model call for all of them."""
        rows = BlockRows(blocks, self.spec)
        if self.incremental:
            ref, alt = self._predict_edit_sets([rows.edits()])[0]
        else:
            inputs = [e[0] for e in rows.extras]
            alt = predict_unique(self.model, rows.alt_seqs(), self.batch_size, inputs=[inputs[j] for j in rows.inv],
                                 **self.extra)
            ref_out = predict_unique(self.model, rows.ref_seqs, self.batch_size, inputs=inputs, **self.extra)
            ref = {k: v[rows.inv] for k, v in ref_out.items()}
        return self._table(rows.n, rows.metadata(), ref, alt)

    def score_items(self, items) -> Table:
        """The table of a chunk's items in order: :class:`WindowPair` objects and
        :class:`seqzoo.windowing.FastRows` blocks. Incremental: all of them in one model call (the
        blocks and the pairs of a 5'UTR share its reference pass); else all blocks in one call, all
        pairs in another."""
        pairs, blocks, is_block = _split_items(items)
        if not blocks:
            return self.score_table(pairs)
        if not pairs:
            return self.score_fast(blocks)
        if self.incremental and not (self.vectors and self.spec.vector_outputs):  # (else pairs in score_rows slices)
            rows = BlockRows(blocks, self.spec)
            (ref_b, alt_b), (ref_p, alt_p) = self._predict_edit_sets([rows.edits(), _pair_edits(pairs)])
            fast = self._table(rows.n, rows.metadata(), ref_b, alt_b)
            slow = self._table(len(pairs), metadata_table(pairs, self.spec), ref_p, alt_p)
        else:
            fast, slow = self.score_fast(blocks), self.score_table(pairs)
        return Table.stack([(fast, np.flatnonzero(is_block)), (slow, np.flatnonzero(~is_block))],
                           len(is_block), self._columns)

    def columns(self) -> list[str]:
        return [c.name for c in self._columns]

    def score_table(self, pairs: Sequence[WindowPair]) -> Table:
        """One row per pair: metadata, ``ref_<output>``, ``alt_<output>`` and the effects."""
        parts = [self._score(pairs[i:i + self.score_rows]) for i in range(0, len(pairs), self.score_rows)]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return Table(0, {c.name: c.empty(0) for c in self._columns})
        return Table(len(pairs), {c.name: np.concatenate([p.columns[c.name] for p in parts])
                                  for c in self._columns})

    def score(self, pairs: Sequence[WindowPair]) -> list[dict]:
        """:meth:`score_table` as row dicts (numpy scalars, per-position arrays)."""
        return self.score_table(pairs).rows()

    def _score(self, pairs: Sequence[WindowPair]) -> Table:
        ref, alt = self.predict_pairs(pairs)
        return self._table(len(pairs), metadata_table(pairs, self.spec), ref, alt)

    def _table(self, n: int, cols: dict, ref: dict, alt: dict) -> Table:
        """n rows: the metadata ``cols``, ``ref_<output>``, ``alt_<output>`` and the effects."""
        effects = self.spec.effects(ref, alt)
        outputs = list(self.spec.outputs) + (list(self.spec.vector_outputs) if self.vectors else [])
        for k in outputs:
            cols[f"ref_{k}"] = ref[k]
            cols[f"alt_{k}"] = alt[k]
        for k in list(self.spec.effect_names) + (list(self.spec.vector_effect_names) if self.vectors else []):
            cols[k] = np.asarray(effects[k])
        return Table(n, {c.name: cols[c.name] for c in self._columns})


@dataclass
class EditSet:
    """Rows as edits of reference windows (model orientation): ``ref_seqs`` with their extra
    inputs (``ref_inputs``, dicts or None), and per row its reference (``ref_index``) and the edit
    ``ref_seqs[ref_index[i]][starts[i]:ends[i]]`` -> ``alts[i]`` (0-based half-open)."""

    ref_seqs: list
    ref_inputs: list
    ref_index: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    alts: list


def _pair_edits(pairs: Sequence[WindowPair]) -> EditSet:
    """The :class:`EditSet` of window pairs: each distinct reference window (key, sequence and
    inputs) once."""
    first, ref_index = first_occurrences((p.ref_key, hash(p.ref_seq), _inputs_key(p.inputs)) for p in pairs)
    edits = [p.edit if p.edit is not None else edit_of(p.ref_seq, p.alt_seq) for p in pairs]
    return EditSet([pairs[i].ref_seq for i in first], [pairs[i].inputs for i in first], ref_index,
                   np.fromiter((e[0] for e in edits), dtype=np.int64, count=len(edits)),
                   np.fromiter((e[1] for e in edits), dtype=np.int64, count=len(edits)), [e[2] for e in edits])


class ModelsScorer:
    """Scores window pairs of several models (one :class:`PairScorer` each) into one table in stream
    order: one model's columns, or with several a ``model`` column first and the union of the
    models' columns (absent where a model has none)."""

    def __init__(self, scorers: dict[str, PairScorer]):
        self.scorers = scorers
        self.specs = [sc.spec for sc in scorers.values()]
        vectors = any(sc.vectors for sc in scorers.values())
        self.schema = score_columns(self.specs, vectors)

    def columns(self) -> list[str]:
        return [c.name for c in self.schema]

    def score_table(self, pairs: Sequence[WindowPair]) -> Table:
        if len(self.scorers) == 1:  # with one model a chunk may hold FastRows blocks
            return next(iter(self.scorers.values())).score_items(pairs)
        by_model: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            by_model.setdefault(p.model, []).append(i)
        blocks = []
        for name, idx in by_model.items():
            table = self.scorers[name].score_table([pairs[i] for i in idx])
            model = np.empty(len(idx), dtype=object)
            model[:] = name
            table.columns["model"] = model
            blocks.append((table, np.asarray(idx)))
        return Table.stack(blocks, len(pairs), self.schema)

    def score(self, pairs: Sequence[WindowPair]) -> list[dict]:
        return self.score_table(pairs).rows()


def window_table(items, specs) -> Table:
    """``seqzoo windows`` rows: metadata and the ref/alt sequences the model sees, for a chunk's
    :class:`WindowPair` objects and :class:`seqzoo.windowing.FastRows` blocks (one model), in order."""
    schema = _window_columns(specs)
    pairs, blocks, is_block = _split_items(items)
    if blocks:
        rows = BlockRows(blocks, specs[0])
        cols = rows.metadata()
        for side, seqs in (("ref_seq", [rows.ref_seqs[j] for j in rows.inv.tolist()]), ("alt_seq", rows.alt_seqs())):
            arr = np.empty(rows.n, dtype=object)
            arr[:] = seqs
            cols[side] = arr
        fast = Table(rows.n, cols)
        if not pairs:
            return Table.stack([(fast, np.arange(rows.n))], rows.n, schema)
        return Table.stack([(fast, np.flatnonzero(is_block)), (window_table(pairs, specs), np.flatnonzero(~is_block))],
                           len(is_block), schema)
    by_name = {s.name: s for s in specs}
    by_model: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_model.setdefault(p.model or specs[0].name, []).append(i)
    blocks = []
    for name, idx in by_model.items():
        chosen = [pairs[i] for i in idx]
        cols = metadata_table(chosen, by_name[name])
        for side in ("ref_seq", "alt_seq"):
            arr = np.empty(len(idx), dtype=object)
            arr[:] = [getattr(p, side) for p in chosen]
            cols[side] = arr
        if len(specs) > 1:
            model = np.empty(len(idx), dtype=object)
            model[:] = name
            cols["model"] = model
        blocks.append((Table(len(idx), cols), np.asarray(idx)))
    return Table.stack(blocks, len(pairs), schema)


def window_columns(specs) -> list[str]:
    """Column names of ``seqzoo windows`` output for one or several models."""
    return [c.name for c in _window_columns(specs)]


def window_row(pair: WindowPair, spec, with_model: bool) -> dict:
    row = dict(metadata_row(pair, spec), ref_seq=pair.ref_seq, alt_seq=pair.alt_seq)
    row["record"], row["alt_index"] = row.pop("record"), row.pop("alt_index")  # the last columns
    if with_model:
        row["model"] = pair.model
    return row


def column_kinds(specs) -> tuple[set[str], set[str]]:
    """(string columns, per-position columns) of the output of ``specs``."""
    schema = score_columns(list(specs), vectors=True)
    return ({c.name for c in schema if c.kind == "str"} | {"ref_seq", "alt_seq"},
            {c.name for c in schema if c.shape})
