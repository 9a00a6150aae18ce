"""``tlsprov demo --engines``: real docker, ctr and podman against the sandbox Harbor.

Harbor's guide ends with ``docker login`` and ``docker push`` from a client. Here the sandbox's
proxy is backed by a real docker-registry (basic auth when ``htpasswd`` is installed), and the
private engines of :mod:`tlsprov.demo._engines` log in and push through the folders tlsprov
wrote in the sandbox root: dockerd reads ``ROOT/etc/docker/certs.d`` (bind mount), ``ctr``
gets ``--hosts-dir ROOT/etc/containerd/certs.d``, podman ``--cert-dir`` of its folder. Every
process is stopped by its PID before the demo returns; an engine that is not installed is
reported as skipped.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tlsprov.demo._engines import ConnectProxy, Engines, missing_programs, start_engines
from tlsprov.demo._sandbox import DEMO_HOST, Sandbox

__all__ = ["run_engines"]

ENGINES = ("docker", "containerd", "podman")
_USER = "demo"


def _which(program: str) -> str | None:
    return shutil.which(program, path=f"{os.environ.get('PATH', os.defpath)}:/usr/sbin:/sbin")


def _result(engine: str, step: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"engine": engine, "step": step, "ok": ok, "detail": detail}


def _done(engine: str, step: str, proc: Any) -> dict[str, Any]:
    ok = proc.returncode == 0

    def lines(text: str) -> list[str]:
        return [" ".join(ln.split()) for ln in text.replace("\r", "\n").splitlines() if ln.strip()]

    out, err = lines(proc.stdout), lines(proc.stderr)
    if ok:
        picked = [ln for ln in out if "Login Succeeded" in ln] or out or err
    else:
        picked = [ln for ln in err + out if "error" in ln.lower() or "x509" in ln] or err + out
    return _result(engine, step, ok, (picked[-1] if picked else "")[:300])


def _rootfs_tar(path: Path) -> None:
    data = b"hello from tlsprov demo --engines\n"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))


def _nginx_conf(prefix: Path, port: int, registry: int, tls_include: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"  {kind}_temp_path {prefix}/temp;\n" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    return (
        f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n{user}"
        f"events {{ worker_connections 64; }}\nhttp {{\n{temps}"
        f"  access_log {prefix}/access.log;\n  client_max_body_size 0;\n"
        f"  server {{\n    listen 127.0.0.1:{port} ssl;\n    include {tls_include};\n"
        f"    location /v2/ {{\n      proxy_pass http://127.0.0.1:{registry}/v2/;\n"
        "      proxy_set_header Host $http_host;\n"
        "      proxy_set_header X-Forwarded-Proto $scheme;\n"
        "      proxy_http_version 1.1;\n      proxy_request_buffering off;\n    }\n  }\n}\n"
    )


def _daemon(stack: contextlib.ExitStack, argv: list[str], log: Path, port: int) -> None:
    from tlsprov.testing import wait_for_port

    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    stack.callback(stop)
    wait_for_port("127.0.0.1", port, timeout=15, proc=proc, log=log)


def _registry_stack(
    stack: contextlib.ExitStack, work: Path, port: int, tls_include: Path
) -> str | None:
    """docker-registry (basic auth when possible) behind nginx on ``port``; the password."""
    from tlsprov.testing import free_port

    registry = free_port()
    password = None
    config = (
        f"version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {work}"
        f'/registry}}\nhttp: {{addr: "127.0.0.1:{registry}"}}\n'
    )
    if _which("htpasswd"):
        password = secrets.token_hex(12)
        argv = ["htpasswd", "-Bbn", _USER, password]
        entry = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
        (work / "htpasswd").write_text(entry.stdout, encoding="utf-8")
        config += f"auth:\n  htpasswd: {{realm: tlsprov-demo, path: {work}/htpasswd}}\n"
    (work / "registry.yml").write_text(config, encoding="utf-8")
    _daemon(stack, ["docker-registry", "serve", str(work / "registry.yml")],
            work / "registry.log", registry)  # fmt: skip
    prefix = work / "nginx"
    (prefix / "temp").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(_nginx_conf(prefix, port, registry, tls_include), "utf-8")
    base = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-e", str(prefix / "error.log")]  # fmt: skip
    _daemon(stack, [*base, "-g", "daemon off;"], prefix / "out.log", port)
    return password


def _drive(box: Sandbox, e: Engines, password: str | None, say: Callable[[str], None]) -> Any:
    ref = f"{DEMO_HOST}:{box.port}"
    results: list[dict[str, Any]] = []
    tar = e.work / "rootfs.tar"
    _rootfs_tar(tar)
    secret = f"{password}\n" if password else ""
    login = ["-u", _USER, "--password-stdin"] if password else ["-u", _USER, "-p", "unused"]

    def note(result: dict[str, Any]) -> bool:
        results.append(result)
        say(f"  {result['step']}: {'ok' if result['ok'] else 'FAILED'} ({result['detail']})")
        return bool(result["ok"])

    if "dockerd" in e.procs:
        image = f"{ref}/demo/hello:v1"
        e.docker("import", str(tar), image)
        if note(_done("docker", f"docker login {ref}", e.docker("login", *login, ref,
                                                                stdin=secret))):  # fmt: skip
            note(_done("docker", f"docker push {image}", e.docker("push", image)))
        if "containerd" in e.procs:
            e.docker("save", "-o", str(e.work / "hello.tar"), image)
            e.ctr("images", "import", str(e.work / "hello.tar"))
            hosts = str(box.root / "etc" / "containerd" / "certs.d")
            user = ["--user", f"{_USER}:{password}"] if password else []
            ctr_image = f"{ref}/demo/hello-ctr:v1"
            e.ctr("images", "tag", "--force", image, ctr_image)
            pushed = e.ctr("images", "push", "--hosts-dir", hosts, *user, ctr_image)
            note(_done("containerd", f"ctr images push --hosts-dir {hosts} {ctr_image}", pushed))
    elif "containerd" in e.procs:
        note(_result("containerd", "ctr images push", None, "skipped: needs docker for the image"))
    if (e.podman_dir / "containers.conf").exists():
        cert_dir = str(box.root / "etc" / "containers" / "certs.d" / ref)
        image = f"{ref}/demo/hello-podman:v1"
        e.podman("import", str(tar), image)
        logged = e.podman("login", "--cert-dir", cert_dir, *login, ref, stdin=secret)
        if note(_done("podman", f"podman login --cert-dir {cert_dir} {ref}", logged)):
            pushed = e.podman("push", "--cert-dir", cert_dir, image)
            note(_done("podman", f"podman push {image}", pushed))
    return results


def run_engines(box: Sandbox, tls_include: Path, say: Callable[[str], None]) -> list[Any]:
    """Start the installed engines and push to the sandbox Harbor; one result per step."""
    absent = [p for p in ("docker-registry", "nginx") if not _which(p)]
    if absent or os.geteuid() != 0:
        why = f"needs {', '.join(absent)}" if absent else "needs root (private mount namespaces)"
        return [_result(name, "start", None, f"skipped: {why}") for name in ENGINES]
    results = [_result(name, "start", None, f"skipped: {', '.join(missing)} not installed")
               for name in ENGINES if (missing := missing_programs([name]))]  # fmt: skip
    wanted = [name for name in ENGINES if not missing_programs([name])]
    if not wanted:
        return results
    work = box.dir / "engines"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    say(f"starting {', '.join(wanted)} privately under {work}")
    with contextlib.ExitStack() as stack:
        try:
            password = _registry_stack(stack, work, box.port, tls_include)
            proxy = ConnectProxy([DEMO_HOST])
            stack.callback(proxy.close)
            engines = start_engines(work / "daemons", proxy, box.root / "etc" / "docker", wanted)
            stack.callback(engines.stop)
        except (OSError, RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return [*results, *(_result(n, "start", False, first) for n in wanted)]
        return [*results, *_drive(box, engines, password, say)]
