"""Re-runs: after a complete run, a re-run with nothing to do leaves the stage alone and changes
nothing; a change made by hand to a live file, or a site's link removed, is still seen and put back
through the stage.

converge.yml is applied again to both proxies (in parallel), with their own inventory."""

from conftest import APPS, converge, fetch, get_host, health_marks, set_apps
from helpers import recap, wait_until

PROXIES = ("nginx-proxy-deb12", "nginx-proxy-deb13")
STAGE = "/var/lib/nginx-proxy/stage"
HTTP_CONF = "/etc/nginx/conf.d/nginx-proxy-http.conf"
MAIN_SITE_LINK = "/etc/nginx/sites-enabled/nginx-proxy-dumbflix.lab.conf"


def stage_identity(host):
    """Inode and change time of the stage directory: both change when the stage is built again."""
    return host.check_output(f"stat -c '%i %Z' {STAGE}")


def converge_both():
    # Every app server up and in rotation, so the health checks change nothing meanwhile.
    set_apps(APPS)
    for name in PROXIES:
        wait_until(lambda name=name: not health_marks(name), timeout=15)
    results = converge({name: {} for name in PROXIES})
    for name, result in results.items():
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return results


def test_a_rerun_with_nothing_to_do_leaves_the_stage_alone():
    # The scenario's last runs (idempotence, test_20's renewal) were complete, so each proxy has the
    # record of its last complete run: the re-run compares, finds nothing to do, and skips every step.
    hosts = {name: get_host(name) for name in PROXIES}
    before = {name: stage_identity(host) for name, host in hosts.items()}
    results = converge_both()
    for name, host in hosts.items():
        output = results[name].stdout
        print(f"\n{name}: re-run with nothing to do: {recap(output)[name]}")
        assert recap(output)[name]["changed"] == 0
        assert "Render the configuration into the stage" not in output
        assert stage_identity(host) == before[name]


def test_a_live_file_changed_by_hand_and_a_removed_site_link_are_put_back():
    hosts = {name: get_host(name) for name in PROXIES}
    wanted = {name: host.check_output(f"sha1sum {HTTP_CONF}") for name, host in hosts.items()}
    for host in hosts.values():
        host.check_output(f"echo '# edited by hand' >> {HTTP_CONF}")
        host.check_output(f"rm {MAIN_SITE_LINK}")
    results = converge_both()
    for name, host in hosts.items():
        found = recap(results[name].stdout)[name]
        print(f"\n{name}: re-run after a hand edit and a removed link: {found}")
        assert found["changed"] >= 2
        assert host.check_output(f"sha1sum {HTTP_CONF}") == wanted[name]
        assert host.file(MAIN_SITE_LINK).linked_to.endswith("/sites-available/nginx-proxy-dumbflix.lab.conf")
        assert all(r.status == 200 for r in fetch(host, 4))
