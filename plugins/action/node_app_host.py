# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Action plugin for node_app_host: the same reads as the module, sent to the host's Python as a
plain script.

node_app reads every app server once per run with node_app_host, so what one call costs is paid
per app server. A module starts through Ansible's wrapper (AnsiballZ), which unpacks itself and
imports ansible.module_utils.basic before the module reads anything: more time than the reads
themselves. node_app_probe.py needs only the standard library, so this plugin sends it, with
converged.py and the options, to `python -I -S -` on the host through the connection's one round
trip (with become, as a pipelined module), and reads the JSON it prints.

It needs the host's Python (ansible_python_interpreter, or the one an earlier task of the run
found) and a connection that pipelines; otherwise, or with delegate_to, the module runs as any
module does (Ansible then finds the host's Python, once per run)."""

from __future__ import annotations

import json
from pathlib import Path

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible_collections.proxylab.webstack.plugins.module_utils import converged, node_app_probe

MODULE = "proxylab.webstack.node_app_host"
AUTO = {"auto", "auto_legacy", "auto_silent", "auto_legacy_silent"}
# The collection's code the script defines, in the order it is imported, under the names the
# module imports it by.
SOURCES = [(module.__name__, Path(module.__file__).read_text(encoding="utf-8")) for module in (converged, node_app_probe)]
SCRIPT = """\
import json, sys, types
for name, source in {sources!r}:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name, "exec", dont_inherit=True), module.__dict__)
probe = sys.modules[{probe!r}]
try:
    result = probe.read_host(probe.expand_paths(json.loads({params!r})))
except (OSError, RuntimeError) as error:
    result = {{"failed": True, "msg": str(error)}}
sys.stdout.write(json.dumps(result))
"""


def controller_spec(spec):
    """The options with paths as plain strings: they are expanded on the host, as the module does."""
    plain = {}
    for name, option in spec.items():
        option = dict(option)
        if option.get("type") == "path":
            option["type"] = "str"
        if option.get("elements") == "path":
            option["elements"] = "str"
        if "options" in option:
            option["options"] = controller_spec(option["options"])
        plain[name] = option
    return plain


# The options as the controller checks them, worked out once rather than on every call.
CONTROLLER_SPEC = controller_spec(node_app_probe.ARGUMENT_SPEC)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # no temporary files are used

        interpreter = self._known_python(task_vars)
        if interpreter is None:
            result.update(self._execute_module(module_name=MODULE, module_args=self._task.args, task_vars=task_vars))
            return result

        _validation, params = self.validate_argument_spec(
            argument_spec=CONTROLLER_SPEC, required_by=node_app_probe.REQUIRED_BY)
        script = SCRIPT.format(sources=SOURCES, probe=node_app_probe.__name__, params=json.dumps(params))
        done = self._low_level_execute_command(f"{interpreter} -I -S -", sudoable=True, in_data=script.encode())
        try:
            read = json.loads(done["stdout"])
        except ValueError:
            result.update(failed=True, rc=done["rc"], stdout=done["stdout"], stderr=done["stderr"],
                          msg=f"node_app_host could not read the host with {interpreter} (exit status {done['rc']}): "
                              f"{done['stderr'].strip()[-2000:] or done['stdout'].strip()[-2000:]}")
            return result
        result.update(read)
        return result

    def _known_python(self, task_vars):
        """The host's Python when it is known without asking the host, and the connection pipelines."""
        if self._task.delegate_to or not self._connection.is_pipelining_enabled(wrap_async=False):
            return None
        setting = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        setting = self._templar.template(setting) if isinstance(setting, str) else None
        if setting and setting not in AUTO:
            return setting
        return (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")
