"""Which requests are captured: each on its own, with probability DATA_CAPTURE_PERCENT / 100 (as SageMaker's
InitialSamplingPercentage). The generator is made in the worker, after MMS forked it, and seeded from the OS: forked
workers sharing one generator's state would capture the same requests as each other."""

from __future__ import annotations

import random


class Sampler:
    def __init__(self, percent: float, generator: random.Random | None = None) -> None:
        self.fraction = percent / 100.0
        self._random = (generator or random.Random()).random  # Random() seeds itself from os.urandom

    def take(self) -> bool:
        return self.fraction >= 1.0 or self._random() < self.fraction
