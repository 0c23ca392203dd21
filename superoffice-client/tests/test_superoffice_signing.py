"""Signing the system-user token the way SuperOffice verifies it."""

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from superoffice_client.auth import BasicCredentials, sign_system_token


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_signed_token_verifies_with_the_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signed = sign_system_token("App-abc", _pem(key), datetime(2026, 3, 4, 5, 6, 59, tzinfo=UTC))
    token, stamp, signature = signed.split(".")
    assert (token, stamp) == ("App-abc", "202603040506")
    key.public_key().verify(
        base64.b64decode(signature), b"App-abc.202603040506", padding.PKCS1v15(), hashes.SHA256()
    )


def test_signing_refuses_a_non_rsa_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="must be an RSA key in PEM format"):
        sign_system_token("App-abc", _pem(key), datetime(2026, 1, 1, tzinfo=UTC))


def test_credentials_never_show_secrets_in_repr() -> None:
    auth = BasicCredentials(username="u", password="hunter2", app_token="app-secret")
    assert "hunter2" not in repr(auth)
    assert "app-secret" not in repr(auth)
