"""The models seqzoo knows, by name: the built-in ones (:mod:`seqzoo.zoo`) and plug-ins.

A plug-in is a module that builds :class:`seqzoo.spec.ModelSpec` objects and either

* registers them from Python: ``seqzoo.register_model(spec)``, or
* declares an entry point in the ``seqzoo.models`` group of its package metadata (pyproject:
  ``[project.entry-points."seqzoo.models"] mymodel = "mypackage.seqzoo_model:SPECS"``), naming a
  ModelSpec, an iterable of them, or a module with ``SPECS``; it is then available everywhere
  (``seqzoo score --model``, the Python API, ``seqzoo models``, the workflow) without an import.

Everything model-specific elsewhere is derived from the specs here: command-line option flags,
the workflow's option keys, the multi-model skip rules, the model.yaml checks.
"""
from __future__ import annotations

import importlib
import logging
from typing import Iterable

from .errors import UsageError
from .spec import ModelSpec, Option  # noqa: F401  (ModelSpec is part of this module's interface)
from .zoo import BUILTIN

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "seqzoo.models"

MODELS: dict[str, ModelSpec] = {}


class UnknownModelError(UsageError, KeyError):
    """A model name seqzoo does not know."""

    def __str__(self) -> str:
        return self.args[0]


def register(spec: ModelSpec, replace: bool = False) -> ModelSpec:
    """Add ``spec`` under its name (``replace=True`` to override an existing model).

    Refuses a second model of the same name and an option whose name another model uses with
    another kind (options share one flag and one workflow key across models).
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register() takes a seqzoo.spec.ModelSpec, not {type(spec).__name__}")
    if spec.name in MODELS and not replace and MODELS[spec.name] is not spec:
        raise UsageError(f"a model named {spec.name!r} is registered already; pass replace=True to override it")
    for option in spec.options:
        other = next((o for s in MODELS.values() if s.name != spec.name for o in s.options
                      if o.name == option.name), None)
        if other is not None and other.kind != option.kind:
            raise UsageError(f"model {spec.name}: option {option.name} is a {option.kind} here but a {other.kind} "
                             f"in another model; give it another name")
    MODELS[spec.name] = spec
    return spec


def _specs_of(obj) -> list[ModelSpec]:
    if isinstance(obj, ModelSpec):
        return [obj]
    if hasattr(obj, "SPECS"):
        return list(obj.SPECS)
    if isinstance(obj, Iterable):
        return list(obj)
    raise TypeError(f"expected a ModelSpec, an iterable of them or a module with SPECS, got {type(obj).__name__}")


def _load_builtin() -> None:
    for module in BUILTIN:
        for spec in _specs_of(importlib.import_module(module)):
            register(spec)


def _load_plugins() -> None:
    """Register the specs of every ``seqzoo.models`` entry point; a broken plug-in is a warning."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            for spec in _specs_of(ep.load()):
                register(spec)
        except Exception as exc:  # a plug-in must not break seqzoo: say which and why
            log.warning("seqzoo plug-in %s (%s) was not loaded: %s: %s", ep.name, ep.value, type(exc).__name__, exc)


def _did_you_mean(name: str) -> str:
    """A hint for a name that is not a model's: the model it equals but for case, the weight sets of
    a family (``Xpresso`` -> ``Xpresso/human_median``, ...), the one model it begins (``BPNet``), or
    the closest spelling; else ""."""
    import difflib

    by_lower = {known.lower(): known for known in MODELS}
    key = name.lower()
    if key in by_lower:
        return f" (did you mean {by_lower[key]!r}? model names are case-sensitive)"
    family = sorted(known for lower, known in by_lower.items() if lower.startswith(key + "/"))
    if family:
        return f" ({name} has several weight sets: {', '.join(family)})"
    begun = [known for lower, known in by_lower.items() if key and lower.startswith(key)]
    close = difflib.get_close_matches(key, by_lower, n=1, cutoff=0.75)
    meant = begun[0] if len(begun) == 1 else by_lower[close[0]] if close else None
    return f" (did you mean {meant!r}?)" if meant else ""


def get(name: str) -> ModelSpec:
    """The spec of model ``name``; :class:`UnknownModelError` (a KeyError) naming the known ones."""
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}{_did_you_mean(str(name))}; seqzoo has: "
                                f"{', '.join(sorted(MODELS))}")
    return MODELS[name]


def options() -> dict[str, Option]:
    """Every registered model's options by name (one flag / workflow key each)."""
    out: dict[str, Option] = {}
    for spec in MODELS.values():
        for option in spec.options:
            out.setdefault(option.name, option)
    return out


_load_builtin()
_load_plugins()

# names earlier versions exported here
from .zoo.xpresso import WEIGHT_SETS as XPRESSO_WEIGHT_SETS  # noqa: E402
from .zoo.framepool import effects as framepool_effects  # noqa: E402
from .zoo.aparent2 import effects as aparent2_effects  # noqa: E402
from .zoo.xpresso import effects as xpresso_effects  # noqa: E402
from .zoo.hal import effects as hal_effects  # noqa: E402
from .zoo.bpnet import effects as bpnet_effects  # noqa: E402
