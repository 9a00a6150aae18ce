"""The tlsprov.harbor Ansible collection, built with ansible-galaxy and run with ansible-playbook.

One Harbor host and six registry clients: five over ``ansible_connection=local``, each with
its own sandbox root, and one over real SSH to an sshd these tests start on 127.0.0.1 (with a
throw-away key, in a private mount namespace so its privilege-separation folder never touches
the real /run). The Harbor host's proxy is nginx from the e2e harness, with Harbor's getcert
path serving ``<data_volume>/ca_download/ca.crt``; skopeo pulls using only what was installed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

from tlsprov.pki.pinning import GETCERT_PATH

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # each playbook run takes seconds

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "integrations" / "ansible"
VENV_BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 300
_RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the collection with ansible-galaxy and install the tarball into a private path."""
    folder = tmp_path_factory.mktemp("collections")
    env = {**S.clean_env(), "HOME": str(folder), "ANSIBLE_NOCOLOR": "1"}
    built = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", str(COLLECTION),
         "--output-path", str(folder)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = folder / "tlsprov-harbor-0.1.0.tar.gz"
    assert tarball.is_file(), built.stdout
    installed = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-p", str(folder / "path"),
         str(tarball)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (folder / "path/ansible_collections/tlsprov/harbor/plugins/modules/trust.py").is_file()
    return folder / "path"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real sshd on 127.0.0.1:<free port>, key login for root only; stopped by PID."""
    folder = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        made = subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    run = folder / "run"
    (run / "sshd").mkdir(parents=True, mode=0o755)
    port = S.free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
        "Subsystem sftp internal-sftp\n",
        encoding="utf-8",
    )
    argv = [
        "unshare", "-m", "sh", "-c", 'mount --bind "$0" /run && exec "$@"', str(run),
        "/usr/sbin/sshd", "-D", "-e", "-f", str(config),
    ]  # fmt: skip
    proc = S.start_daemon(argv, folder / "log", port)
    try:
        yield {"port": port, "key": folder / "client_key", "log": folder / "log"}
    finally:
        S.stop_process(proc)


def _placeholder_pair(folder: Path) -> None:
    """A throw-away certificate so nginx can start before Harbor's first prepare."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "placeholder")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "server.key").chmod(0o600)


def _fake_env(box: Any, **extra: str) -> dict[str, str]:
    keys = ("PATH", "TLSPROV_TEST_RECORD", "TLSPROV_TEST_ROOT", "TLSPROV_TEST_FAKES")
    return {**{k: box.env[k] for k in keys}, **extra}


