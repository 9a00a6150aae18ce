"""The demo's stand-in for Harbor's ``prepare`` (copied into the sandbox's Harbor folder).

Like Harbor's: reads ./harbor.yml, insists on an https block with a certificate and key, copies
them to ``<data_volume>/secret/cert/server.crt`` / ``server.key`` (0600, owner 10000 as root) and
renders the proxy's TLS settings into ``common/config/nginx/tls.conf``. Host paths are joined to
``$TLSPROV_DEMO_ROOT`` (Harbor reads them through ``/hostfs``). Records its call like the other
stand-ins.
"""

import os
import shutil
import sys
from pathlib import Path


def main() -> int:
    """Render the proxy's TLS settings from harbor.yml (see the module docstring)."""
    from ruamel.yaml import YAML

    root = Path(os.environ["TLSPROV_DEMO_ROOT"])
    with open(os.environ["TLSPROV_DEMO_RECORD"], "a", encoding="utf-8") as fh:
        fh.write(" ".join(["prepare", *sys.argv[1:]]) + "\n")
    config = YAML(typ="safe").load(Path("harbor.yml").read_text(encoding="utf-8"))
    https = config.get("https") or {}
    if not config.get("hostname") or not https.get("certificate") or not https.get("private_key"):
        print("Error happened in config validation: https needs certificate and private_key")
        return 1
    secret = root / str(config.get("data_volume", "/data")).lstrip("/") / "secret" / "cert"
    secret.mkdir(parents=True, exist_ok=True)
    for source, name in (
        (https["certificate"], "server.crt"),
        (https["private_key"], "server.key"),
    ):
        target = secret / name
        shutil.copyfile(root / str(source).lstrip("/"), target)
        target.chmod(0o600)
        if os.geteuid() == 0:  # Harbor's prepare hands them to its images' user
            os.chown(target, 10000, 10000)
    nginx = Path("common/config/nginx")
    nginx.mkdir(parents=True, exist_ok=True)
    (nginx / "tls.conf").write_text(
        f"ssl_certificate {secret / 'server.crt'};\n"
        f"ssl_certificate_key {secret / 'server.key'};\n"
        "ssl_protocols TLSv1.2 TLSv1.3;\n",
        encoding="utf-8",
    )
    print(f"Generated configuration for {config['hostname']}:{https.get('port', 443)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
