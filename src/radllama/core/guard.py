"""The one PHI / loopback guard: may report text leave this machine?

Reports are clinical text. Three places could send them somewhere: the LLM judge, the
``generate --backend openai`` client, and the server (by binding to a public address). They
all decide here:

- a URL or bind host is *loopback* when it is ``localhost``, in 127.0.0.0/8 or ``::1``
  (literal check, no DNS look-up: a name that resolves to loopback today may not tomorrow);
- text may go to a non-loopback endpoint only when the dataset's manifest records that
  de-identification removed every Safe Harbor identifier type (`DeidSection.safe_harbor`,
  written by `radllama prepare`), or the user passes ``--allow-remote``.

>>> is_loopback_url("http://127.0.0.1:8000/v1"), is_loopback_url("https://api.example.com/v1")
(True, False)
>>> is_loopback_host("::1"), is_loopback_host("0.0.0.0")
(True, False)
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import MutableMapping
from urllib.parse import urlparse

from radllama.core.artifacts import DataManifest
from radllama.core.errors import ConfigError

LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
# The Hugging Face libraries' switches that stop every model-hub request (transformers, the
# hub client, datasets, and through the hub client the `kernels` fetch bitsandbytes' CPU
# backend attempts at import on AVX-512 BF16 machines).
OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


class PHIGuardError(ConfigError):
    """Report text would leave the machine for an endpoint that is not loopback."""


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (a literal check, no DNS)."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is loopback (see `is_loopback_host`)."""
    return is_loopback_host(urlparse(url if "//" in url else f"//{url}").hostname or "")


def deidentification_gap(manifest: DataManifest | None) -> str | None:
    """None when the manifest says every Safe Harbor identifier was removed; else why not."""
    if manifest is None:
        return "no dataset manifest was given (pass the DATA_DIR's manifest.json)"
    deid = manifest.deid
    if deid is None or not deid.enabled:
        return "the dataset manifest does not record de-identification"
    if deid.kept_types:
        return f"the dataset kept identifier types {', '.join(deid.kept_types)} (deid.keep_types)"
    return None


def check_phi_guard(base_url: str, manifest: DataManifest | None, allow_remote: bool) -> None:
    """Refuse to send report text off the machine unless it is de-identified or allowed."""
    if is_loopback_url(base_url) or allow_remote:
        return
    gap = deidentification_gap(manifest)
    if gap is None:
        return
    raise PHIGuardError(
        f"refusing to send report text to non-loopback endpoint {base_url}: {gap}; use data "
        "from `radllama prepare` (it de-identifies), a local endpoint, or pass --allow-remote "
        "if sending it is permitted"
    )


def offline_by_default(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Turn the model hub off unless the user set a switch themselves; returns what was set.

    Called first thing by the CLI, before any Hugging Face library is imported (they read the
    switches at import). A hospital network must see no DNS look-up or connection from
    loading a model. A user who sets any of the switches decides for themselves
    (`HF_HUB_OFFLINE=0` opts back in to the hub).

    >>> offline_by_default({})
    {'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1'}
    >>> offline_by_default({"HF_HUB_OFFLINE": "0"})
    {}
    """
    environ = os.environ if environ is None else environ
    if any(name in environ for name in OFFLINE_SWITCHES):
        return {}
    chosen = dict.fromkeys(OFFLINE_SWITCHES, "1")
    environ.update(chosen)
    return chosen
