"""A loopback HTTP server that publishes an issuer's JWKS (RSA keys and one EC key, made with `cryptography`), and signs
tokens with those keys, so tests drive the stream authorizer's real verification against a real fetch.

`token()` signs claims with a key by its id (kid), or forges: alg "none", HS256 "signed" with the key's public PEM,
or another key's signature under a published kid. `rotate()` publishes a new key set (the old keys still sign, but
are no longer published); `fetches` counts the JWKS requests; `status` other than 200 makes the issuer look down.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

JWKS_PATH = "/.well-known/jwks.json"
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@functools.cache
def _rsa_key(n: int) -> rsa.RSAPrivateKey:
    # Made once per test run and shared by every fake (each names it by a kid of its own): 2048-bit keys take a
    # while to make.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _ec_key(n: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    alg: str  # the algorithm the published JWK names, and that token() signs with by default

    def jwk(self) -> dict[str, Any]:
        """The public key as the JWKS publishes it."""
        if isinstance(self.private, rsa.RSAPrivateKey):
            public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeJwks:
    """The server, its keys (published or not) and the number of JWKS requests it answered."""

    def __init__(self) -> None:
        self.fetches = 0
        self.status = 200
        self._lock = threading.Lock()
        self._made = {"rsa": 0, "ec": 0}
        self.keys: dict[str, SigningKey] = {}  # every key made, by kid, published or not
        self.published: list[str] = [self._new("rsa"), self._new("rsa"), self._new("ec")]
        # A key of the same kind the issuer never published (the shared keys' number 0 is no fake's own).
        self.keys["stranger"] = SigningKey("stranger", _rsa_key(0), "RS256")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{JWKS_PATH}"

    @property
    def rsa_kid(self) -> str:
        """The first published RSA key's id."""
        return next(kid for kid in self.published if kid.startswith("rsa"))

    @property
    def ec_kid(self) -> str:
        return next(kid for kid in self.published if kid.startswith("ec"))

    def document(self) -> dict[str, Any]:
        """The JWKS as it is published now."""
        with self._lock:
            return {"keys": [self.keys[kid].jwk() for kid in self.published]}

    def rotate(self) -> list[str]:
        """Publish a new key set (an RSA and an EC key) in place of the old one; the new kids."""
        fresh = [self._new("rsa"), self._new("ec")]
        with self._lock:
            self.published = fresh
        return fresh

    def token(self, claims: dict[str, Any], *, kid: str | None = None, alg: str | None = None,
              signed_by: str | None = None, headers: dict[str, Any] | None = None) -> str:
        """`claims` signed with key `kid` (the first published RSA key by default) in its own algorithm or `alg`;
        `signed_by` another key's kid signs instead (a forgery under `kid`). alg "none" is unsigned, HS* is "signed"
        with the key's public PEM as the HMAC secret (the algorithm confusion attack)."""
        kid = kid or self.rsa_kid
        key = self.keys[signed_by or kid]
        alg = alg or key.alg
        header = {k: v for k, v in {"kid": kid, **(headers or {})}.items() if v is not None}  # None: left out
        if alg == "none" or alg in _HMAC or "alg" in header:
            # Made by hand: PyJWT signs neither with a public key as an HMAC secret nor under an alg it lacks (an
            # "alg" in `headers` is written as it is, over the key's own signature).
            head = _b64(json.dumps({"alg": alg, "typ": "JWT", **header}).encode())
            body = _b64(json.dumps(claims).encode())
            signing_input = f"{head}.{body}".encode()
            if alg == "none":
                signature = b""
            elif alg in _HMAC:
                signature = hmac.new(key.public_pem(), signing_input, _HMAC[alg]).digest()
            else:
                signature = get_default_algorithms()[key.alg].sign(signing_input, key.private)
            return f"{head}.{body}.{_b64(signature)}"
        return jwt.encode(claims, key.private, algorithm=alg, headers=header)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _new(self, kind: str) -> str:
        n = self._made[kind] = self._made[kind] + 1
        kid = f"{kind}-{n}"
        self.keys[kid] = (SigningKey(kid, _rsa_key(n), "RS256") if kind == "rsa"
                          else SigningKey(kid, _ec_key(n), "ES256"))
        return kid

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self._answer(404, b'{"message": "Not Found"}')
                    return
                with fake._lock:
                    fake.fetches += 1
                    status = fake.status
                self._answer(status, json.dumps(fake.document()).encode() if status == 200 else b"{}")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
