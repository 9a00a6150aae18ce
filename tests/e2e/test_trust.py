"""``tlsprov trust`` against nginx + docker-registry: a Harbor-style getcert endpoint, pins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

from tlsprov.pki.pinning import GETCERT_PATH
from tlsprov.pki.x509 import fingerprint, load_cert

pytestmark = pytest.mark.e2e


def getcert_include(folder: Path, cert: Path, key: Path, published_ca: Path) -> Path:
    """TLS directives plus Harbor's getcert path serving ``published_ca`` as a static file."""
    path = S.tls_include(folder, cert, key)
    path.write_text(
        path.read_text(encoding="utf-8")
        + f"location = {GETCERT_PATH} {{\n  default_type application/octet-stream;\n"
        f"  alias {published_ca};\n}}\n",
        encoding="utf-8",
    )
    return path


def ca_fingerprint(path: Path) -> str:
    """The SHA-256 fingerprint 'tlsprov ca init' prints for the CA at ``path``."""
    return fingerprint(load_cert(path.read_bytes()))


def private_keys(root: Path) -> list[str]:
    """Files under ``root`` holding a private key."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and b"PRIVATE KEY" in p.read_bytes()
    )


@pytest.fixture
def harbor(issued: Any, sandbox: Any, nginx: Any, tmp_path: Path) -> Any:
    """A Harbor host installed by tlsprov, serving its ca_download/ca.crt at getcert."""
    box = sandbox("debian")
    port = S.free_port()
    result = box.install(issued.server, port, "--targets", "harbor")
    assert result.returncode == 0, S.describe(result)
    published = box.path("/data/ca_download/ca.crt")
    assert published.read_bytes() == issued.ca_cert.read_bytes()
    include = getcert_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key", published
    )
    nginx(include, port=port)
    return port


def test_from_harbor_pinned_installs_ca_only_and_pushes(
    issued: Any, sandbox: Any, harbor: int, skopeo: Any, registry: int
) -> None:
    port = harbor
    client = sandbox(harbor_yml=None)
    fp = "sha256:" + ca_fingerprint(issued.ca_cert).lower()  # any case, with the prefix
    args = (
        "trust", f"{S.HOST}:{port}", "--from-harbor", "--fingerprint", fp,
        "--connect", f"127.0.0.1:{port}", "--targets", "podman,docker,os-trust",
        "--root", str(client.root), "--json",
    )  # fmt: skip
    first = client.tlsprov(*args)
    assert first.returncode == 0, S.describe(first)
    report = json.loads(first.stdout)
    assert report["changed"] is True
    assert report["source"] == "harbor"
    assert report["restarts"] == ["docker"]
    ca = issued.ca_cert.read_bytes()
    docker_dir = client.certs_d(port)
    podman_dir = client.path(f"/etc/containers/certs.d/{S.HOST}:{port}")
    assert sorted(p.name for p in docker_dir.iterdir()) == ["ca.crt"]
    assert sorted(p.name for p in podman_dir.iterdir()) == ["ca.crt"]
    assert (docker_dir / "ca.crt").read_bytes() == ca
    assert (podman_dir / "ca.crt").read_bytes() == ca
    anchor = client.path("/usr/local/share/ca-certificates/tlsprov-harbor.test.crt")
    assert anchor.read_bytes() == ca
    assert private_keys(client.root) == []
    # Restart rules: the OS store changed, so update-ca-certificates and one Docker restart.
    assert client.records() == [["update-ca-certificates"], ["systemctl", "restart", "docker"]]

    pushed = skopeo.push(port, cert_dir=podman_dir, repo="e2e/trust")
    assert pushed.returncode == 0, pushed.stderr
    assert S.registry_tags(registry, "e2e/trust") == ["v1"]

    before = client.snapshot(state=False)
    second = client.tlsprov(*args)
    assert second.returncode == 0, S.describe(second)
    again = json.loads(second.stdout)
    assert again["changed"] is False
    assert again["restarts"] == []
    assert "nothing to do" in " ".join(again["result"]["notes"])
    assert client.snapshot(state=False) == before
    assert len(client.records()) == 2  # nothing ran the second time


def test_wrong_or_missing_fingerprint_changes_nothing(
    issued: Any, sandbox: Any, harbor: int
) -> None:
    client = sandbox(harbor_yml=None)
    before = client.snapshot()
    base = ("trust", f"{S.HOST}:{harbor}", "--from-harbor", "--connect", f"127.0.0.1:{harbor}",
            "--root", str(client.root))  # fmt: skip
    wrong = client.tlsprov(*base, "--fingerprint", "AB:" * 31 + "AB")
    assert wrong.returncode == 2, S.describe(wrong)
    assert "no --fingerprint names" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    missing = client.tlsprov(*base)
    assert missing.returncode == 2, S.describe(missing)
    assert "trusted on first use" in missing.stderr
    garbage = client.tlsprov(*base, "--fingerprint", "not-hex")
    assert garbage.returncode == 2
    assert "not a SHA-256 fingerprint" in garbage.stderr
    assert client.snapshot() == before
    assert client.records() == []


def test_pinned_ca_but_server_from_another_ca_is_refused(
    issued: Any, sandbox: Any, nginx: Any, tmp_path: Path
) -> None:
    """An interceptor serving a CA the pin names, but a leaf that CA did not sign."""
    other = S.Issued(tmp_path / "other")
    made = S.run_tlsprov(
        ["ca", "init", "--ca-dir", str(other.ca_dir), "--key-type", "ec256"], other.env
    )
    assert made.returncode == 0, S.describe(made)
    port = S.free_port()
    include = getcert_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key",
        other.ca_dir / "ca.crt",
    )  # fmt: skip
    nginx(include, port=port)
    client = sandbox(harbor_yml=None)
    before = client.snapshot()
    result = client.tlsprov(
        "trust", f"{S.HOST}:{port}", "--from-harbor", "--connect", f"127.0.0.1:{port}",
        "--fingerprint", ca_fingerprint(other.ca_dir / "ca.crt"), "--root", str(client.root),
    )  # fmt: skip
    assert result.returncode == 1, S.describe(result)
    assert "does not verify" in result.stderr
    assert client.snapshot() == before


def test_ca_file_with_client_pair_for_mtls(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    pair = issued.issue("builder1", tmp_path / "builder1", "--client")
    client = sandbox(harbor_yml=None)
    port = S.free_port()
    result = client.tlsprov(
        "trust", f"{S.HOST}:{port}", "--ca", str(issued.ca_cert), "--client-bundle", str(pair),
        "--targets", "docker", "--root", str(client.root),
    )  # fmt: skip
    assert result.returncode == 0, S.describe(result)
    folder = client.certs_d(port)
    assert sorted(p.name for p in folder.iterdir()) == ["ca.crt", "client.cert", "client.key"]
    assert (folder / "client.key").stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    assert client.records() == []  # certs.d only: no restart
    tls = S.tls_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key"
    )
    server = nginx(tls, port=port, client_ca=issued.ca_cert)
    pushed = skopeo.push(port, cert_dir=folder, repo="e2e/trust-mtls")
    assert pushed.returncode == 0, pushed.stderr + server.error_log()
    assert "verify=SUCCESS" in server.access_log()


def test_default_targets_and_refusals(issued: Any, sandbox: Any) -> None:
    client = sandbox(harbor_yml=None)  # has /etc/docker and a Debian os-release
    (client.root / "etc" / "containerd").mkdir()
    dry = client.tlsprov(
        "trust", S.HOST, "--ca", str(issued.ca_cert), "--root", str(client.root), "--dry-run",
        "--json",
    )  # fmt: skip
    assert dry.returncode == 0, S.describe(dry)
    report = json.loads(dry.stdout)
    assert report["targets"] == ["os-trust", "docker", "containerd"]
    assert report["changed"] is False
    assert report["restarts"] == ["docker", "containerd"]
    assert report["plan"]["changed"] is True
    before = client.snapshot()
    leaf = client.tlsprov(
        "trust", S.HOST, "--ca", str(issued.server / "harbor.test.crt"), "--root",
        str(client.root),
    )  # fmt: skip
    assert leaf.returncode == 2 and "not a CA certificate" in leaf.stderr, S.describe(leaf)
    harbor = client.tlsprov(
        "trust", S.HOST, "--ca", str(issued.ca_cert), "--targets", "harbor", "--root",
        str(client.root),
    )  # fmt: skip
    assert harbor.returncode == 2 and "not a client target" in harbor.stderr
    pinned = client.tlsprov(
        "trust", S.HOST, "--ca", str(issued.ca_cert), "--fingerprint", "00" * 32, "--root",
        str(client.root),
    )  # fmt: skip
    assert pinned.returncode == 2 and "no --fingerprint names" in pinned.stderr
    assert client.snapshot() == before
