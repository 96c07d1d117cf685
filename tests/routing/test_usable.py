"""``routing.usable``: the records an adaptation can use, counted by what keeps the others out."""

from __future__ import annotations

from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.usable import usability

KNOWN = ("a", "b", "c", "d", "e", "f", "g", "h")


def _record(grades: dict[str, float], *, latent: bool = True) -> GradedRecord:
    return GradedRecord(latent=(1.0, 0.0) if latent else (), base={}, grades=grades)


def test_every_record_is_counted_once_by_what_keeps_it_out() -> None:
    records = [
        _record({"a": 1.0}, latent=False),  # the router could not read the prompt
        _record({"x": 1.0}),
        _record({"y": 0.5, "x": 0.0}),
        _record({"a": 1.0, "x": 0.0}),  # one grade of a known model
        _record({"a": 1.0, "b": 0.0}),
        _record({"a": 1.0, "b": 0.0, "c": 0.5}),
    ]
    counted = usability(KNOWN, records)
    assert (counted.read, counted.usable, counted.judged) == (6, 3, 2)
    assert (counted.unread, counted.untrained, counted.one_grade) == (1, 2, 1)
    assert counted.graded_unknown == ("x", "y")
    why = counted.why(8, 20)
    assert why == (
        "6 graded records, of which 3 are usable; 1 have no reading of the prompt (the router"
        " could not read it); 2 have no grade of a model the router knows (they grade x, y; it"
        " knows a, b, c, d, e, f and 2 more): calibrate the router on your models (stellwerk"
        " calibrate --router-out, then router.artifact), or try the loop with models it knows"
        ' (docs/router.md, "Trying the loop"); 1 have one grade only, which teaches no routing'
        " (feedback grades the answering model alone; shadow grading, router.shadow, grades a"
        " second one); 2 have two grades or more. An adaptation needs at least 8 usable records"
        " and 20 with two grades or more."
    )


def test_no_records_say_so_plainly() -> None:
    assert usability(KNOWN, []).why(8, 20) == (
        "0 graded records, of which 0 are usable; 0 have two grades or more. An adaptation"
        " needs at least 8 usable records and 20 with two grades or more."
    )
