"""Helpers for tests of GitHub App authentication: an RSA key made by the test, and JWT checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = "123456"


@dataclass(frozen=True)
class AppKey:
    pem: str
    public_pem: str

    @classmethod
    def generate(cls) -> AppKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return cls(pem, public)

    def claims(self, authorization: str) -> dict[str, Any]:
        """The claims of the `Bearer JWT` header value, after checking its RS256 signature with our key."""
        scheme, _, token = authorization.partition(" ")
        assert scheme.lower() == "bearer", authorization[:10]
        claims: dict[str, Any] = jwt.decode(token, self.public_pem, algorithms=["RS256"],
                                            options={"require": ["iat", "exp", "iss"]})
        now = time.time()
        assert claims["iss"] == APP_ID
        assert claims["iat"] <= now + 1
        assert now < claims["exp"] <= now + 600  # GitHub refuses JWTs valid for more than 10 minutes
        return claims
