"""The lifecycle wing (floor 6): config-driven provisioning and renewal.

``tlsprov.toml`` (:mod:`~tlsprov.lifecycle.config`), provision (issue or reuse, install, live
check), renewal (window, ARI, hooks), the state folder (:mod:`~tlsprov.lifecycle.lineage`),
status and systemd units.
"""
