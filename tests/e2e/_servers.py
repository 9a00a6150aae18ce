"""Real programs on loopback for the end-to-end tests: registry, nginx, skopeo, an OCI image.

conftest.py loads this file as the module ``tlsprov_e2e_servers``; ``tlsprov_e2e_support``
re-exports what tests need.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tlsprov.testing import free_port as free_port
from tlsprov.testing import wait_for_port

HOST = "harbor.test"
START_TIMEOUT = 15.0


# --------------------------------------------------------------------------- processes


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file (empty when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def start_daemon(
    argv: list[str], log: Path, port: int, *, extra_log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session and wait (bounded) until it listens on ``port``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, timeout=START_TIMEOUT, proc=proc, log=log)
    except (RuntimeError, TimeoutError) as exc:
        stop_process(proc)
        extra = log_tail(extra_log) if extra_log else ""
        raise AssertionError(f"{argv[0]} did not start: {exc}\n{extra}") from None
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process we started, by its PID: TERM, wait, then KILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --------------------------------------------------------------------------- configs


def registry_config(data: Path, port: int) -> str:
    """A docker-registry (distribution 2.8) config: filesystem storage, no auth."""
    return (
        "version: 0.1\nlog: {level: info}\nstorage:\n"
        f"  filesystem: {{rootdirectory: {data}}}\n  delete: {{enabled: true}}\n"
        f'http: {{addr: "127.0.0.1:{port}"}}\nhealth: {{storagedriver: {{enabled: false}}}}\n'
    )


def tls_include(folder: Path, cert: Path, key: Path) -> Path:
    """Write server-context TLS directives for ``cert``/``key``; returns the file."""
    path = folder / "tls.conf"
    path.write_text(
        f"ssl_certificate {cert};\nssl_certificate_key {key};\nssl_protocols TLSv1.2 TLSv1.3;\n",
        encoding="utf-8",
    )
    return path


def nginx_conf(prefix: Path, port: int, registry: int, tls: Path, client_ca: Path | None) -> str:
    """A Harbor-style nginx config: TLS on 127.0.0.1:<port>, ``/v2/`` to the registry."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    mtls = (
        f"    ssl_client_certificate {client_ca};\n    ssl_verify_client on;\n"
        "    ssl_verify_depth 2;\n"
        if client_ca
        else ""
    )
    temps = "".join(
        f"  {kind}_temp_path {prefix}/temp/{sub};\n"
        for kind, sub in (("client_body", "body"), ("proxy", "proxy"), ("fastcgi", "fcgi"),
                          ("uwsgi", "uwsgi"), ("scgi", "scgi"))
    )  # fmt: skip
    return f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
{user}events {{ worker_connections 256; }}
http {{
{temps}  log_format e2e '$remote_addr "$request" $status verify=$ssl_client_verify '
                  'dn="$ssl_client_s_dn" sni=$ssl_server_name';
  access_log {prefix}/access.log e2e;
  proxy_http_version 1.1;
  client_max_body_size 0;
  chunked_transfer_encoding on;
  upstream core {{ server 127.0.0.1:{registry}; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    include {tls};
{mtls}    location /v2/ {{
      proxy_pass http://core/v2/;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
    }}
  }}
}}
"""


@dataclass
class NginxServer:
    """A running private nginx."""

    port: int
    prefix: Path
    proc: subprocess.Popen[bytes]

    def access_log(self) -> str:
        """The access log so far."""
        return log_tail(self.prefix / "access.log", 1000)

    def error_log(self) -> str:
        """The tail of the error log."""
        return log_tail(self.prefix / "error.log")


# --------------------------------------------------------------------------- OCI image


def build_oci_image(folder: Path) -> Path:
    """Write a one-layer OCI image layout (tag ``v1``) into ``folder``, reproducibly."""
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        content = b"hello from the tlsprov end-to-end test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    layer_tar = raw.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"],
            },
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": put(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": put(layer), "size": len(layer)}],
        }
    ).encode()  # fmt: skip
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
    (folder / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- clients


class Skopeo:
    """Runs skopeo with ``harbor.test`` resolving to 127.0.0.1 (private ``/etc/hosts``)."""

    def __init__(self, hosts: Path, image: Path, home: Path) -> None:
        self.hosts = hosts
        self.image = image
        self.home = home

    def push(
        self,
        port: int,
        *,
        cert_dir: Path | None = None,
        home: Path | None = None,
        repo: str = "e2e/img",
        tag: str = "v1",
    ) -> subprocess.CompletedProcess[str]:
        """``skopeo copy oci:<img>:v1 docker://harbor.test[:port]/<repo>:<tag>``.

        ``cert_dir`` is passed as ``--dest-cert-dir``. Without it containers/image looks the
        certs.d folder up itself, ``$HOME/.config/containers/certs.d/<host:port>`` first
        (``home`` sets HOME; the default is an empty one).
        """
        ref = HOST if port == 443 else f"{HOST}:{port}"
        argv = ["skopeo", "copy", "--retry-times", "0"]
        if cert_dir is not None:
            argv += ["--dest-cert-dir", str(cert_dir)]
        argv += [f"oci:{self.image}:v1", f"docker://{ref}/{repo}:{tag}"]
        wrapped = [
            "unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
            str(self.hosts), *argv,
        ]  # fmt: skip
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home or self.home),
            "LANG": "C.UTF-8",
        }
        return subprocess.run(wrapped, capture_output=True, text=True, env=env, timeout=60)


def registry_tags(registry: int, repo: str = "e2e/img") -> list[str]:
    """The tags the registry holds for ``repo`` (asked over plain HTTP, directly)."""
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{registry}/v2/{repo}/tags/list"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return list(json.load(resp).get("tags") or [])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
