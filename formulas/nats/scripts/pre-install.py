"""Generate the client token unless given with --set, and keep them across upgrades.

Reads the merged values (JSON) from $KUBE_VALUES_FILE; on `kube upgrade` also
the values of the revision being upgraded from $KUBE_PREVIOUS_VALUES, so a
generated secret stays the one the data was initialised with. Writes the
values back to $KUBE_VALUES_OUT (mode 0600). Secrets are never printed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

# value -> number of random bytes (URL-safe base64: about 4/3 as many characters).
GENERATED = {"token": 32}


def read_json(variable: str) -> dict[str, object]:
    path = os.environ.get(variable)
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
    values = read_json("KUBE_VALUES_FILE")
    previous = read_json("KUBE_PREVIOUS_VALUES")
    namespace = os.environ.get("KUBE_NAMESPACE", "default")
    for key, size in GENERATED.items():
        if str(values.get(key) or ""):
            print(f"nats: using the {key} given in the values")
        elif str(previous.get(key) or ""):
            values[key] = previous[key]
            print(f"nats: keeping the {key} of the installed revision")
        else:
            values[key] = secrets.token_urlsafe(size)
            print(f"nats: generated {key} into the Secret nats (namespace {namespace})")
    write_values(values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
