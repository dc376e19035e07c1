"""The variable tables of the roles' READMEs are generated from meta/argument_specs.yml
(scripts/role-docs.py, `make docs`): a description changed in a spec and not regenerated fails here."""

import shutil
import subprocess
import sys

from helpers import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "role-docs.py"


def role_docs(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_every_role_readme_is_up_to_date():
    result = role_docs("--check")
    assert result.returncode == 0, result.stderr


def test_a_changed_description_is_caught_until_the_readme_is_regenerated(tmp_path):
    roles = tmp_path / "roles"
    for role in ("node_app", "nginx_proxy"):
        (roles / role / "meta").mkdir(parents=True)
        shutil.copy(REPO_ROOT / "roles" / role / "README.md", roles / role / "README.md")
        shutil.copy(REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml", roles / role / "meta" / "argument_specs.yml")
    spec = roles / "node_app" / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("Version of PM2 installed globally with npm.",
                                             "Version of PM2, installed with npm for every user."))

    stale = role_docs("--check", "--roles-dir", str(roles))
    assert stale.returncode == 1
    assert str(roles / "node_app" / "README.md") in stale.stderr and "nginx_proxy" not in stale.stderr

    assert role_docs("--roles-dir", str(roles)).returncode == 0
    assert "| `node_app_pm2_version` | `7.0.4` | str | Version of PM2, installed with npm for every user. |" \
        in (roles / "node_app" / "README.md").read_text()
    assert role_docs("--check", "--roles-dir", str(roles)).returncode == 0
