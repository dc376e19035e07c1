"""The lab harness itself: base images, the Docker engine script and scripts/lab.sh.

These start real containers from the locally built base images, under their own prefix and
ports so that they never touch a lab the user has running.
"""

import json

import pytest

from helpers import REPO_ROOT, run, start_systemd_container

PREFIX = "webstack-harness"
PORTS = {
    "LAB_SSH_PORT_PROXY": "22201",
    "LAB_SSH_PORT_APP1": "22202",
    "LAB_SSH_PORT_APP2": "22203",
    "LAB_HTTP_PORT": "28080",
    "LAB_HTTPS_PORT": "28443",
    # A network of its own, beside a lab the user may have up (10.213.48.0/24).
    "LAB_NET": "10.213.49",
}
HOSTS = {"proxy": "22201", "app1": "22202", "app2": "22203"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    env = {"LAB_PREFIX": PREFIX, "LAB_DIR": str(tmp_path_factory.mktemp("lab")), **PORTS}
    run(["scripts/lab.sh", "down"], env=env)
    run(["scripts/lab.sh", "up"], env=env, timeout=300)
    yield env
    run(["scripts/lab.sh", "down"], env=env)


def ssh(lab, port, command):
    return run(
        [
            "ssh", "-n", "-i", f"{lab['LAB_DIR']}/id_ed25519", "-p", port,
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "deploy@127.0.0.1", command,
        ],
        check=False,
        timeout=60,
    )


def container_ids(prefix):
    out = run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=org.proxylab.lab={prefix}"]).stdout
    return sorted(out.split())


def test_engine_script_accepts_a_running_engine():
    result = run(["scripts/docker-engine.sh"])
    assert run(["docker", "info", "--format", "{{.ServerVersion}}"]).stdout.strip()
    assert result.returncode == 0


@pytest.mark.parametrize("image", ["proxylab/debian:12", "proxylab/debian:13"])
def test_base_image_carries_its_recipe_hash(image):
    labels = json.loads(run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", image]).stdout)
    assert len(labels["org.proxylab.recipe"]) == 16


def test_image_build_is_skipped_when_the_recipe_is_unchanged():
    result = run(["scripts/build-images.sh"], timeout=120)
    assert "proxylab/debian:12 is up to date" in result.stderr
    assert "proxylab/debian:13 is up to date" in result.stderr
    assert "building" not in result.stderr


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_systemd_reaches_running(lab, host):
    state = run(["docker", "exec", f"{PREFIX}-{host}", "systemctl", "is-system-running"], check=False)
    assert state.stdout.strip() == "running", run(
        ["docker", "exec", f"{PREFIX}-{host}", "systemctl", "--failed", "--no-legend"], check=False
    ).stdout


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_sshd_answers_on_loopback_with_the_generated_key(lab, host):
    result = ssh(lab, HOSTS[host], "id -un; hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["deploy", host]


def test_ssh_refuses_a_key_it_was_not_given(lab, tmp_path):
    stranger = tmp_path / "stranger"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)])
    stranger.rename(tmp_path / "id_ed25519")
    result = ssh({**lab, "LAB_DIR": str(tmp_path)}, HOSTS["proxy"], "true")
    assert result.returncode == 255


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_deploy_has_passwordless_sudo(lab, host):
    result = ssh(lab, HOSTS[host], "sudo -n id -u")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_proxy_publishes_http_and_https_on_loopback(lab):
    ports = json.loads(run(["docker", "inspect", "--format", "{{json .NetworkSettings.Ports}}", f"{PREFIX}-proxy"]).stdout)
    assert ports["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": PORTS["LAB_HTTP_PORT"]}]
    assert ports["443/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": PORTS["LAB_HTTPS_PORT"]}]
    assert ports["22/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": PORTS["LAB_SSH_PORT_PROXY"]}]


def test_https_to_the_npm_registry_works_inside_a_lab_host(lab):
    """The host's extra CA certificates are trusted in the image (intercepting proxies)."""
    result = run(
        ["docker", "exec", f"{PREFIX}-app1", "curl", "-sS", "--max-time", "20", "-o", "/dev/null",
         "-w", "%{http_code}", "https://registry.npmjs.org/"],
        check=False,
    )
    assert result.stdout == "200", result.stderr


def test_ansible_reaches_every_lab_host_through_the_lab_inventory(lab):
    env = {**lab, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    key = f"{lab['LAB_DIR']}/id_ed25519"
    result = run(
        ["ansible", "all", "-i", "inventories/lab", "-m", "ansible.builtin.ping",
         "-e", f"ansible_ssh_private_key_file={key}", "-o"],
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 3


def test_lab_up_again_reuses_the_running_containers(lab):
    before = container_ids(PREFIX)
    run(["scripts/lab.sh", "up"], env=lab, timeout=300)
    assert container_ids(PREFIX) == before
    assert len(before) == 3


def test_lab_up_starts_a_stopped_container(lab):
    run(["docker", "stop", "-t", "1", f"{PREFIX}-app2"])
    run(["scripts/lab.sh", "up"], env=lab, timeout=300)
    assert run(["docker", "inspect", "--format", "{{.State.Running}}", f"{PREFIX}-app2"]).stdout.strip() == "true"
    assert ssh(lab, HOSTS["app2"], "true").returncode == 0


def test_lab_down_removes_only_the_lab(lab):
    bystander = run(["docker", "network", "create", f"{PREFIX}-bystander"]).stdout.strip()
    try:
        run(["scripts/lab.sh", "down"], env=lab)
        assert container_ids(PREFIX) == []
        assert run(["docker", "network", "inspect", PREFIX], check=False).returncode != 0
        assert run(["docker", "network", "inspect", bystander]).returncode == 0
        assert run(["docker", "image", "inspect", "proxylab/debian:12"]).returncode == 0
    finally:
        run(["docker", "network", "rm", bystander], check=False)


def test_debian13_image_boots_systemd_and_trusts_the_host_cas():
    name = start_systemd_container(f"{PREFIX}-trixie", image="proxylab/debian:13")
    try:
        state = run(["docker", "exec", name, "systemctl", "is-system-running"], check=False).stdout.strip()
        assert state == "running"
        code = run(["docker", "exec", name, "curl", "-sS", "--max-time", "20", "-o", "/dev/null",
                    "-w", "%{http_code}", "https://registry.npmjs.org/"], check=False)
        assert code.stdout == "200", code.stderr
    finally:
        run(["docker", "rm", "-f", name], check=False)
