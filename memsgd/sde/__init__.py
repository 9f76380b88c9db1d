"""Noise drivers, SDE simulation and escape times (TensorFlow / TFP).

Importing this module imports TensorFlow.
"""

from memsgd.sde._drivers import (
    DRIVER_NAMES,
    BrownianDriver,
    FractionalDriver,
    LevyDriver,
    make_driver,
)
from memsgd.sde._escape import (
    EscapeSweep,
    FirstPassage,
    escape_sweep,
    first_passage,
    fractional_effective_time,
    kaplan_meier,
    kramers_time,
    levy_escape_time,
    mfpt_exact,
)
from memsgd.sde._fgn import FractionalGaussianNoise, fgn_autocovariance
from memsgd.sde._fit import DriverComparison, fit_drivers
from memsgd.sde._potentials import (
    DoubleWell,
    Potential,
    Quadratic,
    double_well,
    quadratic,
)
from memsgd.sde._simulate import Simulation, euler_maruyama
from memsgd.sde._stable import StableDistribution, standard_stable

__all__ = [
    "DRIVER_NAMES",
    "BrownianDriver",
    "DoubleWell",
    "DriverComparison",
    "EscapeSweep",
    "FirstPassage",
    "FractionalDriver",
    "FractionalGaussianNoise",
    "LevyDriver",
    "Potential",
    "Quadratic",
    "Simulation",
    "StableDistribution",
    "double_well",
    "escape_sweep",
    "euler_maruyama",
    "fgn_autocovariance",
    "first_passage",
    "fit_drivers",
    "fractional_effective_time",
    "kaplan_meier",
    "kramers_time",
    "levy_escape_time",
    "make_driver",
    "mfpt_exact",
    "quadratic",
    "standard_stable",
]
