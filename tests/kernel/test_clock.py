from datetime import UTC, datetime

import pytest

from boxoffice.kernel import clock


def test_time_machine_overrides_and_restores():
    moment = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    before = clock.now()
    with clock.time_machine(moment):
        assert clock.now() == moment
        assert clock.current_override() == moment
        with clock.time_machine(None):
            assert clock.now() != moment
    assert clock.current_override() is None
    assert clock.now() >= before
    assert clock.now().tzinfo is not None


def test_time_machine_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"), clock.time_machine(datetime(2030, 1, 1)):
        pass
