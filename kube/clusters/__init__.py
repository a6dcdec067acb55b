"""Clusters as first-class names: the registry, what a cluster reports, provisioners, backups.

A cluster is a kubeconfig context registered under a short name in
``$KUBE_HOME/clusters.yaml`` (``registry``). kube never installs Kubernetes
itself: creating and deleting a cluster is delegated to a provisioner plugin
(``provisioners``; the ``local`` one drives the engine in ``engine/``).
"""
