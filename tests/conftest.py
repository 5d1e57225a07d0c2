"""pytest configuration.

Hypothesis runs derandomized: every run draws the same examples (seeded from each test), so a
CI run is reproducible and a failure can be rerun. ``HYPOTHESIS_PROFILE=explore`` draws fresh
random examples, to look for new counterexamples by hand.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))
