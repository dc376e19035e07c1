"""What the default scenario's tests share: its site, its app servers and how to reach them."""

from helpers import molecule_host

DOMAIN = "dumbflix.lab"
APPS = ("default-app1", "default-app2")


def app_host(name):
    """An app server as root sees it (sudo)."""
    return molecule_host(name, sudo=True)
