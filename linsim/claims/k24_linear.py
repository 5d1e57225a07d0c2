"""K24 claims on the general linear model (THEORY.md, Proposition 2 and Section 2 of K24).

Filled in by the issue that covers them."""

CLAIMS: list = []
FIGURES: list = []
