# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Which files of nginx's site directories the nginx_proxy role removes."""

from __future__ import annotations

import posixpath


def nginx_proxy_obsolete_files(found, conf_dir, ours, prefix):
    """The files to remove, relative to conf_dir: in sites-enabled everything but the links of the
    role's sites (the distribution's default site, sites enabled by hand), in sites-available the
    role's own files (named with prefix) of vhosts no longer listed.

    found: paths of what is in sites-available and sites-enabled; ours: the role's site files,
    relative to conf_dir (sites-available/<prefix><domain>.conf)."""
    ours = set(ours)
    enabled = {"sites-enabled/" + posixpath.basename(path) for path in ours}
    obsolete = []
    for path in found:
        relative = posixpath.relpath(path, conf_dir)
        directory, _slash, name = relative.partition("/")
        if directory == "sites-enabled" and relative not in enabled:
            obsolete.append(relative)
        elif directory == "sites-available" and name.startswith(prefix) and relative not in ours:
            obsolete.append(relative)
    return sorted(obsolete)


def nginx_proxy_leaving_sites(found, conf_dir, ours, prefix, first):
    """The role's site files of vhosts no longer listed (a domain change), rendered once more as the
    first site under their old names, so that they keep answering until the new vhosts do.

    found: paths in sites-available and sites-enabled; ours: the role's site files now (relative to
    conf_dir); first: the first site (its upstream and maintenance page serve the leaving names)."""
    ours = set(ours)
    leaving = []
    for path in found:
        relative = posixpath.relpath(path, conf_dir)
        directory, _slash, name = relative.partition("/")
        if directory == "sites-available" and name.startswith(prefix) and name.endswith(".conf") and relative not in ours:
            domain = name[len(prefix):-len(".conf")]
            site = {**first, "domain": domain, "aliases": [], "served_as": first["domain"]}
            leaving.append({"src": "site.conf.j2", "dest": relative, "site": site})
    return sorted(leaving, key=lambda item: item["dest"])


def nginx_proxy_site_files(sites, prefix):
    """One file per vhost under sites-available, rendered from site.conf.j2 with the site as `site`."""
    return [{"src": "site.conf.j2", "dest": f"sites-available/{prefix}{site['domain']}.conf", "site": site}
            for site in sites]


class FilterModule:
    def filters(self):
        return {"nginx_proxy_obsolete_files": nginx_proxy_obsolete_files, "nginx_proxy_site_files": nginx_proxy_site_files,
                "nginx_proxy_leaving_sites": nginx_proxy_leaving_sites}
