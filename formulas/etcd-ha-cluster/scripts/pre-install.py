"""Generate the etcd initial cluster token, unless one was given with --set.

Reads the merged values (JSON) from $KUBE_VALUES_FILE and writes them back, with
`initialClusterToken` filled in, to $KUBE_VALUES_OUT. The token keeps members of
different clusters from joining each other; it is not a credential.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path


def read_values() -> dict[str, object]:
    path = os.environ.get("KUBE_VALUES_FILE")
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def write_values(values: dict[str, object]) -> None:
    out = os.environ.get("KUBE_VALUES_OUT")
    if not out:
        raise SystemExit("pre-install: KUBE_VALUES_OUT is not set; run this hook through `kube install`")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle)


def main() -> int:
    values = read_values()
    if str(values.get("initialClusterToken") or "").strip():
        print("etcd-ha-cluster: using the initial cluster token given in the values")
    else:
        namespace = os.environ.get("KUBE_NAMESPACE", "default")
        values["initialClusterToken"] = f"etcd-ha-cluster-{namespace}-{secrets.token_hex(8)}"
        print("etcd-ha-cluster: generated a new initial cluster token")
    write_values(values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
