"""The PKI wing (floor 3): certificates as data.

Identity parsing, PEM and key handling (:mod:`~tlsprov.pki.x509`), linting, description, the
checks every bundle passes (:mod:`~tlsprov.pki.bundlecheck`), bundle files on disk and the live
TLS check (:mod:`~tlsprov.pki.verify`). Imports only the floors below: models, errors, fsops.
"""
