"""Shared test settings.

Hypothesis runs derandomized by default, so `make test` is reproducible and CI never turns red
by luck; `HYPOTHESIS_PROFILE=explore pytest tests` draws fresh random examples on each run, to
hunt for new failures.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
