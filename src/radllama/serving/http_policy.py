"""What every response says to the browser, which Host names are served, how paths are logged.

- **Security headers** on every response: a Content-Security-Policy that lets the page load
  only its own script, style and API (no inline script, no other origin) and never be framed
  (``frame-ancestors 'none'``, plus ``X-Frame-Options: DENY`` for older browsers);
  ``X-Content-Type-Options: nosniff``; ``Referrer-Policy: no-referrer``; same-origin opener
  and resource policies. Every response except the static script and style also carries
  ``Cache-Control: no-store``: drafts, prior cases and errors hold report text.
- **Host allow-list**: a browser page on another site whose name resolves to this machine
  (DNS rebinding) sends its own name as ``Host``; only loopback names, the bind address and
  the names given with ``--allowed-host`` are served (``*`` serves any, for a deployment behind
  a proxy that checks Host itself). Anything else gets 421 before any route runs.
- **Logged paths**: ASGI gives the percent-decoded path, so ``/%0a...`` would write a line
  break into the log and forge a line; the logged path is percent-encoded again (controls,
  spaces, ``%`` and non-ASCII), one unambiguous token.

>>> host_of("LocalHost:8000"), host_of("[::1]:8000"), host_of("127.0.0.1")
('localhost', '::1', '127.0.0.1')
>>> loggable_path("/v1/models/x\\nrequest id=forged")
'/v1/models/x%0Arequest%20id=forged'
"""

from __future__ import annotations

from urllib.parse import quote

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
_CACHEABLE_PREFIX = "/static/"
_SAFE_IN_LOG = "/!$&'()*+,;=:@-._~"


def allowed_hosts(bind_host: str, extra: list[str] | tuple[str, ...] = ()) -> frozenset | None:
    """Host names to serve: loopback, the bind address (unless a wildcard) and `extra`;
    None (any Host) when `extra` holds ``*``."""
    names = {host_of(name) for name in extra}
    if "*" in names:
        return None
    if bind_host.strip().strip("[]") not in WILDCARD_BINDS:
        names.add(host_of(bind_host))
    return frozenset(names | LOOPBACK_HOSTS)


def host_of(header: str) -> str:
    """The name in a Host header: port dropped, brackets of an IPv6 address dropped,
    lower case, no trailing dot."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    name, colon, port = header.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        header = name
    return header.rstrip(".")


def host_is_allowed(header: str | None, allowed: frozenset | None) -> bool:
    return allowed is None or (header is not None and host_of(header) in allowed)


def with_security_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list:
    """`headers` plus the security headers; ``Cache-Control: no-store`` replaces any other
    cache rule except on the static script and style."""
    if path.startswith(_CACHEABLE_PREFIX):
        kept = list(headers)
    else:
        kept = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
        kept.append((b"cache-control", b"no-store"))
    present = {k.lower() for k, _ in kept}
    return kept + [(k, v) for k, v in SECURITY_HEADERS if k not in present]


def loggable_path(path: str) -> str:
    """The path percent-encoded for the log: no control character, space or raw ``%``."""
    return quote(path, safe=_SAFE_IN_LOG)
