"""Allow ``python -m kube``."""

from kube.cli.app import main

if __name__ == "__main__":
    main()
