"""kube: a package manager for Kubernetes, in the spirit of Homebrew."""

__version__ = "0.1.0"
