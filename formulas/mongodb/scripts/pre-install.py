"""Generate MongoDB's passwords and replica-set key unless they were given with --set.

Reads the merged values (JSON) from $KUBE_VALUES_FILE and writes them back, with
`rootPassword`, `password` and `replicaSetKey` filled in, to $KUBE_VALUES_OUT
(mode 0600). The templates put them into the Secret `mongodb`; they are never printed.
"""

from __future__ import annotations

import base64
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


def generate(name: str) -> str:
    if name == "replicaSetKey":
        # A key file holds base64 characters only.
        return base64.b64encode(secrets.token_bytes(96)).decode("ascii")
    # URL-safe characters only, so the password also works inside connection strings.
    return secrets.token_urlsafe(24)


def main() -> int:
    values = read_values()
    namespace = os.environ.get("KUBE_NAMESPACE", "default")
    generated = []
    for name in ("rootPassword", "password", "replicaSetKey"):
        if str(values.get(name) or ""):
            print(f"mongodb: using the {name} given in the values")
        else:
            values[name] = generate(name)
            generated.append(name)
    if generated:
        print(f"mongodb: generated {', '.join(generated)} into the Secret mongodb (namespace {namespace})")
    write_values(values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
