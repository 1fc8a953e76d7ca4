"""seqzoo: a Kipoi-compatible zoo of PyTorch sequence-to-function models for regulatory genomics.

Wider ranges than the known-good pins are allowed here; ``constraints.txt`` holds the pins that are
tested on Python 3.11 (``python3 scripts/install.py`` applies them there). The core needs no
upper bound on numpy; the ``kipoi`` extra does (kipoi 0.8.6 breaks on numpy 2).
"""
import re
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
VERSION = re.search(r'^__version__ = "([^"]+)"', (HERE / "seqzoo" / "__init__.py").read_text(), re.M).group(1)

setup(
    name="seqzoo",
    version=VERSION,
    description="PyTorch ports of published regulatory-genomics models (Framepool, APARENT2, Xpresso, HAL, "
                "BPNet-OSKN), Kipoi-compatible, with per-variant effect scoring from FASTA + GTF + VCF",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author="seqzoo contributors",
    license="MIT",
    license_files=["LICENSE"],
    python_requires=">=3.10",
    packages=["seqzoo", "seqzoo.nets", "seqzoo.genome", "seqzoo.windows", "seqzoo.zoo", "seqzoo_dataloaders"],
    package_dir={"seqzoo_dataloaders": "dataloaders"},
    install_requires=[
        # torch: the CPU build is the tested one (scripts/install.py picks it); see constraints.txt
        "torch>=2.1",
        "numpy>=1.23",
        "pandas>=1.5",
        "h5py>=3.7",
        "pyfaidx>=0.7",
        "cyvcf2>=0.30",
        "pysam>=0.20",  # the annotated VCF (bgzip + tabix) and bgzipped FASTA
        "tqdm>=4.60",
    ],
    extras_require={
        "kipoi": [
            "kipoi==0.8.6",
            "kipoiseq==0.7.1",
            "numpy<2",  # kipoi 0.8.6's HDF5 writer and its dependencies break on numpy 2
            "pybedtools>=0.9",  # kipoiseq imports it without declaring it
            "pyranges>=0.0.120",
            "setuptools<81",  # kipoi imports pkg_resources
            "attrs==21.4.0",
            "related==0.7.3",
            "six",
        ],
        "test": ["pytest>=7", "pyarrow>=12", "PyYAML", "matplotlib>=3.7"],
        "parquet": ["pyarrow>=12"],
        "plot": ["matplotlib>=3.7"],
    },
    entry_points={"console_scripts": ["seqzoo=seqzoo.cli:main"]},
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Science/Research",
        "License :: OSI Approved :: MIT License",
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
    ],
    keywords=["genomics", "variant effect prediction", "deep learning", "kipoi", "pytorch"],
)
