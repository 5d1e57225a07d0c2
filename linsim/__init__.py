"""linsim: a theory-verification simulator for adaptive and sign-based training dynamics.

Each claim of ``../shared/THEORY.md`` (K24.*, Z24.*, Z20.*, PL23.*) is tied to a problem
(:mod:`linsim.problems`), a dynamics (:mod:`linsim.flows`), an integrator
(:mod:`linsim.integrate`) and a prediction (:mod:`linsim.claims`).
"""

__version__ = "0.1.0"
