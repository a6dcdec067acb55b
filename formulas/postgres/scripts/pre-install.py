"""Generate the postgres password unless one was given with --set password=...

Reads the merged values (JSON) from $KUBE_VALUES_FILE and writes them back,
with `password` filled in, to $KUBE_VALUES_OUT (mode 0600). The templates put
the password into the Secret `postgres`; it is never printed.
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
    namespace = os.environ.get("KUBE_NAMESPACE", "default")
    if str(values.get("password") or ""):
        print("postgres: using the password given in the values")
    else:
        # URL-safe characters only, so the password also works inside connection URLs.
        values["password"] = secrets.token_urlsafe(24)
        print(
            "postgres: generated a password into the Secret postgres; read it with "
            f"kubectl get secret postgres -n {namespace} -o jsonpath='{{.data.password}}' | base64 -d"
        )
    write_values(values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
