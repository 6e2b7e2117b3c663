"""How often a dying child may be restarted: a sliding window, not a lifetime count."""

from hf_serving.launcher.supervision import RestartBudget, model_listeners


def test_a_budget_allows_n_restarts_in_any_window_and_forgets_old_ones():
    budget = RestartBudget(allowed=3, window_s=60.0)
    assert [budget.spend(now) for now in (0.0, 10.0, 20.0)] == [True, True, True]
    assert budget.spend(30.0) is False  # a fourth within the minute
    assert budget.spend(61.0) is True  # the one at 0 s has left the window
    assert budget.spend(62.0) is False


def test_a_process_without_listener_children_has_none_and_a_missing_one_too():
    import os

    assert model_listeners(os.getpid()) == set()
    assert model_listeners(2**22 + 12345) == set()
