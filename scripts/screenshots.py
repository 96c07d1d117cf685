"""Screenshots of the dashboard for the docs: ``python scripts/screenshots.py [--out docs/img]``.

Runs everything locally with no internet: a real llama.cpp server on tiny generated models, the
gateway with a showcase config, a month of generated usage history in its ledger (the charts need
more than a few requests; the records are marked ``config_hash=generated``), then real requests
through the gateway and real actions through the dashboard (so the audit log has entries), and
finally Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) logs in and takes the
pictures: the overview, a model page and a department page, in English and German.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from stellwerk.calibration.records import CalibrationRecord, CalibrationStore  # noqa: E402
from stellwerk.config import StellwerkConfig, parse_config  # noqa: E402
from stellwerk.demo.history import batches, generate_usage  # noqa: E402
from stellwerk.demo.llama_server import demo_models, running_llama_server  # noqa: E402
from stellwerk.gateway import create_app  # noqa: E402
from stellwerk.gateway.server import serve_in_thread  # noqa: E402
from stellwerk.governance.catalog import Catalog  # noqa: E402
from stellwerk.governance.key_store import KeyStore  # noqa: E402
from stellwerk.governance.use_cases import UseCases  # noqa: E402
from stellwerk.ledger.ledger import open_ledger  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_KEY = "sk-stw-screenshots-admin-key-0000000000000000"
USER_KEYS = {
    "finance": "sk-stw-screenshots-finance-0000000000000000",
    "legal": "sk-stw-screenshots-legal-00000000000000000",
    "research": "sk-stw-screenshots-research-000000000000000",
}


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _model(model_id: str, upstream: str, params: float, size: str, **facts: Any) -> dict[str, Any]:
    price = {"small": 0.15, "medium": 0.45, "large": 2.4}[size]
    return {
        "id": model_id,
        "backend": "llamacpp",
        "upstream": upstream,
        "params_b": params,
        "size_class": size,
        "context_length": 1024,
        "languages": ["de", "en", "fr"],
        "licence": "Apache-2.0",
        "owner": "KI-Plattform",
        "hosting": "on_prem",
        "price": {"input_per_mtok": price, "output_per_mtok": price * 3},
        "energy_wh_per_1k_tokens": params / 40,
        **facts,
    }


def showcase_config(llama_url: str, database_url: str) -> StellwerkConfig:
    card = "https://models.example.org/cards/"
    models = [
        _model("ministral-3b", "tiny-small", 3, "small", benchmark_score=0.61),
        _model(
            "apertus-8b",
            "tiny-medium",
            8,
            "medium",
            benchmark_score=0.68,
            openness="open_science",
            mof_class="I",
            data_owner="research",
        ),
        _model(
            "mistral-small-24b",
            "tiny-large",
            24,
            "large",
            risk_tier="high",
            model_card_url=card + "mistral-small",
            evaluation_url=card + "eval",
            oversight_contact="ki-aufsicht@example.org",
            benchmark_score=0.79,
        ),
        _model(
            "apertus-70b",
            "tiny-large",
            70,
            "large",
            lifecycle="in_review",
            risk_tier="limited",
            openness="open_science",
            hosting="eu_cloud",
        ),
        _model(
            "olmo-2-13b",
            "tiny-medium",
            13,
            "medium",
            lifecycle="proposed",
            risk_tier="limited",
            openness="open_science",
            owner=None,
        ),
        _model(
            "llama-3.1-8b",
            "tiny-medium",
            8,
            "medium",
            lifecycle="deprecated",
            licence="Llama 3.1 Community",
            openness="open_weights",
            family="llama3.1",  # a tiny model stands in: say which model it plays
        ),
        {
            "id": "tiny-embed",
            "backend": "llamacpp",
            "upstream": "tiny-embed",
            "params_b": 0.1,
            "size_class": "small",
            "capabilities": ["embeddings"],
            "licence": "Apache-2.0",
            "hosting": "on_prem",
        },
    ]
    departments = [
        {
            "name": name,
            "classification": cls,
            "keys": [{"id": f"{name}-app", "key_sha256": _sha(USER_KEYS[name])}],
            "limits": {"monthly_budget": budget, "requests_per_minute": rpm},
        }
        for name, cls, budget, rpm in (
            ("finance", "internal", 40.0, 120),
            ("legal", "confidential", 25.0, 60),
            ("research", "internal", None, None),
        )
    ]
    departments.append(
        {
            "name": "it",
            "classification": "confidential",
            "keys": [{"id": "it-admin", "key_sha256": _sha(ADMIN_KEY), "role": "admin"}],
        }
    )
    use_cases = [
        {
            "name": "contract-review",
            "department": "legal",
            "risk_tier": "high",
            "classification": "confidential",
            "purpose": "Erstsichtung von Lieferverträgen",
            "oversight_contact": "justiziariat@example.org",
            "allowed_models": ["mistral-small-24b"],
        },
        {
            "name": "invoice-triage",
            "department": "finance",
            "risk_tier": "limited",
            "purpose": "Rechnungen vorsortieren",
        },
        {
            "name": "citizen-letters",
            "department": "legal",
            "risk_tier": "high",
            "purpose": "Antwortentwürfe auf Bürgerbriefe",
        },
        {"name": "paper-digest", "department": "research", "risk_tier": "minimal"},
    ]
    return parse_config(
        {
            "server": {"database_url": database_url},
            "backends": [{"name": "llamacpp", "kind": "openai", "base_url": llama_url}],
            "models": models,
            "departments": departments,
            "use_cases": use_cases,
            "router": {"kind": "learned"},
            "governance": {"currency": "EUR"},
            "dashboard": {"timezone": "Europe/Berlin"},
        }
    )


def prepare_ledger(config: StellwerkConfig, now: datetime) -> None:
    ledger = open_ledger(config.server.database_url)
    try:
        Catalog(ledger, config).seed()
        UseCases(ledger, config).seed()
        store = KeyStore(ledger, config)
        for department in ("finance", "research"):
            store.create(department=department, actor="cli:admin")
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for batch in batches(generate_usage(config, count=20_000, start=start, end=now), 5000):
            ledger.insert_usage(batch)
        CalibrationStore(ledger).add([_calibration("mistral-small-24b", now - timedelta(days=3))])
    finally:
        ledger.close()


def _calibration(model: str, when: datetime) -> CalibrationRecord:
    return CalibrationRecord(
        run_id="screenshots-run",
        time=when,
        model=model,
        bank_name="verwaltung-de-en-v1",
        bank_sha256="0" * 64,
        pairs=120,
        answered=118,
        quality=0.774,
        per_task={
            "gsm8k-de": {"grader": "final-number", "n": 60, "quality": 0.733},
            "mmlu-de": {"grader": "choice-letter", "n": 60, "quality": 0.815},
        },
        errors={"timeout": 2},
        skipped={"mbpp: code task: needs a sandboxed test runner": 20},
        tokens_per_s=38.5,
        throughput_tokens_per_s=None,
        ttft_ms_p50=410.0,
        latency_ms_p50=2140.0,
        max_tokens=512,
        actor="screenshots",
        config_hash="generated",
    )


def real_traffic(url: str) -> None:
    prompts = ["Wie viele Tage hat ein Schaltjahr?", "Summarise the contract.", "Hallo!"]
    with httpx.Client(base_url=url, timeout=120) as client:
        for department, key in USER_KEYS.items():
            for model in ("auto", "auto-economy", "ministral-3b"):
                for text in prompts:
                    client.post(
                        "/v1/chat/completions",
                        headers={"authorization": f"Bearer {key}"},
                        json={
                            "model": model,
                            "max_tokens": 8,
                            "messages": [{"role": "user", "content": f"{department}: {text}"}],
                        },
                    ).raise_for_status()
        # refused: legal's confidential data may not go to the EU-cloud model, nor to a model
        # outside its use case's list
        for _ in range(3):
            answer = client.post(
                "/v1/chat/completions",
                headers={"authorization": f"Bearer {USER_KEYS['legal']}"},
                json={
                    "model": "apertus-70b",
                    "max_tokens": 8,
                    "messages": [{"role": "user", "content": "Vertrag prüfen"}],
                },
            )
            assert answer.status_code == 403, answer.text


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    made: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-GB")
        page.goto(url + "/dashboard/login")
        page.fill("input[name=key]", ADMIN_KEY)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/dashboard")
        # real actions through the dashboard, so that the audit log shows them
        page.goto(url + "/dashboard/models/olmo-2-13b")
        page.select_option("select[name=state]", "in_review")
        page.fill("input[name=reason]", "Modellkarte angefordert, Prüfung beginnt")
        page.click("#m-actions button[type=submit]")
        page.click("button.danger")
        page.goto(url + "/dashboard/departments/research")
        page.uncheck("#d-budget input[name=unlimited]")  # research has no budget yet
        page.fill("#d-budget input[name=monthly_budget]", "60")
        page.fill("#d-budget input[name=reason]", "Pilotphase Q4")
        page.click("#d-budget button[type=submit]")
        page.click("button.danger")
        page.goto(url + "/dashboard/models/apertus-8b")
        page.fill("#m-consent input[name=reason]", "Datenschutzprüfung der Trainingsdaten")
        page.click("#m-consent button[type=submit]")
        page.click("button.danger")
        for language in ("en", "de"):
            page.goto(f"{url}/dashboard/lang/{language}?next=/dashboard")
            for name, path in (
                ("overview", "/dashboard"),
                ("model", "/dashboard/models/mistral-small-24b"),
                ("department", "/dashboard/departments/legal"),
            ):
                page.goto(url + path)
                target = out / f"dashboard-{name}-{language}.png"
                page.screenshot(path=str(target), full_page=True)
                made.append(target)
        browser.close()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="stellwerk-shots-") as tmp:
        folder = Path(tmp)
        with running_llama_server(demo_models(folder), workdir=folder) as llama:
            config = showcase_config(llama.base_url, f"sqlite:///{folder / 'ledger.db'}")
            prepare_ledger(config, now - timedelta(minutes=5))
            with serve_in_thread(create_app(config, environ={})) as url:
                real_traffic(url)
                for path in shoot(url, args.out):
                    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
