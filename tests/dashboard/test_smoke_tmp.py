import httpx, openai, re
import pytest
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.fixtures.gateway import KEYS

pytestmark = pytest.mark.llama

def test_smoke(dashboard: DashboardGateway) -> None:
    c = openai.OpenAI(base_url=dashboard.gateway.openai_url, api_key=KEYS["research"], max_retries=0)
    c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    c.chat.completions.create(model="tiny-large", messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    with httpx.Client(base_url=dashboard.gateway.url) as h:
        r = h.get("/dashboard/login")
        print(r.status_code)
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        r = h.post("/dashboard/login", data={"csrf": csrf, "key": ADMIN_KEY})
        print(r.status_code, r.headers, r.text[:2000])
        r = h.get("/dashboard")
        print(r.status_code); open("/tmp/overview.html","w").write(r.text)
        r = h.get("/dashboard/models/tiny-large"); print(r.status_code); open("/tmp/model.html","w").write(r.text)
        r = h.get("/dashboard/departments/research"); print(r.status_code); open("/tmp/dept.html","w").write(r.text)
        assert 0
