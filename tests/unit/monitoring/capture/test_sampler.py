import math
import random

from hf_serving.monitoring.capture.sampler import Sampler


def test_all_and_none():
    assert all(Sampler(100.0).take() for _ in range(1000))
    assert not any(Sampler(0.0).take() for _ in range(1000))


def test_ten_percent_within_binomial_bounds():
    # n = 20000, p = 0.1: sd = 42.4; +-6 sd (254) fails a correct sampler with probability ~2e-9.
    n, p = 20000, 0.1
    taken = sum(Sampler(10.0).take() for _ in range(n))
    assert abs(taken - n * p) <= 6 * math.sqrt(n * p * (1 - p))


def test_each_sampler_draws_its_own_sequence():
    first, second = Sampler(50.0), Sampler(50.0)
    assert [first.take() for _ in range(64)] != [second.take() for _ in range(64)]


def test_a_given_generator_decides():
    sampler, reference = Sampler(50.0, random.Random(1)), random.Random(1)
    assert [sampler.take() for _ in range(32)] == [reference.random() < 0.5 for _ in range(32)]
