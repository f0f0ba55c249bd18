"""A throw-away certificate authority and a server certificate for 127.0.0.1, ::1 and localhost.

Made with trustme at start, in a temporary directory removed at stop, so HTTPS
runs need no files of their own and leave none behind. A client trusts the
server through the CA file alone: `ssl.create_default_context(cafile=ca_path)`.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SimulatorCertificates", "client_ssl_context", "create_certificates", "server_ssl_check"]

SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SimulatorCertificates:
    directory: Path
    ca_path: Path  # the CA certificate, PEM: what a client trusts
    cert_path: Path  # the server certificate chain, PEM
    key_path: Path  # the server's private key, PEM

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def create_certificates() -> SimulatorCertificates:
    """A fresh CA and a server certificate it signed, in a new temporary directory."""
    import trustme  # imported here: plain-HTTP runs never pay for the cryptography import

    directory = Path(tempfile.mkdtemp(prefix="profiler-simulator-tls-"))
    try:
        authority = trustme.CA(organization_name="profiler simulator test CA")
        server = authority.issue_cert(*SERVER_NAMES)
        certificates = SimulatorCertificates(
            directory, directory / "ca.pem", directory / "server.pem", directory / "server.key"
        )
        authority.cert_pem.write_to_path(str(certificates.ca_path))
        server.private_key_pem.write_to_path(str(certificates.key_path))
        certificates.cert_path.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return certificates


def client_ssl_context(ca_path: str | Path) -> ssl.SSLContext:
    """What a client passes as `httpx2.Client(verify=...)` to trust the simulator's CA (and only it)."""
    return ssl.create_default_context(cafile=str(ca_path))


def server_ssl_check(cert_path: str | Path, key_path: str | Path) -> None:
    """Load the pair as the server will, so a bad file is reported before anything listens."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
