"""Experiments: a problem, a set of flows, an integrator and the measurements they feed.

They return plain result objects that the command-line tools, the claim registry
(:mod:`linsim.claims`) and the figures share, so each simulation is written once.
"""
