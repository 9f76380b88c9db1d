"""Packaging for memsgd.

Everything installs under the single name ``memsgd``: the top-level folders
``cli/`` and ``models/`` are mapped to ``memsgd.cli`` and ``memsgd.models`` by
``package_dir``, so nothing called ``cli`` or ``models`` lands in
site-packages.
"""

from setuptools import setup

PACKAGE_DIR = {
    "memsgd": "memsgd",
    "memsgd.cli": "cli",
    "memsgd.models": "models",
}

PACKAGES = [
    "memsgd",
    "memsgd.capture",
    "memsgd.data",
    "memsgd.report",
    "memsgd.sde",
    "memsgd.stats",
    "memsgd.cli",
    "memsgd.models",
]

# Bounds are the versions tried together on Python 3.11 (see constraints.txt
# for the exact tested set, and tox's ``min`` env for the lower bounds).
INSTALL_REQUIRES = [
    "tensorflow>=2.20,<2.22",
    "tf-keras>=2.20,<2.22",
    "tensorflow-probability[tf]>=0.25,<0.26",
    "keras>=3.12,<3.16",
    "numpy>=1.26,<3",
    "scipy>=1.13,<1.18",
    "click>=8.1,<9",
    "h5py>=3.11,<4",
    "matplotlib>=3.8,<4",
]

EXTRAS_REQUIRE = {
    "tensorboard": ["tensorboard>=2.20,<2.22"],
    "test": ["pytest>=8,<10", "pytest-xdist>=3.5,<4", "tensorboard>=2.20,<2.22"],
    "lint": ["ruff>=0.6,<1", "mypy>=1.10,<2"],
    "bench": ["nolds==0.6.2", "hurst==0.0.5", "fathon==1.4.0", "fbm==0.3.0"],
}

setup(
    name="memsgd",
    version="0.1.0",
    description=(
        "Record and analyse stochastic gradient noise and its memory "
        "in Keras training"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10,<3.13",
    package_dir=PACKAGE_DIR,
    packages=PACKAGES,
    package_data={"memsgd.data": ["*.npz", "LICENSE-fashion-mnist", "*.md"]},
    include_package_data=False,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["memsgd = memsgd.cli:main"]},
)
