"""seqzoo: a Kipoi-compatible zoo of PyTorch sequence-to-function models for regulatory genomics.

Wider ranges than the known-good pins are allowed here; ``constraints.txt`` holds the pins that are
tested (``pip install -c constraints.txt -e '.[kipoi,test]'``).
"""
from setuptools import setup

setup(
    name="seqzoo",
    version="0.1.0",
    description="PyTorch ports of published regulatory-genomics models, Kipoi-compatible, "
                "with VCF variant-effect scoring",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=["seqzoo", "seqzoo.nets", "seqzoo.genome", "seqzoo.windows", "seqzoo_dataloaders"],
    package_dir={"seqzoo_dataloaders": "dataloaders"},
    install_requires=[
        # torch: the CPU wheel is the tested one; see constraints.txt
        "torch>=2.1",
        "numpy>=1.23,<2",
        "pandas>=1.5",
        "h5py>=3.7",
        "pyfaidx>=0.7",
        "pysam>=0.20",  # bgzip-compressed FASTA (and bgzipped VCF output)
        "cyvcf2>=0.30",
        "tqdm>=4.60",
    ],
    extras_require={
        "kipoi": [
            "kipoi==0.8.6",
            "kipoiseq==0.7.1",
            "pybedtools>=0.9",  # kipoiseq imports it without declaring it
            "pyranges>=0.0.120",
            "setuptools<81",  # kipoi imports pkg_resources
            "attrs==21.4.0",
            "related==0.7.3",
            "six",
        ],
        "test": ["pytest>=7", "pyarrow>=12,<22", "PyYAML", "matplotlib>=3.7"],
        "parquet": ["pyarrow>=12,<22"],
        "plot": ["matplotlib>=3.7"],
    },
    entry_points={"console_scripts": ["seqzoo=seqzoo.cli:main"]},
)
