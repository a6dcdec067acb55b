"""``python -m kube.clusters.runner ACTION PROVISIONER NAME OPTIONS_JSON TIMEOUT``: one call of a
provisioner, in a child process that kube can stop (see ``kube.clusters.provisioners``).

Prints one JSON line on success (``{"kubeconfig": PATH}``, ``{"status": TEXT}`` or ``{}``);
on failure one line on stderr and exit 1.
"""

from __future__ import annotations

import json
import os
import sys

from kube.clusters import provisioners
from kube.core import signals


def main(argv: list[str]) -> int:
    # kube ends this process with SIGTERM at the timeout: unwind, so that what the provisioner
    # started through kube.core.process (in sessions of their own) is ended with it.
    signals.install()
    try:
        action, provisioner, name, options_json, timeout = argv
        options = json.loads(options_json)
        plugin = provisioners.load(provisioner)
        if action == "create":
            path = os.fspath(plugin.create(name, options, float(timeout)))
            result: dict[str, str] = {"kubeconfig": path}
        elif action == "delete":
            plugin.delete(name)
            result = {}
        elif action == "status":
            result = {"status": str(plugin.status(name))}
        else:
            raise ValueError(f"unknown action {action!r}")
    except Exception as exc:  # a plugin's failure, whatever it is, is one line for the caller
        line = provisioners.describe_failure(exc).replace("\n", " ")
        sys.stderr.write(line + "\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
