"""The static files as the Docker image builds them (scripts/collect-static.sh), served
with DEBUG off as in production: the pages render and the assets they name exist.

Built with DEBUG on, collectstatic writes no manifest, and with DEBUG off every page
that uses {% static %} failed with "Missing staticfiles manifest entry".
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.sqlite_run import ROOT, copy_database, probe, sqlite_env

PAGES = ["/", "/admin/login/", "/api/docs/"]

REQUEST_PAGES = f"""
import json, re
from django.conf import settings
from django.test import Client
c = Client()
out = {{"debug": settings.DEBUG, "pages": {{}}, "assets": {{}}}}
for path in {PAGES!r}:
    r = c.get(path)
    body = r.content.decode()
    out["pages"][path] = r.status_code
    for asset in re.findall(r'(?:src|href)="(/static/[^"?]+)', body):
        out["assets"][asset] = c.get(asset).status_code
print(json.dumps(out))
"""


def test_pages_render_with_the_production_static_build(tmp_path, sqlite_loaded):
    env = sqlite_env(
        tmp_path / "db.sqlite3",
        DEBUG="false",
        VAR_DIR=str(tmp_path),
        SECRET_KEY="static-build-test-" + "x" * 50,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        PYTHON=sys.executable,
    )
    built = subprocess.run([str(ROOT / "scripts/collect-static.sh")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    assert manifest["paths"], "the manifest names no files"

    copy_database(sqlite_loaded, tmp_path / "db.sqlite3")  # migrated and loaded
    seen = probe(env, REQUEST_PAGES)
    assert seen["debug"] is False
    assert seen["pages"] == dict.fromkeys(PAGES, 200), seen
    # Each page names hashed assets (from the manifest), and each is served.
    assert seen["assets"], seen
    assert all(status == 200 for status in seen["assets"].values()), seen["assets"]
    assert any(name in asset for asset in seen["assets"]
               for name in manifest["paths"].values())
