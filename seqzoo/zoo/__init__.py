"""The built-in models: one module per model, each exporting ``SPECS`` (its :class:`seqzoo.spec.ModelSpec`
objects). :mod:`seqzoo.registry` collects them, and plug-ins' specs, by name."""

#: modules of the built-in models, in the order ``seqzoo models`` lists them
BUILTIN = ("seqzoo.zoo.framepool", "seqzoo.zoo.aparent2", "seqzoo.zoo.xpresso", "seqzoo.zoo.hal", "seqzoo.zoo.bpnet")
