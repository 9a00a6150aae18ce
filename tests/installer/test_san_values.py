"""The SAN reader every check uses: DNS names and IP addresses in order, nothing else."""

from __future__ import annotations

import ipaddress

from cryptography import x509

from tlsprov.pki.x509 import covers, san_values


def test_names_and_addresses_in_order_and_other_kinds_left_out() -> None:
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("harbor.test"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.UniformResourceIdentifier("https://harbor.test/"),
            x509.DNSName("*.harbor.test"),
            x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),  # a network: not an address
            x509.RFC822Name("admin@harbor.test"),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    dns, ips = san_values(san)
    assert dns == ["harbor.test", "*.harbor.test"]
    assert ips == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert covers(dns, ips, "registry.harbor.test") and covers(dns, ips, "::1")
    assert not covers(dns, ips, "127.0.0.2")  # the network entry covers nothing


def test_an_empty_subject_alt_name_gives_nothing() -> None:
    assert san_values(x509.SubjectAlternativeName([])) == ([], [])
