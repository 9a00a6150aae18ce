"""Old import path of :mod:`tlsprov.pki.x509`, kept for plugins written against it."""

from tlsprov.pki.x509 import *  # noqa: F403
from tlsprov.pki.x509 import __all__ as __all__
