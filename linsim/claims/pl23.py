"""PL23 claims (THEORY.md). Filled in by the issue that covers them."""

CLAIMS: list = []
FIGURES: list = []
