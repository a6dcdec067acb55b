"""``kube lint``: offline findings on formulas."""
