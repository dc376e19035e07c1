"""The GitHub Actions workflows under .github/workflows: valid against GitHub's workflow schema
(check-jsonschema, also run by `make lint`), and the molecule workflow runs every scenario."""

import shutil
import subprocess

import yaml

from helpers import REPO_ROOT, tool

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
CHECK = tool("check-jsonschema")


def schema_check(*paths):
    return subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_workflows_are_lint_molecule_and_release():
    assert {path.stem for path in WORKFLOWS} == {"lint", "molecule", "release"}


def test_every_workflow_matches_the_schema():
    result = schema_check(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_is_refused(tmp_path):
    broken = tmp_path / "lint.yml"
    shutil.copy(REPO_ROOT / ".github" / "workflows" / "lint.yml", broken)
    broken.write_text(broken.read_text().replace("runs-on:", "run-on:"))
    result = schema_check(broken)
    assert result.returncode != 0, result.stdout


def test_the_molecule_workflow_runs_every_scenario():
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "molecule.yml").read_text())
    in_matrix = {entry["scenario"] for entry in workflow["jobs"]["scenario"]["strategy"]["matrix"]["include"]}
    scenarios = {path.parent.name for path in (REPO_ROOT / "molecule").glob("*/molecule.yml")}
    assert in_matrix == scenarios
