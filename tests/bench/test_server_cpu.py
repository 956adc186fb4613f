"""The server's CPU over a row counts the workers that ``max_requests`` recycled in it."""

from bench import server


def test_a_recycled_workers_cpu_is_counted_from_the_masters_reaped_children(monkeypatch):
    # Master 1; worker 2 lives through the row; worker 3 exits in it (it had used 5.0 s
    # at the first sample, 7.5 s when it exited); worker 4 is born in it.
    reaped = iter([100.0, 107.5])  # the master's children's CPU: before, after
    monkeypatch.setattr(server, "reaped_children_cpu_seconds", lambda pid: next(reaped))
    before = {1: 1.0, 2: 10.0, 3: 5.0}
    reaped_before = server.reaped_children_cpu_seconds(1)
    after = {1: 1.5, 2: 14.0, 4: 3.0}

    used = server.server_cpu_delta(1, before, reaped_before, after)

    # By hand: master 0.5 + worker 2's 4.0 + worker 3's 2.5 (7.5 - 5.0) + worker 4's 3.0.
    assert used == 0.5 + 4.0 + 2.5 + 3.0


def test_without_recycling_it_is_the_live_processes_delta(monkeypatch):
    monkeypatch.setattr(server, "reaped_children_cpu_seconds", lambda pid: 42.0)
    before = {1: 1.0, 2: 10.0}

    assert server.server_cpu_delta(1, before, 42.0, {1: 1.25, 2: 12.0}) == 0.25 + 2.0
