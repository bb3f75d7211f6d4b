"""The caller's address: the peer, or, when the peer is one of our proxies
(`MEDIATION_TRUSTED_PROXIES`), the nearest address in X-Forwarded-For that is not a proxy of
ours. A header from anyone else is ignored: it is whatever the caller wants it to be."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(setting: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 127.0.0.1` into networks; a bad entry is a configuration error."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip()
    )


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_ip(
    peer: str | None, forwarded_for: str | None, networks: Sequence[Network]
) -> str | None:
    if peer is None or not forwarded_for or not _trusted(peer, networks):
        return peer
    # Right to left: each trusted hop vouches for the one before it.
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from the far side: the last proxy we trust saw `peer`
    return hops[0] if hops else peer
