"""Allow ``python -m kube``."""

from kube.cli import main

if __name__ == "__main__":
    main()
