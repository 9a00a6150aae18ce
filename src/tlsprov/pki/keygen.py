"""Private keys for a set of certificates, RSA ones generated side by side on the usable cores.

RSA key generation is nearly all of an RSA leaf's cost (the prime search), and ``cryptography``
runs it without holding the GIL, so threads give real parallelism. EC and Ed25519 keys take
microseconds and are made in the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tlsprov.models import KeyType
from tlsprov.pki.x509 import generate_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = ["generate_keys", "usable_cpus"]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def generate_keys(key_types: Sequence[KeyType]) -> list[CertificateIssuerPrivateKeyTypes]:
    """One fresh private key per entry of ``key_types``, in the same order.

    Two or more RSA keys are generated on up to :func:`usable_cpus` threads; with one CPU, or
    one RSA key, everything runs in the calling thread.
    """
    rsa_types = [key_type for key_type in key_types if key_type.is_rsa]
    workers = min(len(rsa_types), usable_cpus())
    if workers < 2:
        return [generate_key(key_type) for key_type in key_types]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tlsprov-keygen") as pool:
        rsa_keys = iter(list(pool.map(generate_key, rsa_types)))
    return [next(rsa_keys) if kt.is_rsa else generate_key(kt) for kt in key_types]
