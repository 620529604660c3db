"""Webhooks: when a job ends, POST it, signed, to the job's callback_url.

A callback URL is a request to make GenHub open a connection of a user's
choosing, so its target is checked after DNS resolution, every address of it,
and the connection goes to the address that was checked (a rebinding DNS cannot
swap it in between). Redirects are never followed: http.client does not.
The task that calls `deliver` (and retries it) lives in genhub/worker/tasks.py.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from urllib.parse import urlsplit

from django.conf import settings

from genhub.errors import InvalidInput
from genhub.models import Job

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-GenHub-Signature"
MAX_URL_CHARS = 2000
TIMEOUT_SECONDS = 5.0  # per try: a slow receiver must not hold a worker
MAX_TRIES = 5
FIRST_DELAY_SECONDS = 10
MAX_DELAY_SECONDS = 600


class DeliveryFailed(Exception):
    """The receiver answered other than 2xx, or could not be reached: retry."""


class TargetRefused(Exception):
    """The target is on an address GenHub may not call: never retried."""


def check_callback_url(url: object) -> str:
    """`url` if GenHub may POST to it, else InvalidInput naming callback_url.

    A hostname that does not resolve now is accepted: DNS may be late, and
    delivery checks again (and logs why it failed)."""
    if not isinstance(url, str):
        raise InvalidInput("callback_url", "Give the callback URL as a string.")
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput("callback_url", f"The callback URL is over {MAX_URL_CHARS} characters.")
    if any(char < " " or char == "\x7f" for char in url):
        # A NUL cannot be stored (PostgreSQL), and no URL holds control characters.
        raise InvalidInput(
            "callback_url", "The callback URL contains a control character (such as NUL)."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise InvalidInput("callback_url", "The callback URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("callback_url", "The callback URL must be an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        # They would sit in the job's row and logs in clear; use the signature instead.
        raise InvalidInput("callback_url", "The callback URL must not carry credentials.")
    try:
        _resolve_allowed(parts.hostname, parts.port or 443)
    except TargetRefused as refused:
        raise InvalidInput("callback_url", str(refused)) from None
    except UnicodeError:
        # Raised by the IDNA encoding for an empty label or one over 63 characters.
        raise InvalidInput(
            "callback_url", f"The callback URL's host {parts.hostname} is not a valid host name."
        ) from None
    except OSError:
        pass
    return url


def is_allowed_address(address: str) -> bool:
    """Whether GenHub may connect to `address`: a public unicast address, or
    any address with GENHUB_WEBHOOK_ALLOW_PRIVATE."""
    if settings.GENHUB_WEBHOOK_ALLOW_PRIVATE:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    # is_global is False for private, loopback, link-local, ULA, unspecified and
    # shared (100.64/10) ranges; some multicast and reserved ranges count as global.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def sign(body: bytes, timestamp: int) -> str:
    """The X-GenHub-Signature value: HMAC-SHA256 over "<timestamp>.<body>"."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(settings.GENHUB_WEBHOOK_SECRET.encode(), message, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def job_body(job: Job) -> bytes:
    """The job as GET /api/v1/jobs/{id} shows it, as JSON bytes."""
    from genhub.api.schemas import JobOut, job_out  # the API layer, only when sending

    return json.dumps(JobOut.model_validate(job_out(job, None)).model_dump(mode="json")).encode()


def retry_delay(tries_done: int) -> int:
    """Seconds before the next try: 10, 30, 90, 270, ... capped."""
    return int(min(FIRST_DELAY_SECONDS * 3**tries_done, MAX_DELAY_SECONDS))


def deliver(job_id: str) -> None:
    """POST the job to its callback_url once. Raises DeliveryFailed (worth a
    retry) or TargetRefused (not)."""
    job = Job.objects.select_related("model", "owner").get(pk=job_id)
    if not job.callback_url:
        return
    parts = urlsplit(job.callback_url)
    assert parts.hostname is not None  # checked at submit
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        address = _resolve_allowed(parts.hostname, port)[0]
    except OSError as exc:
        raise DeliveryFailed(f"could not resolve {parts.hostname}: {exc}") from exc
    body = job_body(job)
    conn: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(parts.hostname, port, address)
        if https
        else _PinnedHTTPConnection(parts.hostname, port, address)
    )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GenHub-Webhook/1",
        SIGNATURE_HEADER: sign(body, int(time.time())),
    }
    try:
        conn.request("POST", path, body=body, headers=headers)
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if not 200 <= status < 300:
        # A 3xx too: following it could lead anywhere, unchecked.
        raise DeliveryFailed(f"the receiver answered {status}")
    log.info("webhook for job %s delivered (%s)", job.id, status)


def _resolve_allowed(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, if all are allowed; else TargetRefused.
    Raises OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [a for a in addresses if not is_allowed_address(a)]
    if refused:
        raise TargetRefused(
            f"The callback URL's host {host} is on a private, loopback or link-local address "
            f"({', '.join(refused)}); GenHub does not call those unless an admin sets "
            "GENHUB_WEBHOOK_ALLOW_PRIVATE=true."
        )
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to `address`, the checked one, while the Host header names `host`."""

    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, over TLS: the certificate and SNI are checked against `host`."""

    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)
        self.address = address
        self.tls = ssl.create_default_context()

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
