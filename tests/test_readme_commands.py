"""Every `manage.py` line in the README's "Commands" block runs as shown, after `make
run`'s set-up, in a fresh shell (no DEBUG, no database or Redis of the developer's)."""

from __future__ import annotations

import os
import re
import subprocess

from tests.sqlite_run import MAIL_VARIABLES, NOV_2020, ROOT

# What a reader types for each placeholder; options in [brackets] are left out.
PLACEHOLDERS = {"NAME": "newcomer", "PATH": NOV_2020, "SLUG": "nov-2020-trilateral"}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = []
    for line in block.splitlines():
        command = line.split("  #", 1)[0].strip()
        if command.startswith(("export ", ".venv/bin/python manage.py")):
            command = re.sub(r"\[[^\]]*\]", "", command)
            for name, value in PLACEHOLDERS.items():
                command = re.sub(rf"\b{name}\b", value, command)
            lines.append(" ".join(command.split()))
    return lines


def test_the_readme_commands_run_as_shown(tmp_path):
    commands = readme_commands()
    manage_lines = [c for c in commands if "manage.py" in c]
    assert {c.split()[2] for c in manage_lines} >= {
        "createsuperuser", "add_staff", "load_agreement", "export_agreement", "sweep"
    }
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                        "SECRET_KEY", "DJANGO_SETTINGS_MODULE", *MAIL_VARIABLES)}
    env.update(VAR_DIR=str(tmp_path), STAFF_PASSWORD="a-long-newcomer-password",
               DJANGO_SUPERUSER_USERNAME="root", DJANGO_SUPERUSER_EMAIL="root@example.org",
               DJANGO_SUPERUSER_PASSWORD="a-long-root-password")
    # `make run`'s first step, then the README's lines in one shell, as a reader would.
    script = ["set -e", "DEBUG=true .venv/bin/python manage.py migrate --noinput -v 0"]
    for command in commands:
        # createsuperuser asks in a terminal; here it reads the answers from DJANGO_SUPERUSER_*.
        script.append(command + (" --noinput" if command.endswith("createsuperuser") else ""))
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "created staff account 'newcomer'" in done.stdout
    assert "slug: nov-2020-trilateral" in done.stdout  # the export printed the file
