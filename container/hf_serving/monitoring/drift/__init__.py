"""Drift: does what a model predicts now still look like what it predicted when its baseline was made?

profile.py: the baseline profile (drift-baseline's OUT.json): per model, its class mix, confidence histogram and
input-length histogram on fixed bins. psi.py: the population stability index of a window against it. window.py: the
last DRIFT_WINDOW items of one worker, counted into the same bins as each item arrives. gauges.py: the PSIs in
/metrics. observer.py: the monitor's observer that ties them together, built at worker start.
"""
