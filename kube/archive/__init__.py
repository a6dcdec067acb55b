"""The git-backed archive: git, update, the search index, config, the lock, the workspace."""