class Fleet:
    """The Harbor sandbox, six client sandboxes, the inventory and ansible-playbook."""

    def __init__(self, base: Path, sandbox: Any, nginx: Any, sshd: dict[str, Any], cols: Path):
        self.base = base
        self.collections = cols
        self.port = S.free_port()
        self.harbor = sandbox("debian")
        secret = self.harbor.root / "data" / "secret" / "cert"
        _placeholder_pair(secret)
        include = base / "harbor-proxy.conf"
        include.write_text(
            f"ssl_certificate {secret / 'server.crt'};\n"
            f"ssl_certificate_key {secret / 'server.key'};\n"
            f"location = {GETCERT_PATH} {{\n  default_type application/octet-stream;\n"
            f"  alias {self.harbor.root / 'data/ca_download/ca.crt'};\n}}\n",
            encoding="utf-8",
        )
        self.proxy = nginx(include, port=self.port)
        pidfile = base / "nginx.pid"
        pidfile.write_text(str(self.proxy.proc.pid), encoding="utf-8")
        self.ca_dir = self.harbor.root / "etc" / "tlsprov" / "ca"  # inside the install root
        self.clients = {f"client{i}": sandbox(harbor_yml=None) for i in range(1, 7)}
        connect = f"127.0.0.1:{self.port}"
        harbor_vars = {
            "ansible_connection": "local",
            "tlsprov_hostname": S.HOST,
            "tlsprov_https_port": self.port,
            "tlsprov_alt_names": ["127.0.0.1"],
            "tlsprov_config_path": str(base / "etc" / "tlsprov.toml"),
            "tlsprov_provider_options": {"ca_dir": str(self.ca_dir), "key_type": "ec256"},
            "tlsprov_root": str(self.harbor.root),
            "tlsprov_connect": connect,
            "tlsprov_verify_timeout": 15,
            "tlsprov_environment": _fake_env(self.harbor, TLSPROV_TEST_NGINX_PIDFILE=str(pidfile)),
        }
        clients: dict[str, Any] = {}
        for name, box in self.clients.items():
            host: dict[str, Any] = {
                "tlsprov_root": str(box.root),
                "tlsprov_connect": connect,
                "tlsprov_environment": _fake_env(box),
            }
            if name == "client6":  # reached over real SSH
                host.update(
                    ansible_host="127.0.0.1",
                    ansible_port=sshd["port"],
                    ansible_user="root",
                    ansible_ssh_private_key_file=str(sshd["key"]),
                    ansible_ssh_common_args="-o StrictHostKeyChecking=no "
                    "-o UserKnownHostsFile=/dev/null -o BatchMode=yes",
                )
            else:
                host["ansible_connection"] = "local"
            clients[name] = host
        inventory = {
            "all": {
                "vars": {
                    "ansible_python_interpreter": sys.executable,
                    "tlsprov_bin": str(VENV_BIN / "tlsprov"),
                },
                "children": {
                    "harbor": {"hosts": {"harbor1": harbor_vars}},
                    "registry_clients": {"hosts": clients},
                },
            }
        }
        self.inventory = base / "inventory.yml"
        self.inventory.write_text(json.dumps(inventory, indent=2), encoding="utf-8")
        self.home = base / "home"
        self.home.mkdir()
        # ssh's ControlPath must fit a Unix socket name (108 bytes): under pytest-xdist the
        # test's own folder is too deep for it, so the sockets get a short temporary folder.
        self.control_dir = Path(tempfile.mkdtemp(prefix="tlsprov-ssh-"))

    def playbook(
        self, playbook: Path | str, *args: str, read_only: Path | None = None
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, int]]]:
        """Run ansible-playbook; return the result and the PLAY RECAP per host."""
        env = S.clean_env(
            HOME=str(self.home),
            ANSIBLE_COLLECTIONS_PATH=str(self.collections),
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_LOCAL_TEMP=str(self.home / "local-tmp"),
            ANSIBLE_REMOTE_TMP=str(self.home / "remote-tmp"),
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.control_dir),
        )
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), str(playbook)]
        argv += list(args)
        if read_only is not None:  # a real read-only root, in a private mount namespace
            script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
            argv = ["unshare", "-m", "sh", "-c", script, str(read_only), *argv]
        result = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=PLAYBOOK_TIMEOUT
        )
        recap: dict[str, dict[str, int]] = {}
        for line in result.stdout.splitlines():
            m = _RECAP.match(line.strip())
            if m:
                recap[m.group(1)] = {
                    "ok": int(m.group(2)),
                    "changed": int(m.group(3)),
                    "unreachable": int(m.group(4)),
                    "failed": int(m.group(5)),
                }
        return result, recap

    def snapshots(self) -> dict[str, Any]:
        """Every client root, without tlsprov's state folder."""
        return {name: box.snapshot(state=False) for name, box in self.clients.items()}


