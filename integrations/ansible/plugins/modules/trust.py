"""Ansible module tlsprov.harbor.trust: a thin wrapper over tlsprov's ``trust`` library call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: trust
short_description: Make a host trust a Harbor registry (ca.crt in certs.d and the OS store)
description:
  - Runs C(tlsprov trust) through the tlsprov library on the managed host, which must have
    tlsprov installed (see the C(tlsprov.harbor.install) role) and use it as its Python.
  - Installs the registry's CA (and a client pair for mutual TLS) where Docker, containerd,
    podman and the OS look, with tlsprov's backup and rollback. Never needs or writes a server
    key.
  - Check mode is tlsprov's dry run; diff mode shows tlsprov's plan. C(changed) is true only
    when files changed (in check mode, when they would).
options:
  host:
    description: The registry as clients name it, C(HOST) or C(HOST:PORT).
    type: str
    required: true
  ca:
    description: A CA file on the managed host. Mutually exclusive with I(from_harbor).
    type: path
  from_harbor:
    description:
      - Fetch the CA from Harbor's C(/api/v2.0/systeminfo/getcert). Needs I(fingerprint);
        the server's chain must then verify for I(host).
    type: bool
    default: false
  fingerprint:
    description:
      - SHA-256 fingerprints the CA must match (colon hex, optional C(sha256:) prefix, any
        case). One per CA while a rollover has two.
    type: list
    elements: str
    default: []
  connect:
    description: Dial C(ADDR[:PORT]) instead of what I(host) resolves to.
    type: str
  client_bundle:
    description: A folder from C(tlsprov issue NAME --client) for mutual TLS.
    type: path
  targets:
    description:
      - Some of C(docker), C(containerd), C(podman), C(os-trust). Default, the engines found
        on the host plus the OS store.
    type: list
    elements: str
  root:
    description: Prefix for every host path.
    type: path
    default: /
  state_dir:
    description: Backups and lock (default C(ROOT/var/lib/tlsprov)).
    type: path
  timeout:
    description: Seconds for each network step.
    type: float
    default: 10.0
"""

EXAMPLES = r"""
- name: Trust Harbor, pinned by the CA fingerprint the Harbor host reported
  tlsprov.harbor.trust:
    host: harbor.example.com
    from_harbor: true
    fingerprint: "{{ hostvars['harbor1'].tlsprov_ca_fingerprints }}"
"""

RETURN = r"""
registry:
  description: The certs.d folder name (C(host) or C(host:port)).
  type: str
  returned: always
fingerprints:
  description: SHA-256 fingerprints of the CA certificates installed.
  type: list
  returned: always
targets:
  description: The targets planned, in run order.
  type: list
  returned: always
changed_files:
  description: Host paths written.
  type: list
  returned: always
restarts:
  description: Services restarted (in check mode, that would be).
  type: list
  returned: always
plan:
  description: tlsprov's plan as JSON (no key material).
  type: dict
  returned: always
"""

from pathlib import Path  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

ARGUMENT_SPEC = {
    "host": {"type": "str", "required": True},
    "ca": {"type": "path"},
    "from_harbor": {"type": "bool", "default": False},
    "fingerprint": {"type": "list", "elements": "str", "default": [], "no_log": False},
    "connect": {"type": "str"},
    "client_bundle": {"type": "path"},
    "targets": {"type": "list", "elements": "str"},
    "root": {"type": "path", "default": "/"},
    "state_dir": {"type": "path"},
    "timeout": {"type": "float", "default": 10.0},
}


def main() -> None:
    """Parse the arguments, call tlsprov, report."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    try:
        from tlsprov.cli.verify_cmd import parse_host_port
        from tlsprov.errors import TlsprovError
        from tlsprov.lifecycle.trust import trust
    except ImportError as exc:
        module.fail_json(
            msg=f"tlsprov is not importable by {module._name}'s Python ({exc}); install it "
            "with the tlsprov.harbor.install role and set ansible_python_interpreter to it"
        )
        return
    if (p["ca"] is None) == (not p["from_harbor"]):
        module.fail_json(msg="give exactly one of ca and from_harbor")
    try:
        host, port = parse_host_port(p["host"], 443)
        connect = parse_host_port(p["connect"], port) if p["connect"] else None
        outcome = trust(
            host,
            port,
            root=Path(p["root"]),
            ca_file=Path(p["ca"]) if p["ca"] else None,
            from_harbor=p["from_harbor"],
            fingerprints=p["fingerprint"],
            connect=connect,
            client_bundle=Path(p["client_bundle"]) if p["client_bundle"] else None,
            targets=p["targets"],
            state_dir=Path(p["state_dir"]) if p["state_dir"] else None,
            dry_run=module.check_mode,
            timeout=p["timeout"],
        )
    except TlsprovError as exc:
        module.fail_json(msg=exc.one_line(), exit_code=exc.exit_code, changed=False)
        return
    except Exception as exc:  # a bug: one clean line, never a traceback on the controller
        module.fail_json(msg=f"tlsprov failed: {type(exc).__name__}: {exc}", changed=False)
        return
    for warning in (*outcome.warnings, *outcome.result.warnings):
        module.warn(warning)
    report = outcome.to_json()
    changed = outcome.plan.changed if module.check_mode else outcome.changed
    result = {
        "changed": changed,
        "registry": report["registry"],
        "fingerprints": report["fingerprints"],
        "targets": report["targets"],
        "changed_files": report["result"]["changed_files"],
        "restarts": outcome.restarts if outcome.plan.changed else [],
        "plan": report["plan"],
    }
    if module._diff:
        from tlsprov.install.render import render_lines

        result["diff"] = {"prepared": "\n".join(render_lines(outcome.plan)) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
