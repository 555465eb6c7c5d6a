"""The collector's pause: off inside, as it was after, also when nested or when it was off."""

import gc

import pytest

from scoring.collector import collector_paused, without_collector


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_back_after_even_on_an_error():
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause did not turn it back on
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


def test_left_off_when_it_was_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_the_decorated_function_runs_paused():
    @without_collector
    def state(x):
        return gc.isenabled(), x

    assert state(3) == (False, 3)
    assert gc.isenabled()