def _show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def _pull(skopeo: Any, port: int, cert_dir: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    """``skopeo copy`` from the registry into an OCI layout, trusting only ``cert_dir``."""
    argv = [
        "skopeo", "copy", "--retry-times", "0", "--src-cert-dir", str(cert_dir),
        f"docker://{S.HOST}:{port}/e2e/fleet:v1", f"oci:{dest}:v1",
    ]  # fmt: skip
    wrapped = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
               str(skopeo.hosts), *argv]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(skopeo.home), "LANG": "C"}
    return subprocess.run(wrapped, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def fleet(
    tmp_path: Path, sandbox: Any, nginx: Any, sshd: dict[str, Any], collections: Path
) -> Iterator[Fleet]:
    """A fresh fleet per test (every root starts empty)."""
    made = Fleet(tmp_path, sandbox, nginx, sshd, collections)
    try:
        yield made
    finally:  # stop the ssh masters ControlPersist keeps alive, then drop their sockets
        for socket in made.control_dir.iterdir():
            subprocess.run(
                ["ssh", "-S", str(socket), "-O", "exit", "client6"],
                capture_output=True, timeout=10,
            )  # fmt: skip
        shutil.rmtree(made.control_dir, ignore_errors=True)


def test_fleet_playbook_trusts_every_client_idempotently(
    fleet: Fleet, skopeo: Any, registry: int, tmp_path: Path, sshd: dict[str, Any]
) -> None:
    example = COLLECTION / "playbooks" / "fleet.yml"
    hosts = ["harbor1", *fleet.clients]

    first, recap = fleet.playbook(example)
    assert first.returncode == 0, _show(first)
    assert sorted(recap) == sorted(hosts), _show(first)
    for host in hosts:
        assert recap[host]["failed"] == 0 and recap[host]["unreachable"] == 0, _show(first)
        assert recap[host]["changed"] >= 1, (host, _show(first))

    assert "Accepted publickey for root" in S.log_tail(sshd["log"], 200)  # client6 used SSH
    ca = (fleet.ca_dir / "ca.crt").read_bytes()
    assert fleet.harbor.path("/data/ca_download/ca.crt").read_bytes() == ca
    # Harbor's certs.d copy lets skopeo push the image the clients then pull.
    pushed = skopeo.push(fleet.port, cert_dir=fleet.harbor.certs_d(fleet.port), repo="e2e/fleet")
    assert pushed.returncode == 0, pushed.stderr + fleet.proxy.error_log()
    for name, box in fleet.clients.items():
        folder = box.certs_d(fleet.port)
        assert sorted(p.name for p in folder.iterdir()) == ["ca.crt"], name
        assert (folder / "ca.crt").read_bytes() == ca, name
        anchor = box.path("/usr/local/share/ca-certificates/tlsprov-harbor.test.crt")
        assert anchor.read_bytes() == ca, name
        assert not any(b"PRIVATE KEY" in p.read_bytes() for p in box.root.rglob("*") if
                       p.is_file()), name  # fmt: skip
        assert box.records() == [["update-ca-certificates"], ["systemctl", "restart", "docker"]]
        pulled = _pull(skopeo, fleet.port, folder, tmp_path / f"pull-{name}")
        assert pulled.returncode == 0, (name, pulled.stderr)

    before = fleet.snapshots()
    second, recap = fleet.playbook(example)
    assert second.returncode == 0, _show(second)
    for host in hosts:
        assert recap[host]["changed"] == 0 and recap[host]["failed"] == 0, (host, _show(second))
    assert fleet.snapshots() == before
    harbor_before = fleet.harbor.snapshot(state=False)

    # Check and diff mode on the whole example: nothing would change, so nothing is reported.
    dry, recap = fleet.playbook(example, "--check", "--diff")
    assert dry.returncode == 0, _show(dry)
    for host in hosts:
        assert recap[host]["changed"] == 0 and recap[host]["failed"] == 0, (host, _show(dry))
    assert fleet.snapshots() == before
    assert fleet.harbor.snapshot(state=False) == harbor_before

    # The clients' plan, in check and diff mode, for a registry name they do not trust yet.
    check, recap = fleet.playbook(
        REPO / "tests" / "e2e" / "ansible" / "trust.yml", "--check", "--diff",
        "-e", f"registry={S.HOST}:{fleet.port + 1}", "-e", f"ca_file={fleet.ca_dir / 'ca.crt'}",
    )  # fmt: skip
    assert check.returncode == 0, _show(check)
    for name in fleet.clients:
        assert recap[name]["changed"] == 1, (name, _show(check))
    assert f"create    /etc/docker/certs.d/{S.HOST}:{fleet.port + 1}/ca.crt" in check.stdout
    assert "plan for harbor.test" in check.stdout
    assert fleet.snapshots() == before
    assert fleet.harbor.snapshot(state=False) == harbor_before


def test_wrong_fingerprint_fails_every_host_and_changes_nothing(fleet: Fleet) -> None:
    first, _ = fleet.playbook(COLLECTION / "playbooks" / "fleet.yml", "--limit", "harbor")
    assert first.returncode == 0, _show(first)
    before = fleet.snapshots()
    wrong, recap = fleet.playbook(
        REPO / "tests" / "e2e" / "ansible" / "trust.yml",
        "-e", f"registry={S.HOST}:{fleet.port}", "-e", "from_harbor=true",
        "-e", "fingerprint=" + ":".join(["AB"] * 32),
    )  # fmt: skip
    assert wrong.returncode != 0
    for name in fleet.clients:
        assert recap[name]["failed"] == 1 and recap[name]["changed"] == 0, (name, _show(wrong))
    assert wrong.stdout.count("no --fingerprint names") >= len(fleet.clients), _show(wrong)
    assert "Traceback" not in wrong.stdout
    assert fleet.snapshots() == before
    assert all(box.records() == [] for box in fleet.clients.values())


def test_read_only_root_fails_alone(fleet: Fleet) -> None:
    made = S.run_tlsprov(["ca", "init", "--ca-dir", str(fleet.ca_dir), "--key-type", "ec256"],
                         S.clean_env(HOME=str(fleet.home)))  # fmt: skip
    assert made.returncode == 0, S.describe(made)
    broken = fleet.clients["client5"]
    before = broken.snapshot()
    result, recap = fleet.playbook(
        REPO / "tests" / "e2e" / "ansible" / "trust.yml",
        "-e", f"registry={S.HOST}:{fleet.port}", "-e", f"ca_file={fleet.ca_dir / 'ca.crt'}",
        read_only=broken.root,
    )  # fmt: skip
    assert result.returncode != 0
    assert recap["client5"]["failed"] == 1, _show(result)
    for name in fleet.clients:
        if name != "client5":
            assert recap[name]["failed"] == 0 and recap[name]["changed"] == 1, (name, _show(result))
            assert (fleet.clients[name].certs_d(fleet.port) / "ca.crt").is_file()
    assert "Read-only file system" in result.stdout, _show(result)
    assert "Traceback" not in result.stdout
    assert broken.snapshot() == before


def test_install_role_copies_a_wheel_over_ssh(fleet: Fleet, tmp_path: Path) -> None:
    source = tmp_path / "source"  # build from a copy: no build/ or egg-info in the tree
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=240, cwd=str(tmp_path),
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("tlsprov-0.1.0-*.whl")
    venv = tmp_path / "managed" / "venv"
    args = ("-e", f"wheel={wheel}", "-e", f"venv={venv}")
    playbook = REPO / "tests" / "e2e" / "ansible" / "install.yml"
    first, recap = fleet.playbook(playbook, *args)
    assert first.returncode == 0, _show(first)
    assert recap["client6"]["changed"] >= 2, _show(first)  # venv, copy, pip
    assert (venv / wheel.name).read_bytes() == wheel.read_bytes()
    assert list(venv.glob("lib/python3*/site-packages/tlsprov/__init__.py"))
    second, recap = fleet.playbook(playbook, *args)
    assert second.returncode == 0, _show(second)
    assert recap["client6"]["changed"] == 0, _show(second)


def test_module_documents_exactly_its_arguments(collections: Path, tmp_path: Path) -> None:
    env = {**S.clean_env(), "HOME": str(tmp_path), "ANSIBLE_COLLECTIONS_PATH": str(collections)}
    shown = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "--json", "tlsprov.harbor.trust"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stdout + shown.stderr
    doc = json.loads(shown.stdout)["tlsprov.harbor.trust"]["doc"]
    spec_path = collections / "ansible_collections/tlsprov/harbor/plugins/modules/trust.py"
    namespace: dict[str, Any] = {}
    source = spec_path.read_text(encoding="utf-8").split("\ndef main", 1)[0]
    exec(compile(source, str(spec_path), "exec"), namespace)  # the module's own ARGUMENT_SPEC
    spec = namespace["ARGUMENT_SPEC"]
    assert sorted(doc["options"]) == sorted(spec)
    for name, option in spec.items():
        assert doc["options"][name]["type"] == option["type"], name
    cli_flags = {"host", "ca", "from_harbor", "fingerprint", "connect", "client_bundle",
                 "targets", "root"}  # fmt: skip
    assert cli_flags <= set(spec)
