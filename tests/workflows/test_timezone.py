"""Dates and deadlines the Italian way, in Europe/Rome."""

from datetime import UTC, date, datetime, timedelta

from workflows.timezone import on, rome, within


def test_the_article_is_elided_before_the_days_read_with_a_vowel():
    assert on("dal", date(2019, 2, 11)) == "dall'11/02/2019"
    assert on("entro il", date(2019, 12, 8)) == "entro l'08/12/2019"
    assert on("il", date(2019, 3, 1)) == "l'01/03/2019"
    assert on("al", date(2019, 4, 15)) == "al 15/04/2019"
    assert on("del", date(2019, 4, 18)) == "del 18/04/2019"


def test_a_moment_reads_in_rome_with_its_hour():
    # 22:59:59 UTC on 10 March is 23:59 in Rome (winter time); on 11 April, 00:59 the 12th.
    assert rome(datetime(2019, 3, 10, 22, 59, 59, tzinfo=UTC)) == "il 10/03/2019 alle ore 23:59"
    assert rome(datetime(2019, 4, 10, 22, 0, tzinfo=UTC), "entro il") == (
        "entro l'11/04/2019 alle ore 00:00"
    )


def test_a_deadline_includes_its_last_second():
    last = datetime(2019, 3, 25, 22, 59, 59, tzinfo=UTC)
    assert within(last, last)
    assert within(last + timedelta(microseconds=999_999), last)
    assert not within(last + timedelta(seconds=1), last)
