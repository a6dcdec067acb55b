"""Allow ``python -m kube``."""

from kube.cli.entry import main

if __name__ == "__main__":
    main()
