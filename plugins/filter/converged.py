# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the quick re-run that both roles share (the module proxylab.webstack.converged)."""

from __future__ import annotations

import hashlib
import json

# Tags that select or skip every task of a play.
_EVERY = ("always", "tagged", "untagged")


def converged_digest(inputs):
    """The digest of a run's inputs: SHA-256 of their JSON with sorted keys."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def converged_complete(run_tags, skip_tags, role_tags):
    """Whether a run with these --tags and --skip-tags runs every task of a role whose tasks carry
    role_tags: only such a run may be recorded as standing for its inputs."""
    return "all" in (run_tags or []) and not set(skip_tags or []) & set(list(role_tags) + list(_EVERY))


class FilterModule:
    def filters(self):
        return {"converged_digest": converged_digest, "converged_complete": converged_complete}
