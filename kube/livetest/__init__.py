"""``kube test``: a formula installed, tested and removed on a real cluster."""
