"""Round-trip editing of harbor.yml that keeps its comments, key order and layout.

ruamel.yaml is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from tlsprov.errors import InputError

__all__ = ["HarborYml", "add_https_block", "uncomment_https"]

_DEFAULT_DATA_VOLUME = PurePosixPath("/data")
_COMMENTED_HTTPS = re.compile(r"^(#+ ?)https:\s*(?:#.*)?$")
_LIVE_HTTPS = re.compile(r"^https:", re.MULTILINE)
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")
HTTPS_KEYS = ("port", "certificate", "private_key", "strong_ssl_ciphers")
_HTTPS_KEY_LINE = re.compile(r"^[ \t]+(?:" + "|".join(HTTPS_KEYS) + r"):(?:[ \t].*)?\r?\n?$")
_INDENT = re.compile(r"^([ \t]+)")
_NEW_HTTPS = (
    "\n"
    "# https settings (added by tlsprov)\n"
    "https:\n"
    "  port: 443\n"
    "  certificate: /your/certificate/path\n"
    "  private_key: /your/private/key/path\n"
)


def uncomment_https(text: str) -> str:
    """Uncomment an ``https:`` block left commented out by an HTTP-only install.

    The block is the ``# https:`` line at column 0 and the commented lines right after it
    that are indented below it (``#   port: 443``); it ends at the first other line. Only
    ``key: value`` lines of Harbor's https keys are uncommented (and nested comments such as
    ``#   # https port``); prose such as ``#   enable strong ssl ciphers (default: false)``,
    from Harbor's migrated files, stays a comment. Text with a live ``https:`` key, or
    without a commented one, is returned unchanged.
    """
    if _LIVE_HTTPS.search(text):
        return text
    lines = text.splitlines(keepends=True)
    for start, line in enumerate(lines):
        match = _COMMENTED_HTTPS.match(line.rstrip("\r\n"))
        if not match:
            continue
        prefix = match.group(1)
        lines[start] = line[len(prefix) :]
        for i in range(start + 1, len(lines)):
            body = lines[i]
            if not body.startswith(prefix + " ") or not body[len(prefix) :].strip():
                break
            inner = body[len(prefix) :]
            if _HTTPS_KEY_LINE.match(inner) or inner.lstrip().startswith("#"):
                lines[i] = inner
            else:  # prose: an indented comment inside the live block
                lines[i] = _INDENT.sub(r"\1# ", inner, count=1)
        return "".join(lines)
    return text


def add_https_block(text: str) -> str:
    """Add an ``https:`` block right after the ``http`` block (or ``hostname``) when none exists.

    The block goes after the last indented line of that top-level entry, so the comments
    that introduce the next key stay with it. Text with a live ``https:`` key, or without
    a block-style ``http:``/``hostname:`` line, is returned unchanged.
    """
    if _LIVE_HTTPS.search(text):
        return text
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    keys = {m.group(1): i for i, line in enumerate(lines) if (m := _TOP_KEY.match(line))}
    anchor = keys.get("http", keys.get("hostname"))
    if anchor is None:
        return text
    end = anchor
    for i in range(anchor + 1, len(lines)):
        line = lines[i]
        if line.strip() == "":
            continue
        if not line[0].isspace():
            break
        end = i
    return "".join([*lines[: end + 1], _NEW_HTTPS, *lines[end + 1 :]])


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 100_000
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@dataclass(slots=True)
class HarborYml:
    """A parsed harbor.yml, ready to be edited and written back.

    Build it with :meth:`parse`; read :attr:`data_volume`; call :meth:`enable_https`;
    get the new text with :meth:`dump`.
    """

    source: str
    doc: Any
    yaml: Any
    # The text as parsed, and its hostname and https values, when parsing changed nothing in
    # it (the https block was already live): https_mismatch then needs no second parse.
    parsed_text: str | None = None
    parsed_https: dict[str, str] | None = None

    @classmethod
    def parse(cls, text: str, *, source: str) -> HarborYml:
        """Parse ``text``, first uncommenting (or adding) the ``https`` block.

        Raises:
            InputError: not YAML, not a mapping, or no ``hostname`` key.
        """
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        yaml = _yaml()
        prepared = add_https_block(uncomment_https(text))
        try:
            doc = yaml.load(prepared)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = exc.problem or exc.context or "syntax error"
            raise InputError(
                f"{source} is not valid YAML ({where}{problem})",
                hint=f"fix {source} (compare with Harbor's harbor.yml.tmpl)",
            ) from None
        except YAMLError as exc:
            raise InputError(
                f"{source} is not valid YAML ({exc})",
                hint=f"fix {source} (compare with Harbor's harbor.yml.tmpl)",
            ) from None
        if not hasattr(doc, "insert") or not isinstance(doc, dict):
            raise InputError(
                f"{source} is not a YAML mapping of Harbor settings",
                hint="copy harbor.yml.tmpl to harbor.yml and edit that",
            )
        if "hostname" not in doc:
            raise InputError(
                f"{source} has no 'hostname' key",
                hint="add 'hostname: <your registry name>' (see Harbor's harbor.yml.tmpl)",
            )
        if prepared != text:
            return cls(source=source, doc=doc, yaml=yaml)
        return cls(source, doc, yaml, parsed_text=text, parsed_https=_https_now(doc))

    @property
    def data_volume(self) -> PurePosixPath:
        """``data_volume`` as Harbor's prepare reads it (default ``/data``).

        Raises:
            InputError: the value is not an absolute path, or has a '..' part.
        """
        value = self.doc.get("data_volume")
        if value is None or value == "":
            return _DEFAULT_DATA_VOLUME
        path = PurePosixPath(str(value))
        if not path.is_absolute() or ".." in path.parts:
            raise InputError(
                f"{self.source}: data_volume {value!r} is not an absolute path without '..'",
                hint="set data_volume to an absolute host path such as /data",
            )
        return path

    @property
    def data_volume_quoted(self) -> bool:
        """True when ``data_volume`` is written in quotes (Harbor's wrapper keeps them)."""
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

        value = self.doc.get("data_volume")
        return isinstance(value, DoubleQuotedScalarString | SingleQuotedScalarString)

    def https_files(self) -> dict[str, str]:
        """The live https block's ``certificate`` and ``private_key`` values, when set."""
        https = self.doc.get("https")
        if not isinstance(https, dict):
            return {}
        return {k: str(https[k]) for k in ("certificate", "private_key") if https.get(k)}

    @property
    def external_url(self) -> str | None:
        """``external_url`` when set (TLS then usually ends on an outer proxy)."""
        value = self.doc.get("external_url")
        return str(value) if value else None

    def enable_https(
        self, *, hostname: str, port: int, certificate: PurePosixPath, private_key: PurePosixPath
    ) -> None:
        """Set ``hostname`` and an enabled ``https`` block; keep ``data_volume`` plain.

        An ``https`` block that is a YAML anchor or alias is replaced by its own copy first.
        """
        from ruamel.yaml.comments import CommentedMap
        from ruamel.yaml.scalarstring import PlainScalarString

        doc = self.doc
        doc["hostname"] = hostname
        https = doc.get("https")
        if isinstance(https, dict) and getattr(getattr(https, "anchor", None), "value", None):
            # an anchored block ('https: *tls' or 'https: &tls' used elsewhere) is shared:
            # give https its own explicit copy so the other user keeps its values
            own = CommentedMap()
            own.update(https.items())
            doc["https"] = https = own
        if not isinstance(https, dict):
            https = CommentedMap()
            if "https" in doc:
                doc["https"] = https
            else:
                keys = list(doc)
                pos = keys.index("http") + 1 if "http" in keys else keys.index("hostname") + 1
                doc.insert(pos, "https", https)
        https["port"] = port
        https["certificate"] = str(certificate)
        https["private_key"] = str(private_key)
        if "data_volume" in doc and doc["data_volume"] is not None:
            # prepare reads data_volume with grep/awk: quotes would become part of the path
            doc["data_volume"] = PlainScalarString(str(doc["data_volume"]))

    def https_mismatch(
        self,
        original: str,
        *,
        hostname: str,
        port: int,
        certificate: PurePosixPath,
        private_key: PurePosixPath,
    ) -> str | None:
        """Why ``original`` (the file as it is) does not already point where tlsprov writes;
        None when ``hostname`` and the live ``https`` block match, so prepare would render
        the same nginx configuration."""
        if original == self.parsed_text:
            now = self.parsed_https
        else:
            now = _https_now(self.yaml.load(original))
        if now is None:
            return "harbor.yml has no live https block yet"
        wanted = {
            "hostname": hostname,
            "https.port": str(port),
            "https.certificate": str(certificate),
            "https.private_key": str(private_key),
        }
        for key, want in wanted.items():
            if now[key] != want:
                return f"harbor.yml's {key} is {now[key]}, not {want}"
        return None

    def dump(self) -> str:
        """The document as text, comments and order kept."""
        out = io.StringIO()
        self.yaml.dump(self.doc, out)
        return out.getvalue()


def _https_now(doc: Any) -> dict[str, str] | None:
    """``hostname`` and the live https block's values as text; None without a live block."""
    https = doc.get("https") if isinstance(doc, dict) else None
    if not isinstance(https, dict):
        return None
    return {
        "hostname": str(doc.get("hostname")),
        "https.port": str(https.get("port", 443)),
        "https.certificate": str(https.get("certificate")),
        "https.private_key": str(https.get("private_key")),
    }
