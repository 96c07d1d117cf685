"""The model page shows the model's evaluation record: its newest calibration."""

from __future__ import annotations

import re
from html import unescape

import httpx

from stellwerk.calibration.records import CalibrationStore, records_from_summary
from stellwerk.ledger.ledger import open_ledger
from tests.dashboard.conftest import DashboardGateway

SUMMARY = {
    "run_id": "3f2c9a71d0e84b3c",
    "bank": {"path": "/srv/banks/werkstatt.jsonl", "sha256": "ab12cd34ef56" + "0" * 52},
    "skipped_prompts": {"mbpp: code task: needs a sandboxed test runner": 12},
    "settings": {"max_tokens": 512},
    "models": {
        "tiny-large": {
            "pairs": 300,
            "answered": 297,
            "quality": 0.6133,
            "per_task": {
                "gsm8k": {"grader": "final-number", "n": 150, "quality": 0.58},
                "mmlu": {"grader": "choice-letter", "n": 150, "quality": 0.6467},
            },
            "errors": {"timeout": 3},
            "tokens_per_s": 41.5,
            "throughput_tokens_per_s": 80.2,
            "ttft_ms_p50": 230.0,
            "latency_ms_p50": 4100.0,
        }
    },
}


def test_the_model_page_shows_the_newest_calibration_and_counts_it_as_evaluation(
    admin: httpx.Client, offline_dashboard: DashboardGateway
) -> None:
    before = unescape(admin.get("/dashboard/models/tiny-large").text)
    assert "No calibration run yet" in before
    assert "evaluation record" in before  # high risk: the evaluation record is missing

    ledger = open_ledger(offline_dashboard.gateway.database_url)
    try:
        CalibrationStore(ledger).add(records_from_summary(SUMMARY, actor="cli:ops"))
    finally:
        ledger.close()

    page = unescape(admin.get("/dashboard/models/tiny-large").text)
    assert "No calibration run yet" not in page
    assert "61.3" in page and "measured by calibration" in page
    assert "werkstatt.jsonl" in page and "ab12cd34ef56" in page
    assert "final-number" in page and "64.7" in page
    assert "timeout 3" in page and "mbpp: code task" in page
    assert "evaluation record" not in page
    # the facts say what the record says: no "Evaluation" dash above the model's own record
    evaluation = re.search(r'<dd id="m-evaluation">(.*?)</dd>', page)
    assert evaluation is not None
    assert re.search(r"calibration record of \d{4}-\d\d-\d\d \d\d:\d\d \S+ \(quality 61\.3\s%\)",
                     evaluation.group(1))  # fmt: skip
    other = unescape(admin.get("/dashboard/models/tiny-small").text)
    assert "No calibration run yet" in other
