"""playbooks/failover_check.yml refuses bad settings of its own, naming them, before it does anything
(its run against a lab is `make failover`; the default molecule scenario runs it as its side effect)."""

import pytest

from helpers import recap, run


@pytest.fixture
def inventory(tmp_path):
    """A proxy that is this machine, and no app server: the checks come before anything is asked of them."""
    path = tmp_path / "hosts.ini"
    path.write_text("[proxy]\nlocalhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n"
                    "[app]\n")
    return path


@pytest.mark.parametrize(("bad", "named"), [
    ('{"failover_pause": "soon"}', "failover_pause"),
    ('{"failover_pause": -1}', "failover_pause"),
    ('{"failover_report": "maybe"}', "failover_report"),
    ('{"failover_report_dir": ""}', "failover_report_dir"),
])
def test_bad_settings_are_refused_naming_them_before_anything_runs(inventory, tmp_path, bad, named):
    where = [] if named == "failover_report_dir" else ["-e", f"failover_report_dir={tmp_path}/reports"]
    result = run(["ansible-playbook", "playbooks/failover_check.yml", "-i", str(inventory), "-e", bad, *where],
                 check=False, timeout=120, env={"ANSIBLE_NOCOLOR": "1"})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Check the experiment's own settings" in output and f"{named} must be" in output, output[-2000:]
    others = {"failover_pause", "failover_report", "failover_report_dir"} - {named}
    assert not any(f"{other} must be" in output for other in others), output[-2000:]
    assert recap(result.stdout)["localhost"]["changed"] == 0
    assert not (tmp_path / "reports").exists()
