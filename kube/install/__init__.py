"""The install pipeline: resolve, dependencies, hooks, create, uninstall."""
