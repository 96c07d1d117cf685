"""deploy/'s nginx configs, run by a real nginx (the one installed here; skipped without one):
the per-client limit docs/deploy.md asks of the proxy, and the TLS variant's plain HTTP, which
refuses the APIs (a redirect would be followed with the key resent) and redirects the
dashboard's pages to the published HTTPS port. And the time a stopping gateway is given: the
drain of ``server.shutdown_grace_s`` and a margin, in compose and in the systemd unit."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from stellwerk.config.schema import ServerConfig
from tests.fixtures.gateway import free_port
from tests.fixtures.waiting import until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="no nginx binary here")
TLS_PORT = "18443"  # the published HTTPS port, as STELLWERK_TLS_PORT would give it


def _runnable(conf: str, plain: int, tls: int, tmp_path: Path) -> str:
    """``conf`` as nginx runs it here: its ports, no upstream (a closed port), the nginx image's
    template step done by hand, a self-signed certificate, no ``http2 on`` (older nginx)."""
    closed = free_port()
    conf = re.sub(r"gateway-[12]:8080", f"127.0.0.1:{closed}", conf)
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{plain};")
    conf = conf.replace("listen 8443 ssl;", f"listen 127.0.0.1:{tls} ssl;")
    conf = conf.replace("${STELLWERK_TLS_PORT}", TLS_PORT).replace("http2 on;", "")
    key, cert = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*command, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    conf = conf.replace("/etc/nginx/tls/", f"{tmp_path}/")
    assert "${" not in conf, "a template variable the compose override does not set"
    return conf


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[object]:
    """Start ``deploy/<name>`` under nginx; yields a starter ``(name) -> (plain, tls) ports``."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> tuple[int, int]:
        assert NGINX is not None
        plain, tls = free_port(), free_port()
        conf = tmp_path / name
        conf.write_text(_runnable((DEPLOY / name).read_text(), plain, tls, tmp_path))
        (tmp_path / "logs").mkdir(exist_ok=True)
        settings = f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"
        command = [NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", settings]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        started.append(subprocess.Popen(command, stderr=subprocess.DEVNULL))

        def up() -> bool:
            try:
                httpx.get(f"http://127.0.0.1:{plain}/healthz", timeout=1)
            except httpx.TransportError:
                return False
            return True

        until("nginx answers", up)
        return plain, tls

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


@needs_nginx
@pytest.mark.parametrize("name", ["nginx.conf", "nginx-tls.conf"])
def test_the_load_balancer_limits_each_client_address(nginx: object, name: str) -> None:
    plain, tls = nginx(name)  # type: ignore[operator]
    port, scheme = (plain, "http") if name == "nginx.conf" else (tls, "https")
    statuses = []
    with httpx.Client(verify=False) as client:
        for _ in range(400):  # far faster than 20 a second, far more than the burst of 100
            answer = client.get(f"{scheme}://127.0.0.1:{port}/v1/models")
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
    assert statuses[-1] == 429, "no request was limited"
    assert len(statuses) > 100, "the burst of 100 one client may send at once was not allowed"
    error = answer.json()["error"]
    assert error["code"] == "rate_limited" and "per-client limit" in error["message"]
    assert answer.headers["retry-after"] == "1"


@needs_nginx
def test_plain_http_refuses_the_api_and_redirects_only_the_dashboard(nginx: object) -> None:
    plain, _ = nginx("nginx-tls.conf")  # type: ignore[operator]
    base = f"http://127.0.0.1:{plain}"
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-in-clear-0123456789", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    assert f"use https:// on port {TLS_PORT}" in str(refused.value)  # not followed to HTTPS
    ollama = httpx.post(f"{base}/api/chat", json={"model": "auto"})
    assert ollama.status_code == 403 and "https://" in ollama.json()["error"]
    admin = httpx.get(f"{base}/admin/keys", headers={"authorization": "Bearer sk-x"})
    assert admin.status_code == 403 and admin.json()["error"]["code"] == "https_required"
    login = httpx.post(f"{base}/dashboard/login", data={"key": "sk-x"})
    assert login.status_code == 403
    page = httpx.get(f"{base}/dashboard/usage?month=2026-12")
    assert page.status_code == 308
    assert page.headers["location"] == f"https://127.0.0.1:{TLS_PORT}/dashboard/usage?month=2026-12"


def test_the_tls_override_fills_in_the_published_port() -> None:
    lb = yaml.safe_load((DEPLOY / "compose.tls.yaml").read_text())["services"]["lb"]
    template = "./nginx-tls.conf:/etc/nginx/templates/stellwerk-tls.conf.template:ro"
    assert template in lb["volumes"]
    assert lb["command"][:3] == ["nginx", "-c", "/etc/nginx/conf.d/stellwerk-tls.conf"]
    assert lb["environment"]["STELLWERK_TLS_PORT"] == "${STELLWERK_TLS_PORT:-443}"
    assert "${STELLWERK_TLS_PORT:-443}:8443" in lb["ports"]


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)?", text.strip())
    assert match is not None, text
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_a_stopping_gateway_has_time_to_drain_its_streams() -> None:
    """Docker's default is 10 s before SIGKILL: streams still running would be cut, and their
    usage records lost (walk28 F13)."""
    drain = ServerConfig().shutdown_grace_s
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name in ("gateway-1", "gateway-2"):
        grace = compose["services"][name].get("stop_grace_period", "10s")
        assert _seconds(grace) >= drain + 5, f"{name} is killed {grace} after SIGTERM"
    unit = (DEPLOY / "stellwerk.service").read_text()
    stop = re.search(r"^TimeoutStopSec=(\S+)$", unit, re.MULTILINE)
    assert stop is not None and _seconds(stop.group(1)) >= drain + 5
