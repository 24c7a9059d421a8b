"""One module per concept of CLAIMS.md; run any of them with `python -m experiments.NAME`."""
