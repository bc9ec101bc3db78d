"""Outbound HTTP to addresses users give (webhooks, Slack): one client that refuses non-public addresses.

A URL is checked twice: when it is registered (resolved, for a 422 that names the reason) and on every
connection, after DNS resolution, against the address actually connected to (`httpx-secure` pins it), so DNS
rebinding cannot get round it. Redirects are never followed (a 3xx is a failed delivery)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from httpx_secure import httpx_ssrf_protection

from switchboard.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_SECONDS = 5.0
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UrlRefused(ValueError):
    """Why a URL may not be used (a sentence for the 422)."""


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a destination, or None when it is globally reachable."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    for kind, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
    ):
        if test:
            return f"{ip} is a {kind} address"
    if not ip.is_global:
        return f"{ip} is not a globally reachable address"
    return None


def allowlisted(settings: Settings, host: str, port: int) -> bool:
    host = host.lower().strip("[]")
    return any(entry.lower() in (host, f"{host}:{port}") for entry in settings.private_url_allowlist)


async def check_url(settings: Settings, url: str) -> None:
    """Refuse a URL notifications may not use: not http(s), no host, or resolving to a non-public address
    (unless the guard is relaxed). Raises `UrlRefused` saying why."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 (parses the host: "[zz]" is refused here)
    except ValueError:
        raise UrlRefused("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("must be an http:// or https:// URL")
    if not parts.hostname:
        raise UrlRefused("has no host")
    if parts.username or parts.password:
        raise UrlRefused("must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("has an invalid port") from None
    if settings.allow_private_urls or allowlisted(settings, parts.hostname, port):
        return
    for ip in await _resolve(parts.hostname, port):
        reason = refusal(ip)
        if reason is not None:
            raise UrlRefused(
                f"{parts.hostname} resolves to {reason}; notifications go only to public addresses "
                "(SWITCHBOARD_ALLOW_PRIVATE_URLS or SWITCHBOARD_PRIVATE_URL_ALLOWLIST relax this)"
            )


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):  # a name that resolves slowly must not hold the request
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # no such name, or not a name at all (an invalid label)
        raise UrlRefused(f"{host} cannot be resolved") from None
    except TimeoutError:
        raise UrlRefused(f"{host} did not resolve within {RESOLVE_SECONDS:g} s") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def egress_client(settings: Settings, *, timeout: float) -> httpx.AsyncClient:
    """The client notifications are sent with: no redirects followed, no proxies from the environment, and
    (unless relaxed) every connection checked against the address it actually reaches."""
    client = httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=settings.dispatcher_concurrency * 2, max_keepalive_connections=64),
        headers={"User-Agent": "Switchboard-Webhooks/1"},
    )
    if settings.allow_private_urls:
        return client

    def public_or_allowed(host: str, ip: IPAddress, port: int) -> bool:
        return refusal(ip) is None or allowlisted(settings, host, port)

    return httpx_ssrf_protection(client, check_globally_reachable=False, custom_validator=public_or_allowed)
