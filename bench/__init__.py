"""The benchmark of issue 6 (bench/README.md), a package run from the repository root: `python -m bench.run`,
`python -m bench.gpu`. Its modules use only the standard library at import time, so that the peers' and the
chart's own venvs can run its entry points too (bench/peers/* are apps of their own, not part of it)."""
