"""The install wing (floor 5): plans from targets, applied with backup, lock and rollback.

Targets (:mod:`tlsprov.install.targets`) only describe; :mod:`~tlsprov.install.planning` checks
and assesses their plans, :mod:`~tlsprov.install.engine` applies them, and
:mod:`~tlsprov.install.rollback` undoes them from the journal of :mod:`~tlsprov.install.backup`.
"""
