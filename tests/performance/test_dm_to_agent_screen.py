"""The pure helpers of bench/dm_to_agent_screen.py: markers, latency from the scheduled time, pairing."""

from bench import dm_to_agent_screen as bench


def test_a_dm_carries_its_marker_and_scheduled_time():
    text = bench.dm_text(3, 41, 1764037200.25)

    assert bench.markers_in(text, 3) == {41}
    assert "sent 1764037200250" in text


def test_markers_of_another_round_are_not_counted():
    text = f"{bench.marker(2, 7)} {bench.marker(3, 8)} {bench.marker(3, 9)}"

    assert bench.markers_in(text, 3) == {8, 9}


def test_latency_is_measured_from_the_scheduled_send_time_and_unseen_markers_are_listed():
    scheduled = {0: 100.0, 1: 100.02, 2: 100.04}
    seen = {0: 100_250.0, 2: 100_940.0}

    found, missing = bench.latencies_ms(scheduled, seen)

    assert found == [250.0, 900.0]
    assert missing == [1]


def test_rounds_alternate_push_and_poll():
    assert bench.mode_order(3) == ["push", "poll", "push", "poll", "push", "poll"]


def test_the_request_that_brought_a_marker_is_the_last_answered_before_it_appeared():
    fetches = [(0.0, 100.0), (90.0, 180.0), (150.0, 300.0)]

    assert bench.delivered_by(fetches, 200.0) == (90.0, 180.0)
    assert bench.delivered_by(fetches, 50.0) is None


def test_percentile_and_median_with_range():
    values = list(range(1, 101))

    assert bench.percentile(values, 0.95) == 95
    assert bench.percentile(values, 1.0) == 100
    assert bench.median_and_range([300, 100, 200]) == "200 (100–300)"
