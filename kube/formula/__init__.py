"""A formula on disk: K3.yaml, SemVer and ranges, strict YAML, values, templates, the manifest reader."""
